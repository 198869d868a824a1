/*
 * sync_pg.h: the sync-pg job (the seed's SyncPostgresJob + SyncIntegratedPostgresProcessor):
 * Delta table -> gold model -> PostgreSQL, with plan/task for orchestrators, resume from
 * the last fully loaded file, incremental syncs from the version diff, optional delete
 * propagation. User documentation: docs/sync-pg.md.
 */
#ifndef DIP_JOBS_SYNC_PG_H
#define DIP_JOBS_SYNC_PG_H

#include "core/core.h"
#include "jobs/task_json.h"
#include "pg/pg.h"

typedef struct SyncPgOptions {
    const char *source;           /* Delta table URI (file path, file://, s3://) */
    const char *table;            /* gold table; NULL = the model's `table` */
    const char *model_path;       /* NULL = embedded models/integrated_records.model */
    const char *schemas_dir;      /* NULL = embedded schemas/ (default model only) */
    bool force;                   /* sync even when gold looks up to date */
    bool full;                    /* read every file, not only those added since the last run */
    bool propagate_deletes;       /* delete gold rows whose hk left the table */
    int64_t delta_batch_size;     /* DELTA_CLIENT_BATCH_SIZE rows per read batch */
    int delta_retries;            /* DELTA_CLIENT_WRITE_RETRIES */
    double delta_retry_delay_s;   /* DELTA_CLIENT_WRITE_RETRY_DELAY */
    double checkpoint_interval_s; /* SYNC_CHECKPOINT_INTERVAL */
    PgSettings pg;                /* POSTGRES_* (batch_size = rows per load batch) */
    int64_t version;              /* table version to open; -1 = the latest (a task pins it) */
    int workers;                  /* loader connections of this process (--workers), >= 1 */
    int decode_threads;           /* DIP_DECODE_THREADS: Parquet decoding threads per loader */
} SyncPgOptions;

typedef struct SyncPgStats {
    bool up_to_date; /* nothing to do (no task) */
    char mode[16];   /* "full", "incremental", "none" */
    bool resumed;
    char output[256];  /* the gold table ("" when the model could not be read) */
    bool have_version; /* the table was opened: version and ldts_us are set */
    int64_t version;
    int64_t ldts_us;
    size_t files_total;   /* files of this run (after resume skips) */
    size_t files_skipped; /* skipped by resume */
    int64_t n_input, n_inserted, n_updated, n_unchanged, n_deleted;
    double seconds;
    uint64_t peak_rss;
    /* sharded runs: the shard (-1 for the finalize step or a run without shards), the
     * sharded run it belongs to (0 none), and whether this process finalized it */
    int shard;
    int64_t parent_run_id;
    bool finalized;
} SyncPgStats;

/* Defaults from the environment (the seed's variables). */
bool sync_pg_options_from_env(SyncPgOptions *o, DipError *err) DIP_MUST_CHECK;

/* Discovery + staleness: writes the task list JSON ("[]" or one task) to out. */
bool sync_pg_plan(const SyncPgOptions *o, Buf *out, DipError *err) DIP_MUST_CHECK;

/* Runs one sync (a task). On error the run is marked unfinished with its resume point. */
bool sync_pg_run(const SyncPgOptions *o, SyncPgStats *stats, DipError *err) DIP_MUST_CHECK;

/* ---- sharded runs (sync_pg_shard.c; docs/sync-pg.md, "Shards") */

/* `--plan --shards N`: joins the unfinished sharded run of (source, table) with N shards and
 * the same model, or (when the table is not up to date) makes a new one at the latest
 * version; writes its N tasks as a JSON list ("[]" when up to date), or only task
 * `only_shard` (>= 0) as a one-element list. Files are split by bytes, deterministically. */
bool sync_pg_plan_shards(const SyncPgOptions *o, int shards, int only_shard, Buf *out,
                         DipError *err) DIP_MUST_CHECK;
/* `--task JSON` of a shard: loads that shard's files under its own lock and run row (resumed
 * when unfinished); when it is the last shard to finish, finalizes the sharded run. */
bool sync_pg_run_shard(const SyncPgOptions *o, const SyncPgTask *t, SyncPgStats *stats,
                       DipError *err) DIP_MUST_CHECK;
/* `--shards N --shard-index K` (Kubernetes Indexed Job): plan (or join), then shard K. */
bool sync_pg_run_shard_index(const SyncPgOptions *o, int shards, int index, SyncPgStats *stats,
                             DipError *err) DIP_MUST_CHECK;
/* `--workers N` (N >= 2): plans (or joins) a sharded run of N shards, as --plan --shards N
 * would, runs its shards in N threads of this process (each its own decoder thread and
 * loader connection, lock, run row and resume point), and finalizes it. Rerun after a
 * failure or a kill with the same N, it joins the unfinished run: finished shards are
 * skipped, the others resume from their last whole file. stats holds the sums. */
bool sync_pg_run_workers(const SyncPgOptions *o, int workers, SyncPgStats *stats,
                         DipError *err) DIP_MUST_CHECK;
/* `--finalize --task JSON`: marks the sharded run finished (deletes first when planned with
 * --propagate-deletes) once every shard finished; a transient error naming the unfinished
 * shards otherwise. A finished run is left alone (true). */
bool sync_pg_finalize(const SyncPgOptions *o, const SyncPgTask *t, SyncPgStats *stats,
                      DipError *err) DIP_MUST_CHECK;

/* Writes the run as Prometheus text (node_exporter's textfile collector), labelled with input
 * and output, to path atomically. The last success time is this run's end when exit_code is
 * 0, else the value the file held before (NaN when none). */
bool sync_pg_metrics_write(const char *path, const SyncPgOptions *o, const SyncPgStats *st,
                           int exit_code, double started_s, DipError *err) DIP_MUST_CHECK;

#endif
