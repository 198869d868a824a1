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

static bool op_from_key(const char *k, EsOp *op)
{
    for (int i = ES_OP_INDEX; i <= ES_OP_DELETE; i++) {
        if (!strcmp(k, es_op_name((EsOp)i))) {
            *op = (EsOp)i;
            return true;
        }
    }
    return false;
}

bool es_bulk_response_parse(const char *body, size_t len, size_t expected, EsBulkResponse *out,
                            DipError *err)
{
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return dip_error_set(err, DIP_ERR_DATA,
                             "expected a JSON bulk response with %zu items, got %s at byte %d "
                             "of %zu: %s",
                             expected, len == 0 ? "an empty body" : "invalid JSON", jerr.position,
                             len, jerr.text);
    out->root = root;
    if (!json_is_object(root)) {
        es_bulk_response_free(out);
        return dip_error_set(err, DIP_ERR_DATA,
                             "expected a JSON object bulk response with %zu items, got another "
                             "JSON value",
                             expected);
    }
    json_t *items = json_object_get(root, "items");
    if (!json_is_array(items)) {
        es_bulk_response_free(out);
        return dip_error_set(err, DIP_ERR_DATA,
                             "expected a bulk response with an \"items\" array of %zu items, "
                             "got none",
                             expected);
    }
    size_t n = json_array_size(items);
    if (n != expected) {
        es_bulk_response_free(out);
        return dip_error_set(err, DIP_ERR_DATA,
                             "expected a bulk response with %zu items (one per action sent), "
                             "got %zu",
                             expected, n);
    }
    json_t *errors = json_object_get(root, "errors");
    out->errors = json_is_true(errors);
    out->n_items = n;
    out->items = dip_calloc(n ? n : 1, sizeof *out->items);
    bool saw_error = false;
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(items, i);
        const char *key = NULL;
        json_t *val = NULL;
        if (json_is_object(item) && json_object_size(item) == 1) {
            void *it = json_object_iter(item);
            key = json_object_iter_key(it);
            val = json_object_iter_value(it);
        }
        EsItemResult *r = &out->items[i];
        if (!key || !json_is_object(val) || !op_from_key(key, &r->op)) {
            es_bulk_response_free(out);
            return dip_error_set(err, DIP_ERR_DATA,
                                 "bulk response item %zu: expected {\"index\"|\"create\"|"
                                 "\"update\"|\"delete\": {...}}",
                                 i);
        }
        json_t *st = json_object_get(val, "status");
        json_int_t status = json_is_integer(st) ? json_integer_value(st) : -1;
        if (status < 100 || status > 599) {
            /* worded before the free: st lives in the tree */
            const char *got = json_is_integer(st) ? "another number" : "none";
            es_bulk_response_free(out);
            return dip_error_set(err, DIP_ERR_DATA,
                                 "bulk response item %zu: expected an HTTP status 100..599, "
                                 "got %s",
                                 i, got);
        }
        r->status = (int)status;
        json_t *id = json_object_get(val, "_id");
        r->id = json_is_string(id) ? json_string_value(id) : NULL;
        json_t *e = json_object_get(val, "error");
        if (json_is_object(e)) {
            json_t *t = json_object_get(e, "type");
            json_t *rs = json_object_get(e, "reason");
            r->error_type = json_is_string(t) ? json_string_value(t) : NULL;
            r->reason = json_is_string(rs) ? json_string_value(rs) : NULL;
        } else if (json_is_string(e)) {
            r->reason = json_string_value(e);
        }
        if (status >= 300) saw_error = true;
    }
    /* The engines set "errors" when any item failed; a contradiction means the body is not
     * what it claims to be. */
    if (json_is_boolean(errors) && saw_error && !out->errors) {
        es_bulk_response_free(out);
        return dip_error_set(err, DIP_ERR_DATA,
                             "bulk response says \"errors\":false but holds failed items");
    }
    return true;
}

void es_bulk_response_free(EsBulkResponse *r)
{
    if (r->root) json_decref(r->root);
    free(r->items);
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
