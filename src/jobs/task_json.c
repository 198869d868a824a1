/*
 * task_json.c: the --task JSON (see task_json.h), parsed with jansson.
 */
#include "jobs/task_json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool sync_pg_task_parse(const char *text, char **input, char **output, char *errbuf, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    if (root == NULL) {
        snprintf(errbuf, errlen, "not JSON: %s (column %d)", je.text, je.column);
        return false;
    }
    json_t *obj = root;
    if (json_is_array(root)) obj = json_array_size(root) == 1 ? json_array_get(root, 0) : NULL;
    const char *in = obj ? json_string_value(json_object_get(obj, "input_delta_table")) : NULL;
    const char *out = obj ? json_string_value(json_object_get(obj, "output_postgres_table")) : NULL;
    if (in == NULL || out == NULL || !in[0] || !out[0]) {
        snprintf(errbuf, errlen,
                 "expected {\"input_delta_table\": \"...\", "
                 "\"output_postgres_table\": \"...\"}");
        json_decref(root);
        return false;
    }
    *input = strdup(in);
    *output = strdup(out);
    json_decref(root);
    return *input && *output;
}
