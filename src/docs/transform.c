/*
 * transform.c: PGSync's built-in transforms on one document (a jansson object, changed in
 * place), in PGSync's order, each as one pass over the whole node tree:
 *
 *   1. replace  {"field": {"search": "replacement", ...}}: every occurrence, in the order
 *      written, on a string value or on each string of an array (other values untouched).
 *      On a scalar child the node's own replace applies to its values (the string, or each
 *      string of the array); the parent's replace keyed by the child's label does the same.
 *      PGSync's nested form {"child_label": {"field": {...}}} reaches into a child object or
 *      each object of a child array.
 *   2. rename   {"field": "new name"}: keys renamed in place (position kept; a number renames
 *      to its decimal text, as PGSync's str(value)); {"child_label": {...}} renames inside the
 *      child objects.
 *   3. concat   {"columns": [...], "destination": "...", "delimiter": "..."} (or an array of
 *      them), after the renames: each name that is a field gives its value, any other is a
 *      literal; values that Python holds false (null, "", 0, 0.0, false, [], {}) are left out
 *      as PGSync's filter(None, ...) does; the rest are joined as Python's str() prints them
 *      (numbers: 2, 2.5, 1e+16; booleans: True, False; arrays and objects as compact JSON,
 *      where Python would print its own repr). The destination is set even when everything
 *      was left out (then "").
 *   4. move     {"column": "field", "destination": "$root.a.b" | "a.b"} (or an array):
 *      PGSync documents it in its example schemas and never implemented it. dip: after
 *      concat, the field (its name after rename; the original name is accepted too) is
 *      removed from the node's object and set at the destination, created as nested objects
 *      when missing. "$root." paths start at the document root, others at the node's own
 *      object. A relative move happens within each object of the node. A $root move of a node
 *      that can occur several times in a document (it or an ancestor is one_to_many) sets an
 *      array of the moved values in document order (null when there were none); otherwise
 *      the one value (nothing when the node had no row or no such field). A destination
 *      that passes through a non-object value is a data error naming the document path.
 *
 * Where dip differs from PGSync's code, on purpose: PGSync applies a child's transforms only
 * when the parent holds no nested spec of the same kind for it (its Transform.get overwrites
 * one with the other); dip applies both, the child's first. PGSync's rename and concat turn
 * the strings of a scalar child array into {} and its replace drops them; dip rejects rename
 * and concat on scalar nodes at load and applies replace to the values.
 */
#include "docs/docs_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { PASS_REPLACE, PASS_RENAME, PASS_CONCAT, PASS_MOVE } Pass;

/* ---------------------------------------------------------------- replace */

static json_t *replace_string(const char *s, size_t len, json_t *map)
{
    Buf cur, next;
    buf_init(&cur);
    buf_init(&next);
    buf_append(&cur, s, len);
    const char *search;
    json_t *rep;
    json_object_foreach(map, search, rep)
    {
        size_t sl = strlen(search);
        if (sl == 0 || !json_is_string(rep)) continue;
        const char *r = json_string_value(rep);
        size_t rl = json_string_length(rep);
        buf_clear(&next);
        const char *p = buf_cstr(&cur), *end = p + cur.len;
        while (p < end) {
            const char *hit = memmem(p, (size_t)(end - p), search, sl);
            if (!hit) {
                buf_append(&next, p, (size_t)(end - p));
                break;
            }
            buf_append(&next, p, (size_t)(hit - p));
            buf_append(&next, r, rl);
            p = hit + sl;
        }
        if (next.len == 0) buf_append(&next, "", 0);
        Buf t = cur;
        cur = next;
        next = t;
    }
    json_t *out = json_stringn(buf_cstr(&cur), cur.len);
    buf_free(&cur);
    buf_free(&next);
    return out;
}

static bool is_replacement_map(json_t *spec)
{
    const char *k;
    json_t *v;
    json_object_foreach(spec, k, v)
    {
        if (!json_is_string(v)) return false;
    }
    return true;
}

/* A string, or each string of an array, through one replacement map. */
static void replace_value(json_t *holder_obj, const char *key, json_t *holder_arr, size_t idx,
                          json_t *value, json_t *map)
{
    if (json_is_string(value)) {
        json_t *nv = replace_string(json_string_value(value), json_string_length(value), map);
        if (!nv) return; /* cannot happen: the result of valid UTF-8 pieces is valid */
        if (holder_obj)
            json_object_set_new(holder_obj, key, nv);
        else
            json_array_set_new(holder_arr, idx, nv);
    } else if (json_is_array(value)) {
        for (size_t i = 0; i < json_array_size(value); i++)
            if (json_is_string(json_array_get(value, i)))
                replace_value(NULL, NULL, value, i, json_array_get(value, i), map);
    }
}

