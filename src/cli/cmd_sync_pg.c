/*
 * cmd_sync_pg.c: `dip sync-pg`, argument parsing and output only; the job lives in
 * src/jobs/sync_pg.c. docs/sync-pg.md documents flags, environment and exit codes.
 */
#include "cli/cli.h"
#include "jobs/sync_pg.h"
#include "jobs/task_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The command's help: `dip sync-pg --help`, `dip help sync-pg` and the man page (main.c). */
const char cli_help_sync_pg[] =
    "usage: dip sync-pg --source URI [--table NAME] [options]\n"
    "       dip sync-pg --plan --source URI [--table NAME] [options]\n"
    "       dip sync-pg --task JSON [options]\n"
    "       dip sync-pg --plan --shards N --source URI [--table NAME] [options]\n"
    "       dip sync-pg --finalize --task JSON\n"
    "       dip sync-pg --shards N --shard-index K --source URI [options]\n"
    "       dip sync-pg --workers N --source URI [options]\n"
    "\n"
    "Syncs a Delta table (local path, file:// or s3://) into a PostgreSQL gold table\n"
    "(connection from the PG* environment: PGHOST, PGPORT, PGUSER, PGDATABASE, ...).\n"
    "\n"
    "options:\n"
    "  --source URI          the Delta table\n"
    "  --table NAME          gold table (default: the model's `table`)\n"
    "  --model FILE          gold model file (default: the built-in integrated_records)\n"
    "  --schemas DIR         run DIR/*.sql (SchemaManager) before syncing\n"
    "  --force               sync even when the gold table looks up to date\n"
    "  --full                read every file, not only those added since the last run\n"
    "  --propagate-deletes   delete gold rows whose hk left the table\n"
    "  --batch-size N        rows per load batch (POSTGRES_CLIENT_BATCH_SIZE, 10000)\n"
    "  --metrics-file PATH   after the run, write its Prometheus metrics to PATH\n"
    "                        (node_exporter textfile collector; DIP_METRICS_FILE)\n"
    "  --plan                print the task list as JSON ([] when nothing to do)\n"
    "  --task JSON           run one task from --plan (a shard task runs that shard)\n"
    "  --shards N            with --plan: N tasks of one table version, files split\n"
    "                        by bytes (docs/sync-pg.md, \"Shards\")\n"
    "  --shard-index K       with --shards N: plan (or join) and run shard K (a\n"
    "                        Kubernetes Indexed Job's JOB_COMPLETION_INDEX)\n"
    "  --finalize            with --task: mark the sharded run synced once every\n"
    "                        shard finished (refused before: exit 4)\n"
    "  --workers N           N loader connections in this process: a sharded run of\n"
    "                        N shards run by N threads, then finalized (default 1)\n"
    "\n"
    "environment: POSTGRES_CLIENT_BATCH_SIZE 10000, POSTGRES_MAX_RETRIES 10,\n"
    "POSTGRES_RETRY_DELAY 1.0, POSTGRES_CONNECTION_TIMEOUT 10, DELTA_CLIENT_BATCH_SIZE\n"
    "100000, DELTA_CLIENT_WRITE_RETRIES 5, DELTA_CLIENT_WRITE_RETRY_DELAY 10,\n"
    "SYNC_CHECKPOINT_INTERVAL 600, DIP_DECODE_THREADS 2 (Parquet decoding threads per\n"
    "loader).\n";

static void usage(FILE *f)
{
    cli_help_print(f, "sync-pg");
}

