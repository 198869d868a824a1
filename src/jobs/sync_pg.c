/*
 * sync_pg.c: the sync-pg job around the load pipeline: discovery (the Delta table must
 * exist), binding the gold model, the SchemaManager, checking the gold table against the
 * model, staleness (the table's LDTS against MAX(sync_ldts) and the last finished run),
 * resume (an unfinished run at the same version continues after its last fully loaded
 * file; another version resets), the mode (full or incremental from the version diff) and
 * the run metadata around it all. docs/sync-pg.md is the user-facing description.
 */
#include "jobs/sync_pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sync_pg_options_from_env(SyncPgOptions *o, DipError *err)
{
    memset(o, 0, sizeof *o);
    int64_t dbs, dr, dth;
    double ddelay, ckpt;
    if (!pg_settings_from_env(&o->pg, err) ||
        !config_env_int("DELTA_CLIENT_BATCH_SIZE", 100000, &dbs, err) ||
        !config_env_int("DELTA_CLIENT_WRITE_RETRIES", 5, &dr, err) ||
        !config_env_double("DELTA_CLIENT_WRITE_RETRY_DELAY", 10, &ddelay, err) ||
        !config_env_double("SYNC_CHECKPOINT_INTERVAL", 600, &ckpt, err) ||
        !config_env_int("DIP_DECODE_THREADS", 2, &dth, err))
        return false;
    if (dth < 1 || dth > 64)
        return dip_error_set(err, DIP_ERR_CONFIG, "DIP_DECODE_THREADS=%lld: expected 1..64",
                             (long long)dth);
    if (dbs < 1 || dbs > 10000000)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "DELTA_CLIENT_BATCH_SIZE=%lld: expected 1..10000000", (long long)dbs);
    if (dr < 0 || dr > 1000)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "DELTA_CLIENT_WRITE_RETRIES=%lld: expected 0..1000", (long long)dr);
    if (!(ddelay >= 0 && ddelay <= 3600))
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "DELTA_CLIENT_WRITE_RETRY_DELAY=%g: expected 0..3600", ddelay);
    if (!(ckpt >= 0 && ckpt <= 86400))
        return dip_error_set(err, DIP_ERR_CONFIG, "SYNC_CHECKPOINT_INTERVAL=%g: expected 0..86400",
                             ckpt);
    o->version = -1;
    o->workers = 1;
    o->delta_batch_size = dbs;
    o->decode_threads = (int)dth;
    o->delta_retries = (int)dr;
    o->delta_retry_delay_s = ddelay;
    o->checkpoint_interval_s = ckpt;
    return true;
}

static int cmp_file_path(const void *a, const void *b)
{
    const DeltaAddFile *x = *(const DeltaAddFile *const *)a, *y = *(const DeltaAddFile *const *)b;
    return strcmp(x->path, y->path);
}

void sync_pg_job_free(SyncJob *j)
{
    pg_close(&j->conn);
    pg_close(&j->lookup_conn);
    if (j->have_diff) delta_diff_free(&j->diff);
    free(j->files);
    hkset_free(&j->set);
    if (j->snap) delta_snapshot_free(j->snap);
    if (j->store) store_close(j->store);
    gold_plan_free(&j->plan);
    free(j->col_types);
    gold_model_free(&j->model);
    buf_free(&j->q_table);
    buf_free(&j->q_columns);
    buf_free(&j->sql_copy_gold);
    buf_free(&j->sql_copy_stage);
    buf_free(&j->sql_merge);
    buf_free(&j->sql_stage_create);
    buf_free(&j->sql_lookup);
    free(j->shard_lock);
    pg_run_free(&j->run); /* zeroed or owned: also a run row that could not be inserted */
}