static void replace_object(json_t *obj, json_t *spec)
{
    const char *key;
    json_t *sub;
    json_object_foreach(spec, key, sub)
    {
        json_t *value = json_object_get(obj, key);
        if (!value || !json_is_object(sub)) continue;
        if (is_replacement_map(sub)) {
            replace_value(obj, key, NULL, 0, value, sub);
        } else if (json_is_object(value)) {
            replace_object(value, sub);
        } else if (json_is_array(value)) {
            for (size_t i = 0; i < json_array_size(value); i++)
                if (json_is_object(json_array_get(value, i)))
                    replace_object(json_array_get(value, i), sub);
        }
    }
}

/* ---------------------------------------------------------------- rename */

static void rename_object(json_t *obj, json_t *spec)
{
    /* A new object in the original key order, keys renamed where they stand (a renamed key
     * landing on an existing one takes its place, as a Python dict assignment does). */
    json_t *out = json_object();
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        json_t *s = json_object_get(spec, key);
        char num[32];
        const char *newkey = key;
        if (json_is_string(s)) {
            newkey = json_string_value(s);
        } else if (json_is_integer(s)) {
            dip_snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(s));
            newkey = num;
        } else if (json_is_object(s)) {
            if (json_is_object(value)) {
                rename_object(value, s);
            } else if (json_is_array(value)) {
                for (size_t i = 0; i < json_array_size(value); i++)
                    if (json_is_object(json_array_get(value, i)))
                        rename_object(json_array_get(value, i), s);
            }
        }
        json_object_set(out, newkey, value);
    }
    json_object_clear(obj);
    json_object_update(obj, out);
    json_decref(out);
}

/* ---------------------------------------------------------------- concat */

static bool py_falsy(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL:
    case JSON_FALSE:
        return true;
    case JSON_STRING:
        return json_string_length(v) == 0;
    case JSON_INTEGER:
        return json_integer_value(v) == 0;
    case JSON_REAL:
        return json_real_value(v) == 0.0;
    case JSON_ARRAY:
        return json_array_size(v) == 0;
    case JSON_OBJECT:
        return json_object_size(v) == 0;
    case JSON_TRUE:
        return false;
    }
    return false;
}

/* Python's repr of a float (what str() prints): the shortest digits that read back, fixed
 * notation for decimal exponents -4..15 (with ".0" when integral), else d.ddde+XX. */
void docs_py_float_str(double v, Buf *out)
{
    if (isnan(v)) {
        buf_append_str(out, "nan");
        return;
    }
    if (isinf(v)) {
        buf_append_str(out, v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0.0) {
        buf_append_str(out, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    char e[40];
    for (int prec = 0; prec <= 17; prec++) {
        dip_snprintf(e, sizeof e, "%.*e", prec, v);
        if (strtod(e, NULL) == v) break;
    }
    /* e = "-d.dddde+XX": digits and exponent */
    char digits[24];
    size_t nd = 0;
    const char *p = e;
    bool neg = *p == '-';
    if (neg) p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && nd < sizeof digits - 1) digits[nd++] = *p;
    digits[nd] = '\0';
    int exp10 = (int)strtol(p + 1, NULL, 10);
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';
    if (neg) buf_append_byte(out, '-');
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            buf_append_str(out, "0.");
            for (int i = -1; i > exp10; i--)
                buf_append_byte(out, '0');
            buf_append(out, digits, nd);
        } else if ((size_t)exp10 + 1 >= nd) {
            buf_append(out, digits, nd);
            for (size_t i = nd; i < (size_t)exp10 + 1; i++)
                buf_append_byte(out, '0');
            buf_append_str(out, ".0");
        } else {
            buf_append(out, digits, (size_t)exp10 + 1);
            buf_append_byte(out, '.');
            buf_append(out, digits + exp10 + 1, nd - (size_t)exp10 - 1);
        }
    } else {
        buf_append_byte(out, digits[0]);
        if (nd > 1) {
            buf_append_byte(out, '.');
            buf_append(out, digits + 1, nd - 1);
        }
        buf_printf(out, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    }
}

static void py_str(const json_t *v, Buf *out)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        buf_append(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL:
        docs_py_float_str(json_real_value(v), out);
        break;
    case JSON_TRUE:
        buf_append_str(out, "True");
        break;
    case JSON_FALSE:
        buf_append_str(out, "False");
        break;
    case JSON_NULL:
        buf_append_str(out, "None");
        break;
    default: {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        if (s) buf_append_str(out, s);
        free(s);
    }
    }
}

