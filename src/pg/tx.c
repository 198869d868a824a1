/*
 * tx.c: the transaction and lock primitives of the pg module (DESIGN.md: "transactions and
 * locks in pg"): pg_tx_run runs a body between BEGIN and COMMIT and, on a transient failure
 * (connection lost, serialization failure, deadlock: conn.c's SQLSTATE classes), rolls back,
 * reconnects and runs the whole transaction again under core's retry_run; session-level
 * advisory locks keyed by a name; the one RetryPolicy of the POSTGRES_* settings; and row
 * accessors so callers read results without calling libpq themselves.
 */
#include "pg/pg.h"

#include <stdio.h>
#include <string.h>

RetryPolicy pg_retry_policy(const PgSettings *s)
{
    /* POSTGRES_RETRY_DELAY is the first backoff ceiling (full jitter, doubling), each wait
     * capped at 60 s; 0 would retry at once, so 10 ms is the smallest base */
    RetryPolicy p = {s->max_retries, s->retry_delay_s > 0.01 ? s->retry_delay_s : 0.01, 60.0};
    return p;
}

void pg_rollback_or_close(PgConn *c)
{
    if (!pg_is_alive(c)) {
        pg_close(c);
        return;
    }
    if (PQtransactionStatus(c->conn) == PQTRANS_IDLE) return;
    /* a session that cannot even roll back (mid-COPY, protocol trouble) is not reused */
    DipError ignore = {0};
    if (!pg_exec(c, "ROLLBACK", &ignore)) {
        dip_debug("rollback failed, closing the connection: %s", ignore.msg);
        pg_close(c);
    }
}

bool pg_in_transaction(const PgConn *c)
{
    return pg_is_alive(c) && PQtransactionStatus(c->conn) != PQTRANS_IDLE;
}

typedef struct TxAttempt {
    PgConn *c;
    const PgTxRetry *retry;
    PgTxFn body;
    void *ctx;
    DipError abandoned; /* the error that ended retrying early (retry->abandon set) */
    bool was_abandoned;
} TxAttempt;

static bool tx_reconnect(TxAttempt *a, DipError *err)
{
    pg_close(a->c);
    if (a->retry && a->retry->reconnect) return a->retry->reconnect(a->c, a->retry->ctx, err);
    if (a->retry && a->retry->settings) return pg_connect(a->c, a->retry->settings, err);
    return dip_error_set(err, DIP_ERR_TRANSIENT, "postgresql: connection lost");
}

static bool tx_attempt(void *arg, int attempt, DipError *err)
{
    (void)attempt;
    TxAttempt *a = arg;
    bool ok = (pg_is_alive(a->c) || tx_reconnect(a, err)) && pg_exec(a->c, "BEGIN", err) &&
              a->body(a->c, a->ctx, err) && pg_exec(a->c, "COMMIT", err);
    if (ok) return true;
    if (err->kind == DIP_ERR_NONE)
        dip_error_set(err, DIP_ERR_TRANSIENT, "postgresql: connection lost");
    pg_rollback_or_close(a->c);
    if (err->kind == DIP_ERR_TRANSIENT) {
        /* a transient failure may leave the session mid-COPY or with its temporary state
         * gone: the next attempt starts on a fresh connection */
        pg_close(a->c);
        if (a->retry && a->retry->abandon && *a->retry->abandon) {
            /* the caller says retrying is pointless (its lock went to another session):
             * end retry_run with a kind it does not retry, and hand the real error back */
            a->abandoned = *err;
            a->was_abandoned = true;
            dip_error_clear(err);
            return dip_error_set(err, DIP_ERR_INTERNAL, "abandoned");
        }
    }
    return false;
}

bool pg_tx_run(PgConn *c, const PgTxRetry *retry, PgTxFn body, void *ctx, const char *what,
               DipError *err)
{
    TxAttempt a = {.c = c, .retry = retry, .body = body, .ctx = ctx};
    RetryPolicy once = {0, 0.01, 0.01};
    const RetryPolicy *p = retry && retry->policy ? retry->policy : &once;
    if (retry_run(p, tx_attempt, &a, what, err)) return true;
    if (a.was_abandoned) {
        *err = a.abandoned;
        dip_error_prefix(err, "%s", what);
    }
    return false;
}

/* ------------------------------------------------------------ advisory locks */

static void lock_key(const char *name, char key[24])
{
    dip_snprintf(key, 24, "%lld", (long long)(int64_t)dip_xxh64(name, strlen(name), 0));
}

/* "PostgreSQL backend pid N (application 'a', client c, connected since t)" or "another
 * session" when the holder is gone by now. */
