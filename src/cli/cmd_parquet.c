/*
 * cmd_parquet.c: `dip parquet schema|meta|cat|check FILE` (docs/parquet.md).
 *
 * FILE is a local path or an s3://bucket/key URI; it is opened through the store so the
 * same code reads both. cat streams windows of PQ_CAT_WINDOW_ROWS rows (a row-group cursor)
 * and prints canonical NDJSON rows (ROW_FORMAT.md), the next window decoded on --threads workers
 * while one prints; check decodes every page of every column chunk (no JSON) on --threads
 * workers and prints what it verified.
 */
#include "cli/cli.h"
#include "parquet/parquet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The command's help: `dip parquet --help`, `dip help parquet` and the man page (main.c). */
const char cli_help_parquet[] =
    "usage: dip parquet schema FILE\n"
    "       dip parquet meta FILE\n"
    "       dip parquet cat FILE [--columns a,b,...] [--limit N] [--row-group N] [--threads "
    "N]\n"
    "       dip parquet check FILE [--threads N] [--row-group N] [--json]\n"
    "\n"
    "FILE is a local path or s3://bucket/key. cat prints one JSON object per row\n"
    "(canonical row format); check decodes every page of every column, verifies page\n"
    "CRCs where present, and exits non-zero on the first problem.\n"
    "--threads defaults to the number of CPUs (DIP_THREADS overrides). check spreads\n"
    "the column chunks over the threads. cat reads row windows of 4096 rows\n"
    "(DIP_PARQUET_WINDOW_ROWS overrides); with more than one thread the next window is\n"
    "decoded, its columns spread over the threads, while the current one prints.\n";

static void usage(FILE *out)
{
    cli_help_print(out, "parquet");
}

/* Splits FILE into a store root and an object name. */
static bool open_file(const char *arg, Store **st, PqFile **pf, DipError *err)
{
    char *root, *name;
    if (strncmp(arg, "s3://", 5) == 0) {
        const char *slash = strchr(arg + 5, '/');
        if (!slash || !slash[1])
            return dip_error_set(err, DIP_ERR_CONFIG, "%s: expected s3://bucket/key", arg);
        root = dip_strndup(arg, (size_t)(slash - arg));
        name = dip_strdup(slash + 1);
    } else {
        /* the local store accepts absolute names and joins relative ones to "." */
        const char *p = strncmp(arg, "file://", 7) == 0 ? arg + 7 : arg;
        root = dip_strdup(".");
        name = dip_strdup(p);
    }
    bool ok = store_open(st, root, err);
    if (ok) {
        ok = pq_file_open(pf, *st, name, 0, err);
        if (!ok) {
            store_close(*st);
            *st = NULL;
        }
    }
    free(root);
    free(name);
    return ok;
}

static int cmd_cat(PqFile *f, const char *columns, int64_t limit, int only_rg)
{
    DipError err = {0};
    const DipSchema *s = pq_file_schema(f);
    int *cols = NULL, ncols = 0;
    if (columns) {
        cols = dip_calloc((size_t)s->nfields + strlen(columns) + 1, sizeof(int));
        char *copy = dip_strdup(columns);
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            int i = dip_schema_find(s, tok);
            if (i < 0) {
                Buf names;
                buf_init(&names);
                dip_schema_names(s, &names);
                dip_error_set(&err, DIP_ERR_CONFIG,
                              "--columns: %s has no column named '%s'; it has: %s", pq_file_name(f),
                              tok, buf_cstr(&names));
                buf_free(&names);
                free(copy);
                free(cols);
                return cli_fail(&err);
            }
            cols[ncols++] = i;
        }
        free(copy);
    }
    Buf out;
    buf_init(&out);
    JsonWriter w;
    int64_t printed = 0;
    int first = only_rg >= 0 ? only_rg : 0;
    int last = only_rg >= 0 ? only_rg + 1 : pq_file_num_row_groups(f);
    int rc = 0;
    for (int g = first; g < last && rc == 0 && (limit < 0 || printed < limit); g++) {
        PqRowGroupCursor *cur;
        if (!pq_rg_cursor_open(&cur, f, g, cols, cols ? ncols : 0, PQ_CAT_WINDOW_ROWS, &err)) {
            rc = cli_fail(&err);
            break;
        }
        while (limit < 0 || printed < limit) {
            ColumnBatch b;
            bool done;
            if (!pq_rg_cursor_next(cur, &b, &done, &err)) {
                rc = cli_fail(&err);
                break;
            }
            if (done) break;
            for (int64_t r = 0; r < b.num_rows && (limit < 0 || printed < limit); r++, printed++) {
                jw_init(&w, &out);
                column_batch_write_row_json(&w, &b, r);
                buf_append_byte(&out, '\n');
                if (out.len > (1u << 20)) {
                    fwrite(out.data, 1, out.len, stdout);
                    buf_clear(&out);
                }
            }
            column_batch_free(&b);
            if (dip_stop_requested()) {
                dip_error_set(&err, DIP_ERR_INTERRUPTED, "interrupted");
                rc = cli_fail(&err);
                break;
            }
        }
        pq_rg_cursor_close(cur);
    }
    fwrite(out.data ? out.data : (const uint8_t *)"", 1, out.len, stdout);
    fflush(stdout);
    buf_free(&out);
    free(cols);
    return rc;
}

