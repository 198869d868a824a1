/*
 * snapshot.c: opening a table at a version or timestamp, reader-feature checks, the LDTS.
 *
 * PROTOCOL.md "Table Features", "Reader Version Requirements", "Column Mapping",
 * "In-Commit Timestamps" and "Commit Provenance Information". Unsupported reader features
 * are refused right after replay, before any data file or deletion vector is touched. The
 * difference between two versions is in diff.c.
 */
#include "delta/delta_internal.h"

#include <stdlib.h>
#include <string.h>

/* Reader features dip implements (PROTOCOL.md appendix "Valid Feature Names"). */
static const char *const SUPPORTED_READER_FEATURES[] = {
    "deletionVectors", "columnMapping",       "timestampNtz",
    "v2Checkpoint",    "vacuumProtocolCheck", "typeWidening",
};

bool delta_protocol_check(const DeltaProtocolRaw *p, DipError *err)
{
    if (p->min_reader > 3 || p->min_reader < 1)
        return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                             "protocol: minReaderVersion %d is not supported (dip reads "
                             "reader versions 1 to 3)",
                             p->min_reader);
    if (p->min_reader < 3) return true;
    for (int i = 0; i < p->n_reader_features; i++) {
        bool ok = false;
        for (size_t k = 0; k < DIP_ARRAY_LEN(SUPPORTED_READER_FEATURES); k++)
            if (strcmp(p->reader_features[i], SUPPORTED_READER_FEATURES[k]) == 0) ok = true;
        if (!ok)
            return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                                 "protocol: reader feature \"%s\" is not supported by dip "
                                 "(supported: deletionVectors, columnMapping, timestampNtz, "
                                 "v2Checkpoint, vacuumProtocolCheck, typeWidening)",
                                 p->reader_features[i]);
    }
    return true;
}

const char *delta_config_get(const DeltaMetadataRaw *m, const char *key)
{
    for (int i = 0; i < m->nconfig; i++)
        if (strcmp(m->config_keys[i], key) == 0) return m->config_vals[i];
    return NULL;
}

static bool has_reader_feature(const DeltaProtocolRaw *p, const char *f)
{
    for (int i = 0; i < p->n_reader_features; i++)
        if (strcmp(p->reader_features[i], f) == 0) return true;
    return false;
}

static int cmp_add_path(const void *a, const void *b)
{
    const DeltaAddFile *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    if (c) return c;
    /* same data file with different DVs cannot both be live, but keep the order total */
    return x->has_dv - y->has_dv;
}

/* Commit timestamp of one version for time travel: in-commit timestamp, else
 * commitInfo.timestamp, else the file's modification time (ms). */
static bool commit_timestamp_ms(Store *st, const DeltaLogFile *f, int64_t *ts, DipError *err)
{
    Buf b;
    buf_init(&b);
    if (!store_read_all(st, f->name, &b, err)) {
        buf_free(&b);
        return false;
    }
    *ts = delta_commit_time(b.data, b.len, f->mtime_ms, NULL);
    buf_free(&b);
    return true;
}

/* Latest version whose commit timestamp <= ts_ms. Commit timestamps increase with the
 * version (in-commit timestamps are monotonic by spec; commitInfo.timestamp in practice),
 * so a binary search over the commit files reads O(log n) of them. */
