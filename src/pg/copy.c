/*
 * copy.c: PostgreSQL binary COPY encoding straight from column vectors, and the type map
 * silver -> PostgreSQL.
 *
 * Wire forms (PostgreSQL docs "COPY", section "Binary Format", and the *_send functions in
 * src/backend/utils/adt): a file starts with "PGCOPY\n\377\r\n\0", a 32-bit flags word and a
 * 32-bit header-extension length; each tuple is a 16-bit field count followed by, per field,
 * a 32-bit length (-1 = NULL) and the value bytes, all big-endian; the trailer is a 16-bit -1.
 * - date: int32 days since 2000-01-01; timestamp/timestamptz: int64 microseconds since
 *   2000-01-01 00:00:00 (UTC for timestamptz).
 * - numeric: int16 ndigits, int16 weight (base-10000 exponent of the first digit), int16
 *   sign (0x0000 +, 0x4000 -), int16 dscale, then ndigits int16 base-10000 digits; digit
 *   groups are aligned on the decimal point, leading and trailing zero groups dropped.
 * - jsonb: a version byte 1, then the JSON text.
 */
#include "pg/pg.h"

#include <string.h>

#define PG_EPOCH_DAYS 10957           /* 1970-01-01 -> 2000-01-01 */
#define PG_EPOCH_US 946684800000000LL /* the same in microseconds */

void pg_type_sql(const PgType *t, Buf *out)
{
    switch (t->id) {
    case PGT_BOOL:
        buf_append_str(out, "boolean");
        break;
    case PGT_INT2:
        buf_append_str(out, "smallint");
        break;
    case PGT_INT4:
        buf_append_str(out, "integer");
        break;
    case PGT_INT8:
        buf_append_str(out, "bigint");
        break;
    case PGT_FLOAT4:
        buf_append_str(out, "real");
        break;
    case PGT_FLOAT8:
        buf_append_str(out, "double precision");
        break;
    case PGT_NUMERIC:
        if (t->precision > 0)
            buf_printf(out, "numeric(%d,%d)", t->precision, t->scale);
        else
            buf_append_str(out, "numeric");
        break;
    case PGT_TEXT:
        buf_append_str(out, "text");
        break;
    case PGT_BYTEA:
        buf_append_str(out, "bytea");
        break;
    case PGT_DATE:
        buf_append_str(out, "date");
        break;
    case PGT_TIMESTAMP:
        buf_append_str(out, "timestamp without time zone");
        break;
    case PGT_TIMESTAMPTZ:
        buf_append_str(out, "timestamp with time zone");
        break;
    case PGT_JSONB:
        buf_append_str(out, "jsonb");
        break;
    case PGT_NONE:
        buf_append_str(out, "?");
        break;
    }
}

bool pg_type_for(const DipType *src, PgType *out, char *why, size_t whylen)
{
    memset(out, 0, sizeof *out);
    switch (src->id) {
    case DT_BOOL:
        out->id = PGT_BOOL;
        return true;
    case DT_INT8:
    case DT_INT16:
    case DT_UINT8:
        out->id = PGT_INT2;
        return true;
    case DT_INT32:
    case DT_UINT16:
        out->id = PGT_INT4;
        return true;
    case DT_INT64:
    case DT_UINT32:
        out->id = PGT_INT8;
        return true;
    case DT_FLOAT:
        out->id = PGT_FLOAT4;
        return true;
    case DT_DOUBLE:
        out->id = PGT_FLOAT8;
        return true;
    case DT_DECIMAL:
        if (src->precision < 1 || src->precision > 38 || src->scale < 0 ||
            src->scale > src->precision) {
            dip_snprintf(why, whylen, "decimal(%d,%d) is outside numeric(1..38, 0..p)",
                         src->precision, src->scale);
            return false;
        }
        out->id = PGT_NUMERIC;
        out->precision = src->precision;
        out->scale = src->scale;
        return true;
    case DT_STRING:
    case DT_ENUM:
        out->id = PGT_TEXT;
        return true;
    case DT_BINARY:
    case DT_FIXED:
        out->id = PGT_BYTEA;
        return true;
    case DT_JSON:
    case DT_STRUCT:
    case DT_LIST:
    case DT_MAP:
        out->id = PGT_JSONB;
        return true;
    case DT_DATE:
        out->id = PGT_DATE;
        return true;
    case DT_TIMESTAMP:
        out->id = src->utc ? PGT_TIMESTAMPTZ : PGT_TIMESTAMP;
        return true;
    case DT_UINT64:
        dip_snprintf(why, whylen, "uint64 has no exact PostgreSQL integer type");
        return false;
    case DT_NULL:
        dip_snprintf(why, whylen, "a void (always null) column has no PostgreSQL type");
        return false;
    case DT_TIME:
    case DT_UUID:
        dip_snprintf(why, whylen, "%s is not a Delta Lake type dip maps", dip_type_name(src->id));
        return false;
    }
    dip_snprintf(why, whylen, "unknown type");
    return false;
}

