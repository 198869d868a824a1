/*
 * s3_xml.c: a small XML reader for the two documents S3 sends us: the ListObjectsV2 result
 * (ListBucketResult) and the Error body. It is not a general XML parser: it knows elements,
 * attributes (skipped), text, CDATA, comments, processing instructions and a DOCTYPE (both
 * skipped), and the five predefined entities plus numeric character references. It checks
 * that tags nest properly, because a truncated or garbled listing must never be taken for a
 * shorter complete one (a missing file in a Delta log listing changes the table).
 */
#include "store/s3_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XML_MAX_DEPTH 32

typedef struct XmlName {
    const char *p;
    size_t n;
} XmlName;

/* Called at each end tag with the path of open elements (path[0] is the root) and the text
 * the element held directly (entities decoded). Returns false with err set to stop. */
typedef bool (*XmlEndFn)(void *ctx, const XmlName *path, int depth, const Buf *text, DipError *err);

static bool name_is(const XmlName *n, const char *s)
{
    size_t l = strlen(s);
    return n->n == l && memcmp(n->p, s, l) == 0;
}

static void utf8_append(Buf *b, uint32_t cp)
{
    uint8_t u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (uint8_t)(0xC0 | (cp >> 6));
        u[1] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (uint8_t)(0xE0 | (cp >> 12));
        u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (uint8_t)(0xF0 | (cp >> 18));
        u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (uint8_t)(0x80 | (cp & 0x3F));
        n = 4;
    }
    buf_append(b, u, n);
}

/* Appends text with entities decoded; `base` is the document start for error offsets. */
static bool decode_text(Buf *out, const char *p, const char *end, const char *base, DipError *err)
{
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        if (!amp) {
            buf_append(out, p, (size_t)(end - p));
            return true;
        }
        buf_append(out, p, (size_t)(amp - p));
        const char *semi = memchr(amp, ';', (size_t)(end - amp));
        if (!semi || semi - amp > 12)
            return dip_error_set(err, DIP_ERR_DATA, "offset %zu: unterminated entity",
                                 (size_t)(amp - base));
        const char *e = amp + 1;
        size_t en = (size_t)(semi - e);
        if (en == 3 && memcmp(e, "amp", 3) == 0) {
            buf_append_byte(out, '&');
        } else if (en == 2 && memcmp(e, "lt", 2) == 0) {
            buf_append_byte(out, '<');
        } else if (en == 2 && memcmp(e, "gt", 2) == 0) {
            buf_append_byte(out, '>');
        } else if (en == 4 && memcmp(e, "quot", 4) == 0) {
            buf_append_byte(out, '"');
        } else if (en == 4 && memcmp(e, "apos", 4) == 0) {
            buf_append_byte(out, '\'');
        } else if (en >= 2 && e[0] == '#') {
            bool hex = e[1] == 'x' || e[1] == 'X';
            const char *d = e + (hex ? 2 : 1);
            if (d == semi)
                return dip_error_set(err, DIP_ERR_DATA, "offset %zu: empty character reference",
                                     (size_t)(amp - base));
            uint32_t cp = 0;
            for (; d < semi; d++) {
                int v;
                if (*d >= '0' && *d <= '9')
                    v = *d - '0';
                else if (hex && *d >= 'a' && *d <= 'f')
                    v = *d - 'a' + 10;
                else if (hex && *d >= 'A' && *d <= 'F')
                    v = *d - 'A' + 10;
                else
                    return dip_error_set(err, DIP_ERR_DATA, "offset %zu: bad character reference",
                                         (size_t)(amp - base));
                cp = cp * (hex ? 16u : 10u) + (uint32_t)v;
                if (cp > 0x10FFFF)
                    return dip_error_set(err, DIP_ERR_DATA,
                                         "offset %zu: character reference out of range",
                                         (size_t)(amp - base));
            }
            if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
                return dip_error_set(err, DIP_ERR_DATA, "offset %zu: invalid character reference",
                                     (size_t)(amp - base));
            utf8_append(out, cp);
        } else {
            return dip_error_set(err, DIP_ERR_DATA, "offset %zu: unknown entity '&%.*s;'",
                                 (size_t)(amp - base), (int)en, e);
        }
        p = semi + 1;
    }
    return true;
}

