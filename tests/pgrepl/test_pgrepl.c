/* Integration test of logical replication against a private PostgreSQL 15 (run-pgrepl.sh:
 * wal_level=logical, logical_decoding_work_mem=64kB): a slot with an exported snapshot (the
 * seam between snapshot and stream), then SQL producing every pgoutput message kind, decoded
 * and compared line by line in order: insert/update/delete under REPLICA IDENTITY DEFAULT and
 * FULL, a key change (old key 'K'), an unchanged TOASTed value ('u'), TRUNCATE with CASCADE and
 * RESTART IDENTITY, transactional and non-transactional messages, custom enum and composite
 * types (Type messages), a replication origin, a streamed transaction with a rolled-back
 * subtransaction (Stream Abort of the subxact), a streamed transaction aborted as a whole.
 * Standby status updates move confirmed_flush_lsn exactly to what was confirmed and no
 * further; keepalives are answered (a second connection with wal_sender_timeout=2s stays up
 * for 6 s); a clean stop leaves the connection usable and a restart resumes after the
 * confirmed position; heartbeats; a lost slot is reported with the way back.
 * DIP_PGOUTPUT_CORPUS=DIR writes the captured messages as fuzz seeds (fuzz/fuzz_pgoutput.c). */
#include "check.h"
#include "pg/pgrepl.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static PgSettings settings;
static PgConn db;   /* ordinary connection for the writes and catalog checks */
static PgRepl repl; /* the replication connection under test */
static PgoDecoder dec;
static Buf relmsgs; /* every Relation / Type message seen so far (corpus seeds need them) */
static int corpus_n;

#define SLOT "dip_test_slot"

/* ------------------------------------------------------------ helpers */

static void sql(PgConn *c, const char *q)
{
    DipError err = {0};
    if (!pg_exec(c, q, &err)) {
        fprintf(stderr, "FATAL: %s: %s\n", q, err.msg);
        exit(1);
    }
}

/* First column of the first row, "" for NULL / no row; caller frees. */
static char *sql1(PgConn *c, const char *q)
{
    DipError err = {0};
    PGresult *r = PQexec(c->conn, q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_from_result(&err, c, r, q);
        fprintf(stderr, "FATAL: %s\n", err.msg);
        exit(1);
    }
    char *v = dip_strdup(PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    return v;
}

static PgLsn slot_confirmed(const char *slot)
{
    char q[256];
    dip_snprintf(q, sizeof q,
                 "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '%s'",
                 slot);
    char *v = sql1(&db, q);
    PgLsn l = 0;
    if (!pgrepl_lsn_parse(v, &l)) l = 0;
    free(v);
    return l;
}

static void render_value(Buf *out, const PgoValue *v)
{
    if (v->kind == PGO_VALUE_NULL)
        buf_append_str(out, "NULL");
    else if (v->kind == PGO_VALUE_UNCHANGED)
        buf_append_str(out, "UNCHANGED");
    else if (v->kind == PGO_VALUE_BINARY)
        buf_printf(out, "BIN(%u)", v->len);
    else if (v->len > 40)
        buf_printf(out, "<%u bytes>", v->len);
    else
        buf_append(out, v->data, v->len);
}

static void render_tuple(Buf *out, char tag, const PgoTuple *t)
{
    buf_printf(out, " %c(", tag);
    for (int i = 0; i < t->ncols; i++) {
        if (i) buf_append_byte(out, ',');
        render_value(out, &t->values[i]);
    }
    buf_append_byte(out, ')');
}

/* One line per message: stable across runs (no LSNs, xids or custom OIDs). */
static void render(const PgoMessage *m, Buf *out)
{
    const PgoRelation *rel;
    switch (m->kind) {
    case PGO_BEGIN:
        buf_append_str(out, "BEGIN");
        break;
    case PGO_COMMIT:
        buf_append_str(out, "COMMIT");
        break;
    case PGO_ORIGIN: {
        char l[24];
        pgrepl_lsn_format(m->u.origin.lsn, l);
        buf_printf(out, "ORIGIN %s %s", m->u.origin.name, l);
        break;
    }
    case PGO_RELATION:
        rel = m->u.relation;
        buf_printf(out, "RELATION %s.%s %c", rel->nspname, rel->relname, rel->replident);
        for (int i = 0; i < rel->ncols; i++) {
            buf_printf(out, "%c%s:", i ? ',' : ' ', rel->cols[i].name);
            if (rel->cols[i].type_oid < 16384)
                buf_printf(out, "%u", rel->cols[i].type_oid);
            else
                buf_append_str(out, "custom");
            if (rel->cols[i].flags & PGO_COLUMN_KEY) buf_append_str(out, ":key");
        }
        break;
    case PGO_TYPE:
        buf_printf(out, "TYPE %s.%s", m->u.type.nspname, m->u.type.name);
        break;
    case PGO_INSERT:
    case PGO_UPDATE:
    case PGO_DELETE:
        rel = m->u.change.rel;
        buf_printf(out, "%s %s.%s",
                   m->kind == PGO_INSERT   ? "INSERT"
                   : m->kind == PGO_UPDATE ? "UPDATE"
                                           : "DELETE",
                   rel->nspname, rel->relname);
        if (m->u.change.old_kind) render_tuple(out, m->u.change.old_kind, &m->u.change.old_tuple);
        if (m->kind != PGO_DELETE) render_tuple(out, 'N', &m->u.change.new_tuple);
        break;
    case PGO_TRUNCATE:
        buf_append_str(out, "TRUNCATE");
        if (m->u.truncate.cascade) buf_append_str(out, " cascade");
        if (m->u.truncate.restart_identity) buf_append_str(out, " restart");
        for (int i = 0; i < m->u.truncate.nrels; i++) {
            const PgoRelation *r = pgoutput_relation(&dec, m->u.truncate.oids[i]);
            buf_printf(out, "%c%s", i ? ',' : ' ', r ? r->relname : "?");
        }
        break;
    case PGO_MESSAGE:
        buf_printf(out, "MESSAGE %s %s ", m->u.message.transactional ? "tx" : "nontx",
                   m->u.message.prefix);
        buf_append(out, m->u.message.content, m->u.message.content_len);
        break;
    case PGO_STREAM_START:
        buf_printf(out, "STREAM START %s", m->u.stream_start.first_segment ? "first" : "next");
        break;
    case PGO_STREAM_STOP:
        buf_append_str(out, "STREAM STOP");
        break;
    case PGO_STREAM_COMMIT:
        buf_append_str(out, "STREAM COMMIT");
        break;
    case PGO_STREAM_ABORT:
        buf_printf(out, "STREAM ABORT %s", m->u.stream_abort.subxid == m->xid ? "top" : "sub");
        break;
    case PGO_BEGIN_PREPARE:
    case PGO_PREPARE:
    case PGO_COMMIT_PREPARED:
    case PGO_ROLLBACK_PREPARED:
    case PGO_STREAM_PREPARE:
        buf_printf(out, "%s %s", pgoutput_kind_name(m->kind), m->u.prepare.gid);
        break;
    }
}

/* A captured message: its text line, the decoded header fields the checks need. */
typedef struct Captured {
    char *line;
    PgoKind kind;
    bool has_xid;
    uint32_t xid;
    uint32_t subxid;
    PgLsn end_lsn;     /* Commit / Stream Commit */
    PgLsn msg_lsn;     /* Message */
    int64_t first_int; /* Insert: the first column as an integer (streaming checks) */
} Captured;

typedef struct Capture {
    Captured *items;
    int n, cap;
    Buf raw; /* records for the fuzz corpus: u32 length + message bytes */
} Capture;

static void capture_free(Capture *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->items[i].line);
    free(c->items);
    buf_free(&c->raw);
    memset(c, 0, sizeof *c);
}

