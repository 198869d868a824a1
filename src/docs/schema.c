/*
 * schema.c: the schema.json parser (PGSync 7.3's format, read with jansson).
 *
 * What PGSync reads, and so what dip accepts (every other key is an error, as PGSync's own
 * NODE_ATTRIBUTES / RELATIONSHIP_ATTRIBUTES checks make it for nodes and relationships; dip
 * extends the rule to the top level and to transforms so a typo never goes unnoticed):
 *   document:     database, index, nodes, setting, mapping, mappings, plugins, pipeline, routing
 *   node:         table, schema, columns, label, primary_key, relationship, children,
 *                 transform, base_tables
 *   relationship: variant (object|scalar), type (one_to_one|one_to_many), through_tables
 *                 (at most one, as in PGSync), foreign_key {parent, child}
 *   transform:    rename, replace, concat, mapping, move
 * The file is an array of documents (PGSync's config_loader iterates it). Top-level string
 * values get PGSync's $VAR substitution (Python's Template.safe_substitute over the
 * environment). Duplicate keys are rejected (jansson's JSON_REJECT_DUPLICATES): with a
 * duplicate, which value PGSync uses depends on Python's json module, which is not what the
 * author meant either way.
 *
 * Column names with JSON operators (`doc->a`, `doc#>{a,b}->0`) are split into the table
 * column and the steps; the output name is PGSync's: the tokens that are not operators,
 * braces removed, joined with "_" ("doc#>{a,b,c}->4" -> "doc_a,b,c_4"). One divergence:
 * PGSync's split pattern lists "->" before "->>", so `a->>b` becomes a, "->", ">b" (the key
 * ">b", the name "a_>b"); dip reads ->> and #>> as PostgreSQL's text operators and names
 * the field "a_b".
 */
#include "docs/docs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DOCS_MAX_FILE_BYTES (64u << 20) /* a schema.json larger than this is not a schema */

/* ---------------------------------------------------------------- JSON paths in messages */

static bool key_is_plain(const char *k)
{
    if (!*k) return false;
    for (const char *p = k; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '$' || c == '-'))
            return false;
    }
    return true;
}

size_t docs_path_push_key(Buf *path, const char *key)
{
    size_t mark = path->len;
    if (key_is_plain(key)) {
        if (path->len) buf_append_byte(path, '.');
        buf_append_str(path, key);
    } else {
        buf_append_str(path, "[\"");
        jw_escape_into(path, key, strlen(key));
        buf_append_str(path, "\"]");
    }
    return mark;
}

size_t docs_path_push_index(Buf *path, size_t i)
{
    size_t mark = path->len;
    buf_printf(path, "[%zu]", i);
    return mark;
}

void docs_path_pop(Buf *path, size_t mark)
{
    path->len = mark;
    if (path->data) path->data[mark] = '\0';
}

const char *docs_json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

/* ---------------------------------------------------------------- parse context */

typedef struct Parse {
    const char *file;
    Buf path;
    DipError *err;
} Parse;

static bool perr(Parse *ps, const char *fmt, ...) DIP_PRINTF(2, 3);
static bool perr(Parse *ps, const char *fmt, ...)
{
    char what[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return dip_error_set(ps->err, DIP_ERR_CONFIG, "%s: %s: %s", ps->file, buf_cstr(&ps->path),
                         what);
}

static bool expect_type(Parse *ps, const json_t *v, json_type t, const char *what)
{
    if (json_typeof(v) == t) return true;
    if (t == JSON_TRUE && json_is_boolean(v)) return true;
    return perr(ps, "expected %s, got %s", what, docs_json_type_name(v));
}

/* A non-empty string; *out is a copy. */
static bool get_name(Parse *ps, const json_t *v, const char *what, char **out)
{
    if (!json_is_string(v)) return perr(ps, "expected %s, got %s", what, docs_json_type_name(v));
    const char *s = json_string_value(v);
    if (!*s) return perr(ps, "expected %s, got an empty string", what);
    if (strlen(s) != json_string_length(v))
        return perr(ps, "expected %s, got a string with a NUL character", what);
    *out = dip_strdup(s);
    return true;
}

/* An array of non-empty strings (a lone string accepted when allow_one). */
static bool get_names(Parse *ps, const json_t *v, const char *what, bool allow_one, char ***out,
                      size_t *n)
{
    if (allow_one && json_is_string(v)) {
        *out = dip_calloc(1, sizeof(char *));
        *n = 1;
        return get_name(ps, v, what, &(*out)[0]);
    }
    if (!json_is_array(v))
        return perr(ps, "expected an array of %ss, got %s", what, docs_json_type_name(v));
    size_t cnt = json_array_size(v);
    *out = dip_calloc(cnt ? cnt : 1, sizeof(char *));
    *n = 0;
    for (size_t i = 0; i < cnt; i++) {
        size_t m = docs_path_push_index(&ps->path, i);
        if (!get_name(ps, json_array_get(v, i), what, &(*out)[i])) return false;
        (*n)++;
        docs_path_pop(&ps->path, m);
    }
    return true;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The first key of obj not in allowed (NULL-terminated), or NULL. */
static const char *unknown_key(const json_t *obj, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, k) == 0) ok = true;
        if (!ok) return k;
    }
    return NULL;
}

static bool check_keys(Parse *ps, const json_t *obj, const char *const *allowed, const char *of)
{
    const char *k = unknown_key(obj, allowed);
    if (!k) return true;
    Buf list;
    buf_init(&list);
    for (const char *const *a = allowed; *a; a++)
        buf_printf(&list, "%s%s", a == allowed ? "" : ", ", *a);
    size_t m = docs_path_push_key(&ps->path, k);
    bool r = perr(ps, "unknown key of %s (expected one of: %s)", of, buf_cstr(&list));
    docs_path_pop(&ps->path, m);
    buf_free(&list);
    return r;
}

/* ---------------------------------------------------------------- $VAR substitution */