static void concat_one(json_t *obj, json_t *spec, Buf *scratch)
{
    json_t *cols = json_object_get(spec, "columns");
    json_t *dest = json_object_get(spec, "destination");
    json_t *delim = json_object_get(spec, "delimiter");
    if (!json_is_array(cols) || !json_is_string(dest)) return; /* checked at load */
    buf_clear(scratch);
    buf_append(scratch, "", 0);
    bool first = true;
    for (size_t i = 0; i < json_array_size(cols); i++) {
        const char *name = json_string_value(json_array_get(cols, i));
        if (!name) continue;
        json_t *v = json_object_get(obj, name);
        json_t *lit = NULL;
        if (!v) v = lit = json_string(name);
        if (v && !py_falsy(v)) {
            if (!first && json_is_string(delim))
                buf_append(scratch, json_string_value(delim), json_string_length(delim));
            py_str(v, scratch);
            first = false;
        }
        json_decref(lit);
    }
    json_object_set_new(obj, json_string_value(dest),
                        json_stringn(buf_cstr(scratch), scratch->len));
}

static void concat_object(json_t *obj, json_t *spec, Buf *scratch)
{
    if (json_is_array(spec)) {
        for (size_t i = 0; i < json_array_size(spec); i++)
            concat_one(obj, json_array_get(spec, i), scratch);
        return;
    }
    const char *key;
    json_t *sub;
    json_object_foreach(spec, key, sub)
    {
        json_t *value = json_object_get(obj, key);
        if (json_is_object(value)) {
            concat_object(value, sub, scratch);
        } else if (json_is_array(value)) {
            for (size_t i = 0; i < json_array_size(value); i++)
                if (json_is_object(json_array_get(value, i)))
                    concat_object(json_array_get(value, i), sub, scratch);
        }
    }
}

/* ---------------------------------------------------------------- move */

/* The field a move names: its name after the node's rename, else as written. */
static const char *move_field(const DocsNode *n, json_t *obj, const char *column)
{
    if (json_object_get(obj, column)) return column;
    json_t *to = n->transform.rename ? json_object_get(n->transform.rename, column) : NULL;
    if (json_is_string(to) && json_object_get(obj, json_string_value(to)))
        return json_string_value(to);
    return NULL;
}

/* Sets value (a new reference, consumed) at path under base, creating objects. */
static bool move_set(json_t *base, char *const *path, size_t n, json_t *value, const char *what,
                     DipError *err)
{
    json_t *cur = base;
    for (size_t i = 0; i + 1 < n; i++) {
        json_t *next = json_object_get(cur, path[i]);
        if (!next) {
            next = json_object();
            json_object_set_new(cur, path[i], next);
        } else if (!json_is_object(next)) {
            json_decref(value);
            return dip_error_set(err, DIP_ERR_DATA,
                                 "transform.move to %s: \"%s\" holds %s, not an object", what,
                                 path[i], docs_json_type_name(next));
        }
        cur = next;
    }
    json_object_set_new(cur, path[n - 1], value);
    return true;
}

static bool move_object(const DocsNode *n, json_t *obj, json_t **collect, DipError *err)
{
    for (size_t i = 0; i < n->transform.nmove; i++) {
        const DocsTransformMove *mv = &n->transform.move[i];
        const char *field = move_field(n, obj, mv->column);
        if (!field) continue;
        json_t *v = json_incref(json_object_get(obj, field));
        json_object_del(obj, field);
        if (mv->from_root) {
            json_array_append_new(collect[i], v);
        } else if (!move_set(obj, mv->dest, mv->ndest, v, mv->dest[0], err)) {
            dip_error_prefix(err, "%s", n->path);
            return false;
        }
    }
    return true;
}

/* ---------------------------------------------------------------- the passes */

/* The key of child c in its parent's object during `pass` (after the rename pass the
 * parent's own rename of the label applies). */
static const char *child_key(const DocsNode *c, Pass pass)
{
    if (pass >= PASS_CONCAT && c->parent->transform.rename) {
        json_t *to = json_object_get(c->parent->transform.rename, c->label);
        if (json_is_string(to)) return json_string_value(to);
    }
    return c->label;
}

static bool node_has(const DocsNode *n, Pass pass)
{
    const DocsTransform *t = &n->transform;
    switch (pass) {
    case PASS_REPLACE:
        return t->replace != NULL;
    case PASS_RENAME:
        return t->rename != NULL;
    case PASS_CONCAT:
        return t->concat != NULL;
    case PASS_MOVE:
        return t->nmove > 0;
    }
    return false;
}

typedef struct Walk {
    Pass pass;
    Buf scratch;
    json_t ***collect; /* PASS_MOVE: per node id, per move: collected $root values */
    DipError *err;
} Walk;

static bool apply_object(Walk *w, const DocsNode *n, json_t *obj)
{
    switch (w->pass) {
    case PASS_REPLACE:
        replace_object(obj, n->transform.replace);
        break;
    case PASS_RENAME:
        rename_object(obj, n->transform.rename);
        break;
    case PASS_CONCAT:
        concat_object(obj, n->transform.concat, &w->scratch);
        break;
    case PASS_MOVE:
        return move_object(n, obj, w->collect[n->id], w->err);
    }
    return true;
}