static bool version_at_timestamp(Store *st, const DeltaLogListing *l, int64_t ts_ms,
                                 int64_t *version, DipError *err)
{
    const DeltaLogFile **commits = dip_malloc((l->n ? l->n : 1) * sizeof *commits);
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->files[i].kind == DLF_COMMIT) commits[n++] = &l->files[i];
    size_t lo = 0, hi = n; /* first index with ts > ts_ms */
    bool ok = true;
    while (lo < hi && ok) {
        size_t mid = (lo + hi) / 2;
        int64_t t;
        ok = commit_timestamp_ms(st, commits[mid], &t, err);
        if (!ok) break;
        if (t <= ts_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (ok && lo == 0) {
        char buf[40];
        dip_format_ts_us(ts_ms * 1000, buf);
        ok = dip_error_set(err, DIP_ERR_NOT_FOUND,
                           "no version at or before %s: the earliest available commit is "
                           "newer",
                           buf);
    }
    if (ok) *version = commits[lo - 1]->version;
    free(commits);
    return ok;
}

int delta_snapshot_fill_partition_values(const DeltaSnapshot *s, DeltaAddFile *f, int npv,
                                         char *const *keys, char *const *vals, Arena *a, bool copy)
{
    f->partition_values = arena_calloc(a, (size_t)s->npart + 1, sizeof(char *));
    int found = 0;
    for (int k = 0; k < s->npart; k++) {
        int si = s->part_index[k];
        const char *phys = s->fmap[si].physical;
        const char *logical = s->schema->fields[si].name;
        int at = -1;
        for (int j = 0; j < npv && at < 0; j++)
            if (strcmp(keys[j], phys) == 0) at = j;
        for (int j = 0; j < npv && at < 0; j++)
            if (strcmp(keys[j], logical) == 0) at = j;
        if (at < 0) continue;
        found++;
        f->partition_values[k] = vals[at] && copy ? arena_strdup(a, vals[at]) : vals[at];
    }
    return found;
}

static bool build_snapshot(DeltaSnapshot *s, DeltaReplay *r, DipError *err)
{
    if (!r->has_protocol)
        return dip_error_set(err, DIP_ERR_DATA,
                             "version %lld has no protocol action%s: the table state cannot be "
                             "reconstructed",
                             (long long)s->version,
                             s->checkpoint_version >= 0 ? " in its checkpoint or later commits"
                                                        : "");
    if (!r->has_metadata)
        return dip_error_set(err, DIP_ERR_DATA,
                             "version %lld has no metaData action%s: the table state cannot be "
                             "reconstructed",
                             (long long)s->version,
                             s->checkpoint_version >= 0 ? " in its checkpoint or later commits"
                                                        : "");
    s->protocol = r->protocol;
    s->metadata = r->metadata;
    if (!delta_protocol_check(&s->protocol, err)) return false;
    if (!s->metadata.schema_string)
        return dip_error_set(err, DIP_ERR_DATA, "metaData has no schemaString");
    if (!delta_schema_parse(&s->arena, s->metadata.schema_string, &s->schema, &s->fmap, err))
        return false;

    /* column mapping is honoured only when the protocol supports it */
    bool cm_supported =
        s->protocol.min_reader == 2 ||
        (s->protocol.min_reader == 3 && has_reader_feature(&s->protocol, "columnMapping"));
    const char *mode = delta_config_get(&s->metadata, "delta.columnMapping.mode");
    s->cm_mode = DELTA_CM_NONE;
    if (cm_supported && mode) {
        if (strcmp(mode, "name") == 0)
            s->cm_mode = DELTA_CM_NAME;
        else if (strcmp(mode, "id") == 0)
            s->cm_mode = DELTA_CM_ID;
        else if (strcmp(mode, "none") != 0)
            return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                                 "delta.columnMapping.mode \"%s\" is not supported", mode);
    }
    if (s->cm_mode == DELTA_CM_NONE) {
        /* without column mapping, physical names are the display names */
        for (int i = 0; i < s->schema->nfields; i++)
            s->fmap[i].physical = s->schema->fields[i].name;
    }

    /* partition columns, in schema order */
    s->part_index =
        arena_calloc(&s->arena, (size_t)s->metadata.n_partition_columns + 1, sizeof(int));
    for (int i = 0; i < s->schema->nfields; i++) {
        for (int k = 0; k < s->metadata.n_partition_columns; k++) {
            if (strcmp(s->metadata.partition_columns[k], s->schema->fields[i].name) == 0) {
                s->part_index[s->npart++] = i;
                break;
            }
        }
    }
    if (s->npart != s->metadata.n_partition_columns) {
        for (int k = 0; k < s->metadata.n_partition_columns; k++)
            if (dip_schema_find(s->schema, s->metadata.partition_columns[k]) < 0)
                return dip_error_set(err, DIP_ERR_DATA,
                                     "metaData: partition column %s is not in the schema",
                                     s->metadata.partition_columns[k]);
        return dip_error_set(err, DIP_ERR_DATA, "metaData: a partition column is listed twice");
    }

    size_t live = 0;
    for (size_t i = 0; i < r->nfiles; i++)
        live += r->files[i].live;
    s->files = dip_calloc(live ? live : 1, sizeof *s->files);
    for (size_t i = 0; i < r->nfiles; i++) {
        DeltaReplayFile *rf = &r->files[i];
        if (!rf->live) continue;
        DeltaAddFile *f = &s->files[s->nfiles++];
        *f = rf->f;
        f->num_records = delta_stats_num_records(f->stats_json);
        delta_snapshot_fill_partition_values(s, f, rf->npv, rf->pv_keys, rf->pv_vals, &s->arena,
                                             false);
    }
    qsort(s->files, s->nfiles, sizeof *s->files, cmp_add_path);
    return true;
}

