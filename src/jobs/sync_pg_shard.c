/*
 * sync_pg_shard.c: sharded runs of sync-pg (docs/sync-pg.md, "Shards"): one table version
 * split into N tasks that Airflow's task mapping or a Kubernetes Indexed Job run in parallel
 * processes, on as many machines as they like, into one gold table.
 *
 * - The plan (`--plan --shards N`) decides staleness and mode once, as a run without shards
 *   would, and records them in a row of dip_sync_runs with `shards` = N: the sharded run.
 *   Files are split by bytes, largest first into the lightest shard (ties: the lower shard,
 *   files by path), so every process that looks at the same table version and mode computes
 *   the same split; its SHA-256 goes with the run and every task, and a shard checks it.
 *   A second plan while that run is unfinished joins it (same N and model), pinned at its
 *   version: N pods planning at once agree on one run, and a rerun reruns only what is left.
 * - A shard (`--task JSON`) holds the gold table's run lock shared (a run without shards
 *   takes it exclusively, so the two never overlap) and a lock of its own, has its own row
 *   (parent_run_id, shard) with its own resume point, and loads only its files. Rows of one
 *   silver row live in one file, so shards write disjoint hk sets: direct COPY of new rows
 *   cannot collide, and merges sort by hk (sql/gold_merge.sql) so overlapping keys of a
 *   duplicated silver key cannot deadlock either (a deadlock would be retried anyway).
 * - The finalize step (`--finalize --task`, or the last shard to finish) runs under its own
 *   lock, refuses while a shard is unfinished, does the deletes of --propagate-deletes (so
 *   exactly one process owns them) and marks the sharded run finished: only then do the
 *   staleness check and the next incremental sync see the version as synced.
 */
#include "jobs/sync_pg_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the split */

typedef struct ShardPlan {
    int shards;
    int *owner;     /* per j->files index: its shard */
    int64_t *bytes; /* per shard */
    size_t *nfiles; /* per shard */
    char sha256[65];
} ShardPlan;

static void shard_plan_free(ShardPlan *p)
{
    free(p->owner);
    free(p->bytes);
    free(p->nfiles);
    memset(p, 0, sizeof *p);
}

