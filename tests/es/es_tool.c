/*
 * es_tool.c: test driver for the bulk writer (not part of dip). Reads one action a line from
 * stdin, {"op", "index", "id", "routing", "pipeline", "version", "version_type", "if_seq_no",
 * "if_primary_term", "source"}, sends them through one EsBulk configured from the environment,
 * and prints "ack SEQ TAG OUTCOME" per acknowledged action (TAG = the input line number) and
 * a closing "stats {...}" line. With --dead-letters, refused items go to PostgreSQL (PG*
 * variables). Exit code as dip's (cli_fail's mapping).
 */
#include "es/es.h"
#include "jobs/es_dead_letters.h"
#include "pg/pg.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_ack(void *ctx, uint64_t seq, uint64_t tag, EsOutcome o)
{
    printf("ack %llu %llu %s\n", (unsigned long long)seq, (unsigned long long)tag,
           es_outcome_name(o));
}

static const char *str_or_null(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int main(int argc, char **argv)
{
    dip_log_init(DIP_LOG_HUMAN, DIP_LOG_INFO);
    bool dead = argc > 1 && !strcmp(argv[1], "--dead-letters");
    EsConfig cfg;
    DipError err = {0};
    EsClient *c = NULL;
    PgConn pg = {0};
    EsBulk *b = NULL;
    int rc = 0;
    if (!es_config_from_env(&cfg, &err) || !es_open(&cfg, &c, &err)) goto fail;
    if (dead) {
        PgSettings s;
        if (!pg_settings_from_env(&s, &err) || !pg_connect_retry(&pg, &s, &err) ||
            !es_dead_letters_init(&pg, &err))
            goto fail;
    }
    EsBulkOptions opt = {on_ack, NULL, dead ? es_dead_letters_store : NULL, dead ? &pg : NULL};
    if (!es_bulk_open(c, &opt, &b, &err)) goto fail;
    char *line = NULL;
    size_t cap = 0;
    uint64_t lineno = 0;
    bool ok = true;
    while (ok && getline(&line, &cap, stdin) >= 0) {
        lineno++;
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!o) {
            dip_error_set(&err, DIP_ERR_DATA, "line %llu: %s", (unsigned long long)lineno, je.text);
            ok = false;
            break;
        }
        EsAction a = {0};
        const char *op = str_or_null(o, "op");
        a.op = !op || !strcmp(op, "index") ? ES_OP_INDEX
               : !strcmp(op, "create")     ? ES_OP_CREATE
               : !strcmp(op, "update")     ? ES_OP_UPDATE
                                           : ES_OP_DELETE;
        a.index = str_or_null(o, "index");
        a.id = str_or_null(o, "id");
        a.routing = str_or_null(o, "routing");
        a.pipeline = str_or_null(o, "pipeline");
        const char *vt = str_or_null(o, "version_type");
        if (vt) {
            a.version_type =
                !strcmp(vt, "external") ? ES_VERSION_EXTERNAL : ES_VERSION_EXTERNAL_GTE;
            a.version = json_integer_value(json_object_get(o, "version"));
        }
        if (json_is_integer(json_object_get(o, "if_primary_term"))) {
            a.if_primary_term = json_integer_value(json_object_get(o, "if_primary_term"));
            a.if_seq_no = json_integer_value(json_object_get(o, "if_seq_no"));
        }
        char *src = NULL;
        json_t *s = json_object_get(o, "source");
        if (s) {
            src = json_dumps(s, JSON_COMPACT);
            a.source = src;
            a.source_len = strlen(src);
        }
        ok = es_bulk_add(b, &a, lineno, NULL, &err);
        free(src);
        json_decref(o);
    }
    free(line);
    if (ok) ok = es_bulk_flush(b, &err);
    const EsBulkStats *st = es_bulk_stats(b);
    printf("stats {\"added\":%llu,\"acked_through\":%llu,\"done\":%llu,\"stale\":%llu,"
           "\"absent\":%llu,\"dead_letters\":%llu,\"requests\":%llu,\"item_retries\":%llu,"
           "\"request_retries\":%llu,\"splits\":%llu,\"bytes_raw\":%llu,\"bytes_sent\":%llu,"
           "\"max_in_flight\":%d}\n",
           (unsigned long long)st->added, (unsigned long long)es_bulk_acked_through(b),
           (unsigned long long)st->done, (unsigned long long)st->stale,
           (unsigned long long)st->absent, (unsigned long long)st->dead_letters,
           (unsigned long long)st->requests, (unsigned long long)st->item_retries,
           (unsigned long long)st->request_retries, (unsigned long long)st->splits,
           (unsigned long long)st->bytes_raw, (unsigned long long)st->bytes_sent,
           st->max_in_flight_seen);
    if (!ok) goto fail;
    goto out;
fail:
    fprintf(stderr, "es_tool: %s\n", err.msg);
    rc = dip_error_exit_code(&err);
    if (!rc) rc = 1;
out:
    fflush(stdout);
    es_bulk_close(b);
    es_close(c);
    if (dead && pg.conn) pg_close(&pg);
    es_config_free(&cfg);
    return rc;
}
