/* Unit tests of the pgoutput decoder and the replication CopyData parser over crafted bytes:
 * every message kind of protocols 1 to 4 decoded field by field, the relation cache (replace,
 * growth), and bad input: an unknown message byte, every message truncated at every offset, a
 * bad tuple kind, a column count beyond the relation's, stream messages out of place, an
 * unknown protocol version. Each gives a DIP_ERR_DATA error naming the message and the offset,
 * never a crash (this suite also runs under ASan + UBSan). */
#include "check.h"
#include "pg/pgrepl.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ message builders */

static void put_str(Buf *b, const char *s)
{
    buf_append(b, s, strlen(s) + 1);
}

static void put_text(Buf *b, const char *s)
{
    buf_append_byte(b, 't');
    buf_append_be32(b, (uint32_t)strlen(s));
    buf_append(b, s, strlen(s));
}

/* Relation 16384 public.items (id int4 key, name text, note text), replica identity d. */
static void msg_relation(Buf *b, bool xid, uint32_t oid, int ncols)
{
    buf_clear(b);
    buf_append_byte(b, 'R');
    if (xid) buf_append_be32(b, 777);
    buf_append_be32(b, oid);
    put_str(b, "public");
    put_str(b, "items");
    buf_append_byte(b, 'd');
    buf_append_be16(b, (uint16_t)ncols);
    const char *names[] = {"id", "name", "note", "extra"};
    const uint32_t types[] = {23, 25, 25, 1043};
    for (int i = 0; i < ncols; i++) {
        buf_append_byte(b, i == 0 ? 1 : 0);
        put_str(b, names[i]);
        buf_append_be32(b, types[i]);
        buf_append_be32(b, i == 3 ? 36 : 0xFFFFFFFFu);
    }
}

static void msg_begin(Buf *b)
{
    buf_clear(b);
    buf_append_byte(b, 'B');
    buf_append_be64(b, 0x1000002A0ull);
    buf_append_be64(b, 1000000); /* 2000-01-01 00:00:01 */
    buf_append_be32(b, 735);
}

static void msg_commit(Buf *b, bool stream)
{
    buf_clear(b);
    buf_append_byte(b, stream ? 'c' : 'C');
    if (stream) buf_append_be32(b, 777);
    buf_append_byte(b, 0);
    buf_append_be64(b, 0x1000002A0ull);
    buf_append_be64(b, 0x1000002D8ull);
    buf_append_be64(b, 2000000);
}

static void msg_insert(Buf *b, bool xid)
{
    buf_clear(b);
    buf_append_byte(b, 'I');
    if (xid) buf_append_be32(b, 777);
    buf_append_be32(b, 16384);
    buf_append_byte(b, 'N');
    buf_append_be16(b, 3);
    put_text(b, "42");
    put_text(b, "answer");
    buf_append_byte(b, 'n');
}

static void msg_update_k(Buf *b)
{
    buf_clear(b);
    buf_append_byte(b, 'U');
    buf_append_be32(b, 16384);
    buf_append_byte(b, 'K');
    buf_append_be16(b, 3);
    put_text(b, "42");
    buf_append_byte(b, 'n');
    buf_append_byte(b, 'n');
    buf_append_byte(b, 'N');
    buf_append_be16(b, 3);
    put_text(b, "43");
    put_text(b, "answer");
    buf_append_byte(b, 'u');
}

static void msg_delete_o(Buf *b)
{
    buf_clear(b);
    buf_append_byte(b, 'D');
    buf_append_be32(b, 16384);
    buf_append_byte(b, 'O');
    buf_append_be16(b, 3);
    put_text(b, "43");
    buf_append_byte(b, 'b');
    buf_append_be32(b, 3);
    buf_append(b, "\x00\x01\x02", 3);
    buf_append_byte(b, 'n');
}

static void msg_truncate(Buf *b)
{
    buf_clear(b);
    buf_append_byte(b, 'T');
    buf_append_be32(b, 2);
    buf_append_byte(b, 3);
    buf_append_be32(b, 16384);
    buf_append_be32(b, 16390);
}

