/*
 * sync_es.c: `dip sync-es` (issue 10): configuration, --validate, --bootstrap, --once,
 * --reindex and --teardown for each document of a PGSync schema.json.
 *
 * Objects dip owns, per index alias INDEX of the schema (names derived from it):
 * - publication dip_INDEX over every table of the tree (through and base tables included);
 * - logical slot dip_INDEX_vN (pgoutput), one per index version N;
 * - the index INDEX_vN behind alias INDEX;
 * - rows in the state tables (sql/sync_es_state.sql, schema DIP_STATE_SCHEMA or "dip").
 * The state row is written last by a bootstrap: a slot, publication or index that exists
 * without a state row naming it belongs to something else, and bootstrap refuses it before
 * creating anything. When a step of a bootstrap fails, what the run created is dropped again.
 *
 * One run per alias at a time: a session advisory lock on the state connection.
 */
#include "jobs/sync_es_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

bool sync_es_sql(EsJob *j, const char *name, Buf *out, DipError *err)
{
    const char *tmpl;
    if (!pg_sql_get(name, &tmpl, err)) return false;
    buf_clear(out);
    const char *kv[] = {"schema", j->state_schema, NULL};
    return pg_sql_render(tmpl, kv, out, err);
}

bool sync_es_parse_lsn(const char *s, uint64_t *out)
{
    const char *slash = strchr(s, '/');
    if (!slash) return false;
    char *end;
    unsigned long long hi = strtoull(s, &end, 16);
    if (end != slash) return false;
    unsigned long long lo = strtoull(slash + 1, &end, 16);
    if (*end || hi > 0xffffffffull || lo > 0xffffffffull) return false;
    *out = (uint64_t)hi << 32 | (uint64_t)lo;
    return true;
}

static bool query_sql(EsJob *j, const char *name, int n, const char *const *params, PGresult **r,
                      DipError *err)
{
    Buf sql;
    buf_init(&sql);
    bool ok =
        sync_es_sql(j, name, &sql, err) && pg_query(&j->pg, buf_cstr(&sql), n, params, r, err);
    buf_free(&sql);
    return ok;
}

static bool exec_sql(EsJob *j, const char *name, int n, const char *const *params, DipError *err)
{
    PGresult *r;
    if (!query_sql(j, name, n, params, &r, err)) return false;
    PQclear(r);
    return true;
}

static void append_conn_kv(Buf *b, const char *key, const char *val)
{
    if (!val || !*val) return;
    buf_printf(b, " %s='", key);
    for (const char *p = val; *p; p++) {
        if (*p == '\'' || *p == '\\') buf_append_byte(b, '\\');
        buf_append_byte(b, (uint8_t)*p);
    }
    buf_append_byte(b, '\'');
}

/* DIP_PG_CONNINFO (keyword=value form), then PGSync's PG_* names, then the document's
 * database; libpq's own PG* variables fill whatever is still unset. Later keywords win. */
static char *make_conninfo(const char *database, bool replication)
{
    Buf b;
    buf_init(&b);
    const char *base = getenv("DIP_PG_CONNINFO");
    if (base) buf_append_str(&b, base);
    append_conn_kv(&b, "host", getenv("PG_HOST"));
    append_conn_kv(&b, "port", getenv("PG_PORT"));
    append_conn_kv(&b, "user", getenv("PG_USER"));
    append_conn_kv(&b, "password", getenv("PG_PASSWORD"));
    append_conn_kv(&b, "sslmode", getenv("PG_SSLMODE"));
    append_conn_kv(&b, "sslrootcert", getenv("PG_SSLROOTCERT"));
    append_conn_kv(&b, "dbname", database);
    if (replication) append_conn_kv(&b, "replication", "database");
    char *s = dip_strdup(buf_cstr(&b));
    buf_free(&b);
    return s;
}

char *sync_es_conninfo(EsJob *j, bool replication)
{
    return make_conninfo(j->d->database, replication);
}

bool sync_es_connect(EsJob *j, PgConn *c, bool replication, DipError *err)
{
    PgSettings s = j->pgs;
    char *ci = make_conninfo(j->d->database, replication);
    s.conninfo = ci;
    bool ok = pg_connect_retry(c, &s, err);
    free(ci);
    return ok;
}

/* Lower-case letters, digits and '_' only: slot names allow nothing else. */
static void object_name(char *out, size_t cap, const char *prefix, const char *index)
{
    size_t n = 0;
    for (const char *p = prefix; *p && n + 1 < cap; p++)
        out[n++] = *p;
    for (const char *p = index; *p && n + 1 < cap; p++) {
        char c = (char)tolower((unsigned char)*p);
        out[n++] = (isalnum((unsigned char)c) ? c : '_');
    }
    out[n] = '\0';
}

static void quote_ident_into(char *out, size_t cap, const char *name)
{
    Buf b;
    buf_init(&b);
    buf_append_byte(&b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"') buf_append_byte(&b, '"');
        buf_append_byte(&b, (uint8_t)*p);
    }
    buf_append_byte(&b, '"');
    dip_strlcpy(out, buf_cstr(&b), cap);
    buf_free(&b);
}

