/*
 * response.c: reading a bulk response item by item, and what each item's status means.
 *
 * A bulk response is {"took":N,"errors":BOOL,"items":[{"OP":{"_index","_id","status",
 * "error":{"type","reason",...}}}, ...]} with exactly one item per action, in request order
 * (Elasticsearch "Bulk API", response body). These bytes come from outside: every field is
 * checked, and a response that does not hold exactly the items sent is an error naming what
 * was expected, never a guess about which action got which answer.
 *
 * Item outcomes (the table): 2xx done; 409 under external versioning done (a newer
 * version is already there); 404 on delete done (nothing to delete); 429 and 5xx retried;
 * 401/403 stop (credentials or privileges: retrying cannot help and dead-lettering would
 * hide it); any other 4xx is bad data for the dead letters.
 */
#include "es/es_internal.h"

#include <string.h>

static bool op_from_key(const char *k, size_t n, EsOp *op)
{
    for (int i = ES_OP_INDEX; i <= ES_OP_DELETE; i++) {
        const char *name = es_op_name((EsOp)i);
        if (strlen(name) == n && !memcmp(k, name, n)) {
            *op = (EsOp)i;
            return true;
        }
    }
    return false;
}

/* A walk over the members of one object or the elements of one array without building a
 * tree: a bulk answer of 5,000 items is read in one pass with no allocation per value (a
 * jansson tree of it costs ~1 KB an item, the largest share of the writer's memory in
 * flight). Values are delimited with es_json_value_end; the scalars dip uses are checked
 * when read. */
typedef struct JsonIter {
    const char *p, *end;
    bool first;
    const char *bad; /* where the input stopped making sense */
} JsonIter;

static bool iter_begin(JsonIter *it, const char *p, const char *end, char open)
{
    it->end = end;
    it->first = true;
    it->bad = NULL;
    p = es_json_skip_ws(p, end);
    if (p >= end || *p != open) {
        it->bad = p;
        return false;
    }
    it->p = p + 1;
    return true;
}

/* 1: one more (key for objects, value span), 0: the container ended, -1: malformed. */
static int iter_next(JsonIter *it, char close, const char **k, size_t *kn, const char **v,
                     const char **vend)
{
    const char *q = es_json_skip_ws(it->p, it->end);
    if (q >= it->end) goto bad;
    if (*q == close) {
        it->p = q + 1;
        return 0;
    }
    if (!it->first) {
        if (*q != ',') goto bad;
        q = es_json_skip_ws(q + 1, it->end);
        if (q >= it->end) goto bad;
    }
    it->first = false;
    if (k) {
        if (*q != '"') goto bad;
        const char *ke = es_json_string_end(q, it->end);
        if (!ke) goto bad;
        *k = q + 1;
        *kn = (size_t)(ke - q - 2);
        q = es_json_skip_ws(ke, it->end);
        if (q >= it->end || *q != ':') goto bad;
        q = es_json_skip_ws(q + 1, it->end);
    }
    const char *e = es_json_value_end(q, it->end);
    if (!e) goto bad;
    *v = q;
    *vend = e;
    it->p = e;
    return 1;
bad:
    it->bad = q;
    return -1;
}

static bool key_eq(const char *k, size_t kn, const char *name)
{
    return strlen(name) == kn && !memcmp(k, name, kn);
}

/* An integer literal at [v, ve), or false. */
static bool int_literal(const char *v, const char *ve, int64_t *out)
{
    char tmp[24];
    size_t n = (size_t)(ve - v);
    if (n == 0 || n >= sizeof tmp) return false;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    return dip_parse_i64(tmp, out);
}

typedef enum { ITEM_OK = 0, ITEM_MALFORMED, ITEM_SHAPE, ITEM_NO_STATUS, ITEM_BAD_STATUS } ItemParse;

