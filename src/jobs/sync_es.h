/*
 * sync_es.h: `dip sync-es` as a job (issue 10): bootstrap, the initial load from the
 * replication slot's exported snapshot, reindex with an alias swap, teardown, validate.
 * The change stream (issue 11) builds on the state this job keeps.
 */
#ifndef DIP_JOBS_SYNC_ES_H
#define DIP_JOBS_SYNC_ES_H

#include "core/core.h"

typedef enum {
    SYNC_ES_VALIDATE = 0,
    SYNC_ES_BOOTSTRAP,
    SYNC_ES_ONCE,
    SYNC_ES_REINDEX,
    SYNC_ES_TEARDOWN,
    SYNC_ES_DAEMON, /* --once, then keep streaming until SIGTERM (sync_es_stream.c) */
} SyncEsAction;

typedef struct SyncEsOptions {
    const char *config; /* schema.json path (--config, else $SCHEMA) */
    SyncEsAction action;
    int workers;              /* --workers: 0 = the CPU count */
    int batch;                /* roots per key range (DIP_ES_BATCH, default 2000) */
    bool pgsync_meta;         /* --pgsync-meta: PGSync's _meta field in every document */
    const char *es_url;       /* --url: overrides ELASTICSEARCH_URL */
    const char *metrics_addr; /* --daemon: --metrics-addr HOST:PORT or "off" (NULL: the
                                 DIP_METRICS_ADDR environment, else 127.0.0.1:9187) */
} SyncEsOptions;

/* Reads .env in the working directory as PGSync does (python-dotenv: KEY=VALUE lines,
 * `export ` prefix, quotes, ${VAR} interpolation; variables already set win). A missing file
 * is fine; a malformed line is a config error naming file and line. */
bool sync_es_load_dotenv(const char *path, DipError *err) DIP_MUST_CHECK;

/* Runs the action for every document of the schema file. */
bool sync_es_run(const SyncEsOptions *o, DipError *err) DIP_MUST_CHECK;

#endif /* DIP_JOBS_SYNC_ES_H */