static void state_free(EsState *s)
{
    free(s->publication);
    free(s->slot);
    free(s->index_name);
    free(s->lsn);
    free(s->next_index);
    free(s->next_slot);
    free(s->next_lsn);
    memset(s, 0, sizeof *s);
}

static char *opt_str(PGresult *r, int col)
{
    return PQgetisnull(r, 0, col) ? NULL : dip_strdup(PQgetvalue(r, 0, col));
}

static bool state_get(EsJob *j, EsState *s, DipError *err)
{
    memset(s, 0, sizeof *s);
    const char *params[1] = {j->d->index};
    PGresult *r;
    if (!query_sql(j, "sql/sync_es_state_get.sql", 1, params, &r, err)) return false;
    if (PQntuples(r) == 1) {
        s->found = true;
        if (strcmp(PQgetvalue(r, 0, 0), j->d->database) != 0) {
            dip_error_set(err, DIP_ERR_CONFIG,
                          "index %s: state says database %s, schema.json says %s", j->d->index,
                          PQgetvalue(r, 0, 0), j->d->database);
            PQclear(r);
            return false;
        }
        s->publication = opt_str(r, 1);
        s->slot = opt_str(r, 2);
        s->index_name = opt_str(r, 3);
        int64_t v = 0;
        (void)dip_parse_i64(PQgetvalue(r, 0, 4), &v);
        s->version = (int)v;
        s->lsn = opt_str(r, 5);
        s->load_done = strcmp(PQgetvalue(r, 0, 6), "true") == 0;
        s->next_index = opt_str(r, 7);
        v = 0;
        if (!PQgetisnull(r, 0, 8)) (void)dip_parse_i64(PQgetvalue(r, 0, 8), &v);
        s->next_version = (int)v;
        s->next_slot = opt_str(r, 9);
        s->next_lsn = opt_str(r, 10);
        s->ready = strcmp(PQgetvalue(r, 0, 11), "true") == 0;
    }
    PQclear(r);
    return true;
}

/* Undo steps after a failure: the first error stays the one reported; an undo that fails
 * too is logged, naming what is left behind. */
static void undo_exec(PgConn *c, const char *sql)
{
    DipError e = {0};
    if (!pg_exec(c, sql, &e)) dip_warn("undo: %s: %s", sql, e.msg);
}

static void undo_publication(EsJob *j)
{
    Buf drop;
    buf_init(&drop);
    buf_printf(&drop, "DROP PUBLICATION IF EXISTS \"%s\"", j->publication);
    undo_exec(&j->pg, buf_cstr(&drop));
    buf_free(&drop);
}

static void undo_index(EsJob *j, const char *index)
{
    DipError e = {0};
    if (!es_index_delete(j->es, index, &e))
        dip_warn("undo: index %s left behind: %s", index, e.msg);
}

/* ---------------------------------------------------------------- server and ownership */

static bool server_check(EsJob *j, Buf *report, DipError *err)
{
    PGresult *r;
    if (!query_sql(j, "sql/sync_es_server_check.sql", 0, NULL, &r, err)) return false;
    bool ok = true;
    const char *wal = PQgetvalue(r, 0, 0);
    if (strcmp(wal, "logical") != 0) {
        ok = dip_error_set(err, DIP_ERR_CONFIG,
                           "postgresql %s:%s: wal_level is '%s'; sync-es needs a logical "
                           "replication slot: ALTER SYSTEM SET wal_level = logical, then restart",
                           j->pg.host, j->pg.port, wal);
    } else if (strcmp(PQgetvalue(r, 0, 1), "t") != 0) {
        ok = dip_error_set(err, DIP_ERR_CONFIG,
                           "postgresql %s:%s: role \"%s\" may not create replication slots "
                           "(neither REPLICATION nor superuser): ALTER ROLE \"%s\" REPLICATION",
                           j->pg.host, j->pg.port, PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 2));
    }
    if (report)
        buf_printf(report, "server: wal_level %s, role %s %s replication\n", wal,
                   PQgetvalue(r, 0, 2),
                   strcmp(PQgetvalue(r, 0, 1), "t") == 0 ? "may use" : "may NOT use");
    PQclear(r);
    return ok;
}

/* The slot's row: *exists, and whether it is a pgoutput slot of this database. */
static bool slot_lookup(EsJob *j, const char *name, bool *exists, bool *fits, bool *active,
                        DipError *err)
{
    const char *params[1] = {name};
    PGresult *r;
    if (!query_sql(j, "sql/sync_es_slot_get.sql", 1, params, &r, err)) return false;
    *exists = PQntuples(r) == 1;
    *fits = *exists && strcmp(PQgetvalue(r, 0, 0), "pgoutput") == 0 &&
            strcmp(PQgetvalue(r, 0, 1), j->d->database) == 0 &&
            strcmp(PQgetvalue(r, 0, 2), "logical") == 0;
    if (active) *active = *exists && strcmp(PQgetvalue(r, 0, 4), "true") == 0;
    PQclear(r);
    return true;
}

static bool publication_exists(EsJob *j, bool *exists, DipError *err)
{
    const char *params[1] = {j->publication};
    PGresult *r;
    if (!query_sql(j, "sql/sync_es_publication_tables.sql", 1, params, &r, err)) return false;
    *exists = PQntuples(r) > 0;
    PQclear(r);
    return true;
}