static bool is_end(const PgoMessage *m)
{
    return m->kind == PGO_COMMIT || m->kind == PGO_STREAM_COMMIT ||
           (m->kind == PGO_STREAM_ABORT && m->u.stream_abort.subxid == m->xid) ||
           (m->kind == PGO_MESSAGE && !m->u.message.transactional);
}

static void corpus_write(const Capture *c)
{
    const char *dir = getenv("DIP_PGOUTPUT_CORPUS");
    if (dir == NULL || c->raw.len == 0) return;
    char path[512];
    dip_snprintf(path, sizeof path, "%s/session-%02d", dir, ++corpus_n);
    FILE *f = fopen(path, "wb");
    if (f == NULL) return;
    uint8_t proto = (uint8_t)repl.proto_version;
    fwrite(&proto, 1, 1, f);
    fwrite(relmsgs.data, 1, relmsgs.len, f);
    fwrite(c->raw.data, 1, c->raw.len, f);
    fclose(f);
}

/* Reads and decodes until `ends` transactions (or non-transactional messages) ended, for at
 * most timeout_s. Returns false on a decode or stream error (reported as a failed check). */
static bool capture(Capture *c, int ends, double timeout_s)
{
    double deadline = dip_now_s() + timeout_s;
    int seen = 0;
    while (seen < ends && dip_now_s() < deadline) {
        PgReplEvent ev;
        DipError err = {0};
        if (!pgrepl_next(&repl, 200, &ev, &err)) {
            CHECK(false, "stream: %s", err.msg);
            return false;
        }
        if (ev.kind == PGREPL_EV_END) {
            CHECK(false, "the server ended the stream");
            return false;
        }
        if (ev.kind != PGREPL_EV_DATA) continue;
        PgoMessage m;
        if (!pgoutput_decode(&dec, ev.data, ev.len, &m, &err)) {
            CHECK(false, "decode: %s", err.msg);
            return false;
        }
        Buf *raw = m.kind == PGO_RELATION || m.kind == PGO_TYPE ? &relmsgs : &c->raw;
        if (!(m.kind == PGO_RELATION && m.has_xid)) { /* streamed ones need their Stream Start */
            buf_append_be32(raw, (uint32_t)ev.len);
            buf_append(raw, ev.data, ev.len);
        } else {
            buf_append_be32(&c->raw, (uint32_t)ev.len);
            buf_append(&c->raw, ev.data, ev.len);
        }
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 64;
            c->items = dip_realloc(c->items, (size_t)c->cap * sizeof *c->items);
        }
        Captured *it = &c->items[c->n++];
        memset(it, 0, sizeof *it);
        Buf line;
        buf_init(&line);
        render(&m, &line);
        it->line = dip_strdup(buf_cstr(&line));
        buf_free(&line);
        it->kind = m.kind;
        it->has_xid = m.has_xid;
        it->xid = m.xid;
        if (m.kind == PGO_STREAM_ABORT) it->subxid = m.u.stream_abort.subxid;
        if (m.kind == PGO_COMMIT || m.kind == PGO_STREAM_COMMIT) it->end_lsn = m.u.commit.end_lsn;
        if (m.kind == PGO_MESSAGE) it->msg_lsn = m.u.message.lsn;
        if (m.kind == PGO_INSERT && m.u.change.new_tuple.values[0].kind == 't') {
            char num[24];
            uint32_t l = m.u.change.new_tuple.values[0].len;
            dip_snprintf(num, sizeof num, "%.*s", (int)(l < 20 ? l : 20),
                         m.u.change.new_tuple.values[0].data);
            if (!dip_parse_i64(num, &it->first_int)) it->first_int = -1;
        }
        if (is_end(&m)) seen++;
    }
    corpus_write(c);
    return seen >= ends;
}

/* Compares the captured lines with the expected ones, in order. */
static void expect_lines(const char *step, const Capture *c, const char *const *want)
{
    int n = 0;
    while (want[n])
        n++;
    bool same = c->n == n;
    for (int i = 0; same && i < n; i++)
        same = strcmp(c->items[i].line, want[i]) == 0;
    CHECK(same, "%s: the stream differs from the expected %d lines", step, n);
    if (!same) {
        for (int i = 0; i < c->n || i < n; i++)
            fprintf(stderr, "  %-3d got  %s\n      want %s\n", i, i < c->n ? c->items[i].line : "-",
                    i < n ? want[i] : "-");
    }
}

/* Runs each statement list (one transaction each), then compares what the stream carried. */
static void step(const char *name, const char *const *sqls, int ends, const char *const *want)
{
    Capture c = {0};
    for (int i = 0; sqls[i]; i++)
        sql(&db, sqls[i]);
    CHECK(capture(&c, ends, 20.0), "%s: %d ends not seen within 20 s", name, ends);
    expect_lines(name, &c, want);
    capture_free(&c);
}

/* ------------------------------------------------------------ scenarios */

/* Timeline history files as PostgreSQL writes them (xlog.c writeTimeLineHistory): one line
 * per ancestor, "parentTLI<TAB>switchpoint<TAB>reason"; and TIMELINE_HISTORY on timeline 1,
 * which has no history file, is an error naming the command. */
