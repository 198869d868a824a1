/*
 * mapping.c: the body of the index-create request, as PGSync's SearchClient._create_setting
 * and _build_mapping make it:
 *
 *   - "setting" becomes {"settings": {"index": setting}};
 *   - "mapping" becomes {"mappings": mapping} when it holds "dynamic_templates", otherwise
 *     {"mappings": {"properties": mapping}};
 *   - without "mapping", every node's transform.mapping is collected bottom-up: a node's
 *     fields under "properties", a child's object under its label in its parent's
 *     "properties"; with "routing", the root gets "_routing": {"required": true}. A field
 *     renamed by the node's transform.rename is mapped under its new name; the mapping may
 *     be keyed by either name (PGSync looks up the new name only and fails otherwise);
 *   - "mappings" is used as the whole mappings object when neither of the above gives one.
 *     PGSync wraps it as {"mappings": {"index": mappings}}, which Elasticsearch 7+ and
 *     OpenSearch reject as an unknown root mapping parameter; its own example holds
 *     {"properties": ...} there, so dip sends it as written.
 */
#include "docs/docs_internal.h"

#include <string.h>

/* The mapping object of node n and its subtree (NULL when empty). */
static json_t *node_mapping(const DocsNode *n)
{
    json_t *props = json_object();
    const DocsTransform *t = &n->transform;
    if (t->mapping) {
        const char *key;
        json_t *spec;
        json_object_foreach(t->mapping, key, spec)
        {
            json_t *to = t->rename ? json_object_get(t->rename, key) : NULL;
            const char *column = json_is_string(to) ? json_string_value(to) : key;
            json_t *s = json_object_get(t->mapping, column);
            if (!s) s = spec;
            json_object_set_new(props, column, json_deep_copy(s));
        }
    }
    for (size_t i = 0; i < n->nchildren; i++) {
        json_t *child = node_mapping(n->children[i]);
        if (child) json_object_set_new(props, n->children[i]->label, child);
    }
    if (json_object_size(props) == 0) {
        json_decref(props);
        return NULL;
    }
    json_t *m = json_object();
    json_object_set_new(m, "properties", props);
    return m;
}

bool docs_mapping_build(const DocsDocument *d, json_t **body, DipError *err)
{
    (void)err;
    json_t *b = json_object();
    if (d->setting) {
        json_t *s = json_object();
        json_object_set_new(s, "index", json_deep_copy(d->setting));
        json_object_set_new(b, "settings", s);
    }
    json_t *mappings = NULL;
    if (d->mapping) {
        if (json_object_get(d->mapping, "dynamic_templates")) {
            mappings = json_deep_copy(d->mapping);
        } else {
            mappings = json_object();
            json_object_set_new(mappings, "properties", json_deep_copy(d->mapping));
        }
    } else {
        mappings = node_mapping(d->root);
        if (d->routing) {
            if (!mappings) mappings = json_object();
            json_t *r = json_object();
            json_object_set_new(r, "required", json_true());
            json_object_set_new(mappings, "_routing", r);
        }
    }
    if (!mappings && d->mappings) mappings = json_deep_copy(d->mappings);
    if (mappings) json_object_set_new(b, "mappings", mappings);
    if (json_object_size(b) == 0) {
        json_decref(b);
        b = NULL;
    }
    *body = b;
    return true;
}
