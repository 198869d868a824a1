/*
 * es_dead_letters.c: the PostgreSQL dead-letter table dip_es_dead_letters (sql/es_dead_letters_*).
 *
 * An action the engine refuses as bad data is written here, whole (action metadata, the
 * document, the status, the engine's error type and reason, the time), before the bulk
 * writer acknowledges it: a refused document is never dropped silently and never retried
 * forever. `dip es dead-letters --retry` re-sends every letter through a bulk writer once
 * the mapping or the data was fixed: an accepted letter is deleted, a refused one stays with
 * the engine's newest answer and an attempt counter.
 */
#include "jobs/es_dead_letters.h"

#include <stdlib.h>
#include <string.h>

bool es_dead_letters_init(PgConn *pg, DipError *err)
{
    const char *sql;
    return pg_sql_get("sql/es_dead_letters_create.sql", &sql, err) && pg_exec(pg, sql, err);
}

static const char *VT_NAMES[] = {NULL, "external", "external_gte"};

bool es_dead_letters_store(void *pg_conn, const EsDeadLetter *dl, DipError *err)
{
    PgConn *pg = pg_conn;
    const char *sql;
    if (!pg_sql_get("sql/es_dead_letters_insert.sql", &sql, err)) return false;
    char version[24], status[16];
    dip_snprintf(version, sizeof version, "%lld", (long long)dl->version);
    dip_snprintf(status, sizeof status, "%d", dl->status);
    char *doc = dl->document ? dip_strndup(dl->document, dl->document_len) : NULL;
    const char *params[11] = {
        dl->index,
        dl->id,
        es_op_name(dl->op),
        dl->routing,
        dl->pipeline,
        dl->version_type != ES_VERSION_NONE ? version : NULL,
        VT_NAMES[dl->version_type],
        doc,
        status,
        dl->error_type,
        dl->reason ? dl->reason : "(no reason given)",
    };
    PGresult *res = NULL;
    bool ok = pg_query(pg, sql, 11, params, &res, err);
    if (res) PQclear(res);
    free(doc);
    if (!ok) dip_error_prefix(err, "dead letter for %s/%s", dl->index, dl->id ? dl->id : "");
    return ok;
}

static const char *col(PGresult *r, int row, int c)
{
    return PQgetisnull(r, row, c) ? NULL : PQgetvalue(r, row, c);
}

static int64_t col_i64(PGresult *r, int row, int c)
{
    int64_t v = 0;
    const char *s = col(r, row, c);
    if (s && !dip_parse_i64(s, &v)) v = 0;
    return v;
}

static bool list_rows(PgConn *pg, PGresult **res, DipError *err)
{
    const char *sql;
    return pg_sql_get("sql/es_dead_letters_list.sql", &sql, err) &&
           pg_query(pg, sql, 0, NULL, res, err);
}

bool es_dead_letters_list(PgConn *pg, EsDeadLetterRowFn fn, void *ctx, DipError *err)
{
    PGresult *r = NULL;
    if (!list_rows(pg, &r, err)) {
        if (r) PQclear(r);
        return false;
    }
    bool ok = true;
    for (int i = 0; ok && i < PQntuples(r); i++) {
        EsDeadLetterRow row = {
            .id = col_i64(r, i, 0),
            .created_at = col(r, i, 1),
            .index = col(r, i, 2),
            .doc_id = col(r, i, 3),
            .op = col(r, i, 4),
            .status = (int)col_i64(r, i, 10),
            .error_type = col(r, i, 11),
            .reason = col(r, i, 12),
            .attempts = (int)col_i64(r, i, 13),
        };
        ok = fn(ctx, &row, err);
    }
    PQclear(r);
    return ok;
}

typedef struct RetryCtx {
    PgConn *pg;
    int64_t *accepted; /* row ids the engine took */
    size_t n_accepted;
    int64_t refused;
} RetryCtx;

