/*
 * thrift.c: a reader for the Thrift compact protocol (thrift/doc/specs/
 * thrift-compact-protocol.md), the encoding of Parquet's footer and page headers.
 *
 * Every read is bounds-checked against the buffer; lengths and element counts are checked
 * against the bytes left before anyone allocates for them (each element of a list takes at
 * least one byte, so a count larger than the remaining bytes is a lie); nesting is capped
 * so a hostile file cannot recurse the skipper into a stack overflow. Unknown fields are
 * skipped, which is how newer writers' additions stay readable.
 */
#include "parquet/pq_internal.h"

#include <string.h>

void thrift_init(ThriftReader *r, const uint8_t *p, size_t n, uint64_t base, DipError *err)
{
    r->p = p;
    r->start = p;
    r->end = p + n;
    r->base = base;
    r->depth = 0;
    r->err = err;
}

uint64_t thrift_offset(const ThriftReader *r)
{
    return r->base + (uint64_t)(r->p - r->start);
}

static bool fail(ThriftReader *r, const char *what)
{
    return dip_error_set(r->err, DIP_ERR_DATA, "thrift at offset %llu: %s",
                         (unsigned long long)thrift_offset(r), what);
}

static bool read_varint(ThriftReader *r, uint64_t *out)
{
    uint64_t v = 0;
    *out = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end) return fail(r, "truncated varint");
        uint8_t b = *r->p++;
        if (shift == 63 && (b & 0x7e)) return fail(r, "varint overflows 64 bits");
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return fail(r, "varint longer than 10 bytes");
}

static int64_t zigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

bool thrift_struct_begin(ThriftReader *r)
{
    if (++r->depth > THRIFT_MAX_DEPTH) return fail(r, "structures nested too deeply");
    return true;
}

void thrift_struct_end(ThriftReader *r)
{
    r->depth--;
}

bool thrift_field(ThriftReader *r, int16_t *last_id, int16_t *id, int *type)
{
    if (r->p >= r->end) return fail(r, "truncated structure (no stop field)");
    uint8_t b = *r->p++;
    *type = b & 0x0f;
    if (*type == TT_STOP) {
        *id = 0;
        return true;
    }
    int delta = b >> 4;
    if (delta) {
        *id = (int16_t)(*last_id + delta);
    } else {
        uint64_t v;
        if (!read_varint(r, &v)) return false;
        int64_t z = zigzag(v);
        if (z < INT16_MIN || z > INT16_MAX) return fail(r, "field id out of range");
        *id = (int16_t)z;
    }
    if (*type > TT_STRUCT) return fail(r, "unknown field type");
    *last_id = *id;
    return true;
}

bool thrift_read_bool(ThriftReader *r, int type, bool *out)
{
    if (type == TT_TRUE || type == TT_FALSE) {
        *out = type == TT_TRUE;
        return true;
    }
    return fail(r, "expected a boolean field");
}

static bool read_int(ThriftReader *r, int type, int64_t *out)
{
    if (type == TT_BYTE) {
        if (r->p >= r->end) return fail(r, "truncated byte");
        *out = (int8_t)*r->p++;
        return true;
    }
    if (type != TT_I16 && type != TT_I32 && type != TT_I64)
        return fail(r, "expected an integer field");
    uint64_t v;
    if (!read_varint(r, &v)) return false;
    *out = zigzag(v);
    return true;
}

bool thrift_read_i32(ThriftReader *r, int type, int32_t *out)
{
    int64_t v = 0;
    if (!read_int(r, type, &v)) return false;
    if (v < INT32_MIN || v > INT32_MAX) return fail(r, "32-bit integer out of range");
    *out = (int32_t)v;
    return true;
}

bool thrift_read_i64(ThriftReader *r, int type, int64_t *out)
{
    return read_int(r, type, out);
}

