/*
 * diff.c: the files added and removed between two versions v1 <= v2 (delta.h DeltaDiff),
 * what an incremental sync reads.
 *
 * Incremental, the usual path: only the commits v1+1 .. v2 are read, through a range
 * replay (replay.c) that records each logical file's (path + DV id) first action in the
 * range; the snapshot at v2, open already, gives the metadata. A file is live at v2 when
 * its last action is an add. Whether it was live at v1 follows from its first action:
 *   - a remove: live (writers remove only live files);
 *   - an add with dataChange true: not live (new data is a new logical file);
 *   - an add with dataChange false in a commit without removes: live (PROTOCOL.md "Add File
 *     and Remove File": such a file must already be present unless its records come from
 *     removes of the same version, i.e. a statistics update);
 *   - an add with dataChange false in a commit with removes (a compaction): the range cannot
 *     tell, so the full diff below runs instead.
 * The files whose liveness differs are the diff. A removed file carries what its remove
 * action says: path and DV always; size, stats and partitionValues when the writer recorded
 * them (extendedFileMetadata). When the table is partitioned and a remove lacks them, or a
 * metaData action lies in the range (removed files then follow v1's metadata, which the
 * range does not hold), the full diff runs. A protocol action in the range needs nothing:
 * the snapshot at v2 was checked already.
 *
 * Full: open the snapshot at v1 and compare the two sets of live files (dip's only method
 * before). Besides the cases above it runs when a commit of the range is missing (log
 * retention; then v1 must still be reconstructable from a checkpoint, else the error says
 * both why), and when opening v1 (its checkpoint and the commits after it) is estimated
 * cheaper than reading the range: ranges longer than DIRECT_MAX commits are weighed with the
 * listing's sizes; shorter ones are read without listing the log at all.
 *
 * DIP_DELTA_DIFF=full|incremental|auto (default auto) is for tests and the benchmark: full
 * forces the full path; incremental skips the cost estimate (never the correctness cases).
 */
#include "delta/delta_internal.h"

#include <stdlib.h>
#include <string.h>

#define DIRECT_MAX 64 /* ranges up to this many commits are read without a listing */
#define CP_WEIGHT 4   /* a checkpoint byte (Parquet, compressed) costs ~4 commit bytes */
#define REQ_LOCAL 4096
#define REQ_REMOTE (256 * 1024) /* one request's cost in bytes of transfer */

typedef enum { INCR_DONE = 0, INCR_FALLBACK, INCR_ERROR } IncrOutcome;

static bool diff_mode(DeltaDiffMode *m, DipError *err)
{
    const char *v = config_env_str("DIP_DELTA_DIFF", "auto");
    if (strcmp(v, "auto") == 0)
        *m = DELTA_DIFF_AUTO;
    else if (strcmp(v, "full") == 0)
        *m = DELTA_DIFF_FULL;
    else if (strcmp(v, "incremental") == 0)
        *m = DELTA_DIFF_INCREMENTAL;
    else
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "DIP_DELTA_DIFF=%s: expected auto, full or incremental", v);
    return true;
}

static void copy_add(Arena *a, DeltaAddFile *dst, const DeltaAddFile *src, int npart)
{
    *dst = *src;
    dst->path = arena_strdup(a, src->path);
    dst->stats_json = src->stats_json ? arena_strdup(a, src->stats_json) : NULL;
    if (src->has_dv) dst->dv.path_or_inline = arena_strdup(a, src->dv.path_or_inline);
    dst->partition_values = arena_calloc(a, (size_t)npart + 1, sizeof(char *));
    for (int i = 0; i < npart; i++)
        dst->partition_values[i] =
            src->partition_values[i] ? arena_strdup(a, src->partition_values[i]) : NULL;
}

static int cmp_add_path(const void *a, const void *b)
{
    const DeltaAddFile *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    if (c) return c;
    return x->has_dv - y->has_dv;
}

static void diff_alloc(DeltaDiff *out, size_t nadded, size_t nremoved)
{
    out->arena = dip_calloc(1, sizeof(Arena));
    arena_init(out->arena, 1 << 16);
    out->added = arena_calloc(out->arena, nadded + 1, sizeof(DeltaAddFile));
    out->removed = arena_calloc(out->arena, nremoved + 1, sizeof(DeltaAddFile));
}

/* ---------------------------------------------------------------- full */

static void file_key(const DeltaAddFile *f, Buf *out)
{
    buf_clear(out);
    buf_append_str(out, f->path);
    buf_append_byte(out, '\n');
    if (f->has_dv) delta_dv_unique_id(&f->dv, out);
}

typedef struct KeySet {
    uint64_t *hashes;
    char **keys;
    size_t nslots;
} KeySet;