static void test_timeline_history(void)
{
    const char *h = "1\t0/5000060\tno recovery target specified\n"
                    "\n"
                    "2\t1/A0000000\tat restore point \"x\"\n"
                    "# a comment\n"
                    "3\t1/A0001F28\tno recovery target specified\n";
    PgLsn sw = 0;
    CHECK(pgrepl_history_switch(h, 1, &sw) && sw == UINT64_C(0x5000060), "timeline 1 ended at %llx",
          (unsigned long long)sw);
    CHECK(pgrepl_history_switch(h, 2, &sw) && sw == UINT64_C(0x1A0000000), "timeline 2: %llx",
          (unsigned long long)sw);
    CHECK(pgrepl_history_switch(h, 3, &sw) && sw == UINT64_C(0x1A0001F28), "timeline 3: %llx",
          (unsigned long long)sw);
    CHECK(!pgrepl_history_switch(h, 4, &sw), "timeline 4 is not an ancestor");
    CHECK(!pgrepl_history_switch("", 1, &sw) &&
              !pgrepl_history_switch("1\tnot-an-lsn\tx\n", 1, &sw),
          "empty or malformed history");
    DipError err = {0};
    bool found = true;
    CHECK(!pgrepl_timeline_switch(&repl, 1, 1, &sw, &found, &err) &&
              strstr(err.msg, "TIMELINE_HISTORY") != NULL,
          "TIMELINE_HISTORY 1 on a server that never failed over: %s", err.msg);
}

static void test_slot_and_snapshot(void)
{
    DipError err = {0};
    PgReplSystem sys;
    CHECK(pgrepl_identify_system(&repl, &sys, &err), "%s", err.msg);
    CHECK(strlen(sys.systemid) > 5 && sys.timeline >= 1 && sys.xlogpos > 0 &&
              strcmp(sys.dbname, "postgres") == 0,
          "IDENTIFY_SYSTEM %s %d %s", sys.systemid, sys.timeline, sys.dbname);

    sql(&db, "INSERT INTO items VALUES (0, 'before the slot', NULL)");
    PgReplSlot slot;
    CHECK(pgrepl_slot_create(&repl, SLOT, false, &slot, &err), "%s", err.msg);
    CHECK(strcmp(slot.slot_name, SLOT) == 0 && slot.consistent_point > 0 &&
              slot.snapshot_name[0] != '\0',
          "slot %s at %llx snapshot '%s'", slot.slot_name,
          (unsigned long long)slot.consistent_point, slot.snapshot_name);
    /* a row committed after the slot: in the stream, not in the exported snapshot */
    sql(&db, "INSERT INTO items VALUES (1, 'seam', NULL)");
    PgConn snap;
    CHECK(pg_connect(&snap, &settings, &err), "%s", err.msg);
    sql(&snap, "BEGIN ISOLATION LEVEL REPEATABLE READ");
    char q[160];
    dip_snprintf(q, sizeof q, "SET TRANSACTION SNAPSHOT '%s'", slot.snapshot_name);
    sql(&snap, q);
    char *ids = sql1(&snap, "SELECT string_agg(id::text, ',' ORDER BY id) FROM items");
    CHECK(strcmp(ids, "0") == 0, "the exported snapshot shows items %s, expected 0", ids);
    free(ids);
    sql(&snap, "COMMIT");
    pg_close(&snap);

    /* creating it again names the slot */
    dip_error_clear(&err);
    CHECK(!pgrepl_slot_create(&repl, SLOT, false, &slot, &err) && strstr(err.msg, SLOT) &&
              strstr(err.msg, "already exists"),
          "%s", err.msg);
    bool exists = false;
    dip_error_clear(&err);
    CHECK(pgrepl_slot_exists(&db, SLOT, &exists, &err) && exists, "exists: %s", err.msg);
    CHECK(pgrepl_slot_exists(&db, "dip_no_such_slot", &exists, &err) && !exists, "absent");
    dip_error_clear(&err);
    PgSlotHealth h;
    CHECK(!pgrepl_slot_check(&db, "dip_no_such_slot", &h, &err) && err.kind == DIP_ERR_NOT_FOUND &&
              strstr(err.msg, "dip_no_such_slot"),
          "%s", err.msg);
}

static PgLsn origin_end;   /* end of the origin transaction: confirmed by test_messages */
static PgLsn confirmed_at; /* end of the streamed commit: confirmed before the restart */