bool thrift_read_binary(ThriftReader *r, int type, const uint8_t **p, uint32_t *n)
{
    if (type != TT_BINARY) return fail(r, "expected a binary/string field");
    uint64_t len;
    if (!read_varint(r, &len)) return false;
    if (len > (uint64_t)(r->end - r->p))
        return fail(r, "string length runs past the end of the structure");
    *p = r->p;
    *n = (uint32_t)len;
    r->p += len;
    return true;
}

bool thrift_list_begin(ThriftReader *r, int type, int *elem_type, uint32_t *count)
{
    if (type != TT_LIST && type != TT_SET) return fail(r, "expected a list field");
    if (r->p >= r->end) return fail(r, "truncated list header");
    uint8_t b = *r->p++;
    uint64_t n = b >> 4;
    *elem_type = b & 0x0f;
    if (n == 15 && !read_varint(r, &n)) return false;
    if (*elem_type == TT_STOP || *elem_type > TT_STRUCT)
        return fail(r, "unknown list element type");
    /* every element takes at least one byte, except booleans packed one per byte too */
    if (n > (uint64_t)(r->end - r->p)) return fail(r, "list count larger than the bytes left");
    *count = (uint32_t)n;
    return true;
}

bool thrift_read_elem_i32(ThriftReader *r, int elem_type, int32_t *out)
{
    return thrift_read_i32(r, elem_type, out);
}

bool thrift_skip(ThriftReader *r, int type)
{
    uint64_t v;
    switch (type) {
    case TT_TRUE:
    case TT_FALSE:
        return true;
    case TT_BYTE:
        if (r->p >= r->end) return fail(r, "truncated byte");
        r->p++;
        return true;
    case TT_I16:
    case TT_I32:
    case TT_I64:
        return read_varint(r, &v);
    case TT_DOUBLE:
        if (r->end - r->p < 8) return fail(r, "truncated double");
        r->p += 8;
        return true;
    case TT_BINARY: {
        const uint8_t *p;
        uint32_t n;
        return thrift_read_binary(r, type, &p, &n);
    }
    case TT_LIST:
    case TT_SET: {
        int et;
        uint32_t n;
        if (!thrift_list_begin(r, type, &et, &n)) return false;
        if (++r->depth > THRIFT_MAX_DEPTH) return fail(r, "structures nested too deeply");
        for (uint32_t i = 0; i < n; i++) {
            /* booleans inside containers take one byte each */
            int t = (et == TT_TRUE || et == TT_FALSE) ? TT_BYTE : et;
            if (!thrift_skip(r, t)) return false;
        }
        r->depth--;
        return true;
    }
    case TT_MAP: {
        if (!read_varint(r, &v)) return false;
        if (v == 0) return true;
        if (r->p >= r->end) return fail(r, "truncated map header");
        uint8_t kt = *r->p >> 4, vt = *r->p & 0x0f;
        r->p++;
        if (kt == TT_STOP || kt > TT_STRUCT || vt == TT_STOP || vt > TT_STRUCT)
            return fail(r, "unknown map element type");
        if (v > (uint64_t)(r->end - r->p)) return fail(r, "map count larger than the bytes left");
        if (++r->depth > THRIFT_MAX_DEPTH) return fail(r, "structures nested too deeply");
        for (uint64_t i = 0; i < v; i++) {
            if (!thrift_skip(r, (kt == TT_TRUE || kt == TT_FALSE) ? TT_BYTE : kt) ||
                !thrift_skip(r, (vt == TT_TRUE || vt == TT_FALSE) ? TT_BYTE : vt))
                return false;
        }
        r->depth--;
        return true;
    }
    case TT_STRUCT: {
        if (!thrift_struct_begin(r)) return false;
        int16_t last = 0, id;
        int t;
        for (;;) {
            if (!thrift_field(r, &last, &id, &t)) return false;
            if (t == TT_STOP) break;
            if (!thrift_skip(r, t)) return false;
        }
        thrift_struct_end(r);
        return true;
    }
    default:
        return fail(r, "cannot skip unknown type");
    }
}