static ItemParse item_parse(const char *v, const char *end, Arena *a, EsItemResult *r,
                            const char **bad)
{
    JsonIter it, in;
    const char *k, *iv, *ive;
    size_t kn;
    if (!iter_begin(&it, v, end, '{')) return ITEM_SHAPE;
    int m = iter_next(&it, '}', &k, &kn, &iv, &ive);
    if (m < 0) {
        *bad = it.bad;
        return ITEM_MALFORMED;
    }
    if (m == 0 || !op_from_key(k, kn, &r->op) || *iv != '{') return ITEM_SHAPE;
    int64_t status = -1;
    bool have_status = false, status_int = false;
    iter_begin(&in, iv, ive, '{');
    const char *f, *fv, *fve;
    size_t fn;
    int rc;
    while ((rc = iter_next(&in, '}', &f, &fn, &fv, &fve)) == 1) {
        if (key_eq(f, fn, "status")) {
            have_status = true;
            status_int = int_literal(fv, fve, &status);
        } else if (key_eq(f, fn, "_id") && *fv == '"') {
            if (!es_json_scalar_text(fv, fve, a, &r->id)) r->id = NULL;
        } else if (key_eq(f, fn, "error")) {
            if (*fv == '"') {
                if (!es_json_scalar_text(fv, fve, a, &r->reason)) r->reason = NULL;
            } else if (*fv == '{') {
                JsonIter ei;
                const char *ek, *ev, *eve;
                size_t ekn;
                iter_begin(&ei, fv, fve, '{');
                while (iter_next(&ei, '}', &ek, &ekn, &ev, &eve) == 1) {
                    const char **dst = key_eq(ek, ekn, "type")     ? &r->error_type
                                       : key_eq(ek, ekn, "reason") ? &r->reason
                                                                   : NULL;
                    if (dst && *ev == '"' && !es_json_scalar_text(ev, eve, a, dst)) *dst = NULL;
                }
            }
        }
    }
    if (rc < 0) {
        *bad = in.bad;
        return ITEM_MALFORMED;
    }
    /* exactly one key per item */
    if ((m = iter_next(&it, '}', &k, &kn, &iv, &ive)) != 0) {
        *bad = it.bad;
        return m < 0 ? ITEM_MALFORMED : ITEM_SHAPE;
    }
    if (!have_status || !status_int) return ITEM_NO_STATUS;
    if (status < 100 || status > 599) return ITEM_BAD_STATUS;
    r->status = (int)status;
    return ITEM_OK;
}

static bool invalid_json(DipError *err, size_t expected, const char *body, size_t len,
                         const char *bad)
{
    size_t at = bad && bad >= body ? (size_t)(bad - body) : len;
    return dip_error_set(err, DIP_ERR_DATA,
                         "expected a JSON bulk response with %zu items, got %s at byte %zu of "
                         "%zu",
                         expected, len == 0 ? "an empty body" : "invalid JSON", at, len);
}