static void test_messages(void)
{
    DipError err = {0};
    const char *pubs[] = {"dip_pub", "Pub \"Two\""};
    PgReplStart st = {SLOT, 0, pubs, 2, 0, true, true, false};
    CHECK(pgrepl_start(&repl, &st, &err), "%s", err.msg);
    CHECK(repl.proto_version == 2, "protocol %d on a PostgreSQL 15 server", repl.proto_version);
    CHECK(pgoutput_decoder_init(&dec, repl.proto_version, &err), "%s", err.msg);

    step("seam", (const char *[]){"SELECT 1", NULL}, 1,
         (const char *[]){"BEGIN", "RELATION public.items d id:23:key,name:25,big:25",
                          "INSERT public.items N(1,seam,NULL)", "COMMIT", NULL});

    step("replica identity default",
         (const char *[]){"BEGIN; INSERT INTO items VALUES (2, 'a', 'x');"
                          "UPDATE items SET name = 'b' WHERE id = 2;"
                          "UPDATE items SET id = 3 WHERE id = 2; DELETE FROM items WHERE id = 3;"
                          "COMMIT",
                          NULL},
         1,
         (const char *[]){"BEGIN", "INSERT public.items N(2,a,x)", "UPDATE public.items N(2,b,x)",
                          "UPDATE public.items K(2,NULL,NULL) N(3,b,x)",
                          "DELETE public.items K(3,NULL,NULL)", "COMMIT", NULL});

    step(
        "replica identity full",
        (const char *[]){"BEGIN; INSERT INTO full_t VALUES (1, 'one'); UPDATE full_t SET v = 'uno';"
                         "DELETE FROM full_t; COMMIT",
                         NULL},
        1,
        (const char *[]){"BEGIN", "RELATION public.full_t f id:23:key,v:25:key",
                         "INSERT public.full_t N(1,one)", "UPDATE public.full_t O(1,one) N(1,uno)",
                         "DELETE public.full_t O(1,uno)", "COMMIT", NULL});

    step("unchanged toast",
         (const char *[]){"INSERT INTO items VALUES (10, 't', repeat('x', 5000))",
                          "UPDATE items SET name = 't2' WHERE id = 10", NULL},
         2,
         (const char *[]){"BEGIN", "INSERT public.items N(10,t,<5000 bytes>)", "COMMIT", "BEGIN",
                          "UPDATE public.items N(10,t2,UNCHANGED)", "COMMIT", NULL});

    step("truncate",
         (const char *[]){"INSERT INTO parent_t (v) VALUES ('p')",
                          "INSERT INTO child_t (pid) VALUES (1)", "TRUNCATE parent_t CASCADE",
                          "TRUNCATE full_t RESTART IDENTITY", NULL},
         4,
         (const char *[]){
             "BEGIN", "RELATION public.parent_t d id:23:key,v:25", "INSERT public.parent_t N(1,p)",
             "COMMIT", "BEGIN", "RELATION public.child_t d id:23:key,pid:23",
             "INSERT public.child_t N(1,1)", "COMMIT", "BEGIN",
             /* TRUNCATE gives the tables new files: their cache entries are
              * invalidated, so pgoutput describes them again first */
             "RELATION public.parent_t d id:23:key,v:25",
             "RELATION public.child_t d id:23:key,pid:23", "TRUNCATE cascade parent_t,child_t",
             "COMMIT", "BEGIN", "RELATION public.full_t f id:23:key,v:25:key",
             "TRUNCATE restart full_t", "COMMIT", NULL});

    step("messages",
         (const char *[]){"SELECT pg_logical_emit_message(false, 'dip.test', 'nontx')",
                          "BEGIN; INSERT INTO items VALUES (20, 'm', NULL);"
                          "SELECT pg_logical_emit_message(true, 'dip.test', 'tx'); COMMIT",
                          NULL},
         2,
         (const char *[]){"MESSAGE nontx dip.test nontx", "BEGIN",
                          "INSERT public.items N(20,m,NULL)", "MESSAGE tx dip.test tx", "COMMIT",
                          NULL});

    step("types", (const char *[]){"INSERT INTO typed_t VALUES (1, 'happy', '(1,one)')", NULL}, 1,
         (const char *[]){"BEGIN", "TYPE public.mood", "TYPE public.pair",
                          "RELATION public.typed_t d id:23:key,m:custom,p:custom",
                          "INSERT public.typed_t N(1,happy,(1,one))", "COMMIT", NULL});

    /* an origin set up in the writing session */
    PgConn orig;
    CHECK(pg_connect(&orig, &settings, &err), "%s", err.msg);
    sql(&orig, "SELECT pg_replication_origin_create('dip_origin')");
    sql(&orig, "SELECT pg_replication_origin_session_setup('dip_origin')");
    sql(&orig, "BEGIN; SELECT pg_replication_origin_xact_setup('0/12345678', now());"
               "INSERT INTO items VALUES (30, 'o', NULL); COMMIT");
    pg_close(&orig);
    Capture c = {0};
    CHECK(capture(&c, 1, 20.0), "origin transaction not seen");
    expect_lines("origin", &c,
                 (const char *[]){"BEGIN", "ORIGIN dip_origin 0/12345678",
                                  "INSERT public.items N(30,o,NULL)", "COMMIT", NULL});
    PgLsn end = c.n ? c.items[c.n - 1].end_lsn : 0;
    capture_free(&c);

    /* confirm it: confirmed_flush_lsn becomes exactly that */
    CHECK(end > 0, "commit end LSN");
    pgrepl_confirm(&repl, end);
    CHECK(pgrepl_send_status(&repl, false, &err), "%s", err.msg);
    PgLsn got = 0;
    for (int i = 0; i < 100 && got != end; i++) {
        PgReplEvent ev;
        if (!pgrepl_next(&repl, 50, &ev, &err)) break;
        got = slot_confirmed(SLOT);
    }
    char a[24], b[24];
    pgrepl_lsn_format(end, a);
    pgrepl_lsn_format(got, b);
    CHECK(got == end, "confirmed_flush_lsn %s, confirmed %s", b, a);
    origin_end = end;
}

static void test_streaming(void)
{
    /* a streamed transaction with a rolled-back subtransaction, then committed */
    sql(&db, "BEGIN;"
             "INSERT INTO bulk_t SELECT g, repeat('p', 100) FROM generate_series(1, 1000) g;"
             "SAVEPOINT s1;"
             "INSERT INTO bulk_t SELECT g, repeat('q', 100) FROM generate_series(5001, 6000) g;"
             "ROLLBACK TO SAVEPOINT s1;"
             "INSERT INTO bulk_t SELECT g, repeat('r', 100) FROM generate_series(2001, 2500) g;"
             "COMMIT");
    Capture c = {0};
    CHECK(capture(&c, 1, 60.0), "streamed commit not seen");
    uint32_t top = 0, sub = 0;
    int starts = 0, firsts = 0, stops = 0, aborts_sub = 0, commits = 0, bad_xid = 0;
    int top_inserts = 0, sub_inserts = 0, out_of_order = 0, abort_before_sub_change = 0;
    int64_t next_top = 1;
    bool sub_aborted = false;
    for (int i = 0; i < c.n; i++) {
        Captured *it = &c.items[i];
        if (it->kind == PGO_STREAM_START) {
            starts++;
            if (strstr(it->line, "first")) firsts++;
            if (top == 0) top = it->xid;
            if (it->xid != top) bad_xid++;
        } else if (it->kind == PGO_STREAM_STOP) {
            stops++;
        } else if (it->kind == PGO_STREAM_ABORT) {
            if (it->xid != top || it->subxid == top) bad_xid++;
            sub = it->subxid;
            sub_aborted = true;
            aborts_sub++;
        } else if (it->kind == PGO_STREAM_COMMIT) {
            commits++;
            if (it->xid != top) bad_xid++;
            confirmed_at = it->end_lsn; /* kept for test_confirm */
        } else if (it->kind == PGO_INSERT) {
            if (!it->has_xid) bad_xid++;
            /* changes carry the xid of the (sub)transaction that made them */
            if (it->first_int >= 5001 && it->first_int <= 6000) {
                sub_inserts++;
                if (sub_aborted) abort_before_sub_change++;
                if (sub == 0 && it->xid != top) sub = it->xid;
                if (it->xid == top || it->xid != sub) bad_xid++;
            } else {
                /* rows 1..1000 come from the top transaction; 2001..2500 from the subtransaction
                 * ROLLBACK TO SAVEPOINT started anew (the savepoint stays) */
                top_inserts++;
                if (it->first_int <= 1000 ? it->xid != top : it->xid == sub || it->xid == top)
                    bad_xid++;
                if (it->first_int != next_top) out_of_order++;
                next_top = it->first_int == 1000 ? 2001 : it->first_int + 1;
            }
        } else if (it->kind == PGO_COMMIT || it->kind == PGO_BEGIN) {
            bad_xid++; /* a streamed transaction has no Begin / Commit */
        }
    }
    CHECK(starts >= 2 && firsts == 1 && stops == starts,
          "stream blocks: %d starts (%d first), %d "
          "stops",
          starts, firsts, stops);
    CHECK(top != 0 && sub != 0 && sub != top, "xids top %u sub %u", top, sub);
    CHECK(bad_xid == 0, "%d messages with a wrong xid", bad_xid);
    CHECK(top_inserts == 1500 && out_of_order == 0, "%d top-level inserts, %d out of order",
          top_inserts, out_of_order);
    CHECK(sub_inserts > 0 && aborts_sub == 1 && abort_before_sub_change == 0,
          "%d streamed subtransaction inserts, %d sub aborts", sub_inserts, aborts_sub);
    CHECK(commits == 1 && c.n > 0 && c.items[c.n - 1].kind == PGO_STREAM_COMMIT,
          "ends with one Stream Commit");
    capture_free(&c);
    char *n = sql1(&db, "SELECT count(*) FROM bulk_t");
    CHECK(strcmp(n, "1500") == 0, "bulk_t holds %s rows", n);
    free(n);

    /* a transaction aborted after streaming started */
    sql(&db, "BEGIN;"
             "INSERT INTO bulk_t SELECT g, repeat('z', 100) FROM generate_series(10001, 12000) g;"
             "ROLLBACK");
    CHECK(capture(&c, 1, 60.0), "streamed abort not seen");
    int inserts = 0;
    uint32_t xid = 0;
    bad_xid = 0;
    for (int i = 0; i < c.n; i++) {
        Captured *it = &c.items[i];
        if (it->kind == PGO_STREAM_START && xid == 0) xid = it->xid;
        if (it->kind == PGO_INSERT) {
            inserts++;
            if (it->xid != xid) bad_xid++;
        }
        if (it->kind == PGO_COMMIT || it->kind == PGO_STREAM_COMMIT) bad_xid++;
    }
    Captured *last = c.n ? &c.items[c.n - 1] : NULL;
    CHECK(inserts > 0 && bad_xid == 0 && last && last->kind == PGO_STREAM_ABORT &&
              last->xid == xid && last->subxid == xid,
          "aborted stream: %d inserts, %d bad, last %s", inserts, bad_xid, last ? last->line : "-");
    capture_free(&c);
}