bool delta_snapshot_open(DeltaSnapshot **out, Store *table, int64_t version, int64_t timestamp_ms,
                         DipError *err)
{
    *out = NULL;
    double t0 = dip_now_s();
    DeltaLogListing l;
    if (!delta_log_list(table, &l, err)) return false;
    double t_list = dip_now_s();
    DeltaSnapshot *s = dip_calloc(1, sizeof *s);
    arena_init(&s->arena, 1 << 16);
    s->store = table;
    DeltaReplay r;
    delta_replay_init(&r);
    DeltaLogSegment seg;
    bool ok = true;
    if (timestamp_ms >= 0) ok = version_at_timestamp(table, &l, timestamp_ms, &version, err);
    ok = ok && delta_log_segment(&l, version, &seg, &s->arena, err);
    if (ok) {
        s->version = seg.version;
        s->checkpoint_version = seg.checkpoint_version;
        if (seg.ncheckpoint > 0) {
            switch (seg.checkpoint[0]->kind) {
            case DLF_CLASSIC:
                s->checkpoint_kind = "classic";
                break;
            case DLF_MULTIPART:
                s->checkpoint_kind = "multi-part";
                break;
            case DLF_V2_JSON:
                s->checkpoint_kind = "v2-json";
                break;
            case DLF_V2_PARQUET:
                s->checkpoint_kind = "v2-parquet";
                break;
            default:
                break;
            }
            ok = delta_checkpoint_read(table, &seg, &r, err);
        }
    }
    double t_cp = dip_now_s();
    Buf b;
    buf_init(&b);
    for (size_t i = 0; ok && i < seg.ncommits; i++) {
        buf_clear(&b);
        ok = store_read_all(table, seg.commits[i]->name, &b, err) &&
             delta_replay_commit_json(&r, seg.commits[i]->name, b.data, b.len, &r.commit_info, err);
        if (!ok && !err->msg[0])
            dip_error_set(err, DIP_ERR_DATA, "%s: cannot be applied", seg.commits[i]->name);
        if (dip_stop_requested() && ok)
            ok = dip_error_set(err, DIP_ERR_INTERRUPTED, "interrupted during log replay");
    }
    /* LDTS: commitInfo of the snapshot's own commit; when the snapshot starts at a
     * checkpoint, read that version's commit file for it if it is still there */
    if (ok) {
        const DeltaLogFile *lc = seg.last_commit;
        DeltaCommitInfo ci = r.commit_info;
        if (seg.ncommits == 0 && lc) {
            buf_clear(&b);
            if (store_read_all(table, lc->name, &b, err))
                delta_parse_commit_info_line(b.data, b.len, &ci, &r.arena);
            else
                ok = false;
        }
        const DeltaLogFile *mf = lc ? lc : (seg.ncheckpoint ? seg.checkpoint[0] : NULL);
        s->ldts_us = delta_commit_time_info(&ci, mf ? mf->mtime_ms : 0, &s->ldts_source) * 1000;
        s->commit_info = ci;
        if (ci.operation) s->commit_info.operation = arena_strdup(&s->arena, ci.operation);
    }
    buf_free(&b);
    double t_commits = dip_now_s();
    ok = ok && build_snapshot(s, &r, err);
    if (ok)
        dip_debug("snapshot v%lld: list %zu log files %.3f s, checkpoint %.3f s, %zu commits "
                  "%.3f s, reconcile %.3f s, %zu live files",
                  (long long)s->version, l.n, t_list - t0, t_cp - t_list, seg.ncommits,
                  t_commits - t_cp, dip_now_s() - t_commits, s->nfiles);
    if (ok) {
        /* keep the strings the snapshot points at: hand the replay arena over */
        Arena keep = r.arena;
        arena_init(&r.arena, 1024);
        delta_replay_free(&r);
        /* chain the replay arena into the snapshot by storing it in a side allocation */
        Arena *side = arena_alloc(&s->arena, sizeof *side);
        *side = keep;
        s->replay_arena = side;
    } else {
        delta_replay_free(&r);
    }
    delta_log_listing_free(&l);
    if (!ok) {
        dip_error_prefix(err, "%s", store_uri(table));
        delta_snapshot_free(s);
        return false;
    }
    *out = s;
    return true;
}

