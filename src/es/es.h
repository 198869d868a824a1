/*
 * es.h: the public face of dip's Elasticsearch / OpenSearch module.
 *
 * - EsConfig: where the cluster is and how to talk to it, from PGSync's environment names
 *   (ELASTICSEARCH_URL or _SCHEME/_HOST/_PORT, ELASTICSEARCH / OPENSEARCH, auth, TLS, bulk
 *   sizes, retries); flags override fields after es_config_from_env().
 * - EsClient: one cluster. es_open() detects the engine from `GET /` (Elasticsearch 7.17 and
 *   8.x, OpenSearch 1.x/2.x/3.x; anything else is refused) and checks X-Elastic-Product as
 *   the official clients do. Plain requests (index management, count, search) go through
 *   es_request(), retried on transient failures.
 * - EsBulk: the bulk writer. Actions are queued with es_bulk_add(); batches are cut by count
 *   and bytes, gzip-compressed, and several are in flight at once on one libcurl multi
 *   handle. Two actions on the same index+_id are never in flight together, so their order
 *   holds. Every action ends in exactly one EsOutcome, reported through the ack callback;
 *   es_bulk_acked_through() gives the highest sequence number below which everything is
 *   acknowledged (what a caller may checkpoint). When retries run out the writer fails with a
 *   DIP_ERR_TRANSIENT error (exit 4) and acknowledges nothing more.
 * - Dead letters: items the engine refuses as bad data (400 and other final 4xx) go to a
 *   sink; jobs/es_dead_letters.h provides the PostgreSQL one (table dip_es_dead_letters).
 *
 * No secret (password, API key, token, AWS secret) ever appears in a log line or an error:
 * es_config_auth_describe() is the only way auth is shown, and it names the method and the
 * non-secret identity only.
 */
#ifndef DIP_ES_H
#define DIP_ES_H

#include "core/core.h"

/* ---------------------------------------------------------------- configuration */

typedef enum {
    ES_AUTH_NONE = 0,
    ES_AUTH_BASIC,  /* ELASTICSEARCH_USER / _PASSWORD (or ELASTICSEARCH_BASIC_AUTH user:pass) */
    ES_AUTH_APIKEY, /* ELASTICSEARCH_API_KEY (+ _API_KEY_ID: "ApiKey base64(id:key)") */
    ES_AUTH_BEARER, /* ELASTICSEARCH_BEARER_AUTH */
    ES_AUTH_SIGV4, /* AWS: OPENSEARCH_AWS_HOSTED / ELASTICSEARCH_AWS_HOSTED (es), _SERVERLESS (aoss)
                    */
} EsAuthKind;

typedef struct EsConfig {
    char *url;               /* scheme://host:port[/prefix], no trailing slash */
    char *host;              /* host part of url, for messages */
    bool want_opensearch;    /* OPENSEARCH=true: the cluster must be OpenSearch */
    bool want_elasticsearch; /* ELASTICSEARCH=true (PGSync's default) */
    bool backend_explicit;   /* ELASTICSEARCH or OPENSEARCH was set: mismatches are refused */
    EsAuthKind auth;
    char *user, *password;          /* basic */
    char *api_key, *api_key_id;     /* API key (encoded or id + key) */
    char *bearer;                   /* bearer token */
    char *aws_region, *aws_service; /* SigV4: region, "es" or "aoss" */
    char *aws_access_key, *aws_secret_key, *aws_session_token;
    bool verify_certs; /* ELASTICSEARCH_VERIFY_CERTS, default true */
    char *ca_certs;    /* ELASTICSEARCH_CA_CERTS: PEM bundle file */
    char *client_cert, *client_key;
    double timeout_s; /* ELASTICSEARCH_TIMEOUT: one request, default 10 */
    double connect_timeout_s;
    int chunk_size;         /* ELASTICSEARCH_CHUNK_SIZE: actions per bulk request, 5000 */
    size_t max_chunk_bytes; /* ELASTICSEARCH_MAX_CHUNK_BYTES: uncompressed body cap, 100 MiB */
    bool compress;          /* ELASTICSEARCH_HTTP_COMPRESS: gzip request bodies, default on */
    int max_in_flight;      /* ELASTICSEARCH_THREAD_COUNT: bulk requests in flight, default 4 */
    RetryPolicy retry;      /* ELASTICSEARCH_MAX_RETRIES / _INITIAL_BACKOFF / _MAX_BACKOFF */
    char *refresh;          /* refresh= on bulk requests (NULL: engine default) */
} EsConfig;

/* Fills c from the environment (defaults in docs/es.md). Malformed values and conflicting
 * settings (ELASTICSEARCH and OPENSEARCH both true, SigV4 without a region) are config
 * errors naming the variable. */
bool es_config_from_env(EsConfig *c, DipError *err) DIP_MUST_CHECK;
/* Replaces the URL (a --url flag) and re-derives host; false on a malformed URL. */
bool es_config_set_url(EsConfig *c, const char *url, DipError *err) DIP_MUST_CHECK;
void es_config_free(EsConfig *c);
/* "basic (user elastic)", "api key (id abc)", "bearer token", "aws sigv4 (es, eu-west-1,
 * key AKIA...XYZW)", "none": what a log line or `dip es ping` may show. */
