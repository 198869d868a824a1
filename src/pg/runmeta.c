/*
 * runmeta.c: the run metadata table dip creates (sql/run_table.sql) and its statements
 * (sql/run_*.sql). One row per run; the latest row is what resume reads (the seed's
 * SyncIntegratedPostgresMetadata.get_latest()).
 */
#include "pg/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pg_run_free(PgRun *r)
{
    free(r->input);
    free(r->output);
    free(r->mode);
    free(r->last_file);
    free(r->partial_file);
    free(r->model_sha256);
    memset(r, 0, sizeof *r);
}

static char *strdup_or_null(const char *s)
{
    return s ? dip_strdup(s) : NULL;
}

void pg_run_copy(PgRun *dst, const PgRun *src)
{
    *dst = *src;
    dst->input = strdup_or_null(src->input);
    dst->output = strdup_or_null(src->output);
    dst->mode = strdup_or_null(src->mode);
    dst->last_file = strdup_or_null(src->last_file);
    dst->partial_file = strdup_or_null(src->partial_file);
    dst->model_sha256 = strdup_or_null(src->model_sha256);
}

bool pg_run_ensure_table(PgConn *c, DipError *err)
{
    const char *sql;
    bool ran;
    /* the second file adds the columns of sharded runs to a table made before them */
    return pg_sql_get("sql/run_table.sql", &sql, err) &&
           pg_schema_apply_text(c, "sql/run_table.sql", sql, &ran, err) &&
           pg_sql_get("sql/run_table_shards.sql", &sql, err) &&
           pg_schema_apply_text(c, "sql/run_table_shards.sql", sql, &ran, err);
}

static int64_t i64_at(PGresult *r, int col)
{
    int64_t v = 0;
    if (!PQgetisnull(r, 0, col) && !dip_parse_i64(PQgetvalue(r, 0, col), &v)) v = 0;
    return v;
}

/* One row of run_latest.sql / run_get.sql / run_shard_latest.sql (same columns) into out. */
static void run_from_row(PGresult *r, PgRun *out)
{
    out->run_id = i64_at(r, 0);
    out->mode = dip_strdup(PQgetvalue(r, 0, 1));
    out->base_version = i64_at(r, 2);
    out->version = PQgetisnull(r, 0, 3) ? -1 : i64_at(r, 3);
    out->last_file = PQgetisnull(r, 0, 4) ? NULL : dip_strdup(PQgetvalue(r, 0, 4));
    out->ldts_us = i64_at(r, 5);
    out->n_input_records = i64_at(r, 6);
    out->n_output_records = i64_at(r, 7);
    out->n_inserted = i64_at(r, 8);
    out->n_updated = i64_at(r, 9);
    out->n_unchanged = i64_at(r, 10);
    out->n_deleted = i64_at(r, 11);
    out->sync_finished = PQgetvalue(r, 0, 12)[0] == 't';
    out->model_sha256 = dip_strdup(PQgetvalue(r, 0, 13));
    out->shards = (int)i64_at(r, 14);
    out->parent_run_id = i64_at(r, 15);
    out->shard = (int)i64_at(r, 16);
    out->input = dip_strdup(PQgetvalue(r, 0, 17));
    out->output = dip_strdup(PQgetvalue(r, 0, 18));
}

static bool run_query(PgConn *c, const char *file, int nparams, const char *const *params,
                      PgRun *out, bool *found, DipError *err)
{
    memset(out, 0, sizeof *out);
    *found = false;
    /* the three lookups share one column list (run_columns.sql, read by run_from_row) */
    const char *tmpl, *cols;
    if (!pg_sql_get(file, &tmpl, err) || !pg_sql_get("sql/run_columns.sql", &cols, err))
        return false;
    const char *kv[] = {"columns", cols, NULL};
    Buf sql;
    buf_init(&sql);
    PGresult *r;
    bool ok =
        pg_sql_render(tmpl, kv, &sql, err) && pg_query(c, buf_cstr(&sql), nparams, params, &r, err);
    buf_free(&sql);
    if (!ok) return false;
    if (PQntuples(r) == 1) {
        *found = true;
        run_from_row(r, out);
    }
    PQclear(r);
    return true;
}

bool pg_run_latest(PgConn *c, const char *input, const char *output, bool finished_only, PgRun *out,
                   bool *found, DipError *err)
{
    const char *params[3] = {input, output, finished_only ? "t" : "f"};
    return run_query(c, "sql/run_latest.sql", 3, params, out, found, err);
}

bool pg_run_get(PgConn *c, int64_t run_id, PgRun *out, bool *found, DipError *err)
{
    char id[24];
    dip_snprintf(id, sizeof id, "%lld", (long long)run_id);
    const char *params[1] = {id};
    return run_query(c, "sql/run_get.sql", 1, params, out, found, err);
}