/* The exact PostgreSQL type of every gold column, or an error before any write. */
static bool map_types(SyncJob *j, DipError *err)
{
    j->col_types = dip_calloc((size_t)j->plan.ncols + 1, sizeof *j->col_types);
    for (int i = 0; i < j->plan.ncols; i++) {
        char why[160];
        const GoldColumn *c = &j->plan.cols[i];
        if (!pg_type_for(c->type, &j->col_types[i], why, sizeof why)) {
            const DipField *fld = &delta_snapshot_schema(j->snap)->fields[c->src];
            Buf t;
            buf_init(&t);
            dip_type_format(c->type, &t);
            dip_error_set(err, DIP_ERR_DATA,
                          "%s: silver column '%s' has type %s that dip cannot map: %s",
                          j->model.source, fld->name, buf_cstr(&t), why);
            buf_free(&t);
            return false;
        }
    }
    return true;
}

/* Opens the table and binds the model: everything that can be refused before connecting. */
bool sync_pg_job_open(SyncJob *j, const SyncPgOptions *o, DipError *err)
{
    j->opt = o;
    buf_init(&j->q_table);
    buf_init(&j->q_columns);
    buf_init(&j->sql_copy_gold);
    buf_init(&j->sql_copy_stage);
    buf_init(&j->sql_merge);
    buf_init(&j->sql_stage_create);
    buf_init(&j->sql_lookup);
    if (!gold_model_load(&j->model, o->model_path, err)) return false;
    /* an empty --table is a mistake, not a request for the model's default */
    j->gold_table = o->table ? o->table : j->model.table;
    if (o->table) {
        if (!pg_table_name_check(o->table, "--table", err)) return false;
    } else if (!pg_table_name_check(j->model.table, "table", err)) {
        dip_error_prefix(err, "model %s", j->model.source);
        return false;
    }
    if (!store_open(&j->store, o->source, err)) {
        dip_error_prefix(err, "--source %s", o->source);
        return false;
    }
    /* transient S3 failures are retried per request inside the store (DELTA_CLIENT_*): an
     * error here is final */
    if (!delta_snapshot_open(&j->snap, j->store, o->version, -1, err)) {
        if (o->version >= 0)
            dip_error_prefix(err, "Delta table %s at version %lld", o->source,
                             (long long)o->version);
        else
            dip_error_prefix(err, "Delta table %s", o->source);
        return false;
    }
    j->version = delta_snapshot_version(j->snap);
    DeltaLdtsSource src;
    j->ldts_us = delta_snapshot_ldts_us(j->snap, &src);
    if (!gold_plan_bind(&j->plan, &j->model, delta_snapshot_schema(j->snap), err) ||
        !map_types(j, err)) {
        dip_error_prefix(err, "Delta table %s", o->source);
        return false;
    }
    /* SQL with the job's identifiers */
    pg_quote_ident(j->gold_table, &j->q_table);
    buf_append_str(&j->q_columns, "\"hk\", \"hdiff\", \"sync_ldts\"");
    Buf upd;
    buf_init(&upd);
    buf_append_str(&upd, "hdiff = EXCLUDED.hdiff, sync_ldts = EXCLUDED.sync_ldts");
    for (int i = 0; i < j->plan.ncols; i++) {
        buf_append_str(&j->q_columns, ", ");
        pg_quote_name(j->plan.cols[i].gold, &j->q_columns);
        buf_append_str(&upd, ", ");
        pg_quote_name(j->plan.cols[i].gold, &upd);
        buf_append_str(&upd, " = EXCLUDED.");
        pg_quote_name(j->plan.cols[i].gold, &upd);
    }
    const char *t;
    const char *kv_gold[] = {"target", buf_cstr(&j->q_table), "columns", buf_cstr(&j->q_columns),
                             NULL};
    const char *kv_stage[] = {"target", "dip_stage", "columns", buf_cstr(&j->q_columns), NULL};
    const char *kv_merge[] = {
        "table",      buf_cstr(&j->q_table), "columns", buf_cstr(&j->q_columns),
        "update_set", buf_cstr(&upd),        NULL};
    bool ok = pg_sql_get("sql/gold_copy.sql", &t, err) &&
              pg_sql_render(t, kv_gold, &j->sql_copy_gold, err) &&
              pg_sql_render(t, kv_stage, &j->sql_copy_stage, err) &&
              pg_sql_get("sql/gold_merge.sql", &t, err) &&
              pg_sql_render(t, kv_merge, &j->sql_merge, err) &&
              pg_sql_get("sql/gold_lookup.sql", &t, err) &&
              pg_sql_render(t, kv_merge, &j->sql_lookup, err);
    buf_free(&upd);
    return ok;
}