/* Nothing was confirmed beyond the origin transaction: the slot must still say so. */
static void test_no_further(PgLsn want, const char *when)
{
    DipError err = {0};
    CHECK(pgrepl_send_status(&repl, false, &err), "%s", err.msg);
    (void)dip_sleep_interruptible(0.5); /* the server has read the update by then */
    PgLsn got = slot_confirmed(SLOT);
    char a[24], b[24];
    pgrepl_lsn_format(want, a);
    pgrepl_lsn_format(got, b);
    CHECK(got == want, "%s: confirmed_flush_lsn %s, expected %s", when, b, a);
}

/* A second connection with wal_sender_timeout=2s, status updates only on request: it stays
 * up for 6 s because keepalives asking for a reply are answered. */
static void test_keepalives(void)
{
    DipError err = {0};
    PgRepl ka;
    setenv("PGOPTIONS", "-c wal_sender_timeout=2s", 1);
    bool ok = pgrepl_connect(&ka, &settings, &err);
    unsetenv("PGOPTIONS");
    CHECK(ok, "%s", err.msg);
    if (!ok) return;
    char *t = sql1(&ka.pc, "SHOW wal_sender_timeout");
    CHECK(strcmp(t, "2s") == 0, "wal_sender_timeout %s", t);
    free(t);
    PgReplSlot s;
    CHECK(pgrepl_slot_create(&ka, "dip_ka_slot", false, &s, &err), "%s", err.msg);
    const char *pubs[] = {"dip_pub"};
    PgReplStart st = {"dip_ka_slot", 0, pubs, 1, 1, false, false, false};
    CHECK(pgrepl_start(&ka, &st, &err), "%s", err.msg);
    ka.status_interval_s = 1000; /* only replies keep it alive */
    double until = dip_now_s() + 6.0;
    bool alive = true;
    while (alive && dip_now_s() < until) {
        PgReplEvent ev;
        alive = pgrepl_next(&ka, 300, &ev, &err) && ev.kind != PGREPL_EV_END;
        /* keep the main stream answered too */
        PgReplEvent ev2;
        DipError e2 = {0};
        if (!pgrepl_next(&repl, 10, &ev2, &e2)) CHECK(false, "main stream: %s", e2.msg);
    }
    CHECK(alive, "the stream died: %s", err.msg);
    CHECK(ka.stats.keepalive_replies >= 2, "%lld keepalives answered",
          (long long)ka.stats.keepalive_replies);
    /* still streaming: a new row arrives */
    sql(&db, "INSERT INTO items VALUES (40, 'alive', NULL)");
    PgoDecoder d1;
    CHECK(pgoutput_decoder_init(&d1, 1, &err), "%s", err.msg);
    bool got = false;
    for (double end = dip_now_s() + 10; !got && dip_now_s() < end;) {
        PgReplEvent ev;
        PgoMessage m;
        if (!pgrepl_next(&ka, 200, &ev, &err)) break;
        if (ev.kind == PGREPL_EV_DATA && pgoutput_decode(&d1, ev.data, ev.len, &m, &err) &&
            m.kind == PGO_INSERT)
            got = m.u.change.new_tuple.values[0].len == 2 &&
                  memcmp(m.u.change.new_tuple.values[0].data, "40", 2) == 0;
    }
    CHECK(got, "row 40 not received on the keepalive stream: %s", err.msg);
    pgoutput_decoder_free(&d1);
    dip_error_clear(&err);
    CHECK(pgrepl_stop(&ka, 5000, &err), "%s", err.msg);
    CHECK(pgrepl_slot_drop(&ka, "dip_ka_slot", &err), "%s", err.msg);
    pgrepl_close(&ka);
}

/* Reads the two-phase stream `tp` until a message of kind `last` with GID `gid`, appending one
 * line per message (Relation and Type left out) to `lines`; the decoded prepare fields of the
 * messages with that GID go to out[kind]. */
typedef struct TwoPhaseSeen {
    PgoMessage begin, prepare, commit, rollback, stream_prepare;
} TwoPhaseSeen;

