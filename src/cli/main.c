/*
 * main.c: the dip entry point. Takes the global options (--log-format, --log-level) from
 * anywhere on the command line, then dispatches to the command's file; `dip help` and the man
 * page (`dip help --man`) are made from the commands' own help texts.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DIP_VERSION "0.1.0"

/* The commands: name, the one-line summary of `dip --help`, the help text (cmd_*.c). */
typedef struct CliCommand {
    const char *name;
    const char *synopsis;
    const char *summary;
    const char *help;
} CliCommand;

static const CliCommand COMMANDS[] = {
    {"parquet", "parquet schema|meta|cat|check FILE", "inspect and validate Parquet files",
     cli_help_parquet},
    {"delta", "delta info|files|history|diff|cat URI", "inspect Delta Lake tables (local or s3://)",
     cli_help_delta},
    {"sync-pg", "sync-pg --source URI [--table NAME]", "sync a Delta table into PostgreSQL",
     cli_help_sync_pg},
    {"sync-es", "sync-es --config schema.json ACTION",
     "PostgreSQL -> search indices (PGSync schema)", cli_help_sync_es},
    {"es", "es ping|indices|count|dump|load|...", "Elasticsearch / OpenSearch operations",
     cli_help_es},
};

static const char GLOBAL_OPTIONS[] =
    "global options (before or after the command):\n"
    "  --log-format human|json    log lines for people or for a collector (DIP_LOG_FORMAT)\n"
    "  --log-level debug|info|warn|error\n";

static const char EXIT_CODES[] =
    "exit codes: 0 done, 1 internal error, 2 usage or configuration, 3 bad data or\n"
    "unsupported input, 4 transient failure after retries (retrying later may help),\n"
    "5 not found, 130 interrupted (SIGINT/SIGTERM).\n";

static void usage(FILE *f)
{
    fputs("dip " DIP_VERSION " - Delta Lake -> PostgreSQL -> search, in C\n"
          "\n"
          "usage: dip [--log-format human|json] [--log-level LEVEL] COMMAND ...\n"
          "       dip help [COMMAND]\n"
          "\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < DIP_ARRAY_LEN(COMMANDS); i++)
        fprintf(f, "  %-38s %s\n", COMMANDS[i].synopsis, COMMANDS[i].summary);
    fprintf(f, "  %-38s %s\n", "help [COMMAND]", "this text, or a command's options");
    fprintf(f, "  %-38s %s\n", "version", "print the version");
    fputs("\n", f);
    fputs(GLOBAL_OPTIONS, f);
    fputs("\nRun 'dip help COMMAND' (or 'dip COMMAND --help') for a command's options.\n", f);
    fputs(EXIT_CODES, f);
}

static const CliCommand *find_command(const char *name)
{
    for (size_t i = 0; i < DIP_ARRAY_LEN(COMMANDS); i++)
        if (!strcmp(COMMANDS[i].name, name)) return &COMMANDS[i];
    return NULL;
}

void cli_help_print(FILE *f, const char *family)
{
    const CliCommand *c = find_command(family);
    if (c) fputs(c->help, f);
    fputs("\n", f);
    fputs(GLOBAL_OPTIONS, f);
    fputs(EXIT_CODES, f);
}

/* Text as troff body lines: backslashes escaped, a leading '.' or '\'' made literal. */
static void man_text(FILE *f, const char *text)
{
    bool bol = true;
    for (const char *p = text; *p; p++) {
        if (bol && (*p == '.' || *p == '\'')) fputs("\\&", f);
        if (*p == '\\')
            fputs("\\e", f);
        else if (*p == '-')
            fputs("\\-", f);
        else
            fputc(*p, f);
        bol = *p == '\n';
    }
}

/* The man page, made from the same texts as --help (make man writes it to man/dip.1). */
static void man_page(FILE *f)
{
    fputs(".TH DIP 1 \"\" \"dip " DIP_VERSION "\" \"User Commands\"\n"
          ".SH NAME\n"
          "dip \\- Delta Lake to PostgreSQL to Elasticsearch/OpenSearch data sync\n"
          ".SH SYNOPSIS\n"
          ".nf\n",
          f);
    fputs("dip [\\-\\-log\\-format human|json] [\\-\\-log\\-level LEVEL] COMMAND ...\n", f);
    for (size_t i = 0; i < DIP_ARRAY_LEN(COMMANDS); i++) {
        fputs("dip ", f);
        man_text(f, COMMANDS[i].synopsis);
        fputs("\n", f);
    }
    fputs("dip help [COMMAND]\n.fi\n.SH DESCRIPTION\n", f);
    fputs("dip streams a Delta Lake table (local or S3) into a PostgreSQL gold table with upsert\n"
          "semantics (sync\\-pg), and keeps Elasticsearch or OpenSearch indices in step with\n"
          "PostgreSQL through logical replication, from a PGSync schema.json (sync\\-es). The\n"
          "parquet, delta and es commands inspect what it reads and writes.\n"
          ".SH COMMANDS\n",
          f);
    for (size_t i = 0; i < DIP_ARRAY_LEN(COMMANDS); i++) {
        fputs(".SS dip ", f);
        man_text(f, COMMANDS[i].name);
        fputs("\n", f);
        man_text(f, COMMANDS[i].summary);
        fputs(".\n.PP\n.nf\n", f);
        man_text(f, COMMANDS[i].help);
        fputs(".fi\n", f);
    }
    fputs(".SH OPTIONS\n.nf\n", f);
    man_text(f, GLOBAL_OPTIONS);
    fputs(".fi\n.SH EXIT STATUS\n", f);
    man_text(f, EXIT_CODES);
    fputs(".SH FILES\n"
          "share/dip/examples (example model and schema files), share/dip/airflow (the Airflow\n"
          "operator shim).\n"
          ".SH SEE ALSO\n"
          "The README and docs/ of the source tree: docs/sync\\-pg.md, docs/sync\\-es.md,\n"
          "docs/es.md.\n",
          f);
}

static int help_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--man")) {
        man_page(stdout);
        return 0;
    }
    const CliCommand *c = find_command(argv[1]);
    if (!c) {
        fprintf(stderr, "dip: help: unknown command '%s'\n\n", argv[1]);
        usage(stderr);
        return 2;
    }
    cli_help_print(stdout, c->name);
    return 0;
}