static bool is_id_start(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static bool is_id_char(char c)
{
    return is_id_start(c) || (c >= '0' && c <= '9');
}

/* Python's string.Template(s).safe_substitute(os.environ), which PGSync's config_loader
 * applies to every top-level string: "$$" -> "$", "$NAME" and "${NAME}" -> the variable
 * when set, and everything else (unset names, a lone "$") left exactly as written. */
char *docs_env_substitute(const char *s)
{
    Buf out;
    buf_init(&out);
    buf_append(&out, "", 0);
    for (size_t i = 0; s[i];) {
        if (s[i] != '$') {
            buf_append_byte(&out, (uint8_t)s[i++]);
            continue;
        }
        if (s[i + 1] == '$') {
            buf_append_byte(&out, '$');
            i += 2;
            continue;
        }
        size_t start, end, next;
        if (s[i + 1] == '{' && is_id_start(s[i + 2])) {
            start = i + 2;
            end = start;
            while (is_id_char(s[end]))
                end++;
            if (s[end] != '}') {
                buf_append_byte(&out, '$');
                i++;
                continue;
            }
            next = end + 1;
        } else if (is_id_start(s[i + 1])) {
            start = i + 1;
            end = start;
            while (is_id_char(s[end]))
                end++;
            next = end;
        } else {
            buf_append_byte(&out, '$');
            i++;
            continue;
        }
        char *name = dip_strndup(s + start, end - start);
        const char *val = getenv(name);
        free(name);
        if (val)
            buf_append_str(&out, val);
        else
            buf_append(&out, s + i, next - i);
        i = next;
    }
    char *r = dip_strdup(buf_cstr(&out));
    buf_free(&out);
    return r;
}

/* ---------------------------------------------------------------- columns */

static bool op_at(const char *s, DocsJsonOp *op, size_t *oplen)
{
    if (s[0] == '-' && s[1] == '>') {
        *op = s[2] == '>' ? DOCS_JSON_GET_TEXT : DOCS_JSON_GET;
        *oplen = s[2] == '>' ? 3 : 2;
        return true;
    }
    if (s[0] == '#' && s[1] == '>') {
        *op = s[2] == '>' ? DOCS_JSON_PATH_TEXT : DOCS_JSON_PATH;
        *oplen = s[2] == '>' ? 3 : 2;
        return true;
    }
    return false;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static void trim(const char **p, size_t *n)
{
    while (*n && (**p == ' ' || **p == '\t'))
        (*p)++, (*n)--;
    while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        (*n)--;
}

/* "{a,b,0}": PostgreSQL's text[] literal of a #> path, unquoted elements only. */
static bool parse_path_literal(Parse *ps, const char *spec, const char *tok, size_t n,
                               DocsJsonStep *st)
{
    if (n < 2 || tok[0] != '{' || tok[n - 1] != '}')
        return perr(ps, "JSON path column \"%s\": #> and #>> take a path in braces, like {a,b,0}",
                    spec);
    const char *p = tok + 1;
    size_t rest = n - 2;
    if (memchr(p, '"', rest) || memchr(p, '\\', rest) || memchr(p, '{', rest) ||
        memchr(p, '}', rest))
        return perr(ps,
                    "JSON path column \"%s\": path elements are plain keys or indexes "
                    "(quotes, backslashes and nested braces are not supported)",
                    spec);
    st->path = dip_calloc(rest / 2 + 2, sizeof(char *));
    st->npath = 0;
    for (;;) {
        const char *comma = memchr(p, ',', rest);
        size_t len = comma ? (size_t)(comma - p) : rest;
        const char *e = p;
        size_t elen = len;
        trim(&e, &elen);
        if (elen == 0)
            return perr(ps, "JSON path column \"%s\": an empty element in the path {%.*s}", spec,
                        (int)(n - 2), tok + 1);
        st->path[st->npath++] = dip_strndup(e, elen);
        if (!comma) break;
        rest -= len + 1;
        p = comma + 1;
    }
    return true;
}

void docs_column_free(DocsColumn *c)
{
    free(c->spec);
    free(c->name);
    free(c->output);
    for (size_t i = 0; i < c->nsteps; i++) {
        free(c->steps[i].key);
        free_names(c->steps[i].path, c->steps[i].npath);
    }
    free(c->steps);
    free(c->type_name);
}

static bool parse_column(Parse *ps, const char *spec, DocsColumn *c)
{
    memset(c, 0, sizeof *c);
    c->spec = dip_strdup(spec);
    /* Split at the operators: tokens alternate name, op, operand, op, operand... */
    const char *p = spec;
    DocsJsonOp op;
    size_t oplen;
    const char *first = NULL;
    for (const char *q = spec; *q; q++)
        if (op_at(q, &op, &oplen)) {
            first = q;
            break;
        }
    size_t base_len = first ? (size_t)(first - spec) : strlen(spec);
    if (base_len == 0)
        return perr(ps, "JSON path column \"%s\": no column before the operator", spec);
    c->name = dip_strndup(spec, base_len);
    Buf out;
    buf_init(&out);
    buf_append(&out, spec, base_len);
    if (!first) {
        c->output = dip_strdup(buf_cstr(&out));
        buf_free(&out);
        return true;
    }
    size_t cap = 4;
    c->steps = dip_calloc(cap, sizeof(DocsJsonStep));
    p = first;
    bool ok = true;
    while (*p && ok) {
        if (!op_at(p, &op, &oplen)) break; /* cannot happen: p always sits on an operator */
        p += oplen;
        const char *next = p;
        DocsJsonOp op2;
        size_t l2;
        while (*next && !op_at(next, &op2, &l2))
            next++;
        size_t n = (size_t)(next - p);
        if (c->nsteps == cap) {
            cap *= 2;
            c->steps = dip_realloc(c->steps, cap * sizeof(DocsJsonStep));
            memset(c->steps + c->nsteps, 0, (cap - c->nsteps) * sizeof(DocsJsonStep));
        }
        DocsJsonStep *st = &c->steps[c->nsteps++];
        st->op = op;
        if (n == 0) {
            ok = perr(ps, "JSON path column \"%s\": an operator without a key after it", spec);
            break;
        }
        if (op == DOCS_JSON_PATH || op == DOCS_JSON_PATH_TEXT) {
            ok = parse_path_literal(ps, spec, p, n, st);
            if (ok) buf_append_byte(&out, '_'), buf_append(&out, p + 1, n - 2);
        } else {
            if (memchr(p, '{', n) || memchr(p, '}', n)) {
                ok = perr(ps,
                          "JSON path column \"%s\": -> and ->> take one key or index, not a "
                          "path in braces (use #>)",
                          spec);
                break;
            }
            st->key = dip_strndup(p, n);
            if (all_digits(p, n)) {
                st->is_index = true;
                int64_t v;
                if (!dip_parse_i64(st->key, &v) || v > INT32_MAX) {
                    ok = perr(ps, "JSON path column \"%s\": array index %s is out of range", spec,
                              st->key);
                    break;
                }
                st->index = v;
            }
            buf_append_byte(&out, '_');
            buf_append(&out, p, n);
        }
        p = next;
    }
    c->output = dip_strdup(buf_cstr(&out));
    buf_free(&out);
    return ok;
}

/* ---------------------------------------------------------------- transforms */

static const char *const ES_TYPES[] = {"binary",
                                       "boolean",
                                       "byte",
                                       "completion",
                                       "constant_keyword",
                                       "date",
                                       "date_range",
                                       "dense_vector",
                                       "double",
                                       "double_range",
                                       "flattened",
                                       "float",
                                       "float_range",
                                       "geo_point",
                                       "geo_shape",
                                       "half_float",
                                       "integer",
                                       "integer_range",
                                       "interval_day",
                                       "interval_day_to_hour",
                                       "interval_day_to_minute",
                                       "interval_day_to_second",
                                       "interval_hour",
                                       "interval_hour_to_minute",
                                       "interval_hour_to_second",
                                       "interval_minute",
                                       "interval_minute_to_second",
                                       "interval_month",
                                       "interval_second",
                                       "interval_year",
                                       "interval_year_to_month",
                                       "ip",
                                       "keyword",
                                       "knn_vector",
                                       "long",
                                       "long_range",
                                       "nested",
                                       "null",
                                       "object",
                                       "scaled_float",
                                       "search_as_you_type",
                                       "shape",
                                       "short",
                                       "text",
                                       "time",
                                       NULL};

static const char *const ES_PARAMS[] = {"type",
                                        "analyzer",
                                        "boost",
                                        "coerce",
                                        "copy_to",
                                        "dimension",
                                        "doc_values",
                                        "dynamic",
                                        "eager_global_ordinals",
                                        "enabled",
                                        "fielddata",
                                        "fielddata_frequency_filter",
                                        "fields",
                                        "format",
                                        "ignore_above",
                                        "ignore_malformed",
                                        "index",
                                        "index_options",
                                        "index_phrases",
                                        "index_prefixes",
                                        "meta",
                                        "normalizer",
                                        "norms",
                                        "null_value",
                                        "position_increment_gap",
                                        "properties",
                                        "search_analyzer",
                                        "similarity",
                                        "store",
                                        "term_vector",
                                        NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0) return true;
    return false;
}

/* rename: {"field": "new name" | integer | {nested rename of a child}}. PGSync renames to
 * str(value) for numbers (its test renames "xxx" with 42 to "42"). */
static bool parse_rename(Parse *ps, const json_t *v, int depth)
{
    if (!expect_type(ps, v, JSON_OBJECT, "an object of field -> new name")) return false;
    if (depth > DOCS_MAX_DEPTH) return perr(ps, "rename nested deeper than %d", DOCS_MAX_DEPTH);
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x)
    {
        size_t m = docs_path_push_key(&ps->path, k);
        if (json_is_object(x)) {
            if (!parse_rename(ps, x, depth + 1)) return false;
        } else if (json_is_string(x)) {
            if (!*json_string_value(x))
                return perr(ps, "expected a new field name, got an empty string");
        } else if (!json_is_integer(x)) {
            return perr(ps, "expected a new field name (a string), got %s", docs_json_type_name(x));
        }
        docs_path_pop(&ps->path, m);
    }
    return true;
}