void pg_copy_header(Buf *b)
{
    static const uint8_t sig[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xFF, '\r', '\n', 0};
    buf_append(b, sig, sizeof sig);
    buf_append_be32(b, 0); /* flags: no OIDs */
    buf_append_be32(b, 0); /* header extension length */
}

void pg_copy_trailer(Buf *b)
{
    buf_append_be16(b, 0xFFFF);
}

void pg_copy_text(Buf *b, const char *s, size_t n)
{
    buf_append_be32(b, (uint32_t)n);
    buf_append(b, s, n);
}

void pg_copy_timestamp_us(Buf *b, int64_t unix_us)
{
    buf_append_be32(b, 8);
    buf_append_be64(b, (uint64_t)(unix_us - PG_EPOCH_US));
}

void pg_copy_numeric(Buf *b, __int128 unscaled, int scale)
{
    bool neg = unscaled < 0;
    unsigned __int128 mag =
        neg ? (unsigned __int128)(-(unscaled + 1)) + 1 : (unsigned __int128)unscaled;
    /* decimal digits of the magnitude, least significant first */
    uint8_t dig[48];
    int nd = 0;
    while (mag > 0) {
        dig[nd++] = (uint8_t)(mag % 10);
        mag /= 10;
    }
    if (nd == 0) {
        buf_append_be32(b, 8);
        buf_append_be16(b, 0);
        buf_append_be16(b, 0);
        buf_append_be16(b, 0);
        buf_append_be16(b, (uint16_t)scale);
        return;
    }
    /* digit i (from the right) has decimal exponent i - scale; its base-10000 group is
     * floor((i - scale) / 4). Groups from the highest down. */
    int lo_exp = -scale, hi_exp = nd - 1 - scale;
    int lo_grp = lo_exp >= 0 ? lo_exp / 4 : -((-lo_exp + 3) / 4);
    int hi_grp = hi_exp >= 0 ? hi_exp / 4 : -((-hi_exp + 3) / 4);
    int ngroups = hi_grp - lo_grp + 1;
    uint16_t groups[16];
    for (int g = 0; g < ngroups; g++) {
        int grp = hi_grp - g;
        unsigned v = 0;
        for (int k = 3; k >= 0; k--) {
            int e = grp * 4 + k; /* decimal exponent */
            int i = e + scale;   /* index into dig */
            v = v * 10 + (i >= 0 && i < nd ? dig[i] : 0);
        }
        groups[g] = (uint16_t)v;
    }
    int first = 0, last = ngroups - 1;
    while (first < last && groups[first] == 0)
        first++;
    while (last > first && groups[last] == 0)
        last--;
    int n = last - first + 1;
    int weight = hi_grp - first;
    buf_append_be32(b, (uint32_t)(8 + 2 * n));
    buf_append_be16(b, (uint16_t)n);
    buf_append_be16(b, (uint16_t)(int16_t)weight);
    buf_append_be16(b, neg ? 0x4000 : 0x0000);
    buf_append_be16(b, (uint16_t)scale);
    for (int g = first; g <= last; g++)
        buf_append_be16(b, groups[g]);
}

