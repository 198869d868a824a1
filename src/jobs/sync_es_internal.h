/*
 * sync_es_internal.h: what the files of the sync-es job share (sync_es.c: configuration,
 * bootstrap, reindex, teardown, validate; sync_es_load.c: the initial load).
 */
#ifndef DIP_JOBS_SYNC_ES_INTERNAL_H
#define DIP_JOBS_SYNC_ES_INTERNAL_H

#include "docs/build.h"
#include "docs/docs.h"
#include "es/es.h"
#include "jobs/es_dead_letters.h"
#include "jobs/sync_es.h"
#include "jobs/sync_es_metrics.h"
#include "pg/pg.h"
#include "pg/pgrepl.h"

typedef struct EsState {
    bool found;
    bool ready; /* false: a bootstrap was interrupted before all its objects existed */
    char *publication, *slot, *index_name;
    int version;
    char *lsn; /* consistent point of the slot, "X/Y" */
    bool load_done;
    char *next_index, *next_slot, *next_lsn; /* a --reindex in progress; NULL when none */
    int next_version;
} EsState;

/* REDIS_CHECKPOINT=true: checkpoint and lock in Redis (sync_es_redis.c); NULL otherwise. */
typedef struct SyncEsRedis SyncEsRedis;

typedef struct EsJob {
    const SyncEsOptions *o;
    const DocsSchema *schema;
    DocsDocument *d;
    char *conninfo; /* for workers: dbname = the document's database */
    PgSettings pgs;
    PgConn pg;              /* catalog, state and DDL; holds the per-alias advisory lock */
    char state_schema[128]; /* quoted identifier */
    char publication[64];
    char slot_base[64]; /* dip_<alias>; a slot per index version: dip_<alias>_v<N> */
    const EsConfig *es_cfg;
    EsClient *es;
    int64_t run_id;
    int workers;
    const char *tz;
    SyncEsMetrics *metrics; /* --daemon's /metrics and /healthz; NULL when off */
    SyncEsRedis *redis;     /* REDIS_CHECKPOINT=true; NULL otherwise */
    /* figures of the run */
    int64_t docs, bytes, errors, ranges_done;
    double sql_s, render_s;
} EsJob;

/* Renders an embedded sql/ file with {{schema}} = the state schema. */
bool sync_es_sql(EsJob *j, const char *name, Buf *out, DipError *err) DIP_MUST_CHECK;
/* The connection string of the document's database (caller frees). */
char *sync_es_conninfo(EsJob *j, bool replication);
/* The change stream (sync_es_stream.c) of slot into index_name: --once (daemon false) up to
 * the WAL position read at its start, --daemon until SIGTERM/SIGINT (drained, true). */
bool sync_es_stream(EsJob *j, const char *slot, const char *index_name, bool daemon,
                    DipError *err) DIP_MUST_CHECK;
/* A standby daemon: polls the index's session lock every second until it holds it (phase
 * standby in m meanwhile). */
bool sync_es_standby_wait(PgConn *c, const char *index, SyncEsMetrics *m, bool *got,
                          DipError *err) DIP_MUST_CHECK;
/* Redis (sync_es_redis.c). open: *out NULL when REDIS_CHECKPOINT is not true. lock: takes the
 * index's lock, as a hot standby polling every second (standby) or waiting up to wait_s. */
bool sync_es_redis_open(const char *index, SyncEsRedis **out, DipError *err) DIP_MUST_CHECK;
bool sync_es_redis_lock(SyncEsRedis *r, bool standby, double wait_s, SyncEsMetrics *m,
                        DipError *err) DIP_MUST_CHECK;
/* The renewal found the lock gone: the stream must stop. */
bool sync_es_redis_lock_lost(const SyncEsRedis *r);
/* The slot's checkpoint (0 when none). */
bool sync_es_redis_checkpoint_get(SyncEsRedis *r, const char *slot, PgLsn *lsn,
                                  DipError *err) DIP_MUST_CHECK;
bool sync_es_redis_checkpoint_set(SyncEsRedis *r, const char *slot, PgLsn lsn,
                                  DipError *err) DIP_MUST_CHECK;
/* Which server history the checkpoint belongs to: key dip:sync-es:<slot>:origin holds
 * "<system identifier> <timeline>", written when a session starts on a server (so that a
 * daemon started after a failover can tell whether the new primary lost what the checkpoint
 * says is in the index). get: *found false when absent. */
bool sync_es_redis_origin_get(SyncEsRedis *r, const char *slot, char sysid[32], int *tli,
                              bool *found, DipError *err) DIP_MUST_CHECK;
bool sync_es_redis_origin_set(SyncEsRedis *r, const char *slot, const char *sysid, int tli,
                              DipError *err) DIP_MUST_CHECK;
/* Stops the renewal, releases the lock (when still held), closes. */
void sync_es_redis_close(SyncEsRedis *r);
/* A connection to the document's database (replication: a walsender in database mode). */
bool sync_es_connect(EsJob *j, PgConn *c, bool replication, DipError *err) DIP_MUST_CHECK;
/* LSN text "X/Y" as a 64-bit number (the external version of the load's documents). */
bool sync_es_parse_lsn(const char *s, uint64_t *out);

/* The initial load of index `index_name` (all its pending ranges). snapshot: the id exported
 * by the slot's creation, still valid because its replication connection is open, or NULL:
 * then a temporary slot exports a fresh one (the process that created the slot is gone).
 * lsn: the LSN of that snapshot. */
bool sync_es_load(EsJob *j, const char *index_name, const char *snapshot, const char *lsn,
                  DipError *err) DIP_MUST_CHECK;

/* A replication connection and a slot created on it with an exported snapshot. */
typedef struct EsSlot {
    PgRepl repl; /* the replication connection that holds the exported snapshot */
    char name[64];
    char lsn[32];
    char snapshot[64];
} EsSlot;

bool sync_es_slot_create(EsJob *j, const char *name, bool temporary, EsSlot *s,
                         DipError *err) DIP_MUST_CHECK;
void sync_es_slot_close(EsSlot *s);

#endif /* DIP_JOBS_SYNC_ES_INTERNAL_H */