static bool is_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.' || c == ':';
}

/* Walks the document, calling `on_end` at every end tag. Requires exactly one root element
 * and proper nesting. */
static bool xml_walk(const char *xml, size_t n, XmlEndFn on_end, void *ctx, DipError *err)
{
    const char *p = xml, *end = xml + n;
    XmlName path[XML_MAX_DEPTH];
    int depth = 0;
    bool root_seen = false, root_closed = false;
    Buf text;
    buf_init(&text);
    bool ok = true;

#define XML_FAIL(...)                                                                              \
    do {                                                                                           \
        ok = dip_error_set(err, DIP_ERR_DATA, __VA_ARGS__);                                        \
        goto done;                                                                                 \
    } while (0)

    while (p < end) {
        if (*p != '<') {
            const char *lt = memchr(p, '<', (size_t)(end - p));
            const char *stop = lt ? lt : end;
            if (depth == 0) {
                for (const char *q = p; q < stop; q++)
                    if (*q != ' ' && *q != '\t' && *q != '\r' && *q != '\n')
                        XML_FAIL("offset %zu: text outside the root element", (size_t)(q - xml));
            } else if (!decode_text(&text, p, stop, xml, err)) {
                ok = false;
                goto done;
            }
            p = stop;
            continue;
        }
        size_t left = (size_t)(end - p);
        if (left >= 4 && memcmp(p, "<!--", 4) == 0) {
            const char *c = memmem(p + 4, left - 4, "-->", 3);
            if (!c) XML_FAIL("offset %zu: unterminated comment", (size_t)(p - xml));
            p = c + 3;
            continue;
        }
        if (left >= 9 && memcmp(p, "<![CDATA[", 9) == 0) {
            const char *c = memmem(p + 9, left - 9, "]]>", 3);
            if (!c) XML_FAIL("offset %zu: unterminated CDATA section", (size_t)(p - xml));
            if (depth == 0)
                XML_FAIL("offset %zu: CDATA outside the root element", (size_t)(p - xml));
            buf_append(&text, p + 9, (size_t)(c - (p + 9)));
            p = c + 3;
            continue;
        }
        if (left >= 2 && p[1] == '?') {
            const char *c = memmem(p + 2, left - 2, "?>", 2);
            if (!c) XML_FAIL("offset %zu: unterminated processing instruction", (size_t)(p - xml));
            p = c + 2;
            continue;
        }
        if (left >= 2 && p[1] == '!') {
            /* DOCTYPE without an internal subset is all S3-compatible servers ever send */
            const char *c = memchr(p, '>', left);
            if (!c) XML_FAIL("offset %zu: unterminated declaration", (size_t)(p - xml));
            p = c + 1;
            continue;
        }
        bool closing = left >= 2 && p[1] == '/';
        const char *nm = p + (closing ? 2 : 1);
        const char *q = nm;
        while (q < end && is_name_char(*q))
            q++;
        if (q == nm) XML_FAIL("offset %zu: malformed tag", (size_t)(p - xml));
        XmlName name = {nm, (size_t)(q - nm)};
        /* find the tag's '>' outside quoted attribute values */
        char quote = 0;
        while (q < end && (quote || *q != '>')) {
            if (quote) {
                if (*q == quote) quote = 0;
            } else if (*q == '"' || *q == '\'') {
                quote = *q;
            } else if (*q == '<') {
                XML_FAIL("offset %zu: '<' inside a tag", (size_t)(q - xml));
            }
            q++;
        }
        if (q >= end)
            XML_FAIL("offset %zu: unterminated tag <%.*s", (size_t)(p - xml), (int)name.n, name.p);
        bool self_closing = !closing && q[-1] == '/';
        p = q + 1;
        if (closing) {
            if (depth == 0 || path[depth - 1].n != name.n ||
                memcmp(path[depth - 1].p, name.p, name.n) != 0)
                XML_FAIL("offset %zu: end tag </%.*s> does not match the open element",
                         (size_t)(nm - 2 - xml), (int)name.n, name.p);
            if (!on_end(ctx, path, depth, &text, err)) {
                ok = false;
                goto done;
            }
            buf_clear(&text);
            depth--;
            if (depth == 0) root_closed = true;
            continue;
        }
        if (root_closed) XML_FAIL("offset %zu: a second root element", (size_t)(nm - 1 - xml));
        if (depth == XML_MAX_DEPTH)
            XML_FAIL("offset %zu: elements nested deeper than %d", (size_t)(nm - 1 - xml),
                     XML_MAX_DEPTH);
        path[depth++] = name;
        root_seen = true;
        buf_clear(&text);
        if (self_closing) {
            if (!on_end(ctx, path, depth, &text, err)) {
                ok = false;
                goto done;
            }
            depth--;
            if (depth == 0) root_closed = true;
        }
    }
    if (!root_seen) XML_FAIL("no root element");
    if (depth != 0)
        XML_FAIL("document ends inside <%.*s> (truncated?)", (int)path[depth - 1].n,
                 path[depth - 1].p);
#undef XML_FAIL
done:
    buf_free(&text);
    return ok;
}

