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
    free(r->model_sha256);
    memset(r, 0, sizeof *r);
}

bool pg_run_ensure_table(PgConn *c, DipError *err)
{
    const char *sql;
    bool ran;
    return pg_sql_get("sql/run_table.sql", &sql, err) &&
           pg_schema_apply_text(c, "sql/run_table.sql", sql, &ran, err);
}

static int64_t i64_at(PGresult *r, int col)
{
    int64_t v = 0;
    if (!PQgetisnull(r, 0, col) && !dip_parse_i64(PQgetvalue(r, 0, col), &v)) v = 0;
    return v;
}

bool pg_run_latest(PgConn *c, const char *input, const char *output, bool finished_only, PgRun *out,
                   bool *found, DipError *err)
{
    memset(out, 0, sizeof *out);
    *found = false;
    const char *sql;
    if (!pg_sql_get("sql/run_latest.sql", &sql, err)) return false;
    const char *params[3] = {input, output, finished_only ? "t" : "f"};
    PGresult *r;
    if (!pg_query(c, sql, 3, params, &r, err)) return false;
    if (PQntuples(r) == 1) {
        *found = true;
        out->run_id = i64_at(r, 0);
        out->input = dip_strdup(input);
        out->output = dip_strdup(output);
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
    }
    PQclear(r);
    return true;
}

typedef struct {
    char v[16][48];
} NumText;

bool pg_run_start(PgConn *c, PgRun *r, const char *backend_json, DipError *err)
{
    const char *sql;
    if (!pg_sql_get("sql/run_start.sql", &sql, err)) return false;
    NumText t;
    dip_snprintf(t.v[0], 48, "%lld", (long long)r->base_version);
    dip_snprintf(t.v[1], 48, "%lld", (long long)r->n_input_records);
    dip_snprintf(t.v[2], 48, "%lld", (long long)r->n_output_records);
    dip_snprintf(t.v[3], 48, "%lld", (long long)r->n_inserted);
    dip_snprintf(t.v[4], 48, "%lld", (long long)r->n_updated);
    dip_snprintf(t.v[5], 48, "%lld", (long long)r->n_unchanged);
    dip_snprintf(t.v[6], 48, "%lld", (long long)r->n_deleted);
    dip_snprintf(t.v[7], 48, "%lld", (long long)r->version);
    dip_format_ts_us(r->ldts_us, t.v[8]);
    const char *params[15] = {r->input,
                              r->output,
                              backend_json,
                              r->mode,
                              r->base_version >= 0 ? t.v[0] : "",
                              r->model_sha256 ? r->model_sha256 : "",
                              t.v[1],
                              t.v[2],
                              t.v[3],
                              t.v[4],
                              t.v[5],
                              t.v[6],
                              t.v[7],
                              r->last_file ? r->last_file : "",
                              t.v[8]};
    PGresult *res;
    if (!pg_query(c, sql, 15, params, &res, err)) return false;
    bool ok = PQntuples(res) == 1 && dip_parse_i64(PQgetvalue(res, 0, 0), &r->run_id);
    PQclear(res);
    if (!ok) return dip_error_set(err, DIP_ERR_INTERNAL, "run_start: no run_id returned");
    return true;
}

bool pg_run_checkpoint(PgConn *c, const PgRun *r, DipError *err)
{
    const char *sql;
    if (!pg_sql_get("sql/run_checkpoint.sql", &sql, err)) return false;
    NumText t;
    dip_snprintf(t.v[0], 48, "%lld", (long long)r->run_id);
    dip_snprintf(t.v[1], 48, "%lld", (long long)r->n_input_records);
    dip_snprintf(t.v[2], 48, "%lld", (long long)r->n_output_records);
    dip_snprintf(t.v[3], 48, "%lld", (long long)r->n_inserted);
    dip_snprintf(t.v[4], 48, "%lld", (long long)r->n_updated);
    dip_snprintf(t.v[5], 48, "%lld", (long long)r->n_unchanged);
    dip_snprintf(t.v[6], 48, "%lld", (long long)r->n_deleted);
    dip_snprintf(t.v[7], 48, "%lld", (long long)r->version);
    dip_format_ts_us(r->ldts_us, t.v[8]);
    const char *params[10] = {t.v[0], t.v[1], t.v[2],
                              t.v[3], t.v[4], t.v[5],
                              t.v[6], t.v[7], r->last_file ? r->last_file : "",
                              t.v[8]};
    PGresult *res;
    if (!pg_query(c, sql, 10, params, &res, err)) return false;
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