static void keyset_build(KeySet *ks, const DeltaSnapshot *s, Arena *a)
{
    ks->nslots = 16;
    while (ks->nslots < s->nfiles * 2 + 2)
        ks->nslots *= 2;
    ks->hashes = dip_calloc(ks->nslots, sizeof *ks->hashes);
    ks->keys = dip_calloc(ks->nslots, sizeof *ks->keys);
    Buf k;
    buf_init(&k);
    for (size_t i = 0; i < s->nfiles; i++) {
        file_key(&s->files[i], &k);
        uint64_t h = dip_xxh64(k.data, k.len, 0);
        size_t slot = h & (ks->nslots - 1);
        while (ks->keys[slot])
            slot = (slot + 1) & (ks->nslots - 1);
        ks->keys[slot] = arena_strndup(a, (const char *)k.data, k.len);
        ks->hashes[slot] = h;
    }
    buf_free(&k);
}

static bool keyset_has(const KeySet *ks, const Buf *k)
{
    uint64_t h = dip_xxh64(k->data, k->len, 0);
    size_t slot = h & (ks->nslots - 1);
    while (ks->keys[slot]) {
        if (ks->hashes[slot] == h && strcmp(ks->keys[slot], (const char *)k->data) == 0)
            return true;
        slot = (slot + 1) & (ks->nslots - 1);
    }
    return false;
}

static void keyset_free(KeySet *ks)
{
    free(ks->hashes);
    free(ks->keys);
}

static bool diff_full(const DeltaSnapshot *b, Store *table, int64_t v1, DeltaDiff *out,
                      DipError *err)
{
    DeltaSnapshot *a = NULL;
    if (!delta_snapshot_open(&a, table, v1, -1, err)) return false;
    diff_alloc(out, b->nfiles, a->nfiles);
    Arena tmp;
    arena_init(&tmp, 1 << 16);
    KeySet ka, kb;
    keyset_build(&ka, a, &tmp);
    keyset_build(&kb, b, &tmp);
    Buf k;
    buf_init(&k);
    for (size_t i = 0; i < b->nfiles; i++) {
        file_key(&b->files[i], &k);
        if (!keyset_has(&ka, &k))
            copy_add(out->arena, &out->added[out->n_added++], &b->files[i], b->npart);
    }
    for (size_t i = 0; i < a->nfiles; i++) {
        file_key(&a->files[i], &k);
        if (!keyset_has(&kb, &k))
            copy_add(out->arena, &out->removed[out->n_removed++], &a->files[i], a->npart);
    }
    buf_free(&k);
    keyset_free(&ka);
    keyset_free(&kb);
    arena_free(&tmp);
    delta_snapshot_free(a);
    return true;
}

/* ---------------------------------------------------------------- incremental */

typedef struct Range {
    Store *table;
    const DeltaSnapshot *b; /* at v2 */
    int64_t v1, v2;
    DeltaDiffMode mode;
    DeltaReplay r;
    bool *has_remove; /* per commit of the range (index = version - v1 - 1) */
    Buf *why;         /* why the full diff must run */
} Range;

/* Weighs the range against opening v1 and checks that no commit of it is missing. */
static IncrOutcome weigh_range(Range *g, DipError *err)
{
    DeltaLogListing l;
    if (!delta_log_list(g->table, &l, err)) return INCR_ERROR;
    uint64_t req = store_is_remote(g->table) ? REQ_REMOTE : REQ_LOCAL;
    double incr = 0;
    IncrOutcome o = INCR_DONE;
    for (int64_t v = g->v1 + 1; v <= g->v2 && o == INCR_DONE; v++) {
        const DeltaLogFile *f = delta_log_find_commit(&l, v);
        if (!f) {
            buf_printf(g->why, "_delta_log/%020lld.json is missing (log retention?)", (long long)v);
            o = INCR_FALLBACK;
        } else {
            incr += (double)(f->size + req);
        }
    }
    if (o == INCR_DONE && g->mode == DELTA_DIFF_AUTO) {
        DeltaLogSegment seg;
        Arena a;
        arena_init(&a, 4096);
        DipError e = {0};
        /* when v1 cannot be reconstructed, the range is the only way: no estimate */
        if (delta_log_segment(&l, g->v1, &seg, &a, &e)) {
            double full = 0;
            for (int i = 0; i < seg.ncheckpoint; i++)
                full += (double)(seg.checkpoint[i]->size * CP_WEIGHT + req);
            for (size_t i = 0; i < seg.ncommits; i++)
                full += (double)(seg.commits[i]->size + req);
            if (full < incr) {
                buf_printf(g->why,
                           "opening version %lld (checkpoint %lld and %zu commits, cost ~%.0f) "
                           "is cheaper than reading the %lld commits of the range (~%.0f)",
                           (long long)g->v1, (long long)seg.checkpoint_version, seg.ncommits, full,
                           (long long)(g->v2 - g->v1), incr);
                o = INCR_FALLBACK;
            }
        }
        arena_free(&a);
    }
    delta_log_listing_free(&l);
    return o;
}

