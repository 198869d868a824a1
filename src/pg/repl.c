/*
 * repl.c: the logical replication connection (PostgreSQL docs, "Streaming Replication
 * Protocol" and "Logical Streaming Replication Parameters").
 *
 * A walsender connection opened with replication=database speaks the replication commands
 * (IDENTIFY_SYSTEM, CREATE_REPLICATION_SLOT, START_REPLICATION, DROP_REPLICATION_SLOT) and
 * plain SQL, but only over the simple query protocol: every statement here goes through
 * PQexec, with literals quoted in the text.
 *
 * START_REPLICATION enters COPY BOTH. The server sends CopyData messages:
 *   'w' XLogData:  Int64 WAL start, Int64 WAL end (server), Int64 send time, Byte[n] data
 *   'k' keepalive: Int64 WAL end (server), Int64 send time, Byte1 reply requested
 * and we send standby status updates:
 *   'r' Int64 written, Int64 flushed, Int64 applied, Int64 clock, Byte1 reply requested
 * (times in microseconds since 2000-01-01). For a logical slot the server takes the flushed
 * position as confirmed_flush_lsn: WAL before it may be removed and transactions committed
 * before it are never sent again. So all three positions are what the caller confirmed, never
 * what was merely received. A walsender that hears nothing for wal_sender_timeout drops the
 * connection; it asks for a reply (keepalive with the flag set) at half that time, and we
 * also report every status_interval_s on our own.
 */
#include "pg/pgrepl.h"
#include "pg/pgrepl_read.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPL_WAY_BACK                                                                              \
    "the changes it held cannot be streamed any more: drop the slot and rebuild the index "        \
    "with `dip sync-es --reindex` (and raise max_slot_wal_keep_size, or keep the consumer "        \
    "running, so it does not happen again)"

void pgrepl_lsn_format(PgLsn lsn, char out[24])
{
    dip_snprintf(out, 24, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
}

/* One half of "X/X": 1 to 8 hex digits up to `stop`; returns the character after it. */
static const char *lsn_half(const char *p, char stop, uint64_t *v)
{
    int n = 0;
    for (*v = 0; *p && *p != stop; p++, n++) {
        int d = *p >= '0' && *p <= '9'   ? *p - '0'
                : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                                         : -1;
        if (d < 0 || n >= 8) return NULL;
        *v = *v << 4 | (uint64_t)d;
    }
    return n > 0 && *p == stop ? p : NULL;
}

bool pgrepl_lsn_parse(const char *s, PgLsn *out)
{
    uint64_t hi, lo;
    const char *p = lsn_half(s, '/', &hi);
    if (p == NULL || lsn_half(p + 1, '\0', &lo) == NULL) return false;
    *out = hi << 32 | lo;
    return true;
}

/* ------------------------------------------------------------ connection */

/* The user's connection string (keyword=value or URI) as keyword='value' pairs with
 * replication=database added, so pg_connect applies dip's usual settings on top. */
static bool repl_conninfo(const char *conninfo, Buf *out, DipError *err)
{
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &perr);
    if (opts == NULL) {
        bool r = dip_error_set(err, DIP_ERR_CONFIG, "DIP_PG_CONNINFO: %s",
                               perr ? perr : "out of memory");
        PQfreemem(perr);
        return r;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (o->val == NULL || strcmp(o->keyword, "replication") == 0) continue;
        buf_printf(out, "%s='", o->keyword);
        for (const char *v = o->val; *v; v++) {
            if (*v == '\'' || *v == '\\') buf_append_byte(out, '\\');
            buf_append_byte(out, (uint8_t)*v);
        }
        buf_append_str(out, "' ");
    }
    buf_append_str(out, "replication='database'");
    PQconninfoFree(opts);
    return true;
}

bool pgrepl_connect(PgRepl *r, const PgSettings *s, DipError *err)
{
    memset(r, 0, sizeof *r);
    r->status_interval_s = 10.0;
    Buf ci;
    buf_init(&ci);
    PgSettings rs = *s;
    bool ok = repl_conninfo(s->conninfo, &ci, err);
    if (ok) {
        rs.conninfo = buf_cstr(&ci);
        ok = pg_connect(&r->pc, &rs, err);
    }
    buf_free(&ci);
    if (!ok) return false;
    r->server_version = PQserverVersion(r->pc.conn);
    return true;
}

