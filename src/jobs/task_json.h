/*
 * task_json.h: parsing the task JSON of `dip sync-pg --task` (the seed's process_task()
 * argument). Kept apart from core.h because jansson's json_* names clash with dip's
 * JSON writer.
 */
#ifndef DIP_JOBS_TASK_JSON_H
#define DIP_JOBS_TASK_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* Accepts {"input_delta_table": .., "output_postgres_table": ..} or a one-element list of
 * it. On success *input and *output are malloc'ed; on failure errbuf says why. */
bool sync_pg_task_parse(const char *text, char **input, char **output, char *errbuf, size_t errlen);

#endif