/* The closing log line of a run (key=value fields in JSON logs). */
static void log_done(const SyncPgStats *st)
{
    if (st->up_to_date) return;
    char v[24], in[24], ins[24], upd[24], unch[24], del[24], secs[24], rss[24];
    dip_snprintf(v, sizeof v, "%lld", (long long)st->version);
    dip_snprintf(in, sizeof in, "%lld", (long long)st->n_input);
    dip_snprintf(ins, sizeof ins, "%lld", (long long)st->n_inserted);
    dip_snprintf(upd, sizeof upd, "%lld", (long long)st->n_updated);
    dip_snprintf(unch, sizeof unch, "%lld", (long long)st->n_unchanged);
    dip_snprintf(del, sizeof del, "%lld", (long long)st->n_deleted);
    dip_snprintf(secs, sizeof secs, "%.3f", st->seconds);
    dip_snprintf(rss, sizeof rss, "%llu", (unsigned long long)(st->peak_rss >> 20));
    const char *kv[] = {"mode",      st->mode,       "version", v,         "rows_read",
                        in,          "inserted",     ins,       "updated", upd,
                        "unchanged", unch,           "deleted", del,       "seconds",
                        secs,        "peak_rss_mib", rss,       NULL};
    dip_log_kv(DIP_LOG_INFO, kv,
               "sync-pg done: %s sync of version %lld%s: %lld rows read, %lld "
               "inserted, %lld updated, %lld unchanged, %lld deleted in %.1fs "
               "(%.0f rows/s, peak RSS %llu MiB)",
               st->mode, (long long)st->version, st->resumed ? " (resumed)" : "",
               (long long)st->n_input, (long long)st->n_inserted, (long long)st->n_updated,
               (long long)st->n_unchanged, (long long)st->n_deleted, st->seconds,
               st->seconds > 0 ? st->n_input / st->seconds : 0.0,
               (unsigned long long)(st->peak_rss >> 20));
}

/* Runs what the options ask (a finalize, a shard task, a shard index, N workers, or one
 * run), logs its closing line and writes its metrics; the exit code. */
static int run_sync(const SyncPgOptions *o, const SyncPgTask *t, bool finalize, int shards,
                    int shard_index, const char *metrics_file)
{
    SyncPgStats st;
    DipError err = {0};
    int rc = 0;
    double started = (double)dip_wall_us() / 1e6;
    bool ran;
    if (finalize)
        ran = sync_pg_finalize(o, t, &st, &err);
    else if (t && t->parent_run_id > 0)
        ran = sync_pg_run_shard(o, t, &st, &err);
    else if (shards)
        ran = sync_pg_run_shard_index(o, shards, shard_index, &st, &err);
    else if (o->workers > 1)
        ran = sync_pg_run_workers(o, o->workers, &st, &err);
    else
        ran = sync_pg_run(o, &st, &err);
    if (ran)
        log_done(&st);
    else
        rc = cli_fail(&err);
    if (metrics_file && metrics_file[0]) {
        DipError me = {0};
        if (!sync_pg_metrics_write(metrics_file, o, &st, rc, started, &me))
            dip_warn("%s", me.msg); /* the run's own outcome stands */
    }
    return rc;
}