static int cmp_size_desc(const void *a, const void *b)
{
    const DeltaAddFile *x = *(const DeltaAddFile *const *)a, *y = *(const DeltaAddFile *const *)b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* Greedy by bytes over j->files (sorted by path): the largest file first, each into the
 * shard with the fewest bytes so far (the lowest id on a tie). Deterministic for a file
 * list; the SHA-256 covers the shard count, version, mode and every (shard, size, path). */
static void shard_plan_make(const SyncJob *j, int shards, const char *mode, int64_t base_version,
                            ShardPlan *p)
{
    memset(p, 0, sizeof *p);
    p->shards = shards;
    p->owner = dip_calloc(j->nfiles + 1, sizeof *p->owner);
    p->bytes = dip_calloc((size_t)shards, sizeof *p->bytes);
    p->nfiles = dip_calloc((size_t)shards, sizeof *p->nfiles);
    const DeltaAddFile **by_size = dip_calloc(j->nfiles + 1, sizeof *by_size);
    for (size_t i = 0; i < j->nfiles; i++)
        by_size[i] = j->files[i];
    qsort(by_size, j->nfiles, sizeof *by_size, cmp_size_desc);
    for (size_t i = 0; i < j->nfiles; i++) {
        int best = 0;
        for (int k = 1; k < shards; k++)
            if (p->bytes[k] < p->bytes[best]) best = k;
        p->bytes[best] += by_size[i]->size > 0 ? by_size[i]->size : 0;
        p->nfiles[best]++;
        /* files are distinct pointers of j->files: find its index (path order) */
        size_t lo = 0, hi = j->nfiles;
        while (lo < hi) { /* binary search by path: j->files is sorted by path */
            size_t mid = lo + (hi - lo) / 2;
            int c = strcmp(j->files[mid]->path, by_size[i]->path);
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        p->owner[lo] = best;
    }
    free(by_size);
    Buf text;
    buf_init(&text);
    buf_printf(&text, "dip sync-pg shard plan 1\nshards %d\nversion %lld\nmode %s\nbase %lld\n",
               shards, (long long)j->version, mode, (long long)base_version);
    for (int k = 0; k < shards; k++)
        for (size_t i = 0; i < j->nfiles; i++)
            if (p->owner[i] == k)
                buf_printf(&text, "%d\t%lld\t%s\n", k, (long long)j->files[i]->size,
                           j->files[i]->path);
    uint8_t h[32];
    dip_sha256(text.data, text.len, h);
    dip_hex(h, 32, p->sha256);
    buf_free(&text);
}

/* ------------------------------------------------------------ the sharded run's row */

typedef struct Sharded {
    PgRun run; /* the sharded run's own row */
    bool gold_empty;
    bool propagate_deletes;
    char plan_sha256[65];
} Sharded;

static void sharded_free(Sharded *sh)
{
    pg_run_free(&sh->run);
}

static bool sharded_plan_get(SyncJob *j, Sharded *sh, DipError *err)
{
    char id[24];
    dip_snprintf(id, sizeof id, "%lld", (long long)sh->run.run_id);
    const char *params[1] = {id};
    const char *t;
    PGresult *r = NULL;
    if (!pg_sql_get("sql/run_shard_plan_get.sql", &t, err) ||
        !pg_query(&j->conn, t, 1, params, &r, err))
        return false;
    bool ok = pg_nrows(r) == 1;
    if (ok) {
        sh->gold_empty = pg_value_bool(r, 0, 0);
        sh->propagate_deletes = pg_value_bool(r, 0, 1);
        dip_strlcpy(sh->plan_sha256, pg_value(r, 0, 2), sizeof sh->plan_sha256);
    }
    pg_result_free(r);
    if (!ok)
        return dip_error_set(err, DIP_ERR_NOT_FOUND, "sharded run %lld: its row is gone",
                             (long long)sh->run.run_id);
    return true;
}

static void shard_plan_json(const Sharded *sh, const ShardPlan *p, Buf *out)
{
    JsonWriter w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "gold_empty");
    jw_bool(&w, sh->gold_empty);
    jw_key(&w, "propagate_deletes");
    jw_bool(&w, sh->propagate_deletes);
    jw_key(&w, "plan_sha256");
    jw_str(&w, p->sha256);
    jw_key(&w, "files");
    jw_arr_begin(&w);
    for (int k = 0; k < p->shards; k++)
        jw_int(&w, (int64_t)p->nfiles[k]);
    jw_arr_end(&w);
    jw_key(&w, "bytes");
    jw_arr_begin(&w);
    for (int k = 0; k < p->shards; k++)
        jw_int(&w, p->bytes[k]);
    jw_arr_end(&w);
    jw_obj_end(&w);
}

typedef struct NewRun {
    Sharded *sh;
    const ShardPlan *p;
} NewRun;

/* The sharded run's row and its plan, together or not at all. */
static bool new_run_tx(PgConn *c, void *ctx, DipError *err)
{
    NewRun *n = ctx;
    SyncJob *j = NULL;
    (void)j;
    Buf bj, plan;
    buf_init(&bj);
    buf_init(&plan);
    shard_plan_json(n->sh, n->p, &plan);
    char id[24];
    const char *t;
    PGresult *r = NULL;
    bool ok = pg_run_start(c, &n->sh->run, "{}", err);
    if (ok) {
        dip_snprintf(id, sizeof id, "%lld", (long long)n->sh->run.run_id);
        const char *params[2] = {id, buf_cstr(&plan)};
        ok =
            pg_sql_get("sql/run_shard_plan_set.sql", &t, err) && pg_query(c, t, 2, params, &r, err);
        if (r) pg_result_free(r);
    }
    buf_free(&bj);
    buf_free(&plan);
    return ok;
}

static double lock_wait_s(const SyncJob *j)
{
    return j->opt->pg.connect_timeout_s > 0 ? j->opt->pg.connect_timeout_s : 10;
}

/* An exclusive lock on the job's connection; a transient error naming the holder when
 * another session keeps it (*got false and true returned when `quiet`). */
static bool lock_or_fail(SyncJob *j, const char *name, double wait_s, const char *what, bool quiet,
                         bool *got, DipError *err)
{
    char who[256];
    if (!pg_advisory_lock(&j->conn, name, wait_s, got, who, sizeof who, err)) return false;
    if (*got || quiet) return true;
    return dip_error_set(err, DIP_ERR_TRANSIENT, "%s (lock held by %s)", what, who);
}

static void lock_name(const SyncJob *j, const char *kind, Buf *out)
{
    buf_clear(out);
    if (kind)
        buf_printf(out, "dip sync-pg %s %s", kind, buf_cstr(&j->q_table));
    else
        buf_printf(out, "dip sync-pg %s", buf_cstr(&j->q_table));
}

/* The file list of the sharded run's mode at the job's version (the job is opened at the
 * run's version) and its split; refused when it is not the split the run was planned with. */
static bool shard_files(SyncJob *j, const Sharded *sh, ShardPlan *p, DipError *err)
{
    Decision d;
    memset(&d, 0, sizeof d);
    d.incremental = strcmp(sh->run.mode, "incremental") == 0;
    d.base_version = d.incremental ? sh->run.base_version : -1;
    bool ok = sync_pg_collect_files(j, &d, err);
    sync_pg_decision_free(&d);
    if (!ok) return false;
    if (strcmp(sh->run.mode, "incremental") == 0 && !d.incremental)
        return dip_error_set(err, DIP_ERR_DATA,
                             "sharded run %lld is an incremental sync from version %lld, whose "
                             "diff cannot be had any more: plan again with --full",
                             (long long)sh->run.run_id, (long long)sh->run.base_version);
    shard_plan_make(j, sh->run.shards, sh->run.mode, d.incremental ? d.base_version : -1, p);
    if (sh->plan_sha256[0] && strcmp(sh->plan_sha256, p->sha256) != 0)
        return dip_error_set(err, DIP_ERR_DATA,
                             "the files of table version %lld no longer split as sharded run %lld "
                             "was planned (plan %.12s, now %.12s): plan again with --full",
                             (long long)j->version, (long long)sh->run.run_id, sh->plan_sha256,
                             p->sha256);
    return true;
}

/* Under the plan lock: join the unfinished sharded run with the same shard count and model,
 * or decide afresh and record a new one (under the gold table's exclusive run lock, so no
 * shard of an older run and no run without shards is writing). *created: the split of the
 * new run is in p. */
static bool plan_or_join(SyncJob *j, int shards, Sharded *sh, bool *up_to_date, bool *created,
                         ShardPlan *p, DipError *err)
{
    const SyncPgOptions *o = j->opt;
    *up_to_date = *created = false;
    memset(sh, 0, sizeof *sh);
    Buf name;
    buf_init(&name);
    lock_name(j, "plan", &name);
    bool got;
    double wait = lock_wait_s(j) > 30 ? lock_wait_s(j) : 30;
    if (!lock_or_fail(j, buf_cstr(&name), wait, "another dip sync-pg is planning a sharded run",
                      false, &got, err)) {
        buf_free(&name);
        return false;
    }
    PgRun latest;
    bool have;
    bool ok = pg_run_latest(&j->conn, o->source, j->gold_table, false, &latest, &have, err);
    if (ok && have && !latest.sync_finished && latest.shards == shards &&
        strcmp(latest.model_sha256, j->model.sha256) == 0 &&
        !(o->full && strcmp(latest.mode, "incremental") == 0)) {
        sh->run = latest;
        have = false;
        dip_info("joining unfinished sharded run %lld: %s sync of table version %lld in %d shards",
                 (long long)sh->run.run_id, sh->run.mode, (long long)sh->run.version, shards);
        if (sh->run.version != j->version)
            dip_info("the table is at version %lld now: the next plan after this run syncs it",
                     (long long)j->version);
        ok = sharded_plan_get(j, sh, err);
    } else if (ok) {
        Decision d;
        ok = sync_pg_decide(j, &d, err);
        if (ok && d.up_to_date) {
            dip_info("%s is up to date with %s at version %lld: nothing to do", j->gold_table,
                     o->source, (long long)j->version);
            *up_to_date = true;
        } else if (ok) {
            if (d.resume)
                dip_info("unfinished run %lld is not resumed by a sharded run: its rows count as "
                         "loaded, the sharded run reads every file of its mode",
                         (long long)d.resume_run_id);
            d.resume = false;
            Buf tl;
            buf_init(&tl);
            lock_name(j, NULL, &tl);
            ok = lock_or_fail(j, buf_cstr(&tl), lock_wait_s(j),
                              "a dip sync-pg run (or a shard of an earlier sharded run) is "
                              "syncing into the table: no new sharded run planned",
                              false, &got, err) &&
                 sync_pg_collect_files(j, &d, err);
            if (ok) {
                sh->gold_empty = !d.gold_has_rows;
                sh->propagate_deletes = o->propagate_deletes;
                PgRun *r = &sh->run;
                r->input = dip_strdup(o->source);
                r->output = dip_strdup(j->gold_table);
                r->mode = dip_strdup(d.incremental ? "incremental" : "full");
                r->base_version = d.incremental ? d.base_version : -1;
                r->version = j->version;
                r->ldts_us = j->ldts_us;
                r->model_sha256 = dip_strdup(j->model.sha256);
                r->shards = shards;
                shard_plan_make(j, shards, r->mode, r->base_version, p);
                dip_strlcpy(sh->plan_sha256, p->sha256, sizeof sh->plan_sha256);
                NewRun n = {sh, p};
                ok = pg_tx_run(&j->conn, NULL, new_run_tx, &n, "a new sharded run", err);
                *created = ok;
                DipError ue = {0};
                if (!pg_advisory_unlock(&j->conn, buf_cstr(&tl), &ue))
                    dip_warn("releasing the run lock: %s", ue.msg);
            }
            buf_free(&tl);
            if (ok && have && !latest.sync_finished)
                dip_info("unfinished run %lld is superseded by sharded run %lld",
                         (long long)latest.run_id, (long long)sh->run.run_id);
            if (ok)
                dip_info("sharded run %lld: %s sync of table version %lld, %zu files in %d shards "
                         "(plan %.12s)",
                         (long long)sh->run.run_id, sh->run.mode, (long long)j->version, j->nfiles,
                         shards, p->sha256);
        }
        sync_pg_decision_free(&d);
    }
    if (have) pg_run_free(&latest);
    DipError ue = {0};
    if (pg_is_alive(&j->conn) && !pg_advisory_unlock(&j->conn, buf_cstr(&name), &ue))
        dip_warn("releasing the plan lock: %s", ue.msg);
    buf_free(&name);
    return ok;
}

static void task_json_write(JsonWriter *w, const SyncJob *j, const Sharded *sh, const ShardPlan *p,
                            int k)
{
    jw_obj_begin(w);
    jw_key(w, "input_delta_table");
    jw_str(w, j->opt->source);
    jw_key(w, "output_postgres_table");
    jw_str(w, j->gold_table);
    jw_key(w, "table_version");
    jw_int(w, sh->run.version);
    jw_key(w, "mode");
    jw_str(w, sh->run.mode);
    jw_key(w, "parent_run_id");
    jw_int(w, sh->run.run_id);
    jw_key(w, "shard");
    jw_int(w, k);
    jw_key(w, "shards");
    jw_int(w, p->shards);
    jw_key(w, "files");
    jw_int(w, (int64_t)p->nfiles[k]);
    jw_key(w, "bytes");
    jw_int(w, p->bytes[k]);
    jw_key(w, "plan_sha256");
    jw_str(w, p->sha256);
    jw_obj_end(w);
}

/* The plan as tasks: Sharded + split, for the plan's own job or (joined at another version)
 * a job opened at the run's version. */
static bool plan_tasks(const SyncPgOptions *o, int shards, Sharded *sh, ShardPlan *p,
                       bool *up_to_date, SyncJob *j, DipError *err)
{
    bool created = false;
    if (!sync_pg_job_open(j, o, err) || !sync_pg_job_connect(j, err) ||
        !sync_pg_ensure_gold_table(j, err) ||
        !plan_or_join(j, shards, sh, up_to_date, &created, p, err))
        return false;
    if (*up_to_date || created) return true;
    if (sh->run.version != j->version) {
        /* joined a run at an older version: its split comes from that version */
        sync_pg_job_free(j);
        memset(j, 0, sizeof *j);
        SyncPgOptions *pinned = dip_calloc(1, sizeof *pinned);
        *pinned = *o;
        pinned->version = sh->run.version;
        bool ok = sync_pg_job_open(j, pinned, err) && shard_files(j, sh, p, err);
        j->opt = o; /* the pinned copy only chose the version */
        free(pinned);
        return ok;
    }
    return shard_files(j, sh, p, err);
}

bool sync_pg_plan_shards(const SyncPgOptions *o, int shards, int only_shard, Buf *out,
                         DipError *err)
{
    SyncJob j = {0};
    Sharded sh = {0};
    ShardPlan p = {0};
    bool up_to_date = false;
    bool ok = plan_tasks(o, shards, &sh, &p, &up_to_date, &j, err);
    if (ok) {
        JsonWriter w;
        jw_init(&w, out);
        jw_arr_begin(&w);
        for (int k = 0; k < shards && !up_to_date; k++)
            if (only_shard < 0 || only_shard == k) task_json_write(&w, &j, &sh, &p, k);
        jw_arr_end(&w);
    }
    shard_plan_free(&p);
    sharded_free(&sh);
    sync_pg_job_free(&j);
    return ok;
}

/* ------------------------------------------------------------ a shard */

/* The sharded run a task names, checked against the task and the job: it exists, is
 * sharded like the task says, syncs this input, output, version and model, and is still the
 * latest run of the pair (a newer run supersedes it). A finished run is returned as such. */
static bool sharded_load(SyncJob *j, const SyncPgTask *t, Sharded *sh, DipError *err)
{
    memset(sh, 0, sizeof *sh);
    bool found;
    if (!pg_run_get(&j->conn, t->parent_run_id, &sh->run, &found, err)) return false;
    if (!found)
        return dip_error_set(err, DIP_ERR_NOT_FOUND,
                             "sharded run %lld of the task is not in dip_sync_runs",
                             (long long)t->parent_run_id);
    const PgRun *r = &sh->run;
    if (r->parent_run_id != 0 || r->shards != t->shards || strcmp(r->input, t->input) != 0 ||
        strcmp(r->output, j->gold_table) != 0 || r->version != t->table_version)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "the task does not match run %lld (%s -> %s, version %lld, %d "
                             "shards): print the tasks again with --plan --shards N",
                             (long long)r->run_id, r->input, r->output, (long long)r->version,
                             r->shards);
    if (strcmp(r->model_sha256, j->model.sha256) != 0)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "model %s is not the model sharded run %lld was planned with "
                             "(pass the same --model to every shard)",
                             j->model.source, (long long)r->run_id);
    if (r->sync_finished) return true;
    PgRun latest;
    bool have;
    if (!pg_run_latest(&j->conn, r->input, r->output, false, &latest, &have, err)) return false;
    bool superseded = have && latest.run_id != r->run_id;
    int64_t by = have ? latest.run_id : 0;
    if (have) pg_run_free(&latest);
    if (superseded)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "sharded run %lld was superseded by run %lld: plan again "
                             "(--plan --shards N)",
                             (long long)r->run_id, (long long)by);
    return sharded_plan_get(j, sh, err);
}

