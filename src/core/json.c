/*
 * json.c: a streaming JSON writer (RFC 8259) into a Buf. It never produces invalid JSON:
 * strings are escaped and invalid UTF-8 becomes U+FFFD; non-finite numbers become the
 * strings "NaN", "Infinity", "-Infinity" (ROW_FORMAT.md). Floats and doubles print as the
 * %g text with the fewest significant digits that strtof / strtod reads back to the same
 * value: 1e-45 for the smallest float32 subnormal, 5e-324 for the smallest double one.
 */
#include "core/core.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_init(JsonWriter *w, Buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

static void before_value(JsonWriter *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth > 0 && w->depth < JW_MAX_DEPTH) { /* bounds kept for NDEBUG builds */
        if (w->need_comma[w->depth]) buf_append_byte(w->out, ',');
        w->need_comma[w->depth] = true;
    }
}

static void push(JsonWriter *w, char c)
{
    /* past the array the commas would silently go missing: invalid JSON, so a caller bug */
    assert(w->depth + 1 < JW_MAX_DEPTH);
    before_value(w);
    buf_append_byte(w->out, (uint8_t)c);
    w->depth++;
    if (w->depth < JW_MAX_DEPTH) w->need_comma[w->depth] = false;
}

static void pop(JsonWriter *w, char c)
{
    assert(w->depth > 0); /* an end without its begin */
    buf_append_byte(w->out, (uint8_t)c);
    if (w->depth > 0) w->depth--;
}

void jw_obj_begin(JsonWriter *w)
{
    push(w, '{');
}
void jw_obj_end(JsonWriter *w)
{
    pop(w, '}');
}
void jw_arr_begin(JsonWriter *w)
{
    push(w, '[');
}
void jw_arr_end(JsonWriter *w)
{
    pop(w, ']');
}

/* Length of a valid UTF-8 sequence starting at p (at most n bytes), 0 if invalid. */
static size_t utf8_seq_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if ((c & 0xE0) == 0xC0) {
        len = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

void jw_escape_into(Buf *b, const char *s, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)s;
    buf_reserve(b, n + 2);
    size_t i = 0;
    while (i < n) {
        /* fast path: a run of plain ASCII */
        size_t j = i;
        while (j < n && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' && p[j] != '\\')
            j++;
        if (j > i) {
            buf_append(b, p + i, j - i);
            i = j;
            continue;
        }
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            buf_append(b, e, 2);
            i++;
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hx[c >> 4], hx[c & 15]};
            switch (c) {
            case '\n':
                buf_append(b, "\\n", 2);
                break;
            case '\r':
                buf_append(b, "\\r", 2);
                break;
            case '\t':
                buf_append(b, "\\t", 2);
                break;
            case '\b':
                buf_append(b, "\\b", 2);
                break;
            case '\f':
                buf_append(b, "\\f", 2);
                break;
            default:
                buf_append(b, e, 6);
            }
            i++;
        } else {
            size_t l = utf8_seq_len(p + i, n - i);
            if (l == 0) {
                buf_append(b, "\xEF\xBF\xBD", 3);
                i++;
            } else {
                buf_append(b, p + i, l);
                i += l;
            }
        }
    }
}

void jw_key_n(JsonWriter *w, const char *k, size_t n)
{
    before_value(w);
    buf_append_byte(w->out, '"');
    jw_escape_into(w->out, k, n);
    buf_append(w->out, "\":", 2);
    w->after_key = true;
}

void jw_key(JsonWriter *w, const char *k)
{
    jw_key_n(w, k, strlen(k));
}

void jw_str_n(JsonWriter *w, const char *s, size_t n)
{
    before_value(w);
    buf_append_byte(w->out, '"');
    jw_escape_into(w->out, s, n);
    buf_append_byte(w->out, '"');
}

void jw_str(JsonWriter *w, const char *s)
{
    jw_str_n(w, s, strlen(s));
}

void jw_int(JsonWriter *w, int64_t v)
{
    before_value(w);
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    buf_append(w->out, tmp, (size_t)n);
}

void jw_uint(JsonWriter *w, uint64_t v)
{
    before_value(w);
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    buf_append(w->out, tmp, (size_t)n);
}

/* The fewest significant digits, found by trying precisions upwards. For a normal value the
 * search may start at 15 (double) or 6 (float): a text that reads back lies within half the
 * value's spacing, at most 2^-53 (double) or 2^-24 (float) of the value, far inside half a
 * unit of the 15th or 6th significant digit (at least 5e-16 or 5e-7 of the value). So when
 * a text of p <= 15 (6) digits reads back, rounding to 15 (6) digits yields those digits
 * and %g drops the trailing zeros. Starting there keeps the text of every normal value as it
 * always was (at that precision %g writes fixed notation below 1e15 or 1e6: "100000", not
 * "1e+05") and saves the shorter attempts per value. A subnormal has fewer significant bits
 * (down to one), so its shortest text can have fewer digits: the search starts at 1 there
 * (exponent notation whatever the precision). tests/core checks the float32 boundaries. */
int dip_format_double(double v, char out[32])
{
    if (isnan(v)) return snprintf(out, 32, "NaN");
    if (isinf(v)) return snprintf(out, 32, v > 0 ? "Infinity" : "-Infinity");
    int n = 0;
    for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        n = snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v) break;
    }
    return n;
}

int dip_format_float(float v, char out[32])
{
    if (isnan(v)) return snprintf(out, 32, "NaN");
    if (isinf(v)) return snprintf(out, 32, v > 0 ? "Infinity" : "-Infinity");
    int n = 0;
    for (int prec = fabsf(v) < FLT_MIN ? 1 : 6; prec <= 9; prec++) {
        n = snprintf(out, 32, "%.*g", prec, (double)v);
        if (strtof(out, NULL) == v) break;
    }
    return n;
}

static void write_number_text(JsonWriter *w, const char *t, int n, bool finite)
{
    before_value(w);
    if (!finite) {
        buf_append_byte(w->out, '"');
        buf_append(w->out, t, (size_t)n);
        buf_append_byte(w->out, '"');
    } else {
        buf_append(w->out, t, (size_t)n);
    }
}

void jw_double(JsonWriter *w, double v)
{
    char t[32];
    int n = dip_format_double(v, t);
    write_number_text(w, t, n, isfinite(v));
}

void jw_float(JsonWriter *w, float v)
{
    char t[32];
    int n = dip_format_float(v, t);
    write_number_text(w, t, n, isfinite(v));
}

void jw_bool(JsonWriter *w, bool v)
{
    before_value(w);
    buf_append_str(w->out, v ? "true" : "false");
}

void jw_null(JsonWriter *w)
{
    before_value(w);
    buf_append(w->out, "null", 4);
}

void jw_raw(JsonWriter *w, const char *s, size_t n)
{
    before_value(w);
    buf_append(w->out, s, n);
}
