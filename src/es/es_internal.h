/*
 * es_internal.h: the parts of the es module that are pure functions of their input, kept
 * apart from the libcurl transport so unit tests and the fuzzer reach them without a server:
 * the NDJSON bulk builder (ndjson.c), the bulk response parser and item classification
 * (response.c), the same-_id key set the scheduler uses (keyset.c), engine detection from
 * the `GET /` body (engine.c) and the auth header values (config.c).
 *
 * References: Elasticsearch "Bulk API" (NDJSON body, per-item responses, `errors` flag),
 * "Optimistic concurrency control", "Index API: version types"; OpenSearch "Bulk".
 */
#ifndef DIP_ES_INTERNAL_H
#define DIP_ES_INTERNAL_H

#include "es/es.h"
#include "http/http.h"

#include <jansson.h>
#include <libdeflate.h>

/* ---------------------------------------------------------------- NDJSON */

/* Checks an action (index required, _id required for create/update/delete, source required
 * except for delete and valid as one JSON line, version fields consistent). The message
 * names the field. */
bool es_action_check(const EsAction *a, DipError *err) DIP_MUST_CHECK;
/* Appends the action line and (except for delete) the source line, each ending in '\n'.
 * The action must have passed es_action_check. */
void es_ndjson_append(Buf *out, const EsAction *a);

/* The end of the JSON value starting at p (after leading whitespace), or NULL when the
 * bytes up to end hold no complete value. Checks nesting and string escapes, not the
 * spelling of numbers and literals (the engine does). */
const char *es_json_value_end(const char *p, const char *end);
/* p advanced over JSON whitespace (never past end). */
const char *es_json_skip_ws(const char *p, const char *end);
/* The end (after the closing quote) of the string whose opening quote is at p, or NULL. */
const char *es_json_string_end(const char *p, const char *end);
/* The string or integer value at [v, vend) as a NUL-terminated string in the arena (escapes
 * decoded); false for another kind of value or a string holding an escaped NUL. */
bool es_json_scalar_text(const char *v, const char *vend, Arena *a, const char **out);

/* ---------------------------------------------------------------- responses */

typedef struct EsItemResult {
    EsOp op;                /* the item's key: "index", "create", "update", "delete" */
    int status;             /* HTTP status of the item */
    const char *id;         /* "_id" or NULL (in the response's arena) */
    const char *error_type; /* error.type or NULL */
    const char *reason;     /* error.reason or NULL */
} EsItemResult;

typedef struct EsBulkResponse {
    Arena arena; /* the items and their strings */
    bool errors; /* the response's "errors" flag */
    size_t n_items;
    EsItemResult *items;
} EsBulkResponse;

/* Parses a bulk response body that must hold exactly `expected` items. Errors (DIP_ERR_DATA)
 * say what was expected and what came: not JSON, truncated, no "items", N items instead of
 * M, an item without a status. */
bool es_bulk_response_parse(const char *body, size_t len, size_t expected, EsBulkResponse *out,
                            DipError *err) DIP_MUST_CHECK;
void es_bulk_response_free(EsBulkResponse *r);

typedef enum {
    ES_ITEM_DONE = 0, /* 2xx */
    ES_ITEM_STALE,    /* 409 under external versioning */
    ES_ITEM_ABSENT,   /* 404 on delete */
    ES_ITEM_RETRY,    /* 429, 5xx: send this item again after a backoff */
    ES_ITEM_DEAD,     /* other 4xx: bad data, to the dead letters */
    ES_ITEM_FATAL,    /* 401/403 or a status no engine sends: stop the writer */
} EsItemClass;

EsItemClass es_item_classify(EsOp op, EsVersionType vt, int status);

/* "TYPE: REASON" of an engine error body ({"error":{"type","reason"},"status"}), or the first
 * 200 bytes of the body when it is not one. */
void es_error_body_summary(const char *body, size_t len, Buf *out);

/* ---------------------------------------------------------------- same-_id key set */

/* A multiset of 64-bit hashes of "index\0_id" held by in-flight actions. A hash collision
 * only delays an action, never reorders one. Open addressing, linear probing, backward-shift
 * deletion. */
typedef struct EsKeySet {
    uint64_t *keys; /* 0 = empty slot */
    uint32_t *counts;
    size_t cap; /* power of two */
    size_t used;
} EsKeySet;

void es_keyset_init(EsKeySet *s);
void es_keyset_free(EsKeySet *s);
void es_keyset_add(EsKeySet *s, uint64_t key);
/* Removes one occurrence; the key must be present. */
void es_keyset_remove(EsKeySet *s, uint64_t key);
bool es_keyset_contains(const EsKeySet *s, uint64_t key);
/* The key of index + _id (never 0). */
uint64_t es_action_key(const char *index, const char *id);

/* ---------------------------------------------------------------- engine */

/* Detects the engine from the `GET /` body and the X-Elastic-Product header value (NULL
 * when absent). Refuses (DIP_ERR_UNSUPPORTED) versions dip does not support and, as the
 * official clients do, an Elasticsearch >= 7.14 answer without
 * "X-Elastic-Product: Elasticsearch". `host` is for messages. */
bool es_engine_parse(const char *host, const char *body, size_t len, const char *product_header,
                     EsEngine *out, DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- auth */

/* The Authorization header line ("Authorization: Basic ...") for basic, API key and bearer
 * auth; empty for none and SigV4 (signed per request). Holds a secret: never log it. */
void es_auth_header(const EsConfig *c, Buf *out);

/* ---------------------------------------------------------------- transport */

typedef struct EsGzip {
    struct libdeflate_compressor *c; /* level 1, made on first use */
} EsGzip;

struct EsClient {
    const EsConfig *cfg; /* the caller's, outlives the client */
    EsEngine engine;
    HttpOptions hopt;
    CURL *easy; /* blocking requests (keep-alive across them) */
    HttpExchange ex;
    bool ex_ready;
    Buf auth_header; /* "Authorization: ..." for basic / API key / bearer: a secret */
    EsGzip gzip;
    uint64_t rng;
};

/* A new easy handle with dip's common options and the client's TLS settings. */
bool es_handle_new(EsClient *c, CURL **out, DipError *err) DIP_MUST_CHECK;
/* Accept / Content-Type (ES 8 compatibility types when the engine wants them),
 * Content-Encoding, and auth: the static Authorization header or a SigV4 signature over the
 * body as sent. url is the full request URL. */
bool es_request_headers(EsClient *c, const char *method, const char *url, bool ndjson, bool gzip,
                        const void *body, size_t len, struct curl_slist **out,
                        DipError *err) DIP_MUST_CHECK;
/* Gzip-compresses p[0..n) into out (replacing its contents): one gzip member. */
void es_gzip(EsGzip *z, const void *p, size_t n, Buf *out);
void es_gzip_free(EsGzip *z);

#endif /* DIP_ES_INTERNAL_H */
