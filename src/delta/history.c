/*
 * history.c: a table's commit history (newest first, as `DESCRIBE HISTORY` lists it) and the
 * one rule for a commit's timestamp (PROTOCOL.md "In-Commit Timestamps" and "Commit
 * Provenance Information"): inCommitTimestamp when the writer recorded one, else
 * commitInfo.timestamp, else the commit file's modification time. The snapshot's LDTS, time
 * travel by timestamp and `dip delta history` all go through delta_commit_time_info.
 */
#include "delta/delta_internal.h"

#include <string.h>

int64_t delta_commit_time_info(const DeltaCommitInfo *ci, int64_t mtime_ms, DeltaLdtsSource *source)
{
    DeltaLdtsSource src = DELTA_LDTS_FILE_MTIME;
    int64_t ms = mtime_ms;
    if (ci && ci->has_ict) {
        ms = ci->ict_ms;
        src = DELTA_LDTS_IN_COMMIT_TIMESTAMP;
    } else if (ci && ci->has_timestamp) {
        ms = ci->timestamp_ms;
        src = DELTA_LDTS_COMMIT_INFO;
    }
    if (source) *source = src;
    return ms;
}

int64_t delta_commit_time(const uint8_t *data, size_t len, int64_t mtime_ms,
                          DeltaLdtsSource *source)
{
    Arena a;
    arena_init(&a, 1024);
    DeltaCommitInfo ci;
    bool has = delta_parse_commit_info_line(data, len, &ci, &a);
    int64_t ms = delta_commit_time_info(has ? &ci : NULL, mtime_ms, source);
    arena_free(&a);
    return ms;
}

bool delta_history(Store *table, DeltaHistoryFn fn, void *ctx, DipError *err)
{
    DeltaLogListing l;
    if (!delta_log_list(table, &l, err)) return false;
    Buf b;
    buf_init(&b);
    Arena ar;
    arena_init(&ar, 1 << 12);
    bool ok = true;
    for (size_t k = l.n; ok && k-- > 0;) {
        const DeltaLogFile *f = &l.files[k];
        DeltaHistoryEntry e = {.version = f->version, .file = f->name};
        if (f->kind != DLF_COMMIT) {
            e.checkpoint = true;
            ok = fn(ctx, &e, err);
            continue;
        }
        buf_clear(&b);
        if (!store_read_all(table, f->name, &b, err)) {
            ok = false;
            break;
        }
        DeltaCommitInfo ci;
        arena_reset(&ar);
        bool has = delta_parse_commit_info_line(b.data, b.len, &ci, &ar);
        e.timestamp_ms = delta_commit_time_info(has ? &ci : NULL, f->mtime_ms, &e.timestamp_source);
        e.operation = has ? ci.operation : NULL;
        ok = fn(ctx, &e, err);
    }
    arena_free(&ar);
    buf_free(&b);
    delta_log_listing_free(&l);
    return ok;
}

bool delta_latest_version(Store *table, int64_t *version, DipError *err)
{
    DeltaLogListing l;
    if (!delta_log_list(table, &l, err)) return false;
    *version = delta_log_latest_version(&l);
    delta_log_listing_free(&l);
    return true;
}

bool delta_timestamp_parse_ms(const char *s, int64_t *ms)
{
    DipType t = {.id = DT_TIMESTAMP, .unit = TU_MICROS, .utc = true};
    DeltaValue dv;
    DipError err = {0};
    Arena a;
    arena_init(&a, 256);
    bool ok = delta_partition_value_parse(&t, s, &dv, &a, &err) && !dv.is_null;
    arena_free(&a);
    if (ok) *ms = dv.i / 1000;
    return ok;
}
