/*
 * fuzz_docs_schema.c: libFuzzer target for schema.json (src/docs/schema.c), the file a user
 * hands to `dip sync-es`, and for the transforms and mapping it configures. Each input is
 * parsed; a parsed schema must have at least one document with a root node whose pre-order
 * list starts at the root; then every document gets a document built from its own tree (each
 * field a string with the characters replace rules like, each child an object, an array of
 * two objects or scalar values by its relationship), the transforms run on it, the index
 * mapping is built and the unresolved plan printed. Checks: no crash, no leak, no hang; a
 * refused schema always says why; transforms either succeed or explain.
 *
 * An input starting with '#' is instead a JSON document sent through a Lua plugin that
 * returns it unchanged (src/docs/plugin.c's JSON <-> Lua conversion): it must come back equal
 * (types included: 1 stays 1, 1.0 stays 1.0, [] stays []) or be refused with a reason.
 */
#include "docs/docs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *fuzz_node_value(const DocsNode *n, int k);

static json_t *fuzz_node_object(const DocsNode *n, int k)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n->ncolumns; i++) {
        /* alternate types so concat's Python str() and falsiness paths run too */
        json_t *v;
        switch ((i + (size_t)k) % 5) {
        case 0:
            v = json_string("a-b_c@d 1");
            break;
        case 1:
            v = json_integer((json_int_t)i);
            break;
        case 2:
            v = json_real(2.5e-7 * (double)(i + 1));
            break;
        case 3:
            v = json_null();
            break;
        default:
            v = json_pack("[ss]", "x-y", "z_w");
            break;
        }
        json_object_set_new(o, n->columns[i].output, v);
    }
    for (size_t i = 0; i < n->nchildren; i++)
        json_object_set_new(o, n->children[i]->label, fuzz_node_value(n->children[i], k + 1));
    return o;
}

static json_t *fuzz_node_value(const DocsNode *n, int k)
{
    bool many = n->type == DOCS_REL_ONE_TO_MANY;
    if (n->variant == DOCS_VARIANT_SCALAR)
        return many ? json_pack("[ss]", "en-GB", "fr_FR") : json_string("a-b c");
    if (!many) return fuzz_node_object(n, k);
    json_t *a = json_array();
    json_array_append_new(a, fuzz_node_object(n, k));
    json_array_append_new(a, fuzz_node_object(n, k + 1));
    return a;
}

static char fuzz_dir[] = "/tmp/dip-fuzz-plugin-XXXXXX";
static char fuzz_script[128];

static void fuzz_cleanup(void)
{
    unlink(fuzz_script);
    rmdir(fuzz_dir);
}

/* One plugin state for the whole run, on a passthrough script in a temporary directory
 * (removed at exit; the script is read once, at open). */
static DocsPlugins *fuzz_plugins(void)
{
    static DocsPlugins *p;
    static DocsSchema s;
    if (p) return p;
    if (!mkdtemp(fuzz_dir)) abort();
    char *path = fuzz_script, schema[256];
    snprintf(fuzz_script, sizeof fuzz_script, "%s/pass.lua", fuzz_dir);
    atexit(fuzz_cleanup);
    FILE *f = fopen(path, "w");
    if (!f) abort();
    fputs("return function(doc, meta) return doc end\n", f);
    fclose(f);
    snprintf(schema, sizeof schema,
             "[{\"database\": \"d\", \"plugins\": [\"%s\"], \"nodes\": {\"table\": \"t\"}}]", path);
    DipError err;
    dip_error_clear(&err);
    if (!docs_schema_parse(schema, strlen(schema), "fuzz.json", &s, &err) ||
        !docs_plugins_open(&s, &s.docs[0], 0, &p, &err))
        abort();
    return p;
}

static void fuzz_plugin_round_trip(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return;
    }
    json_t *orig = json_deep_copy(doc);
    DipError err;
    dip_error_clear(&err);
    if (docs_plugins_apply(fuzz_plugins(), &doc, "1", "i", &err)) {
        if (!doc || !json_equal(doc, orig)) abort();
    } else if (err.msg[0] == '\0') {
        abort();
    }
    json_decref(doc);
    json_decref(orig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == '#') {
        fuzz_plugin_round_trip(data + 1, size - 1);
        return 0;
    }
    DocsSchema s;
    DipError err;
    dip_error_clear(&err);
    if (!docs_schema_parse((const char *)data, size, "fuzz.json", &s, &err)) {
        if (err.msg[0] == '\0') abort(); /* a refused schema always says why */
        return 0;
    }
    if (s.ndocs == 0) abort();
    for (size_t i = 0; i < s.ndocs; i++) {
        DocsDocument *d = &s.docs[i];
        if (!d->root || d->nnodes == 0 || d->nodes[0] != d->root) abort();
        json_t *doc = fuzz_node_object(d->root, 0);
        dip_error_clear(&err);
        if (!docs_transform_apply(d, doc, &err) && err.msg[0] == '\0') abort();
        char *text = json_dumps(doc, JSON_COMPACT);
        if (!text) abort(); /* whatever the transforms did, the document stays JSON */
        free(text);
        json_decref(doc);
        json_t *body = NULL;
        if (!docs_mapping_build(d, &body, &err)) abort();
        json_decref(body);
        Buf plan;
        buf_init(&plan);
        docs_schema_plan_text(d, &plan);
        buf_free(&plan);
    }
    docs_schema_free(&s);
    return 0;
}
