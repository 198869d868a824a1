/*
 * cmd_delta.c: `dip delta info|files|history|cat URI` — argument parsing and output only;
 * the reading is in src/delta/. Rows are NDJSON per ../shared/ROW_FORMAT.md.
 */
#include "cli/cli.h"
#include "delta/delta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct DeltaArgs {
    const char *sub;
    const char *uri;
    int64_t version;      /* -1 latest */
    int64_t timestamp_ms; /* -1 none */
    const char *columns;  /* comma-separated logical names */
    int64_t limit;        /* -1 none */
    bool json;
    bool count;   /* cat: print the row count instead of rows */
    int64_t from; /* diff: V1 */
    int64_t to;   /* diff: V2 (-1 latest) */
    int threads;  /* cat: decoding threads (0: cli_default_threads) */
} DeltaArgs;

/* The command's help: `dip delta --help`, `dip help delta` and the man page (main.c). */
const char cli_help_delta[] =
    "usage: dip delta info URI [--version N | --timestamp T] [--json]\n"
    "       dip delta files URI [--version N | --timestamp T] [--json]\n"
    "       dip delta history URI [--json]\n"
    "       dip delta diff URI --from V1 [--to V2] [--json]\n"
    "       dip delta cat URI [--version N | --timestamp T] [--columns a,b,..] "
    "[--limit N] [--count] [--threads N]\n"
    "\n"
    "URI is a local path, file://PATH or s3://bucket/prefix. T is milliseconds since the\n"
    "epoch or 'YYYY-MM-DD[ T]HH:MM:SS[.ffffff][Z]' (UTC). cat prints one JSON object per\n"
    "row (logical column names, partition columns included, deleted rows removed);\n"
    "--count reads and decodes the same rows but prints only their number. With\n"
    "--threads above 1 (default: DIP_THREADS, else the number of CPUs) the next window\n"
    "of rows is decoded, its columns spread over the threads, while one prints.\n";

static void usage(FILE *f)
{
    cli_help_print(f, "delta");
}

static bool parse_timestamp_arg(const char *s, int64_t *ms)
{
    int64_t v;
    if (dip_parse_i64(s, &v)) {
        *ms = v;
        return v >= 0;
    }
    /* a timestamp with microseconds still includes the commit of that ms */
    return delta_timestamp_parse_ms(s, ms) && *ms >= 0;
}

static int parse_args(int argc, char **argv, DeltaArgs *a)
{
    memset(a, 0, sizeof *a);
    a->version = -1;
    a->timestamp_ms = -1;
    a->limit = -1;
    a->from = -1;
    a->to = -1;
    if (argc < 2) {
        usage(stderr); /* as `dip parquet` alone does */
        return 2;
    }
    a->sub = argv[1];
    if (!strcmp(a->sub, "--help") || !strcmp(a->sub, "-h") || !strcmp(a->sub, "help")) {
        usage(stdout);
        return 0;
    }
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(o, "--json")) {
            a->json = true;
        } else if (!strcmp(o, "--count")) {
            a->count = true;
        } else if (!strcmp(o, "--version") || !strcmp(o, "--limit") || !strcmp(o, "--from") ||
                   !strcmp(o, "--to")) {
            int64_t v;
            if (!val || !dip_parse_i64(val, &v) || v < 0)
                return cli_usage_error("delta", "%s needs a non-negative integer", o);
            if (!strcmp(o, "--version"))
                a->version = v;
            else if (!strcmp(o, "--limit"))
                a->limit = v;
            else if (!strcmp(o, "--from"))
                a->from = v;
            else
                a->to = v;
            i++;
        } else if (!strcmp(o, "--threads")) {
            int64_t v;
            if (!val || !dip_parse_i64(val, &v) || v < 1 || v > 64)
                return cli_usage_error("delta", "--threads needs a number from 1 to 64");
            a->threads = (int)v;
            i++;
        } else if (!strcmp(o, "--timestamp")) {
            if (!val || !parse_timestamp_arg(val, &a->timestamp_ms))
                return cli_usage_error("delta", "--timestamp needs milliseconds since the "
                                                "epoch or YYYY-MM-DD HH:MM:SS[.ffffff][Z]");
            i++;
        } else if (!strcmp(o, "--columns")) {
            if (!val) return cli_usage_error("delta", "--columns needs a comma-separated list");
            a->columns = val;
            i++;
        } else if (o[0] == '-' && o[1] == '-') {
            return cli_usage_error("delta", "unknown option %s", o);
        } else if (!a->uri) {
            a->uri = o;
        } else {
            return cli_usage_error("delta", "unexpected argument %s", o);
        }
    }
    if (!a->uri) return cli_usage_error("delta", "missing table URI");
    if (a->version >= 0 && a->timestamp_ms >= 0)
        return cli_usage_error("delta", "--version and --timestamp exclude each other");
    return -1;
}