/* ---------------------------------------------------------------- ISO 8601 */

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool s3_parse_iso8601_ms(const char *s, size_t n, int64_t *out)
{
    int Y, M, D, h, m, sec;
    if (n < 20 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' ||
        !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) ||
        s[13] != ':' || !digits(s + 14, 2, &m) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return false;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return false;
    size_t i = 19;
    int ms = 0;
    if (i < n && s[i] == '.') {
        i++;
        int nd = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (nd < 3) ms = ms * 10 + (s[i] - '0');
            nd++;
            i++;
        }
        if (nd == 0) return false;
        for (; nd < 3; nd++)
            ms *= 10;
    }
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
        /* UTC */
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && memcmp(s + i + 1, "00:00", 5) == 0) {
        /* S3-compatible servers that spell UTC as an offset */
    } else {
        return false;
    }
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    *out = (int64_t)t * 1000 + ms;
    return true;
}

/* ---------------------------------------------------------------- ListObjectsV2 */

typedef struct ListCtx {
    S3ListPage *page;
    Buf key;
    bool have_key, have_size, have_token;
    uint64_t size;
    int64_t mtime_ms;
    bool truncated_seen;
} ListCtx;

static bool list_on_end(void *vctx, const XmlName *path, int depth, const Buf *text, DipError *err)
{
    ListCtx *c = vctx;
    if (!name_is(&path[0], "ListBucketResult")) {
        return dip_error_set(err, DIP_ERR_DATA, "root element <%.*s>, expected <ListBucketResult>",
                             (int)path[0].n, path[0].p);
    }
    if (depth == 3 && name_is(&path[1], "Contents")) {
        const XmlName *leaf = &path[2];
        if (name_is(leaf, "Key")) {
            buf_clear(&c->key);
            buf_append(&c->key, text->data ? text->data : (const uint8_t *)"", text->len);
            if (c->key.len == 0 || memchr(c->key.data, '\0', c->key.len))
                return dip_error_set(err, DIP_ERR_DATA, "empty or invalid <Key>");
            c->have_key = true;
        } else if (name_is(leaf, "Size")) {
            int64_t v;
            if (!dip_parse_i64(buf_cstr(text), &v) || v < 0)
                return dip_error_set(err, DIP_ERR_DATA, "<Size>%s</Size> is not a size",
                                     buf_cstr(text));
            c->size = (uint64_t)v;
            c->have_size = true;
        } else if (name_is(leaf, "LastModified")) {
            if (!s3_parse_iso8601_ms(buf_cstr(text), text->len, &c->mtime_ms))
                return dip_error_set(err, DIP_ERR_DATA,
                                     "<LastModified>%s</LastModified> is not an ISO 8601 time",
                                     buf_cstr(text));
        }
        return true;
    }
    if (depth == 2 && name_is(&path[1], "Contents")) {
        if (!c->have_key || !c->have_size)
            return dip_error_set(err, DIP_ERR_DATA, "<Contents> without %s",
                                 c->have_key ? "<Size>" : "<Key>");
        store_list_push(c->page->entries, buf_cstr(&c->key), c->size, c->mtime_ms);
        c->have_key = c->have_size = false;
        c->mtime_ms = 0;
        return true;
    }
    if (depth == 2 && name_is(&path[1], "IsTruncated")) {
        const char *t = buf_cstr(text);
        if (strcmp(t, "true") == 0)
            c->page->is_truncated = true;
        else if (strcmp(t, "false") == 0)
            c->page->is_truncated = false;
        else
            return dip_error_set(err, DIP_ERR_DATA, "<IsTruncated>%s</IsTruncated>", t);
        c->truncated_seen = true;
        return true;
    }
    if (depth == 2 && name_is(&path[1], "NextContinuationToken")) {
        buf_clear(&c->page->next_token);
        buf_append(&c->page->next_token, text->data ? text->data : (const uint8_t *)"", text->len);
        c->have_token = text->len > 0;
        return true;
    }
    return true;
}