void es_config_auth_describe(const EsConfig *c, Buf *out);

/* ---------------------------------------------------------------- client */

typedef enum { ES_ENGINE_ELASTICSEARCH = 1, ES_ENGINE_OPENSEARCH } EsEngineKind;

typedef struct EsEngine {
    EsEngineKind kind;
    int major, minor, patch;
    char version[32]; /* as reported ("8.13.4") */
    char cluster_name[128];
    bool compat_headers; /* ES 8: vnd.elasticsearch+json; compatible-with=8 */
} EsEngine;

typedef struct EsClient EsClient;

/* Connects (GET /, retried while transient), detects and checks the engine. With
 * OPENSEARCH_AWS_SERVERLESS the root endpoint does not exist and OpenSearch 2 is assumed. */
bool es_open(const EsConfig *cfg, EsClient **out, DipError *err) DIP_MUST_CHECK;
void es_close(EsClient *c);
const EsEngine *es_engine(const EsClient *c);
const EsConfig *es_client_config(const EsClient *c);

typedef struct EsResponse {
    long status; /* HTTP status; 0 when no response */
    Buf body;
} EsResponse;

void es_response_init(EsResponse *r);
void es_response_free(EsResponse *r);

/* One request (method, path with query, optional JSON body), retried on transient failures
 * (connection errors, timeouts, 429, 502-504) under cfg->retry. Any HTTP answer that is not
 * retried is returned in resp (status and body), true; false only when no final answer
 * came. The caller judges the status (es_response_expect). */
bool es_request(EsClient *c, const char *method, const char *path, const char *body,
                size_t body_len, EsResponse *resp, DipError *err) DIP_MUST_CHECK;
/* Records "host: METHOD path: expected 2xx, got STATUS TYPE: REASON" (error type and reason
 * from the engine's JSON error body) unless resp->status is 2xx. */
