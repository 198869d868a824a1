/*
 * conn.c: PostgreSQL connections through libpq, statement execution, COPY in and out,
 * and the transient-vs-data classification of errors by SQLSTATE (PostgreSQL docs,
 * Appendix A "PostgreSQL Error Codes"): class 08 (connection exception), 57P01..57P03
 * (admin/crash shutdown, cannot connect now), 40001 (serialization failure), 40P01
 * (deadlock) and class 53 (insufficient resources) are retried; a lost connection
 * (no SQLSTATE, CONNECTION_BAD) is too. Everything else is a data error: retrying a
 * unique violation or a type mismatch only repeats it.
 */
#include "pg/pg.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char last_sqlstate[8];

const char *pg_last_sqlstate(void)
{
    return last_sqlstate;
}

bool pg_settings_from_env(PgSettings *s, DipError *err)
{
    int64_t timeout, retries, batch;
    double delay;
    if (!config_env_int("POSTGRES_CONNECTION_TIMEOUT", 10, &timeout, err) ||
        !config_env_int("POSTGRES_MAX_RETRIES", 10, &retries, err) ||
        !config_env_double("POSTGRES_RETRY_DELAY", 1.0, &delay, err) ||
        !config_env_int("POSTGRES_CLIENT_BATCH_SIZE", 10000, &batch, err))
        return false;
    if (timeout < 1 || timeout > 3600)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "POSTGRES_CONNECTION_TIMEOUT=%lld: expected 1..3600 seconds",
                             (long long)timeout);
    if (retries < 0 || retries > 1000)
        return dip_error_set(err, DIP_ERR_CONFIG, "POSTGRES_MAX_RETRIES=%lld: expected 0..1000",
                             (long long)retries);
    if (!(delay >= 0 && delay <= 3600))
        return dip_error_set(err, DIP_ERR_CONFIG, "POSTGRES_RETRY_DELAY=%g: expected 0..3600",
                             delay);
    if (batch < 1 || batch > 10000000)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "POSTGRES_CLIENT_BATCH_SIZE=%lld: expected 1..10000000",
                             (long long)batch);
    s->conninfo = config_env_str("DIP_PG_CONNINFO", NULL);
    s->connect_timeout_s = (int)timeout;
    s->max_retries = (int)retries;
    s->retry_delay_s = delay;
    s->batch_size = (int)batch;
    return true;
}

bool pg_sqlstate_is_transient(const char *st)
{
    if (st == NULL || strlen(st) != 5) return false;
    if (strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0) return true;
    return strcmp(st, "57P01") == 0 || strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0 ||
           strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0;
}

/* libpq's messages end in a newline and continue lines with "\n\t": one log line instead,
 * the continuation joined with "; ", tabs and newlines gone. */
static void trim_newlines(char *s, size_t cap)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    Buf b;
    buf_init(&b);
    for (const char *p = s; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            while (p[1] == '\n' || p[1] == '\r' || p[1] == '\t' || p[1] == ' ')
                p++;
            buf_append_str(&b, "; ");
        } else {
            buf_append_byte(&b, *p == '\t' ? ' ' : *p);
        }
    }
    dip_strlcpy(s, buf_cstr(&b), cap);
    buf_free(&b);
}

/* Where a failed connection went, and where that came from: "host H (PGHOST), port P
 * (default)". A user who did not know dip reads PG* variables learns it here. */
static void describe_target(const PgSettings *s, const PgConn *c, char *out, size_t cap)
{
    bool cs = s->conninfo && s->conninfo[0];
    const char *host_src = cs && strstr(s->conninfo, "host") ? "connection string"
                           : getenv("PGHOST")                ? "PGHOST"
                                                             : "libpq's default";
    const char *port_src = cs && strstr(s->conninfo, "port") ? "connection string"
                           : getenv("PGPORT")                ? "PGPORT"
                                                             : "default";
    dip_snprintf(out, cap, "host %s (%s), port %s (%s)", c->host[0] ? c->host : "local socket",
                 host_src, c->port[0] ? c->port : "5432", port_src);
}

