/*
 * cmd_sync_es.c: `dip sync-es`, argument parsing only; the job is src/jobs/sync_es.c and
 * docs/sync-es.md documents flags, environment and exit codes.
 */
#include "cli/cli.h"
#include "jobs/sync_es.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The command's help: `dip sync-es --help`, `dip help sync-es` and the man page (main.c). */
const char cli_help_sync_es[] =
    "usage: dip sync-es [--config schema.json] ACTION [options]\n"
    "\n"
    "PostgreSQL -> Elasticsearch/OpenSearch with PGSync's schema.json.\n"
    "\n"
    "actions (one):\n"
    "  --validate     check the file against the database, print the plan and statements\n"
    "  --bootstrap    create publication, replication slot, state tables and the index\n"
    "                 INDEX_v1 behind alias INDEX; idempotent, never resets state\n"
    "  --once         bootstrap when needed, then the initial load (resumes where a\n"
    "                 killed load stopped), then the change stream up to the WAL\n"
    "                 position read at start; refreshes the index (all of it\n"
    "                 searchable on return), then exit\n"
    "  --daemon       as --once, then keep streaming changes until SIGTERM (drains,\n"
    "                 exit 0); a second daemon of the index waits as a hot standby\n"
    "  --reindex      build INDEX_v(N+1) from a new slot while INDEX_vN serves, swap the\n"
    "                 alias, drop the old slot and index\n"
    "  --teardown     drop slot, publication and state (the index is kept)\n"
    "\n"
    "options:\n"
    "  --config FILE  schema.json (default: $SCHEMA)\n"
    "  --workers N    load workers (default: the CPU count)\n"
    "  --url URL      search engine (default: ELASTICSEARCH_URL or its parts)\n"
    "  --pgsync-meta  add PGSync's _meta field (the key values of every row a document\n"
    "                 uses, per table) to every document; off by default\n"
    "  --metrics-addr HOST:PORT\n"
    "                 --daemon serves /metrics (Prometheus) and /healthz there (default:\n"
    "                 $DIP_METRICS_ADDR, else 127.0.0.1:9187; 0.0.0.0:9187 for every\n"
    "                 interface; `off` disables); a port in use exits 2\n"
    "\n"
    "environment: .env in the working directory is read first (PGSync's rules; set\n"
    "variables win). PG_HOST, PG_PORT, PG_USER, PG_PASSWORD, PG_SSLMODE, PG_SSLROOTCERT,\n"
    "libpq's PG* variables, DIP_PG_CONNINFO; the database is each document's `database`.\n"
    "DIP_STATE_SCHEMA (dip), DIP_ES_BATCH (2000 roots per range), DIP_ES_TIMEZONE (UTC:\n"
    "the session TimeZone timestamptz values are rendered in), DIP_ES_HEALTHZ_STALE_S\n"
    "(30: /healthz answers 503 when the stream made no progress for that long).\n"
    "Search engine: see docs/es.md (ELASTICSEARCH_URL, ELASTICSEARCH_USER, ...).\n"
    "Exit code 4 also when another run holds the index.\n";

static void usage(FILE *f)
{
    cli_help_print(f, "sync-es");
}

int cmd_sync_es_main(int argc, char **argv)
{
    SyncEsOptions o = {0};
    int actions = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--config") && has_val) {
            o.config = argv[++i];
        } else if (!strcmp(a, "--url") && has_val) {
            o.es_url = argv[++i];
        } else if (!strcmp(a, "--workers") && has_val) {
            int64_t v;
            if (!dip_parse_i64(argv[++i], &v) || v < 1 || v > 256)
                return cli_usage_error("sync-es", "--workers %s: expected 1..256", argv[i]);
            o.workers = (int)v;
        } else if (!strcmp(a, "--metrics-addr") && has_val) {
            o.metrics_addr = argv[++i];
        } else if (!strcmp(a, "--pgsync-meta")) {
            o.pgsync_meta = true;
        } else if (!strcmp(a, "--validate")) {
            o.action = SYNC_ES_VALIDATE;
            actions++;
        } else if (!strcmp(a, "--bootstrap")) {
            o.action = SYNC_ES_BOOTSTRAP;
            actions++;
        } else if (!strcmp(a, "--once")) {
            o.action = SYNC_ES_ONCE;
            actions++;
        } else if (!strcmp(a, "--daemon")) {
            o.action = SYNC_ES_DAEMON;
            actions++;
        } else if (!strcmp(a, "--reindex")) {
            o.action = SYNC_ES_REINDEX;
            actions++;
        } else if (!strcmp(a, "--teardown")) {
            o.action = SYNC_ES_TEARDOWN;
            actions++;
        } else {
            return cli_usage_error("sync-es", "unknown or incomplete option '%s'", a);
        }
    }
    if (actions != 1)
        return cli_usage_error("sync-es", "expected exactly one of --validate, --bootstrap, "
                                          "--once, --daemon, --reindex, --teardown");
    if (o.metrics_addr && o.action != SYNC_ES_DAEMON)
        return cli_usage_error("sync-es", "--metrics-addr is for --daemon only");
    DipError err = {0};
    if (!sync_es_load_dotenv(".env", &err)) return cli_fail(&err);
    if (!o.config) o.config = config_env_str("SCHEMA", NULL);
    if (!o.config || !*o.config)
        return cli_usage_error("sync-es", "no schema: give --config FILE or set SCHEMA");
    int64_t batch;
    if (!config_env_int("DIP_ES_BATCH", 2000, &batch, &err)) return cli_fail(&err);
    if (batch < 1 || batch > 1000000)
        return cli_usage_error("sync-es", "DIP_ES_BATCH=%lld: expected 1..1000000",
                               (long long)batch);
    o.batch = (int)batch;
    if (!sync_es_run(&o, &err)) return cli_fail(&err);
    return 0;
}