/* The gold table's columns (name, type, not null, has default) from the catalog; zero rows
 * when the table does not exist. The lookup takes the quoted name, as every statement does. */
static bool gold_columns(SyncJob *j, PGresult **r, DipError *err)
{
    const char *params[1] = {buf_cstr(&j->q_table)};
    const char *t;
    return pg_sql_get("sql/gold_columns.sql", &t, err) && pg_query(&j->conn, t, 1, params, r, err);
}

/* No schema file made the gold table: the model says what it looks like. */
static bool gold_table_create(SyncJob *j, DipError *err)
{
    Buf defs, sql, idx, iname;
    buf_init(&defs);
    buf_init(&sql);
    buf_init(&idx);
    buf_init(&iname);
    for (int i = 0; i < j->plan.ncols; i++) {
        buf_append_str(&defs, ",\n    ");
        pg_quote_name(j->plan.cols[i].gold, &defs);
        buf_append_byte(&defs, ' ');
        pg_type_sql(&j->col_types[i], &defs);
    }
    /* an index lives in its table's schema, so its name is derived from the table part */
    pg_derived_name(pg_table_name_base(j->gold_table), "_sync_ldts_idx", &iname);
    pg_quote_name(buf_cstr(&iname), &idx);
    const char *kv[] = {"table",      buf_cstr(&j->q_table), "column_defs", buf_cstr(&defs),
                        "ldts_index", buf_cstr(&idx),        NULL};
    const char *t;
    bool did = false;
    bool ok =
        pg_sql_get("sql/gold_create_table.sql", &t, err) && pg_sql_render(t, kv, &sql, err) &&
        pg_schema_apply_text(&j->conn, "sql/gold_create_table.sql", buf_cstr(&sql), &did, err);
    buf_free(&defs);
    buf_free(&sql);
    buf_free(&idx);
    buf_free(&iname);
    if (ok && did) dip_info("created gold table %s from model %s", j->gold_table, j->model.source);
    return ok;
}

/* hk text, hdiff text, sync_ldts timestamptz, then each model column with its exact type,
 * and no unmapped NOT NULL column without a default. */
static bool gold_table_check_columns(SyncJob *j, PGresult *r, DipError *err)
{
    int n = pg_nrows(r);
    int nexp = 3 + j->plan.ncols;
    bool ok = true;
    for (int e = 0; e < nexp && ok; e++) {
        const char *name = e == 0   ? "hk"
                           : e == 1 ? "hdiff"
                           : e == 2 ? "sync_ldts"
                                    : j->plan.cols[e - 3].gold;
        Buf want;
        buf_init(&want);
        if (e < 2)
            buf_append_str(&want, "text");
        else if (e == 2)
            buf_append_str(&want, "timestamp with time zone");
        else
            pg_type_sql(&j->col_types[e - 3], &want);
        int found = -1;
        for (int i = 0; i < n; i++)
            if (strcmp(pg_value(r, i, 0), name) == 0) found = i;
        if (found < 0)
            ok = dip_error_set(err, DIP_ERR_DATA,
                               "gold table %s has no column \"%s\" (%s) that model %s maps",
                               j->gold_table, name, buf_cstr(&want), j->model.source);
        else if (strcmp(pg_value(r, found, 1), buf_cstr(&want)) != 0)
            ok = dip_error_set(
                err, DIP_ERR_DATA, "gold table %s column \"%s\" is %s, model %s needs %s",
                j->gold_table, name, pg_value(r, found, 1), j->model.source, buf_cstr(&want));
        buf_free(&want);
    }
    for (int i = 0; i < n && ok; i++) {
        const char *name = pg_value(r, i, 0);
        bool known = !strcmp(name, "hk") || !strcmp(name, "hdiff") || !strcmp(name, "sync_ldts");
        for (int c = 0; c < j->plan.ncols && !known; c++)
            known = strcmp(j->plan.cols[c].gold, name) == 0;
        if (!known && pg_value_bool(r, i, 2) && !pg_value_bool(r, i, 3))
            ok = dip_error_set(err, DIP_ERR_DATA,
                               "gold table %s column \"%s\" is NOT NULL without a default and "
                               "model %s does not map it",
                               j->gold_table, name, j->model.source);
    }
    return ok;
}