bool pg_error_from_result(DipError *err, const PgConn *c, const PGresult *res, const char *what)
{
    const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    char msg[1024];
    dip_strlcpy(msg,
                res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
                : c && c->conn                      ? PQerrorMessage(c->conn)
                                                    : "no connection",
                sizeof msg);
    trim_newlines(msg, sizeof msg);
    dip_strlcpy(last_sqlstate, st ? st : "", sizeof last_sqlstate);
    bool lost = c == NULL || c->conn == NULL || PQstatus(c->conn) == CONNECTION_BAD;
    DipErrorKind kind =
        (st == NULL && lost) || pg_sqlstate_is_transient(st) ? DIP_ERR_TRANSIENT : DIP_ERR_DATA;
    if (st == NULL && !lost)
        kind = DIP_ERR_TRANSIENT; /* protocol-level trouble without SQLSTATE: retry once more */
    char state[24] = "";
    if (st) dip_snprintf(state, sizeof state, " (SQLSTATE %s)", st);
    return dip_error_set(err, kind, "postgresql %s:%s: %s: %s%s", c ? c->host : "?",
                         c ? c->port : "?", what, msg, state);
}

static void notice_to_log(void *arg, const char *message)
{
    (void)arg;
    char msg[512];
    dip_strlcpy(msg, message, sizeof msg);
    trim_newlines(msg, sizeof msg);
    dip_debug("postgresql: %s", msg);
}

bool pg_connect(PgConn *c, const PgSettings *s, DipError *err)
{
    memset(c, 0, sizeof *c);
    char timeout[16];
    dip_snprintf(timeout, sizeof timeout, "%d", s->connect_timeout_s);
    const char *keys[] = {"dbname", "connect_timeout", "application_name", "keepalives_idle", NULL};
    const char *vals[] = {s->conninfo && s->conninfo[0] ? s->conninfo : NULL, timeout, "dip", "30",
                          NULL};
    if (vals[0] == NULL) {
        /* skip dbname: libpq then takes PGDATABASE etc. from the environment */
        keys[0] = "connect_timeout";
        vals[0] = timeout;
        keys[1] = "application_name";
        vals[1] = "dip";
        keys[2] = "keepalives_idle";
        vals[2] = "30";
        keys[3] = NULL;
        vals[3] = NULL;
    }
    c->conn = PQconnectdbParams(keys, vals, 1);
    if (c->conn == NULL)
        return dip_error_set(err, DIP_ERR_INTERNAL, "postgresql: out of memory connecting");
    dip_strlcpy(c->host, PQhost(c->conn) ? PQhost(c->conn) : "", sizeof c->host);
    dip_strlcpy(c->port, PQport(c->conn) ? PQport(c->conn) : "", sizeof c->port);
    dip_strlcpy(c->user, PQuser(c->conn) ? PQuser(c->conn) : "", sizeof c->user);
    dip_strlcpy(c->dbname, PQdb(c->conn) ? PQdb(c->conn) : "", sizeof c->dbname);
    if (PQstatus(c->conn) != CONNECTION_OK) {
        char msg[1024];
        dip_strlcpy(msg, PQerrorMessage(c->conn), sizeof msg);
        trim_newlines(msg, sizeof msg);
        /* authentication or a missing database will not heal by waiting */
        bool permanent = strstr(msg, "password authentication failed") ||
                         (strstr(msg, "database \"") && strstr(msg, "does not exist")) ||
                         (strstr(msg, "role \"") && strstr(msg, "does not exist")) ||
                         strstr(msg, "invalid connection option") || strstr(msg, "invalid URI");
        char where[600];
        describe_target(s, c, where, sizeof where);
        dip_error_set(err, permanent ? DIP_ERR_CONFIG : DIP_ERR_TRANSIENT,
                      "postgresql %s:%s: connect: %s [tried %s; point dip elsewhere with PGHOST, "
                      "PGPORT, PGUSER, PGDATABASE (libpq's variables) or DIP_PG_CONNINFO]",
                      c->host, c->port, msg, where);
        PQfinish(c->conn);
        c->conn = NULL;
        return false;
    }
    /* NOTICEs (CREATE .. IF NOT EXISTS and the like) go to the debug log, not raw to stderr
     * where they would break JSON logs and clutter the human ones */
    PQsetNoticeProcessor(c->conn, notice_to_log, NULL);
    /* sessions of dip always talk UTC and ISO dates, whatever the server defaults are */
    PGresult *r = PQexec(c->conn, "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; "
                                  "SET client_encoding = 'UTF8'");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) pg_error_from_result(err, c, r, "session setup");
    PQclear(r);
    if (!ok) {
        pg_close(c);
    }
    return ok;
}

