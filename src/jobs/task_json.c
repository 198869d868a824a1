/*
 * task_json.c: the --task JSON (see task_json.h), parsed with jansson.
 */
#include "jobs/task_json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sync_pg_task_free(SyncPgTask *t)
{
    free(t->input);
    free(t->output);
    memset(t, 0, sizeof *t);
}

/* An integer member in [lo, hi]; *present false when the key is absent. */
static bool int_member(json_t *obj, const char *key, long long lo, long long hi, int64_t *out,
                       bool *present, char *errbuf, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    *present = v != NULL;
    if (v == NULL) return true;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        snprintf(errbuf, errlen, "\"%s\": expected an integer in %lld..%lld", key, lo, hi);
        return false;
    }
    *out = (int64_t)json_integer_value(v);
    return true;
}

/* One task object into t (zeroed first). */
static bool parse_task(json_t *obj, SyncPgTask *t, char *errbuf, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->table_version = -1;
    const char *in = obj ? json_string_value(json_object_get(obj, "input_delta_table")) : NULL;
    const char *out = obj ? json_string_value(json_object_get(obj, "output_postgres_table")) : NULL;
    if (in == NULL || out == NULL || !in[0] || !out[0]) {
        snprintf(errbuf, errlen,
                 "expected {\"input_delta_table\": \"...\", "
                 "\"output_postgres_table\": \"...\"}");
        return false;
    }
    int64_t parent = 0, shard = 0, shards = 0, version = -1;
    bool has_parent, has_shard, has_shards, has_version;
    if (!int_member(obj, "parent_run_id", 1, INT64_MAX, &parent, &has_parent, errbuf, errlen) ||
        !int_member(obj, "shards", 1, SYNC_PG_MAX_SHARDS, &shards, &has_shards, errbuf, errlen) ||
        !int_member(obj, "shard", 0, SYNC_PG_MAX_SHARDS - 1, &shard, &has_shard, errbuf, errlen) ||
        !int_member(obj, "table_version", 0, INT64_MAX, &version, &has_version, errbuf, errlen))
        return false;
    if (has_parent || has_shard || has_shards) {
        if (!has_parent || !has_shard || !has_shards || !has_version) {
            snprintf(errbuf, errlen,
                     "a shard task needs \"parent_run_id\", \"shard\", \"shards\" and "
                     "\"table_version\" (print it with dip sync-pg --plan --shards N)");
            return false;
        }
        if (shard >= shards) {
            snprintf(errbuf, errlen, "\"shard\": %lld is not below \"shards\": %lld",
                     (long long)shard, (long long)shards);
            return false;
        }
    }
    json_t *sha = json_object_get(obj, "plan_sha256");
    if (sha) {
        const char *s = json_string_value(sha);
        bool ok = s && strlen(s) == 64;
        for (size_t i = 0; ok && i < 64; i++)
            ok = (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f');
        if (!ok) {
            snprintf(errbuf, errlen, "\"plan_sha256\": expected 64 lowercase hex digits");
            return false;
        }
        memcpy(t->plan_sha256, s, 65);
    }
    t->table_version = has_version ? version : -1;
    t->parent_run_id = has_parent ? parent : 0;
    t->shard = (int)shard;
    t->shards = (int)shards;
    t->input = strdup(in);
    t->output = strdup(out);
    if (t->input == NULL || t->output == NULL) {
        sync_pg_task_free(t);
        snprintf(errbuf, errlen, "out of memory");
        return false;
    }
    return true;
}

bool sync_pg_task_parse_full(const char *text, bool many_shards, SyncPgTask *t, char *errbuf,
                             size_t errlen)
{
    memset(t, 0, sizeof *t);
    json_error_t je;
    json_t *root = json_loads(text, 0, &je);
    if (root == NULL) {
        snprintf(errbuf, errlen, "not JSON: %s (column %d)", je.text, je.column);
        return false;
    }
    bool ok;
    size_t n = json_is_array(root) ? json_array_size(root) : 1;
    if (json_is_array(root) && (n == 0 || (n > 1 && !many_shards))) {
        snprintf(errbuf, errlen,
                 n == 0 ? "expected {\"input_delta_table\": \"...\", "
                          "\"output_postgres_table\": \"...\"}, not an empty list"
                        : "expected {\"input_delta_table\": \"...\", "
                          "\"output_postgres_table\": \"...\"} or a list of one task");
        ok = false;
    } else {
        ok = parse_task(json_is_array(root) ? json_array_get(root, 0) : root, t, errbuf, errlen);
    }
    /* several tasks: one sharded run's, as --plan --shards printed them */
    for (size_t i = 1; ok && i < n; i++) {
        SyncPgTask o;
        ok = parse_task(json_array_get(root, i), &o, errbuf, errlen);
        if (ok && (t->parent_run_id == 0 || o.parent_run_id != t->parent_run_id ||
                   o.shards != t->shards || o.table_version != t->table_version ||
                   strcmp(o.input, t->input) != 0 || strcmp(o.output, t->output) != 0)) {
            snprintf(errbuf, errlen,
                     "task %zu: a list of tasks must be the shard tasks of one sharded run "
                     "(same parent_run_id, shards, table_version, input and output)",
                     i);
            ok = false;
        }
        sync_pg_task_free(&o);
    }
    if (!ok) sync_pg_task_free(t);
    json_decref(root);
    return ok;
}

bool sync_pg_task_parse(const char *text, char **input, char **output, char *errbuf, size_t errlen)
{
    SyncPgTask t;
    if (!sync_pg_task_parse_full(text, false, &t, errbuf, errlen)) return false;
    *input = t.input;
    *output = t.output;
    return true;
}
