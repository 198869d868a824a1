/*
 * partition.c: partition values from their string form (PROTOCOL.md "Partition Value
 * Serialization") and constant column vectors for them.
 *
 * An empty string or JSON null is NULL for every type. Timestamps are
 * "{y}-{m}-{d} {h}:{m}:{s}[.{micros}]" or ISO 8601 with a zone; a value without a zone is
 * read as UTC (the protocol says "the writer's time zone", which the log does not record;
 * delta-kernel-java, delta-kernel-rs and Trino all read UTC, and so do we — docs/delta.md).
 */
#include "delta/delta_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool parse_uint_n(const char **p, int mindig, int maxdig, int64_t *out)
{
    const char *s = *p;
    int64_t v = 0;
    int n = 0;
    while (isdigit((unsigned char)*s) && n < maxdig) {
        v = v * 10 + (*s - '0');
        s++;
        n++;
    }
    if (n < mindig) return false;
    *p = s;
    *out = v;
    return true;
}

static bool parse_date_part(const char **p, int64_t *days)
{
    const char *s = *p;
    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    int64_t y, m, d;
    if (!parse_uint_n(&s, 1, 6, &y) || *s++ != '-' || !parse_uint_n(&s, 1, 2, &m) || *s++ != '-' ||
        !parse_uint_n(&s, 1, 2, &d))
        return false;
    if (m < 1 || m > 12 || d < 1 || d > 31) return false;
    if (neg) y = -y;
    *days = dip_days_from_civil(y, (unsigned)m, (unsigned)d);
    *p = s;
    return true;
}

/* "[T| ]HH:MM:SS[.f{1,9}][Z|+HH:MM|-HH:MM]" after a date; micros since the day start minus
 * the zone offset. */
static bool parse_time_part(const char *s, bool allow_zone, int64_t *micros)
{
    int64_t h, mi, se = 0, frac = 0;
    if (*s != ' ' && *s != 'T') return false;
    s++;
    if (!parse_uint_n(&s, 1, 2, &h) || *s++ != ':' || !parse_uint_n(&s, 1, 2, &mi)) return false;
    if (*s == ':') {
        s++;
        if (!parse_uint_n(&s, 1, 2, &se)) return false;
    }
    if (*s == '.') {
        s++;
        int n = 0;
        while (isdigit((unsigned char)*s)) {
            if (n < 6) frac = frac * 10 + (*s - '0');
            n++;
            s++;
        }
        if (n == 0) return false;
        for (int i = n; i < 6; i++)
            frac *= 10;
    }
    if (h > 23 || mi > 59 || se > 60) return false;
    int64_t off = 0;
    if (*s && allow_zone) {
        if (*s == 'Z' || *s == 'z') {
            s++;
        } else if (*s == '+' || *s == '-') {
            int sign = *s == '-' ? -1 : 1;
            s++;
            int64_t oh, om = 0;
            if (!parse_uint_n(&s, 2, 2, &oh)) return false;
            if (*s == ':') s++;
            if (isdigit((unsigned char)*s) && !parse_uint_n(&s, 2, 2, &om)) return false;
            off = sign * (oh * 3600 + om * 60);
        }
    }
    if (*s) return false;
    *micros = ((h * 3600 + mi * 60 + se) - off) * 1000000 + frac;
    return true;
}

/* Decimal text ("-2342342.23423", "1.0E-7") to an unscaled value at `scale`. */
static bool parse_decimal(const char *s, int precision, int scale, __int128 *out)
{
    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    __int128 v = 0;
    int digits = 0, frac_digits = 0;
    bool seen_dot = false, any = false;
    for (; *s && *s != 'e' && *s != 'E'; s++) {
        if (*s == '.') {
            if (seen_dot) return false;
            seen_dot = true;
            continue;
        }
        if (!isdigit((unsigned char)*s)) return false;
        any = true;
        if (v == 0 && *s == '0') {
            if (seen_dot) frac_digits++;
            continue;
        }
        if (++digits > 38) return false;
        v = v * 10 + (*s - '0');
        if (seen_dot) frac_digits++;
    }
    if (!any) return false;
    int64_t exp = 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        char *e;
        errno = 0;
        long long x = strtoll(s, &e, 10);
        if (e == s || *e || errno || x > 100 || x < -100) return false;
        exp = x;
    }
    /* value = v * 10^(exp - frac_digits); we want v' = value * 10^scale */
    int64_t shift = exp - frac_digits + scale;
    while (shift > 0) {
        if (v > (__int128)1e37) return false;
        v *= 10;
        shift--;
    }
    while (shift < 0) {
        if (v % 10 != 0) return false; /* more fraction digits than the scale holds */
        v /= 10;
        shift++;
    }
    __int128 lim = 1;
    for (int i = 0; i < precision; i++)
        lim *= 10;
    if (v >= lim) return false;
    *out = neg ? -v : v;
    return true;
}

static bool parse_int_range(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    int64_t v;
    if (!dip_parse_i64(s, &v) || v < lo || v > hi) return false;
    *out = v;
    return true;
}