/* Creates the gold table (schema files, else from the model) and checks it against the model.
 * A mismatch is a data error before anything is written. */
bool sync_pg_ensure_gold_table(SyncJob *j, DipError *err)
{
    int ran = 0;
    if (j->opt->schemas_dir) {
        if (!pg_schema_apply(&j->conn, j->opt->schemas_dir, &ran, err)) return false;
    } else if (j->opt->model_path == NULL) {
        if (!pg_schema_apply(&j->conn, NULL, &ran, err)) return false;
    }
    PGresult *r;
    if (!gold_columns(j, &r, err)) return false;
    if (pg_nrows(r) == 0) {
        pg_result_free(r);
        /* created once, then looked up once more: still missing is an error, never a loop */
        if (!gold_table_create(j, err) || !gold_columns(j, &r, err)) return false;
        if (pg_nrows(r) == 0) {
            pg_result_free(r);
            return dip_error_set(err, DIP_ERR_INTERNAL,
                                 "gold table %s: created, but the catalog does not show it",
                                 j->gold_table);
        }
    }
    bool ok = gold_table_check_columns(j, r, err);
    pg_result_free(r);
    if (!ok) return false;
    const char *params[1] = {buf_cstr(&j->q_table)};
    const char *t;
    if (!pg_sql_get("sql/gold_hk_unique.sql", &t, err) ||
        !pg_query(&j->conn, t, 1, params, &r, err))
        return false;
    ok = pg_nrows(r) == 1 && strcmp(pg_value(r, 0, 0), "0") != 0;
    pg_result_free(r);
    if (!ok)
        return dip_error_set(err, DIP_ERR_DATA,
                             "gold table %s has no unique index on (hk), which ON CONFLICT (hk) "
                             "needs",
                             j->gold_table);
    return true;
}

bool sync_pg_gold_state(SyncJob *j, int64_t *max_ldts_us, bool *has_rows, DipError *err)
{
    const char *t;
    Buf sql;
    buf_init(&sql);
    const char *kv[] = {"table", buf_cstr(&j->q_table), NULL};
    PGresult *r = NULL;
    bool ok = pg_sql_get("sql/gold_state.sql", &t, err) && pg_sql_render(t, kv, &sql, err) &&
              pg_query(&j->conn, buf_cstr(&sql), 0, NULL, &r, err);
    buf_free(&sql);
    if (!ok) return false;
    if (!pg_value_i64(r, 0, 0, max_ldts_us)) *max_ldts_us = INT64_MIN;
    *has_rows = pg_value_bool(r, 0, 1);
    pg_result_free(r);
    return true;
}

void sync_pg_backend_json(const SyncJob *j, Buf *out)
{
    JsonWriter w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "host");
    jw_str(&w, j->conn.host);
    jw_key(&w, "port");
    jw_str(&w, j->conn.port);
    jw_key(&w, "user");
    jw_str(&w, j->conn.user);
    jw_key(&w, "database");
    jw_str(&w, j->conn.dbname);
    jw_key(&w, "batch_size");
    jw_int(&w, j->opt->pg.batch_size);
    jw_key(&w, "connection_timeout");
    jw_int(&w, j->opt->pg.connect_timeout_s);
    jw_key(&w, "max_retries");
    jw_int(&w, j->opt->pg.max_retries);
    jw_key(&w, "retry_delay");
    jw_double(&w, j->opt->pg.retry_delay_s);
    jw_obj_end(&w);
}

void sync_pg_decision_free(Decision *d)
{
    free(d->resume_after);
    if (d->have_resume_run) pg_run_free(&d->resume_run);
}