/* Tables of the tree missing from the existing publication (the schema gained a node since
 * the bootstrap): added when add is set (--reindex, which rebuilds everything anyway), else
 * reported as a warning. */
static bool publication_sync(EsJob *j, bool add, DipError *err)
{
    const char *params[1] = {j->publication};
    PGresult *r;
    if (!query_sql(j, "sql/sync_es_publication_tables.sql", 1, params, &r, err)) return false;
    const DocsTable **tables = NULL;
    size_t n = docs_schema_publication_tables(j->d, &tables);
    bool ok = true;
    Buf name;
    buf_init(&name);
    for (size_t i = 0; ok && i < n; i++) {
        buf_clear(&name);
        pg_quote_name(tables[i]->schema, &name);
        buf_append_byte(&name, '.');
        pg_quote_name(tables[i]->name, &name);
        bool have = false;
        for (int row = 0; row < PQntuples(r) && !have; row++)
            have = !PQgetisnull(r, row, 1) &&
                   strcmp(PQgetvalue(r, row, 1), tables[i]->schema) == 0 &&
                   strcmp(PQgetvalue(r, row, 2), tables[i]->name) == 0;
        if (have) continue;
        if (!add) {
            dip_warn("publication %s lacks %s (the schema changed since the bootstrap): run "
                     "--reindex",
                     j->publication, buf_cstr(&name));
            continue;
        }
        Buf sql;
        buf_init(&sql);
        buf_printf(&sql, "ALTER PUBLICATION \"%s\" ADD TABLE %s", j->publication, buf_cstr(&name));
        ok = pg_exec(&j->pg, buf_cstr(&sql), err);
        buf_free(&sql);
        if (ok) dip_info("publication %s: %s added", j->publication, buf_cstr(&name));
    }
    buf_free(&name);
    free(tables);
    PQclear(r);
    return ok;
}

/* Whether `name` is an alias (and of which indices, as the JSON body) and whether it is a
 * concrete index. */
static bool es_name_state(EsJob *j, const char *name, bool *is_alias, bool *is_index, DipError *err)
{
    Buf path;
    buf_init(&path);
    buf_printf(&path, "/_alias/%s", name);
    EsResponse resp;
    es_response_init(&resp);
    bool ok = es_request(j->es, "GET", buf_cstr(&path), NULL, 0, &resp, err);
    buf_free(&path);
    if (!ok) {
        es_response_free(&resp);
        return false;
    }
    *is_alias = resp.status == 200;
    es_response_free(&resp);
    *is_index = false;
    if (!*is_alias) return es_index_exists(j->es, name, is_index, err);
    return true;
}

/* ---------------------------------------------------------------- slots */

bool sync_es_slot_create(EsJob *j, const char *name, bool temporary, EsSlot *s, DipError *err)
{
    memset(s, 0, sizeof *s);
    dip_strlcpy(s->name, name, sizeof s->name);
    if (!sync_es_connect(j, &s->repl.pc, true, err)) return false;
    PgReplSlot ps;
    if (!pgrepl_slot_create(&s->repl, name, temporary, &ps, err)) {
        pgrepl_close(&s->repl);
        return false;
    }
    char lsn[24];
    pgrepl_lsn_format(ps.consistent_point, lsn);
    dip_strlcpy(s->lsn, lsn, sizeof s->lsn);
    dip_strlcpy(s->snapshot, ps.snapshot_name, sizeof s->snapshot);
    dip_info("slot %s%s created at %s, snapshot %s exported", name, temporary ? " (temporary)" : "",
             s->lsn, s->snapshot);
    return true;
}

void sync_es_slot_close(EsSlot *s)
{
    if (s->repl.pc.conn) pgrepl_close(&s->repl);
}

static bool slot_drop(EsJob *j, const char *name, DipError *err)
{
    bool exists, fits, active = true;
    /* a run killed a moment ago may still have its walsender on the slot: the backend goes
     * when it notices its client is gone; wait for that, up to the connection timeout */
    double until = dip_now_s() + j->pgs.connect_timeout_s;
    for (;;) {
        if (!slot_lookup(j, name, &exists, &fits, &active, err)) return false;
        if (!exists) return true;
        if (!active) break;
        if (dip_now_s() >= until || !dip_sleep_interruptible(0.2))
            return dip_error_set(err, DIP_ERR_TRANSIENT, "slot %s is in use by another process",
                                 name);
    }
    const char *params[1] = {name};
    PGresult *r;
    if (!pg_query(&j->pg, "SELECT pg_drop_replication_slot($1)", 1, params, &r, err)) return false;
    PQclear(r);
    dip_info("slot %s dropped", name);
    return true;
}

static void undo_slot(EsJob *j, const char *name)
{
    DipError e = {0};
    if (!slot_drop(j, name, &e)) dip_warn("undo: slot %s left behind: %s", name, e.msg);
}

/* Slots dip_INDEX_vK and indices INDEX_vK that a finished --reindex left behind when it was
 * stopped between the alias swap and the drops. */
