/*
 * log.c: lists _delta_log/ and picks the files that make up a snapshot.
 *
 * PROTOCOL.md "Delta Log Entries", "Checkpoints" (classic, multi-part, UUID-named V2) and
 * "Last Checkpoint File". We list the whole directory rather than trusting
 * _last_checkpoint: that file is only a hint (it can be stale, empty, or name a checkpoint
 * whose write failed), and a listing is needed anyway to find the commits after the
 * checkpoint and to prove they are contiguous. The newest complete checkpoint not newer than
 * the wanted version wins; a multi-part checkpoint with a missing part is ignored, as the
 * protocol requires, and we fall back to an older one or to commit 0.
 */
#include "delta/delta_internal.h"

#include <stdlib.h>
#include <string.h>

#define LOG_DIR "_delta_log/"

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static int64_t digits_value(const char *s, size_t n)
{
    int64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

bool delta_log_classify(const char *base, DeltaLogFileKind *kind, int64_t *version, int *part,
                        int *nparts)
{
    size_t n = strlen(base);
    /* 20 digits exceed int64 from 1e19 up: a version must start with a 0 digit */
    if (n < 21 || !all_digits(base, 20) || base[20] != '.' || base[0] != '0') return false;
    *version = digits_value(base, 20);
    *part = 0;
    *nparts = 0;
    const char *rest = base + 21;
    if (strcmp(rest, "json") == 0) {
        *kind = DLF_COMMIT;
        return true;
    }
    if (strncmp(rest, "checkpoint.", 11) != 0) return false;
    rest += 11;
    if (strcmp(rest, "parquet") == 0) {
        *kind = DLF_CLASSIC;
        return true;
    }
    size_t rl = strlen(rest);
    /* o.p.parquet with o and p zero-padded to 10 digits */
    if (rl == 10 + 1 + 10 + 8 && all_digits(rest, 10) && rest[10] == '.' &&
        all_digits(rest + 11, 10) && strcmp(rest + 21, ".parquet") == 0) {
        int64_t o = digits_value(rest, 10), p = digits_value(rest + 11, 10);
        if (o < 1 || p < 1 || o > p || p > 1000000) return false;
        *kind = DLF_MULTIPART;
        *part = (int)o;
        *nparts = (int)p;
        return true;
    }
    /* <uuid>.json / <uuid>.parquet */
    if (rl > 5 && strcmp(rest + rl - 5, ".json") == 0 && rl - 5 >= 8 &&
        !memchr(rest, '.', rl - 5)) {
        *kind = DLF_V2_JSON;
        return true;
    }
    if (rl > 8 && strcmp(rest + rl - 8, ".parquet") == 0 && rl - 8 >= 8 &&
        !memchr(rest, '.', rl - 8)) {
        *kind = DLF_V2_PARQUET;
        return true;
    }
    return false;
}

static int cmp_log_file(const void *pa, const void *pb)
{
    const DeltaLogFile *a = pa, *b = pb;
    if (a->version != b->version) return a->version < b->version ? -1 : 1;
    if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
    return strcmp(a->name, b->name);
}

bool delta_log_list(Store *st, DeltaLogListing *out, DipError *err)
{
    memset(out, 0, sizeof *out);
    arena_init(&out->arena, 1 << 16);
    StoreList l = {0};
    if (!store_list(st, LOG_DIR, &l, err)) {
        dip_error_prefix(err, "%s: listing _delta_log", store_uri(st));
        return false;
    }
    out->files = arena_calloc(&out->arena, l.n ? l.n : 1, sizeof *out->files);
    for (size_t i = 0; i < l.n; i++) {
        const char *name = l.entries[i].name;
        if (strncmp(name, LOG_DIR, strlen(LOG_DIR)) != 0) continue;
        const char *base = name + strlen(LOG_DIR);
        if (strchr(base, '/')) continue;
        DeltaLogFile *f = &out->files[out->n];
        if (!delta_log_classify(base, &f->kind, &f->version, &f->part, &f->nparts)) continue;
        f->name = arena_strdup(&out->arena, name);
        f->size = l.entries[i].size;
        f->mtime_ms = l.entries[i].mtime_ms;
        out->n++;
    }
    bool had_entries = l.n > 0;
    store_list_free(&l);
    if (out->n == 0) {
        delta_log_listing_free(out);
        if (had_entries)
            return dip_error_set(err, DIP_ERR_NOT_FOUND,
                                 "%s: not a Delta table: _delta_log/ holds no commit or "
                                 "checkpoint files",
                                 store_uri(st));
        if (strncmp(store_uri(st), "s3://", 5) != 0) {
            /* a local path: say whether the path itself is there */
            StoreEntry root = {0};
            bool exists = true;
            DipError se = {0};
            if (store_stat(st, "", &root, &exists, &se) && !exists)
                return dip_error_set(err, DIP_ERR_NOT_FOUND, "%s: no such file or directory",
                                     store_uri(st));
            free(root.name);
        }
        return dip_error_set(err, DIP_ERR_NOT_FOUND,
                             "%s: not a Delta table: no _delta_log/ directory (a Delta table is "
                             "a directory holding _delta_log/ with its commit files)",
                             store_uri(st));
    }
    qsort(out->files, out->n, sizeof *out->files, cmp_log_file);
    return true;
}

void delta_log_listing_free(DeltaLogListing *l)
{
    arena_free(&l->arena);
    memset(l, 0, sizeof *l);
}

int64_t delta_log_latest_version(const DeltaLogListing *l)
{
    return l->n ? l->files[l->n - 1].version : -1;
}

const DeltaLogFile *delta_log_find_commit(const DeltaLogListing *l, int64_t v)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const DeltaLogFile *f = &l->files[mid];
        if (f->version < v || (f->version == v && f->kind < DLF_COMMIT))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < l->n && l->files[lo].version == v && l->files[lo].kind == DLF_COMMIT)
        return &l->files[lo];
    return NULL;
}