/* Staleness, resume and mode; logs why. */
bool sync_pg_decide(SyncJob *j, Decision *d, DipError *err)
{
    const SyncPgOptions *o = j->opt;
    memset(d, 0, sizeof *d);
    d->base_version = -1;
    if (!sync_pg_gold_state(j, &d->max_ldts_us, &d->gold_has_rows, err)) return false;
    PgRun latest, fin;
    bool have_latest, have_fin;
    if (!pg_run_latest(&j->conn, o->source, j->gold_table, false, &latest, &have_latest, err))
        return false;
    if (!pg_run_latest(&j->conn, o->source, j->gold_table, true, &fin, &have_fin, err)) {
        if (have_latest) pg_run_free(&latest);
        return false;
    }
    bool model_same_fin = have_fin && strcmp(fin.model_sha256, j->model.sha256) == 0;
    if (have_latest && !latest.sync_finished && latest.shards > 0) {
        /* its shards' rows are in gold and count as unchanged; a run without --shards does
         * not take over their resume points */
        dip_info("unfinished sharded run %lld (%d shards, table version %lld) is not resumed by "
                 "a run without --shards: resume state reset",
                 (long long)latest.run_id, latest.shards, (long long)latest.version);
    } else if (have_latest && !latest.sync_finished) {
        if (latest.version == j->version && strcmp(latest.model_sha256, j->model.sha256) == 0 &&
            !(o->full && strcmp(latest.mode, "incremental") == 0)) {
            d->resume = true;
            d->resume_run_id = latest.run_id;
            d->resume_after = latest.last_file ? dip_strdup(latest.last_file) : NULL;
            d->incremental = strcmp(latest.mode, "incremental") == 0;
            d->base_version = latest.base_version;
            dip_info("resuming unfinished run %lld at table version %lld after %s",
                     (long long)latest.run_id, (long long)j->version,
                     d->resume_after ? d->resume_after : "(no file finished yet)");
            d->resume_run = latest;
            d->have_resume_run = true;
            have_latest = false;
        } else if (latest.version != j->version) {
            dip_info("table version changed from %lld to %lld since unfinished run %lld: resume "
                     "state reset",
                     (long long)latest.version, (long long)j->version, (long long)latest.run_id);
        } else {
            dip_info("unfinished run %lld used another model or mode: resume state reset",
                     (long long)latest.run_id);
        }
    }
    if (!d->resume) {
        bool synced_this_version = have_fin && fin.version == j->version && model_same_fin;
        bool ldts_current = d->max_ldts_us != INT64_MIN && d->max_ldts_us >= j->ldts_us;
        bool pending = have_latest && !latest.sync_finished;
        if (!o->force && !pending && (synced_this_version || (ldts_current && model_same_fin))) {
            d->up_to_date = true;
        } else if (o->full || !have_fin || !model_same_fin || !d->gold_has_rows ||
                   fin.version >= j->version) {
            if (!o->full && have_fin && !model_same_fin)
                dip_info("the model changed since run %lld: full sync", (long long)fin.run_id);
            else if (!o->full && have_fin && fin.version > j->version)
                dip_info("table version %lld is older than the last synced %lld: full sync",
                         (long long)j->version, (long long)fin.version);
        } else {
            d->incremental = true;
            d->base_version = fin.version;
        }
    }
    if (have_latest) pg_run_free(&latest);
    if (have_fin) pg_run_free(&fin);
    return true;
}