static void msg_message(Buf *b, bool xid)
{
    buf_clear(b);
    buf_append_byte(b, 'M');
    if (xid) buf_append_be32(b, 777);
    buf_append_byte(b, 1);
    buf_append_be64(b, 0x100000100ull);
    put_str(b, "dip.test");
    buf_append_be32(b, 5);
    buf_append(b, "hello", 5);
}

static void msg_type(Buf *b)
{
    buf_clear(b);
    buf_append_byte(b, 'Y');
    buf_append_be32(b, 16500);
    put_str(b, "");
    put_str(b, "mood");
}

static void msg_origin(Buf *b)
{
    buf_clear(b);
    buf_append_byte(b, 'O');
    buf_append_be64(b, 0x12345678ull);
    put_str(b, "dip_origin");
}

static void msg_stream_start(Buf *b, bool first)
{
    buf_clear(b);
    buf_append_byte(b, 'S');
    buf_append_be32(b, 777);
    buf_append_byte(b, first ? 1 : 0);
}

static void msg_stream_abort(Buf *b)
{
    buf_clear(b);
    buf_append_byte(b, 'A');
    buf_append_be32(b, 777);
    buf_append_be32(b, 778);
}

/* Protocol 4's Stream Abort with parallel streaming: the abort's LSN and time follow. */
static void msg_stream_abort_v4(Buf *b)
{
    msg_stream_abort(b);
    buf_append_be64(b, 0x100000400ull);
    buf_append_be64(b, 4000000);
}

/* The two-phase messages of protocol 3: kind 'b', 'P', 'K', 'r' or 'p', GID "dip-gid-1",
 * xid 900, LSNs 0x100000500 / 0x100000580, times 5 s and (Rollback Prepared) 6 s. */
static void msg_two_phase(Buf *b, char kind)
{
    buf_clear(b);
    buf_append_byte(b, (uint8_t)kind);
    if (kind != 'b') buf_append_byte(b, 0); /* flags */
    buf_append_be64(b, 0x100000500ull);
    buf_append_be64(b, 0x100000580ull);
    buf_append_be64(b, 5000000);
    if (kind == 'r') buf_append_be64(b, 6000000);
    buf_append_be32(b, 900);
    put_str(b, "dip-gid-1");
}

static bool decode(PgoDecoder *d, const Buf *b, PgoMessage *m, DipError *err)
{
    dip_error_clear(err);
    return pgoutput_decode(d, b->data, b->len, m, err);
}

static bool value_is(const PgoValue *v, const char *text)
{
    return v->kind == 't' && v->len == strlen(text) && memcmp(v->data, text, v->len) == 0;
}

/* ------------------------------------------------------------ good messages */

