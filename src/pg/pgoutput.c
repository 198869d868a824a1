/*
 * pgoutput.c: decoder of the pgoutput logical replication messages, protocol versions 1
 * to 4 (PostgreSQL 16 docs, "Logical Replication Message Formats").
 *
 * Layout of each message (Int8/16/32/64 big-endian, String NUL-terminated):
 *   Begin 'B'         Int64 final LSN, Int64 commit time, Int32 xid
 *   Commit 'C'        Int8 flags, Int64 commit LSN, Int64 end LSN, Int64 commit time
 *   Origin 'O'        Int64 commit LSN on the origin, String name
 *   Relation 'R'      [xid] Int32 OID, String namespace ("" = pg_catalog), String name,
 *                     Int8 replica identity, Int16 ncols, ncols x (Int8 flags, String name,
 *                     Int32 type OID, Int32 typmod)
 *   Type 'Y'          [xid] Int32 OID, String namespace, String name
 *   Insert 'I'        [xid] Int32 OID, 'N' TupleData
 *   Update 'U'        [xid] Int32 OID, optional ('K' | 'O') TupleData, 'N' TupleData
 *   Delete 'D'        [xid] Int32 OID, ('K' | 'O') TupleData
 *   Truncate 'T'      [xid] Int32 nrels, Int8 options (1 CASCADE, 2 RESTART IDENTITY),
 *                     nrels x Int32 OID
 *   Message 'M'       [xid] Int8 flags (1 transactional), Int64 LSN, String prefix,
 *                     Int32 length, Byte[length] content
 *   Stream Start 'S'  Int32 xid, Int8 first segment                       (v2)
 *   Stream Stop 'E'   (nothing)                                            (v2)
 *   Stream Commit 'c' Int32 xid, Int8 flags, Int64 commit LSN, Int64 end LSN, Int64 time (v2)
 *   Stream Abort 'A'  Int32 xid, Int32 subtransaction xid                  (v2)
 *                     [Int64 abort LSN, Int64 abort time: v4, parallel streaming only]
 *   Begin Prepare 'b' Int64 prepare LSN, Int64 end LSN, Int64 prepare time, Int32 xid,
 *                     String GID                                           (v3)
 *   Prepare 'P'       Int8 flags, Int64 prepare LSN, Int64 end LSN, Int64 prepare time,
 *                     Int32 xid, String GID                                (v3)
 *   Commit Prepared 'K'  Int8 flags, Int64 commit LSN, Int64 end LSN, Int64 commit time,
 *                     Int32 xid, String GID                                (v3)
 *   Rollback Prepared 'r'  Int8 flags, Int64 prepare end LSN, Int64 rollback end LSN,
 *                     Int64 prepare time, Int64 rollback time, Int32 xid, String GID (v3)
 *   Stream Prepare 'p'  as Prepare                                         (v3)
 *   TupleData         Int16 ncols, ncols x ('n' | 'u' | ('t' | 'b') Int32 len, Byte[len])
 * [xid] is present only inside a stream block (between Stream Start and Stream Stop), which
 * protocols 2 and later have: the decoder tracks that state, as the server does when it
 * writes.
 *
 * The hot path (Insert / Update / Delete) allocates nothing: values point into the message
 * buffer and the value arrays are reused. Relations are copied into one allocation each,
 * since they outlive the message that described them.
 */
#include "pg/pgrepl.h"
#include "pg/pgrepl_read.h"

#include <stdlib.h>
#include <string.h>

struct PgoRelEntry {
    PgoRelation rel;
    /* cols and the strings follow in the same allocation */
};