void delta_snapshot_free(DeltaSnapshot *s)
{
    if (!s) return;
    if (s->replay_arena) arena_free(s->replay_arena);
    free(s->files);
    arena_free(&s->arena);
    free(s);
}

int64_t delta_snapshot_version(const DeltaSnapshot *s)
{
    return s->version;
}

int64_t delta_snapshot_ldts_us(const DeltaSnapshot *s, DeltaLdtsSource *source)
{
    if (source) *source = s->ldts_source;
    return s->ldts_us;
}

const DipSchema *delta_snapshot_schema(const DeltaSnapshot *s)
{
    return s->schema;
}

int delta_snapshot_num_partition_columns(const DeltaSnapshot *s)
{
    return s->npart;
}

const char *delta_snapshot_partition_column(const DeltaSnapshot *s, int i)
{
    return i >= 0 && i < s->npart ? s->schema->fields[s->part_index[i]].name : NULL;
}

size_t delta_snapshot_num_files(const DeltaSnapshot *s)
{
    return s->nfiles;
}

const DeltaAddFile *delta_snapshot_file(const DeltaSnapshot *s, size_t i)
{
    return i < s->nfiles ? &s->files[i] : NULL;
}

const char *delta_ldts_source_name(DeltaLdtsSource src)
{
    switch (src) {
    case DELTA_LDTS_IN_COMMIT_TIMESTAMP:
        return "inCommitTimestamp";
    case DELTA_LDTS_COMMIT_INFO:
        return "commitInfo.timestamp";
    case DELTA_LDTS_FILE_MTIME:
        return "file modification time";
    }
    return "unknown";
}

/* ---------------------------------------------------------------- extras (delta.h) */

int delta_snapshot_min_reader_version(const DeltaSnapshot *s)
{
    return s->protocol.min_reader;
}

int delta_snapshot_min_writer_version(const DeltaSnapshot *s)
{
    return s->protocol.min_writer;
}

int delta_snapshot_num_reader_features(const DeltaSnapshot *s)
{
    return s->protocol.n_reader_features;
}

const char *delta_snapshot_reader_feature(const DeltaSnapshot *s, int i)
{
    return i >= 0 && i < s->protocol.n_reader_features ? s->protocol.reader_features[i] : NULL;
}

int delta_snapshot_num_writer_features(const DeltaSnapshot *s)
{
    return s->protocol.n_writer_features;
}

const char *delta_snapshot_writer_feature(const DeltaSnapshot *s, int i)
{
    return i >= 0 && i < s->protocol.n_writer_features ? s->protocol.writer_features[i] : NULL;
}

int64_t delta_snapshot_checkpoint_version(const DeltaSnapshot *s, const char **kind)
{
    if (kind) *kind = s->checkpoint_kind;
    return s->checkpoint_version;
}

const char *delta_snapshot_column_mapping_mode(const DeltaSnapshot *s)
{
    return s->cm_mode == DELTA_CM_NAME ? "name" : s->cm_mode == DELTA_CM_ID ? "id" : "none";
}

const char *delta_snapshot_table_id(const DeltaSnapshot *s)
{
    return s->metadata.id;
}

const char *delta_snapshot_operation(const DeltaSnapshot *s)
{
    return s->commit_info.operation;
}
