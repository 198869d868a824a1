/*
 * render.c: PostgreSQL values -> JSON, exactly as PostgreSQL's to_json renders them.
 *
 * Spec: src/backend/utils/adt/json.c (PostgreSQL 15): json_categorize_type() looks through
 * domains and sorts a type into bool, numeric, date, timestamp, timestamptz, json, jsonb,
 * array, composite, cast-to-json or "other"; datum_to_json() then writes
 * - numeric types: the output text when IsValidJsonNumber() accepts it, else an escaped
 *   string (so NaN, Infinity and -Infinity become "NaN", "Infinity", "-Infinity");
 * - bool: true / false;
 * - date / timestamp / timestamptz: JsonEncodeDateTime(), the XSD style of EncodeDateTime:
 *   like ISO but with 'T' between date and time and a zone offset that always has minutes
 *   ("+00:00"); years before 1 AD keep the " BC" suffix; infinities are "infinity" and
 *   "-infinity";
 * - json / jsonb: the output text as it is;
 * - arrays: array_to_json_internal(), "[" elements "," ... "]" per dimension, the bounds
 *   decoration ignored, NULL elements as null, each element rendered by its own category;
 * - everything else: the type's output text as an escaped JSON string (escape_json: \", \\,
 *   \b \f \n \r \t, other controls as \u00XX; non-ASCII as is).
 *
 * Why text results and not binary: to_json's own rendering *is* the output text for all but
 * the date/time categories, and the binary forms of numeric, floats and timestamps would have
 * to be formatted back to exactly that text in C. Measured on the 100,000-book database (best
 * of 5): book rows 0.29 s as text, 0.32 s as binary; authors and link rows equal. The client
 * then does one copy or escape per value (docs/sync-es.md, "How documents are built").
 */
#include "docs/build.h"

#include <string.h>

/* pg_type OIDs of the built-in types json.c categorizes (catalog/pg_type.dat). */
enum {
    OID_BOOL = 16,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_JSON = 114,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_DATE = 1082,
    OID_TIMESTAMP = 1114,
    OID_TIMESTAMPTZ = 1184,
    OID_NUMERIC = 1700,
    OID_RECORD = 2249,
    OID_JSONB = 3802,
    OID_FIRST_NORMAL = 16384, /* FirstNormalObjectId: user-defined types start here */
};

void docs_session_settings(const char *tz, Buf *sql_out)
{
    buf_append_str(sql_out, "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; "
                            "SET bytea_output = 'hex'; SET extra_float_digits = 1; "
                            "SET TimeZone = ");
    /* tz comes from configuration: quote it as a literal */
    buf_append_byte(sql_out, '\'');
    for (const char *p = tz; *p; p++) {
        if (*p == '\'') buf_append_byte(sql_out, '\'');
        buf_append_byte(sql_out, (uint8_t)*p);
    }
    buf_append_str(sql_out, "'");
}

/* The category of a scalar (non-array) base type; false for those json.c hands to the
 * server (composites, records, user types that may have a cast to json). */
static bool scalar_kind(uint32_t oid, DocsValKind *k)
{
    switch (oid) {
    case OID_BOOL:
        *k = DOCS_VAL_BOOL;
        return true;
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC:
        *k = DOCS_VAL_NUMBER;
        return true;
    case OID_DATE:
        *k = DOCS_VAL_DATE;
        return true;
    case OID_TIMESTAMP:
        *k = DOCS_VAL_TIMESTAMP;
        return true;
    case OID_TIMESTAMPTZ:
        *k = DOCS_VAL_TIMESTAMPTZ;
        return true;
    case OID_JSON:
    case OID_JSONB:
        *k = DOCS_VAL_JSON;
        return true;
    case OID_RECORD:
        return false;
    default:
        /* enums, ranges and other user types: json.c looks for a cast to json first, which
         * only the server knows about */
        if (oid >= OID_FIRST_NORMAL) return false;
        *k = DOCS_VAL_STRING;
        return true;
    }
}

bool docs_valtype_for_oid(uint32_t base_oid, uint32_t elem_base_oid, char delim, DocsValType *out)
{
    memset(out, 0, sizeof *out);
    out->delim = delim ? delim : ',';
    if (elem_base_oid != 0) {
        out->array = true;
        return scalar_kind(elem_base_oid, &out->kind);
    }
    return scalar_kind(base_oid, &out->kind);
}

bool docs_is_json_number(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && s[i] == '-') i++;
    if (i >= n) return false;
    if (s[i] == '0') {
        i++;
    } else if (s[i] >= '1' && s[i] <= '9') {
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    } else {
        return false;
    }
    if (i < n && s[i] == '.') {
        i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d) return false;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t d = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == d) return false;
    }
    return i == n;
}

static void put_string(Buf *out, const char *s, size_t n)
{
    buf_append_byte(out, '"');
    jw_escape_into(out, s, n);
    buf_append_byte(out, '"');
}

/* ISO "YYYY-MM-DD HH:MM:SS[.f][+HH[:MM[:SS]]][ BC]" -> XSD; infinities stay words. The
 * pieces go through the escaper all the same: PostgreSQL only sends digits and punctuation
 * here, but the output must stay valid JSON whatever the input. */
