/*
 * fuzz_delta.c: libFuzzer target over the Delta log and checkpoint parsers.
 *
 * The first input byte picks the parser, the rest is its input:
 *   0  a commit file (NDJSON actions) replayed, then the protocol check, schemaString
 *      parsing and the typed partition values of every live file (what a snapshot does);
 *      then replayed again as a diff's range replay (diff.c)
 *   1  a serialised deletion-vector bitmap (magic + portable 64-bit Roaring, or native)
 *   2  an inline DV: the bytes as a Z85 string with sizeInBytes/cardinality from the input
 *   3  a partition value: byte 1 picks the Delta type, the rest is the string
 *   4  _delta_log names, one per line: classification and log segment selection
 *   5  a checkpoint Parquet file (parsed by dip's reader) applied as checkpoint actions
 * Inputs never abort: every failure must come back as a DipError.
 */
#include "delta/delta_internal.h"
#include "parquet/parquet.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void finish_snapshot_like(DeltaReplay *r)
{
    DipError err = {0};
    if (!r->has_protocol || !r->has_metadata || !delta_protocol_check(&r->protocol, &err) ||
        !r->metadata.schema_string)
        return;
    Arena a;
    arena_init(&a, 1 << 12);
    DipSchema *s;
    DeltaFieldMap *fm;
    if (delta_schema_parse(&a, r->metadata.schema_string, &s, &fm, &err)) {
        for (size_t i = 0; i < r->nfiles && i < 64; i++) {
            DeltaReplayFile *f = &r->files[i];
            for (int k = 0; k < f->npv; k++) {
                int idx = dip_schema_find(s, f->pv_keys[k]);
                if (idx < 0) continue;
                DeltaValue v;
                dip_error_clear(&err);
                if (delta_partition_value_parse(&s->fields[idx].type, f->pv_vals[k], &v, &a,
                                                &err)) {
                    ColumnVector c;
                    delta_vector_fill_constant(&c, &s->fields[idx].type, &v, 3, &a);
                }
            }
            (void)delta_stats_num_records(f->f.stats_json);
        }
    }
    arena_free(&a);
}

static void fuzz_commit(const uint8_t *p, size_t n)
{
    DeltaReplay r;
    delta_replay_init(&r);
    DipError err = {0};
    DeltaCommitInfo ci;
    if (delta_replay_commit_json(&r, "fuzz.json", p, n, &ci, &err)) finish_snapshot_like(&r);
    Arena a;
    arena_init(&a, 1024);
    (void)delta_parse_commit_info_line(p, n, &ci, &a);
    arena_free(&a);
    delta_replay_free(&r);
    /* the same commit in a diff's range replay (removes kept, with their metadata) */
    delta_replay_init(&r);
    r.range = true;
    dip_error_clear(&err);
    if (delta_replay_commit_json(&r, "fuzz.json", p, n, NULL, &err))
        for (size_t i = 0; i < r.nfiles; i++)
            if (r.files[i].first != 'a' && r.files[i].first != 'r') abort();
    delta_replay_free(&r);
}

static void fuzz_bitmap(const uint8_t *p, size_t n)
{
    DipError err = {0};
    uint64_t *rows = NULL;
    size_t nrows = 0;
    if (delta_dv_decode_bitmap(p, n, 1u << 20, &rows, &nrows, &err)) {
        for (size_t i = 1; i < nrows; i++)
            if (rows[i] <= rows[i - 1]) abort(); /* our own invariant: output sorted and unique */
        free(rows);
    }
}

static void fuzz_inline_dv(const uint8_t *p, size_t n)
{
    if (n < 3) return;
    DeltaDeletionVector dv = {.storage_type = 'i', .offset = -1};
    dv.size_in_bytes = (int32_t)(p[0] | p[1] << 8);
    dv.cardinality = p[2];
    char *s = dip_strndup((const char *)p + 3, n - 3);
    dv.path_or_inline = s;
    DipError err = {0};
    uint64_t *rows = NULL;
    size_t nrows = 0;
    if (delta_dv_read(NULL, &dv, &rows, &nrows, &err)) free(rows);
    Buf b;
    buf_init(&b);
    dv.storage_type = 'u';
    dip_error_clear(&err);
    (void)delta_dv_relative_path(&dv, &b, &err);
    buf_free(&b);
    free(s);
}