static void flush_buf(Buf *b)
{
    if (b->len) fwrite(b->data, 1, b->len, stdout);
    buf_clear(b);
}

static void format_ts_ms(int64_t ms, char out[40])
{
    dip_format_ts_us(ms * 1000, out);
}

/* ---------------------------------------------------------------- info */

/* What `delta info` reports about one snapshot, gathered once for both output forms. */
typedef struct InfoFacts {
    const DeltaSnapshot *s;
    int64_t ldts;
    DeltaLdtsSource src;
    char ts[40];
    uint64_t bytes;
    int64_t rows;        /* from the files' stats, deletion vectors subtracted */
    size_t rows_unknown; /* files without numRecords */
    const char *ckind;
    int64_t cv;
    const DipSchema *schema;
} InfoFacts;

static void info_facts(const DeltaSnapshot *s, InfoFacts *f)
{
    memset(f, 0, sizeof *f);
    f->s = s;
    f->ldts = delta_snapshot_ldts_us(s, &f->src);
    dip_format_ts_us(f->ldts, f->ts);
    for (size_t i = 0; i < delta_snapshot_num_files(s); i++) {
        const DeltaAddFile *a = delta_snapshot_file(s, i);
        f->bytes += (uint64_t)(a->size > 0 ? a->size : 0);
        if (a->num_records < 0)
            f->rows_unknown++;
        else
            f->rows += a->num_records - (a->has_dv ? a->dv.cardinality : 0);
    }
    f->cv = delta_snapshot_checkpoint_version(s, &f->ckind);
    f->schema = delta_snapshot_schema(s);
}

static void info_json(Store *st, const InfoFacts *in, Buf *out, Buf *tn)
{
    const DeltaSnapshot *s = in->s;
    const DipSchema *schema = in->schema;
    int64_t ldts = in->ldts, cv = in->cv, rows = in->rows;
    const char *ts = in->ts, *ckind = in->ckind;
    DeltaLdtsSource src = in->src;
    uint64_t bytes = in->bytes;
    size_t rows_unknown = in->rows_unknown;
    JsonWriter w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "table");
    jw_str(&w, store_uri(st));
    jw_key(&w, "version");
    jw_int(&w, delta_snapshot_version(s));
    jw_key(&w, "ldts");
    jw_str(&w, ts);
    jw_key(&w, "ldts_us");
    jw_int(&w, ldts);
    jw_key(&w, "ldts_source");
    jw_str(&w, delta_ldts_source_name(src));
    jw_key(&w, "checkpoint_version");
    if (cv >= 0)
        jw_int(&w, cv);
    else
        jw_null(&w);
    jw_key(&w, "checkpoint_kind");
    if (ckind)
        jw_str(&w, ckind);
    else
        jw_null(&w);
    jw_key(&w, "min_reader_version");
    jw_int(&w, delta_snapshot_min_reader_version(s));
    jw_key(&w, "min_writer_version");
    jw_int(&w, delta_snapshot_min_writer_version(s));
    jw_key(&w, "reader_features");
    jw_arr_begin(&w);
    for (int i = 0; i < delta_snapshot_num_reader_features(s); i++)
        jw_str(&w, delta_snapshot_reader_feature(s, i));
    jw_arr_end(&w);
    jw_key(&w, "writer_features");
    jw_arr_begin(&w);
    for (int i = 0; i < delta_snapshot_num_writer_features(s); i++)
        jw_str(&w, delta_snapshot_writer_feature(s, i));
    jw_arr_end(&w);
    jw_key(&w, "column_mapping");
    jw_str(&w, delta_snapshot_column_mapping_mode(s));
    jw_key(&w, "schema");
    jw_arr_begin(&w);
    for (int i = 0; i < schema->nfields; i++) {
        jw_obj_begin(&w);
        jw_key(&w, "name");
        jw_str(&w, schema->fields[i].name);
        buf_clear(tn);
        dip_type_format(&schema->fields[i].type, tn);
        jw_key(&w, "type");
        jw_str(&w, buf_cstr(tn));
        jw_key(&w, "nullable");
        jw_bool(&w, schema->fields[i].nullable);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_key(&w, "partition_columns");
    jw_arr_begin(&w);
    for (int i = 0; i < delta_snapshot_num_partition_columns(s); i++)
        jw_str(&w, delta_snapshot_partition_column(s, i));
    jw_arr_end(&w);
    jw_key(&w, "num_files");
    jw_uint(&w, delta_snapshot_num_files(s));
    jw_key(&w, "bytes");
    jw_uint(&w, bytes);
    jw_key(&w, "rows");
    if (rows_unknown)
        jw_null(&w);
    else
        jw_int(&w, rows);
    jw_key(&w, "files_without_stats");
    jw_uint(&w, rows_unknown);
    jw_obj_end(&w);
    buf_append_byte(out, '\n');
}