void pgrepl_close(PgRepl *r)
{
    if (r->copybuf) PQfreemem(r->copybuf);
    r->copybuf = NULL;
    pg_close(&r->pc);
    r->streaming = false;
}

/* Runs a replication command or simple SQL; *res must be PQclear'ed. */
static bool repl_exec(PgConn *c, const char *cmd, const char *what, ExecStatusType want,
                      PGresult **res, DipError *err)
{
    *res = NULL;
    if (!pg_is_alive(c))
        return dip_error_set(err, DIP_ERR_TRANSIENT, "postgresql %s:%s: %s: connection lost",
                             c->host, c->port, what);
    PGresult *x = PQexec(c->conn, cmd);
    if (PQresultStatus(x) != want) {
        pg_error_from_result(err, c, x, what);
        PQclear(x);
        return false;
    }
    *res = x;
    return true;
}

static bool repl_lsn_field(const PGresult *res, int row, int col, PgLsn *out, const char *what,
                           DipError *err)
{
    const char *v = PQgetvalue(res, row, col);
    if (!pgrepl_lsn_parse(v, out))
        return dip_error_set(err, DIP_ERR_DATA, "%s: '%s' is not an LSN", what, v);
    return true;
}

bool pgrepl_identify_system(PgRepl *r, PgReplSystem *out, DipError *err)
{
    PGresult *res;
    memset(out, 0, sizeof *out);
    if (!repl_exec(&r->pc, "IDENTIFY_SYSTEM", "IDENTIFY_SYSTEM", PGRES_TUPLES_OK, &res, err))
        return false;
    bool ok = true;
    int64_t tli = 0;
    if (PQntuples(res) != 1 || PQnfields(res) < 4)
        ok = dip_error_set(err, DIP_ERR_DATA,
                           "IDENTIFY_SYSTEM: %d rows of %d columns, expected 1 "
                           "of 4",
                           PQntuples(res), PQnfields(res));
    else if (!dip_parse_i64(PQgetvalue(res, 0, 1), &tli) || tli < 1 || tli > INT32_MAX)
        ok = dip_error_set(err, DIP_ERR_DATA, "IDENTIFY_SYSTEM: timeline '%s'",
                           PQgetvalue(res, 0, 1));
    else
        ok = repl_lsn_field(res, 0, 2, &out->xlogpos, "IDENTIFY_SYSTEM xlogpos", err);
    if (ok) {
        dip_strlcpy(out->systemid, PQgetvalue(res, 0, 0), sizeof out->systemid);
        dip_strlcpy(out->dbname, PQgetvalue(res, 0, 3), sizeof out->dbname);
        out->timeline = (int)tli;
    }
    PQclear(res);
    return ok;
}

bool pgrepl_history_switch(const char *history, int tli, PgLsn *switch_lsn)
{
    /* lines "parentTLI <tab> switchpoint <tab> reason"; comments start with '#' */
    for (const char *p = history; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        char line[256];
        if (len < sizeof line && *p != '#') {
            memcpy(line, p, len);
            line[len] = '\0';
            char *tab = strchr(line, '\t');
            char *tab2 = tab ? strchr(tab + 1, '\t') : NULL;
            if (tab2) *tab2 = '\0';
            int64_t parent;
            if (tab) {
                *tab = '\0';
                if (dip_parse_i64(line, &parent) && parent == tli &&
                    pgrepl_lsn_parse(tab + 1, switch_lsn))
                    return true;
            }
        }
        p = eol ? eol + 1 : NULL;
    }
    return false;
}

