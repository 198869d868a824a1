/*
 * task_json.h: parsing the task JSON of `dip sync-pg --task` (the seed's process_task()
 * argument) and of `--finalize --task`. Kept apart from core.h because jansson's json_*
 * names clash with dip's JSON writer.
 */
#ifndef DIP_JOBS_TASK_JSON_H
#define DIP_JOBS_TASK_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNC_PG_MAX_SHARDS 1000

/* One task of `--plan` or `--plan --shards N`. */
typedef struct SyncPgTask {
    char *input;           /* input_delta_table (malloc'ed) */
    char *output;          /* output_postgres_table (malloc'ed) */
    int64_t table_version; /* -1 when absent */
    int64_t parent_run_id; /* the sharded run; 0 = a task without shards */
    int shard;             /* 0 .. shards-1 when parent_run_id > 0 */
    int shards;            /* 0 when not a shard task */
    char plan_sha256[65];  /* "" when absent */
} SyncPgTask;

/* Accepts {"input_delta_table": .., "output_postgres_table": ..} or a one-element list of
 * it. On success *input and *output are malloc'ed; on failure errbuf says why. */
bool sync_pg_task_parse(const char *text, char **input, char **output, char *errbuf, size_t errlen);

/* The same, keeping a shard task's fields: "parent_run_id", "shard", "shards" and
 * "table_version" (integers, all four or none), "plan_sha256" (64 hex digits, optional).
 * With many_shards a list of several shard tasks of one sharded run is accepted too (the
 * whole --plan output, for --finalize) and its first task returned. On failure *t is
 * zeroed and errbuf says why. */
bool sync_pg_task_parse_full(const char *text, bool many_shards, SyncPgTask *t, char *errbuf,
                             size_t errlen);
void sync_pg_task_free(SyncPgTask *t);

#endif