static void info_text(Store *st, const InfoFacts *in, Buf *out, Buf *tn)
{
    const DeltaSnapshot *s = in->s;
    const DipSchema *schema = in->schema;
    int64_t cv = in->cv, rows = in->rows;
    const char *ts = in->ts, *ckind = in->ckind;
    DeltaLdtsSource src = in->src;
    uint64_t bytes = in->bytes;
    size_t rows_unknown = in->rows_unknown;
    buf_printf(out, "table:             %s\n", store_uri(st));
    buf_printf(out, "version:           %lld\n", (long long)delta_snapshot_version(s));
    buf_printf(out, "ldts:              %s (%s)\n", ts, delta_ldts_source_name(src));
    if (cv >= 0)
        buf_printf(out, "checkpoint:        %lld (%s)\n", (long long)cv, ckind);
    else
        buf_printf(out, "checkpoint:        none\n");
    buf_printf(out, "protocol:          reader %d, writer %d\n",
               delta_snapshot_min_reader_version(s), delta_snapshot_min_writer_version(s));
    buf_printf(out, "reader features:   ");
    for (int i = 0; i < delta_snapshot_num_reader_features(s); i++)
        buf_printf(out, "%s%s", i ? ", " : "", delta_snapshot_reader_feature(s, i));
    buf_printf(out, "%s\nwriter features:   ", delta_snapshot_num_reader_features(s) ? "" : "-");
    for (int i = 0; i < delta_snapshot_num_writer_features(s); i++)
        buf_printf(out, "%s%s", i ? ", " : "", delta_snapshot_writer_feature(s, i));
    buf_printf(out, "%s\n", delta_snapshot_num_writer_features(s) ? "" : "-");
    buf_printf(out, "column mapping:    %s\n", delta_snapshot_column_mapping_mode(s));
    buf_printf(out, "partition columns: ");
    for (int i = 0; i < delta_snapshot_num_partition_columns(s); i++)
        buf_printf(out, "%s%s", i ? ", " : "", delta_snapshot_partition_column(s, i));
    buf_printf(out, "%s\n", delta_snapshot_num_partition_columns(s) ? "" : "-");
    buf_printf(out, "files:             %zu\n", delta_snapshot_num_files(s));
    buf_printf(out, "bytes:             %llu\n", (unsigned long long)bytes);
    if (rows_unknown)
        buf_printf(out,
                   "rows (stats):      unknown (%zu files without numRecords; %lld "
                   "in the others)\n",
                   rows_unknown, (long long)rows);
    else
        buf_printf(out, "rows (stats):      %lld\n", (long long)rows);
    buf_printf(out, "schema:\n");
    for (int i = 0; i < schema->nfields; i++) {
        buf_clear(tn);
        dip_type_format(&schema->fields[i].type, tn);
        buf_printf(out, "  %s: %s%s\n", schema->fields[i].name, buf_cstr(tn),
                   schema->fields[i].nullable ? "" : " not null");
    }
}