bool pg_run_shard_latest(PgConn *c, int64_t parent, int shard, PgRun *out, bool *found,
                         DipError *err)
{
    char id[24], sh[16];
    dip_snprintf(id, sizeof id, "%lld", (long long)parent);
    dip_snprintf(sh, sizeof sh, "%d", shard);
    const char *params[2] = {id, sh};
    return run_query(c, "sql/run_shard_latest.sql", 2, params, out, found, err);
}

/* The run's numbers as text parameters: counters, version, LDTS and partial rows. */
typedef struct RunText {
    char base_version[24], run_id[24], n_input[24], n_output[24], n_inserted[24], n_updated[24],
        n_unchanged[24], n_deleted[24], version[24], partial_rows[24], parent[24], shard[16],
        shards[16];
    char ldts[40];
} RunText;

static void run_text(const PgRun *r, RunText *t)
{
#define RUN_NUM(field, value) dip_snprintf(t->field, sizeof t->field, "%lld", (long long)(value))
    RUN_NUM(base_version, r->base_version);
    RUN_NUM(run_id, r->run_id);
    RUN_NUM(n_input, r->n_input_records);
    RUN_NUM(n_output, r->n_output_records);
    RUN_NUM(n_inserted, r->n_inserted);
    RUN_NUM(n_updated, r->n_updated);
    RUN_NUM(n_unchanged, r->n_unchanged);
    RUN_NUM(n_deleted, r->n_deleted);
    RUN_NUM(version, r->version);
    RUN_NUM(partial_rows, r->partial_rows);
#undef RUN_NUM
    t->parent[0] = t->shard[0] = t->shards[0] = '\0';
    if (r->parent_run_id > 0) {
        dip_snprintf(t->parent, sizeof t->parent, "%lld", (long long)r->parent_run_id);
        dip_snprintf(t->shard, sizeof t->shard, "%d", r->shard);
    }
    if (r->shards > 0) dip_snprintf(t->shards, sizeof t->shards, "%d", r->shards);
    dip_format_ts_us(r->ldts_us, t->ldts);
}

bool pg_run_start(PgConn *c, PgRun *r, const char *backend_json, DipError *err)
{
    const char *sql;
    if (!pg_sql_get("sql/run_start.sql", &sql, err)) return false;
    RunText t;
    run_text(r, &t);
    const char *params[18] = {r->input,
                              r->output,
                              backend_json,
                              r->mode,
                              r->base_version >= 0 ? t.base_version : "",
                              r->model_sha256 ? r->model_sha256 : "",
                              t.n_input,
                              t.n_output,
                              t.n_inserted,
                              t.n_updated,
                              t.n_unchanged,
                              t.n_deleted,
                              t.version,
                              r->last_file ? r->last_file : "",
                              t.ldts,
                              t.parent,
                              t.shard,
                              t.shards};
    PGresult *res;
    if (!pg_query(c, sql, 18, params, &res, err)) return false;
    bool ok = PQntuples(res) == 1 && dip_parse_i64(PQgetvalue(res, 0, 0), &r->run_id);
    PQclear(res);
    if (!ok) return dip_error_set(err, DIP_ERR_INTERNAL, "run_start: no run_id returned");
    return true;
}

bool pg_run_checkpoint(PgConn *c, const PgRun *r, DipError *err)
{
    const char *sql;
    if (!pg_sql_get("sql/run_checkpoint.sql", &sql, err)) return false;
    RunText t;
    run_text(r, &t);
    const char *params[12] = {t.run_id,
                              t.n_input,
                              t.n_output,
                              t.n_inserted,
                              t.n_updated,
                              t.n_unchanged,
                              t.n_deleted,
                              t.version,
                              r->last_file ? r->last_file : "",
                              t.ldts,
                              r->partial_file ? r->partial_file : "",
                              t.partial_rows};
    PGresult *res;
    if (!pg_query(c, sql, 12, params, &res, err)) return false;
    PQclear(res);
    return true;
}

bool pg_run_finish(PgConn *c, const PgRun *r, bool finished, const char *error_text, DipError *err)
{
    const char *sql;
    if (!pg_sql_get("sql/run_finish.sql", &sql, err)) return false;
    char id[32];
    dip_snprintf(id, sizeof id, "%lld", (long long)r->run_id);
    const char *params[3] = {id, finished ? "t" : "f", error_text ? error_text : ""};
    PGresult *res;
    if (!pg_query(c, sql, 3, params, &res, err)) return false;
    PQclear(res);
    return true;
}