bool pgrepl_timeline_switch(PgRepl *r, int tli, int from_tli, PgLsn *switch_lsn, bool *found,
                            DipError *err)
{
    *found = false;
    *switch_lsn = 0;
    char cmd[48];
    dip_snprintf(cmd, sizeof cmd, "TIMELINE_HISTORY %d", tli);
    PGresult *res;
    if (!repl_exec(&r->pc, cmd, "TIMELINE_HISTORY", PGRES_TUPLES_OK, &res, err)) return false;
    bool ok = true;
    if (PQntuples(res) != 1 || PQnfields(res) < 2)
        ok = dip_error_set(err, DIP_ERR_DATA, "%s: %d rows of %d columns, expected 1 of 2", cmd,
                           PQntuples(res), PQnfields(res));
    else
        *found = pgrepl_history_switch(PQgetvalue(res, 0, 1), from_tli, switch_lsn);
    PQclear(res);
    return ok;
}

bool pgrepl_slot_name_check(const char *slot, DipError *err)
{
    size_t n = slot ? strlen(slot) : 0;
    bool ok = n >= 1 && n <= 63;
    for (size_t i = 0; ok && i < n; i++)
        ok = (slot[i] >= 'a' && slot[i] <= 'z') || (slot[i] >= '0' && slot[i] <= '9') ||
             slot[i] == '_';
    if (!ok)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "replication slot name '%s': expected 1 to 63 lower-case letters, "
                             "digits or underscores (PostgreSQL's rule)",
                             slot ? slot : "");
    return true;
}

bool pgrepl_slot_create(PgRepl *r, const char *slot, bool temporary, PgReplSlot *out, DipError *err)
{
    memset(out, 0, sizeof *out);
    if (!pgrepl_slot_name_check(slot, err)) return false;
    /* The pre-15 spelling (EXPORT_SNAPSHOT) is still accepted by every later server. */
    char cmd[160];
    dip_snprintf(cmd, sizeof cmd,
                 "CREATE_REPLICATION_SLOT \"%s\" %sLOGICAL pgoutput EXPORT_SNAPSHOT", slot,
                 temporary ? "TEMPORARY " : "");
    char what[128];
    dip_snprintf(what, sizeof what, "create replication slot %s", slot);
    PGresult *res;
    if (!repl_exec(&r->pc, cmd, what, PGRES_TUPLES_OK, &res, err)) return false;
    bool ok = true;
    if (PQntuples(res) != 1 || PQnfields(res) < 3)
        ok = dip_error_set(err, DIP_ERR_DATA, "%s: %d rows of %d columns, expected 1 of 4", what,
                           PQntuples(res), PQnfields(res));
    else
        ok = repl_lsn_field(res, 0, 1, &out->consistent_point, what, err);
    if (ok) {
        dip_strlcpy(out->slot_name, PQgetvalue(res, 0, 0), sizeof out->slot_name);
        dip_strlcpy(out->snapshot_name, PQgetvalue(res, 0, 2), sizeof out->snapshot_name);
    }
    PQclear(res);
    return ok;
}

bool pgrepl_slot_drop(PgRepl *r, const char *slot, DipError *err)
{
    if (!pgrepl_slot_name_check(slot, err)) return false;
    char cmd[128], what[128];
    dip_snprintf(cmd, sizeof cmd, "DROP_REPLICATION_SLOT \"%s\"", slot);
    dip_snprintf(what, sizeof what, "drop replication slot %s", slot);
    PGresult *res;
    if (!repl_exec(&r->pc, cmd, what, PGRES_COMMAND_OK, &res, err)) return false;
    PQclear(res);
    return true;
}

/* ------------------------------------------------------------ slot health */

/* Runs an embedded sql/ file with {{key}} replaced by a quoted literal. */
static bool repl_sql_literal(PgConn *c, const char *file, const char *key, const char *value,
                             PGresult **res, DipError *err)
{
    const char *tmpl;
    if (!pg_sql_get(file, &tmpl, err)) return false;
    Buf lit, sql;
    buf_init(&lit);
    buf_init(&sql);
    pg_quote_literal(value, &lit);
    const char *kv[] = {key, buf_cstr(&lit), NULL};
    bool ok = pg_sql_render(tmpl, kv, &sql, err) &&
              repl_exec(c, buf_cstr(&sql), file, PGRES_TUPLES_OK, res, err);
    buf_free(&lit);
    buf_free(&sql);
    return ok;
}