static void retry_on_ack(void *ctx, uint64_t seq, uint64_t tag, EsOutcome o)
{
    RetryCtx *r = ctx;
    if (o != ES_OUTCOME_DEAD_LETTER) r->accepted[r->n_accepted++] = (int64_t)tag;
}

/* The sink of a retry: the letter exists already (its id is the tag), so it is updated. */
static bool retry_refused(void *ctx, const EsDeadLetter *dl, DipError *err)
{
    RetryCtx *r = ctx;
    const char *sql;
    if (!pg_sql_get("sql/es_dead_letters_refused.sql", &sql, err)) return false;
    char id[24], status[16];
    dip_snprintf(id, sizeof id, "%lld", (long long)dl->tag);
    dip_snprintf(status, sizeof status, "%d", dl->status);
    const char *params[4] = {id, status, dl->error_type,
                             dl->reason ? dl->reason : "(no reason given)"};
    PGresult *res = NULL;
    bool ok = pg_query(r->pg, sql, 4, params, &res, err);
    if (res) PQclear(res);
    if (ok) r->refused++;
    return ok;
}

static bool op_parse(const char *s, EsOp *op)
{
    for (int i = ES_OP_INDEX; i <= ES_OP_DELETE; i++) {
        if (s && !strcmp(s, es_op_name((EsOp)i))) {
            *op = (EsOp)i;
            return true;
        }
    }
    return false;
}

bool es_dead_letters_retry(PgConn *pg, EsClient *c, EsRetryResult *res, DipError *err)
{
    memset(res, 0, sizeof *res);
    PGresult *r = NULL;
    if (!list_rows(pg, &r, err)) {
        if (r) PQclear(r);
        return false;
    }
    int n = PQntuples(r);
    RetryCtx rc = {pg, dip_calloc((size_t)n + 1, sizeof(int64_t)), 0, 0};
    EsBulkOptions opt = {retry_on_ack, &rc, retry_refused, &rc};
    EsBulk *b = NULL;
    bool ok = es_bulk_open(c, &opt, &b, err);
    for (int i = 0; ok && i < n; i++) {
        EsAction a = {0};
        if (!op_parse(col(r, i, 4), &a.op)) {
            ok = dip_error_set(err, DIP_ERR_DATA, "dip_es_dead_letters id %s: unknown op %s",
                               col(r, i, 0), col(r, i, 4) ? col(r, i, 4) : "NULL");
            break;
        }
        a.index = col(r, i, 2);
        a.id = col(r, i, 3);
        a.routing = col(r, i, 5);
        a.pipeline = col(r, i, 6);
        const char *vt = col(r, i, 8);
        if (vt && col(r, i, 7)) {
            a.version_type =
                !strcmp(vt, "external") ? ES_VERSION_EXTERNAL : ES_VERSION_EXTERNAL_GTE;
            a.version = col_i64(r, i, 7);
        }
        a.source = col(r, i, 9);
        a.source_len = a.source ? strlen(a.source) : 0;
        ok = es_bulk_add(b, &a, (uint64_t)col_i64(r, i, 0), NULL, err);
        if (!ok) dip_error_prefix(err, "dip_es_dead_letters id %s", col(r, i, 0));
    }
    if (ok) ok = es_bulk_flush(b, err);
    es_bulk_close(b);
    PQclear(r);
    /* what the engine took is removed even when the run failed later: it is in the index */
    const char *sql = NULL;
    DipError derr = {0};
    bool dok = pg_sql_get("sql/es_dead_letters_resolve.sql", &sql, &derr);
    for (size_t i = 0; dok && i < rc.n_accepted; i++) {
        char id[24];
        dip_snprintf(id, sizeof id, "%lld", (long long)rc.accepted[i]);
        const char *params[1] = {id};
        PGresult *dr = NULL;
        dok = pg_query(pg, sql, 1, params, &dr, &derr);
        if (dr) PQclear(dr);
    }
    res->resent = (int64_t)rc.n_accepted;
    res->refused = rc.refused;
    free(rc.accepted);
    if (ok && !dok) {
        *err = derr;
        return false;
    }
    return ok;
}