static bool two_phase_read(PgRepl *tp, PgoDecoder *d, const char *gid, PgoKind last, Buf *lines,
                           TwoPhaseSeen *seen)
{
    DipError err = {0};
    for (double end = dip_now_s() + 20; dip_now_s() < end;) {
        PgReplEvent ev;
        PgoMessage m;
        if (!pgrepl_next(tp, 200, &ev, &err)) break;
        if (ev.kind != PGREPL_EV_DATA) continue;
        if (!pgoutput_decode(d, ev.data, ev.len, &m, &err)) break;
        if (m.kind == PGO_RELATION || m.kind == PGO_TYPE) continue;
        bool mine = false;
        switch (m.kind) {
        case PGO_BEGIN_PREPARE:
        case PGO_PREPARE:
        case PGO_COMMIT_PREPARED:
        case PGO_ROLLBACK_PREPARED:
        case PGO_STREAM_PREPARE:
            mine = strcmp(m.u.prepare.gid, gid) == 0;
            buf_printf(lines, "%s %s|", pgoutput_kind_name(m.kind), m.u.prepare.gid);
            break;
        case PGO_INSERT:
            /* the first column only: the streamed transaction has hundreds of rows */
            if (lines->len < 4096)
                buf_printf(lines, "Insert %.*s|", (int)m.u.change.new_tuple.values[0].len,
                           m.u.change.new_tuple.values[0].data);
            break;
        default:
            buf_printf(lines, "%s|", pgoutput_kind_name(m.kind));
        }
        if (mine) {
            m.u.prepare.gid = NULL; /* points into the stream's buffer */
            PgoMessage *slot = m.kind == PGO_BEGIN_PREPARE     ? &seen->begin
                               : m.kind == PGO_PREPARE         ? &seen->prepare
                               : m.kind == PGO_COMMIT_PREPARED ? &seen->commit
                               : m.kind == PGO_STREAM_PREPARE  ? &seen->stream_prepare
                                                               : &seen->rollback;
            *slot = m;
            if (m.kind == last) return true;
        }
    }
    CHECK(false, "two-phase stream: %s not seen for %s (%s)", pgoutput_kind_name(last), gid,
          err.msg);
    return false;
}

/* Protocol 3 with two_phase on, against the real server: prepared transactions arrive at
 * PREPARE (Begin Prepare .. Prepare, or streamed and closed by Stream Prepare when larger
 * than logical_decoding_work_mem), then Commit Prepared or Rollback Prepared, with the LSNs
 * tying them together. dip sync-es never asks for this; the decoder still reads all of it. */
static void test_two_phase(void)
{
    DipError err = {0};
    PgRepl tp;
    CHECK(pgrepl_connect(&tp, &settings, &err), "%s", err.msg);
    PgReplSlot s;
    CHECK(pgrepl_slot_create(&tp, "dip_2pc_slot", false, &s, &err), "%s", err.msg);
    const char *pubs[] = {"dip_pub"};
    PgSlotHealth h;
    CHECK(pgrepl_slot_health(&db, "dip_2pc_slot", &h, &err) && h.exists && !h.two_phase,
          "a new slot has no two_phase: %s", err.msg);
    PgReplStart st = {"dip_2pc_slot", 0, pubs, 1, 2, true, false, true};
    CHECK(!pgrepl_start(&tp, &st, &err) && strstr(err.msg, "needs protocol version 3"),
          "two_phase on protocol 2: %s", err.msg);
    dip_error_clear(&err);
    st.proto_version = 3;
    CHECK(pgrepl_start(&tp, &st, &err), "%s", err.msg);
    PgoDecoder d;
    CHECK(pgoutput_decoder_init(&d, 3, &err), "%s", err.msg);

    TwoPhaseSeen a = {0}, b = {0}, c = {0};
    Buf lines;
    buf_init(&lines);
    sql(&db, "BEGIN; INSERT INTO items VALUES (60, '2pc', NULL); PREPARE TRANSACTION 'dip-a'");
    if (two_phase_read(&tp, &d, "dip-a", PGO_PREPARE, &lines, &a)) {
        CHECK(strcmp(buf_cstr(&lines), "Begin Prepare dip-a|Insert 60|Prepare dip-a|") == 0,
              "prepared: %s", buf_cstr(&lines));
        CHECK(a.begin.xid == a.prepare.xid && a.begin.u.prepare.lsn == a.prepare.u.prepare.lsn &&
                  a.begin.u.prepare.end_lsn == a.prepare.u.prepare.end_lsn &&
                  a.prepare.u.prepare.end_lsn > a.prepare.u.prepare.lsn,
              "Begin Prepare and Prepare describe the same PREPARE record");
    }
    buf_clear(&lines);
    sql(&db, "COMMIT PREPARED 'dip-a'");
    if (two_phase_read(&tp, &d, "dip-a", PGO_COMMIT_PREPARED, &lines, &a)) {
        CHECK(strcmp(buf_cstr(&lines), "Commit Prepared dip-a|") == 0, "commit prepared: %s",
              buf_cstr(&lines));
        CHECK(a.commit.xid == a.prepare.xid &&
                  a.commit.u.prepare.lsn >= a.prepare.u.prepare.end_lsn &&
                  a.commit.u.prepare.end_lsn > a.commit.u.prepare.lsn,
              "Commit Prepared comes after the PREPARE, for the same xid (xid %u/%u, prepare "
              "%llx-%llx, commit %llx-%llx)",
              a.commit.xid, a.prepare.xid, (unsigned long long)a.prepare.u.prepare.lsn,
              (unsigned long long)a.prepare.u.prepare.end_lsn,
              (unsigned long long)a.commit.u.prepare.lsn,
              (unsigned long long)a.commit.u.prepare.end_lsn);
    }
    buf_clear(&lines);
    sql(&db, "BEGIN; INSERT INTO items VALUES (61, '2pc', NULL); PREPARE TRANSACTION 'dip-b'");
    sql(&db, "ROLLBACK PREPARED 'dip-b'");
    if (two_phase_read(&tp, &d, "dip-b", PGO_ROLLBACK_PREPARED, &lines, &b)) {
        CHECK(strcmp(buf_cstr(&lines),
                     "Begin Prepare dip-b|Insert 61|Prepare dip-b|Rollback Prepared dip-b|") == 0,
              "rolled back: %s", buf_cstr(&lines));
        CHECK(b.rollback.u.prepare.lsn == b.prepare.u.prepare.end_lsn &&
                  b.rollback.u.prepare.end_lsn > b.rollback.u.prepare.lsn &&
                  b.rollback.u.prepare.rollback_time_us >= b.rollback.u.prepare.time_us,
              "Rollback Prepared names the PREPARE's end");
    }
    /* larger than logical_decoding_work_mem (64kB here): streamed, closed by Stream Prepare */
    buf_clear(&lines);
    sql(&db, "BEGIN; INSERT INTO bulk_t SELECT g, repeat('p', 200) FROM generate_series(900000, "
             "901999) g; PREPARE TRANSACTION 'dip-c'");
    if (two_phase_read(&tp, &d, "dip-c", PGO_STREAM_PREPARE, &lines, &c))
        CHECK(strncmp(buf_cstr(&lines), "Stream Start|Insert 900000|", 27) == 0 &&
                  c.stream_prepare.has_xid,
              "streamed prepare: %.80s", buf_cstr(&lines));
    buf_clear(&lines);
    sql(&db, "COMMIT PREPARED 'dip-c'");
    if (two_phase_read(&tp, &d, "dip-c", PGO_COMMIT_PREPARED, &lines, &c))
        CHECK(c.commit.xid == c.stream_prepare.xid, "streamed commit prepared");
    buf_free(&lines);
    pgoutput_decoder_free(&d);
    dip_error_clear(&err);
    CHECK(pgrepl_stop(&tp, 5000, &err), "%s", err.msg);
    pgrepl_close(&tp);
    CHECK(pgrepl_slot_health(&db, "dip_2pc_slot", &h, &err) && h.two_phase,
          "the slot keeps two_phase after the stream: %s", err.msg);

    /* The slot keeps two_phase: a later protocol 2 stream that does not ask for it gets the
     * two-phase messages all the same (from the slot's unconfirmed position: dip-a again),
     * so the decoder reads them whatever the protocol. */
    CHECK(pgrepl_connect(&tp, &settings, &err), "%s", err.msg);
    st.proto_version = 2;
    st.two_phase = false;
    CHECK(pgrepl_start(&tp, &st, &err), "%s", err.msg);
    CHECK(pgoutput_decoder_init(&d, 2, &err), "%s", err.msg);
    TwoPhaseSeen again = {0};
    buf_init(&lines);
    if (two_phase_read(&tp, &d, "dip-a", PGO_COMMIT_PREPARED, &lines, &again))
        CHECK(strcmp(buf_cstr(&lines),
                     "Begin Prepare dip-a|Insert 60|Prepare dip-a|Commit Prepared dip-a|") == 0,
              "two_phase slot on protocol 2: %s", buf_cstr(&lines));
    buf_free(&lines);
    pgoutput_decoder_free(&d);
    CHECK(pgrepl_stop(&tp, 5000, &err), "%s", err.msg);
    CHECK(pgrepl_slot_drop(&tp, "dip_2pc_slot", &err), "%s", err.msg);
    pgrepl_close(&tp);
}