static int cmd_info(Store *st, const DeltaArgs *a)
{
    DipError err = {0};
    DeltaSnapshot *s;
    if (!delta_snapshot_open(&s, st, a->version, a->timestamp_ms, &err)) return cli_fail(&err);
    InfoFacts f;
    info_facts(s, &f);
    Buf out, tn;
    buf_init(&out);
    buf_init(&tn);
    if (a->json)
        info_json(st, &f, &out, &tn);
    else
        info_text(st, &f, &out, &tn);
    flush_buf(&out);
    buf_free(&out);
    buf_free(&tn);
    delta_snapshot_free(s);
    return 0;
}

/* ---------------------------------------------------------------- files */

static int cmd_files(Store *st, const DeltaArgs *a)
{
    DipError err = {0};
    DeltaSnapshot *s;
    if (!delta_snapshot_open(&s, st, a->version, a->timestamp_ms, &err)) return cli_fail(&err);
    Buf out;
    buf_init(&out);
    int np = delta_snapshot_num_partition_columns(s);
    Buf id;
    buf_init(&id);
    for (size_t i = 0; i < delta_snapshot_num_files(s); i++) {
        const DeltaAddFile *f = delta_snapshot_file(s, i);
        if (a->json) {
            JsonWriter w;
            jw_init(&w, &out);
            jw_obj_begin(&w);
            jw_key(&w, "path");
            jw_str(&w, f->path);
            jw_key(&w, "size");
            jw_int(&w, f->size);
            jw_key(&w, "modification_time");
            jw_int(&w, f->modification_time);
            jw_key(&w, "num_records");
            if (f->num_records >= 0)
                jw_int(&w, f->num_records);
            else
                jw_null(&w);
            jw_key(&w, "partition_values");
            jw_obj_begin(&w);
            for (int k = 0; k < np; k++) {
                jw_key(&w, delta_snapshot_partition_column(s, k));
                if (f->partition_values[k])
                    jw_str(&w, f->partition_values[k]);
                else
                    jw_null(&w);
            }
            jw_obj_end(&w);
            jw_key(&w, "deletion_vector");
            if (f->has_dv) {
                buf_clear(&id);
                delta_dv_unique_id(&f->dv, &id);
                jw_obj_begin(&w);
                jw_key(&w, "unique_id");
                jw_str(&w, buf_cstr(&id));
                jw_key(&w, "cardinality");
                jw_int(&w, f->dv.cardinality);
                jw_obj_end(&w);
            } else {
                jw_null(&w);
            }
            jw_obj_end(&w);
            buf_append_byte(&out, '\n');
        } else {
            buf_printf(&out, "%s\t%lld\t", f->path, (long long)f->size);
            if (f->num_records >= 0)
                buf_printf(&out, "%lld", (long long)f->num_records);
            else
                buf_append_str(&out, "-");
            if (f->has_dv)
                buf_printf(&out, "\tdv:%c:%lld", f->dv.storage_type, (long long)f->dv.cardinality);
            else
                buf_append_str(&out, "\t-");
            for (int k = 0; k < np; k++)
                buf_printf(&out, "\t%s=%s", delta_snapshot_partition_column(s, k),
                           f->partition_values[k] ? f->partition_values[k] : "<null>");
            buf_append_byte(&out, '\n');
        }
        if (out.len > (1 << 20)) flush_buf(&out);
    }
    flush_buf(&out);
    buf_free(&out);
    buf_free(&id);
    delta_snapshot_free(s);
    return 0;
}

/* ---------------------------------------------------------------- history */

typedef struct HistoryOut {
    const DeltaArgs *a;
    Buf out;
} HistoryOut;

