/*
 * cli.h: command families of the dip CLI. Each lives in its own cmd_*.c file; main.c only
 * dispatches. A command returns the process exit code (README, "Exit codes").
 */
#ifndef DIP_CLI_H
#define DIP_CLI_H

#include "core/core.h"

#include <stdio.h>

/* argv[0] is the family name ("parquet"), argv[1] the subcommand. */
int cmd_parquet_main(int argc, char **argv);
int cmd_delta_main(int argc, char **argv);
int cmd_sync_pg_main(int argc, char **argv);
int cmd_sync_es_main(int argc, char **argv);
int cmd_es_main(int argc, char **argv);

/* Each command's help text (usage lines, options, environment), defined beside the command.
 * `dip COMMAND --help`, `dip help COMMAND` and the man page (`dip help --man`, man/dip.1) all
 * print these, so they cannot drift apart. */
extern const char cli_help_parquet[];
extern const char cli_help_delta[];
extern const char cli_help_sync_pg[];
extern const char cli_help_sync_es[];
extern const char cli_help_es[];
/* Prints a command's help text and the common footer (global options, exit codes). */
void cli_help_print(FILE *f, const char *family);

/* Prints an error the uniform way (human or JSON log line) and returns its exit code. */
int cli_fail(const DipError *err);
/* Usage error: prints message + hint, returns 2. */
int cli_usage_error(const char *family, const char *fmt, ...) DIP_PRINTF(2, 3);
/* Decoding threads when --threads is absent: DIP_THREADS, else the number of CPUs. */
int cli_default_threads(void);

#endif
