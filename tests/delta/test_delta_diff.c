/*
 * test_delta_diff.c: delta_snapshot_diff's incremental path (src/delta/diff.c) against the
 * full one and against hand-written expectations, on logs written here (JSON commits and
 * V2 JSON checkpoints in a temp dir):
 *   - scenarios with known answers: delete and re-add of one path, deletion-vector updates,
 *     a statistics re-add, a compaction, bare and extended removes on a partitioned table,
 *     metaData and protocol actions in the range, log retention, a long range weighed
 *     against a checkpoint;
 *   - random logs (fixed seeds): every pair v1 <= v2, incremental == full, and both paths
 *     taken a fair number of times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "delta/delta_internal.h"
#include "diff_compare.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- a table in a temp dir */

typedef struct T {
    char dir[256];
    Store *st;
} T;

static void t_open(T *t)
{
    dip_snprintf(t->dir, sizeof t->dir, "%s/dip-diff-test.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(t->dir));
    char log[300];
    dip_snprintf(log, sizeof log, "%s/_delta_log", t->dir);
    assert_int_equal(mkdir(log, 0755), 0);
    DipError err = {0};
    assert_true(store_open(&t->st, t->dir, &err));
}

static void t_close(T *t)
{
    store_close(t->st);
    char log[300], p[700];
    dip_snprintf(log, sizeof log, "%s/_delta_log", t->dir);
    DIR *d = opendir(log);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        dip_snprintf(p, sizeof p, "%s/%s", log, de->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(log);
    rmdir(t->dir);
}

static void t_write(T *t, const char *name, const char *text)
{
    char p[700];
    dip_snprintf(p, sizeof p, "%s/_delta_log/%s", t->dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
}

static void t_commit(T *t, int64_t v, const char *actions)
{
    char name[64];
    dip_snprintf(name, sizeof name, "%020lld.json", (long long)v);
    Buf b;
    buf_init(&b);
    buf_printf(&b, "{\"commitInfo\":{\"timestamp\":%lld,\"operation\":\"WRITE\"}}\n%s",
               (long long)(1700000000000LL + v * 1000), actions);
    t_write(t, name, buf_cstr(&b));
    buf_free(&b);
}

static void t_drop_commit(T *t, int64_t v)
{
    char p[700];
    dip_snprintf(p, sizeof p, "%s/_delta_log/%020lld.json", t->dir, (long long)v);
    assert_int_equal(unlink(p), 0);
}

#define PROTO                                                                                      \
    "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":["            \
    "\"deletionVectors\",\"v2Checkpoint\"],\"writerFeatures\":[\"deletionVectors\","               \
    "\"v2Checkpoint\"]}}\n"
#define SCHEMA                                                                                     \
    "{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"id\\\",\\\"type\\\":"          \
    "\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}},{\\\"name\\\":\\\"p\\\","             \
    "\\\"type\\\":"                                                                                \
    "\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}"

static void meta_line(Buf *b, bool partitioned, int tag)
{
    buf_printf(b,
               "{\"metaData\":{\"id\":\"t\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
               "\"schemaString\":\"%s\",\"partitionColumns\":[%s],\"configuration\":{\"tag\":"
               "\"%d\"}}}\n",
               SCHEMA, partitioned ? "\"p\"" : "", tag);
}

static void add_line(Buf *b, const char *path, const char *part, int64_t size, bool dc, int dv)
{
    buf_printf(b, "{\"add\":{\"path\":\"%s\",\"partitionValues\":{", path);
    if (part) buf_printf(b, "\"p\":\"%s\"", part);
    buf_printf(b,
               "},\"size\":%lld,\"modificationTime\":%lld,\"dataChange\":%s,\"stats\":"
               "\"{\\\"numRecords\\\":%lld}\"",
               (long long)size, (long long)(1000 + size), dc ? "true" : "false",
               (long long)(size % 50 + 1));
    if (dv > 0)
        buf_printf(b,
                   ",\"deletionVector\":{\"storageType\":\"i\",\"pathOrInlineDv\":\"dv%05d\","
                   "\"sizeInBytes\":%d,\"cardinality\":%d}",
                   dv, 10 + dv % 7, dv % 5 + 1);
    buf_append_str(b, "}}\n");
}

/* extended: with size and partitionValues (extendedFileMetadata), else the path alone */
static void remove_line(Buf *b, const char *path, const char *part, int64_t size, bool dc, int dv,
                        bool extended)
{
    buf_printf(b, "{\"remove\":{\"path\":\"%s\",\"deletionTimestamp\":1,\"dataChange\":%s", path,
               dc ? "true" : "false");
    if (extended) {
        buf_printf(b, ",\"extendedFileMetadata\":true,\"partitionValues\":{");
        if (part) buf_printf(b, "\"p\":\"%s\"", part);
        buf_printf(b, "},\"size\":%lld", (long long)size);
    }
    if (dv > 0)
        buf_printf(b,
                   ",\"deletionVector\":{\"storageType\":\"i\",\"pathOrInlineDv\":\"dv%05d\","
                   "\"sizeInBytes\":%d,\"cardinality\":%d}",
                   dv, 10 + dv % 7, dv % 5 + 1);
    buf_append_str(b, "}}\n");
}

/* ---------------------------------------------------------------- running diffs */

typedef struct Run {
    DeltaDiff inc, full;
    bool incremental;
    int npart;
} Run;

/* Both diffs of (v1, v2) in `mode`, compared; fails the test on any difference. */
static void run_pair(T *t, const DeltaSnapshot *b, int64_t v1, DeltaDiffMode mode, Run *r)
{
    DipError err = {0};
    if (!delta_diff_run(b, t->st, v1, mode, &r->inc, &r->incremental, &err))
        fail_msg("diff %lld..%lld: %s", (long long)v1, (long long)delta_snapshot_version(b),
                 err.msg);
    bool inc2 = true;
    if (!delta_diff_run(b, t->st, v1, DELTA_DIFF_FULL, &r->full, &inc2, &err))
        fail_msg("full diff %lld..%lld: %s", (long long)v1, (long long)delta_snapshot_version(b),
                 err.msg);
    assert_false(inc2);
    r->npart = delta_snapshot_num_partition_columns(b);
    Buf why;
    buf_init(&why);
    if (!diffs_equal(&r->inc, &r->full, r->npart, &why))
        fail_msg("%s: diff %lld..%lld (%s): %s", t->dir, (long long)v1,
                 (long long)delta_snapshot_version(b), r->incremental ? "incremental" : "fell back",
                 buf_cstr(&why));
    buf_free(&why);
}

static void run_free(Run *r)
{
    delta_diff_free(&r->inc);
    delta_diff_free(&r->full);
}

/* Diff v1..v2 (auto mode): the path taken and "+a +b -c" (sorted as returned). */
static void expect(T *t, int64_t v1, int64_t v2, bool incremental, const char *want)
{
    DeltaSnapshot *b = NULL;
    DipError err = {0};
    if (!delta_snapshot_open(&b, t->st, v2, -1, &err))
        fail_msg("open %lld: %s", (long long)v2, err.msg);
    Run r;
    run_pair(t, b, v1, DELTA_DIFF_AUTO, &r);
    Buf got;
    buf_init(&got);
    for (size_t i = 0; i < r.inc.n_added; i++) {
        buf_printf(&got, "%s+%s", got.len ? " " : "", r.inc.added[i].path);
        if (r.inc.added[i].has_dv) buf_printf(&got, "@%s", r.inc.added[i].dv.path_or_inline);
    }
    for (size_t i = 0; i < r.inc.n_removed; i++) {
        buf_printf(&got, "%s-%s", got.len ? " " : "", r.inc.removed[i].path);
        if (r.inc.removed[i].has_dv) buf_printf(&got, "@%s", r.inc.removed[i].dv.path_or_inline);
    }
    if (strcmp(buf_cstr(&got), want) != 0)
        fail_msg("diff %lld..%lld: got \"%s\", expected \"%s\"", (long long)v1, (long long)v2,
                 buf_cstr(&got), want);
    if (r.incremental != incremental)
        fail_msg("diff %lld..%lld: %s, expected %s", (long long)v1, (long long)v2,
                 r.incremental ? "incremental" : "full", incremental ? "incremental" : "full");
    buf_free(&got);
    run_free(&r);
    delta_snapshot_free(b);
}

/* ---------------------------------------------------------------- scenarios */

static void first_commit(T *t, bool partitioned, const char *adds)
{
    Buf b;
    buf_init(&b);
    buf_append_str(&b, PROTO);
    meta_line(&b, partitioned, 0);
    buf_append_str(&b, adds);
    t_commit(t, 0, buf_cstr(&b));
    buf_free(&b);
}

/* The golden table delete-re-add-same-file-different-transactions, plus a DV file. */
static void test_delete_readd(void **state)
{
    (void)state;
    T t;
    t_open(&t);
    Buf b;
    buf_init(&b);
    add_line(&b, "foo", NULL, 1, true, 0);
    first_commit(&t, false, buf_cstr(&b));
    buf_clear(&b);
    remove_line(&b, "foo", NULL, 1, true, 0, true);
    t_commit(&t, 1, buf_cstr(&b));
    buf_clear(&b);
    add_line(&b, "foo", NULL, 2, true, 0);
    t_commit(&t, 2, buf_cstr(&b));
    buf_clear(&b);
    add_line(&b, "bar", NULL, 3, true, 0);
    t_commit(&t, 3, buf_cstr(&b));
    /* 4: foo gets a DV (remove + add of the same path), 5: the DV grows */
    buf_clear(&b);
    remove_line(&b, "foo", NULL, 2, true, 0, false);
    add_line(&b, "foo", NULL, 2, true, 1);
    t_commit(&t, 4, buf_cstr(&b));
    buf_clear(&b);
    remove_line(&b, "foo", NULL, 2, true, 1, false);
    add_line(&b, "foo", NULL, 2, true, 2);
    t_commit(&t, 5, buf_cstr(&b));
    buf_free(&b);

    expect(&t, 0, 1, true, "-foo");
    expect(&t, 0, 2, true, "");
    expect(&t, 0, 3, true, "+bar");
    expect(&t, 1, 2, true, "+foo");
    expect(&t, 1, 3, true, "+bar +foo");
    expect(&t, 2, 3, true, "+bar");
    expect(&t, 3, 3, true, "");
    expect(&t, 3, 4, true, "+foo@dv00001 -foo");
    expect(&t, 3, 5, true, "+foo@dv00002 -foo");
    expect(&t, 4, 5, true, "+foo@dv00002 -foo@dv00001");
    expect(&t, 1, 5, true, "+bar +foo@dv00002");
    t_close(&t);
}

/* A statistics re-add (dataChange false, no removes) is a file live before the range; a
 * compaction (dataChange false next to removes) sends the diff to the full path. */
static void test_stats_and_compaction(void **state)
{
    (void)state;
    T t;
    t_open(&t);
    Buf b;
    buf_init(&b);
    add_line(&b, "a", NULL, 10, true, 0);
    add_line(&b, "b", NULL, 11, true, 0);
    first_commit(&t, false, buf_cstr(&b));
    buf_clear(&b);
    add_line(&b, "a", NULL, 10, false, 0); /* new stats for a */
    t_commit(&t, 1, buf_cstr(&b));
    buf_clear(&b);
    remove_line(&b, "a", NULL, 10, true, 0, false);
    t_commit(&t, 2, buf_cstr(&b));
    buf_clear(&b);
    remove_line(&b, "b", NULL, 11, false, 0, true);
    add_line(&b, "c", NULL, 21, false, 0); /* OPTIMIZE: b -> c */
    t_commit(&t, 3, buf_cstr(&b));
    buf_clear(&b);
    add_line(&b, "d", NULL, 5, true, 0);
    t_commit(&t, 4, buf_cstr(&b));
    buf_free(&b);

    expect(&t, 0, 1, true, "");
    expect(&t, 1, 2, true, "-a");
    expect(&t, 0, 2, true, "-a");
    expect(&t, 2, 3, false, "+c -b");
    expect(&t, 0, 4, false, "+c +d -a -b");
    expect(&t, 3, 4, true, "+d");
    t_close(&t);
}

/* Partitioned: an extended remove carries the partition values; a bare one does not, and
 * the diff takes the full path. metaData in the range -> full; protocol -> incremental. */
static void test_partitioned_and_metadata(void **state)
{
    (void)state;
    T t;
    t_open(&t);
    Buf b;
    buf_init(&b);
    add_line(&b, "p=x/a", "x", 10, true, 0);
    add_line(&b, "p=y/b", "y", 11, true, 0);
    add_line(&b, "p=z/c", "z", 12, true, 0);
    first_commit(&t, true, buf_cstr(&b));
    buf_clear(&b);
    remove_line(&b, "p=x/a", "x", 10, true, 0, true);
    add_line(&b, "p=x/d", "x", 13, true, 0);
    t_commit(&t, 1, buf_cstr(&b));
    buf_clear(&b);
    remove_line(&b, "p=y/b", "y", 11, true, 0, false);
    t_commit(&t, 2, buf_cstr(&b));
    buf_clear(&b);
    buf_append_str(&b, "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
                       "\"readerFeatures\":[\"deletionVectors\",\"v2Checkpoint\"],"
                       "\"writerFeatures\":[\"deletionVectors\",\"v2Checkpoint\","
                       "\"appendOnly\"]}}\n");
    add_line(&b, "p=w/e", "w", 14, true, 0);
    t_commit(&t, 3, buf_cstr(&b));
    buf_clear(&b);
    meta_line(&b, true, 1);
    add_line(&b, "p=v/f", "v", 15, true, 0);
    t_commit(&t, 4, buf_cstr(&b));
    buf_free(&b);

    expect(&t, 0, 1, true, "+p=x/d -p=x/a");
    expect(&t, 1, 2, false, "-p=y/b");
    expect(&t, 0, 2, false, "+p=x/d -p=x/a -p=y/b");
    expect(&t, 2, 3, true, "+p=w/e");
    expect(&t, 3, 4, false, "+p=v/f");
    expect(&t, 2, 4, false, "+p=v/f +p=w/e");
    /* the removed file's partition value is the one its remove carried */
    DeltaSnapshot *s = NULL;
    DipError err = {0};
    assert_true(delta_snapshot_open(&s, t.st, 1, -1, &err));
    DeltaDiff d;
    bool inc = false;
    assert_true(delta_diff_run(s, t.st, 0, DELTA_DIFF_AUTO, &d, &inc, &err));
    assert_true(inc);
    assert_int_equal(d.n_removed, 1);
    assert_string_equal(d.removed[0].partition_values[0], "x");
    assert_int_equal(d.removed[0].size, 10);
    assert_string_equal(d.added[0].partition_values[0], "x");
    delta_diff_free(&d);
    delta_snapshot_free(s);
    t_close(&t);
}

/* A V2 JSON checkpoint at `v` holding the live files given. */
static void checkpoint_json(T *t, int64_t v, bool partitioned, int meta_tag, const char *adds)
{
    char name[96];
    dip_snprintf(name, sizeof name, "%020lld.checkpoint.3a0d65cd-4056-49b8-937b-95f9e3ee90e5.json",
                 (long long)v);
    Buf b;
    buf_init(&b);
    buf_append_str(&b, PROTO);
    meta_line(&b, partitioned, meta_tag);
    buf_append_str(&b, adds);
    t_write(t, name, buf_cstr(&b));
    buf_free(&b);
}

/* Commits before a checkpoint cleaned up: a range inside what is left works alone; one that
 * starts before falls back to the full diff, which cannot open v1 either: a clear error. */
static void test_log_retention(void **state)
{
    (void)state;
    T t;
    t_open(&t);
    Buf b, live;
    buf_init(&b);
    buf_init(&live);
    first_commit(&t, false, "");
    char path[32];
    for (int v = 1; v <= 20; v++) {
        buf_clear(&b);
        dip_snprintf(path, sizeof path, "f%02d", v);
        add_line(&b, path, NULL, v, true, 0);
        if (v <= 10) add_line(&live, path, NULL, v, true, 0);
        t_commit(&t, v, buf_cstr(&b));
    }
    checkpoint_json(&t, 10, false, 0, buf_cstr(&live));
    for (int v = 0; v < 10; v++)
        t_drop_commit(&t, v);
    expect(&t, 12, 20, true, "+f13 +f14 +f15 +f16 +f17 +f18 +f19 +f20");
    expect(&t, 10, 12, true, "+f11 +f12");
    DeltaSnapshot *s = NULL;
    DipError err = {0};
    assert_true(delta_snapshot_open(&s, t.st, 20, -1, &err));
    DeltaDiff d;
    bool inc = true;
    assert_false(delta_diff_run(s, t.st, 5, DELTA_DIFF_AUTO, &d, &inc, &err));
    assert_false(inc);
    assert_non_null(strstr(err.msg, "00000000000000000006.json is missing (log retention?)"));
    assert_non_null(strstr(err.msg, "the full diff needs version 5"));
    assert_int_equal(err.kind, DIP_ERR_DATA);
    delta_snapshot_free(s);
    t_close(&t);
    buf_free(&b);
    buf_free(&live);
}

/* More than 64 commits: the listing weighs the range against opening v1. */
static void test_long_range(void **state)
{
    (void)state;
    T t;
    t_open(&t);
    Buf b, live;
    buf_init(&b);
    buf_init(&live);
    first_commit(&t, false, "");
    char path[32];
    for (int v = 1; v <= 170; v++) {
        buf_clear(&b);
        dip_snprintf(path, sizeof path, "f%03d", v);
        add_line(&b, path, NULL, v, true, 0);
        if (v <= 85) add_line(&live, path, NULL, v, true, 0);
        t_commit(&t, v, buf_cstr(&b));
    }
    checkpoint_json(&t, 85, false, 0, buf_cstr(&live));
    DeltaSnapshot *s = NULL;
    DipError err = {0};
    assert_true(delta_snapshot_open(&s, t.st, 170, -1, &err));
    Run r;
    /* v1 = 90: its checkpoint (85) + 5 commits cost less than 80 commits */
    run_pair(&t, s, 90, DELTA_DIFF_AUTO, &r);
    assert_false(r.incremental);
    assert_int_equal(r.inc.n_added, 80);
    run_free(&r);
    run_pair(&t, s, 90, DELTA_DIFF_INCREMENTAL, &r);
    assert_true(r.incremental);
    run_free(&r);
    /* v1 = 100, 70 commits: reading the range beats the checkpoint + 15 commits? the estimate
     * decides; either way the answers agree */
    run_pair(&t, s, 100, DELTA_DIFF_AUTO, &r);
    assert_int_equal(r.inc.n_added, 70);
    run_free(&r);
    /* a commit of a long range missing: full, which here can open v1 (checkpoint 85) */
    t_drop_commit(&t, 150);
    run_pair(&t, s, 90, DELTA_DIFF_INCREMENTAL, &r);
    assert_false(r.incremental);
    assert_int_equal(r.inc.n_added, 80);
    run_free(&r);
    delta_snapshot_free(s);
    t_close(&t);
    buf_free(&b);
    buf_free(&live);
}

/* ---------------------------------------------------------------- random logs */

typedef struct GFile {
    char path[32];
    char part[4];
    int64_t size;
    int dv; /* 0 none */
    bool live;
    bool ever; /* added at least once */
} GFile;

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define GMAX 96

static bool any_live(const GFile *files, int n)
{
    for (int i = 0; i < n; i++)
        if (files[i].live) return true;
    return false;
}

/* One random table of `nv` + 1 versions; counts the pairs that went incremental. */
static void random_table(uint64_t seed, int nv, size_t *pairs, size_t *incremental,
                         size_t *checkpoints)
{
    T t;
    t_open(&t);
    uint64_t rs = seed * 0x9e3779b97f4a7c15ull + 1;
    bool partitioned = rng_next(&rs) % 2;
    int extended_pct = (int)(rng_next(&rs) % 3) * 50; /* 0, 50 or 100 % of removes */
    GFile files[GMAX];
    int nfiles = 0, dvseq = 0, meta_tag = 0;
    Buf b, live;
    buf_init(&b);
    buf_init(&live);
    for (int v = 0; v <= nv; v++) {
        buf_clear(&b);
        if (v == 0) {
            buf_append_str(&b, PROTO);
            meta_line(&b, partitioned, 0);
        }
        int kind = (int)(rng_next(&rs) % 100);
        bool touched[GMAX] = {0};
        if (v > 0 && kind < 4) {
            meta_tag = v;
            meta_line(&b, partitioned, meta_tag); /* configuration change */
        } else if (v > 0 && kind < 8) {
            buf_append_str(&b, PROTO);
        } else if (v > 0 && kind < 16) {
            /* statistics re-add of live files: dataChange false, no removes */
            for (int i = 0; i < nfiles; i++)
                if (files[i].live && rng_next(&rs) % 3 == 0) {
                    /* the same file, so the same size and record count */
                    add_line(&b, files[i].path, partitioned ? files[i].part : NULL, files[i].size,
                             false, files[i].dv);
                }
        } else if (v > 0 && kind < 22 && nfiles + 1 < GMAX && any_live(files, nfiles)) {
            /* compaction: up to two live files into a new one, dataChange false (never
             * with nothing removed: that add would have to be a file already present) */
            int got = 0;
            for (int i = 0; i < nfiles && got < 2; i++)
                if (files[i].live && !touched[i]) {
                    remove_line(&b, files[i].path, partitioned ? files[i].part : NULL,
                                files[i].size, false, files[i].dv,
                                (int)(rng_next(&rs) % 100) < extended_pct);
                    files[i].live = false;
                    touched[i] = true;
                    got++;
                }
            GFile *f = &files[nfiles++];
            memset(f, 0, sizeof *f);
            dip_snprintf(f->part, sizeof f->part, "%c", 'a' + (int)(rng_next(&rs) % 3));
            dip_snprintf(f->path, sizeof f->path, "p=%s/c%03d", f->part, nfiles);
            f->size = 100 + nfiles;
            f->live = f->ever = true;
            touched[nfiles - 1] = true;
            add_line(&b, f->path, partitioned ? f->part : NULL, f->size, false, 0);
        }
        /* data changes: new files, removes, re-adds, DV updates */
        int nops = v == 0 ? 3 : (int)(rng_next(&rs) % 4);
        for (int op = 0; op < nops; op++) {
            int what = (int)(rng_next(&rs) % 4);
            int i = nfiles ? (int)(rng_next(&rs) % (uint64_t)nfiles) : -1;
            if (i >= 0 && touched[i]) continue;
            if (what == 0 || i < 0) {
                if (nfiles >= GMAX) continue;
                GFile *f = &files[nfiles++];
                memset(f, 0, sizeof *f);
                dip_snprintf(f->part, sizeof f->part, "%c", 'a' + (int)(rng_next(&rs) % 3));
                dip_snprintf(f->path, sizeof f->path, "p=%s/f%03d", f->part, nfiles);
                f->size = nfiles;
                f->live = f->ever = true;
                touched[nfiles - 1] = true;
                add_line(&b, f->path, partitioned ? f->part : NULL, f->size, true, 0);
            } else if (what == 1 && files[i].live) {
                remove_line(&b, files[i].path, partitioned ? files[i].part : NULL, files[i].size,
                            true, files[i].dv, (int)(rng_next(&rs) % 100) < extended_pct);
                files[i].live = false;
                touched[i] = true;
            } else if (what == 2 && !files[i].live) {
                files[i].dv = 0; /* the same path (no DV) again, in a later transaction */
                add_line(&b, files[i].path, partitioned ? files[i].part : NULL, files[i].size, true,
                         0);
                files[i].live = true;
                touched[i] = true;
            } else if (what == 3 && files[i].live) {
                remove_line(&b, files[i].path, partitioned ? files[i].part : NULL, files[i].size,
                            true, files[i].dv, (int)(rng_next(&rs) % 100) < extended_pct);
                files[i].dv = ++dvseq;
                add_line(&b, files[i].path, partitioned ? files[i].part : NULL, files[i].size, true,
                         files[i].dv);
                touched[i] = true;
            }
        }
        t_commit(&t, v, buf_cstr(&b));
        /* now and then a V2 JSON checkpoint of the state */
        if (v > 0 && rng_next(&rs) % 7 == 0) {
            buf_clear(&live);
            for (int i = 0; i < nfiles; i++)
                if (files[i].live)
                    add_line(&live, files[i].path, partitioned ? files[i].part : NULL,
                             files[i].size, true, files[i].dv);
            checkpoint_json(&t, v, partitioned, meta_tag, buf_cstr(&live));
            (*checkpoints)++;
        }
    }
    for (int v2 = 0; v2 <= nv; v2++) {
        DeltaSnapshot *s = NULL;
        DipError err = {0};
        if (!delta_snapshot_open(&s, t.st, v2, -1, &err))
            fail_msg("seed %llu: open %d: %s", (unsigned long long)seed, v2, err.msg);
        for (int v1 = 0; v1 <= v2; v1++) {
            Run r;
            run_pair(&t, s, v1, DELTA_DIFF_AUTO, &r);
            (*pairs)++;
            *incremental += r.incremental;
            run_free(&r);
        }
        delta_snapshot_free(s);
    }
    buf_free(&b);
    buf_free(&live);
    t_close(&t);
}

static void test_random_logs(void **state)
{
    (void)state;
    size_t pairs = 0, inc = 0, cps = 0;
    for (uint64_t seed = 1; seed <= 16; seed++)
        random_table(seed, 24, &pairs, &inc, &cps);
    print_message("random logs: %zu pairs, %zu incremental, %zu full, %zu checkpoints\n", pairs,
                  inc, pairs - inc, cps);
    assert_true(cps >= 16);
    assert_int_equal(pairs, 16 * 25 * 26 / 2);
    /* both paths must be exercised, and the incremental one often */
    assert_true(inc >= pairs / 4);
    assert_true(pairs - inc >= pairs / 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delete_readd),
        cmocka_unit_test(test_stats_and_compaction),
        cmocka_unit_test(test_partitioned_and_metadata),
        cmocka_unit_test(test_log_retention),
        cmocka_unit_test(test_long_range),
        cmocka_unit_test(test_random_logs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