static bool history_line(void *ctx, const DeltaHistoryEntry *e, DipError *err)
{
    (void)err;
    HistoryOut *h = ctx;
    if (e->checkpoint) {
        if (!h->a->json)
            buf_printf(&h->out, "%lld\tcheckpoint\t%s\n", (long long)e->version, e->file);
        return true;
    }
    char ts[40];
    format_ts_ms(e->timestamp_ms, ts);
    if (h->a->json) {
        JsonWriter w;
        jw_init(&w, &h->out);
        jw_obj_begin(&w);
        jw_key(&w, "version");
        jw_int(&w, e->version);
        jw_key(&w, "timestamp");
        jw_str(&w, ts);
        jw_key(&w, "timestamp_source");
        jw_str(&w, delta_ldts_source_name(e->timestamp_source));
        jw_key(&w, "operation");
        if (e->operation)
            jw_str(&w, e->operation);
        else
            jw_null(&w);
        jw_key(&w, "file");
        jw_str(&w, e->file);
        jw_obj_end(&w);
        buf_append_byte(&h->out, '\n');
    } else {
        buf_printf(&h->out, "%lld\t%s\t%s\t%s\n", (long long)e->version, ts,
                   delta_ldts_source_name(e->timestamp_source), e->operation ? e->operation : "-");
    }
    if (h->out.len > (1 << 20)) flush_buf(&h->out);
    return true;
}

static int cmd_history(Store *st, const DeltaArgs *a)
{
    DipError err = {0};
    HistoryOut h = {.a = a};
    buf_init(&h.out);
    /* newest first, like `DESCRIBE HISTORY` */
    bool ok = delta_history(st, history_line, &h, &err);
    flush_buf(&h.out);
    buf_free(&h.out);
    return ok ? 0 : cli_fail(&err);
}

/* ---------------------------------------------------------------- diff */

static void diff_lines(Buf *out, const char *sign, const DeltaAddFile *f, size_t n, bool json)
{
    Buf id;
    buf_init(&id);
    for (size_t i = 0; i < n; i++) {
        if (json) {
            JsonWriter w;
            jw_init(&w, out);
            jw_obj_begin(&w);
            jw_key(&w, "change");
            jw_str(&w, sign[0] == '+' ? "added" : "removed");
            jw_key(&w, "path");
            jw_str(&w, f[i].path);
            jw_key(&w, "size");
            jw_int(&w, f[i].size);
            jw_key(&w, "deletion_vector");
            if (f[i].has_dv) {
                buf_clear(&id);
                delta_dv_unique_id(&f[i].dv, &id);
                jw_str(&w, buf_cstr(&id));
            } else {
                jw_null(&w);
            }
            jw_obj_end(&w);
            buf_append_byte(out, '\n');
        } else {
            buf_printf(out, "%s %s", sign, f[i].path);
            if (f[i].has_dv) {
                buf_clear(&id);
                delta_dv_unique_id(&f[i].dv, &id);
                buf_printf(out, "\tdv=%s", buf_cstr(&id));
            }
            buf_append_byte(out, '\n');
        }
    }
    buf_free(&id);
}

static int cmd_diff(Store *st, const DeltaArgs *a)
{
    if (a->from < 0) return cli_usage_error("delta", "diff needs --from V1");
    DipError err = {0};
    int64_t to = a->to;
    if (to < 0) {
        if (!delta_latest_version(st, &to, &err)) return cli_fail(&err);
    }
    DeltaDiff d;
    if (!delta_snapshot_diff(st, a->from, to, &d, &err)) return cli_fail(&err);
    Buf out;
    buf_init(&out);
    diff_lines(&out, "-", d.removed, d.n_removed, a->json);
    diff_lines(&out, "+", d.added, d.n_added, a->json);
    flush_buf(&out);
    buf_free(&out);
    delta_diff_free(&d);
    return 0;
}

/* ---------------------------------------------------------------- cat */

