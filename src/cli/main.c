/*
 * main.c: the dip entry point. Parses the global options (--log-format, --log-level) that
 * may appear anywhere before the command family, then dispatches to the family's file.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

/* Families are linked in as they are built; a missing one is reported, not faked. */
extern int cmd_parquet_main(int argc, char **argv) __attribute__((weak));
extern int cmd_delta_main(int argc, char **argv) __attribute__((weak));
extern int cmd_sync_pg_main(int argc, char **argv) __attribute__((weak));
extern int cmd_sync_es_main(int argc, char **argv) __attribute__((weak));
extern int cmd_es_main(int argc, char **argv) __attribute__((weak));

#define DIP_VERSION "0.1.0"

static void usage(FILE *f)
{
    fputs("dip " DIP_VERSION " - Delta Lake -> PostgreSQL -> search, in C\n"
          "\n"
          "usage: dip [--log-format human|json] [--log-level debug|info|warn|error] COMMAND ...\n"
          "\n"
          "commands:\n"
          "  parquet schema|meta|cat|check FILE    inspect and validate Parquet files\n"
          "  delta info|files|history|cat URI      inspect Delta Lake tables (local or s3://)\n"
          "  sync-pg --source URI --table NAME     sync a Delta table into PostgreSQL\n"
          "  es ping|indices|count|dump|load|...   Elasticsearch / OpenSearch operations\n"
          "  sync-es --config schema.json ACTION   PostgreSQL -> search indices (PGSync schema)\n"
          "  version                               print the version\n"
          "\n"
          "Run 'dip COMMAND --help' for a command's options. Exit codes: 0 ok, 1 internal,\n"
          "2 usage/config, 3 bad data or unsupported input, 4 transient failure after retries,\n"
          "5 not found, 130 interrupted.\n",
          f);
}

int cli_fail(const DipError *err)
{
    dip_progress_done();
    const char *kv[] = {"error_kind", dip_error_kind_name(err->kind), NULL};
    dip_log_kv(DIP_LOG_ERROR, kv, "%s", err->msg[0] ? err->msg : "unknown error");
    int code = dip_error_exit_code(err);
    return code ? code : 1;
}

int cli_usage_error(const char *family, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("dip: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'dip %s --help'.\n", family);
    return 2;
}

int main(int argc, char **argv)
{
    DipLogFormat fmt = DIP_LOG_HUMAN;
    DipLogLevel level = DIP_LOG_INFO;
    const char *envfmt = config_env_str("DIP_LOG_FORMAT", NULL);
    if (envfmt && !dip_log_parse_format(envfmt, &fmt)) {
        fprintf(stderr, "dip: DIP_LOG_FORMAT=%s: expected human or json\n", envfmt);
        return 2;
    }
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--log-format") == 0 && i + 1 < argc) {
            if (!dip_log_parse_format(argv[++i], &fmt)) {
                fprintf(stderr, "dip: --log-format %s: expected human or json\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
            const char *l = argv[++i];
            if (!strcmp(l, "debug"))
                level = DIP_LOG_DEBUG;
            else if (!strcmp(l, "info"))
                level = DIP_LOG_INFO;
            else if (!strcmp(l, "warn"))
                level = DIP_LOG_WARN;
            else if (!strcmp(l, "error"))
                level = DIP_LOG_ERROR;
            else {
                fprintf(stderr, "dip: --log-level %s: expected debug, info, warn or error\n", l);
                return 2;
            }
        } else {
            break;
        }
    }
    dip_log_init(fmt, level);
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[i];
    int sub_argc = argc - i;
    char **sub_argv = argv + i;
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        puts("dip " DIP_VERSION);
        return 0;
    }
    int (*fn)(int, char **) = NULL;
    if (!strcmp(cmd, "parquet"))
        fn = cmd_parquet_main;
    else if (!strcmp(cmd, "delta"))
        fn = cmd_delta_main;
    else if (!strcmp(cmd, "sync-pg"))
        fn = cmd_sync_pg_main;
    else if (!strcmp(cmd, "sync-es"))
        fn = cmd_sync_es_main;
    else if (!strcmp(cmd, "es"))
        fn = cmd_es_main;
    else {
        fprintf(stderr, "dip: unknown command '%s'\n\n", cmd);
        usage(stderr);
        return 2;
    }
    if (fn == NULL) {
        fprintf(stderr, "dip: command '%s' is not part of this build\n", cmd);
        return 2;
    }
    dip_install_signal_handlers();
    return fn(sub_argc, sub_argv);
}