/* Checks whether the checkpoint files of version v starting at index i form a complete
 * checkpoint; fills parts. Preference at one version: V2 (UUID-named), classic, multi-part. */
static bool checkpoint_at(const DeltaLogListing *l, size_t first, size_t end,
                          const DeltaLogFile ***parts, int *nparts, Arena *a, char *why,
                          size_t whycap)
{
    static const DeltaLogFileKind pref[] = {DLF_V2_PARQUET, DLF_V2_JSON, DLF_CLASSIC};
    for (size_t k = 0; k < DIP_ARRAY_LEN(pref); k++) {
        for (size_t i = first; i < end; i++) {
            if (l->files[i].kind == pref[k]) {
                *parts = arena_alloc(a, sizeof **parts);
                (*parts)[0] = &l->files[i];
                *nparts = 1;
                return true;
            }
        }
    }
    /* Multi-part: group by part count; a group is complete when parts 1..p all exist. */
    for (size_t i = first; i < end; i++) {
        if (l->files[i].kind != DLF_MULTIPART) continue;
        int p = l->files[i].nparts;
        const DeltaLogFile **got = arena_calloc(a, (size_t)p, sizeof *got);
        for (size_t j = first; j < end; j++)
            if (l->files[j].kind == DLF_MULTIPART && l->files[j].nparts == p)
                got[l->files[j].part - 1] = &l->files[j];
        int missing = -1;
        for (int q = 0; q < p; q++)
            if (!got[q]) {
                missing = q + 1;
                break;
            }
        if (missing < 0) {
            *parts = got;
            *nparts = p;
            return true;
        }
        if (!why[0])
            dip_snprintf(why, whycap,
                         "multi-part checkpoint %020lld.checkpoint.*.%010d.parquet is "
                         "incomplete (part %010d of %d missing) and was ignored",
                         (long long)l->files[i].version, p, missing, p);
    }
    return false;
}

bool delta_log_segment(const DeltaLogListing *l, int64_t version, DeltaLogSegment *seg, Arena *a,
                       DipError *err)
{
    memset(seg, 0, sizeof *seg);
    int64_t latest = delta_log_latest_version(l);
    if (latest < 0) return dip_error_set(err, DIP_ERR_NOT_FOUND, "_delta_log/: no commits");
    if (version < 0) version = latest;
    if (version > latest)
        return dip_error_set(err, DIP_ERR_NOT_FOUND, "version %lld does not exist (latest is %lld)",
                             (long long)version, (long long)latest);
    seg->version = version;
    seg->checkpoint_version = -1;

    /* newest complete checkpoint <= version: walk version groups downwards */
    char why[512] = "";
    size_t end = l->n;
    while (end > 0) {
        int64_t v = l->files[end - 1].version;
        size_t first = end;
        while (first > 0 && l->files[first - 1].version == v)
            first--;
        if (v <= version &&
            checkpoint_at(l, first, end, &seg->checkpoint, &seg->ncheckpoint, a, why, sizeof why)) {
            seg->checkpoint_version = v;
            break;
        }
        end = first;
    }
    if (why[0]) dip_warn("%s", why);

    /* commits after the checkpoint must be contiguous up to `version` */
    int64_t from = seg->checkpoint_version + 1;
    /* more versions than listed files means a gap: never size anything by a version
     * number read from a file name */
    uint64_t span = (uint64_t)(version - seg->checkpoint_version);
    size_t ncommits = span > l->n ? l->n + 1 : (size_t)span;
    seg->commits = arena_calloc(a, ncommits ? ncommits : 1, sizeof *seg->commits);
    for (int64_t v = from; v <= version; v++) {
        const DeltaLogFile *c = delta_log_find_commit(l, v);
        if (!c) {
            if (seg->checkpoint_version < 0 && v == 0)
                return dip_error_set(err, DIP_ERR_DATA,
                                     "_delta_log/%020lld.json: missing, and no complete "
                                     "checkpoint at or below version %lld to start from%s%s",
                                     (long long)v, (long long)version, why[0] ? " (" : "",
                                     why[0] ? why : "");
            return dip_error_set(err, DIP_ERR_DATA,
                                 "_delta_log/%020lld.json: missing: versions are not "
                                 "contiguous (the log goes on to version %lld, replay "
                                 "starts at %lld)",
                                 (long long)v, (long long)version, (long long)from);
        }
        if (seg->ncommits >= ncommits)
            return dip_error_set(err, DIP_ERR_INTERNAL, "log segment larger than the listing");
        seg->commits[seg->ncommits++] = c;
    }
    seg->last_commit = delta_log_find_commit(l, version);
    return true;
}
