/*
 * sync_pg_internal.h: state shared by the files of the sync-pg job (sync_pg.c: discovery,
 * staleness, resume and mode; sync_pg_load.c: the two-thread decode/load pipeline;
 * sync_pg_delete.c: --propagate-deletes).
 */
#ifndef DIP_JOBS_SYNC_PG_INTERNAL_H
#define DIP_JOBS_SYNC_PG_INTERNAL_H

#include "delta/delta.h"
#include "gold/gold.h"
#include "jobs/hkset.h"
#include "jobs/sync_pg.h"
#include "pg/pg.h"

typedef enum {
    PREFILTER_NONE = 0, /* gold empty at start: every row is new, COPY straight in */
    PREFILTER_EXPORT,   /* all (hk, hdiff) of gold exported into the HkSet at start */
    PREFILTER_LOOKUP,   /* incremental: (hk, hdiff) looked up per batch by key */
} PrefilterMode;

typedef struct SyncJob {
    const SyncPgOptions *opt;
    GoldModel model;
    GoldPlan plan;
    Store *store;
    DeltaSnapshot *snap;
    int64_t version;
    int64_t ldts_us;
    const char *gold_table;
    /* SQL rendered once per job (identifiers quoted) */
    Buf q_table;
    Buf q_columns;
    Buf sql_copy_gold, sql_copy_stage, sql_merge, sql_stage_create, sql_lookup;
    PgConn conn;        /* loader (main thread) */
    PgConn lookup_conn; /* decoder thread, PREFILTER_LOOKUP only */
    PgRun run;
    bool run_started;
    size_t partial_index; /* files[] index of run.partial_file, when set */
    /* files of this run, sorted by path, and where resume starts */
    const DeltaAddFile **files;
    size_t nfiles;
    size_t first_file;
    int64_t rows_expected; /* sum of num_records (for ETA), -1 unknown */
    DeltaDiff diff;
    bool have_diff;
    PrefilterMode prefilter;
    HkSet set;
    SyncPgStats *stats;
    double last_checkpoint_s;
    uint64_t rng;
    bool lock_lost; /* a reconnect found the run lock taken: never retried */
} SyncJob;

bool sync_pg_load_files(SyncJob *j, DipError *err) DIP_MUST_CHECK;
bool sync_pg_propagate_deletes(SyncJob *j, DipError *err) DIP_MUST_CHECK;
/* Runs fn(j, ctx) inside BEGIN/COMMIT on the loader connection with the PostgreSQL retry
 * policy: transient errors reconnect, recreate the staging table and redo. */
typedef bool (*SyncTxFn)(SyncJob *j, void *ctx, DipError *err);
bool sync_pg_tx(SyncJob *j, SyncTxFn fn, void *ctx, const char *what, DipError *err) DIP_MUST_CHECK;
bool sync_pg_session_setup(SyncJob *j, DipError *err) DIP_MUST_CHECK;
/* The run lock on the loader connection (sql/run_lock.sql), taken before anything is
 * decided and again after every reconnect: a transient error naming the holder when
 * another run has it. */
bool sync_pg_lock(SyncJob *j, DipError *err) DIP_MUST_CHECK;
/* Scans one file of the job with retries (DELTA_CLIENT_*): calls on_batch for rows
 * [start_row, end_row) of a decoded batch, at most DELTA_CLIENT_BATCH_SIZE rows at a time;
 * a retry reopens the file and skips the rows delivered before. */
typedef bool (*SyncBatchFn)(void *ctx, const ColumnBatch *b, int64_t start_row, int64_t end_row,
                            DipError *err);
bool sync_pg_scan_file(SyncJob *j, const DeltaAddFile *f, SyncBatchFn on_batch, void *ctx,
                       DipError *err) DIP_MUST_CHECK;

#endif
