/*
 * admin.c: index management (Elasticsearch "Index APIs": create index, delete index, exists,
 * refresh, update mapping; "Aliases API"; "Count API"), each one request through
 * es_request() and judged with es_response_expect(), so a refused call names the host, the
 * request and the engine's error type and reason (an index name the engine refuses comes
 * back as invalid_index_name_exception with the rule it broke).
 *
 * Index names go into paths percent-encoded, so a name with '/', '?' or '#' reaches the
 * engine as a name (and is refused there with the engine's own words), never as another
 * path.
 */
#include "es/es_internal.h"

#include <string.h>

static void path_for(Buf *p, const char *index, const char *suffix)
{
    buf_clear(p);
    buf_append_byte(p, '/');
    http_uri_encode(p, index, strlen(index), false);
    if (suffix) buf_append_str(p, suffix);
}

static bool call_expect(EsClient *c, const char *method, const char *path, const char *body,
                        EsResponse *r, DipError *err)
{
    return es_request(c, method, path, body, body ? strlen(body) : 0, r, err) &&
           es_response_expect(c, method, path, r, err);
}

static bool simple_call(EsClient *c, const char *method, const char *index, const char *suffix,
                        const char *body, DipError *err)
{
    Buf p;
    buf_init(&p);
    path_for(&p, index, suffix);
    EsResponse r;
    es_response_init(&r);
    bool ok = call_expect(c, method, buf_cstr(&p), body, &r, err);
    es_response_free(&r);
    buf_free(&p);
    return ok;
}

bool es_index_create(EsClient *c, const char *index, const char *body, DipError *err)
{
    return simple_call(c, "PUT", index, NULL, body ? body : "{}", err);
}

bool es_index_delete(EsClient *c, const char *index, DipError *err)
{
    return simple_call(c, "DELETE", index, NULL, NULL, err);
}

bool es_index_refresh(EsClient *c, const char *index, DipError *err)
{
    return simple_call(c, "POST", index, "/_refresh", NULL, err);
}

bool es_mapping_put(EsClient *c, const char *index, const char *mapping, DipError *err)
{
    return simple_call(c, "PUT", index, "/_mapping", mapping, err);
}

bool es_index_exists(EsClient *c, const char *index, bool *exists, DipError *err)
{
    Buf p;
    buf_init(&p);
    path_for(&p, index, NULL);
    EsResponse r;
    es_response_init(&r);
    bool ok = es_request(c, "HEAD", buf_cstr(&p), NULL, 0, &r, err);
    if (ok) {
        *exists = r.status == 200;
        if (r.status != 200 && r.status != 404)
            ok = es_response_expect(c, "HEAD", buf_cstr(&p), &r, err);
    }
    es_response_free(&r);
    buf_free(&p);
    return ok;
}

bool es_count(EsClient *c, const char *index, int64_t *count, DipError *err)
{
    Buf p;
    buf_init(&p);
    if (index)
        path_for(&p, index, "/_count");
    else
        buf_append_str(&p, "/_count");
    EsResponse r;
    es_response_init(&r);
    bool ok = call_expect(c, "GET", buf_cstr(&p), NULL, &r, err);
    if (ok) {
        json_t *root = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
        json_t *n = root ? json_object_get(root, "count") : NULL;
        if (json_is_integer(n)) {
            *count = json_integer_value(n);
        } else {
            ok = dip_error_set(err, DIP_ERR_DATA, "%s: GET %s: expected {\"count\": N}, got %s",
                               c->cfg->host, buf_cstr(&p),
                               root ? "JSON without a count" : "no JSON");
        }
        if (root) json_decref(root);
    }
    es_response_free(&r);
    buf_free(&p);
    return ok;
}

bool es_aliases_update(EsClient *c, const EsAliasAction *actions, size_t n, DipError *err)
{
    Buf body;
    buf_init(&body);
    JsonWriter w;
    jw_init(&w, &body);
    jw_obj_begin(&w);
    jw_key(&w, "actions");
    jw_arr_begin(&w);
    for (size_t i = 0; i < n; i++) {
        jw_obj_begin(&w);
        jw_key(&w, actions[i].remove ? "remove" : "add");
        jw_obj_begin(&w);
        jw_key(&w, "index");
        jw_str(&w, actions[i].index);
        jw_key(&w, "alias");
        jw_str(&w, actions[i].alias);
        jw_obj_end(&w);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
    EsResponse r;
    es_response_init(&r);
    bool ok = call_expect(c, "POST", "/_aliases", buf_cstr(&body), &r, err);
    es_response_free(&r);
    buf_free(&body);
    return ok;
}

bool es_alias_swap(EsClient *c, const char *alias, const char *new_index, DipError *err)
{
    Buf p;
    buf_init(&p);
    buf_append_str(&p, "/_alias/");
    http_uri_encode(&p, alias, strlen(alias), false);
    EsResponse r;
    es_response_init(&r);
    bool ok = es_request(c, "GET", buf_cstr(&p), NULL, 0, &r, err);
    json_t *root = NULL;
    if (ok && r.status != 404) {
        ok = es_response_expect(c, "GET", buf_cstr(&p), &r, err);
        if (ok) {
            root = json_loadb((const char *)r.body.data, r.body.len, 0, NULL);
            if (!json_is_object(root))
                ok = dip_error_set(
                    err, DIP_ERR_DATA, "%s: GET %s: expected {INDEX: {\"aliases\": ...}}, got %s",
                    c->cfg->host, buf_cstr(&p), root ? "another JSON value" : "no JSON");
        }
    }
    if (ok) {
        /* every current holder loses the alias and the new index gains it, in one request:
         * searches see either the old index or the new one, never neither */
        size_t n_old = root ? json_object_size(root) : 0;
        EsAliasAction *acts = dip_calloc(n_old + 1, sizeof *acts);
        size_t k = 0;
        const char *idx;
        json_t *v;
        if (root) {
            json_object_foreach(root, idx, v)
            {
                if (strcmp(idx, new_index) != 0) acts[k++] = (EsAliasAction){true, idx, alias};
            }
        }
        acts[k++] = (EsAliasAction){false, new_index, alias};
        ok = es_aliases_update(c, acts, k, err);
        free(acts);
    }
    if (root) json_decref(root);
    es_response_free(&r);
    buf_free(&p);
    return ok;
}