static bool drop_stale(EsJob *j, const EsState *st, DipError *err)
{
    for (int v = 1; v < st->version; v++) {
        char name[96];
        dip_snprintf(name, sizeof name, "%s_v%d", j->slot_base, v);
        if (!slot_drop(j, name, err)) return false;
        char idx[512];
        dip_snprintf(idx, sizeof idx, "%s_v%d", j->d->index, v);
        bool exists = false;
        if (!es_index_exists(j->es, idx, &exists, err)) return false;
        if (exists) {
            if (!es_index_delete(j->es, idx, err)) return false;
            dip_info("index %s (replaced by %s) deleted", idx, st->index_name);
        }
    }
    return true;
}

/* ---------------------------------------------------------------- runs */

static bool run_start(EsJob *j, const char *action, const char *index_name, DipError *err)
{
    char workers[16];
    dip_snprintf(workers, sizeof workers, "%d", j->workers);
    const char *params[4] = {j->d->index, index_name, action, workers};
    PGresult *r;
    if (!query_sql(j, "sql/sync_es_run_start.sql", 4, params, &r, err)) return false;
    (void)dip_parse_i64(PQgetvalue(r, 0, 0), &j->run_id);
    PQclear(r);
    return true;
}

static void run_finish(EsJob *j, bool ok, const char *index_name, const DipError *failure)
{
    if (j->run_id <= 0 || !pg_is_alive(&j->pg)) return;
    char id[24], docs[24], bytes[24], errors[24], ranges[24], sql_s[32], render_s[32];
    dip_snprintf(id, sizeof id, "%" PRId64, j->run_id);
    dip_snprintf(docs, sizeof docs, "%" PRId64, j->docs);
    dip_snprintf(bytes, sizeof bytes, "%" PRId64, j->bytes);
    dip_snprintf(errors, sizeof errors, "%" PRId64, j->errors);
    dip_snprintf(ranges, sizeof ranges, "%" PRId64, j->ranges_done);
    dip_snprintf(sql_s, sizeof sql_s, "%.3f", j->sql_s);
    dip_snprintf(render_s, sizeof render_s, "%.3f", j->render_s);
    const char *params[10] = {
        id,       ok ? "done" : "failed",   docs,      bytes, errors, ranges, sql_s,
        render_s, ok ? NULL : failure->msg, index_name};
    DipError e2 = {0};
    if (!exec_sql(j, "sql/sync_es_run_finish.sql", 10, params, &e2))
        dip_warn("recording the end of run %s: %s", id, e2.msg);
}

/* ---------------------------------------------------------------- bootstrap */

/* The index-create body: the schema's settings/mappings, and the alias when given. */
static bool index_body(EsJob *j, const char *alias, char **out, DipError *err)
{
    json_t *body = NULL;
    if (!docs_mapping_build(j->d, &body, err)) return false;
    if (!body) body = json_object();
    if (alias) {
        json_t *aliases = json_object();
        json_object_set_new(aliases, alias, json_object());
        json_object_set_new(body, "aliases", aliases);
    }
    *out = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return *out != NULL || dip_error_set(err, DIP_ERR_INTERNAL, "index body: out of memory");
}

/* The publication and the REPLICA IDENTITY changes, in one transaction. */
static bool publication_create(EsJob *j, DipError *err)
{
    const DocsTable **tables = NULL;
    size_t n = docs_schema_publication_tables(j->d, &tables);
    Buf sql;
    buf_init(&sql);
    buf_printf(&sql, "BEGIN; CREATE PUBLICATION \"%s\" FOR TABLE ", j->publication);
    for (size_t i = 0; i < n; i++) {
        if (i) buf_append_str(&sql, ", ");
        pg_quote_name(tables[i]->schema, &sql);
        buf_append_byte(&sql, '.');
        pg_quote_name(tables[i]->name, &sql);
    }
    buf_append_str(&sql, ";");
    for (size_t i = 0; i < n; i++) {
        if (!tables[i]->needs_full || tables[i]->replident == 'f') continue;
        buf_append_str(&sql, " ALTER TABLE ");
        pg_quote_name(tables[i]->schema, &sql);
        buf_append_byte(&sql, '.');
        pg_quote_name(tables[i]->name, &sql);
        buf_append_str(&sql, " REPLICA IDENTITY FULL;");
        dip_info("table %s.%s: REPLICA IDENTITY FULL (the stream needs old values of its "
                 "non-key columns)",
                 tables[i]->schema, tables[i]->name);
    }
    buf_append_str(&sql, " COMMIT");
    bool ok = n > 0 ? pg_exec(&j->pg, buf_cstr(&sql), err)
                    : dip_error_set(err, DIP_ERR_CONFIG, "%s: no table to publish", j->d->path);
    if (!ok) undo_exec(&j->pg, "ROLLBACK");
    buf_free(&sql);
    free(tables);
    if (ok) dip_info("publication %s created over %zu tables", j->publication, n);
    return ok;
}

/* A state row that never became ready belongs to a bootstrap that was killed half way: what
 * it created is dip's; drop it and forget the row, so this bootstrap starts clean. */