static void test_every_message(void)
{
    PgoDecoder d;
    DipError err = {0};
    PgoMessage m;
    Buf b;
    buf_init(&b);
    CHECK(pgoutput_decoder_init(&d, 2, &err), "%s", err.msg);

    msg_relation(&b, false, 16384, 3);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_RELATION && !m.has_xid, "kind %c", m.kind);
    const PgoRelation *rel = m.u.relation;
    CHECK(rel->oid == 16384 && strcmp(rel->nspname, "public") == 0 &&
              strcmp(rel->relname, "items") == 0 && rel->replident == 'd' && rel->ncols == 3,
          "relation %u %s.%s", rel->oid, rel->nspname, rel->relname);
    CHECK(rel->cols[0].flags == PGO_COLUMN_KEY && strcmp(rel->cols[0].name, "id") == 0 &&
              rel->cols[0].type_oid == 23 && rel->cols[0].typmod == -1,
          "column 0");
    CHECK(rel->cols[2].flags == 0 && strcmp(rel->cols[2].name, "note") == 0, "column 2");
    CHECK(pgoutput_relation(&d, 16384) == rel, "cache lookup");

    msg_begin(&b);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_BEGIN && m.has_xid && m.xid == 735 &&
              m.u.begin.final_lsn == 0x1000002A0ull &&
              m.u.begin.commit_time_us == PGREPL_EPOCH_OFFSET_US + 1000000,
          "begin");

    msg_origin(&b);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_ORIGIN && m.u.origin.lsn == 0x12345678ull &&
              strcmp(m.u.origin.name, "dip_origin") == 0,
          "origin");

    msg_type(&b);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_TYPE && m.u.type.oid == 16500 &&
              strcmp(m.u.type.nspname, "pg_catalog") == 0 && strcmp(m.u.type.name, "mood") == 0,
          "type");

    msg_insert(&b, false);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_INSERT && m.u.change.rel == rel && m.u.change.old_kind == 0 &&
              m.u.change.new_tuple.ncols == 3,
          "insert");
    CHECK(value_is(&m.u.change.new_tuple.values[0], "42") &&
              value_is(&m.u.change.new_tuple.values[1], "answer") &&
              m.u.change.new_tuple.values[2].kind == 'n',
          "insert values");
    /* values point into the message buffer: no copy per value */
    CHECK(m.u.change.new_tuple.values[0].data > (const char *)b.data &&
              m.u.change.new_tuple.values[0].data < (const char *)b.data + b.len,
          "value points into the message");

    msg_update_k(&b);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_UPDATE && m.u.change.old_kind == 'K' &&
              value_is(&m.u.change.old_tuple.values[0], "42") &&
              m.u.change.old_tuple.values[1].kind == 'n' &&
              value_is(&m.u.change.new_tuple.values[0], "43") &&
              m.u.change.new_tuple.values[2].kind == 'u',
          "update with old key");

    msg_delete_o(&b);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_DELETE && m.u.change.old_kind == 'O' &&
              m.u.change.old_tuple.values[1].kind == 'b' &&
              m.u.change.old_tuple.values[1].len == 3 && m.u.change.new_tuple.ncols == 0,
          "delete with old row");

    msg_truncate(&b);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_TRUNCATE && m.u.truncate.cascade && m.u.truncate.restart_identity &&
              m.u.truncate.nrels == 2 && m.u.truncate.oids[0] == 16384 &&
              m.u.truncate.oids[1] == 16390,
          "truncate");

    msg_message(&b, false);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_MESSAGE && m.u.message.transactional && m.u.message.lsn == 0x100000100ull &&
              strcmp(m.u.message.prefix, "dip.test") == 0 && m.u.message.content_len == 5 &&
              memcmp(m.u.message.content, "hello", 5) == 0,
          "message");

    msg_commit(&b, false);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_COMMIT && m.u.commit.commit_lsn == 0x1000002A0ull &&
              m.u.commit.end_lsn == 0x1000002D8ull &&
              m.u.commit.commit_time_us == PGREPL_EPOCH_OFFSET_US + 2000000,
          "commit");

    /* a stream block: changes carry the xid */
    msg_stream_start(&b, true);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_STREAM_START && m.xid == 777 && m.u.stream_start.first_segment,
          "stream start");
    msg_relation(&b, true, 16384, 3);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.has_xid && m.xid == 777, "streamed relation xid");
    msg_insert(&b, true);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_INSERT && m.has_xid && m.xid == 777 &&
              value_is(&m.u.change.new_tuple.values[1], "answer"),
          "streamed insert");
    msg_message(&b, true);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_MESSAGE && m.xid == 777, "streamed message");
    buf_clear(&b);
    buf_append_byte(&b, 'E');
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_STREAM_STOP && !d.in_stream, "stream stop");
    msg_stream_start(&b, false);
    CHECK(decode(&d, &b, &m, &err) && !m.u.stream_start.first_segment, "later segment");
    buf_clear(&b);
    buf_append_byte(&b, 'E');
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    msg_commit(&b, true);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_STREAM_COMMIT && m.xid == 777 && m.u.commit.end_lsn == 0x1000002D8ull,
          "stream commit");
    msg_stream_abort(&b);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_STREAM_ABORT && m.xid == 777 && m.u.stream_abort.subxid == 778,
          "stream abort");

    /* two-phase messages are read on protocol 2 too (a slot that has two_phase sends them on
     * any stream); Stream Abort's extra fields need protocol 4 */
    msg_two_phase(&b, 'b');
    CHECK(decode(&d, &b, &m, &err) && m.kind == PGO_BEGIN_PREPARE && m.xid == 900,
          "two-phase on protocol 2: %s", err.msg);
    msg_stream_abort_v4(&b);
    CHECK(!decode(&d, &b, &m, &err) && strstr(err.msg, "trailing bytes"),
          "a v4 Stream Abort on protocol 2: %s", err.msg);

    /* a new Relation message replaces the cached one */
    msg_relation(&b, false, 16384, 4);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(pgoutput_relation(&d, 16384)->ncols == 4 &&
              pgoutput_relation(&d, 16384)->cols[3].typmod == 36,
          "relation replaced");
    pgoutput_decoder_free(&d);
    buf_free(&b);
}

