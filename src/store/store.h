/*
 * store.h: object access for dip. A Store is rooted at a URI (a local path, file://..., or
 * s3://bucket/prefix) and offers list, stat and ranged read of objects named relative to the
 * root. Parquet and Delta read only through this interface, so S3 plugs in without touching
 * the decoders. Reads either return every byte asked for or fail: a short body is an error,
 * never data.
 */
#ifndef DIP_STORE_H
#define DIP_STORE_H

#include "core/core.h"

typedef struct Store Store;

typedef struct StoreEntry {
    char *name;       /* path relative to the store root, '/'-separated */
    uint64_t size;    /* bytes */
    int64_t mtime_ms; /* last modification, ms since epoch */
} StoreEntry;

typedef struct StoreList {
    StoreEntry *entries;
    size_t n;
    size_t cap;
} StoreList;

/* Opens a store at `uri`. For S3 this reads AWS_* from the environment (docs/s3.md). The
 * retry policy for remote reads comes from DELTA_CLIENT_WRITE_RETRIES (retries after the
 * first attempt, default 5) and DELTA_CLIENT_WRITE_RETRY_DELAY (first backoff ceiling in
 * seconds, default 10); a malformed value is a DIP_ERR_CONFIG error. */
bool store_open(Store **out, const char *uri, DipError *err) DIP_MUST_CHECK;
void store_close(Store *st);
/* A Store is used by one thread at a time (an S3 store owns one libcurl handle, which keeps
 * the connection for reuse). A reader on another thread opens its own copy with
 * store_clone(): same URI, same retry policy, its own connection. */
bool store_clone(const Store *st, Store **out, DipError *err) DIP_MUST_CHECK;
const char *store_uri(const Store *st);
bool store_is_remote(const Store *st);

/* Lists objects whose relative name starts with `prefix` (e.g. "_delta_log/"), sorted by
 * name. Not recursive beyond what the prefix selects on S3; on local files it lists one
 * directory level when prefix ends with '/'. */
bool store_list(Store *st, const char *prefix, StoreList *out, DipError *err) DIP_MUST_CHECK;
void store_list_free(StoreList *l);

/* Stat: *exists = false (and true returned) when the object is absent. */
bool store_stat(Store *st, const char *name, StoreEntry *out, bool *exists,
                DipError *err) DIP_MUST_CHECK;
void store_entry_free(StoreEntry *e);

/* Reads exactly `len` bytes at `offset` into dst. */
bool store_read_range(Store *st, const char *name, uint64_t offset, uint64_t len, void *dst,
                      DipError *err) DIP_MUST_CHECK;
/* Reads a whole object into a Buf (for logs and small files). */
bool store_read_all(Store *st, const char *name, Buf *out, DipError *err) DIP_MUST_CHECK;

/* Retry policy for remote reads (DELTA_CLIENT_WRITE_RETRIES / _DELAY by default). */
void store_set_retry(Store *st, const RetryPolicy *p);

/* Splits an absolute URI/path into a store root and a relative name: used for Delta
 * add.path values that are absolute URIs. */
bool store_is_absolute_uri(const char *path);

#endif /* DIP_STORE_H */