const char *pgoutput_kind_name(int kind)
{
    switch (kind) {
    case PGO_BEGIN:
        return "Begin";
    case PGO_COMMIT:
        return "Commit";
    case PGO_ORIGIN:
        return "Origin";
    case PGO_RELATION:
        return "Relation";
    case PGO_TYPE:
        return "Type";
    case PGO_INSERT:
        return "Insert";
    case PGO_UPDATE:
        return "Update";
    case PGO_DELETE:
        return "Delete";
    case PGO_TRUNCATE:
        return "Truncate";
    case PGO_MESSAGE:
        return "Message";
    case PGO_STREAM_START:
        return "Stream Start";
    case PGO_STREAM_STOP:
        return "Stream Stop";
    case PGO_STREAM_COMMIT:
        return "Stream Commit";
    case PGO_STREAM_ABORT:
        return "Stream Abort";
    case PGO_BEGIN_PREPARE:
        return "Begin Prepare";
    case PGO_PREPARE:
        return "Prepare";
    case PGO_COMMIT_PREPARED:
        return "Commit Prepared";
    case PGO_ROLLBACK_PREPARED:
        return "Rollback Prepared";
    case PGO_STREAM_PREPARE:
        return "Stream Prepare";
    default:
        return "unknown";
    }
}

bool pgoutput_decoder_init(PgoDecoder *d, int proto_version, DipError *err)
{
    memset(d, 0, sizeof *d);
    if (proto_version < 1 || proto_version > 4)
        return dip_error_set(err, DIP_ERR_DATA,
                             "pgoutput: protocol version %d is not supported (dip decodes "
                             "versions 1 to 4)",
                             proto_version);
    d->proto_version = proto_version;
    return true;
}