static IncrOutcome replay_range(Range *g, DipError *err)
{
    if (g->v2 - g->v1 > DIRECT_MAX) {
        IncrOutcome o = weigh_range(g, err);
        if (o != INCR_DONE) return o;
    }
    IncrOutcome o = INCR_DONE;
    Buf b;
    buf_init(&b);
    char name[64];
    for (int64_t v = g->v1 + 1; v <= g->v2 && o == INCR_DONE; v++) {
        if (dip_stop_requested()) {
            dip_error_set(err, DIP_ERR_INTERRUPTED, "interrupted during the diff's log replay");
            o = INCR_ERROR;
            break;
        }
        dip_snprintf(name, sizeof name, "_delta_log/%020lld.json", (long long)v);
        buf_clear(&b);
        DipError e = {0};
        if (!store_read_all(g->table, name, &b, &e)) {
            if (e.kind == DIP_ERR_NOT_FOUND) {
                buf_printf(g->why, "%s is missing (log retention?)", name);
                o = INCR_FALLBACK;
            } else {
                *err = e;
                o = INCR_ERROR;
            }
            break;
        }
        size_t seq = (size_t)(v - g->v1 - 1);
        g->r.seq = (uint32_t)seq;
        g->r.seq_has_remove = false;
        if (!delta_replay_commit_json(&g->r, name, b.data, b.len, NULL, err)) {
            if (!err->msg[0]) dip_error_set(err, DIP_ERR_DATA, "%s: cannot be applied", name);
            o = INCR_ERROR;
        }
        g->has_remove[seq] = g->r.seq_has_remove;
    }
    buf_free(&b);
    return o;
}

/* 1 live at v1, 0 not, -1 the range cannot tell (see the top of the file). */
static int live_at_v1(const Range *g, const DeltaReplayFile *rf)
{
    if (rf->first == 'r') return 1;
    if (!rf->first_dc_false) return 0;
    return g->has_remove[rf->first_seq] ? -1 : 1;
}

static IncrOutcome classify(Range *g, DeltaDiff *out)
{
    const DeltaReplay *r = &g->r;
    const DeltaSnapshot *b = g->b;
    if (r->has_metadata) {
        buf_printf(g->why,
                   "a metaData action lies in the range: removed files follow the "
                   "metadata of version %lld",
                   (long long)g->v1);
        return INCR_FALLBACK;
    }
    size_t nadd = 0, nrem = 0;
    for (size_t i = 0; i < r->nfiles; i++) {
        const DeltaReplayFile *rf = &r->files[i];
        int live1 = live_at_v1(g, rf);
        if (live1 < 0) {
            buf_printf(g->why,
                       "version %lld adds %s with dataChange false next to removes (a "
                       "compaction?): whether it was live at version %lld is not in the range",
                       (long long)(g->v1 + 1 + rf->first_seq), rf->f.path, (long long)g->v1);
            return INCR_FALLBACK;
        }
        if (live1 == (int)rf->live) continue;
        if (rf->live) {
            nadd++;
        } else {
            nrem++;
            if (b->npart > 0 && !rf->has_pv) {
                buf_printf(g->why,
                           "the remove of %s carries no partitionValues (no "
                           "extendedFileMetadata) and the table is partitioned",
                           rf->f.path);
                return INCR_FALLBACK;
            }
        }
    }
    diff_alloc(out, nadd, nrem);
    for (size_t i = 0; i < r->nfiles; i++) {
        const DeltaReplayFile *rf = &r->files[i];
        if (live_at_v1(g, rf) == (int)rf->live) continue;
        DeltaAddFile *d = rf->live ? &out->added[out->n_added++] : &out->removed[out->n_removed++];
        *d = rf->f;
        d->path = arena_strdup(out->arena, rf->f.path);
        d->stats_json = rf->f.stats_json ? arena_strdup(out->arena, rf->f.stats_json) : NULL;
        d->num_records = delta_stats_num_records(d->stats_json);
        if (d->has_dv) d->dv.path_or_inline = arena_strdup(out->arena, rf->f.dv.path_or_inline);
        int found = delta_snapshot_fill_partition_values(b, d, rf->npv, rf->pv_keys, rf->pv_vals,
                                                         out->arena, true);
        if (!rf->live && found < b->npart) {
            buf_printf(g->why, "the remove of %s names %d of the table's %d partition columns",
                       rf->f.path, found, b->npart);
            delta_diff_free(out);
            return INCR_FALLBACK;
        }
    }
    qsort(out->added, out->n_added, sizeof *out->added, cmp_add_path);
    qsort(out->removed, out->n_removed, sizeof *out->removed, cmp_add_path);
    return INCR_DONE;
}