bool s3_xml_parse_list(const char *xml, size_t n, S3ListPage *page, DipError *err)
{
    ListCtx c;
    memset(&c, 0, sizeof c);
    c.page = page;
    buf_init(&c.key);
    page->is_truncated = false;
    buf_clear(&page->next_token);
    size_t before = page->entries->n;
    bool ok = xml_walk(xml, n, list_on_end, &c, err);
    if (ok && !c.truncated_seen)
        ok = dip_error_set(err, DIP_ERR_DATA, "ListObjectsV2 result without <IsTruncated>");
    if (ok && page->is_truncated && !c.have_token)
        ok = dip_error_set(err, DIP_ERR_DATA,
                           "ListObjectsV2 result is truncated but has no NextContinuationToken");
    if (!ok) {
        /* a page that failed to parse contributes nothing */
        for (size_t i = before; i < page->entries->n; i++)
            free(page->entries->entries[i].name);
        page->entries->n = before;
        dip_error_prefix(err, "malformed ListObjectsV2 response");
    }
    buf_free(&c.key);
    return ok;
}

/* ---------------------------------------------------------------- Error body */

typedef struct ErrorCtx {
    char *code;
    size_t code_cap;
    char *message;
    size_t message_cap;
} ErrorCtx;

static bool error_on_end(void *vctx, const XmlName *path, int depth, const Buf *text, DipError *err)
{
    ErrorCtx *c = vctx;
    (void)err;
    if (depth != 2 || !name_is(&path[0], "Error")) return true;
    if (name_is(&path[1], "Code"))
        dip_strlcpy(c->code, buf_cstr(text), c->code_cap);
    else if (name_is(&path[1], "Message"))
        dip_strlcpy(c->message, buf_cstr(text), c->message_cap);
    return true;
}

void s3_xml_parse_error(const char *xml, size_t n, char *code, size_t code_cap, char *message,
                        size_t message_cap)
{
    code[0] = '\0';
    message[0] = '\0';
    ErrorCtx c = {code, code_cap, message, message_cap};
    DipError ignored;
    dip_error_clear(&ignored);
    /* a truncated error body still yields whatever Code/Message came before the cut */
    (void)xml_walk(xml, n, error_on_end, &c, &ignored);
}