/* replace: {"field": {"search": "replacement", ...}} or {"child_label": {nested}}. An object
 * whose values are all strings is a replacement map (PGSync's test). */
static bool parse_replace(Parse *ps, const json_t *v, int depth)
{
    if (!expect_type(ps, v, JSON_OBJECT, "an object of field -> {search: replacement}"))
        return false;
    if (depth > DOCS_MAX_DEPTH) return perr(ps, "replace nested deeper than %d", DOCS_MAX_DEPTH);
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x)
    {
        size_t m = docs_path_push_key(&ps->path, k);
        if (!json_is_object(x))
            return perr(ps, "expected an object {\"search\": \"replacement\"}, got %s",
                        docs_json_type_name(x));
        bool all_str = true, any_obj = false;
        const char *k2;
        json_t *y;
        json_object_foreach(x, k2, y)
        {
            if (!json_is_string(y)) all_str = false;
            if (json_is_object(y)) any_obj = true;
        }
        if (all_str) {
            json_object_foreach(x, k2, y)
            {
                if (!*k2) {
                    docs_path_push_key(&ps->path, k2);
                    return perr(ps, "an empty search string would match everywhere");
                }
            }
        } else if (any_obj) {
            if (!parse_replace(ps, x, depth + 1)) return false;
        } else {
            json_object_foreach(x, k2, y)
            {
                if (!json_is_string(y)) {
                    docs_path_push_key(&ps->path, k2);
                    return perr(ps, "expected a replacement string, got %s",
                                docs_json_type_name(y));
                }
            }
        }
        docs_path_pop(&ps->path, m);
    }
    return true;
}