static void test_heartbeat_stop_restart(void)
{
    DipError err = {0};
    PgLsn hb = 0;
    CHECK(pgrepl_heartbeat(&db, &hb, &err) && hb > 0, "%s", err.msg);
    Capture c = {0};
    /* the main stream: row 40 of the keepalive test, then the heartbeat */
    CHECK(capture(&c, 2, 20.0), "heartbeat not seen");
    bool seen = false;
    for (int i = 0; i < c.n; i++)
        if (c.items[i].kind == PGO_MESSAGE && strstr(c.items[i].line, "nontx dip.heartbeat "))
            seen = c.items[i].msg_lsn == hb;
    CHECK(seen, "heartbeat message at the LSN pg_logical_emit_message returned");
    capture_free(&c);

    /* confirm the streamed commit, stop cleanly */
    pgrepl_confirm(&repl, confirmed_at);
    pgrepl_confirm(&repl, confirmed_at - 1); /* never moves back */
    CHECK(repl.confirmed_lsn == confirmed_at, "confirm moved back");
    CHECK(pgrepl_stop(&repl, 5000, &err), "%s", err.msg);
    PgLsn got = slot_confirmed(SLOT);
    CHECK(got == confirmed_at, "after stop: confirmed_flush_lsn %llx, confirmed %llx",
          (unsigned long long)got, (unsigned long long)confirmed_at);
    PgReplSystem sys;
    CHECK(pgrepl_identify_system(&repl, &sys, &err), "connection usable after stop: %s", err.msg);
    PgSlotHealth h;
    CHECK(pgrepl_slot_check(&db, SLOT, &h, &err), "%s", err.msg);
    CHECK(!h.active && h.retained_bytes > 0 && h.confirmed_flush == confirmed_at &&
              strcmp(h.wal_status, "reserved") == 0 && strcmp(h.plugin, "pgoutput") == 0,
          "health: active %d retained %lld wal_status %s", h.active, (long long)h.retained_bytes,
          h.wal_status);

    /* a restart from the slot resumes after the confirmed streamed commit: that is not sent
     * again (the aborted one may be streamed again: its abort came after), and the first
     * transaction is row 40, then the heartbeat */
    const char *pubs[] = {"dip_pub", "Pub \"Two\""};
    PgReplStart st = {SLOT, 0, pubs, 2, 0, true, true, false};
    CHECK(!pgrepl_start(&repl, &st, &err) && strstr(err.msg, "reconnect first"),
          "a second start on one connection: %s", err.msg);
    dip_error_clear(&err);
    pgrepl_close(&repl);
    CHECK(pgrepl_connect(&repl, &settings, &err), "%s", err.msg);
    CHECK(pgrepl_start(&repl, &st, &err), "%s", err.msg);
    pgoutput_decoder_free(&dec);
    CHECK(pgoutput_decoder_init(&dec, 2, &err), "%s", err.msg);
    for (double until = dip_now_s() + 30; dip_now_s() < until;) {
        if (!capture(&c, 1, 10.0)) break;
        if (strstr(c.items[c.n - 1].line, "MESSAGE nontx dip.heartbeat ")) break;
    }
    Capture plain = {0};
    int streamed_commits = 0;
    for (int i = 0; i < c.n; i++) {
        if (c.items[i].kind == PGO_STREAM_COMMIT) streamed_commits++;
        PgoKind k = c.items[i].kind;
        if ((c.items[i].has_xid && k != PGO_BEGIN) || k == PGO_STREAM_START ||
            k == PGO_STREAM_STOP || k == PGO_STREAM_ABORT)
            continue;
        if (plain.n == plain.cap) {
            plain.cap = plain.cap ? plain.cap * 2 : 16;
            plain.items = dip_realloc(plain.items, (size_t)plain.cap * sizeof *plain.items);
        }
        plain.items[plain.n] = c.items[i];
        plain.items[plain.n++].line = dip_strdup(c.items[i].line);
    }
    CHECK(streamed_commits == 0, "the confirmed streamed transaction was sent again");
    if (plain.n == 5 && strncmp(plain.items[4].line, "MESSAGE nontx dip.heartbeat ", 28) == 0) {
        free(plain.items[4].line);
        plain.items[4].line = dip_strdup("MESSAGE nontx dip.heartbeat");
    }
    expect_lines("restart", &plain,
                 (const char *[]){"BEGIN", "RELATION public.items d id:23:key,name:25,big:25",
                                  "INSERT public.items N(40,alive,NULL)", "COMMIT",
                                  "MESSAGE nontx dip.heartbeat", NULL});
    capture_free(&plain);
    capture_free(&c);
    /* the slot is active: dropping it from another connection fails, naming it */
    CHECK(pgrepl_slot_check(&db, SLOT, &h, &err) && h.active, "active while streaming");
    CHECK(pgrepl_stop(&repl, 5000, &err), "%s", err.msg);
    CHECK(pgrepl_slot_drop(&repl, SLOT, &err), "%s", err.msg);
    bool exists = true;
    CHECK(pgrepl_slot_exists(&db, SLOT, &exists, &err) && !exists, "dropped slot still there");
}