static bool bootstrap_abandoned(EsJob *j, EsState *st, DipError *err)
{
    dip_warn("index %s: a bootstrap was interrupted; dropping what it created", j->d->index);
    if (!slot_drop(j, st->slot, err)) return false;
    Buf sql;
    buf_init(&sql);
    buf_printf(&sql, "DROP PUBLICATION IF EXISTS \"%s\"", j->publication);
    bool ok = pg_exec(&j->pg, buf_cstr(&sql), err);
    buf_free(&sql);
    bool exists = false;
    if (ok) ok = es_index_exists(j->es, st->index_name, &exists, err);
    if (ok && exists) ok = es_index_delete(j->es, st->index_name, err);
    const char *params[1] = {j->d->index};
    if (ok) ok = exec_sql(j, "sql/sync_es_state_forget.sql", 1, params, err);
    if (ok) state_free(st);
    return ok;
}

/* Creates everything for a new alias, or checks what a previous bootstrap made. With keep
 * non-NULL and a new slot, the slot's replication connection stays open in *keep so the
 * caller can load from its exported snapshot. */
static bool bootstrap(EsJob *j, EsState *st, EsSlot *keep, bool *created, DipError *err)
{
    *created = false;
    const char *alias = j->d->index;
    if (st->found) {
        bool exists, fits, pub;
        if (!slot_lookup(j, st->slot, &exists, &fits, NULL, err)) return false;
        if (!exists)
            return dip_error_set(err, DIP_ERR_NOT_FOUND,
                                 "index %s: slot %s recorded in %s.sync_es_state is gone: changes "
                                 "since were lost; run --reindex to rebuild from a new slot",
                                 alias, st->slot, j->state_schema);
        if (!publication_exists(j, &pub, err)) return false;
        if (!pub)
            return dip_error_set(err, DIP_ERR_NOT_FOUND,
                                 "index %s: publication %s is gone; run --teardown then "
                                 "--bootstrap",
                                 alias, j->publication);
        if (!publication_sync(j, false, err)) return false;
        bool idx = false;
        if (!es_index_exists(j->es, st->index_name, &idx, err)) return false;
        if (!idx)
            return dip_error_set(err, DIP_ERR_NOT_FOUND,
                                 "index %s: %s recorded in the state is missing in the search "
                                 "engine; run --reindex",
                                 alias, st->index_name);
        dip_info("index %s: already bootstrapped (slot %s, index %s, load %s); nothing changed",
                 alias, st->slot, st->index_name, st->load_done ? "complete" : "pending");
        return true;
    }
    if (!server_check(j, NULL, err)) return false;
    char slot[96], index_name[512];
    dip_snprintf(slot, sizeof slot, "%s_v1", j->slot_base);
    dip_snprintf(index_name, sizeof index_name, "%s_v1", alias);
    /* everything that could be in the way is checked before anything is created */
    bool exists, fits, pub, is_alias, is_index;
    if (!slot_lookup(j, slot, &exists, &fits, NULL, err)) return false;
    if (exists)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "replication slot %s already exists and no dip state names it: it "
                             "belongs to something else (drop it, or use another index name)",
                             slot);
    if (!publication_exists(j, &pub, err)) return false;
    if (pub)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "publication %s already exists and no dip state names it: it "
                             "belongs to something else (drop it, or use another index name)",
                             j->publication);
    if (!es_name_state(j, alias, &is_alias, &is_index, err)) return false;
    if (is_alias || is_index)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "%s %s already exists in the search engine and no dip state names "
                             "it: it belongs to something else (PGSync?); delete it or choose "
                             "another index name",
                             is_alias ? "alias" : "index", alias);
    if (!es_index_exists(j->es, index_name, &is_index, err)) return false;
    if (is_index)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "index %s already exists and no dip state names it: it belongs to "
                             "something else",
                             index_name);
    /* create, undoing on failure: the state row first, so a bootstrap killed half way
     * leaves objects known to be dip's (bootstrap_abandoned) */
    const char *params[5] = {alias, j->d->database, j->publication, slot, index_name};
    if (!exec_sql(j, "sql/sync_es_state_insert.sql", 5, params, err)) return false;
    bool ok = publication_create(j, err);
    char *body = NULL;
    bool have_index = false;
    if (ok) ok = index_body(j, alias, &body, err) && es_index_create(j->es, index_name, body, err);
    free(body);
    have_index = ok;
    if (ok) dip_info("index %s created behind alias %s", index_name, alias);
    EsSlot s = {0};
    bool have_slot = ok && sync_es_slot_create(j, slot, false, &s, err);
    ok = have_slot;
    if (ok) {
        const char *ready[2] = {alias, s.lsn};
        ok = exec_sql(j, "sql/sync_es_state_ready.sql", 2, ready, err);
    }
    if (!ok) {
        sync_es_slot_close(&s);
        if (have_slot) undo_slot(j, slot);
        if (have_index) undo_index(j, index_name);
        undo_publication(j);
        DipError e2 = {0};
        const char *forget[1] = {alias};
        if (!exec_sql(j, "sql/sync_es_state_forget.sql", 1, forget, &e2))
            dip_warn("undo: state row of %s left behind: %s", alias, e2.msg);
        return false;
    }
    *created = true;
    if (keep)
        *keep = s;
    else
        sync_es_slot_close(&s);
    state_free(st);
    return state_get(j, st, err);
}

/* ---------------------------------------------------------------- actions */