/* The file list of the run: the snapshot's files, or those added since base_version. */
bool sync_pg_collect_files(SyncJob *j, Decision *d, DipError *err)
{
    if (d->incremental) {
        DipError e = {0};
        if (delta_snapshot_diff_from(j->snap, j->store, d->base_version, &j->diff, &e)) {
            j->have_diff = true;
            j->files = dip_calloc(j->diff.n_added + 1, sizeof *j->files);
            j->nfiles = 0;
            size_t dv_only = 0;
            for (size_t i = 0; i < j->diff.n_added; i++) {
                /* Data files are immutable: a path live at both versions whose deletion
                 * vector only grew lost rows and gained none, so it has nothing to upsert
                 * (a DV-based UPDATE or DELETE). Its lost rows matter only to
                 * --propagate-deletes, which reads both sides of the diff. */
                const DeltaAddFile *a = &j->diff.added[i];
                bool only_lost = false;
                for (size_t k = 0; k < j->diff.n_removed && !only_lost; k++) {
                    const DeltaAddFile *r = &j->diff.removed[k];
                    if (strcmp(r->path, a->path) == 0)
                        only_lost =
                            a->has_dv && (!r->has_dv || a->dv.cardinality >= r->dv.cardinality);
                }
                if (only_lost)
                    dv_only++;
                else
                    j->files[j->nfiles++] = a;
            }
            dip_info("incremental sync from version %lld to %lld: %zu files added (%zu of them "
                     "only gained deletion-vector rows: not re-read), %zu removed",
                     (long long)d->base_version, (long long)j->version, j->diff.n_added, dv_only,
                     j->diff.n_removed);
        } else if (e.kind == DIP_ERR_INTERRUPTED) {
            *err = e;
            return false;
        } else {
            dip_warn("incremental sync from version %lld impossible (%s): full sync instead",
                     (long long)d->base_version, e.msg);
            d->incremental = false;
            d->base_version = -1;
        }
    }
    if (!d->incremental) {
        j->nfiles = delta_snapshot_num_files(j->snap);
        j->files = dip_calloc(j->nfiles + 1, sizeof *j->files);
        for (size_t i = 0; i < j->nfiles; i++)
            j->files[i] = delta_snapshot_file(j->snap, i);
    }
    qsort(j->files, j->nfiles, sizeof *j->files, cmp_file_path);
    sync_pg_files_resume_after(j, d->resume ? d->resume_after : NULL);
    return true;
}

void sync_pg_files_resume_after(SyncJob *j, const char *last_file)
{
    j->first_file = 0;
    if (last_file) {
        while (j->first_file < j->nfiles && strcmp(j->files[j->first_file]->path, last_file) <= 0)
            j->first_file++;
    }
    j->rows_expected = 0;
    for (size_t i = j->first_file; i < j->nfiles; i++) {
        if (j->files[i]->num_records < 0) {
            j->rows_expected = -1;
            break;
        }
        j->rows_expected += j->files[i]->num_records;
    }
}

/* The schema of a SCHEMA.TABLE name must exist: checked before dip's first DDL, so a run
 * refused for it leaves nothing behind. */
static bool gold_schema_check(SyncJob *j, DipError *err)
{
    const char *base = pg_table_name_base(j->gold_table);
    if (base == j->gold_table) return true;
    char *schema = dip_strndup(j->gold_table, (size_t)(base - 1 - j->gold_table));
    const char *params[1] = {schema};
    const char *t;
    PGresult *r = NULL;
    bool ok = pg_sql_get("sql/gold_schema_exists.sql", &t, err) &&
              pg_query(&j->conn, t, 1, params, &r, err);
    bool exists = ok && pg_nrows(r) == 1 && pg_value_bool(r, 0, 0);
    if (r) pg_result_free(r);
    if (ok && !exists)
        ok = dip_error_set(err, DIP_ERR_NOT_FOUND,
                           "gold table %s: schema \"%s\" does not exist in database %s (create "
                           "it first; dip creates tables, not schemas)",
                           j->gold_table, schema, j->conn.dbname);
    free(schema);
    return ok;
}

bool sync_pg_job_connect(SyncJob *j, DipError *err)
{
    return sync_pg_connect(j, err) && gold_schema_check(j, err) &&
           pg_run_ensure_table(&j->conn, err);
}