bool delta_partition_value_parse(const DipType *t, const char *s, DeltaValue *out, Arena *a,
                                 DipError *err)
{
    memset(out, 0, sizeof *out);
    if (s == NULL || s[0] == '\0' || t->id == DT_NULL) {
        out->is_null = true;
        return true;
    }
    bool ok = true;
    switch (t->id) {
    case DT_BOOL:
        if (strcasecmp(s, "true") == 0)
            out->i = 1;
        else if (strcasecmp(s, "false") == 0)
            out->i = 0;
        else
            ok = false;
        break;
    case DT_INT8:
        ok = parse_int_range(s, INT8_MIN, INT8_MAX, &out->i);
        break;
    case DT_INT16:
        ok = parse_int_range(s, INT16_MIN, INT16_MAX, &out->i);
        break;
    case DT_INT32:
        ok = parse_int_range(s, INT32_MIN, INT32_MAX, &out->i);
        break;
    case DT_INT64:
        ok = dip_parse_i64(s, &out->i);
        break;
    case DT_FLOAT:
    case DT_DOUBLE:
        if (strcmp(s, "NaN") == 0)
            out->d = NAN;
        else if (strcmp(s, "Infinity") == 0 || strcmp(s, "+Infinity") == 0)
            out->d = INFINITY;
        else if (strcmp(s, "-Infinity") == 0)
            out->d = -INFINITY;
        else
            ok = dip_parse_double(s, &out->d);
        break;
    case DT_DECIMAL:
        ok = parse_decimal(s, t->precision, t->scale, &out->dec);
        break;
    case DT_STRING:
        out->s = s;
        out->slen = strlen(s);
        break;
    case DT_BINARY: {
        /* bytes written as "\u0001\u0002": the JSON decoder gave UTF-8; code points up to
         * U+00FF are the bytes themselves */
        size_t n = strlen(s);
        uint8_t *b = arena_alloc(a, n + 1);
        size_t o = 0;
        const uint8_t *u = (const uint8_t *)s;
        for (size_t i = 0; i < n;) {
            if (u[i] >= 0xC2 && u[i] <= 0xC3 && i + 1 < n && (u[i + 1] & 0xC0) == 0x80) {
                b[o++] = (uint8_t)(((u[i] & 0x1F) << 6) | (u[i + 1] & 0x3F));
                i += 2;
            } else {
                b[o++] = u[i++];
            }
        }
        out->s = (const char *)b;
        out->slen = o;
        break;
    }
    case DT_DATE: {
        const char *p = s;
        int64_t days;
        ok = parse_date_part(&p, &days) && *p == '\0' && days >= INT32_MIN && days <= INT32_MAX;
        out->i = days;
        break;
    }
    case DT_TIMESTAMP: {
        const char *p = s;
        int64_t days, micros = 0;
        ok = parse_date_part(&p, &days);
        if (ok && *p) ok = parse_time_part(p, t->utc, &micros);
        /* +-292,000 years of microseconds fit in int64; refuse before multiplying */
        if (ok && (days > 106751 * 1000 || days < -106751 * 1000)) ok = false;
        if (ok) out->i = days * 86400LL * 1000000LL + micros;
        if (ok && t->unit == TU_MILLIS)
            out->i /= 1000;
        else if (ok && t->unit == TU_NANOS)
            out->i *= 1000;
        break;
    }
    default:
        return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                             "partition value \"%s\": partition columns of type %s are not "
                             "supported",
                             s, dip_type_name(t->id));
    }
    if (!ok) {
        Buf tn;
        buf_init(&tn);
        dip_type_format(t, &tn);
        dip_error_set(err, DIP_ERR_DATA, "partition value \"%s\" is not a valid %s", s,
                      buf_cstr(&tn));
        buf_free(&tn);
        return false;
    }
    return true;
}

void delta_vector_fill_constant(ColumnVector *c, const DipType *t, const DeltaValue *v, int64_t n,
                                Arena *a)
{
    memset(c, 0, sizeof *c);
    c->type = t;
    c->length = n;
    size_t nb = (size_t)(n + 7) / 8;
    if (v->is_null) {
        c->validity = arena_calloc(a, nb ? nb : 1, 1);
        c->null_count = n;
    }
    size_t w = dip_type_value_width(t->id);
    if (dip_type_is_varlen(t->id)) {
        size_t len = v->is_null ? 0 : v->slen;
        c->offsets = arena_alloc(a, (size_t)(n + 1) * sizeof(int64_t));
        for (int64_t i = 0; i <= n; i++)
            c->offsets[i] = (int64_t)len * i;
        c->data_len = (int64_t)len * n;
        c->data = arena_alloc(a, (size_t)c->data_len + 1);
        for (int64_t i = 0; i < n && len > 0; i++)
            memcpy(c->data + (size_t)i * len, v->s, len);
        return;
    }
    if (w == 0) {
        /* nested or null type: partition columns are primitive, so all-null is all we need */
        if (!c->validity) {
            c->validity = arena_calloc(a, nb ? nb : 1, 1);
            c->null_count = n;
        }
        return;
    }
    c->values = arena_calloc(a, (size_t)(n ? n : 1), w);
    if (v->is_null) return;
    uint8_t *p = c->values;
    for (int64_t i = 0; i < n; i++, p += w) {
        switch (t->id) {
        case DT_BOOL:
            *(uint8_t *)p = (uint8_t)v->i;
            break;
        case DT_INT8:
            *(int8_t *)p = (int8_t)v->i;
            break;
        case DT_INT16:
            *(int16_t *)p = (int16_t)v->i;
            break;
        case DT_INT32:
        case DT_DATE:
            *(int32_t *)p = (int32_t)v->i;
            break;
        case DT_INT64:
        case DT_TIMESTAMP:
        case DT_TIME:
            *(int64_t *)p = v->i;
            break;
        case DT_FLOAT:
            *(float *)p = (float)v->d;
            break;
        case DT_DOUBLE:
            *(double *)p = v->d;
            break;
        case DT_DECIMAL:
            memcpy(p, &v->dec, sizeof v->dec);
            break;
        default:
            break;
        }
    }
}