static int64_t ts_to_us(int64_t v, DipTimeUnit unit)
{
    switch (unit) {
    case TU_MILLIS:
        return v * 1000;
    case TU_MICROS:
        return v;
    case TU_NANOS:
        return v >= 0 ? v / 1000 : -((-v + 999) / 1000); /* floor */
    }
    return v;
}

static bool mismatch(DipError *err, const PgType *t, const ColumnVector *c)
{
    Buf s;
    buf_init(&s);
    pg_type_sql(t, &s);
    dip_error_set(err, DIP_ERR_DATA, "cannot encode a %s value as PostgreSQL %s",
                  dip_type_name(c->type->id), buf_cstr(&s));
    buf_free(&s);
    return false;
}

/* smallint, integer, bigint: from any integer column, range-checked */
static inline bool copy_int(Buf *b, const PgType *t, const ColumnVector *c, int64_t row,
                            DipError *err)
{
    int64_t iv;
    if (!column_value_int64(c, row, &iv)) return mismatch(err, t, c);
    if (t->id == PGT_INT2) {
        if (iv < INT16_MIN || iv > INT16_MAX)
            return dip_error_set(err, DIP_ERR_DATA, "value %lld out of smallint range",
                                 (long long)iv);
        buf_append_be32(b, 2);
        buf_append_be16(b, (uint16_t)(int16_t)iv);
    } else if (t->id == PGT_INT4) {
        if (iv < INT32_MIN || iv > INT32_MAX)
            return dip_error_set(err, DIP_ERR_DATA, "value %lld out of integer range",
                                 (long long)iv);
        buf_append_be32(b, 4);
        buf_append_be32(b, (uint32_t)(int32_t)iv);
    } else {
        buf_append_be32(b, 8);
        buf_append_be64(b, (uint64_t)iv);
    }
    return true;
}

/* real and double precision, bit for bit */
static inline bool copy_float(Buf *b, const PgType *t, const ColumnVector *c, int64_t row,
                              DipError *err)
{
    if (t->id == PGT_FLOAT4) {
        if (c->type->id != DT_FLOAT) return mismatch(err, t, c);
        uint32_t u;
        memcpy(&u, (const float *)c->values + row, 4);
        buf_append_be32(b, 4);
        buf_append_be32(b, u);
        return true;
    }
    double d;
    if (c->type->id == DT_DOUBLE)
        d = ((const double *)c->values)[row];
    else if (c->type->id == DT_FLOAT)
        d = ((const float *)c->values)[row];
    else
        return mismatch(err, t, c);
    uint64_t u;
    memcpy(&u, &d, 8);
    buf_append_be32(b, 8);
    buf_append_be64(b, u);
    return true;
}

/* numeric: from a decimal (its scale) or any integer column (scale 0) */
static inline bool copy_numeric(Buf *b, const PgType *t, const ColumnVector *c, int64_t row,
                                DipError *err)
{
    __int128 v;
    int scale;
    int64_t iv;
    if (c->type->id == DT_DECIMAL) {
        memcpy(&v, (const uint8_t *)c->values + 16 * row, 16);
        scale = c->type->scale;
    } else if (column_value_int64(c, row, &iv)) {
        v = iv;
        scale = 0;
    } else {
        return mismatch(err, t, c);
    }
    pg_copy_numeric(b, v, scale);
    return true;
}

/* text and bytea: the bytes as they are, from the column types each accepts */
static inline bool copy_bytes(Buf *b, const PgType *t, const ColumnVector *c, int64_t row,
                              DipError *err)
{
    DipTypeId id = c->type->id;
    bool ok = t->id == PGT_TEXT ? id == DT_STRING || id == DT_ENUM || id == DT_JSON
                                : id == DT_BINARY || id == DT_FIXED || id == DT_STRING;
    if (!ok) return mismatch(err, t, c);
    pg_copy_text(b, (const char *)c->data + c->offsets[row],
                 (size_t)(c->offsets[row + 1] - c->offsets[row]));
    return true;
}