static bool parse_concat_one(Parse *ps, const json_t *v)
{
    static const char *const keys[] = {"columns", "destination", "delimiter", NULL};
    if (!expect_type(ps, v, JSON_OBJECT, "an object {columns, destination, delimiter}"))
        return false;
    if (!check_keys(ps, v, keys, "a concat transform")) return false;
    json_t *cols = json_object_get(v, "columns");
    json_t *dest = json_object_get(v, "destination");
    json_t *delim = json_object_get(v, "delimiter");
    if (!cols) return perr(ps, "missing \"columns\" (the fields or literals to join)");
    if (!dest) return perr(ps, "missing \"destination\" (the field to write)");
    size_t m = docs_path_push_key(&ps->path, "columns");
    if (!json_is_array(cols) || json_array_size(cols) == 0)
        return perr(ps, "expected a non-empty array of field names or literals, got %s",
                    docs_json_type_name(cols));
    for (size_t i = 0; i < json_array_size(cols); i++) {
        size_t m2 = docs_path_push_index(&ps->path, i);
        if (!json_is_string(json_array_get(cols, i)))
            return perr(ps, "expected a field name or literal (a string), got %s",
                        docs_json_type_name(json_array_get(cols, i)));
        docs_path_pop(&ps->path, m2);
    }
    docs_path_pop(&ps->path, m);
    m = docs_path_push_key(&ps->path, "destination");
    if (!json_is_string(dest) || !*json_string_value(dest))
        return perr(ps, "expected a field name, got %s",
                    json_is_string(dest) ? "an empty string" : docs_json_type_name(dest));
    docs_path_pop(&ps->path, m);
    if (delim && !json_is_string(delim)) {
        docs_path_push_key(&ps->path, "delimiter");
        return perr(ps, "expected a string, got %s", docs_json_type_name(delim));
    }
    return true;
}

/* concat: one spec, an array of specs, or PGSync's nested form {"child_label": spec}. The
 * result is an array of specs or (nested form) the object as written. */
static bool parse_concat(Parse *ps, json_t *v, int depth, json_t **out)
{
    if (depth > DOCS_MAX_DEPTH) return perr(ps, "concat nested deeper than %d", DOCS_MAX_DEPTH);
    if (json_is_array(v)) {
        if (json_array_size(v) == 0) return perr(ps, "expected at least one concat transform");
        for (size_t i = 0; i < json_array_size(v); i++) {
            size_t m = docs_path_push_index(&ps->path, i);
            if (!parse_concat_one(ps, json_array_get(v, i))) return false;
            docs_path_pop(&ps->path, m);
        }
        *out = json_incref(v);
        return true;
    }
    if (!json_is_object(v))
        return perr(ps,
                    "expected an object {columns, destination, delimiter} or an array of "
                    "them, got %s",
                    docs_json_type_name(v));
    if (json_object_get(v, "columns") || json_object_get(v, "destination")) {
        if (!parse_concat_one(ps, v)) return false;
        *out = json_array();
        json_array_append(*out, v);
        return true;
    }
    /* nested: every value is a concat for the child of that label */
    if (json_object_size(v) == 0)
        return perr(ps, "expected {columns, destination, delimiter}, got an empty object");
    const char *k;
    json_t *x;
    json_t *nested = json_object();
    json_object_foreach(v, k, x)
    {
        size_t m = docs_path_push_key(&ps->path, k);
        json_t *sub = NULL;
        if (!parse_concat(ps, x, depth + 1, &sub)) {
            json_decref(nested);
            return false;
        }
        json_object_set_new(nested, k, sub);
        docs_path_pop(&ps->path, m);
    }
    *out = nested;
    return true;
}

static bool parse_move_one(Parse *ps, const json_t *v, DocsTransformMove *mv)
{
    static const char *const keys[] = {"column", "destination", NULL};
    if (!expect_type(ps, v, JSON_OBJECT, "an object {column, destination}")) return false;
    if (!check_keys(ps, v, keys, "a move transform")) return false;
    json_t *col = json_object_get(v, "column");
    json_t *dest = json_object_get(v, "destination");
    if (!col) return perr(ps, "missing \"column\" (the field to move)");
    if (!dest) return perr(ps, "missing \"destination\" (\"$root.a.b\" or \"a.b\")");
    size_t m = docs_path_push_key(&ps->path, "column");
    if (!get_name(ps, col, "a field name", &mv->column)) return false;
    docs_path_pop(&ps->path, m);
    m = docs_path_push_key(&ps->path, "destination");
    char *d = NULL;
    if (!get_name(ps, dest, "a destination path", &d)) return false;
    const char *p = d;
    if (strncmp(p, "$root", 5) == 0 && (p[5] == '.' || p[5] == '\0')) {
        mv->from_root = true;
        p += 5;
        if (*p == '.') p++;
    }
    mv->dest = dip_calloc(strlen(p) / 2 + 2, sizeof(char *));
    bool ok = true;
    if (!*p) {
        ok = perr(ps, "\"%s\" names no field to move to", d);
    } else {
        for (;;) {
            const char *dot = strchr(p, '.');
            size_t len = dot ? (size_t)(dot - p) : strlen(p);
            if (len == 0) {
                ok = perr(ps, "\"%s\" has an empty segment (expected \"$root.a.b\" or \"a.b\")", d);
                break;
            }
            mv->dest[mv->ndest++] = dip_strndup(p, len);
            if (!dot) break;
            p = dot + 1;
        }
    }
    free(d);
    if (ok) docs_path_pop(&ps->path, m);
    return ok;
}

static bool parse_mapping_field(Parse *ps, const json_t *v)
{
    if (!expect_type(ps, v, JSON_OBJECT, "an object {\"type\": ..., parameters}")) return false;
    json_t *type = json_object_get(v, "type");
    if (!type) return perr(ps, "missing \"type\" (an Elasticsearch field type)");
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x)
    {
        if (!in_list(ES_PARAMS, k)) {
            docs_path_push_key(&ps->path, k);
            return perr(ps, "not an Elasticsearch mapping parameter PGSync accepts");
        }
    }
    size_t m = docs_path_push_key(&ps->path, "type");
    if (!json_is_string(type) || !in_list(ES_TYPES, json_string_value(type)))
        return perr(ps,
                    "expected an Elasticsearch field type (text, keyword, long, ...), got %s%s%s",
                    json_is_string(type) ? "\"" : "",
                    json_is_string(type) ? json_string_value(type) : docs_json_type_name(type),
                    json_is_string(type) ? "\"" : "");
    docs_path_pop(&ps->path, m);
    return true;
}