static void put_datetime(Buf *out, const char *s, size_t n, bool with_zone)
{
    buf_reserve(out, n + 6);
    buf_append_byte(out, '"');
    size_t sp = 0;
    while (sp < n && s[sp] != ' ')
        sp++;
    if (sp == n || sp + 1 >= n || s[sp + 1] < '0' || s[sp + 1] > '9') {
        /* "infinity", "-infinity" */
        jw_escape_into(out, s, n);
        buf_append_byte(out, '"');
        return;
    }
    jw_escape_into(out, s, sp);
    buf_append_byte(out, 'T');
    size_t i = sp + 1;
    if (with_zone) {
        /* the zone starts at the first sign after the time's "HH:MM:SS" */
        size_t z = i;
        while (z < n && s[z] != '+' && s[z] != '-')
            z++;
        jw_escape_into(out, s + i, z - i);
        size_t e = z;
        while (e < n && s[e] != ' ')
            e++;
        jw_escape_into(out, s + z, e - z);
        if (e - z == 3) buf_append(out, ":00", 3);
        i = e;
    }
    jw_escape_into(out, s + i, n - i);
    buf_append_byte(out, '"');
}

static bool render_scalar(Buf *out, DocsValKind k, const char *s, size_t n)
{
    switch (k) {
    case DOCS_VAL_NUMBER:
        if (docs_is_json_number(s, n))
            buf_append(out, s, n);
        else
            put_string(out, s, n);
        return true;
    case DOCS_VAL_BOOL:
        if (n == 1 && s[0] == 't')
            buf_append(out, "true", 4);
        else
            buf_append(out, "false", 5);
        return true;
    case DOCS_VAL_JSON:
        buf_append(out, s, n);
        return true;
    case DOCS_VAL_TIMESTAMP:
        put_datetime(out, s, n, false);
        return true;
    case DOCS_VAL_TIMESTAMPTZ:
        put_datetime(out, s, n, true);
        return true;
    case DOCS_VAL_DATE:
    case DOCS_VAL_STRING:
        put_string(out, s, n);
        return true;
    }
    return true;
}

typedef struct ArrParse {
    const char *s;
    size_t n;
    size_t i;
    char delim;
    DocsValKind kind;
    Buf elem; /* one element's unquoted text */
    int depth;
} ArrParse;

static bool arr_fail(ArrParse *p, DipError *err)
{
    return dip_error_set(err, DIP_ERR_DATA, "array literal: unexpected text at offset %zu of %zu",
                         p->i, p->n);
}

/* One element at p->i (quoted, or unquoted up to the delimiter or '}'). */
static bool arr_element(ArrParse *p, Buf *out, DipError *err)
{
    buf_clear(&p->elem);
    if (p->i < p->n && p->s[p->i] == '"') {
        p->i++;
        for (;;) {
            if (p->i >= p->n) return arr_fail(p, err);
            char c = p->s[p->i++];
            if (c == '"') break;
            if (c == '\\') {
                if (p->i >= p->n) return arr_fail(p, err);
                c = p->s[p->i++];
            }
            buf_append_byte(&p->elem, (uint8_t)c);
        }
        return render_scalar(out, p->kind, (const char *)p->elem.data, p->elem.len);
    }
    size_t b = p->i;
    while (p->i < p->n && p->s[p->i] != p->delim && p->s[p->i] != '}')
        p->i++;
    size_t len = p->i - b;
    if (len == 0) return arr_fail(p, err);
    if (len == 4 && strncmp(p->s + b, "NULL", 4) == 0) {
        buf_append(out, "null", 4);
        return true;
    }
    return render_scalar(out, p->kind, p->s + b, len);
}

static bool arr_level(ArrParse *p, Buf *out, DipError *err)
{
    if (p->i >= p->n || p->s[p->i] != '{' || ++p->depth > 7) return arr_fail(p, err);
    p->i++;
    buf_append_byte(out, '[');
    if (p->i < p->n && p->s[p->i] == '}') {
        p->i++;
        buf_append_byte(out, ']');
        p->depth--;
        return true;
    }
    for (;;) {
        bool ok =
            (p->i < p->n && p->s[p->i] == '{') ? arr_level(p, out, err) : arr_element(p, out, err);
        if (!ok) return false;
        if (p->i >= p->n) return arr_fail(p, err);
        char c = p->s[p->i++];
        if (c == '}') break;
        if (c != p->delim) {
            p->i--;
            return arr_fail(p, err);
        }
        buf_append_byte(out, ',');
    }
    buf_append_byte(out, ']');
    p->depth--;
    return true;
}

bool docs_render_value(Buf *out, const DocsValType *t, const char *s, size_t n, DipError *err)
{
    if (!t->array) return render_scalar(out, t->kind, s, n);
    ArrParse p = {.s = s, .n = n, .delim = t->delim ? t->delim : ',', .kind = t->kind};
    buf_init(&p.elem);
    /* "[0:1][1:2]={...}": non-default bounds are printed before '='; to_json drops them */
    if (n > 0 && s[0] == '[') {
        const char *eq = memchr(s, '=', n);
        if (!eq) {
            buf_free(&p.elem);
            return arr_fail(&p, err);
        }
        p.i = (size_t)(eq - s) + 1;
    }
    size_t mark = out->len;
    bool ok = arr_level(&p, out, err) && (p.i == n || arr_fail(&p, err));
    buf_free(&p.elem);
    if (!ok) {
        out->len = mark;
        if (out->data) out->data[mark] = '\0';
    }
    return ok;
}
