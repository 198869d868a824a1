/*
 * sync_pg_internal.h: state shared by the files of the sync-pg job. Calls go one way:
 * sync_pg.c (discovery, staleness, resume, mode, the run) -> sync_pg_load.c (the two-thread
 * decode/load pipeline) and sync_pg_delete.c (--propagate-deletes) -> sync_pg_session.c
 * (connection, run lock, session state, transactions) and sync_pg_scan.c (reading a file).
 */
#ifndef DIP_JOBS_SYNC_PG_INTERNAL_H
#define DIP_JOBS_SYNC_PG_INTERNAL_H

#include "delta/delta.h"
#include "gold/gold.h"
#include "jobs/hkset.h"
#include "jobs/sync_pg.h"
#include "pg/pg.h"

#include <stdatomic.h>

typedef enum {
    PREFILTER_NONE = 0, /* gold empty at start: every row is new, COPY straight in */
    PREFILTER_EXPORT,   /* all (hk, hdiff) of gold exported into the HkSet at start */
    PREFILTER_LOOKUP,   /* incremental: (hk, hdiff) looked up per batch by key */
} PrefilterMode;

/* The progress of the workers of one process (--workers, sync_pg_shard.c): every loader adds
 * what it did, and its progress line shows the sums. */
typedef struct SyncPgProgress {
    double t0;
    _Atomic int64_t files_total, files_done, rows_expected, rows_done, written;
} SyncPgProgress;

typedef struct SyncJob {
    const SyncPgOptions *opt;
    GoldModel model;
    GoldPlan plan;
    PgType *col_types; /* plan.cols[i]'s exact PostgreSQL type (pg_type_for), owned */
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
    bool lock_lost; /* a reconnect found the run lock taken: never retried */
    /* a shard (sync_pg_shard.c) holds the gold table's run lock shared, with the other
     * shards, and its own lock (shard_lock, owned) exclusively; shard_what names it */
    bool lock_shared;
    char *shard_lock;
    char shard_what[96];
    SyncPgProgress *progress; /* a worker of --workers: the process's sums (NULL: alone) */
} SyncJob;

/* What a run does: staleness, resume and mode (sync_pg_decide). */
typedef struct Decision {
    bool up_to_date;
    bool resume;
    bool incremental;
    int64_t base_version; /* incremental: from this version */
    int64_t resume_run_id;
    char *resume_after; /* last fully loaded file of the run resumed */
    PgRun resume_run;
    bool have_resume_run;
    int64_t max_ldts_us;
    bool gold_has_rows;
} Decision;

/* ---- sync_pg.c: the job's common steps (also used by sync_pg_shard.c) */
/* Opens the Delta table (at o->version, -1 = latest) and binds the model; no connection. */
bool sync_pg_job_open(SyncJob *j, const SyncPgOptions *o, DipError *err) DIP_MUST_CHECK;
void sync_pg_job_free(SyncJob *j);
/* Connects the loader, checks the gold table's schema exists, ensures dip_sync_runs. */
bool sync_pg_job_connect(SyncJob *j, DipError *err) DIP_MUST_CHECK;
/* Creates the gold table when missing and checks it against the model. */
bool sync_pg_ensure_gold_table(SyncJob *j, DipError *err) DIP_MUST_CHECK;
bool sync_pg_gold_state(SyncJob *j, int64_t *max_ldts_us, bool *has_rows,
                        DipError *err) DIP_MUST_CHECK;
/* Staleness, resume and mode from the runs of (input, output); logs why. */
bool sync_pg_decide(SyncJob *j, Decision *d, DipError *err) DIP_MUST_CHECK;
void sync_pg_decision_free(Decision *d);
/* j->files: the snapshot's files, or those added since d->base_version (falling back to
 * full, d->incremental cleared, when the diff cannot be had), sorted by path; resume skip
 * after d->resume_after when d->resume. */
bool sync_pg_collect_files(SyncJob *j, Decision *d, DipError *err) DIP_MUST_CHECK;
/* j->first_file: the first file after last_file (NULL = from the start); rows_expected. */
void sync_pg_files_resume_after(SyncJob *j, const char *last_file);
void sync_pg_backend_json(const SyncJob *j, Buf *out);
/* Records the end of the run (counters, resume point, finished or not); false when even
 * that failed (warned). */
bool sync_pg_finish_run(SyncJob *j, bool finished, const DipError *cause);

/* ---- sync_pg_load.c and sync_pg_delete.c: the job's steps (called by sync_pg.c) */
bool sync_pg_load_files(SyncJob *j, DipError *err) DIP_MUST_CHECK;
bool sync_pg_propagate_deletes(SyncJob *j, DipError *err) DIP_MUST_CHECK;

/* ---- sync_pg_session.c: the loader's session (below the steps; calls nothing above) */
/* Connects the loader's session with the POSTGRES_* retries. */
bool sync_pg_connect(SyncJob *j, DipError *err) DIP_MUST_CHECK;
/* Runs fn(j, ctx) inside BEGIN/COMMIT on the loader connection (pg_tx_run) with the
 * PostgreSQL retry policy: transient errors reconnect (lock and session setup included) and
 * redo; a lock lost to another run meanwhile ends the retries. */
typedef bool (*SyncTxFn)(SyncJob *j, void *ctx, DipError *err);
bool sync_pg_tx(SyncJob *j, SyncTxFn fn, void *ctx, const char *what, DipError *err) DIP_MUST_CHECK;
/* The session's temporary staging and delete tables. */
bool sync_pg_session_setup(SyncJob *j, DipError *err) DIP_MUST_CHECK;
/* The run lock on the loader connection (pg_advisory_lock on "dip sync-pg <quoted table>"),
 * taken before anything is decided and again after every reconnect: a transient error
 * naming the holder when another run has it. A shard takes it shared, then its own lock. */
bool sync_pg_lock(SyncJob *j, DipError *err) DIP_MUST_CHECK;
/* Rolls back what the loader left open, then persists the run's counters and resume point
 * and marks it finished or not, reconnecting under the PostgreSQL retry policy. */
bool sync_pg_record_end(SyncJob *j, bool finished, const char *cause, DipError *err) DIP_MUST_CHECK;

/* ---- sync_pg_scan.c: one data file's rows */
/* Scans one file of the job: calls on_batch for rows [start_row, end_row) of a decoded
 * batch, at most DELTA_CLIENT_BATCH_SIZE rows at a time. Errors are final (the store
 * retries transient S3 failures per request). */
typedef bool (*SyncBatchFn)(void *ctx, const ColumnBatch *b, int64_t start_row, int64_t end_row,
                            DipError *err);
bool sync_pg_scan_file(SyncJob *j, const DeltaAddFile *f, SyncBatchFn on_batch, void *ctx,
                       DipError *err) DIP_MUST_CHECK;

#endif