static bool parse_transform(Parse *ps, json_t *v, DocsTransform *t)
{
    static const char *const keys[] = {"rename", "replace", "concat", "mapping", "move", NULL};
    if (!expect_type(ps, v, JSON_OBJECT, "an object {rename, replace, concat, mapping, move}"))
        return false;
    if (!check_keys(ps, v, keys, "transform")) return false;
    json_t *x;
    size_t m;
    if ((x = json_object_get(v, "rename"))) {
        m = docs_path_push_key(&ps->path, "rename");
        if (!parse_rename(ps, x, 0)) return false;
        t->rename = json_incref(x);
        docs_path_pop(&ps->path, m);
    }
    if ((x = json_object_get(v, "replace"))) {
        m = docs_path_push_key(&ps->path, "replace");
        if (!parse_replace(ps, x, 0)) return false;
        t->replace = json_incref(x);
        docs_path_pop(&ps->path, m);
    }
    if ((x = json_object_get(v, "concat"))) {
        m = docs_path_push_key(&ps->path, "concat");
        if (!parse_concat(ps, x, 0, &t->concat)) return false;
        docs_path_pop(&ps->path, m);
    }
    if ((x = json_object_get(v, "mapping"))) {
        m = docs_path_push_key(&ps->path, "mapping");
        if (!expect_type(ps, x, JSON_OBJECT, "an object of field -> mapping")) return false;
        const char *k;
        json_t *f;
        json_object_foreach(x, k, f)
        {
            size_t m2 = docs_path_push_key(&ps->path, k);
            if (!parse_mapping_field(ps, f)) return false;
            docs_path_pop(&ps->path, m2);
        }
        t->mapping = json_incref(x);
        docs_path_pop(&ps->path, m);
    }
    if ((x = json_object_get(v, "move"))) {
        m = docs_path_push_key(&ps->path, "move");
        if (json_is_array(x)) {
            size_t n = json_array_size(x);
            if (n == 0) return perr(ps, "expected at least one move transform");
            t->move = dip_calloc(n, sizeof(DocsTransformMove));
            for (size_t i = 0; i < n; i++) {
                size_t m2 = docs_path_push_index(&ps->path, i);
                t->nmove++;
                if (!parse_move_one(ps, json_array_get(x, i), &t->move[i])) return false;
                docs_path_pop(&ps->path, m2);
            }
        } else {
            t->move = dip_calloc(1, sizeof(DocsTransformMove));
            t->nmove = 1;
            if (!parse_move_one(ps, x, &t->move[0])) return false;
        }
        docs_path_pop(&ps->path, m);
    }
    return true;
}

static void transform_free(DocsTransform *t)
{
    json_decref(t->rename);
    json_decref(t->replace);
    json_decref(t->concat);
    json_decref(t->mapping);
    for (size_t i = 0; i < t->nmove; i++) {
        free(t->move[i].column);
        free_names(t->move[i].dest, t->move[i].ndest);
    }
    free(t->move);
}

/* ---------------------------------------------------------------- relationship */

static bool parse_fk_side(Parse *ps, const json_t *v, char ***out, size_t *n)
{
    if (!get_names(ps, v, "column name", true, out, n)) return false;
    if (*n == 0) return perr(ps, "expected at least one column name");
    return true;
}

static bool parse_relationship(Parse *ps, const json_t *v, DocsNode *node)
{
    static const char *const keys[] = {"variant", "type", "through_tables", "foreign_key", NULL};
    if (!expect_type(ps, v, JSON_OBJECT, "an object {variant, type, through_tables, foreign_key}"))
        return false;
    if (!check_keys(ps, v, keys, "relationship")) return false;
    json_t *variant = json_object_get(v, "variant");
    json_t *type = json_object_get(v, "type");
    size_t m;
    if (!variant) return perr(ps, "missing \"variant\" (\"object\" or \"scalar\")");
    if (!type) return perr(ps, "missing \"type\" (\"one_to_one\" or \"one_to_many\")");
    m = docs_path_push_key(&ps->path, "variant");
    if (!json_is_string(variant))
        return perr(ps, "expected \"object\" or \"scalar\", got %s", docs_json_type_name(variant));
    if (strcmp(json_string_value(variant), "object") == 0)
        node->variant = DOCS_VARIANT_OBJECT;
    else if (strcmp(json_string_value(variant), "scalar") == 0)
        node->variant = DOCS_VARIANT_SCALAR;
    else
        return perr(ps, "expected \"object\" or \"scalar\", got \"%s\"",
                    json_string_value(variant));
    docs_path_pop(&ps->path, m);
    m = docs_path_push_key(&ps->path, "type");
    if (!json_is_string(type))
        return perr(ps, "expected \"one_to_one\" or \"one_to_many\", got %s",
                    docs_json_type_name(type));
    if (strcmp(json_string_value(type), "one_to_one") == 0)
        node->type = DOCS_REL_ONE_TO_ONE;
    else if (strcmp(json_string_value(type), "one_to_many") == 0)
        node->type = DOCS_REL_ONE_TO_MANY;
    else
        return perr(ps, "expected \"one_to_one\" or \"one_to_many\", got \"%s\"",
                    json_string_value(type));
    docs_path_pop(&ps->path, m);
    json_t *th = json_object_get(v, "through_tables");
    if (th) {
        m = docs_path_push_key(&ps->path, "through_tables");
        char **names = NULL;
        size_t n = 0;
        bool ok = get_names(ps, th, "table name", false, &names, &n);
        if (ok && n > 1)
            ok = perr(ps, "PGSync allows one through table per relationship, got %zu", n);
        if (ok && n == 1) {
            const char *dot = strchr(names[0], '.');
            if (dot) {
                node->through_schema = dip_strndup(names[0], (size_t)(dot - names[0]));
                node->through_table = dip_strdup(dot + 1);
                if (!*node->through_schema || !*node->through_table)
                    ok = perr(ps, "\"%s\": expected \"table\" or \"schema.table\"", names[0]);
            } else {
                node->through_schema = dip_strdup(node->schema);
                node->through_table = dip_strdup(names[0]);
            }
        }
        free_names(names, n);
        if (!ok) return false;
        docs_path_pop(&ps->path, m);
    }
    json_t *fk = json_object_get(v, "foreign_key");
    if (fk) {
        static const char *const fkeys[] = {"parent", "child", NULL};
        m = docs_path_push_key(&ps->path, "foreign_key");
        if (!expect_type(ps, fk, JSON_OBJECT, "an object {parent, child}")) return false;
        if (!check_keys(ps, fk, fkeys, "foreign_key")) return false;
        json_t *pa = json_object_get(fk, "parent"), *ch = json_object_get(fk, "child");
        if (!pa || !ch)
            return perr(ps,
                        "a foreign_key names both \"parent\" and \"child\" columns (missing "
                        "\"%s\")",
                        pa ? "child" : "parent");
        node->has_foreign_key = true;
        size_t m2 = docs_path_push_key(&ps->path, "parent");
        if (!parse_fk_side(ps, pa, &node->foreign_key.parent, &node->foreign_key.nparent))
            return false;
        docs_path_pop(&ps->path, m2);
        m2 = docs_path_push_key(&ps->path, "child");
        if (!parse_fk_side(ps, ch, &node->foreign_key.child, &node->foreign_key.nchild))
            return false;
        /* Direct joins pair parent and child columns; through joins name each side's
         * columns on the through table, whose counts follow the two tables' keys. */
        if (!node->through_table && node->foreign_key.nchild != node->foreign_key.nparent)
            return perr(ps, "%zu child column(s) for %zu parent column(s): they pair up one to one",
                        node->foreign_key.nchild, node->foreign_key.nparent);
        docs_path_pop(&ps->path, m2);
        docs_path_pop(&ps->path, m);
    }
    return true;
}