/* --log-format / --log-level, as "--opt VALUE" or "--opt=VALUE": returns the value and how
 * many arguments the option took (0 when argv[i] is not one of them, -1 when the value is
 * missing). */
static int global_option(int argc, char **argv, int i, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(argv[i], name, n) != 0) return 0;
    if (argv[i][n] == '=') {
        *val = argv[i] + n + 1;
        return 1;
    }
    if (argv[i][n] != '\0') return 0;
    if (i + 1 >= argc) return -1;
    *val = argv[i + 1];
    return 2;
}

static bool parse_level(const char *l, DipLogLevel *level)
{
    static const struct {
        const char *name;
        DipLogLevel level;
    } LEVELS[] = {{"debug", DIP_LOG_DEBUG},
                  {"info", DIP_LOG_INFO},
                  {"warn", DIP_LOG_WARN},
                  {"error", DIP_LOG_ERROR}};
    for (size_t i = 0; i < DIP_ARRAY_LEN(LEVELS); i++)
        if (!strcmp(l, LEVELS[i].name)) {
            *level = LEVELS[i].level;
            return true;
        }
    return false;
}

/* Takes the global options out of argv wherever they are (before or after the command), so
 * the command sees only its own. Returns 0, or the exit code of a bad global option. */
static int take_global_options(int *argc, char **argv, DipLogFormat *fmt, DipLogLevel *level)
{
    int out = 1;
    for (int i = 1; i < *argc;) {
        const char *val = NULL;
        int took = global_option(*argc, argv, i, "--log-format", &val);
        if (took < 0) {
            fprintf(stderr, "dip: --log-format needs a value: human or json\n");
            return 2;
        }
        if (took > 0) {
            if (!dip_log_parse_format(val, fmt)) {
                fprintf(stderr, "dip: --log-format %s: expected human or json\n", val);
                return 2;
            }
            i += took;
            continue;
        }
        took = global_option(*argc, argv, i, "--log-level", &val);
        if (took < 0) {
            fprintf(stderr, "dip: --log-level needs a value: debug, info, warn or error\n");
            return 2;
        }
        if (took > 0) {
            if (!parse_level(val, level)) {
                fprintf(stderr, "dip: --log-level %s: expected debug, info, warn or error\n", val);
                return 2;
            }
            i += took;
            continue;
        }
        argv[out++] = argv[i++];
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

int cli_default_threads(void)
{
    int64_t n = 0;
    DipError e = {0};
    if (config_env_int("DIP_THREADS", 0, &n, &e) && n > 0)
        return n > INT32_MAX ? INT32_MAX : (int)n; /* pq_file_set_threads caps it */
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
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
    int rc = take_global_options(&argc, argv, &fmt, &level);
    if (rc) return rc;
    dip_log_init(fmt, level);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    if (!strcmp(cmd, "help")) return help_main(sub_argc, sub_argv);
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        if (argc > 2) {
            fprintf(stderr, "dip: %s takes no argument (got %s)\n", cmd, argv[2]);
            return 2;
        }
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
    dip_install_signal_handlers();
    return fn(sub_argc, sub_argv);
}