/* The job takes the gold table's run lock shared and `extra` exclusively (NULL: none). */
static void job_as_shard(SyncJob *j, const SyncPgTask *t, bool finalize)
{
    j->lock_shared = true;
    Buf n;
    buf_init(&n);
    if (!finalize) {
        buf_printf(&n, "dip sync-pg %s run %lld shard %d/%d", buf_cstr(&j->q_table),
                   (long long)t->parent_run_id, t->shard, t->shards);
        j->shard_lock = dip_strdup(buf_cstr(&n));
        dip_snprintf(j->shard_what, sizeof j->shard_what, "shard %d of sharded run %lld", t->shard,
                     (long long)t->parent_run_id);
    } else {
        dip_snprintf(j->shard_what, sizeof j->shard_what, "finalizing sharded run %lld",
                     (long long)t->parent_run_id);
    }
    buf_free(&n);
}

/* Keeps only the files of shard k in j->files (path order stays). */
static void files_keep_shard(SyncJob *j, const ShardPlan *p, int k)
{
    size_t n = 0;
    for (size_t i = 0; i < j->nfiles; i++)
        if (p->owner[i] == k) j->files[n++] = j->files[i];
    j->nfiles = n;
}

/* The shard row: the unfinished one continues (its resume point), else a new one. */
static bool shard_row_start(SyncJob *j, const Sharded *sh, const SyncPgTask *t, PgRun *row,
                            bool have_row, DipError *err)
{
    j->run_started = true;
    if (have_row) {
        j->run = *row;
        memset(row, 0, sizeof *row);
        return true;
    }
    memset(&j->run, 0, sizeof j->run);
    j->run.input = dip_strdup(j->opt->source);
    j->run.output = dip_strdup(j->gold_table);
    j->run.mode = dip_strdup(sh->run.mode);
    j->run.base_version = sh->run.base_version;
    j->run.version = j->version;
    j->run.ldts_us = j->ldts_us;
    j->run.model_sha256 = dip_strdup(j->model.sha256);
    j->run.parent_run_id = sh->run.run_id;
    j->run.shard = t->shard;
    j->run.shards = t->shards;
    Buf bj;
    buf_init(&bj);
    sync_pg_backend_json(j, &bj);
    bool ok = pg_run_start(&j->conn, &j->run, buf_cstr(&bj), err);
    buf_free(&bj);
    if (!ok) j->run_started = false;
    return ok;
}