static void lock_holder(PgConn *c, const char *key, char *holder, size_t cap)
{
    dip_strlcpy(holder, "another session", cap);
    const char *sql;
    const char *params[1] = {key};
    PGresult *r = NULL;
    DipError e = {0};
    if (!pg_sql_get("sql/advisory_lock_holder.sql", &sql, &e) ||
        !pg_query(c, sql, 1, params, &r, &e))
        return;
    if (pg_nrows(r) == 1)
        dip_snprintf(holder, cap,
                     "PostgreSQL backend pid %s (application '%s', client %s, connected since %s)",
                     pg_value(r, 0, 0), pg_value(r, 0, 1), pg_value(r, 0, 2), pg_value(r, 0, 3));
    pg_result_free(r);
}

static bool advisory_lock(PgConn *c, const char *name, bool shared, double wait_s, bool *got,
                          char *holder, size_t holder_cap, DipError *err)
{
    *got = false;
    if (holder_cap) holder[0] = '\0';
    char key[24];
    lock_key(name, key);
    const char *params[1] = {key};
    const char *sql;
    if (!pg_sql_get(shared ? "sql/advisory_lock_shared.sql" : "sql/advisory_lock.sql", &sql, err))
        return false;
    double t0 = dip_now_s();
    for (int attempt = 0;; attempt++) {
        PGresult *r = NULL;
        if (!pg_query(c, sql, 1, params, &r, err)) return false;
        *got = pg_nrows(r) == 1 && pg_value_bool(r, 0, 0);
        pg_result_free(r);
        if (*got) return true;
        if (dip_now_s() - t0 >= wait_s) break;
        if (attempt == 0) dip_info("lock '%s' is held: waiting up to %.1fs for it", name, wait_s);
        if (!dip_sleep_interruptible(0.1))
            return dip_error_set(err, DIP_ERR_INTERRUPTED, "interrupted waiting for lock '%s'",
                                 name);
    }
    if (holder_cap) lock_holder(c, key, holder, holder_cap);
    return true;
}

bool pg_advisory_lock(PgConn *c, const char *name, double wait_s, bool *got, char *holder,
                      size_t holder_cap, DipError *err)
{
    return advisory_lock(c, name, false, wait_s, got, holder, holder_cap, err);
}

bool pg_advisory_lock_shared(PgConn *c, const char *name, double wait_s, bool *got, char *holder,
                             size_t holder_cap, DipError *err)
{
    return advisory_lock(c, name, true, wait_s, got, holder, holder_cap, err);
}

static bool advisory_unlock(PgConn *c, const char *name, bool shared, DipError *err)
{
    char key[24];
    lock_key(name, key);
    const char *params[1] = {key};
    const char *sql;
    PGresult *r = NULL;
    if (!pg_sql_get(shared ? "sql/advisory_unlock_shared.sql" : "sql/advisory_unlock.sql", &sql,
                    err) ||
        !pg_query(c, sql, 1, params, &r, err))
        return false;
    bool released = pg_nrows(r) == 1 && pg_value_bool(r, 0, 0);
    pg_result_free(r);
    if (!released)
        return dip_error_set(err, DIP_ERR_INTERNAL, "lock '%s' was not held by this session", name);
    return true;
}

bool pg_advisory_unlock(PgConn *c, const char *name, DipError *err)
{
    return advisory_unlock(c, name, false, err);
}

bool pg_advisory_unlock_shared(PgConn *c, const char *name, DipError *err)
{
    return advisory_unlock(c, name, true, err);
}

/* ------------------------------------------------------------ rows */

int pg_nrows(const PGresult *r)
{
    return r ? PQntuples(r) : 0;
}

const char *pg_value(const PGresult *r, int row, int col)
{
    return PQgetvalue(r, row, col);
}

size_t pg_value_len(const PGresult *r, int row, int col)
{
    int n = PQgetlength(r, row, col);
    return n > 0 ? (size_t)n : 0;
}

bool pg_is_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) != 0;
}

bool pg_value_bool(const PGresult *r, int row, int col)
{
    return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

bool pg_value_i64(const PGresult *r, int row, int col, int64_t *out)
{
    return !PQgetisnull(r, row, col) && dip_parse_i64(PQgetvalue(r, row, col), out);
}

int64_t pg_cmd_rows(const PGresult *r)
{
    int64_t v = 0;
    if (!r || !dip_parse_i64(PQcmdTuples((PGresult *)r), &v)) return 0;
    return v;
}

void pg_result_free(PGresult *r)
{
    PQclear(r);
}