/* ---------------------------------------------------------------- nodes */

static void join_free(DocsJoin *j)
{
    free_names(j->left_cols, j->ncols);
    free_names(j->right_cols, j->ncols);
    free(j->constraint);
    memset(j, 0, sizeof *j);
}

void docs_table_free(DocsTable *t)
{
    free(t->schema);
    free(t->name);
    free_names(t->key, t->nkey);
    memset(t, 0, sizeof *t);
}

/* Catalog fields filled by docs_schema_resolve(), released before a second resolve. */
void docs_node_clear_resolved(DocsNode *n)
{
    docs_table_free(&n->rel);
    docs_table_free(&n->through);
    if (n->bases)
        for (size_t i = 0; i < n->nbase_tables; i++)
            docs_table_free(&n->bases[i]);
    free(n->bases);
    n->bases = NULL;
    free_names(n->id_key, n->nid_key);
    n->id_key = NULL;
    n->nid_key = 0;
    join_free(&n->parent_join);
    join_free(&n->child_join);
    n->fk_on_parent = false;
}

static void node_free(DocsNode *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->nchildren; i++)
        node_free(n->children[i]);
    free(n->children);
    docs_node_clear_resolved(n);
    free(n->path);
    free(n->table);
    free(n->schema);
    free(n->label);
    for (size_t i = 0; i < n->ncolumns; i++)
        docs_column_free(&n->columns[i]);
    free(n->columns);
    free_names(n->primary_key, n->nprimary_key);
    free_names(n->base_tables, n->nbase_tables);
    free(n->through_schema);
    free(n->through_table);
    free_names(n->foreign_key.parent, n->foreign_key.nparent);
    free_names(n->foreign_key.child, n->foreign_key.nchild);
    transform_free(&n->transform);
    free(n);
}