int cmd_sync_pg_main(int argc, char **argv)
{
    SyncPgOptions o;
    DipError err = {0};
    if (!sync_pg_options_from_env(&o, &err)) return cli_fail(&err);
    bool plan = false, finalize = false;
    int64_t shards = 0, shard_index = -1;
    const char *task = NULL;
    const char *metrics_file = config_env_str("DIP_METRICS_FILE", NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--source") && has_val) {
            o.source = argv[++i];
        } else if (!strcmp(a, "--table") && has_val) {
            o.table = argv[++i];
        } else if (!strcmp(a, "--model") && has_val) {
            o.model_path = argv[++i];
        } else if (!strcmp(a, "--schemas") && has_val) {
            o.schemas_dir = argv[++i];
        } else if (!strcmp(a, "--metrics-file") && has_val) {
            metrics_file = argv[++i];
        } else if (!strcmp(a, "--task") && has_val) {
            task = argv[++i];
        } else if (!strcmp(a, "--batch-size") && has_val) {
            int64_t v;
            if (!dip_parse_i64(argv[++i], &v) || v < 1 || v > 10000000)
                return cli_usage_error("sync-pg", "--batch-size %s: expected 1..10000000", argv[i]);
            o.pg.batch_size = (int)v;
        } else if (!strcmp(a, "--force")) {
            o.force = true;
        } else if (!strcmp(a, "--full")) {
            o.full = true;
        } else if (!strcmp(a, "--propagate-deletes")) {
            o.propagate_deletes = true;
        } else if (!strcmp(a, "--plan")) {
            plan = true;
        } else if (!strcmp(a, "--finalize")) {
            finalize = true;
        } else if (!strcmp(a, "--shards") && has_val) {
            if (!dip_parse_i64(argv[++i], &shards) || shards < 1 || shards > 1024)
                return cli_usage_error("sync-pg", "--shards %s: expected 1..1024", argv[i]);
        } else if (!strcmp(a, "--workers") && has_val) {
            int64_t v;
            if (!dip_parse_i64(argv[++i], &v) || v < 1 || v > 64)
                return cli_usage_error("sync-pg", "--workers %s: expected 1..64", argv[i]);
            o.workers = (int)v;
        } else if (!strcmp(a, "--shard-index") && has_val) {
            if (!dip_parse_i64(argv[++i], &shard_index) || shard_index < 0 || shard_index > 1023)
                return cli_usage_error("sync-pg", "--shard-index %s: expected 0..1023", argv[i]);
        } else {
            return cli_usage_error("sync-pg", "unknown or incomplete option '%s'", a);
        }
    }
    if (shard_index >= 0 && !shards)
        return cli_usage_error("sync-pg", "--shard-index needs --shards N");
    if (shard_index >= shards && shards)
        return cli_usage_error("sync-pg", "--shard-index %lld: expected 0..%lld",
                               (long long)shard_index, (long long)shards - 1);
    if (shards && !plan && shard_index < 0)
        return cli_usage_error("sync-pg", "--shards N goes with --plan, or with --shard-index K");
    if (finalize && !task)
        return cli_usage_error("sync-pg", "--finalize needs --task JSON (a task of the sharded "
                                          "run, or the whole --plan --shards output)");
    if (o.workers > 1 && (plan || shards || finalize))
        return cli_usage_error("sync-pg", "--workers N runs the sync in this process: not with "
                                          "--plan, --shards or --finalize");
    SyncPgTask t;
    memset(&t, 0, sizeof t);
    if (task) {
        if (plan) return cli_usage_error("sync-pg", "--plan and --task exclude each other");
        if (shards)
            return cli_usage_error("sync-pg", "--shards and --task exclude each other (the task "
                                              "names its shard)");
        char why[256];
        if (!sync_pg_task_parse_full(task, finalize, &t, why, sizeof why)) {
            dip_error_set(&err, DIP_ERR_CONFIG, "--task: %s", why);
            return cli_fail(&err);
        }
        if (o.workers > 1 && t.parent_run_id > 0) {
            sync_pg_task_free(&t);
            return cli_usage_error("sync-pg", "--workers N: the task is a shard task (one "
                                              "shard runs on one connection)");
        }
        if (finalize && t.parent_run_id <= 0) {
            sync_pg_task_free(&t);
            return cli_usage_error("sync-pg", "--finalize: the task is not a shard task (no "
                                              "parent_run_id)");
        }
        o.source = t.input;
        o.table = t.output;
    }
    if (o.source == NULL || !o.source[0])
        return cli_usage_error("sync-pg", "--source URI is required");
    int rc = 0;
    if (plan) {
        Buf out;
        buf_init(&out);
        if (shards ? sync_pg_plan_shards(&o, (int)shards, -1, &out, &err)
                   : sync_pg_plan(&o, &out, &err)) {
            fputs(buf_cstr(&out), stdout);
            fputc('\n', stdout);
        } else {
            rc = cli_fail(&err);
        }
        buf_free(&out);
    } else {
        rc = run_sync(&o, task ? &t : NULL, finalize, (int)shards, (int)shard_index, metrics_file);
    }
    sync_pg_task_free(&t);
    return rc;
}