static void test_two_phase_messages(void)
{
    PgoDecoder d;
    DipError err = {0};
    PgoMessage m;
    Buf b;
    buf_init(&b);
    CHECK(pgoutput_decoder_init(&d, 4, &err), "%s", err.msg);
    static const struct {
        char kind;
        const char *name;
    } kinds[] = {{'b', "Begin Prepare"},
                 {'P', "Prepare"},
                 {'K', "Commit Prepared"},
                 {'r', "Rollback Prepared"},
                 {'p', "Stream Prepare"}};
    for (size_t i = 0; i < DIP_ARRAY_LEN(kinds); i++) {
        msg_two_phase(&b, kinds[i].kind);
        CHECK(decode(&d, &b, &m, &err), "%s: %s", kinds[i].name, err.msg);
        CHECK(m.kind == (PgoKind)kinds[i].kind && m.has_xid && m.xid == 900 &&
                  strcmp(m.u.prepare.gid, "dip-gid-1") == 0 && m.u.prepare.lsn == 0x100000500ull &&
                  m.u.prepare.end_lsn == 0x100000580ull &&
                  m.u.prepare.time_us == PGREPL_EPOCH_OFFSET_US + 5000000 &&
                  m.u.prepare.rollback_time_us ==
                      (kinds[i].kind == 'r' ? PGREPL_EPOCH_OFFSET_US + 6000000 : 0),
              "%s fields", kinds[i].name);
        CHECK(strcmp(pgoutput_kind_name(m.kind), kinds[i].name) == 0, "%s name", kinds[i].name);
        /* one byte more is a different layout */
        buf_append_byte(&b, 0);
        CHECK(!decode(&d, &b, &m, &err) && strstr(err.msg, "trailing bytes"), "%s + 1: %s",
              kinds[i].name, err.msg);
    }
    msg_stream_abort_v4(&b);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    CHECK(m.kind == PGO_STREAM_ABORT && m.u.stream_abort.subxid == 778 &&
              m.u.stream_abort.abort_lsn == 0x100000400ull &&
              m.u.stream_abort.abort_time_us == PGREPL_EPOCH_OFFSET_US + 4000000,
          "v4 stream abort");
    msg_stream_abort(&b); /* without parallel streaming, v4 sends the short form */
    CHECK(decode(&d, &b, &m, &err) && m.u.stream_abort.abort_lsn == 0, "short stream abort");
    pgoutput_decoder_free(&d);
    buf_free(&b);
}

static void test_relation_cache_growth(void)
{
    PgoDecoder d;
    DipError err = {0};
    PgoMessage m;
    Buf b;
    buf_init(&b);
    CHECK(pgoutput_decoder_init(&d, 1, &err), "%s", err.msg);
    int bad = 0;
    for (uint32_t oid = 20000; oid < 20300; oid++) {
        msg_relation(&b, false, oid, 1 + oid % 4);
        if (!decode(&d, &b, &m, &err)) bad++;
    }
    for (uint32_t oid = 20000; oid < 20300; oid++) {
        const PgoRelation *r = pgoutput_relation(&d, oid);
        if (r == NULL || r->oid != oid || r->ncols != (int)(1 + oid % 4)) bad++;
    }
    CHECK(bad == 0, "%d relations wrong after growth", bad);
    CHECK(pgoutput_relation(&d, 19999) == NULL, "absent OID");
    pgoutput_decoder_free(&d);
    buf_free(&b);
}

