/*
 * dump.c: every document of an index, page by page, for `dip es dump` and for tests that
 * compare an index with what was sent.
 *
 * Elasticsearch (7.12+, so every supported version): a point in time (POST /INDEX/_pit) and
 * search_after on the "_shard_doc" tiebreaker, which is unique within a PIT, so no page
 * overlaps or skips even while documents change. OpenSearch has PIT only from 2.4 and no
 * _shard_doc; there, and wherever opening a PIT is refused, the scroll API does the same
 * job (a consistent snapshot, pages sorted by _doc). Both are closed afterwards so the
 * cluster does not keep the snapshot alive until it times out.
 */
#include "es/es_internal.h"

#include <string.h>

#define DUMP_PAGE 1000

typedef struct DumpState {
    EsClient *c;
    EsDumpFn fn;
    void *ctx;
    int64_t limit;
    int64_t emitted;
    Buf path;
} DumpState;

/* Emits the hits of one page; *n_hits is how many it held; *last is the last hit. */
static bool dump_hits(DumpState *d, json_t *root, size_t *n_hits, json_t **last, DipError *err)
{
    json_t *hits = json_object_get(json_object_get(root, "hits"), "hits");
    if (!json_is_array(hits))
        return dip_error_set(err, DIP_ERR_DATA, "%s: %s: expected hits.hits in the search answer",
                             d->c->cfg->host, buf_cstr(&d->path));
    *n_hits = json_array_size(hits);
    *last = NULL;
    size_t i;
    json_t *h;
    json_array_foreach(hits, i, h)
    {
        if (d->limit >= 0 && d->emitted >= d->limit) return true;
        json_t *id = json_object_get(h, "_id");
        json_t *src = json_object_get(h, "_source");
        if (!json_is_string(id) || !json_is_object(src))
            return dip_error_set(err, DIP_ERR_DATA,
                                 "%s: %s: hit %zu has no _id or no _source object", d->c->cfg->host,
                                 buf_cstr(&d->path), i);
        char *text = json_dumps(src, JSON_COMPACT | JSON_REAL_PRECISION(17));
        if (!text) return dip_error_set(err, DIP_ERR_INTERNAL, "JSON encoding of a hit failed");
        bool ok =
            d->fn(d->ctx, json_string_value(id), json_string_length(id), text, strlen(text), err);
        free(text);
        if (!ok) return false;
        d->emitted++;
        *last = h;
    }
    return true;
}

static bool search_json(DumpState *d, const char *method, const char *path, const char *body,
                        json_t **root, DipError *err)
{
    EsResponse r;
    es_response_init(&r);
    buf_clear(&d->path);
    buf_append_str(&d->path, path);
    bool ok = es_request(d->c, method, path, body, body ? strlen(body) : 0, &r, err) &&
              es_response_expect(d->c, method, path, &r, err);
    if (ok) {
        json_error_t je;
        *root = json_loadb((const char *)r.body.data, r.body.len, 0, &je);
        if (!*root || !json_is_object(*root)) {
            if (*root) json_decref(*root);
            *root = NULL;
            ok = dip_error_set(err, DIP_ERR_DATA, "%s: %s %s: expected a JSON search answer: %s",
                               d->c->cfg->host, method, path, je.text);
        }
    }
    es_response_free(&r);
    return ok;
}