bool pgrepl_slot_health(PgConn *c, const char *slot, PgSlotHealth *out, DipError *err)
{
    memset(out, 0, sizeof *out);
    PGresult *res;
    if (!pgrepl_slot_name_check(slot, err) ||
        !repl_sql_literal(c, "sql/pgrepl_slot_health.sql", "slot", slot, &res, err))
        return false;
    bool ok = true;
    if (PQntuples(res) == 1) {
        out->exists = true;
        dip_strlcpy(out->plugin, PQgetvalue(res, 0, 0), sizeof out->plugin);
        out->active = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
        dip_strlcpy(out->wal_status, PQgetvalue(res, 0, 2), sizeof out->wal_status);
        out->invalidated = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
        if (!out->invalidated)
            ok = repl_lsn_field(res, 0, 4, &out->restart_lsn, "slot restart_lsn", err);
        if (ok && PQgetvalue(res, 0, 5)[0])
            ok = repl_lsn_field(res, 0, 5, &out->confirmed_flush, "slot confirmed_flush_lsn", err);
        if (ok && (!dip_parse_i64(PQgetvalue(res, 0, 6), &out->retained_bytes) ||
                   !dip_parse_i64(PQgetvalue(res, 0, 7), &out->safe_wal_size)))
            ok = dip_error_set(err, DIP_ERR_DATA, "slot %s: retained WAL '%s', safe size '%s'",
                               slot, PQgetvalue(res, 0, 6), PQgetvalue(res, 0, 7));
        out->two_phase = strcmp(PQgetvalue(res, 0, 8), "t") == 0;
    }
    PQclear(res);
    return ok;
}

bool pgrepl_slot_exists(PgConn *c, const char *slot, bool *exists, DipError *err)
{
    PgSlotHealth h;
    *exists = false;
    if (!pgrepl_slot_health(c, slot, &h, err)) return false;
    *exists = h.exists;
    return true;
}

bool pgrepl_slot_check(PgConn *c, const char *slot, PgSlotHealth *out, DipError *err)
{
    if (!pgrepl_slot_health(c, slot, out, err)) return false;
    if (!out->exists)
        return dip_error_set(err, DIP_ERR_NOT_FOUND,
                             "replication slot %s does not exist on %s:%s (database %s): create "
                             "it with an initial load (`dip sync-es --reindex`)",
                             slot, c->host, c->port, c->dbname);
    if (strcmp(out->wal_status, "lost") == 0 || out->invalidated)
        return dip_error_set(err, DIP_ERR_DATA,
                             "replication slot %s on %s:%s is lost (wal_status '%s'%s): the WAL "
                             "it needed was removed, " REPL_WAY_BACK,
                             slot, c->host, c->port, out->wal_status,
                             out->invalidated ? ", invalidated" : "");
    if (strcmp(out->plugin, "pgoutput") != 0)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "replication slot %s uses output plugin '%s', dip needs pgoutput",
                             slot, out->plugin);
    return true;
}

bool pgrepl_heartbeat(PgConn *c, PgLsn *lsn, DipError *err)
{
    PGresult *res;
    *lsn = 0;
    if (!repl_sql_literal(c, "sql/pgrepl_heartbeat.sql", "prefix", PGREPL_HEARTBEAT_PREFIX, &res,
                          err))
        return false;
    bool ok = PQntuples(res) == 1 && repl_lsn_field(res, 0, 0, lsn, "heartbeat LSN", err);
    if (PQntuples(res) != 1)
        ok = dip_error_set(err, DIP_ERR_DATA, "heartbeat: %d rows, expected 1", PQntuples(res));
    PQclear(res);
    return ok;
}

/* ------------------------------------------------------------ streaming */

/* publication_names takes a list of identifiers inside one string literal: each name is
 * double-quoted (quotes doubled), then the whole list is quoted as a literal. */
