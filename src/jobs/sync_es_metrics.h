/*
 * sync_es_metrics.h: what `dip sync-es --daemon` serves on --metrics-addr (default
 * 127.0.0.1:9187, DIP_METRICS_ADDR, `off` disables): /metrics in the Prometheus text format
 * 0.0.4 and /healthz (docs/sync-es.md, "Metrics and health").
 *
 * The stream thread reports into a SyncEsMetrics under its mutex (a copy of a few figures
 * per loop turn); the server's own thread (metrics_http.c) formats them, so a batch stalled
 * on the search engine or on PostgreSQL never blocks a scrape, and /healthz can say so.
 * Every function accepts NULL (metrics off, or not a daemon) and then does nothing.
 */
#ifndef DIP_JOBS_SYNC_ES_METRICS_H
#define DIP_JOBS_SYNC_ES_METRICS_H

#include "core/core.h"

#define SYNC_ES_METRICS_DEFAULT_ADDR "127.0.0.1:9187"

typedef enum {
    SYNC_ES_PHASE_STARTING = 0, /* connecting, checking the server, taking the index's lock */
    SYNC_ES_PHASE_STANDBY,      /* another daemon holds the index: waiting to take over */
    SYNC_ES_PHASE_LOADING,      /* the initial load */
    SYNC_ES_PHASE_STREAMING,    /* the change stream */
    SYNC_ES_PHASE_RETRYING,     /* a stream session failed: waiting to open a new one */
    SYNC_ES_PHASE_DRAINING,     /* SIGTERM/SIGINT: finishing the batch in hand */
    SYNC_ES_PHASE_COUNT
} SyncEsPhase;

/* The stream's figures: totals since the process started, positions as of now. */
typedef struct SyncEsFigures {
    int64_t docs;               /* documents built and sent (index actions) */
    int64_t updates;            /* update actions (the stream sends none today: always 0) */
    int64_t deletes;            /* delete actions */
    int64_t transactions;       /* committed transactions received */
    int64_t batches;            /* batches applied and confirmed */
    int64_t heartbeats;         /* pg_logical_emit_message heartbeats sent */
    int64_t es_request_retries; /* bulk requests re-sent (429, 5xx, timeouts, resets) */
    int64_t es_item_retries;    /* bulk items re-sent after a 429/5xx item status */
    int64_t session_retries;    /* stream sessions opened again after a transient failure */
    int64_t dead_letters;       /* documents the engine refused, in dip_es_dead_letters */
    uint64_t confirmed_lsn;     /* what the slot was told is applied */
    uint64_t wal_end_lsn;       /* the server's end of WAL as last seen (stream, keepalive,
                                   WAL guard); 0 unknown */
    int64_t retained_bytes;     /* WAL the slot retains (WAL guard); -1 unknown */
    int64_t applied_commit_us;  /* commit time of the last applied transaction (Unix epoch
                                   microseconds); 0 none yet */
    int64_t pending_commit_us;  /* commit time of the oldest received transaction not applied
                                   yet; 0 none */
    bool caught_up;             /* nothing pending, the server heard from in this session, and
                                   the confirmed LSN at wal_end_lsn */
    double unacked_since_s;     /* dip_now_s() when the oldest batch the engine has not fully
                                   acknowledged was sent; 0 none. The stream's progress stops
                                   there: polling on while the engine is down is no progress */
} SyncEsFigures;

typedef struct SyncEsMetrics SyncEsMetrics;

/* Starts the server on addr ("off" or NULL: *out = NULL, true). what names where addr came
 * from (--metrics-addr, DIP_METRICS_ADDR). stale_s: /healthz answers 503 when the stream
 * has made no progress for that long. A bind failure is a
 * DIP_ERR_CONFIG error naming the address and `what`. */
bool sync_es_metrics_start(const char *addr, const char *what, double stale_s, SyncEsMetrics **out,
                           DipError *err) DIP_MUST_CHECK;
void sync_es_metrics_stop(SyncEsMetrics *m);
/* The bound port (0 when m is NULL). */
int sync_es_metrics_port(const SyncEsMetrics *m);

/* The index alias every sample is labelled with; resets the figures (a new document). */
void sync_es_metrics_index(SyncEsMetrics *m, const char *index);
void sync_es_metrics_phase(SyncEsMetrics *m, SyncEsPhase phase);
/* The stream made progress (its loop polled the replication connection, or a long batch
 * handed more documents to the bulk writer): the figures as of now; doing as for
 * sync_es_metrics_doing. Clears a recorded trouble once a batch was applied since it, or the
 * stream is caught up. */
void sync_es_metrics_progress(SyncEsMetrics *m, const SyncEsFigures *f, const char *doing);
/* What the stream is about to wait for ("writing to the search engine"; static text),
 * named by /healthz when that wait outlasts the stale limit. NULL: nothing in particular. */
void sync_es_metrics_doing(SyncEsMetrics *m, const char *what);
/* A stream session failed with a transient error: /healthz answers 503 naming it until the
 * stream applies a batch or is caught up again. */
void sync_es_metrics_trouble(SyncEsMetrics *m, const char *why);

/* The exposition and the health answer as they would be served (tests, --metrics off). */
void sync_es_metrics_render(SyncEsMetrics *m, Buf *out);
int sync_es_metrics_health(SyncEsMetrics *m, Buf *json);

#endif /* DIP_JOBS_SYNC_ES_METRICS_H */