/* timestamp and timestamptz: from a timestamp in any unit, or a date at midnight */
static inline bool copy_timestamp(Buf *b, const PgType *t, const ColumnVector *c, int64_t row,
                                  DipError *err)
{
    if (c->type->id == DT_TIMESTAMP) {
        int64_t v = ((const int64_t *)c->values)[row];
        if (c->type->unit == TU_MILLIS && (v > INT64_MAX / 1000 || v < INT64_MIN / 1000))
            return dip_error_set(err, DIP_ERR_DATA, "timestamp %lld ms is out of range",
                                 (long long)v);
        pg_copy_timestamp_us(b, ts_to_us(v, c->type->unit));
        return true;
    }
    if (c->type->id == DT_DATE) {
        pg_copy_timestamp_us(b, (int64_t)((const int32_t *)c->values)[row] * 86400000000LL);
        return true;
    }
    return mismatch(err, t, c);
}

/* jsonb: JSON text as it is (PostgreSQL validates it), any other value written as JSON */
static void copy_jsonb(Buf *b, const ColumnVector *c, int64_t row, Buf *scratch)
{
    buf_clear(scratch);
    if (c->type->id == DT_JSON || c->type->id == DT_STRING) {
        buf_append(scratch, c->data + c->offsets[row],
                   (size_t)(c->offsets[row + 1] - c->offsets[row]));
    } else {
        JsonWriter w;
        jw_init(&w, scratch);
        column_value_write_json(&w, c, row);
    }
    buf_append_be32(b, (uint32_t)(scratch->len + 1));
    buf_append_byte(b, 1);
    buf_append(b, scratch->data, scratch->len);
}

bool pg_copy_value(Buf *b, const PgType *t, const ColumnVector *c, int64_t row, Buf *scratch,
                   DipError *err)
{
    if (!col_is_valid(c, row)) {
        pg_copy_null(b);
        return true;
    }
    switch (t->id) {
    case PGT_BOOL:
        if (c->type->id != DT_BOOL) return mismatch(err, t, c);
        buf_append_be32(b, 1);
        buf_append_byte(b, ((const uint8_t *)c->values)[row] ? 1 : 0);
        return true;
    case PGT_INT2:
    case PGT_INT4:
    case PGT_INT8:
        return copy_int(b, t, c, row, err);
    case PGT_FLOAT4:
    case PGT_FLOAT8:
        return copy_float(b, t, c, row, err);
    case PGT_NUMERIC:
        return copy_numeric(b, t, c, row, err);
    case PGT_TEXT:
    case PGT_BYTEA:
        return copy_bytes(b, t, c, row, err);
    case PGT_DATE:
        if (c->type->id != DT_DATE) return mismatch(err, t, c);
        buf_append_be32(b, 4);
        buf_append_be32(b, (uint32_t)(((const int32_t *)c->values)[row] - PG_EPOCH_DAYS));
        return true;
    case PGT_TIMESTAMP:
    case PGT_TIMESTAMPTZ:
        return copy_timestamp(b, t, c, row, err);
    case PGT_JSONB:
        copy_jsonb(b, c, row, scratch);
        return true;
    case PGT_NONE:
        break;
    }
    return mismatch(err, t, c);
}

int pg_copy_tuple_parse(const uint8_t *p, size_t n, const uint8_t **fields, int32_t *lens, int max)
{
    ByteReader r;
    br_init(&r, p, n);
    /* the first data message of a binary COPY OUT carries the 19-byte header */
    if (n >= 19 && memcmp(p, "PGCOPY\n\377\r\n\0", 11) == 0) {
        const uint8_t *skip;
        uint32_t ext;
        if (!br_read_bytes(&r, 15, &skip) || !br_read_be32(&r, &ext) ||
            !br_read_bytes(&r, ext, &skip))
            return -2;
    }
    uint16_t nf16;
    if (!br_read_be16(&r, &nf16)) return -2;
    int16_t nf = (int16_t)nf16;
    if (nf == -1) return -1;
    if (nf < 0) return -2;
    for (int i = 0; i < nf; i++) {
        uint32_t len32;
        if (!br_read_be32(&r, &len32)) return -2;
        int32_t len = (int32_t)len32;
        const uint8_t *v = NULL;
        if (len >= 0 && !br_read_bytes(&r, (size_t)len, &v)) return -2;
        if (i < max) {
            fields[i] = v;
            lens[i] = len;
        }
    }
    return nf;
}