static void repl_publication_list(const char *const *pubs, int n, Buf *out)
{
    Buf ids;
    buf_init(&ids);
    for (int i = 0; i < n; i++) {
        if (i) buf_append_byte(&ids, ',');
        buf_append_byte(&ids, '"');
        for (const char *p = pubs[i]; *p; p++) {
            if (*p == '"') buf_append_byte(&ids, '"');
            buf_append_byte(&ids, (uint8_t)*p);
        }
        buf_append_byte(&ids, '"');
    }
    pg_quote_literal(buf_cstr(&ids), out);
    buf_free(&ids);
}

bool pgrepl_start(PgRepl *r, const PgReplStart *opt, DipError *err)
{
    if (r->streaming)
        return dip_error_set(err, DIP_ERR_INTERNAL, "replication: already streaming slot %s",
                             r->slot);
    if (r->streamed_once)
        return dip_error_set(err, DIP_ERR_INTERNAL,
                             "replication: this connection streamed slot %s before; a walsender "
                             "ends a second START_REPLICATION at once (PostgreSQL keeps its "
                             "end-of-stream state): reconnect first",
                             r->slot);
    if (opt->npublications < 1)
        return dip_error_set(err, DIP_ERR_CONFIG, "replication: no publication to stream");
    int proto = opt->proto_version ? opt->proto_version : r->server_version >= 140000 ? 2 : 1;
    if (proto < 1 || proto > 4)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "replication: pgoutput protocol version %d: dip speaks 1 to 4", proto);
    static const int since[] = {0, 0, 140000, 150000, 160000};
    if (r->server_version < since[proto])
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "replication: pgoutput protocol %d needs PostgreSQL %d or later (the "
                             "server is %d)",
                             proto, since[proto] / 10000, r->server_version);
    if (opt->streaming && proto < 2)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "replication: streaming of in-progress transactions needs protocol "
                             "version 2");
    if (opt->two_phase && proto < 3)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "replication: decoding prepared transactions (two_phase) needs "
                             "protocol version 3");
    PgSlotHealth h;
    if (!pgrepl_slot_check(&r->pc, opt->slot, &h, err)) return false;

    char lsn[24];
    pgrepl_lsn_format(opt->start_lsn, lsn);
    Buf cmd;
    buf_init(&cmd);
    buf_printf(&cmd, "START_REPLICATION SLOT \"%s\" LOGICAL %s (proto_version '%d', ", opt->slot,
               lsn, proto);
    buf_append_str(&cmd, "publication_names ");
    repl_publication_list(opt->publications, opt->npublications, &cmd);
    if (opt->streaming) buf_append_str(&cmd, ", streaming 'on'");
    if (opt->two_phase) buf_append_str(&cmd, ", two_phase 'on'");
    /* pgoutput knows the messages option since 14; older servers reject unknown options */
    if (r->server_version >= 140000)
        buf_printf(&cmd, ", messages '%s'", opt->messages ? "true" : "false");
    buf_append_byte(&cmd, ')');
    char what[128];
    dip_snprintf(what, sizeof what, "START_REPLICATION of slot %s", opt->slot);
    PGresult *res;
    bool ok = repl_exec(&r->pc, buf_cstr(&cmd), what, PGRES_COPY_BOTH, &res, err);
    buf_free(&cmd);
    if (!ok) return false;
    PQclear(res);
    dip_strlcpy(r->slot, opt->slot, sizeof r->slot);
    r->proto_version = proto;
    r->streaming = true;
    r->streamed_once = true;
    /* never report less than the slot already has: the server would take it */
    r->confirmed_lsn = opt->start_lsn > h.confirmed_flush ? opt->start_lsn : h.confirmed_flush;
    r->received_lsn = r->confirmed_lsn;
    r->reported_lsn = 0;
    r->last_status_s = dip_now_s();
    return true;
}