static IncrOutcome diff_incremental(const DeltaSnapshot *b, Store *table, int64_t v1,
                                    DeltaDiffMode mode, DeltaDiff *out, Buf *why, DipError *err)
{
    Range g;
    memset(&g, 0, sizeof g);
    g.table = table;
    g.b = b;
    g.v1 = v1;
    g.v2 = b->version;
    g.mode = mode;
    g.why = why;
    if (g.v2 - g.v1 >= (int64_t)UINT32_MAX) {
        buf_printf(why, "the range has %lld commits", (long long)(g.v2 - g.v1));
        return INCR_FALLBACK;
    }
    g.has_remove = dip_calloc((size_t)(g.v2 - g.v1) + 1, sizeof *g.has_remove);
    delta_replay_init(&g.r);
    g.r.range = true;
    IncrOutcome o = replay_range(&g, err);
    if (o == INCR_DONE) o = classify(&g, out);
    delta_replay_free(&g.r);
    free(g.has_remove);
    return o;
}

/* ---------------------------------------------------------------- public */

bool delta_snapshot_diff(Store *table, int64_t v1, int64_t v2, DeltaDiff *out, DipError *err)
{
    memset(out, 0, sizeof *out);
    if (v1 < 0 || v2 < v1)
        return dip_error_set(err, DIP_ERR_CONFIG, "diff: need 0 <= v1 <= v2 (got %lld, %lld)",
                             (long long)v1, (long long)v2);
    DeltaSnapshot *b = NULL;
    if (!delta_snapshot_open(&b, table, v2, -1, err)) return false;
    bool ok = delta_snapshot_diff_from(b, table, v1, out, err);
    delta_snapshot_free(b);
    return ok;
}

bool delta_snapshot_diff_from(const DeltaSnapshot *b, Store *table, int64_t v1, DeltaDiff *out,
                              DipError *err)
{
    memset(out, 0, sizeof *out);
    DeltaDiffMode mode = DELTA_DIFF_AUTO;
    if (!diff_mode(&mode, err)) return false;
    return delta_diff_run(b, table, v1, mode, out, NULL, err);
}

bool delta_diff_run(const DeltaSnapshot *b, Store *table, int64_t v1, DeltaDiffMode mode,
                    DeltaDiff *out, bool *incremental, DipError *err)
{
    memset(out, 0, sizeof *out);
    if (incremental) *incremental = false;
    if (v1 < 0 || b->version < v1)
        return dip_error_set(err, DIP_ERR_CONFIG, "diff: need 0 <= v1 <= v2 (got %lld, %lld)",
                             (long long)v1, (long long)b->version);
    double t0 = dip_now_s();
    Buf why;
    buf_init(&why);
    IncrOutcome o = INCR_FALLBACK;
    if (mode == DELTA_DIFF_FULL)
        buf_append_str(&why, "DIP_DELTA_DIFF=full");
    else
        o = diff_incremental(b, table, v1, mode, out, &why, err);
    if (o == INCR_ERROR)
        dip_error_prefix(err, "%s: diff from version %lld", store_uri(table), (long long)v1);
    bool ok = o == INCR_DONE;
    if (o == INCR_FALLBACK) {
        ok = diff_full(b, table, v1, out, err);
        if (!ok)
            dip_error_prefix(err,
                             "diff from version %lld: the commits since cannot be diffed alone "
                             "(%s), and the full diff needs version %lld",
                             (long long)v1, buf_cstr(&why), (long long)v1);
    }
    double dt = dip_now_s() - t0;
    if (ok && o == INCR_DONE)
        dip_debug("diff v%lld..v%lld: incremental over %lld commits: %zu added, %zu removed, "
                  "%.4f s",
                  (long long)v1, (long long)b->version, (long long)(b->version - v1), out->n_added,
                  out->n_removed, dt);
    else if (ok)
        dip_debug("diff v%lld..v%lld: full (%s): %zu added, %zu removed, %.4f s", (long long)v1,
                  (long long)b->version, buf_cstr(&why), out->n_added, out->n_removed, dt);
    if (incremental) *incremental = ok && o == INCR_DONE;
    buf_free(&why);
    return ok;
}

void delta_diff_free(DeltaDiff *d)
{
    if (d->arena) {
        arena_free(d->arena);
        free(d->arena);
    }
    memset(d, 0, sizeof *d);
}