/* DIP_PG_CONNINFO in both libpq spellings reaches the replication connection intact (a value
 * with spaces and '=' included), and the connection is a walsender (IDENTIFY_SYSTEM); a
 * temporary slot goes with its connection. */
static void test_conninfo_forms(void)
{
    const char *port = getenv("PGPORT");
    char uri[256], kv[256];
    dip_snprintf(
        uri, sizeof uri,
        "postgresql://postgres@127.0.0.1:%s/postgres?options=-c%%20wal_sender_timeout%%3D3s",
        port ? port : "5432");
    dip_snprintf(kv, sizeof kv,
                 "host=127.0.0.1 port=%s user=postgres dbname=postgres "
                 "options='-c wal_sender_timeout=3s'",
                 port ? port : "5432");
    const char *forms[] = {uri, kv};
    for (int i = 0; i < 2; i++) {
        PgSettings s = settings;
        s.conninfo = forms[i];
        PgRepl r;
        PgReplSystem sys;
        DipError err = {0};
        bool ok = pgrepl_connect(&r, &s, &err) && pgrepl_identify_system(&r, &sys, &err);
        CHECK(ok, "%s: %s", forms[i], err.msg);
        if (ok) {
            char *t = sql1(&r.pc, "SHOW wal_sender_timeout");
            CHECK(strcmp(t, "3s") == 0, "%s: wal_sender_timeout %s", forms[i], t);
            free(t);
        }
        /* a temporary slot lives as long as its connection */
        PgReplSlot slot;
        bool exists = false;
        CHECK(pgrepl_slot_create(&r, "dip_temp_slot", true, &slot, &err) && slot.snapshot_name[0] &&
                  pgrepl_slot_exists(&db, "dip_temp_slot", &exists, &err) && exists,
              "temporary slot: %s", err.msg);
        pgrepl_close(&r);
        for (int k = 0; k < 50 && exists; k++) {
            (void)dip_sleep_interruptible(0.1);
            if (!pgrepl_slot_exists(&db, "dip_temp_slot", &exists, &err)) break;
        }
        CHECK(!exists, "the temporary slot outlived its connection");
    }
}

static void test_lost_slot(void)
{
    DipError err = {0};
    sql(&db, "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
    sql(&db, "SELECT pg_reload_conf()");
    PgReplSlot s;
    CHECK(pgrepl_slot_create(&repl, "dip_doomed", false, &s, &err), "%s", err.msg);
    PgSlotHealth h;
    bool lost = false;
    for (int i = 0; i < 10 && !lost; i++) {
        for (int k = 0; k < 3; k++)
            sql(&db, "INSERT INTO items VALUES (1000 + (random() * 1e6)::int, 'w', NULL) "
                     "ON CONFLICT DO NOTHING; SELECT pg_switch_wal()");
        sql(&db, "CHECKPOINT");
        dip_error_clear(&err);
        lost = !pgrepl_slot_check(&db, "dip_doomed", &h, &err);
    }
    CHECK(lost && err.kind == DIP_ERR_DATA && strstr(err.msg, "dip_doomed") &&
              strstr(err.msg, "is lost") && strstr(err.msg, "--reindex"),
          "lost slot: %s", err.msg);
    const char *pubs[] = {"dip_pub"};
    PgReplStart st = {"dip_doomed", 0, pubs, 1, 0, false, false, false};
    pgrepl_close(&repl);
    CHECK(pgrepl_connect(&repl, &settings, &err), "%s", err.msg);
    CHECK(!pgrepl_start(&repl, &st, &err) && strstr(err.msg, "dip_doomed") &&
              strstr(err.msg, "--reindex"),
          "start on a lost slot: %s", err.msg);
    dip_error_clear(&err);
    CHECK(pgrepl_slot_drop(&repl, "dip_doomed", &err), "%s", err.msg);
    sql(&db, "ALTER SYSTEM RESET max_slot_wal_keep_size");
    sql(&db, "SELECT pg_reload_conf()");
}

int main(void)
{
    DipError err = {0};
    const char *dir = getenv("DIP_PGOUTPUT_CORPUS");
    if (dir) mkdir(dir, 0755);
    buf_init(&relmsgs);
    if (!pg_settings_from_env(&settings, &err) || !pg_connect(&db, &settings, &err) ||
        !pgrepl_connect(&repl, &settings, &err)) {
        fprintf(stderr, "FATAL: connect: %s\n", err.msg);
        return 1;
    }
    sql(&db, "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');"
             "CREATE TYPE pair AS (a int, b text);"
             "CREATE TABLE items (id int PRIMARY KEY, name text, big text);"
             "ALTER TABLE items ALTER COLUMN big SET STORAGE EXTERNAL;"
             "CREATE TABLE full_t (id int PRIMARY KEY, v text);"
             "ALTER TABLE full_t REPLICA IDENTITY FULL;"
             "CREATE TABLE parent_t (id serial PRIMARY KEY, v text);"
             "CREATE TABLE child_t (id serial PRIMARY KEY, pid int REFERENCES parent_t (id));"
             "CREATE TABLE typed_t (id int PRIMARY KEY, m mood, p pair);"
             "CREATE TABLE bulk_t (id int PRIMARY KEY, pad text);"
             "CREATE PUBLICATION dip_pub FOR TABLE items, full_t, bulk_t;"
             "CREATE PUBLICATION \"Pub \"\"Two\"\"\" FOR TABLE parent_t, child_t, typed_t");
    test_timeline_history();
    test_slot_and_snapshot();
    test_messages();
    test_streaming();
    test_no_further(origin_end, "after streaming");
    test_keepalives();
    test_no_further(origin_end, "after the keepalive test");
    test_heartbeat_stop_restart();
    test_two_phase();
    test_conninfo_forms();
    test_lost_slot();
    pgoutput_decoder_free(&dec);
    pgrepl_close(&repl);
    pg_close(&db);
    buf_free(&relmsgs);
    return check_summary();
}