/* ------------------------------------------------------------ finalize */

typedef struct ShardStates {
    int finished;
    Buf missing; /* "1 (running, or killed), 3 (failed: ...)" */
    int64_t n_input, n_inserted, n_updated, n_unchanged;
} ShardStates;

static bool shard_states(SyncJob *j, int64_t parent, int shards, ShardStates *s, DipError *err)
{
    memset(s, 0, sizeof *s);
    buf_init(&s->missing);
    char id[24];
    dip_snprintf(id, sizeof id, "%lld", (long long)parent);
    const char *params[1] = {id};
    const char *t;
    PGresult *r = NULL;
    if (!pg_sql_get("sql/run_shards_state.sql", &t, err) ||
        !pg_query(&j->conn, t, 1, params, &r, err))
        return false;
    int n = pg_nrows(r), row = 0;
    for (int k = 0; k < shards; k++) {
        int64_t v;
        while (row < n && pg_value_i64(r, row, 0, &v) && v < k)
            row++;
        bool here = row < n && pg_value_i64(r, row, 0, &v) && v == k;
        if (here && pg_value_bool(r, row, 1)) {
            s->finished++;
            int64_t x;
            if (pg_value_i64(r, row, 3, &x)) s->n_input += x;
            if (pg_value_i64(r, row, 4, &x)) s->n_inserted += x;
            if (pg_value_i64(r, row, 5, &x)) s->n_updated += x;
            if (pg_value_i64(r, row, 6, &x)) s->n_unchanged += x;
            continue;
        }
        if (s->missing.len) buf_append_str(&s->missing, ", ");
        if (!here)
            buf_printf(&s->missing, "%d (never started)", k);
        else if (pg_value(r, row, 2)[0])
            buf_printf(&s->missing, "%d (failed: %.160s)", k, pg_value(r, row, 2));
        else
            buf_printf(&s->missing, "%d (running, or killed)", k);
    }
    pg_result_free(r);
    return true;
}