static bool dump_pit(DumpState *d, const char *index, bool *unavailable, DipError *err)
{
    *unavailable = false;
    Buf p;
    buf_init(&p);
    buf_append_byte(&p, '/');
    http_uri_encode(&p, index, strlen(index), false);
    buf_append_str(&p, "/_pit?keep_alive=2m");
    EsResponse r;
    es_response_init(&r);
    bool ok = es_request(d->c, "POST", buf_cstr(&p), NULL, 0, &r, err);
    json_t *pit = NULL;
    if (ok && (r.status == 400 || r.status == 403 || r.status == 405 || r.status == 501 ||
               (r.status == 404 && strstr(buf_cstr(&r.body), "index_not_found") == NULL))) {
        /* no PIT here (privileges, a proxy, an engine without it): scroll instead */
        *unavailable = true;
        ok = false;
    } else if (ok) {
        ok = es_response_expect(d->c, "POST", buf_cstr(&p), &r, err);
        if (ok) {
            pit = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
            if (!json_is_string(json_object_get(pit, "id")))
                ok = dip_error_set(err, DIP_ERR_DATA, "%s: POST %s: expected {\"id\": PIT}",
                                   d->c->cfg->host, buf_cstr(&p));
        }
    }
    es_response_free(&r);
    buf_free(&p);
    if (!ok) {
        if (pit) json_decref(pit);
        return false;
    }
    char *pit_id = dip_strdup(json_string_value(json_object_get(pit, "id")));
    json_decref(pit);
    json_t *after = NULL;
    Buf body;
    buf_init(&body);
    while (ok && (d->limit < 0 || d->emitted < d->limit)) {
        buf_clear(&body);
        JsonWriter w;
        jw_init(&w, &body);
        jw_obj_begin(&w);
        jw_key(&w, "size");
        jw_int(&w, DUMP_PAGE);
        jw_key(&w, "track_total_hits");
        jw_bool(&w, false);
        jw_key(&w, "pit");
        jw_obj_begin(&w);
        jw_key(&w, "id");
        jw_str(&w, pit_id);
        jw_key(&w, "keep_alive");
        jw_str(&w, "2m");
        jw_obj_end(&w);
        jw_key(&w, "sort");
        jw_raw(&w, "[{\"_shard_doc\":\"asc\"}]", 22);
        if (after) {
            char *a = json_dumps(after, JSON_COMPACT);
            jw_key(&w, "search_after");
            jw_raw(&w, a, strlen(a));
            free(a);
            json_decref(after);
            after = NULL;
        }
        jw_obj_end(&w);
        json_t *root = NULL;
        ok = search_json(d, "POST", "/_search", buf_cstr(&body), &root, err);
        if (!ok) break;
        /* the PIT id may change between pages: always send the newest */
        json_t *nid = json_object_get(root, "pit_id");
        if (json_is_string(nid)) {
            free(pit_id);
            pit_id = dip_strdup(json_string_value(nid));
        }
        size_t n = 0;
        json_t *last = NULL;
        ok = dump_hits(d, root, &n, &last, err);
        if (ok && last) {
            after = json_object_get(last, "sort");
            if (!json_is_array(after)) {
                ok = dip_error_set(err, DIP_ERR_DATA,
                                   "%s: POST /_search: expected a sort value on each hit",
                                   d->c->cfg->host);
                after = NULL;
            } else {
                json_incref(after);
            }
        }
        json_decref(root);
        if (n < DUMP_PAGE) break;
    }
    if (after) json_decref(after);
    /* close the PIT even after a failure; a failure to close only leaves it to expire */
    buf_clear(&body);
    JsonWriter w;
    jw_init(&w, &body);
    jw_obj_begin(&w);
    jw_key(&w, "id");
    jw_str(&w, pit_id);
    jw_obj_end(&w);
    EsResponse cr;
    es_response_init(&cr);
    DipError ignored = {0};
    if (!es_request(d->c, "DELETE", "/_pit", buf_cstr(&body), body.len, &cr, &ignored))
        dip_warn("%s: closing the point in time failed: %s", d->c->cfg->host, ignored.msg);
    es_response_free(&cr);
    buf_free(&body);
    free(pit_id);
    return ok;
}

static bool dump_scroll(DumpState *d, const char *index, DipError *err)
{
    Buf p, body;
    buf_init(&p);
    buf_init(&body);
    buf_append_byte(&p, '/');
    http_uri_encode(&p, index, strlen(index), false);
    buf_append_str(&p, "/_search?scroll=2m");
    buf_printf(&body, "{\"size\":%d,\"sort\":[\"_doc\"]}", DUMP_PAGE);
    json_t *root = NULL;
    bool ok = search_json(d, "POST", buf_cstr(&p), buf_cstr(&body), &root, err);
    char *scroll_id = NULL;
    while (ok) {
        json_t *sid = json_object_get(root, "_scroll_id");
        if (json_is_string(sid)) {
            free(scroll_id);
            scroll_id = dip_strdup(json_string_value(sid));
        }
        size_t n = 0;
        json_t *last = NULL;
        ok = dump_hits(d, root, &n, &last, err);
        json_decref(root);
        root = NULL;
        if (!ok || n == 0 || (d->limit >= 0 && d->emitted >= d->limit)) break;
        if (!scroll_id) {
            ok = dip_error_set(err, DIP_ERR_DATA, "%s: scroll answer without _scroll_id",
                               d->c->cfg->host);
            break;
        }
        buf_clear(&body);
        JsonWriter w;
        jw_init(&w, &body);
        jw_obj_begin(&w);
        jw_key(&w, "scroll");
        jw_str(&w, "2m");
        jw_key(&w, "scroll_id");
        jw_str(&w, scroll_id);
        jw_obj_end(&w);
        ok = search_json(d, "POST", "/_search/scroll", buf_cstr(&body), &root, err);
    }
    if (scroll_id) {
        buf_clear(&body);
        JsonWriter w;
        jw_init(&w, &body);
        jw_obj_begin(&w);
        jw_key(&w, "scroll_id");
        jw_str(&w, scroll_id);
        jw_obj_end(&w);
        EsResponse cr;
        es_response_init(&cr);
        DipError ignored = {0};
        if (!es_request(d->c, "DELETE", "/_search/scroll", buf_cstr(&body), body.len, &cr,
                        &ignored))
            dip_warn("%s: clearing the scroll failed: %s", d->c->cfg->host, ignored.msg);
        es_response_free(&cr);
        free(scroll_id);
    }
    buf_free(&p);
    buf_free(&body);
    return ok;
}

bool es_dump(EsClient *c, const char *index, int64_t limit, EsDumpFn fn, void *ctx, DipError *err)
{
    DumpState d = {c, fn, ctx, limit, 0, {0}};
    buf_init(&d.path);
    bool ok;
    if (c->engine.kind == ES_ENGINE_ELASTICSEARCH) {
        bool unavailable = false;
        ok = dump_pit(&d, index, &unavailable, err);
        if (!ok && unavailable) {
            dip_info("%s: point in time unavailable, dumping %s with scroll", c->cfg->host, index);
            ok = dump_scroll(&d, index, err);
        }
    } else {
        ok = dump_scroll(&d, index, err);
    }
    buf_free(&d.path);
    return ok;
}