/* ------------------------------------------------------------ bad input */

static void expect_error(PgoDecoder *d, const Buf *b, const char *needle, const char *label)
{
    PgoMessage m;
    DipError err = {0};
    bool ok = pgoutput_decode(d, b->data, b->len, &m, &err);
    CHECK(!ok && err.kind == DIP_ERR_DATA && strstr(err.msg, needle) != NULL,
          "%s: expected an error with '%s', got ok=%d '%s'", label, needle, ok, err.msg);
}

static void test_bad_messages(void)
{
    PgoDecoder d;
    DipError err = {0};
    PgoMessage m;
    Buf b;
    buf_init(&b);

    CHECK(!pgoutput_decoder_init(&d, 5, &err) && err.kind == DIP_ERR_DATA &&
              strstr(err.msg, "protocol version 5"),
          "%s", err.msg);
    dip_error_clear(&err);
    CHECK(!pgoutput_decoder_init(&d, 0, &err) && err.kind == DIP_ERR_DATA, "%s", err.msg);

    CHECK(pgoutput_decoder_init(&d, 1, &err), "%s", err.msg);
    buf_clear(&b);
    buf_append(&b, "Z\0\0\0\1", 5);
    expect_error(&d, &b, "offset 0: unknown message type 0x5a ('Z') for protocol version 1",
                 "unknown type");
    buf_clear(&b);
    buf_append_byte(&b, 0xFF);
    expect_error(&d, &b, "unknown message type 0xff", "unknown type 0xff");
    expect_error(&d, &(Buf){(uint8_t *)"", 0, 0}, "empty message", "empty");

    /* protocol 2 messages on a protocol 1 stream */
    msg_stream_start(&b, true);
    expect_error(&d, &b, "pgoutput Stream Start message (6 bytes): offset 0: a protocol version 2",
                 "stream start on v1");

    /* a change before any Relation message */
    msg_insert(&b, false);
    expect_error(&d, &b,
                 "pgoutput Insert message (27 bytes): offset 1: no Relation message came "
                 "before relation OID 16384",
                 "unknown relation");

    msg_relation(&b, false, 16384, 3);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);

    /* a bad tuple kind in column 2 */
    msg_insert(&b, false);
    b.data[1 + 4 + 1 + 2 + 1 + 4 + 2] = 'x';
    expect_error(&d, &b,
                 "offset 15: unknown tuple value kind 0x78 of column 2 (name) of "
                 "public.items",
                 "bad tuple kind");

    /* a column count beyond the relation's */
    msg_insert(&b, false);
    b.data[1 + 4 + 1 + 1] = 9;
    expect_error(&d, &b,
                 "offset 6: tuple column count (9) differs from the 3 columns of "
                 "relation public.items",
                 "too many columns");

    /* Update and Delete tags */
    msg_update_k(&b);
    b.data[5] = 'Q';
    expect_error(&d, &b, "unexpected tuple tag 0x51 (expected 'N')", "bad update tag");
    msg_delete_o(&b);
    b.data[5] = 'N';
    expect_error(&d, &b, "unexpected tuple tag 0x4e (expected 'K' or 'O')", "bad delete tag");

    /* trailing bytes after a fixed-layout message */
    msg_begin(&b);
    buf_append_byte(&b, 0);
    expect_error(&d, &b, "pgoutput Begin message (22 bytes): offset 21: trailing bytes",
                 "trailing");

    /* a truncate count larger than its bytes */
    msg_truncate(&b);
    b.data[1] = 0x7F;
    expect_error(&d, &b, "offset 1: relation count 2130706434 needs", "huge truncate count");

    /* unknown replica identity */
    msg_relation(&b, false, 16384, 1);
    b.data[1 + 4 + 7 + 6] = 'z';
    expect_error(&d, &b, "unknown replica identity (0x7a)", "replica identity");

    /* a string without its NUL */
    msg_origin(&b);
    b.len--;
    expect_error(&d, &b, "offset 9: origin name is not NUL-terminated", "origin name");

    /* an out-of-range timestamp */
    msg_begin(&b);
    for (int i = 9; i < 17; i++)
        b.data[i] = i == 9 ? 0x7F : 0xFF;
    expect_error(&d, &b, "offset 9: commit timestamp out of range", "timestamp");
    pgoutput_decoder_free(&d);

    /* stream state errors on a protocol 2 stream */
    CHECK(pgoutput_decoder_init(&d, 2, &err), "%s", err.msg);
    buf_clear(&b);
    buf_append_byte(&b, 'E');
    expect_error(&d, &b, "Stream Stop without a Stream Start", "stop without start");
    msg_stream_start(&b, true);
    CHECK(decode(&d, &b, &m, &err), "%s", err.msg);
    expect_error(&d, &b, "Stream Start inside an open stream block", "nested start");
    pgoutput_decoder_free(&d);
    buf_free(&b);
}