bool pgrepl_parse_copydata(const uint8_t *p, size_t n, PgReplEvent *ev, DipError *err)
{
    memset(ev, 0, sizeof *ev);
    PgrReader r = {p, n, 1, "replication", "CopyData", err};
    if (n == 0) return dip_error_set(err, DIP_ERR_DATA, "replication: empty CopyData message");
    if (p[0] == 'w') {
        r.what = "XLogData";
        if (!pgr_u64(&r, &ev->wal_start, "WAL start") || !pgr_u64(&r, &ev->wal_end, "WAL end") ||
            !pgr_timestamp(&r, &ev->send_time_us, "send time"))
            return false;
        ev->kind = PGREPL_EV_DATA;
        ev->data = p + r.off;
        ev->len = n - r.off;
        if (ev->len == 0)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "replication XLogData at %" PRIX64 ": no message after the header",
                                 ev->wal_start);
        return true;
    }
    if (p[0] == 'k') {
        r.what = "keepalive";
        uint8_t reply;
        if (!pgr_u64(&r, &ev->wal_end, "WAL end") ||
            !pgr_timestamp(&r, &ev->send_time_us, "send time") || !pgr_u8(&r, &reply, "reply flag"))
            return false;
        if (r.off != n)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "replication keepalive message (%zu bytes): offset %zu: trailing "
                                 "bytes",
                                 n, r.off);
        ev->kind = PGREPL_EV_KEEPALIVE;
        ev->reply_requested = reply != 0;
        return true;
    }
    return dip_error_set(err, DIP_ERR_DATA,
                         "replication CopyData message (%zu bytes): offset 0: unknown type 0x%02x "
                         "(expected 'w' XLogData or 'k' keepalive)",
                         n, p[0]);
}

/* Adds the way back to errors that mean the slot cannot stream any more. */
static bool repl_stream_error(PgRepl *r, const PGresult *res, const char *what, DipError *err)
{
    pg_error_from_result(err, &r->pc, res, what);
    if (strstr(err->msg, "can no longer get changes from replication slot") ||
        strstr(err->msg, "has already been removed") || strstr(err->msg, "invalidated"))
        dip_snprintf(err->msg + strlen(err->msg), sizeof err->msg - strlen(err->msg), "; %s",
                     REPL_WAY_BACK);
    r->streaming = false;
    return false;
}

bool pgrepl_send_status(PgRepl *r, bool reply_requested, DipError *err)
{
    if (!r->streaming)
        return dip_error_set(err, DIP_ERR_INTERNAL,
                             "replication: status update while not streaming");
    uint8_t msg[34];
    uint64_t lsn = r->confirmed_lsn;
    int64_t now = dip_wall_us() - PGREPL_EPOCH_OFFSET_US;
    size_t k = 0;
    msg[k++] = 'r';
    for (int f = 0; f < 4; f++) {
        uint64_t v = f < 3 ? lsn : (uint64_t)now;
        for (int i = 7; i >= 0; i--)
            msg[k++] = (uint8_t)(v >> (8 * i));
    }
    msg[k++] = reply_requested ? 1 : 0;
    if (PQputCopyData(r->pc.conn, (const char *)msg, (int)k) != 1 || PQflush(r->pc.conn) != 0)
        return repl_stream_error(r, NULL, "standby status update", err);
    r->reported_lsn = lsn;
    r->last_status_s = dip_now_s();
    r->stats.status_updates++;
    return true;
}

void pgrepl_confirm(PgRepl *r, PgLsn lsn)
{
    if (lsn > r->confirmed_lsn) r->confirmed_lsn = lsn;
}

/* Waits until the socket is readable or ms passed; false on a poll failure. */
static bool repl_wait(PgRepl *r, int ms, DipError *err)
{
    struct pollfd pfd = {PQsocket(r->pc.conn), POLLIN, 0};
    if (pfd.fd < 0) return repl_stream_error(r, NULL, "replication socket", err);
    int rc = poll(&pfd, 1, ms < 0 ? 0 : ms);
    if (rc < 0 && errno != EINTR)
        return dip_error_set(err, DIP_ERR_TRANSIENT, "replication: poll: %s", strerror(errno));
    if (rc > 0 && PQconsumeInput(r->pc.conn) != 1)
        return repl_stream_error(r, NULL, "replication stream", err);
    return true;
}