void pgoutput_decoder_free(PgoDecoder *d)
{
    for (size_t i = 0; i < d->rels_cap; i++)
        free(d->rels[i]);
    free(d->rels);
    free(d->old_values);
    free(d->new_values);
    free(d->oids);
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------------ relation cache */

static size_t rel_slot(uint32_t oid, size_t cap)
{
    /* Fibonacci hashing: OIDs are often consecutive */
    return (size_t)((oid * UINT64_C(11400714819323198485)) >> 32) & (cap - 1);
}

static PgoRelEntry **rel_find(const PgoDecoder *d, uint32_t oid)
{
    if (d->rels_cap == 0) return NULL;
    for (size_t i = rel_slot(oid, d->rels_cap);; i = (i + 1) & (d->rels_cap - 1)) {
        PgoRelEntry **e = &d->rels[i];
        if (*e == NULL || (*e)->rel.oid == oid) return e;
    }
}

const PgoRelation *pgoutput_relation(const PgoDecoder *d, uint32_t oid)
{
    PgoRelEntry **e = rel_find(d, oid);
    return e && *e ? &(*e)->rel : NULL;
}

static void rel_put(PgoDecoder *d, PgoRelEntry *entry)
{
    if ((d->rels_len + 1) * 2 > d->rels_cap) {
        size_t ncap = d->rels_cap ? d->rels_cap * 2 : 16;
        PgoRelEntry **old = d->rels;
        size_t ocap = d->rels_cap;
        d->rels = dip_calloc(ncap, sizeof *d->rels);
        d->rels_cap = ncap;
        d->rels_len = 0;
        for (size_t i = 0; i < ocap; i++)
            if (old[i]) {
                *rel_find(d, old[i]->rel.oid) = old[i];
                d->rels_len++;
            }
        free(old);
    }
    PgoRelEntry **e = rel_find(d, entry->rel.oid);
    if (*e) {
        free(*e); /* a new Relation message replaces the old description */
    } else {
        d->rels_len++;
    }
    *e = entry;
}

/* ------------------------------------------------------------ messages */

static bool decode_error(PgrReader *r, size_t at, const char *fmt, const char *detail)
{
    return dip_error_set(r->err, DIP_ERR_DATA, "pgoutput %s message (%zu bytes): offset %zu: %s%s",
                         r->what, r->n, at, fmt, detail ? detail : "");
}

static bool read_xid_if_streamed(PgoDecoder *d, PgrReader *r, PgoMessage *m)
{
    if (!d->in_stream) return true;
    m->has_xid = true;
    return pgr_u32(r, &m->xid, "transaction id");
}

static bool read_relation(PgoDecoder *d, PgrReader *r, PgoMessage *m)
{
    uint32_t oid;
    const char *nsp, *name;
    uint8_t replident;
    uint16_t ncols;
    if (!pgr_u32(r, &oid, "relation OID") || !pgr_str(r, &nsp, "namespace") ||
        !pgr_str(r, &name, "relation name") || !pgr_u8(r, &replident, "replica identity") ||
        !pgr_u16(r, &ncols, "column count"))
        return false;
    if (replident != 'd' && replident != 'n' && replident != 'f' && replident != 'i') {
        char c[48];
        dip_snprintf(c, sizeof c, " (0x%02x)", replident);
        return decode_error(r, r->off - 3, "unknown replica identity", c);
    }
    /* first pass: validate the columns and size the copy */
    if (nsp[0] == '\0') nsp = "pg_catalog"; /* the protocol sends "" for pg_catalog */
    size_t strbytes = strlen(nsp) + 1 + strlen(name) + 1;
    size_t cols_at = r->off;
    for (int i = 0; i < ncols; i++) {
        uint8_t flags;
        const char *cname;
        uint32_t typoid, typmod;
        if (!pgr_u8(r, &flags, "column flags") || !pgr_str(r, &cname, "column name") ||
            !pgr_u32(r, &typoid, "column type OID") || !pgr_u32(r, &typmod, "column type modifier"))
            return false;
        strbytes += strlen(cname) + 1;
    }
    if (r->off != r->n) return decode_error(r, r->off, "trailing bytes after the columns", NULL);
    size_t size = sizeof(PgoRelEntry) + (size_t)ncols * sizeof(PgoColumn) + strbytes;
    PgoRelEntry *e = dip_malloc(size);
    PgoColumn *cols = (PgoColumn *)(e + 1);
    char *s = (char *)(cols + ncols);
    e->rel.oid = oid;
    e->rel.replident = (char)replident;
    e->rel.ncols = ncols;
    e->rel.cols = cols;
    size_t l = strlen(nsp) + 1;
    memcpy(s, nsp, l);
    e->rel.nspname = s;
    s += l;
    l = strlen(name) + 1;
    memcpy(s, name, l);
    e->rel.relname = s;
    s += l;
    /* second pass over the validated bytes */
    PgrReader c = *r;
    c.off = cols_at;
    for (int i = 0; i < ncols; i++) {
        uint8_t flags = 0;
        const char *cname = "";
        uint32_t typoid = 0, typmod = 0;
        (void)(pgr_u8(&c, &flags, "") && pgr_str(&c, &cname, "") && pgr_u32(&c, &typoid, "") &&
               pgr_u32(&c, &typmod, ""));
        l = strlen(cname) + 1;
        memcpy(s, cname, l);
        cols[i].flags = flags;
        cols[i].name = s;
        cols[i].type_oid = typoid;
        cols[i].typmod = (int32_t)typmod;
        s += l;
    }
    rel_put(d, e);
    m->u.relation = &e->rel;
    return true;
}

static void ensure_values(PgoDecoder *d, int ncols)
{
    if (ncols <= d->values_cap) return;
    int cap = d->values_cap ? d->values_cap : 16;
    while (cap < ncols)
        cap *= 2;
    d->old_values = dip_realloc(d->old_values, (size_t)cap * sizeof(PgoValue));
    d->new_values = dip_realloc(d->new_values, (size_t)cap * sizeof(PgoValue));
    d->values_cap = cap;
}

static bool read_tuple(PgoDecoder *d, PgrReader *r, const PgoRelation *rel, PgoValue *values,
                       PgoTuple *t)
{
    size_t at = r->off;
    uint16_t ncols;
    if (!pgr_u16(r, &ncols, "tuple column count")) return false;
    if (ncols != rel->ncols) {
        char detail[160];
        dip_snprintf(detail, sizeof detail, " (%u) differs from the %d columns of relation %s.%s",
                     (unsigned)ncols, rel->ncols, rel->nspname, rel->relname);
        return decode_error(r, at, "tuple column count", detail);
    }
    for (int i = 0; i < ncols; i++) {
        uint8_t kind;
        at = r->off;
        if (!pgr_u8(r, &kind, "tuple value kind")) return false;
        PgoValue *v = &values[i];
        v->kind = (char)kind;
        v->len = 0;
        v->data = NULL;
        if (kind == PGO_VALUE_NULL || kind == PGO_VALUE_UNCHANGED) continue;
        if (kind != PGO_VALUE_TEXT && kind != PGO_VALUE_BINARY) {
            char detail[160];
            dip_snprintf(detail, sizeof detail, " 0x%02x of column %d (%s) of %s.%s", kind, i + 1,
                         rel->cols[i].name, rel->nspname, rel->relname);
            return decode_error(r, at, "unknown tuple value kind", detail);
        }
        const uint8_t *data;
        if (!pgr_u32(r, &v->len, "tuple value length") ||
            !pgr_bytes(r, v->len, &data, "tuple value"))
            return false;
        v->data = (const char *)data;
    }
    t->ncols = ncols;
    t->values = values;
    return true;
}

static bool read_change(PgoDecoder *d, PgrReader *r, PgoMessage *m)
{
    size_t at = r->off;
    uint32_t oid;
    if (!pgr_u32(r, &oid, "relation OID")) return false;
    const PgoRelation *rel = pgoutput_relation(d, oid);
    if (rel == NULL) {
        char detail[64];
        dip_snprintf(detail, sizeof detail, " %u", oid);
        return decode_error(r, at, "no Relation message came before relation OID", detail);
    }
    ensure_values(d, rel->ncols);
    m->u.change.rel = rel;
    m->u.change.old_kind = 0;
    m->u.change.old_tuple = (PgoTuple){0, NULL};
    m->u.change.new_tuple = (PgoTuple){0, NULL};
    uint8_t tag;
    at = r->off;
    if (!pgr_u8(r, &tag, "tuple tag")) return false;
    if (m->kind != PGO_INSERT && (tag == 'K' || tag == 'O')) {
        m->u.change.old_kind = (char)tag;
        if (!read_tuple(d, r, rel, d->old_values, &m->u.change.old_tuple)) return false;
        if (m->kind == PGO_DELETE) goto done;
        at = r->off;
        if (!pgr_u8(r, &tag, "tuple tag")) return false;
    } else if (m->kind == PGO_DELETE) {
        char detail[32];
        dip_snprintf(detail, sizeof detail, " 0x%02x (expected 'K' or 'O')", tag);
        return decode_error(r, at, "unexpected tuple tag", detail);
    }
    if (tag != 'N') {
        char detail[32];
        dip_snprintf(detail, sizeof detail, " 0x%02x (expected 'N')", tag);
        return decode_error(r, at, "unexpected tuple tag", detail);
    }
    if (!read_tuple(d, r, rel, d->new_values, &m->u.change.new_tuple)) return false;
done:
    if (r->off != r->n) return decode_error(r, r->off, "trailing bytes after the tuple", NULL);
    return true;
}

static bool read_truncate(PgoDecoder *d, PgrReader *r, PgoMessage *m)
{
    uint32_t nrels;
    size_t at = r->off;
    if (!pgr_u32(r, &nrels, "relation count") ||
        !pgr_u8(r, &m->u.truncate.options, "truncate options"))
        return false;
    /* the count must fit the bytes that follow before anything is sized from it */
    if (nrels > (r->n - r->off) / 4) {
        char detail[96];
        dip_snprintf(detail, sizeof detail, " %u needs %llu bytes, %zu left", nrels,
                     (unsigned long long)nrels * 4, r->n - r->off);
        return decode_error(r, at, "relation count", detail);
    }
    if ((int)nrels > d->oids_cap) {
        int cap = d->oids_cap ? d->oids_cap : 16;
        while (cap < (int)nrels)
            cap *= 2;
        d->oids = dip_realloc(d->oids, (size_t)cap * sizeof *d->oids);
        d->oids_cap = cap;
    }
    for (uint32_t i = 0; i < nrels; i++)
        if (!pgr_u32(r, &d->oids[i], "relation OID")) return false;
    if (r->off != r->n) return decode_error(r, r->off, "trailing bytes after the OIDs", NULL);
    m->u.truncate.cascade = (m->u.truncate.options & 1) != 0;
    m->u.truncate.restart_identity = (m->u.truncate.options & 2) != 0;
    m->u.truncate.nrels = (int)nrels;
    m->u.truncate.oids = d->oids;
    return true;
}

static bool read_message(PgoDecoder *d, PgrReader *r, PgoMessage *m)
{
    const uint8_t *content;
    if (!read_xid_if_streamed(d, r, m) || !pgr_u8(r, &m->u.message.flags, "flags") ||
        !pgr_u64(r, &m->u.message.lsn, "LSN") || !pgr_str(r, &m->u.message.prefix, "prefix") ||
        !pgr_u32(r, &m->u.message.content_len, "content length") ||
        !pgr_bytes(r, m->u.message.content_len, &content, "content"))
        return false;
    m->u.message.content = content;
    m->u.message.transactional = (m->u.message.flags & 1) != 0;
    if (r->off != r->n) return decode_error(r, r->off, "trailing bytes after the content", NULL);
    return true;
}

static bool read_commit(PgrReader *r, PgoMessage *m)
{
    return pgr_u8(r, &m->u.commit.flags, "flags") &&
           pgr_u64(r, &m->u.commit.commit_lsn, "commit LSN") &&
           pgr_u64(r, &m->u.commit.end_lsn, "end LSN") &&
           pgr_timestamp(r, &m->u.commit.commit_time_us, "commit timestamp");
}

/* The Stream messages came with protocol 2. */
static bool stream_only(PgoDecoder *d, PgrReader *r)
{
    if (d->proto_version >= 2) return true;
    char detail[64];
    dip_snprintf(detail, sizeof detail, " (the stream was started with protocol version %d)",
                 d->proto_version);
    return decode_error(r, 0, "a protocol version 2 message", detail);
}

/* The two-phase messages: Begin Prepare has no flags byte, Rollback Prepared two times.
 * Protocol 3 introduced them, but a slot that once streamed with two_phase keeps it and
 * PostgreSQL sends them on any later stream of it, whatever its protocol: read them always. */
static bool read_prepare(PgrReader *r, PgoMessage *m)
{
    if (m->kind != PGO_BEGIN_PREPARE && !pgr_u8(r, &m->u.prepare.flags, "flags")) return false;
    bool rollback = m->kind == PGO_ROLLBACK_PREPARED;
    m->has_xid = true;
    const char *lsn = rollback                         ? "prepare end LSN"
                      : m->kind == PGO_COMMIT_PREPARED ? "commit LSN"
                                                       : "prepare LSN";
    return pgr_u64(r, &m->u.prepare.lsn, lsn) && pgr_u64(r, &m->u.prepare.end_lsn, "end LSN") &&
           pgr_timestamp(r, &m->u.prepare.time_us,
                         m->kind == PGO_COMMIT_PREPARED ? "commit timestamp"
                                                        : "prepare timestamp") &&
           (!rollback || pgr_timestamp(r, &m->u.prepare.rollback_time_us, "rollback timestamp")) &&
           pgr_u32(r, &m->xid, "transaction id") && pgr_str(r, &m->u.prepare.gid, "GID");
}

bool pgoutput_decode(PgoDecoder *d, const uint8_t *p, size_t n, PgoMessage *m, DipError *err)
{
    memset(m, 0, sizeof *m);
    PgrReader r = {p, n, 0, "pgoutput", "", err};
    if (n == 0) return dip_error_set(err, DIP_ERR_DATA, "pgoutput: empty message");
    uint8_t type = p[0];
    r.off = 1;
    m->kind = (PgoKind)type;
    r.what = pgoutput_kind_name(type);
    bool ok = false;
    switch (type) {
    case PGO_BEGIN:
        ok = pgr_u64(&r, &m->u.begin.final_lsn, "final LSN") &&
             pgr_timestamp(&r, &m->u.begin.commit_time_us, "commit timestamp") &&
             pgr_u32(&r, &m->xid, "transaction id");
        m->has_xid = true;
        break;
    case PGO_COMMIT:
        ok = read_commit(&r, m);
        break;
    case PGO_ORIGIN:
        ok = pgr_u64(&r, &m->u.origin.lsn, "origin LSN") &&
             pgr_str(&r, &m->u.origin.name, "origin name");
        break;
    case PGO_RELATION:
        ok = read_xid_if_streamed(d, &r, m) && read_relation(d, &r, m);
        break;
    case PGO_TYPE:
        ok = read_xid_if_streamed(d, &r, m) && pgr_u32(&r, &m->u.type.oid, "type OID") &&
             pgr_str(&r, &m->u.type.nspname, "namespace") &&
             pgr_str(&r, &m->u.type.name, "type name");
        if (ok && m->u.type.nspname[0] == '\0') m->u.type.nspname = "pg_catalog";
        break;
    case PGO_INSERT:
    case PGO_UPDATE:
    case PGO_DELETE:
        ok = read_xid_if_streamed(d, &r, m) && read_change(d, &r, m);
        break;
    case PGO_TRUNCATE:
        ok = read_xid_if_streamed(d, &r, m) && read_truncate(d, &r, m);
        break;
    case PGO_MESSAGE:
        ok = read_message(d, &r, m);
        break;
    case PGO_STREAM_START: {
        uint8_t first = 0;
        if (!stream_only(d, &r)) return false;
        if (d->in_stream)
            return decode_error(&r, 0, "Stream Start inside an open stream block", NULL);
        ok = pgr_u32(&r, &m->xid, "transaction id") && pgr_u8(&r, &first, "first segment flag");
        m->has_xid = true;
        m->u.stream_start.first_segment = first == 1;
        if (ok) d->in_stream = true;
        break;
    }
    case PGO_STREAM_STOP:
        if (!stream_only(d, &r)) return false;
        if (!d->in_stream) return decode_error(&r, 0, "Stream Stop without a Stream Start", NULL);
        d->in_stream = false;
        ok = true;
        break;
    case PGO_STREAM_COMMIT:
        if (!stream_only(d, &r)) return false;
        ok = pgr_u32(&r, &m->xid, "transaction id") && read_commit(&r, m);
        m->has_xid = true;
        break;
    case PGO_STREAM_ABORT:
        if (!stream_only(d, &r)) return false;
        ok = pgr_u32(&r, &m->xid, "transaction id") &&
             pgr_u32(&r, &m->u.stream_abort.subxid, "subtransaction id");
        /* protocol 4 adds the abort's LSN and time when streaming is parallel */
        if (ok && d->proto_version >= 4 && r.n - r.off == 16)
            ok = pgr_u64(&r, &m->u.stream_abort.abort_lsn, "abort LSN") &&
                 pgr_timestamp(&r, &m->u.stream_abort.abort_time_us, "abort timestamp");
        m->has_xid = true;
        break;
    case PGO_BEGIN_PREPARE:
    case PGO_PREPARE:
    case PGO_COMMIT_PREPARED:
    case PGO_ROLLBACK_PREPARED:
    case PGO_STREAM_PREPARE:
        ok = read_prepare(&r, m);
        break;
    default: {
        char detail[96];
        dip_snprintf(detail, sizeof detail, " 0x%02x ('%c') for protocol version %d", type,
                     type >= 0x20 && type < 0x7f ? type : '?', d->proto_version);
        return dip_error_set(err, DIP_ERR_DATA,
                             "pgoutput message (%zu bytes): offset 0: unknown message type%s", n,
                             detail);
    }
    }
    if (!ok) return false;
    /* fixed-layout messages: anything left over means a different layout than we expect */
    if (r.off != r.n && type != PGO_RELATION && type != PGO_INSERT && type != PGO_UPDATE &&
        type != PGO_DELETE && type != PGO_TRUNCATE && type != PGO_MESSAGE)
        return decode_error(&r, r.off, "trailing bytes after the message", NULL);
    return true;
}