/* Finalizes sharded run sh on the job (its connection holds the run lock shared): under the
 * finalize lock, when every shard finished. `automatic` (the end of a shard): another
 * finalizer or unfinished shards are no error. j->run becomes the sharded run's row. */
static bool finalize_run(SyncJob *j, Sharded *sh, bool automatic, DipError *err)
{
    Buf name;
    buf_init(&name);
    buf_printf(&name, "dip sync-pg finalize %s run %lld", buf_cstr(&j->q_table),
               (long long)sh->run.run_id);
    bool got = false;
    /* an automatic finalize waits too: the holder may have read the shards' states before
     * this shard's end was committed, and then leaves the run to this one */
    bool ok =
        lock_or_fail(j, buf_cstr(&name), lock_wait_s(j),
                     "another dip sync-pg is finalizing this sharded run", automatic, &got, err);
    if (ok && !got) {
        dip_info("another process is finalizing sharded run %lld", (long long)sh->run.run_id);
        buf_free(&name);
        return true;
    }
    PgRun now;
    bool found = false;
    ok = ok && pg_run_get(&j->conn, sh->run.run_id, &now, &found, err);
    if (ok && !found)
        ok = dip_error_set(err, DIP_ERR_NOT_FOUND, "sharded run %lld is gone",
                           (long long)sh->run.run_id);
    ShardStates st;
    memset(&st, 0, sizeof st);
    buf_init(&st.missing);
    if (ok && now.sync_finished) {
        dip_info("sharded run %lld is finalized already", (long long)now.run_id);
    } else if (ok && (ok = shard_states(j, now.run_id, now.shards, &st, err))) {
        if (st.finished < now.shards) {
            if (automatic)
                dip_info("%d of %d shards of sharded run %lld finished; waiting for shards %s",
                         st.finished, now.shards, (long long)now.run_id, buf_cstr(&st.missing));
            else
                ok = dip_error_set(err, DIP_ERR_TRANSIENT,
                                   "sharded run %lld cannot be finalized: %d of %d shards "
                                   "finished; not finished: shard %s (rerun those tasks)",
                                   (long long)now.run_id, st.finished, now.shards,
                                   buf_cstr(&st.missing));
        } else {
            /* the sharded run's counters: its shards' plus its own deletes so far */
            now.n_input_records = st.n_input;
            now.n_inserted = st.n_inserted;
            now.n_updated = st.n_updated;
            now.n_unchanged = st.n_unchanged;
            now.n_output_records = now.n_inserted + now.n_updated + now.n_deleted;
            sync_pg_finish_run(j, true, NULL); /* idempotent for a shard already recorded */
            pg_run_free(&j->run);
            j->run = now;
            memset(&now, 0, sizeof now);
            j->run_started = true;
            if (sh->propagate_deletes && !sh->gold_empty)
                ok = sync_pg_session_setup(j, err) && sync_pg_propagate_deletes(j, err);
            if (ok) ok = sync_pg_record_end(j, true, NULL, err);
            if (ok) {
                dip_info("sharded run %lld finalized: table version %lld of %s synced into %s by "
                         "%d shards (%lld rows read, %lld inserted, %lld updated, %lld "
                         "unchanged, %lld deleted)",
                         (long long)j->run.run_id, (long long)j->run.version, j->opt->source,
                         j->gold_table, j->run.shards, (long long)j->run.n_input_records,
                         (long long)j->run.n_inserted, (long long)j->run.n_updated,
                         (long long)j->run.n_unchanged, (long long)j->run.n_deleted);
                if (j->stats) {
                    j->stats->n_deleted = j->run.n_deleted;
                    j->stats->finalized = true;
                }
            }
        }
    }
    if (found) pg_run_free(&now);
    buf_free(&st.missing);
    DipError ue = {0};
    if (got && pg_is_alive(&j->conn) && !pg_advisory_unlock(&j->conn, buf_cstr(&name), &ue))
        dip_debug("releasing the finalize lock: %s", ue.msg);
    buf_free(&name);
    return ok;
}