bool es_response_expect(EsClient *c, const char *method, const char *path, const EsResponse *resp,
                        DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- index management */

/* PUT /INDEX with a body {"settings":...,"mappings":...,"aliases":...} (NULL: empty). */
bool es_index_create(EsClient *c, const char *index, const char *body,
                     DipError *err) DIP_MUST_CHECK;
bool es_index_delete(EsClient *c, const char *index, DipError *err) DIP_MUST_CHECK;
bool es_index_exists(EsClient *c, const char *index, bool *exists, DipError *err) DIP_MUST_CHECK;
bool es_index_refresh(EsClient *c, const char *index, DipError *err) DIP_MUST_CHECK;
/* PUT /INDEX/_mapping with a mapping body ({"properties":{...}}). */
bool es_mapping_put(EsClient *c, const char *index, const char *mapping,
                    DipError *err) DIP_MUST_CHECK;
/* POST /_count or /INDEX/_count. */
bool es_count(EsClient *c, const char *index, int64_t *count, DipError *err) DIP_MUST_CHECK;

typedef struct EsAliasAction {
    bool remove;       /* false: add */
    const char *index; /* concrete index */
    const char *alias;
} EsAliasAction;

/* One POST /_aliases with all actions: the engine applies them atomically, so moving an alias
 * from the old index to the new one is a zero-downtime swap. */
bool es_aliases_update(EsClient *c, const EsAliasAction *actions, size_t n,
                       DipError *err) DIP_MUST_CHECK;
/* Atomically points alias at new_index, removing it from every index that holds it now. */
bool es_alias_swap(EsClient *c, const char *alias, const char *new_index,
                   DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- dumping */

/* Called once per document: id and the _source JSON text. Return false (with err set) to
 * stop. */
typedef bool (*EsDumpFn)(void *ctx, const char *id, size_t id_len, const char *source,
                         size_t source_len, DipError *err);
/* Every document of index in _id-independent order: a point in time with search_after
 * (sorted on _shard_doc, or _doc), falling back to scroll where PIT is unavailable (ES 7.17
 * without PIT privileges, OpenSearch 1.x). limit < 0: all. */
bool es_dump(EsClient *c, const char *index, int64_t limit, EsDumpFn fn, void *ctx,
             DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- bulk */

typedef enum { ES_OP_INDEX = 0, ES_OP_CREATE, ES_OP_UPDATE, ES_OP_DELETE } EsOp;
typedef enum { ES_VERSION_NONE = 0, ES_VERSION_EXTERNAL, ES_VERSION_EXTERNAL_GTE } EsVersionType;

typedef struct EsAction {
    EsOp op;
    const char *index;    /* required */
    const char *id;       /* required except for index with an engine-chosen _id */
    const char *routing;  /* NULL: none */
    const char *pipeline; /* NULL: none */
    EsVersionType version_type;
    int64_t version;   /* with version_type external / external_gte */
    int64_t if_seq_no; /* optimistic concurrency; used when if_primary_term > 0 */
    int64_t if_primary_term;
    const char *source; /* index/create: the document; update: the update body
                           ({"doc":...} / {"script":...}); delete: NULL */
    size_t source_len;
} EsAction;

/* How an action ended. Everything but ES_OUTCOME_DEAD_LETTER means the engine holds what
 * was asked (or something newer); a dead letter is in the sink, not in the index. */
typedef enum {
    ES_OUTCOME_DONE = 0,    /* 2xx */
    ES_OUTCOME_STALE,       /* 409 with external versioning: a newer version is there */
    ES_OUTCOME_ABSENT,      /* 404 on delete: nothing to delete */
    ES_OUTCOME_DEAD_LETTER, /* refused as bad data (400 ...), written to the dead-letter sink */
} EsOutcome;

const char *es_op_name(EsOp op);
const char *es_outcome_name(EsOutcome o);

/* Called once per action, in completion order (not submission order), with the sequence
 * number es_bulk_add returned and the caller's tag. */
typedef void (*EsAckFn)(void *ctx, uint64_t seq, uint64_t tag, EsOutcome outcome);

typedef struct EsDeadLetter {
    uint64_t seq, tag; /* as for the ack callback */
    EsOp op;
    const char *index;
    const char *id; /* may be NULL */
    const char *routing, *pipeline;
    EsVersionType version_type;
    int64_t version;
    const char *document; /* source text (NULL for delete) */
    size_t document_len;
    int status;             /* item status */
    const char *error_type; /* "mapper_parsing_exception" */
    const char *reason;     /* the engine's reason text */
} EsDeadLetter;

/* A dead-letter sink: must make the letter durable before returning true. A false return
 * (err set) fails the writer: the action is then not acknowledged. */
typedef bool (*EsDeadLetterFn)(void *ctx, const EsDeadLetter *dl, DipError *err);

typedef struct EsBulkOptions {
    EsAckFn on_ack; /* may be NULL */
    void *ack_ctx;
    EsDeadLetterFn dead_letter; /* NULL: a refused item fails the writer (DIP_ERR_DATA) */
    void *dead_letter_ctx;
} EsBulkOptions;

typedef struct EsBulkStats {
    uint64_t added, done, stale, absent, dead_letters;
    uint64_t requests;        /* bulk requests answered */
    uint64_t item_retries;    /* items re-sent after a 429/5xx item status */
    uint64_t request_retries; /* whole requests re-sent (429/503/timeout/reset) */
    uint64_t splits;          /* 413 answers that split a batch */
    uint64_t bytes_raw;       /* NDJSON bytes sent (before gzip), retries included */
    uint64_t bytes_sent;      /* request body bytes on the wire */
    int max_in_flight_seen;
} EsBulkStats;

typedef struct EsBulk EsBulk;

bool es_bulk_open(EsClient *c, const EsBulkOptions *opt, EsBulk **out,
                  DipError *err) DIP_MUST_CHECK;
/* Queues one action (copied) and lets the transfer loop make progress. Blocks (driving
 * requests) while the queue is full. Returns the action's sequence number (1, 2, ...) in
 * *seq when seq is not NULL. Fails when the action is malformed (DIP_ERR_DATA / CONFIG) or
 * the writer has failed earlier (the same error again). */
bool es_bulk_add(EsBulk *b, const EsAction *a, uint64_t tag, uint64_t *seq,
                 DipError *err) DIP_MUST_CHECK;
/* Drives transfers without waiting (acks may be delivered). */
bool es_bulk_poll(EsBulk *b, DipError *err) DIP_MUST_CHECK;
/* Like es_bulk_poll, and also starts requests for what is queued short of a full batch, as
 * far as free request slots allow: for a caller that goes on working while they run. */
bool es_bulk_send(EsBulk *b, DipError *err) DIP_MUST_CHECK;
/* Sends everything queued and waits until every action has an outcome. */
bool es_bulk_flush(EsBulk *b, DipError *err) DIP_MUST_CHECK;
/* Highest seq such that every action 1..seq has an outcome (0 when none). */
uint64_t es_bulk_acked_through(const EsBulk *b);
const EsBulkStats *es_bulk_stats(const EsBulk *b);
/* Frees the writer; queued actions without an outcome are abandoned (never acknowledged). */
void es_bulk_close(EsBulk *b);

/* ---------------------------------------------------------------- load input */

/* One line of `dip es load` input: either the dump form {"_id": ID, "_source": {...}}
 * (optional "_index", "_routing") or, with id_field, a raw document whose top-level field
 * id_field holds the _id (a string or an integer); with neither, a raw document with an
 * engine-chosen _id. Pointers refer into the line or into `scratch` (unescaped strings). */
typedef struct EsLoadDoc {
    const char *id;      /* NUL-terminated, NULL: none */
    const char *routing; /* NULL: none */
    const char *source;
    size_t source_len;
} EsLoadDoc;

bool es_load_line_parse(const char *line, size_t len, const char *id_field, Arena *scratch,
                        EsLoadDoc *out, DipError *err) DIP_MUST_CHECK;
#endif /* DIP_ES_H */