typedef struct ConnectAttempt {
    PgConn *c;
    const PgSettings *s;
} ConnectAttempt;

static bool connect_attempt(void *arg, int attempt, DipError *err)
{
    (void)attempt;
    ConnectAttempt *a = arg;
    return pg_connect(a->c, a->s, err);
}

/* Set once any connection of this process succeeded. */
static atomic_bool g_server_answered;

bool pg_connect_retry(PgConn *c, const PgSettings *s, DipError *err)
{
    RetryPolicy p = pg_retry_policy(s);
    bool answered = atomic_load(&g_server_answered);
    /* a server that never answered in this run is most likely not there or misaddressed:
     * a short budget (PG_FIRST_CONTACT_RETRIES) says so in seconds; a server lost mid-run gets
     * the whole POSTGRES_MAX_RETRIES budget to come back */
    if (!answered && p.max_retries > PG_FIRST_CONTACT_RETRIES) {
        p.max_retries = PG_FIRST_CONTACT_RETRIES;
        if (p.max_delay_s > 4.0) p.max_delay_s = 4.0;
    }
    ConnectAttempt a = {c, s};
    bool ok = retry_run(&p, connect_attempt, &a,
                        answered ? "reconnecting to PostgreSQL"
                                 : "connecting to PostgreSQL (first contact of this run)",
                        err);
    if (ok) atomic_store(&g_server_answered, true);
    return ok;
}

void pg_close(PgConn *c)
{
    if (c && c->conn) {
        PQfinish(c->conn);
        c->conn = NULL;
    }
}

bool pg_is_alive(const PgConn *c)
{
    return c && c->conn && PQstatus(c->conn) == CONNECTION_OK;
}

void pg_sql_operation(const char *sql, char *out, size_t cap)
{
    /* dip's statements come from sql/NAME.sql files whose first line is
     * "-- NAME.sql: what it is for. More...": that sentence names the operation in words */
    const char *p = sql;
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
        p++;
    if (p[0] == '-' && p[1] == '-') {
        const char *h = p + 2;
        while (*h == ' ')
            h++;
        const char *colon = strstr(h, ".sql: ");
        const char *eol = strchr(h, '\n');
        if (!eol) eol = h + strlen(h);
        if (colon && colon < eol) {
            const char *d = colon + 6, *e = d;
            /* the first clause: up to '.', ';', ':' or the end of the line */
            while (e < eol && *e != ';' && *e != ':' &&
                   !(*e == '.' && (e[1] == ' ' || e + 1 == eol)))
                e++;
            while (e > d && e[-1] == ' ')
                e--;
            dip_snprintf(out, cap, "%.*s (%.*s.sql)", (int)(e - d), d, (int)(colon - h), h);
            return;
        }
    }
    /* a statement of dip's own (BEGIN, COMMIT, SET ...) or of a user's schema file: its
     * leading keywords, never a cut slice of its text */
    while (p[0] == '-' && p[1] == '-') {
        const char *eol = strchr(p, '\n');
        p = eol ? eol + 1 : p + strlen(p);
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
            p++;
    }
    char kw[48];
    size_t n = 0;
    for (int words = 0; words < 2; words++) {
        size_t start = n;
        for (; isalpha((unsigned char)*p) || *p == '_'; p++)
            if (n + 2 < sizeof kw) kw[n++] = (char)toupper((unsigned char)*p);
        if (n == start) break;
        while (isspace((unsigned char)*p))
            p++;
        if (words == 0 && isalpha((unsigned char)*p) && n + 2 < sizeof kw) kw[n++] = ' ';
    }
    while (n > 0 && kw[n - 1] == ' ')
        n--;
    kw[n] = '\0';
    dip_snprintf(out, cap, n ? "%s statement" : "statement", kw);
}