bool es_bulk_response_parse(const char *body, size_t len, size_t expected, EsBulkResponse *out,
                            DipError *err)
{
    memset(out, 0, sizeof *out);
    arena_init(&out->arena, 16384);
    const char *end = body + len;
    JsonIter root;
    if (!iter_begin(&root, body, end, '{')) {
        const char *p = es_json_skip_ws(body, end);
        const char *pe = p < end ? es_json_value_end(p, end) : NULL;
        bool word =
            pe && (key_eq(p, (size_t)(pe - p), "true") || key_eq(p, (size_t)(pe - p), "false") ||
                   key_eq(p, (size_t)(pe - p), "null") || *p == '[' || *p == '"' || *p == '-' ||
                   (*p >= '0' && *p <= '9'));
        es_bulk_response_free(out);
        if (word && es_json_skip_ws(pe, end) == end)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "expected a JSON object bulk response with %zu items, got "
                                 "another JSON value",
                                 expected);
        return invalid_json(err, expected, body, len, p);
    }
    out->items = arena_calloc(&out->arena, expected ? expected : 1, sizeof *out->items);
    bool saw_items = false, saw_error = false, errors_flag = false, errors_bool = false;
    size_t n = 0;
    const char *k, *v, *ve;
    size_t kn;
    int rc;
    while ((rc = iter_next(&root, '}', &k, &kn, &v, &ve)) == 1) {
        if (key_eq(k, kn, "errors")) {
            errors_bool =
                key_eq(v, (size_t)(ve - v), "true") || key_eq(v, (size_t)(ve - v), "false");
            errors_flag = key_eq(v, (size_t)(ve - v), "true");
        } else if (key_eq(k, kn, "items")) {
            if (saw_items) {
                es_bulk_response_free(out);
                return dip_error_set(err, DIP_ERR_DATA,
                                     "expected a bulk response with one \"items\" array, got two");
            }
            saw_items = true;
            JsonIter arr;
            if (!iter_begin(&arr, v, ve, '[')) {
                saw_items = false;
                continue;
            }
            const char *iv, *ive;
            int ar;
            while ((ar = iter_next(&arr, ']', NULL, NULL, &iv, &ive)) == 1) {
                EsItemResult scratch = {0};
                EsItemResult *r = n < expected ? &out->items[n] : &scratch;
                const char *bad = NULL;
                ItemParse ip = item_parse(iv, ive, &out->arena, r, &bad);
                if (ip == ITEM_OK) {
                    /* a delete of a missing _id is a 404 "not_found" without an error:
                     * the engines leave "errors" false for it */
                    bool not_found = r->op == ES_OP_DELETE && r->status == 404 && !r->error_type;
                    if (r->status >= 300 && !not_found) saw_error = true;
                    n++;
                    continue;
                }
                es_bulk_response_free(out);
                switch (ip) {
                case ITEM_MALFORMED:
                    return invalid_json(err, expected, body, len, bad);
                case ITEM_SHAPE:
                    return dip_error_set(err, DIP_ERR_DATA,
                                         "bulk response item %zu: expected {\"index\"|\"create\"|"
                                         "\"update\"|\"delete\": {...}}",
                                         n);
                case ITEM_NO_STATUS:
                    return dip_error_set(err, DIP_ERR_DATA,
                                         "bulk response item %zu: expected an HTTP status "
                                         "100..599, got none",
                                         n);
                default:
                    return dip_error_set(err, DIP_ERR_DATA,
                                         "bulk response item %zu: expected an HTTP status "
                                         "100..599, got another number",
                                         n);
                }
            }
            if (ar < 0) {
                es_bulk_response_free(out);
                return invalid_json(err, expected, body, len, arr.bad);
            }
        }
    }
    if (rc < 0 || es_json_skip_ws(root.p, end) != end) {
        const char *bad = rc < 0 ? root.bad : es_json_skip_ws(root.p, end);
        es_bulk_response_free(out);
        return invalid_json(err, expected, body, len, bad);
    }
    if (!saw_items) {
        es_bulk_response_free(out);
        return dip_error_set(err, DIP_ERR_DATA,
                             "expected a bulk response with an \"items\" array of %zu items, "
                             "got none",
                             expected);
    }
    if (n != expected) {
        es_bulk_response_free(out);
        return dip_error_set(err, DIP_ERR_DATA,
                             "expected a bulk response with %zu items (one per action sent), "
                             "got %zu",
                             expected, n);
    }
    /* The engines set "errors" when any item failed; a contradiction means the body is not
     * what it claims to be. */
    if (errors_bool && saw_error && !errors_flag) {
        es_bulk_response_free(out);
        return dip_error_set(err, DIP_ERR_DATA,
                             "bulk response says \"errors\":false but holds failed items");
    }
    out->errors = errors_flag;
    out->n_items = n;
    return true;
}

void es_bulk_response_free(EsBulkResponse *r)
{
    arena_free(&r->arena);
    memset(r, 0, sizeof *r);
}

EsItemClass es_item_classify(EsOp op, EsVersionType vt, int status)
{
    if (status >= 200 && status < 300) return ES_ITEM_DONE;
    if (status == 409 && vt != ES_VERSION_NONE) return ES_ITEM_STALE;
    if (status == 404 && op == ES_OP_DELETE) return ES_ITEM_ABSENT;
    if (status == 429 || (status >= 500 && status < 600)) return ES_ITEM_RETRY;
    if (status == 401 || status == 403) return ES_ITEM_FATAL;
    if (status >= 400 && status < 500) return ES_ITEM_DEAD;
    return ES_ITEM_FATAL;
}

void es_error_body_summary(const char *body, size_t len, Buf *out)
{
    json_t *root = len ? json_loadb(body, len, 0, NULL) : NULL;
    json_t *e = root ? json_object_get(root, "error") : NULL;
    if (json_is_object(e)) {
        /* root_cause often says more than the wrapper ("index_not_found_exception") */
        json_t *t = json_object_get(e, "type"), *r = json_object_get(e, "reason");
        buf_printf(out, "%s: %s", json_is_string(t) ? json_string_value(t) : "error",
                   json_is_string(r) ? json_string_value(r) : "(no reason)");
    } else if (json_is_string(e)) {
        buf_append_str(out, json_string_value(e));
    } else if (root && json_is_object(root) && json_is_string(json_object_get(root, "message"))) {
        buf_append_str(out, json_string_value(json_object_get(root, "message")));
    } else if (len == 0) {
        buf_append_str(out, "(empty body)");
    } else {
        size_t n = len < 200 ? len : 200;
        Buf tmp;
        buf_init(&tmp);
        jw_escape_into(&tmp, body, n);
        buf_printf(out, "body \"%s%s\"", buf_cstr(&tmp), len > n ? "..." : "");
        buf_free(&tmp);
    }
    if (root) json_decref(root);
}