static bool action_once(EsJob *j, EsState *st, DipError *err)
{
    EsSlot slot = {0};
    bool created = false;
    if (!st->found) {
        if (!bootstrap(j, st, &slot, &created, err)) return false;
    }
    if (!run_start(j, j->o->action == SYNC_ES_DAEMON ? "daemon" : "once", st->index_name, err)) {
        sync_es_slot_close(&slot);
        return false;
    }
    bool ok = true;
    if (!st->load_done) {
        sync_es_metrics_phase(j->metrics, SYNC_ES_PHASE_LOADING);
        /* the exported snapshot exists only while the slot's connection is open */
        ok = sync_es_load(j, st->index_name, created ? slot.snapshot : NULL,
                          created ? slot.lsn : NULL, err);
        sync_es_slot_close(&slot);
        if (ok) {
            const char *params[1] = {j->d->index};
            ok = exec_sql(j, "sql/sync_es_state_load_done.sql", 1, params, err);
        }
        if (ok)
            dip_info("index %s: initial load complete (%" PRId64 " documents)", st->index_name,
                     j->docs);
    }
    /* then the change stream, from the slot's confirmed position (sync_es_stream.c) */
    if (ok) ok = sync_es_stream(j, st->slot, st->index_name, j->o->action == SYNC_ES_DAEMON, err);
    /* --once returns with what it wrote searchable, not a refresh interval later: a cron job,
     * a DAG or a test that queries the index next sees every document */
    if (ok && j->o->action != SYNC_ES_DAEMON) ok = es_index_refresh(j->es, st->index_name, err);
    if (ok && st->next_index)
        dip_warn("index %s: a --reindex into %s is unfinished; run --reindex to complete it",
                 j->d->index, st->next_index);
    return ok;
}

static bool action_reindex(EsJob *j, EsState *st, DipError *err)
{
    if (!st->found)
        return dip_error_set(err, DIP_ERR_CONFIG, "index %s: not bootstrapped; run --bootstrap",
                             j->d->index);
    EsSlot slot = {0};
    bool fresh = false;
    /* before the new slot exists, so its stream carries every table of the tree */
    if (!publication_sync(j, true, err)) return false;
    if (!st->next_index) {
        int version = st->version + 1;
        char next_slot[96], next_index[512], vtext[16];
        dip_snprintf(next_slot, sizeof next_slot, "%s_v%d", j->slot_base, version);
        dip_snprintf(next_index, sizeof next_index, "%s_v%d", j->d->index, version);
        dip_snprintf(vtext, sizeof vtext, "%d", version);
        bool exists, fits, is_index;
        if (!slot_lookup(j, next_slot, &exists, &fits, NULL, err)) return false;
        if (exists)
            return dip_error_set(err, DIP_ERR_CONFIG,
                                 "replication slot %s already exists and no dip state names it",
                                 next_slot);
        if (!es_index_exists(j->es, next_index, &is_index, err)) return false;
        if (is_index)
            return dip_error_set(err, DIP_ERR_CONFIG,
                                 "index %s already exists and no dip state names it", next_index);
        char *body = NULL;
        bool ok = index_body(j, NULL, &body, err) && es_index_create(j->es, next_index, body, err);
        free(body);
        if (!ok) return false;
        if (!sync_es_slot_create(j, next_slot, false, &slot, err)) {
            undo_index(j, next_index);
            return false;
        }
        const char *params[5] = {j->d->index, next_index, vtext, next_slot, slot.lsn};
        if (!exec_sql(j, "sql/sync_es_state_reindex_begin.sql", 5, params, err)) {
            sync_es_slot_close(&slot);
            undo_slot(j, next_slot);
            undo_index(j, next_index);
            return false;
        }
        fresh = true;
        state_free(st);
        if (!state_get(j, st, err)) {
            sync_es_slot_close(&slot);
            return false;
        }
        dip_info("reindex: building %s from slot %s while %s keeps serving", st->next_index,
                 st->next_slot, st->index_name);
    }
    if (!run_start(j, "reindex", st->next_index, err)) {
        sync_es_slot_close(&slot);
        return false;
    }
    bool ok =
        sync_es_load(j, st->next_index, fresh ? slot.snapshot : NULL, fresh ? slot.lsn : NULL, err);
    sync_es_slot_close(&slot);
    if (!ok) return false;
    /* what was committed after the load's snapshot is in the new slot: applied to the new
     * index before the alias moves, so readers never see it step back */
    if (!sync_es_stream(j, st->next_slot, st->next_index, false, err)) return false;
    /* searchable in full before readers are moved to it */
    if (!es_index_refresh(j->es, st->next_index, err)) return false;
    if (!es_alias_swap(j->es, j->d->index, st->next_index, err)) return false;
    dip_info("alias %s now points at %s", j->d->index, st->next_index);
    const char *params[1] = {j->d->index};
    if (!exec_sql(j, "sql/sync_es_state_reindex_finish.sql", 1, params, err)) return false;
    char *old_slot = dip_strdup(st->slot);
    char *old_index = dip_strdup(st->index_name);
    state_free(st);
    ok = state_get(j, st, err) && slot_drop(j, old_slot, err);
    if (ok) {
        ok = es_index_delete(j->es, old_index, err);
        if (ok) dip_info("index %s deleted", old_index);
    }
    free(old_slot);
    free(old_index);
    return ok;
}