static int cmd_cat(Store *st, const DeltaArgs *a)
{
    DipError err = {0};
    DeltaSnapshot *s;
    if (!delta_snapshot_open(&s, st, a->version, a->timestamp_ms, &err)) return cli_fail(&err);
    const DipSchema *schema = delta_snapshot_schema(s);
    int *cols = NULL;
    int ncols = 0;
    if (a->columns) {
        cols = dip_calloc((size_t)schema->nfields + 1, sizeof(int));
        char *list = dip_strdup(a->columns);
        char *save = NULL;
        for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            int idx = dip_schema_find(schema, tok);
            if (idx < 0) {
                Buf names;
                buf_init(&names);
                dip_schema_names(schema, &names);
                dip_error_set(&err, DIP_ERR_CONFIG,
                              "--columns: no column named '%s'; the table has: %s", tok,
                              buf_cstr(&names));
                buf_free(&names);
                free(list);
                free(cols);
                delta_snapshot_free(s);
                return cli_fail(&err);
            }
            if (ncols < schema->nfields) cols[ncols++] = idx;
        }
        free(list);
    }
    Buf out;
    buf_init(&out);
    int64_t emitted = 0;
    int rc = 0;
    int threads = a->threads > 0 ? a->threads : cli_default_threads();
    for (size_t i = 0; i < delta_snapshot_num_files(s) && rc == 0; i++) {
        if (a->limit >= 0 && emitted >= a->limit) break;
        DeltaFileScan *scan;
        if (!delta_file_scan_open(&scan, s, delta_snapshot_file(s, i), cols, cols ? ncols : 0,
                                  &err)) {
            rc = cli_fail(&err);
            break;
        }
        delta_file_scan_set_threads(scan, threads);
        for (;;) {
            ColumnBatch b;
            bool done = false;
            column_batch_init(&b);
            if (!delta_file_scan_next(scan, &b, &done, &err)) {
                column_batch_free(&b);
                rc = cli_fail(&err);
                break;
            }
            if (done) {
                column_batch_free(&b);
                break;
            }
            if (a->count) {
                int64_t take = b.num_rows;
                if (a->limit >= 0 && take > a->limit - emitted) take = a->limit - emitted;
                emitted += take;
                column_batch_free(&b);
                if (a->limit >= 0 && emitted >= a->limit) break;
                continue;
            }
            JsonWriter w;
            for (int64_t r = 0; r < b.num_rows; r++) {
                if (a->limit >= 0 && emitted >= a->limit) break;
                jw_init(&w, &out);
                column_batch_write_row_json(&w, &b, r);
                buf_append_byte(&out, '\n');
                emitted++;
                if (out.len > (1 << 20)) flush_buf(&out);
            }
            column_batch_free(&b);
            if ((a->limit >= 0 && emitted >= a->limit) || dip_stop_requested()) break;
        }
        delta_file_scan_close(scan);
        if (rc == 0 && dip_stop_requested()) {
            dip_error_set(&err, DIP_ERR_INTERRUPTED, "interrupted");
            rc = cli_fail(&err);
        }
    }
    if (rc == 0 && a->count) buf_printf(&out, "%lld\n", (long long)emitted);
    flush_buf(&out);
    fflush(stdout);
    buf_free(&out);
    free(cols);
    delta_snapshot_free(s);
    return rc;
}

int cmd_delta_main(int argc, char **argv)
{
    DeltaArgs a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    int (*fn)(Store *, const DeltaArgs *) = NULL;
    if (!strcmp(a.sub, "info"))
        fn = cmd_info;
    else if (!strcmp(a.sub, "files"))
        fn = cmd_files;
    else if (!strcmp(a.sub, "history"))
        fn = cmd_history;
    else if (!strcmp(a.sub, "cat"))
        fn = cmd_cat;
    else if (!strcmp(a.sub, "diff"))
        fn = cmd_diff;
    else
        return cli_usage_error("delta", "unknown subcommand '%s' (info, files, history, diff, cat)",
                               a.sub);
    DipError err = {0};
    Store *st;
    if (!store_open(&st, a.uri, &err)) return cli_fail(&err);
    rc = fn(st, &a);
    store_close(st);
    return rc;
}