/* After PQgetCopyData returned -1: the server ended the COPY; collect its verdict. */
static bool repl_copy_finished(PgRepl *r, DipError *err)
{
    bool ok = true;
    PGresult *res;
    r->streaming = false;
    while ((res = PQgetResult(r->pc.conn)) != NULL) {
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_COPY_IN) {
            /* the server ended its side first: end ours so the command can complete */
            PQclear(res);
            if (PQputCopyEnd(r->pc.conn, NULL) != 1 || PQflush(r->pc.conn) != 0)
                return repl_stream_error(r, NULL, "replication CopyDone", err);
            continue;
        }
        if (ok && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            repl_stream_error(r, res, "replication stream", err);
            ok = false;
        }
        PQclear(res);
    }
    return ok;
}

bool pgrepl_next(PgRepl *r, int timeout_ms, PgReplEvent *ev, DipError *err)
{
    memset(ev, 0, sizeof *ev);
    if (r->copybuf) PQfreemem(r->copybuf);
    r->copybuf = NULL;
    if (!r->streaming) return dip_error_set(err, DIP_ERR_INTERNAL, "replication: not streaming");
    double deadline = dip_now_s() + (timeout_ms > 0 ? timeout_ms : 0) / 1000.0;
    for (;;) {
        double now = dip_now_s();
        if (now - r->last_status_s >= r->status_interval_s && !pgrepl_send_status(r, false, err))
            return false;
        char *buf = NULL;
        int n = PQgetCopyData(r->pc.conn, &buf, 1);
        if (n > 0) {
            r->copybuf = buf;
            if (!pgrepl_parse_copydata((const uint8_t *)buf, (size_t)n, ev, err)) return false;
            if (ev->kind == PGREPL_EV_KEEPALIVE) {
                r->stats.keepalives++;
                if (ev->wal_end > r->received_lsn) r->received_lsn = ev->wal_end;
                if (ev->reply_requested) {
                    if (!pgrepl_send_status(r, false, err)) return false;
                    r->stats.keepalive_replies++;
                }
            } else {
                r->stats.xlogdata_messages++;
                r->stats.bytes_received += (int64_t)ev->len;
                if (ev->wal_start > r->received_lsn) r->received_lsn = ev->wal_start;
            }
            return true;
        }
        if (n == -1) {
            if (!repl_copy_finished(r, err)) return false;
            ev->kind = PGREPL_EV_END;
            return true;
        }
        if (n == -2) return repl_stream_error(r, NULL, "replication stream", err);
        double left = deadline - now;
        if (left <= 0) {
            ev->kind = PGREPL_EV_TIMEOUT;
            return true;
        }
        double to_status = r->last_status_s + r->status_interval_s - now;
        double wait = left < to_status ? left : to_status;
        if (!repl_wait(r, (int)(wait * 1000.0) + 1, err)) return false;
    }
}

bool pgrepl_stop(PgRepl *r, int timeout_ms, DipError *err)
{
    if (r->copybuf) PQfreemem(r->copybuf);
    r->copybuf = NULL;
    if (!r->streaming) return true;
    if (!pgrepl_send_status(r, false, err)) return false;
    if (PQputCopyEnd(r->pc.conn, NULL) != 1 || PQflush(r->pc.conn) != 0)
        return repl_stream_error(r, NULL, "replication CopyDone", err);
    double deadline = dip_now_s() + timeout_ms / 1000.0;
    for (;;) {
        char *buf = NULL;
        int n = PQgetCopyData(r->pc.conn, &buf, 1);
        if (n > 0) {
            PQfreemem(buf); /* in flight before the server saw our CopyDone: not confirmed, so
                               it is sent again on the next start */
            continue;
        }
        if (n == -1) return repl_copy_finished(r, err);
        if (n == -2) return repl_stream_error(r, NULL, "replication stop", err);
        double left = deadline - dip_now_s();
        if (left <= 0) {
            r->streaming = false;
            return dip_error_set(err, DIP_ERR_TRANSIENT,
                                 "replication stop: the server did not end the stream of slot %s "
                                 "within %d ms",
                                 r->slot, timeout_ms);
        }
        if (!repl_wait(r, (int)(left * 1000.0) + 1, err)) return false;
    }
}