static bool action_teardown(EsJob *j, EsState *st, DipError *err)
{
    if (!st->found) {
        dip_info("index %s: no dip state; nothing to tear down (objects of the same names that "
                 "exist belong to something else and are left alone)",
                 j->d->index);
        return true;
    }
    if (!run_start(j, "teardown", st->index_name, err)) return false;
    if (!slot_drop(j, st->slot, err)) return false;
    if (st->next_slot && !slot_drop(j, st->next_slot, err)) return false;
    Buf sql;
    buf_init(&sql);
    buf_printf(&sql, "DROP PUBLICATION IF EXISTS \"%s\"", j->publication);
    bool ok = pg_exec(&j->pg, buf_cstr(&sql), err);
    buf_free(&sql);
    if (!ok) return false;
    const char *params[1] = {j->d->index};
    if (!exec_sql(j, "sql/sync_es_state_delete.sql", 1, params, err)) return false;
    dip_info("index %s: slot, publication and state dropped; the index %s is kept", j->d->index,
             st->index_name);
    return true;
}

static bool action_validate(EsJob *j, EsState *st, DipError *err)
{
    Buf out;
    buf_init(&out);
    DipError problem = {0};
    bool fine = server_check(j, &out, &problem);
    docs_schema_plan_text(j->d, &out);
    DocsBuilder *b = NULL;
    PgConn c;
    if (sync_es_connect(j, &c, false, err)) {
        if (docs_builder_open(j->d, &c, j->tz, NULL, &b, err)) {
            buf_append_str(&out, "statements (one per node and batch of roots):\n");
            docs_builder_describe(b, &out);
            docs_builder_close(b);
        } else {
            pg_close(&c);
            buf_free(&out);
            return false;
        }
        pg_close(&c);
    } else {
        buf_free(&out);
        return false;
    }
    if (st->found) {
        buf_printf(&out, "state: slot %s, index %s (v%d) behind alias %s, initial load %s\n",
                   st->slot, st->index_name, st->version, j->d->index,
                   st->load_done ? "complete" : "pending");
    } else {
        char slot[96];
        dip_snprintf(slot, sizeof slot, "%s_v1", j->slot_base);
        bool exists = false, fits = false, pub = false;
        if (!slot_lookup(j, slot, &exists, &fits, NULL, err) || !publication_exists(j, &pub, err)) {
            buf_free(&out);
            return false;
        }
        buf_printf(&out,
                   "state: not bootstrapped; --bootstrap would create publication %s, slot "
                   "%s and index %s_v1 behind alias %s\n",
                   j->publication, slot, j->d->index, j->d->index);
        if (exists && fine)
            fine = dip_error_set(&problem, DIP_ERR_CONFIG,
                                 "replication slot %s exists and belongs to something else", slot);
        if (pub && fine)
            fine = dip_error_set(&problem, DIP_ERR_CONFIG,
                                 "publication %s exists and belongs to something else",
                                 j->publication);
    }
    fwrite(out.data, 1, out.len, stdout);
    buf_free(&out);
    if (!fine) {
        *err = problem;
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- entry */

static bool run_document(const SyncEsOptions *o, const DocsSchema *schema, DocsDocument *d,
                         const EsConfig *escfg, SyncEsMetrics *metrics, DipError *err)
{
    EsJob j = {.o = o, .schema = schema, .d = d, .es_cfg = escfg, .metrics = metrics};
    sync_es_metrics_index(metrics, d->index);
    sync_es_metrics_phase(metrics, SYNC_ES_PHASE_STARTING);
    if (!pg_settings_from_env(&j.pgs, err)) return false;
    const char *ss = config_env_str("DIP_STATE_SCHEMA", "dip");
    quote_ident_into(j.state_schema, sizeof j.state_schema, ss);
    object_name(j.publication, sizeof j.publication, "dip_", d->index);
    object_name(j.slot_base, sizeof j.slot_base, "dip_", d->index);
    j.tz = config_env_str("DIP_ES_TIMEZONE", "UTC");
    j.workers = o->workers > 0 ? o->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (j.workers < 1) j.workers = 1;
    if (!sync_es_connect(&j, &j.pg, false, err)) return false;
    bool ok = docs_schema_resolve(d, &j.pg, err);
    /* what the server and the role lack is said before anything is created */
    if (ok && o->action != SYNC_ES_VALIDATE && o->action != SYNC_ES_TEARDOWN)
        ok = server_check(&j, NULL, err);
    if (ok && o->action != SYNC_ES_VALIDATE) ok = es_open(escfg, &j.es, err);
    if (ok && o->action != SYNC_ES_VALIDATE) {
        Buf sql;
        buf_init(&sql);
        ok = sync_es_sql(&j, "sql/sync_es_state.sql", &sql, err);
        if (ok) {
            Buf tx;
            buf_init(&tx);
            buf_printf(&tx,
                       "BEGIN; SET LOCAL client_min_messages = warning; "
                       "SELECT pg_advisory_xact_lock(hashtext('dip sync-es state')); %s; COMMIT",
                       buf_cstr(&sql));
            ok = pg_exec(&j.pg, buf_cstr(&tx), err);
            if (!ok) undo_exec(&j.pg, "ROLLBACK");
            buf_free(&tx);
        }
        buf_free(&sql);
        if (ok) {
            /* one run per alias; the backend of a run killed a moment ago holds the lock until
             * it notices, so wait up to the connection timeout before saying who is in the way */
            const char *params[1] = {d->index};
            double until = dip_now_s() + j.pgs.connect_timeout_s;
            /* REDIS_CHECKPOINT=true: the lock is in Redis (sync_es_redis.c) */
            ok = sync_es_redis_open(d->index, &j.redis, err);
            if (ok && j.redis)
                ok = sync_es_redis_lock(j.redis, o->action == SYNC_ES_DAEMON,
                                        j.pgs.connect_timeout_s, j.metrics, err);
            for (bool held = j.redis != NULL; ok && !held;) {
                PGresult *r;
                ok = pg_query(&j.pg,
                              "SELECT pg_try_advisory_lock(hashtext('dip sync-es'), hashtext($1))",
                              1, params, &r, err);
                if (!ok) break;
                held = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
                PQclear(r);
                /* a second daemon of the index is a hot standby: it polls the lock */
                if (!held && o->action == SYNC_ES_DAEMON) {
                    ok = sync_es_standby_wait(&j.pg, d->index, j.metrics, &held, err);
                    if (!ok) break;
                }
                if (!held && (dip_now_s() >= until || !dip_sleep_interruptible(0.2)))
                    ok = dip_error_set(err, DIP_ERR_TRANSIENT,
                                       "index %s: another dip sync-es run is working on it",
                                       d->index);
            }
        }
    }
    EsState st = {0};
    bool have_state = false;
    if (ok) {
        /* the state tables may not exist yet for --validate */
        if (o->action == SYNC_ES_VALIDATE) {
            PGresult *r;
            Buf q;
            buf_init(&q);
            buf_printf(&q, "SELECT to_regclass('%s.sync_es_state') IS NOT NULL", j.state_schema);
            ok = pg_query(&j.pg, buf_cstr(&q), 0, NULL, &r, err);
            buf_free(&q);
            if (ok) {
                have_state = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
                PQclear(r);
            }
            if (ok && have_state) ok = state_get(&j, &st, err);
        } else {
            ok = state_get(&j, &st, err);
        }
    }
    if (ok && st.found && !st.ready && o->action != SYNC_ES_VALIDATE)
        ok = bootstrap_abandoned(&j, &st, err);
    if (ok && st.found && o->action != SYNC_ES_VALIDATE && o->action != SYNC_ES_TEARDOWN)
        ok = drop_stale(&j, &st, err);
    if (ok) {
        switch (o->action) {
        case SYNC_ES_VALIDATE:
            ok = action_validate(&j, &st, err);
            break;
        case SYNC_ES_BOOTSTRAP: {
            bool created;
            ok = run_start(&j, "bootstrap", st.found ? st.index_name : NULL, err) &&
                 bootstrap(&j, &st, NULL, &created, err);
            break;
        }
        case SYNC_ES_ONCE:
        case SYNC_ES_DAEMON:
            ok = action_once(&j, &st, err);
            break;
        case SYNC_ES_REINDEX:
            ok = action_reindex(&j, &st, err);
            break;
        case SYNC_ES_TEARDOWN:
            ok = action_teardown(&j, &st, err);
            break;
        }
        run_finish(&j, ok, st.found ? st.index_name : NULL, err);
    }
    state_free(&st);
    sync_es_redis_close(j.redis);
    if (j.es) es_close(j.es);
    pg_close(&j.pg);
    if (!ok) dip_error_prefix(err, "%s", d->path);
    return ok;
}

bool sync_es_run(const SyncEsOptions *o, DipError *err)
{
    DocsSchema schema;
    if (!docs_schema_load(o->config, &schema, err)) return false;
    EsConfig escfg;
    memset(&escfg, 0, sizeof escfg);
    bool ok = true;
    if (o->action != SYNC_ES_VALIDATE) {
        ok = es_config_from_env(&escfg, err);
        if (ok && o->es_url) ok = es_config_set_url(&escfg, o->es_url, err);
    }
    /* --daemon serves /metrics and /healthz before anything else: a port in use is said
     * before any connection is made */
    SyncEsMetrics *metrics = NULL;
    if (ok && o->action == SYNC_ES_DAEMON) {
        const char *addr = o->metrics_addr
                               ? o->metrics_addr
                               : config_env_str("DIP_METRICS_ADDR", SYNC_ES_METRICS_DEFAULT_ADDR);
        double stale_s;
        ok = config_env_double("DIP_ES_HEALTHZ_STALE_S", 30.0, &stale_s, err) &&
             (stale_s > 0 ||
              dip_error_set(err, DIP_ERR_CONFIG, "DIP_ES_HEALTHZ_STALE_S: expected seconds > 0")) &&
             sync_es_metrics_start(addr, o->metrics_addr ? "--metrics-addr" : "DIP_METRICS_ADDR",
                                   stale_s, &metrics, err);
    }
    for (size_t i = 0; ok && i < schema.ndocs; i++)
        ok = run_document(o, &schema, &schema.docs[i], &escfg, metrics, err);
    sync_es_metrics_stop(metrics);
    if (o->action != SYNC_ES_VALIDATE) es_config_free(&escfg);
    docs_schema_free(&schema);
    return ok;
}