/* A scalar node's values: its own replace maps keyed by its column apply to them. */
static void apply_scalar(const DocsNode *n, json_t *parent_obj, const char *key, json_t *value)
{
    const char *col = n->ncolumns ? n->columns[0].output : NULL;
    const char *k;
    json_t *map;
    json_object_foreach(n->transform.replace, k, map)
    {
        if (json_is_object(map) && is_replacement_map(map) && (!col || strcmp(col, k) == 0)) {
            replace_value(parent_obj, key, NULL, 0, value, map);
            value = json_object_get(parent_obj, key);
        }
    }
}

static bool walk_node(Walk *w, const DocsNode *n, json_t *value, json_t *parent_obj,
                      const char *key)
{
    if (!value || json_is_null(value)) return true;
    if (n->parent && n->variant == DOCS_VARIANT_SCALAR) {
        if (w->pass == PASS_REPLACE && n->transform.replace)
            apply_scalar(n, parent_obj, key, value);
        return true;
    }
    size_t count = json_is_array(value) ? json_array_size(value) : 1;
    for (size_t e = 0; e < count; e++) {
        json_t *obj = json_is_array(value) ? json_array_get(value, e) : value;
        if (!json_is_object(obj)) continue;
        /* children first: the parent's rename may still rename their labels */
        for (size_t i = 0; i < n->nchildren; i++) {
            const DocsNode *c = n->children[i];
            const char *ck = child_key(c, w->pass);
            if (!walk_node(w, c, json_object_get(obj, ck), obj, ck)) return false;
        }
        if (node_has(n, w->pass) && !apply_object(w, n, obj)) return false;
    }
    return true;
}

static bool node_is_multi(const DocsNode *n)
{
    for (; n && n->parent; n = n->parent)
        if (n->type == DOCS_REL_ONE_TO_MANY) return true;
    return false;
}

static bool move_finish(Walk *w, const DocsDocument *d, json_t *doc)
{
    for (size_t id = 0; id < d->nnodes; id++) {
        const DocsNode *n = d->nodes[id];
        if (!w->collect[id]) continue;
        bool multi = node_is_multi(n);
        for (size_t i = 0; i < n->transform.nmove; i++) {
            const DocsTransformMove *mv = &n->transform.move[i];
            json_t *vals = w->collect[id][i];
            if (!mv->from_root) continue;
            json_t *v = NULL;
            if (multi)
                v = json_array_size(vals) ? json_incref(vals) : json_null();
            else if (json_array_size(vals))
                v = json_incref(json_array_get(vals, 0));
            if (v && !move_set(doc, mv->dest, mv->ndest, v, "$root", w->err)) {
                dip_error_prefix(w->err, "%s", n->path);
                return false;
            }
        }
    }
    return true;
}

bool docs_transform_apply(const DocsDocument *d, json_t *doc, DipError *err)
{
    if (!json_is_object(doc))
        return dip_error_set(err, DIP_ERR_INTERNAL, "transform: the document is not an object");
    bool any[4] = {false, false, false, false};
    for (size_t i = 0; i < d->nnodes; i++)
        for (int p = PASS_REPLACE; p <= PASS_MOVE; p++)
            if (node_has(d->nodes[i], (Pass)p)) any[p] = true;
    Walk w = {.err = err};
    buf_init(&w.scratch);
    bool ok = true;
    for (int p = PASS_REPLACE; p <= PASS_MOVE && ok; p++) {
        if (!any[p]) continue;
        w.pass = (Pass)p;
        if (w.pass == PASS_MOVE) {
            w.collect = dip_calloc(d->nnodes, sizeof(json_t **));
            for (size_t i = 0; i < d->nnodes; i++) {
                const DocsNode *n = d->nodes[i];
                if (!n->transform.nmove) continue;
                w.collect[i] = dip_calloc(n->transform.nmove, sizeof(json_t *));
                for (size_t j = 0; j < n->transform.nmove; j++)
                    w.collect[i][j] = json_array();
            }
        }
        ok = walk_node(&w, d->root, doc, NULL, NULL);
        if (ok && w.pass == PASS_MOVE) ok = move_finish(&w, d, doc);
    }
    if (w.collect) {
        for (size_t i = 0; i < d->nnodes; i++) {
            if (!w.collect[i]) continue;
            for (size_t j = 0; j < d->nodes[i]->transform.nmove; j++)
                json_decref(w.collect[i][j]);
            free(w.collect[i]);
        }
        free(w.collect);
    }
    buf_free(&w.scratch);
    return ok;
}