/* Opens the job pinned at the task's version, as a shard (or finalizer) of it. */
static bool shard_job_open(SyncJob *j, SyncPgOptions *o2, const SyncPgOptions *o,
                           const SyncPgTask *t, bool finalize, SyncPgStats *stats, DipError *err)
{
    *o2 = *o;
    o2->source = t->input;
    o2->table = t->output;
    o2->version = t->table_version;
    o2->propagate_deletes = false; /* the sharded run's plan says, for its finalize step */
    memset(stats, 0, sizeof *stats);
    dip_strlcpy(stats->mode, "none", sizeof stats->mode);
    j->stats = stats;
    bool ok = sync_pg_job_open(j, o2, err);
    dip_strlcpy(stats->output, j->gold_table ? j->gold_table : t->output, sizeof stats->output);
    if (!ok) return false;
    stats->have_version = true;
    stats->version = j->version;
    stats->ldts_us = j->ldts_us;
    stats->shard = finalize ? -1 : t->shard;
    stats->parent_run_id = t->parent_run_id;
    job_as_shard(j, t, finalize);
    return sync_pg_job_connect(j, err) && sync_pg_lock(j, err);
}

/* A shard; `progress` (NULL: alone) when it is a worker of --workers. */
static bool shard_run(const SyncPgOptions *o, const SyncPgTask *t, SyncPgStats *stats,
                      SyncPgProgress *progress, DipError *err)
{
    double t0 = dip_now_s();
    SyncJob j = {0};
    SyncPgOptions o2;
    Sharded sh = {0};
    ShardPlan p = {0};
    PgRun row;
    memset(&row, 0, sizeof row);
    bool have_row = false;
    bool ok = shard_job_open(&j, &o2, o, t, false, stats, err) && sharded_load(&j, t, &sh, err);
    if (ok && sh.run.sync_finished) {
        dip_info("sharded run %lld is finished: nothing to do for shard %d",
                 (long long)sh.run.run_id, t->shard);
        stats->up_to_date = true;
    } else if (ok &&
               (ok = sync_pg_ensure_gold_table(&j, err) &&
                     pg_run_shard_latest(&j.conn, sh.run.run_id, t->shard, &row, &have_row, err))) {
        if (have_row && row.sync_finished) {
            dip_info("shard %d of sharded run %lld finished already", t->shard,
                     (long long)sh.run.run_id);
            stats->up_to_date = true;
        } else {
            ok = shard_files(&j, &sh, &p, err);
            if (ok && t->plan_sha256[0] && strcmp(t->plan_sha256, p.sha256) != 0)
                ok = dip_error_set(err, DIP_ERR_CONFIG,
                                   "the task's plan_sha256 %.12s is not the plan of sharded run "
                                   "%lld (%.12s)",
                                   t->plan_sha256, (long long)sh.run.run_id, p.sha256);
            if (ok) {
                size_t all = j.nfiles;
                files_keep_shard(&j, &p, t->shard);
                sync_pg_files_resume_after(&j, have_row ? row.last_file : NULL);
                dip_strlcpy(stats->mode, sh.run.mode, sizeof stats->mode);
                stats->resumed = have_row;
                stats->files_total = j.nfiles - j.first_file;
                stats->files_skipped = j.first_file;
                j.prefilter = sh.gold_empty ? PREFILTER_NONE : PREFILTER_LOOKUP;
                if (have_row)
                    dip_info("resuming shard %d of sharded run %lld (its run %lld) after %s",
                             t->shard, (long long)sh.run.run_id, (long long)row.run_id,
                             row.last_file ? row.last_file : "(no file finished yet)");
                dip_info("sync-pg %s -> %s: shard %d of %d of sharded run %lld: %s sync of "
                         "version %lld, %zu of the run's %zu files (%lld bytes), %zu to load, "
                         "pre-filter %s",
                         j.opt->source, j.gold_table, t->shard, t->shards, (long long)sh.run.run_id,
                         sh.run.mode, (long long)j.version, j.nfiles, all,
                         (long long)p.bytes[t->shard], j.nfiles - j.first_file,
                         sh.gold_empty ? "none (gold was empty when planned: COPY straight in)"
                                       : "per-batch hk lookup");
                j.progress = progress;
                ok = shard_row_start(&j, &sh, t, &row, have_row, err);
                if (ok) {
                    j.last_checkpoint_s = dip_now_s();
                    ok = sync_pg_session_setup(&j, err) && sync_pg_load_files(&j, err);
                    stats->n_input = j.run.n_input_records;
                    stats->n_inserted = j.run.n_inserted;
                    stats->n_updated = j.run.n_updated;
                    stats->n_unchanged = j.run.n_unchanged;
                    if (!sync_pg_finish_run(&j, ok, ok ? NULL : err) && ok)
                        ok = dip_error_set(err, DIP_ERR_TRANSIENT,
                                           "could not mark shard run %lld finished",
                                           (long long)j.run.run_id);
                }
            }
        }
        /* the last shard to finish finalizes the sharded run */
        if (ok) ok = finalize_run(&j, &sh, true, err);
    }
    pg_run_free(&row);
    shard_plan_free(&p);
    sharded_free(&sh);
    sync_pg_job_free(&j);
    stats->seconds = dip_now_s() - t0;
    stats->peak_rss = dip_peak_rss_bytes();
    return ok;
}