static bool parse_node(Parse *ps, json_t *v, DocsNode *parent, int depth, DocsNode **out)
{
    static const char *const keys[] = {
        "table",        "schema",   "columns",   "label",       "primary_key",
        "relationship", "children", "transform", "base_tables", NULL};
    *out = NULL;
    if (!json_is_object(v))
        return perr(ps, "expected a node object {table, columns, children, ...}, got %s%s",
                    docs_json_type_name(v),
                    json_is_array(v) && !parent
                        ? " (a PGSync v1 schema: nodes became an object in v2, run its migration)"
                        : "");
    if (depth > DOCS_MAX_DEPTH)
        return perr(ps, "children nested deeper than %d levels", DOCS_MAX_DEPTH);
    if (!check_keys(ps, v, keys, "a node")) return false;
    DocsNode *n = dip_calloc(1, sizeof *n);
    *out = n;
    n->parent = parent;
    n->depth = depth;
    n->path = dip_strdup(buf_cstr(&ps->path));
    json_t *x;
    size_t m;
    if (!(x = json_object_get(v, "table"))) return perr(ps, "missing \"table\"");
    m = docs_path_push_key(&ps->path, "table");
    if (!get_name(ps, x, "a table name", &n->table)) return false;
    docs_path_pop(&ps->path, m);
    if ((x = json_object_get(v, "schema"))) {
        m = docs_path_push_key(&ps->path, "schema");
        if (!get_name(ps, x, "a schema name", &n->schema)) return false;
        docs_path_pop(&ps->path, m);
    } else {
        n->schema = dip_strdup("public");
    }
    if ((x = json_object_get(v, "label"))) {
        m = docs_path_push_key(&ps->path, "label");
        if (!get_name(ps, x, "a label (the document key)", &n->label)) return false;
        docs_path_pop(&ps->path, m);
    } else {
        n->label = dip_strdup(n->table);
    }
    if ((x = json_object_get(v, "columns"))) {
        m = docs_path_push_key(&ps->path, "columns");
        if (!json_is_array(x))
            return perr(ps, "expected an array of column names, got %s", docs_json_type_name(x));
        size_t cnt = json_array_size(x);
        n->columns = dip_calloc(cnt ? cnt : 1, sizeof(DocsColumn));
        for (size_t i = 0; i < cnt; i++) {
            size_t m2 = docs_path_push_index(&ps->path, i);
            char *spec = NULL;
            if (!get_name(ps, json_array_get(x, i), "a column name", &spec)) return false;
            n->ncolumns++;
            bool ok = parse_column(ps, spec, &n->columns[i]);
            free(spec);
            if (!ok) return false;
            for (size_t j = 0; j < i; j++)
                if (strcmp(n->columns[j].output, n->columns[i].output) == 0)
                    return perr(ps, "\"%s\" gives the field \"%s\" a second time (columns[%zu])",
                                n->columns[i].spec, n->columns[i].output, j);
            docs_path_pop(&ps->path, m2);
        }
        docs_path_pop(&ps->path, m);
    }
    n->columns_all = n->ncolumns == 0;
    if ((x = json_object_get(v, "primary_key"))) {
        m = docs_path_push_key(&ps->path, "primary_key");
        if (!get_names(ps, x, "column name", false, &n->primary_key, &n->nprimary_key))
            return false;
        docs_path_pop(&ps->path, m);
    }
    if ((x = json_object_get(v, "base_tables"))) {
        m = docs_path_push_key(&ps->path, "base_tables");
        if (!get_names(ps, x, "table name", false, &n->base_tables, &n->nbase_tables)) return false;
        docs_path_pop(&ps->path, m);
    }
    if ((x = json_object_get(v, "relationship"))) {
        m = docs_path_push_key(&ps->path, "relationship");
        if (!parent) return perr(ps, "the root node has no parent to relate to");
        if (!parse_relationship(ps, x, n)) return false;
        docs_path_pop(&ps->path, m);
    } else if (parent) {
        return perr(ps, "missing \"relationship\" (every child names its variant and type)");
    }
    if ((x = json_object_get(v, "transform"))) {
        m = docs_path_push_key(&ps->path, "transform");
        if (!parse_transform(ps, x, &n->transform)) return false;
        if (n->variant == DOCS_VARIANT_SCALAR && parent &&
            (n->transform.rename || n->transform.concat || n->transform.nmove))
            return perr(ps, "a scalar node's values have no field names: only replace and "
                            "mapping apply (rename the label instead)");
        docs_path_pop(&ps->path, m);
    }
    if ((x = json_object_get(v, "children"))) {
        m = docs_path_push_key(&ps->path, "children");
        if (!json_is_array(x))
            return perr(ps, "expected an array of node objects, got %s", docs_json_type_name(x));
        size_t cnt = json_array_size(x);
        n->children = dip_calloc(cnt ? cnt : 1, sizeof(DocsNode *));
        for (size_t i = 0; i < cnt; i++) {
            size_t m2 = docs_path_push_index(&ps->path, i);
            DocsNode *c = NULL;
            bool ok = parse_node(ps, json_array_get(x, i), n, depth + 1, &c);
            if (c) n->children[n->nchildren++] = c;
            if (!ok) return false;
            for (size_t j = 0; j < i; j++)
                if (strcmp(n->children[j]->label, c->label) == 0)
                    return perr(ps,
                                "label \"%s\" is already used by children[%zu]: two children "
                                "of one node need two labels",
                                c->label, j);
            if (n->variant == DOCS_VARIANT_SCALAR && parent)
                return perr(ps, "a scalar node's value is one column: it cannot have children");
            docs_path_pop(&ps->path, m2);
        }
        docs_path_pop(&ps->path, m);
    }
    if (n->through_table && strcmp(n->through_table, n->table) == 0 &&
        strcmp(n->through_schema, n->schema) == 0)
        return perr(ps, "through table %s.%s is the node's own table (a cycle)", n->through_schema,
                    n->through_table);
    if (n->through_table && parent && strcmp(n->through_table, parent->table) == 0 &&
        strcmp(n->through_schema, parent->schema) == 0)
        return perr(ps, "through table %s.%s is the parent's own table (a cycle)",
                    n->through_schema, n->through_table);
    if (n->variant == DOCS_VARIANT_SCALAR && parent && n->ncolumns > 1)
        return perr(ps, "a scalar node's value is one column, got %zu columns", n->ncolumns);
    return true;
}

static void collect_nodes(DocsDocument *d, DocsNode *n, size_t *cap)
{
    if (d->nnodes == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        d->nodes = dip_realloc(d->nodes, *cap * sizeof(DocsNode *));
    }
    n->id = (int)d->nnodes;
    d->nodes[d->nnodes++] = n;
    for (size_t i = 0; i < n->nchildren; i++)
        collect_nodes(d, n->children[i], cap);
}

/* ---------------------------------------------------------------- documents */

/* A top-level string after $VAR substitution. PGSync tests index, pipeline and routing for
 * truth (`doc.get("index") or ...`, `if self.routing:`), so when `empty_is_absent` an empty
 * result or null means "not given"; the database must not be empty. */
static bool get_top_string(Parse *ps, json_t *doc, const char *key, bool empty_is_absent,
                           char **out)
{
    json_t *x = json_object_get(doc, key);
    if (!x || (empty_is_absent && json_is_null(x))) return true;
    size_t m = docs_path_push_key(&ps->path, key);
    if (!json_is_string(x)) return perr(ps, "expected a string, got %s", docs_json_type_name(x));
    *out = docs_env_substitute(json_string_value(x));
    if (!**out) {
        free(*out);
        *out = NULL;
        if (!empty_is_absent)
            return perr(ps, "is empty after $VAR substitution (\"%s\")", json_string_value(x));
    }
    docs_path_pop(&ps->path, m);
    return true;
}

static bool get_top_object(Parse *ps, json_t *doc, const char *key, json_t **out)
{
    json_t *x = json_object_get(doc, key);
    if (!x) return true;
    size_t m = docs_path_push_key(&ps->path, key);
    if (!json_is_object(x)) return perr(ps, "expected an object, got %s", docs_json_type_name(x));
    *out = json_incref(x);
    docs_path_pop(&ps->path, m);
    return true;
}

static void document_free(DocsDocument *d)
{
    free(d->warnings);
    free(d->file);
    free(d->path);
    free(d->database);
    free(d->index);
    free(d->pipeline);
    free(d->routing);
    free_names(d->plugins, d->nplugins);
    json_decref(d->setting);
    json_decref(d->mapping);
    json_decref(d->mappings);
    node_free(d->root);
    free(d->nodes);
    memset(d, 0, sizeof *d);
}