/* Every good message cut at every offset fails cleanly with a data error naming an offset. */
static void test_truncation_everywhere(void)
{
    /* (builder, inside a stream block) */
    static const int cases[][2] = {{0, 0},  {1, 0},  {2, 0},  {3, 0},  {4, 0},  {5, 0},
                                   {6, 0},  {7, 0},  {8, 0},  {9, 0},  {10, 0}, {11, 0},
                                   {12, 0}, {13, 0}, {14, 0}, {15, 0}, {16, 0}, {17, 0},
                                   {18, 0}, {0, 1},  {3, 1},  {5, 1},  {9, 1}};
    Buf b;
    buf_init(&b);
    int failures_ok = 0, total = 0;
    for (size_t c = 0; c < DIP_ARRAY_LEN(cases); c++) {
        PgoDecoder d;
        DipError err = {0};
        PgoMessage m;
        bool streamed = cases[c][1] != 0;
        if (!pgoutput_decoder_init(&d, 4, &err)) break;
        msg_relation(&b, false, 16384, 3);
        if (!decode(&d, &b, &m, &err)) break;
        if (streamed) {
            msg_stream_start(&b, true);
            if (!decode(&d, &b, &m, &err)) break;
        }
        switch (cases[c][0]) {
        case 0:
            msg_relation(&b, streamed, 16384, 4);
            break;
        case 1:
            msg_begin(&b);
            break;
        case 2:
            msg_commit(&b, false);
            break;
        case 3:
            msg_origin(&b);
            break;
        case 4:
            msg_type(&b);
            break;
        case 5:
            msg_insert(&b, streamed);
            break;
        case 6:
            msg_update_k(&b);
            break;
        case 7:
            msg_delete_o(&b);
            break;
        case 8:
            msg_truncate(&b);
            break;
        case 9:
            msg_message(&b, streamed);
            break;
        case 10:
            msg_commit(&b, true);
            break;
        case 11:
            msg_stream_abort(&b);
            break;
        case 12:
            msg_stream_start(&b, true);
            break;
        case 13:
        case 14:
        case 15:
        case 16:
        case 17:
            msg_two_phase(&b, "bPKrp"[cases[c][0] - 13]);
            break;
        case 18:
            msg_stream_abort_v4(&b);
            break;
        }
        for (size_t cut = 0; cut < b.len; cut++) {
            if (cases[c][0] == 18 && cut == 9) continue; /* the short Stream Abort: valid */
            /* a heap copy of exactly `cut` bytes, so ASan sees any read past the end */
            uint8_t *copy = malloc(cut ? cut : 1);
            memcpy(copy, b.data, cut);
            dip_error_clear(&err);
            bool ok = pgoutput_decode(&d, copy, cut, &m, &err);
            total++;
            if (!ok && err.kind == DIP_ERR_DATA &&
                (strstr(err.msg, "offset") || strstr(err.msg, "empty message")))
                failures_ok++;
            else
                fprintf(stderr, "case %zu cut %zu: ok=%d '%s'\n", c, cut, ok, err.msg);
            free(copy);
        }
        /* and the whole message still decodes after all that */
        uint8_t *copy = malloc(b.len);
        memcpy(copy, b.data, b.len);
        dip_error_clear(&err);
        CHECK(pgoutput_decode(&d, copy, b.len, &m, &err), "case %zu whole: %s", c, err.msg);
        free(copy);
        pgoutput_decoder_free(&d);
    }
    CHECK(total > 300 && failures_ok == total, "%d of %d truncations failed cleanly", failures_ok,
          total);
    buf_free(&b);
}