bool sync_pg_run_shard(const SyncPgOptions *o, const SyncPgTask *t, SyncPgStats *stats,
                       DipError *err)
{
    return shard_run(o, t, stats, NULL, err);
}

bool sync_pg_finalize(const SyncPgOptions *o, const SyncPgTask *t, SyncPgStats *stats,
                      DipError *err)
{
    double t0 = dip_now_s();
    SyncJob j = {0};
    SyncPgOptions o2;
    Sharded sh = {0};
    bool ok = shard_job_open(&j, &o2, o, t, true, stats, err) && sharded_load(&j, t, &sh, err);
    if (ok && sh.run.sync_finished) {
        dip_info("sharded run %lld is finalized already: nothing to do", (long long)sh.run.run_id);
        stats->up_to_date = true;
    } else if (ok) {
        /* the deletes of an incremental run read the version diff */
        if (sh.propagate_deletes && !sh.gold_empty) {
            ShardPlan p;
            memset(&p, 0, sizeof p);
            ok = shard_files(&j, &sh, &p, err);
            shard_plan_free(&p);
        }
        ok = ok && finalize_run(&j, &sh, false, err);
        dip_strlcpy(stats->mode, sh.run.mode, sizeof stats->mode);
        stats->n_input = j.run.n_input_records;
        stats->n_inserted = j.run.n_inserted;
        stats->n_updated = j.run.n_updated;
        stats->n_unchanged = j.run.n_unchanged;
        stats->n_deleted = j.run.n_deleted;
    }
    sharded_free(&sh);
    sync_pg_job_free(&j);
    stats->seconds = dip_now_s() - t0;
    stats->peak_rss = dip_peak_rss_bytes();
    return ok;
}

/* Plans (or joins) the sharded run of `shards` shards and fills its tasks t[0..shards)
 * (left empty when the table is up to date). The plan's connection and locks are gone on
 * return, before any shard takes its own. */