static bool parse_document(Parse *ps, json_t *v, DocsDocument *d)
{
    static const char *const keys[] = {"database", "index",   "nodes",    "setting", "mapping",
                                       "mappings", "plugins", "pipeline", "routing", NULL};
    d->path = dip_strdup(buf_cstr(&ps->path));
    d->file = dip_strdup(ps->file);
    if (!json_is_object(v))
        return perr(ps, "expected a document object {database, index, nodes, ...}, got %s",
                    docs_json_type_name(v));
    if (!check_keys(ps, v, keys, "a document")) return false;
    if (!json_object_get(v, "database")) return perr(ps, "missing \"database\"");
    if (!get_top_string(ps, v, "database", false, &d->database)) return false;
    if (!get_top_string(ps, v, "index", true, &d->index)) return false;
    if (!d->index) d->index = dip_strdup(d->database);
    if (!get_top_string(ps, v, "pipeline", true, &d->pipeline)) return false;
    if (!get_top_string(ps, v, "routing", true, &d->routing)) return false;
    if (!get_top_object(ps, v, "setting", &d->setting)) return false;
    if (!get_top_object(ps, v, "mapping", &d->mapping)) return false;
    if (!get_top_object(ps, v, "mappings", &d->mappings)) return false;
    json_t *x = json_object_get(v, "plugins");
    if (x) {
        size_t m = docs_path_push_key(&ps->path, "plugins");
        if (!get_names(ps, x, "plugin name", false, &d->plugins, &d->nplugins)) return false;
        for (size_t i = 0; i < d->nplugins; i++)
            for (size_t j = 0; j < i; j++)
                if (strcmp(d->plugins[i], d->plugins[j]) == 0) {
                    docs_path_push_index(&ps->path, i);
                    return perr(ps, "plugin \"%s\" is already listed at [%zu]", d->plugins[i], j);
                }
        docs_path_pop(&ps->path, m);
    }
    x = json_object_get(v, "nodes");
    if (!x) return perr(ps, "missing \"nodes\" (the root node object)");
    size_t m = docs_path_push_key(&ps->path, "nodes");
    if (!parse_node(ps, x, NULL, 0, &d->root)) return false;
    docs_path_pop(&ps->path, m);
    size_t cap = 0;
    collect_nodes(d, d->root, &cap);
    return true;
}

bool docs_schema_parse(const char *text, size_t len, const char *name, DocsSchema *out,
                       DipError *err)
{
    memset(out, 0, sizeof *out);
    out->file = dip_strdup(name ? name : "schema.json");
    out->dir = dip_strdup(".");
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        dip_error_set(err, DIP_ERR_CONFIG, "%s: line %d, column %d: %s", out->file, je.line,
                      je.column, je.text);
        docs_schema_free(out);
        return false;
    }
    Parse ps = {.file = out->file, .err = err};
    buf_init(&ps.path);
    bool ok = true;
    if (!json_is_array(root)) {
        ok = dip_error_set(err, DIP_ERR_CONFIG,
                           "%s: expected an array of documents [{\"database\": ..., \"nodes\": "
                           "...}], got %s",
                           out->file, docs_json_type_name(root));
    } else if (json_array_size(root) == 0) {
        ok = dip_error_set(err, DIP_ERR_CONFIG, "%s: the array holds no document", out->file);
    } else {
        size_t n = json_array_size(root);
        out->docs = dip_calloc(n, sizeof(DocsDocument));
        for (size_t i = 0; i < n && ok; i++) {
            size_t m = docs_path_push_index(&ps.path, i);
            out->ndocs++;
            ok = parse_document(&ps, json_array_get(root, i), &out->docs[i]);
            docs_path_pop(&ps.path, m);
        }
        /* Two documents writing the same index would overwrite each other's documents. */
        for (size_t i = 0; i < out->ndocs && ok; i++)
            for (size_t j = 0; j < i && ok; j++)
                if (strcmp(out->docs[i].index, out->docs[j].index) == 0)
                    ok = dip_error_set(err, DIP_ERR_CONFIG,
                                       "%s: [%zu].index: \"%s\" is already the index of [%zu]",
                                       out->file, i, out->docs[i].index, j);
    }
    buf_free(&ps.path);
    json_decref(root);
    if (!ok) docs_schema_free(out);
    return ok;
}

bool docs_schema_load(const char *path, DocsSchema *out, DipError *err)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return dip_error_set(err, dip_errno_kind(errno), "%s: cannot open: %s", path,
                             strerror(errno));
    Buf b;
    buf_init(&b);
    char chunk[65536];
    size_t n;
    bool ok = true;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > DOCS_MAX_FILE_BYTES) {
            ok = dip_error_set(err, DIP_ERR_CONFIG, "%s: larger than %u MiB: not a schema file",
                               path, DOCS_MAX_FILE_BYTES >> 20);
            break;
        }
        buf_append(&b, chunk, n);
    }
    if (ok && ferror(f)) ok = dip_error_set(err, DIP_ERR_IO, "%s: read error", path);
    fclose(f);
    if (ok) ok = docs_schema_parse(buf_cstr(&b), b.len, path, out, err);
    buf_free(&b);
    if (!ok) return false;
    const char *slash = strrchr(path, '/');
    free(out->dir);
    out->dir =
        slash ? dip_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : dip_strdup(".");
    return true;
}

void docs_schema_free(DocsSchema *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->ndocs; i++)
        document_free(&s->docs[i]);
    free(s->docs);
    free(s->file);
    free(s->dir);
    memset(s, 0, sizeof *s);
}

const DocsNode *docs_node_find(const DocsDocument *d, const char *schema, const char *table,
                               const DocsNode *start)
{
    size_t from = start ? (size_t)start->id + 1 : 0;
    const char *sch = schema ? schema : "public";
    for (size_t i = from; i < d->nnodes; i++)
        if (strcmp(d->nodes[i]->table, table) == 0 && strcmp(d->nodes[i]->schema, sch) == 0)
            return d->nodes[i];
    return NULL;
}