static int cmd_check(PqFile *f, int rg, bool json)
{
    DipError err = {0};
    PqCheckStats st;
    double t0 = dip_now_s();
    bool ok = pq_check(f, rg, &st, &err);
    double dt = dip_now_s() - t0;
    if (!ok) return cli_fail(&err);
    if (dt <= 0) dt = 1e-9;
    if (json) {
        Buf b;
        buf_init(&b);
        JsonWriter w;
        jw_init(&w, &b);
        jw_obj_begin(&w);
        jw_key(&w, "file");
        jw_str(&w, pq_file_name(f));
        jw_key(&w, "ok");
        jw_bool(&w, true);
        jw_key(&w, "rows");
        jw_int(&w, st.rows);
        jw_key(&w, "values");
        jw_int(&w, st.values);
        jw_key(&w, "pages");
        jw_int(&w, st.pages);
        jw_key(&w, "crc_checked_pages");
        jw_int(&w, st.crc_checked);
        jw_key(&w, "compressed_bytes");
        jw_uint(&w, st.compressed_bytes);
        jw_key(&w, "uncompressed_bytes");
        jw_uint(&w, st.uncompressed_bytes);
        jw_key(&w, "seconds");
        jw_double(&w, dt);
        jw_key(&w, "rows_per_s");
        jw_double(&w, (double)(int64_t)((double)st.rows / dt));
        jw_key(&w, "mb_per_s");
        jw_double(&w, (double)st.uncompressed_bytes / dt / 1e6);
        jw_obj_end(&w);
        buf_append_byte(&b, '\n');
        fwrite(b.data, 1, b.len, stdout);
        buf_free(&b);
    } else {
        printf("ok: %s\n"
               "rows: %lld\nvalues: %lld\npages: %lld\ncrc-verified pages: %lld\n"
               "compressed bytes: %llu\nuncompressed bytes: %llu\n"
               "time: %.3f s (%.0f rows/s, %.1f MB/s uncompressed)\n",
               pq_file_name(f), (long long)st.rows, (long long)st.values, (long long)st.pages,
               (long long)st.crc_checked, (unsigned long long)st.compressed_bytes,
               (unsigned long long)st.uncompressed_bytes, dt, (double)st.rows / dt,
               (double)st.uncompressed_bytes / dt / 1e6);
    }
    return 0;
}

int cmd_parquet_main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    const char *file = NULL, *columns = NULL;
    int64_t limit = -1, rg = -1, threads = -1;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int64_t *num = !strcmp(a, "--limit")       ? &limit
                       : !strcmp(a, "--threads")   ? &threads
                       : !strcmp(a, "--row-group") ? &rg
                                                   : NULL;
        if ((num || !strcmp(a, "--columns")) && i + 1 >= argc)
            return cli_usage_error("parquet", "%s needs a value", a);
        if (!strcmp(a, "--columns")) {
            columns = argv[++i];
        } else if (!strncmp(a, "--columns=", 10)) {
            columns = a + 10;
        } else if (num) {
            if (!dip_parse_i64(argv[i + 1], num) || *num < 0)
                return cli_usage_error("parquet", "%s %s: expected a non-negative integer", a,
                                       argv[i + 1]);
            i++;
        } else if (!strcmp(a, "--json")) {
            json = true;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            return cli_usage_error("parquet", "unknown option %s", a);
        } else if (!file) {
            file = a;
        } else {
            return cli_usage_error("parquet", "unexpected argument %s", a);
        }
    }
    if (strcmp(sub, "schema") && strcmp(sub, "meta") && strcmp(sub, "cat") && strcmp(sub, "check"))
        return cli_usage_error("parquet", "unknown subcommand '%s' (schema, meta, cat, check)",
                               sub);
    if (!file) return cli_usage_error("parquet", "%s: missing FILE", sub);
    DipError err = {0};
    Store *st = NULL;
    PqFile *f = NULL;
    if (!open_file(file, &st, &f, &err)) return cli_fail(&err);
    if (rg >= pq_file_num_row_groups(f)) {
        pq_file_close(f);
        store_close(st);
        return cli_usage_error("parquet", "--row-group %lld: the file has %d row groups",
                               (long long)rg, pq_file_num_row_groups(f));
    }
    int rc = 0;
    if (!strcmp(sub, "schema") || !strcmp(sub, "meta")) {
        Buf out;
        buf_init(&out);
        if (!strcmp(sub, "schema"))
            pq_write_schema_text(f, &out);
        else {
            pq_write_meta_json(f, &out);
            buf_append_byte(&out, '\n');
        }
        fwrite(out.data, 1, out.len, stdout);
        buf_free(&out);
    } else if (!strcmp(sub, "cat")) {
        pq_file_set_threads(f, threads > 0 ? (int)threads : cli_default_threads());
        rc = cmd_cat(f, columns, limit, (int)rg);
    } else {
        pq_file_set_threads(f, threads > 0 ? (int)threads : cli_default_threads());
        rc = cmd_check(f, (int)rg, json);
    }
    pq_file_close(f);
    store_close(st);
    return rc;
}