static bool plan_to_tasks(const SyncPgOptions *o, int shards, SyncPgTask *t, SyncPgStats *stats,
                          DipError *err)
{
    SyncJob j = {0};
    Sharded sh = {0};
    ShardPlan p = {0};
    bool up_to_date = false;
    memset(stats, 0, sizeof *stats);
    dip_strlcpy(stats->mode, "none", sizeof stats->mode);
    stats->shard = -1;
    bool ok = plan_tasks(o, shards, &sh, &p, &up_to_date, &j, err);
    for (int k = 0; ok && !up_to_date && k < shards; k++) {
        memset(&t[k], 0, sizeof t[k]);
        t[k].input = dip_strdup(o->source);
        t[k].output = dip_strdup(j.gold_table);
        t[k].table_version = sh.run.version;
        t[k].parent_run_id = sh.run.run_id;
        t[k].shard = k;
        t[k].shards = shards;
        dip_strlcpy(t[k].plan_sha256, p.sha256, sizeof t[k].plan_sha256);
    }
    if (ok && !up_to_date) {
        dip_strlcpy(stats->mode, sh.run.mode, sizeof stats->mode);
        stats->parent_run_id = sh.run.run_id;
    }
    stats->up_to_date = ok && up_to_date;
    dip_strlcpy(stats->output, j.gold_table ? j.gold_table : "", sizeof stats->output);
    if (j.snap) {
        stats->have_version = true;
        stats->version = j.version;
        stats->ldts_us = j.ldts_us;
    }
    shard_plan_free(&p);
    sharded_free(&sh);
    sync_pg_job_free(&j);
    return ok;
}

bool sync_pg_run_shard_index(const SyncPgOptions *o, int shards, int index, SyncPgStats *stats,
                             DipError *err)
{
    SyncPgTask *t = dip_calloc((size_t)shards, sizeof *t);
    bool ok = plan_to_tasks(o, shards, t, stats, err);
    if (ok && !stats->up_to_date) {
        dip_info("shard index %d: task %d of %d of sharded run %lld", index, index, shards,
                 (long long)t[index].parent_run_id);
        ok = sync_pg_run_shard(o, &t[index], stats, err);
    }
    for (int k = 0; k < shards; k++)
        sync_pg_task_free(&t[k]);
    free(t);
    return ok;
}

/* ------------------------------------------------------------ --workers N */

typedef struct Worker {
    const SyncPgOptions *o;
    const SyncPgTask *t;
    SyncPgProgress *progress;
    SyncPgStats stats;
    DipError err;
    bool ok;
    bool started;
    pthread_t th;
} Worker;

static void *worker_main(void *arg)
{
    Worker *w = arg;
    w->ok = shard_run(w->o, w->t, &w->stats, w->progress, &w->err);
    return NULL;
}

/* The workers' figures summed into the process's; the first failure is the process's error
 * (a stop request's, when one came, so that the exit says "stopped"). */
static bool workers_sum(Worker *w, int n, SyncPgStats *stats, DipError *err)
{
    bool ok = true;
    for (int k = 0; k < n; k++) {
        const SyncPgStats *s = &w[k].stats;
        stats->resumed |= s->resumed;
        stats->files_total += s->files_total;
        stats->files_skipped += s->files_skipped;
        stats->n_input += s->n_input;
        stats->n_inserted += s->n_inserted;
        stats->n_updated += s->n_updated;
        stats->n_unchanged += s->n_unchanged;
        stats->n_deleted += s->n_deleted;
        stats->finalized |= s->finalized;
        if (!w[k].ok &&
            (ok || (w[k].err.kind == DIP_ERR_INTERRUPTED && err->kind != DIP_ERR_INTERRUPTED))) {
            *err = w[k].err;
            if (ok) dip_error_prefix(err, "worker %d (shard %d)", k, w[k].t->shard);
            ok = false;
        }
    }
    return ok;
}

bool sync_pg_run_workers(const SyncPgOptions *o, int workers, SyncPgStats *stats, DipError *err)
{
    double t0 = dip_now_s();
    SyncPgTask *t = dip_calloc((size_t)workers, sizeof *t);
    bool ok = plan_to_tasks(o, workers, t, stats, err);
    if (ok && !stats->up_to_date) {
        dip_info("%d workers: shards 0..%d of sharded run %lld, one loader connection each",
                 workers, workers - 1, (long long)t[0].parent_run_id);
        SyncPgProgress progress = {.t0 = dip_now_s()};
        Worker *w = dip_calloc((size_t)workers, sizeof *w);
        for (int k = 0; k < workers; k++) {
            w[k] = (Worker){.o = o, .t = &t[k], .progress = &progress};
            w[k].started = pthread_create(&w[k].th, NULL, worker_main, &w[k]) == 0;
            if (!w[k].started)
                dip_error_set(&w[k].err, DIP_ERR_INTERNAL, "cannot start worker thread %d", k);
        }
        for (int k = 0; k < workers; k++)
            if (w[k].started) pthread_join(w[k].th, NULL);
        ok = workers_sum(w, workers, stats, err);
        /* every shard finished and yet none finalized (each saw another finalizer): do it */
        if (ok && !stats->finalized) {
            SyncPgStats fs;
            ok = sync_pg_finalize(o, &t[0], &fs, err);
            stats->finalized = fs.finalized;
            stats->n_deleted = fs.n_deleted;
        }
        free(w);
    }
    for (int k = 0; k < workers; k++)
        sync_pg_task_free(&t[k]);
    free(t);
    stats->shard = -1;
    stats->seconds = dip_now_s() - t0;
    stats->peak_rss = dip_peak_rss_bytes();
    return ok;
}