/* Every prefix of a good CopyData message fails with a data error. */
static int copydata_truncations_clean(const Buf *b)
{
    PgReplEvent ev;
    int clean = 0;
    for (size_t cut = 0; cut < b->len; cut++) {
        DipError err = {0};
        if (!pgrepl_parse_copydata(b->data, cut, &ev, &err) && err.kind == DIP_ERR_DATA) clean++;
    }
    return clean;
}

static void test_copydata(void)
{
    PgReplEvent ev;
    DipError err = {0};
    Buf b;
    buf_init(&b);
    buf_append_byte(&b, 'w');
    buf_append_be64(&b, 0x16B3748ull);
    buf_append_be64(&b, 0x16B3800ull);
    buf_append_be64(&b, 5);
    buf_append(&b, "E", 1);
    CHECK(pgrepl_parse_copydata(b.data, b.len, &ev, &err), "%s", err.msg);
    CHECK(ev.kind == PGREPL_EV_DATA && ev.wal_start == 0x16B3748ull && ev.wal_end == 0x16B3800ull &&
              ev.send_time_us == PGREPL_EPOCH_OFFSET_US + 5 && ev.len == 1 && ev.data[0] == 'E',
          "xlogdata");
    int clean = copydata_truncations_clean(&b);
    CHECK(clean == (int)b.len, "xlogdata truncations: %d of %zu", clean, b.len);

    buf_clear(&b);
    buf_append_byte(&b, 'k');
    buf_append_be64(&b, 0x16B3800ull);
    buf_append_be64(&b, 7);
    buf_append_byte(&b, 1);
    dip_error_clear(&err);
    CHECK(pgrepl_parse_copydata(b.data, b.len, &ev, &err), "%s", err.msg);
    CHECK(ev.kind == PGREPL_EV_KEEPALIVE && ev.wal_end == 0x16B3800ull && ev.reply_requested,
          "keepalive");
    clean = copydata_truncations_clean(&b);
    CHECK(clean == (int)b.len, "keepalive truncations: %d of %zu", clean, b.len);
    dip_error_clear(&err);
    CHECK(!pgrepl_parse_copydata((const uint8_t *)"q123", 4, &ev, &err) &&
              strstr(err.msg, "unknown type 0x71"),
          "%s", err.msg);
    buf_free(&b);
}

static void test_lsn(void)
{
    char s[24];
    PgLsn l = 0;
    pgrepl_lsn_format(0x16B3748ull, s);
    CHECK(strcmp(s, "0/16B3748") == 0, "%s", s);
    pgrepl_lsn_format(0xFFFFFFFF00000001ull, s);
    CHECK(strcmp(s, "FFFFFFFF/1") == 0, "%s", s);
    CHECK(pgrepl_lsn_parse("1A/2b3C", &l) && l == 0x1A00002B3Cull, "parse");
    CHECK(!pgrepl_lsn_parse("1A2B", &l) && !pgrepl_lsn_parse("/1", &l) &&
              !pgrepl_lsn_parse("1/", &l) && !pgrepl_lsn_parse("1/G", &l) &&
              !pgrepl_lsn_parse("123456789/1", &l),
          "bad LSNs rejected");
    DipError err = {0};
    CHECK(pgrepl_slot_name_check("dip_books_1", &err), "%s", err.msg);
    CHECK(!pgrepl_slot_name_check("Dip", &err) && err.kind == DIP_ERR_CONFIG, "upper case");
    dip_error_clear(&err);
    CHECK(!pgrepl_slot_name_check("a\"b", &err), "quote");
    dip_error_clear(&err);
    CHECK(!pgrepl_slot_name_check("", &err), "empty");
}

int main(void)
{
    test_every_message();
    test_two_phase_messages();
    test_relation_cache_growth();
    test_bad_messages();
    test_truncation_everywhere();
    test_copydata();
    test_lsn();
    return check_summary();
}