static void fuzz_partition(const uint8_t *p, size_t n)
{
    if (n < 1) return;
    static const char *types[] = {"string",         "long",         "integer",     "short",
                                  "byte",           "float",        "double",      "boolean",
                                  "binary",         "date",         "timestamp",   "timestamp_ntz",
                                  "decimal(38,10)", "decimal(5,2)", "decimal(1,0)"};
    DipType t;
    if (!delta_type_parse_primitive(types[p[0] % DIP_ARRAY_LEN(types)], &t)) abort();
    char *s = dip_strndup((const char *)p + 1, n - 1);
    Arena a;
    arena_init(&a, 1024);
    DeltaValue v;
    DipError err = {0};
    if (delta_partition_value_parse(&t, s, &v, &a, &err)) {
        ColumnVector c;
        delta_vector_fill_constant(&c, &t, &v, 2, &a);
    }
    arena_free(&a);
    free(s);
}

static void fuzz_names(const uint8_t *p, size_t n)
{
    DeltaLogListing l;
    memset(&l, 0, sizeof l);
    arena_init(&l.arena, 4096);
    size_t cap = 256;
    l.files = arena_calloc(&l.arena, cap, sizeof *l.files);
    size_t pos = 0;
    while (pos < n && l.n < cap) {
        const uint8_t *nl = memchr(p + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - p) : n;
        char *name = arena_strndup(&l.arena, (const char *)p + pos, end - pos);
        DeltaLogFile *f = &l.files[l.n];
        if (delta_log_classify(name, &f->kind, &f->version, &f->part, &f->nparts)) {
            f->name = name;
            l.n++;
        }
        pos = end + 1;
    }
    /* the listing is sorted by (version, kind, name) as delta_log_list leaves it */
    for (size_t i = 1; i < l.n; i++)
        for (size_t j = i; j > 0; j--) {
            DeltaLogFile *a = &l.files[j - 1], *b = &l.files[j];
            bool gt = a->version > b->version ||
                      (a->version == b->version &&
                       (a->kind > b->kind || (a->kind == b->kind && strcmp(a->name, b->name) > 0)));
            if (!gt) break;
            DeltaLogFile t = *a;
            *a = *b;
            *b = t;
        }
    Arena a;
    arena_init(&a, 4096);
    DeltaLogSegment seg;
    DipError err = {0};
    int64_t latest = delta_log_latest_version(&l);
    int64_t targets[3] = {-1, latest / 2, latest > 0 ? latest - 1 : 0};
    for (int i = 0; i < 3; i++) {
        dip_error_clear(&err);
        (void)delta_log_segment(&l, targets[i], &seg, &a, &err);
    }
    arena_free(&a);
    delta_log_listing_free(&l);
}

static void fuzz_checkpoint(const uint8_t *p, size_t n)
{
    PqFile *f = NULL;
    DipError err = {0};
    if (!pq_file_open_mem(&f, p, n, "fuzz.checkpoint.parquet", &err)) return;
    DeltaReplay r;
    delta_replay_init(&r);
    char **sidecars = NULL;
    size_t nsidecars = 0;
    if (delta_checkpoint_apply_parquet(f, "fuzz.checkpoint.parquet", &r, true, &sidecars,
                                       &nsidecars, &err))
        finish_snapshot_like(&r);
    free(sidecars);
    delta_replay_free(&r);
    pq_file_close(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        dip_log_init(DIP_LOG_HUMAN, DIP_LOG_ERROR); /* warnings on bad input are expected */
        quiet = true;
    }
    if (size < 1) return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 6) {
    case 0:
        fuzz_commit(p, n);
        break;
    case 1:
        fuzz_bitmap(p, n);
        break;
    case 2:
        fuzz_inline_dv(p, n);
        break;
    case 3:
        fuzz_partition(p, n);
        break;
    case 4:
        fuzz_names(p, n);
        break;
    case 5:
        fuzz_checkpoint(p, n);
        break;
    }
    return 0;
}
