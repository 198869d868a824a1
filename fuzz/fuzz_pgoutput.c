/*
 * fuzz_pgoutput.c: libFuzzer target for the pgoutput decoder (src/pg/pgoutput.c) and the
 * replication CopyData parser (src/pg/repl.c), the two parsers of bytes a PostgreSQL server
 * sends during logical replication.
 *
 * Input: byte 0 chooses the protocol version (1 to 4; any other value must be refused by the
 * decoder, then 2 is used), then records of Int32 big-endian length + message bytes (a length
 * past the end takes what is left). One decoder runs over all records, so its relation cache
 * and stream state carry across messages as in a real session. The seed corpus
 * (fuzz/corpus/pgoutput/) holds sessions captured from PostgreSQL 15 by tests/pgrepl.
 * Checks beyond "no crash, no leak": every refusal is a DIP_ERR_DATA error with a message, and
 * every decoded value, string and tuple lies inside its message and matches its relation.
 */
#include "pg/pgrepl.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(const void *p, size_t len, const uint8_t *msg, size_t n)
{
    const uint8_t *q = p;
    if (len == 0) return;
    if (q < msg || q + len > msg + n) abort();
}

static void check_tuple(const PgoTuple *t, const PgoRelation *rel, const uint8_t *msg, size_t n)
{
    if (t->ncols != rel->ncols) abort();
    for (int i = 0; i < t->ncols; i++) {
        const PgoValue *v = &t->values[i];
        if (v->kind == PGO_VALUE_TEXT || v->kind == PGO_VALUE_BINARY)
            check_inside(v->data, v->len, msg, n);
        else if (v->kind != PGO_VALUE_NULL && v->kind != PGO_VALUE_UNCHANGED)
            abort();
    }
}

static void check_message(const PgoDecoder *d, const PgoMessage *m, const uint8_t *msg, size_t n)
{
    switch (m->kind) {
    case PGO_RELATION:
        if (pgoutput_relation(d, m->u.relation->oid) != m->u.relation) abort();
        for (int i = 0; i < m->u.relation->ncols; i++)
            if (m->u.relation->cols[i].name == NULL) abort();
        break;
    case PGO_INSERT:
    case PGO_UPDATE:
    case PGO_DELETE:
        if (m->u.change.old_kind) check_tuple(&m->u.change.old_tuple, m->u.change.rel, msg, n);
        if (m->kind != PGO_DELETE) check_tuple(&m->u.change.new_tuple, m->u.change.rel, msg, n);
        break;
    case PGO_MESSAGE:
        check_inside(m->u.message.prefix, strlen(m->u.message.prefix) + 1, msg, n);
        check_inside(m->u.message.content, m->u.message.content_len, msg, n);
        break;
    case PGO_ORIGIN:
        check_inside(m->u.origin.name, strlen(m->u.origin.name) + 1, msg, n);
        break;
    case PGO_BEGIN_PREPARE:
    case PGO_PREPARE:
    case PGO_COMMIT_PREPARED:
    case PGO_ROLLBACK_PREPARED:
    case PGO_STREAM_PREPARE:
        if (!m->has_xid) abort();
        check_inside(m->u.prepare.gid, strlen(m->u.prepare.gid) + 1, msg, n);
        break;
    case PGO_TRUNCATE:
        if (m->u.truncate.nrels < 0 || (size_t)m->u.truncate.nrels * 4 > n) abort();
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    PgoDecoder d;
    DipError err = {0};
    int version = data[0];
    if (!pgoutput_decoder_init(&d, version, &err)) {
        if (err.kind != DIP_ERR_DATA || err.msg[0] == '\0') abort();
        dip_error_clear(&err);
        if (!pgoutput_decoder_init(&d, 2, &err)) abort();
    }
    size_t off = 1;
    while (off < size) {
        size_t len = 0;
        for (int i = 0; i < 4; i++)
            len = len << 8 | (off < size ? data[off++] : 0);
        if (len > size - off) len = size - off;
        /* an exact-size heap copy: ASan sees any read past the message */
        uint8_t *msg = malloc(len ? len : 1);
        memcpy(msg, data + off, len);
        off += len;
        PgoMessage m;
        dip_error_clear(&err);
        if (pgoutput_decode(&d, msg, len, &m, &err))
            check_message(&d, &m, msg, len);
        else if (err.kind != DIP_ERR_DATA || err.msg[0] == '\0')
            abort();
        PgReplEvent ev;
        dip_error_clear(&err);
        if (pgrepl_parse_copydata(msg, len, &ev, &err)) {
            if (ev.kind == PGREPL_EV_DATA) check_inside(ev.data, ev.len, msg, len);
        } else if (err.kind != DIP_ERR_DATA || err.msg[0] == '\0') {
            abort();
        }
        free(msg);
    }
    pgoutput_decoder_free(&d);
    return 0;
}