bool pg_exec(PgConn *c, const char *sql, DipError *err)
{
    if (!pg_is_alive(c))
        return dip_error_set(err, DIP_ERR_TRANSIENT, "postgresql: connection lost");
    PGresult *r = PQexec(c->conn, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        char what[160];
        pg_sql_operation(sql, what, sizeof what);
        pg_error_from_result(err, c, r, what);
    }
    PQclear(r);
    return ok;
}

bool pg_query(PgConn *c, const char *sql, int nparams, const char *const *params, PGresult **res,
              DipError *err)
{
    *res = NULL;
    if (!pg_is_alive(c))
        return dip_error_set(err, DIP_ERR_TRANSIENT, "postgresql: connection lost");
    PGresult *r = PQexecParams(c->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        char what[160];
        pg_sql_operation(sql, what, sizeof what);
        pg_error_from_result(err, c, r, what);
        PQclear(r);
        return false;
    }
    *res = r;
    return true;
}

bool pg_copy_begin(PgConn *c, const char *sql, DipError *err)
{
    if (!pg_is_alive(c))
        return dip_error_set(err, DIP_ERR_TRANSIENT, "postgresql: connection lost");
    PGresult *r = PQexec(c->conn, sql);
    bool ok = PQresultStatus(r) == PGRES_COPY_IN;
    if (!ok) {
        pg_error_from_result(err, c, r, "COPY FROM STDIN");
    }
    PQclear(r);
    return ok;
}

bool pg_copy_put(PgConn *c, const void *p, size_t n, DipError *err)
{
    const char *q = p;
    while (n > 0) {
        /* PQputCopyData takes an int: feed big buffers in slices */
        int k = n > (1u << 30) ? 1 << 30 : (int)n;
        if (PQputCopyData(c->conn, q, k) != 1) {
            pg_error_from_result(err, c, NULL, "COPY data");
            return false;
        }
        q += k;
        n -= (size_t)k;
    }
    return true;
}

bool pg_copy_end(PgConn *c, int64_t *rows, DipError *err)
{
    if (PQputCopyEnd(c->conn, NULL) != 1) {
        pg_error_from_result(err, c, NULL, "COPY end");
        return false;
    }
    bool ok = true;
    PGresult *r;
    while ((r = PQgetResult(c->conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            if (ok) {
                pg_error_from_result(err, c, r, "COPY");
            }
            ok = false;
        } else if (rows) {
            int64_t v = 0;
            if (!dip_parse_i64(PQcmdTuples(r), &v)) v = 0;
            *rows = v;
        }
        PQclear(r);
    }
    if (ok && PQstatus(c->conn) == CONNECTION_BAD)
        return dip_error_set(err, DIP_ERR_TRANSIENT, "postgresql: connection lost after COPY");
    return ok;
}

bool pg_copy_out(PgConn *c, const char *sql, PgCopyOutFn on_chunk, void *ctx, DipError *err)
{
    if (!pg_is_alive(c))
        return dip_error_set(err, DIP_ERR_TRANSIENT, "postgresql: connection lost");
    PGresult *r = PQexec(c->conn, sql);
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        pg_error_from_result(err, c, r, "COPY TO STDOUT");
        PQclear(r);
        return false;
    }
    PQclear(r);
    bool ok = true;
    for (;;) {
        char *buf = NULL;
        int n = PQgetCopyData(c->conn, &buf, 0);
        if (n == -1) break;
        if (n == -2) {
            pg_error_from_result(err, c, NULL, "COPY TO STDOUT");
            return false;
        }
        if (ok && !on_chunk(ctx, (const uint8_t *)buf, (size_t)n, err))
            ok = false; /* keep draining so the connection stays usable */
        PQfreemem(buf);
    }
    while ((r = PQgetResult(c->conn)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && ok) {
            pg_error_from_result(err, c, r, "COPY TO STDOUT");
            ok = false;
        }
        PQclear(r);
    }
    return ok;
}
