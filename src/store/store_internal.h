/*
 * store_internal.h: the backend vtable behind a Store (local files, S3).
 */
#ifndef DIP_STORE_INTERNAL_H
#define DIP_STORE_INTERNAL_H

#include "store/store.h"

typedef struct StoreOps {
    bool (*list)(Store *st, const char *prefix, StoreList *out, DipError *err);
    bool (*stat)(Store *st, const char *name, StoreEntry *out, bool *exists, DipError *err);
    bool (*read_range)(Store *st, const char *name, uint64_t off, uint64_t len, void *dst,
                       DipError *err);
    void (*close)(Store *st);
    /* optional: a whole object in one request (NULL: stat + read_range). The body length
     * must be checked against the object's size, as read_range does. */
    bool (*read_all)(Store *st, const char *name, Buf *out, DipError *err);
} StoreOps;

struct Store {
    const StoreOps *ops;
    char *uri; /* as given by the user */
    bool remote;
    RetryPolicy retry;
    void *impl; /* backend state */
};

bool store_file_open(Store *st, const char *root, DipError *err);
bool store_s3_open(Store *st, const char *uri, DipError *err);
void store_list_push(StoreList *l, const char *name, uint64_t size, int64_t mtime_ms);

#endif