static void task_json(const SyncJob *j, const Decision *d, Buf *out)
{
    JsonWriter w;
    jw_init(&w, out);
    jw_arr_begin(&w);
    if (!d->up_to_date) {
        jw_obj_begin(&w);
        jw_key(&w, "input_delta_table");
        jw_str(&w, j->opt->source);
        jw_key(&w, "output_postgres_table");
        jw_str(&w, j->gold_table);
        jw_key(&w, "table_version");
        jw_int(&w, j->version);
        jw_key(&w, "mode");
        jw_str(&w, d->resume ? "resume" : d->incremental ? "incremental" : "full");
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
}

bool sync_pg_plan(const SyncPgOptions *o, Buf *out, DipError *err)
{
    SyncJob j;
    memset(&j, 0, sizeof j);
    Decision d;
    memset(&d, 0, sizeof d);
    bool ok = sync_pg_job_open(&j, o, err) && sync_pg_job_connect(&j, err) &&
              sync_pg_ensure_gold_table(&j, err) && sync_pg_decide(&j, &d, err);
    if (ok) {
        if (d.up_to_date)
            dip_info("%s is up to date with %s at version %lld: nothing to do", j.gold_table,
                     o->source, (long long)j.version);
        task_json(&j, &d, out);
    }
    sync_pg_decision_free(&d);
    sync_pg_job_free(&j);
    return ok;
}

bool sync_pg_finish_run(SyncJob *j, bool finished, const DipError *cause)
{
    if (!j->run_started) return true;
    if (!finished && j->run.partial_file)
        dip_warn("%s was partly loaded: %lld of its rows are committed in %s; the resume point "
                 "stays at the file before it, and the next run loads it again from its start "
                 "(committed rows count as unchanged)",
                 j->run.partial_file, (long long)j->run.partial_rows, j->gold_table);
    DipError e = {0};
    if (sync_pg_record_end(j, finished, cause ? cause->msg : NULL, &e)) return true;
    dip_warn("could not record the end of run %lld: %s", (long long)j->run.run_id, e.msg);
    return false;
}

/* A run refused before any write (gold table does not match the model, ...): recorded as an
 * unfinished run with the error, so history shows it. */
static void record_refused_run(SyncJob *j, const DipError *cause)
{
    if (!pg_is_alive(&j->conn)) return;
    PgRun r;
    memset(&r, 0, sizeof r);
    r.input = dip_strdup(j->opt->source);
    r.output = dip_strdup(j->gold_table);
    r.mode = dip_strdup("full");
    r.base_version = -1;
    r.version = j->version;
    r.ldts_us = j->ldts_us;
    r.model_sha256 = dip_strdup(j->model.sha256);
    Buf bj;
    buf_init(&bj);
    sync_pg_backend_json(j, &bj);
    DipError e = {0};
    if (pg_run_start(&j->conn, &r, buf_cstr(&bj), &e) &&
        !pg_run_finish(&j->conn, &r, false, cause->msg, &e))
        dip_warn("recording the failed run: %s", e.msg);
    buf_free(&bj);
    pg_run_free(&r);
}

/* The run row: a resumed run continues its row (taking the Decision's), otherwise a new one. */
static bool run_row_start(SyncJob *j, Decision *d, DipError *err)
{
    j->run_started = true;
    if (d->resume) {
        j->run = d->resume_run;
        d->have_resume_run = false;
        free(j->run.model_sha256);
        j->run.model_sha256 = dip_strdup(j->model.sha256);
        if (j->first_file > 0)
            dip_info("resume: %zu of %zu files already loaded", j->first_file, j->nfiles);
        return true;
    }
    memset(&j->run, 0, sizeof j->run);
    j->run.input = dip_strdup(j->opt->source);
    j->run.output = dip_strdup(j->gold_table);
    j->run.mode = dip_strdup(d->incremental ? "incremental" : "full");
    j->run.base_version = d->incremental ? d->base_version : -1;
    j->run.version = j->version;
    j->run.ldts_us = j->ldts_us;
    j->run.model_sha256 = dip_strdup(j->model.sha256);
    Buf bj;
    buf_init(&bj);
    sync_pg_backend_json(j, &bj);
    bool ok = pg_run_start(&j->conn, &j->run, buf_cstr(&bj), err);
    buf_free(&bj);
    if (!ok) j->run_started = false;
    return ok;
}

/* The load (and --propagate-deletes) with the pre-filter the gold table's state allows. */
static bool run_load(SyncJob *j, const Decision *d, DipError *err)
{
    const SyncPgOptions *o = j->opt;
    j->prefilter = !d->gold_has_rows ? PREFILTER_NONE
                   : d->incremental  ? PREFILTER_LOOKUP
                                     : PREFILTER_EXPORT;
    /* a resumed first sync: rows of the loaded files are in gold now, so the fast path may
     * meet them again only if the last file was half done: the merge fallback handles that */
    dip_info("sync-pg %s -> %s: %s sync of version %lld (%zu files%s), pre-filter %s", o->source,
             j->gold_table, j->stats->mode, (long long)j->version, j->nfiles - j->first_file,
             d->resume ? ", resumed" : "",
             j->prefilter == PREFILTER_NONE     ? "none (empty gold table: COPY straight in)"
             : j->prefilter == PREFILTER_EXPORT ? "exported (hk, hdiff)"
                                                : "per-batch hk lookup");
    j->last_checkpoint_s = dip_now_s();
    if (!sync_pg_session_setup(j, err) || !sync_pg_load_files(j, err)) return false;
    /* a first sync into an empty gold table (not resumed) holds only snapshot rows */
    if (o->propagate_deletes && !(j->prefilter == PREFILTER_NONE && !d->resume))
        return sync_pg_propagate_deletes(j, err);
    return true;
}

/* Connected, locked, gold checked, decided: false (with the run recorded when refused) or
 * true with *d set. A second run refused by the lock records nothing. */
static bool run_prepare(SyncJob *j, Decision *d, DipError *err)
{
    if (!sync_pg_job_connect(j, err) || !sync_pg_lock(j, err)) return false;
    if (sync_pg_ensure_gold_table(j, err) && sync_pg_decide(j, d, err)) return true;
    record_refused_run(j, err);
    return false;
}

bool sync_pg_run(const SyncPgOptions *o, SyncPgStats *stats, DipError *err)
{
    memset(stats, 0, sizeof *stats);
    dip_strlcpy(stats->mode, "none", sizeof stats->mode);
    double t0 = dip_now_s();
    SyncJob j;
    memset(&j, 0, sizeof j);
    j.stats = stats;
    Decision d;
    memset(&d, 0, sizeof d);
    bool ok = sync_pg_job_open(&j, o, err);
    dip_strlcpy(stats->output,
                j.gold_table ? j.gold_table
                : o->table   ? o->table
                             : "",
                sizeof stats->output);
    if (ok) {
        stats->have_version = true;
        stats->version = j.version;
        stats->ldts_us = j.ldts_us;
    }
    ok = ok && run_prepare(&j, &d, err);
    if (ok && d.up_to_date) {
        dip_info("%s is up to date with %s at version %lld (LDTS of the table <= MAX(sync_ldts) "
                 "or run already finished at this version): nothing to do",
                 j.gold_table, o->source, (long long)j.version);
        stats->up_to_date = true;
    } else if (ok && (ok = sync_pg_collect_files(&j, &d, err))) {
        dip_strlcpy(stats->mode, d.incremental ? "incremental" : "full", sizeof stats->mode);
        stats->resumed = d.resume;
        stats->files_total = j.nfiles - j.first_file;
        stats->files_skipped = j.first_file;
        ok = run_row_start(&j, &d, err) && run_load(&j, &d, err);
    }
    if (j.run_started) {
        stats->n_input = j.run.n_input_records;
        stats->n_inserted = j.run.n_inserted;
        stats->n_updated = j.run.n_updated;
        stats->n_unchanged = j.run.n_unchanged;
        stats->n_deleted = j.run.n_deleted;
        if (!sync_pg_finish_run(&j, ok, ok ? NULL : err) && ok)
            ok = dip_error_set(err, DIP_ERR_TRANSIENT, "could not mark run %lld finished",
                               (long long)j.run.run_id);
    }
    stats->seconds = dip_now_s() - t0;
    stats->peak_rss = dip_peak_rss_bytes();
    sync_pg_decision_free(&d);
    sync_pg_job_free(&j);
    return ok;
}
