/*
 * load.c: reading `dip es load` input, one NDJSON document a line, without building a tree
 * of every document: only the top level of each line is walked, the _source (or the whole
 * raw document) is passed on as the bytes it was, so a load of a million documents costs one
 * scan per line. Nesting and strings are checked (a truncated or unbalanced line is an
 * error naming its line); the spelling of numbers and literals is left to the engine, which
 * refuses a bad document item by item (dead letters).
 */
#include "es/es_internal.h"

#include <string.h>

#define MAX_DEPTH 512

const char *es_json_skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

const char *es_json_string_end(const char *p, const char *end)
{
    /* p is at the opening quote */
    p++;
    while (p < end) {
        unsigned char c = (unsigned char)*p++;
        if (c == '\\') {
            if (p >= end) return NULL;
            p++;
        } else if (c == '"') {
            return p;
        } else if (c < 0x20) {
            return NULL;
        }
    }
    return NULL;
}

const char *es_json_value_end(const char *p, const char *end)
{
    p = es_json_skip_ws(p, end);
    if (p >= end) return NULL;
    if (*p == '"') return es_json_string_end(p, end);
    if (*p != '{' && *p != '[') {
        const char *s = p;
        while (p < end && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                           (*p >= 'A' && *p <= 'Z') || *p == '-' || *p == '+' || *p == '.'))
            p++;
        return p > s ? p : NULL;
    }
    char stack[MAX_DEPTH];
    int depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            p = es_json_string_end(p, end);
            if (!p) return NULL;
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth == MAX_DEPTH) return NULL;
            stack[depth++] = c == '{' ? '}' : ']';
        } else if (c == '}' || c == ']') {
            if (depth == 0 || stack[depth - 1] != c) return NULL;
            if (--depth == 0) return p + 1;
        }
        p++;
    }
    return NULL;
}

bool es_json_scalar_text(const char *v, const char *vend, Arena *a, const char **out)
{
    if (*v == '"') {
        const char *body = v + 1;
        size_t n = (size_t)(vend - body - 1);
        if (!memchr(body, '\\', n)) {
            *out = arena_strndup(a, body, n);
            return true;
        }
        json_t *s = json_loadb(v, (size_t)(vend - v), JSON_DECODE_ANY, NULL);
        if (!json_is_string(s)) {
            if (s) json_decref(s);
            return false;
        }
        /* an _id with an escaped NUL would be cut here: refuse it rather than send another */
        bool ok = strlen(json_string_value(s)) == json_string_length(s);
        if (ok) *out = arena_strdup(a, json_string_value(s));
        json_decref(s);
        return ok;
    }
    const char *p = v;
    if (p < vend && *p == '-') p++;
    if (p == vend) return false;
    for (; p < vend; p++)
        if (*p < '0' || *p > '9') return false;
    *out = arena_strndup(a, v, (size_t)(vend - v));
    return true;
}

static bool key_is(const char *k, const char *kend, const char *name)
{
    size_t n = strlen(name);
    return (size_t)(kend - k) == n && memcmp(k, name, n) == 0;
}

bool es_load_line_parse(const char *line, size_t len, const char *id_field, Arena *scratch,
                        EsLoadDoc *out, DipError *err)
{
    memset(out, 0, sizeof *out);
    const char *end = line + len;
    const char *p = es_json_skip_ws(line, end);
    if (p >= end || *p != '{')
        return dip_error_set(err, DIP_ERR_DATA, "expected a JSON object, got %s",
                             p >= end ? "an empty line" : "another JSON value");
    const char *obj_end = es_json_value_end(p, end);
    if (!obj_end)
        return dip_error_set(err, DIP_ERR_DATA,
                             "expected one complete JSON object (unbalanced brackets, an "
                             "unterminated string or a control character)");
    if (es_json_skip_ws(obj_end, end) != end)
        return dip_error_set(err, DIP_ERR_DATA, "trailing bytes after the JSON object");
    const char *src = NULL, *src_end = NULL;
    const char *id = NULL, *routing = NULL;
    bool dump_form = false;
    const char *q = p + 1;
    for (;;) {
        q = es_json_skip_ws(q, obj_end);
        if (*q == '}') break;
        if (*q != '"') return dip_error_set(err, DIP_ERR_DATA, "expected a key");
        const char *kend = es_json_string_end(q, obj_end);
        if (!kend) return dip_error_set(err, DIP_ERR_DATA, "unterminated key");
        const char *k = q + 1, *k_last = kend - 1;
        q = es_json_skip_ws(kend, obj_end);
        if (*q != ':') return dip_error_set(err, DIP_ERR_DATA, "expected ':' after a key");
        const char *v = es_json_skip_ws(q + 1, obj_end);
        const char *vend = es_json_value_end(v, obj_end);
        if (!vend) return dip_error_set(err, DIP_ERR_DATA, "expected a value after a key");
        if (!id_field && key_is(k, k_last, "_source")) {
            if (*v != '{')
                return dip_error_set(err, DIP_ERR_DATA, "\"_source\" must be a JSON object");
            src = v;
            src_end = vend;
            dump_form = true;
        } else if (!id_field && key_is(k, k_last, "_id")) {
            if (!es_json_scalar_text(v, vend, scratch, &id))
                return dip_error_set(err, DIP_ERR_DATA, "\"_id\" must be a string or an integer");
            dump_form = true;
        } else if (!id_field && key_is(k, k_last, "_routing")) {
            if (!es_json_scalar_text(v, vend, scratch, &routing))
                return dip_error_set(err, DIP_ERR_DATA, "\"_routing\" must be a string");
        } else if (id_field && key_is(k, k_last, id_field)) {
            if (!es_json_scalar_text(v, vend, scratch, &id))
                return dip_error_set(err, DIP_ERR_DATA,
                                     "id field \"%s\" must be a string or an integer", id_field);
        }
        q = es_json_skip_ws(vend, obj_end);
        if (*q == ',') {
            q++;
            continue;
        }
        if (*q != '}') return dip_error_set(err, DIP_ERR_DATA, "expected ',' or '}'");
        break;
    }
    if (id_field) {
        if (!id)
            return dip_error_set(err, DIP_ERR_DATA, "no top-level field \"%s\" for the _id",
                                 id_field);
        src = p;
        src_end = obj_end;
    } else if (dump_form) {
        if (!src)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "a line with \"_id\" needs \"_source\" ({\"_id\":...,"
                                 "\"_source\":{...}})");
    } else {
        src = p;
        src_end = obj_end;
    }
    out->id = id;
    out->routing = routing;
    out->source = src;
    out->source_len = (size_t)(src_end - src);
    return true;
}
