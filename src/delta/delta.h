/*
 * delta.h: the public face of dip's Delta Lake reader (delta-io/delta PROTOCOL.md).
 *
 * A DeltaSnapshot is the reconciled state of a table at one version: protocol, metadata
 * (schema with column mapping resolved to logical names, partition columns), the active
 * add files with partition values and deletion vectors, and the version's commit timestamp
 * (the seed's LDTS) with where it came from. A scan reads the active files through the
 * Parquet reader and yields column batches in the table's logical schema (partition columns
 * included, deleted rows removed).
 *
 * This header is the contract used by jobs/sync-pg; the delta module owns it.
 */
#ifndef DIP_DELTA_H
#define DIP_DELTA_H

#include "core/column.h"
#include "store/store.h"

typedef enum {
    DELTA_LDTS_IN_COMMIT_TIMESTAMP = 0, /* commitInfo.inCommitTimestamp */
    DELTA_LDTS_COMMIT_INFO,             /* commitInfo.timestamp */
    DELTA_LDTS_FILE_MTIME,              /* the commit file's modification time */
} DeltaLdtsSource;

typedef struct DeltaDeletionVector {
    char storage_type; /* 'u' (relative path), 'i' (inline), 'p' (absolute path) */
    char *path_or_inline;
    int32_t offset; /* -1 when absent */
    int32_t size_in_bytes;
    int64_t cardinality;
} DeltaDeletionVector;

typedef struct DeltaAddFile {
    char *path;   /* decoded (not URI-encoded) path, relative to the table root or absolute */
    int64_t size; /* -1 when unknown (a removed file in a DeltaDiff) */
    int64_t modification_time;
    int64_t num_records;     /* from stats, -1 when unknown */
    char **partition_values; /* one per partition column (schema order), NULL = null */
    bool has_dv;
    DeltaDeletionVector dv;
    char *stats_json; /* raw stats string or NULL */
} DeltaAddFile;

typedef struct DeltaSnapshot DeltaSnapshot;

/* Opens the snapshot at `version` (-1 = latest) or, when timestamp_ms >= 0, the latest
 * version whose commit timestamp is <= timestamp_ms. Refuses unsupported reader features
 * before reading data. */
bool delta_snapshot_open(DeltaSnapshot **out, Store *table, int64_t version, int64_t timestamp_ms,
                         DipError *err) DIP_MUST_CHECK;
void delta_snapshot_free(DeltaSnapshot *s);

int64_t delta_snapshot_version(const DeltaSnapshot *s);
/* LDTS of the snapshot's version, microseconds since epoch, and its source. */
int64_t delta_snapshot_ldts_us(const DeltaSnapshot *s, DeltaLdtsSource *source);
const DipSchema *
delta_snapshot_schema(const DeltaSnapshot *s); /* logical, partition cols included */
int delta_snapshot_num_partition_columns(const DeltaSnapshot *s);
const char *delta_snapshot_partition_column(const DeltaSnapshot *s, int i);
size_t delta_snapshot_num_files(const DeltaSnapshot *s);
const DeltaAddFile *delta_snapshot_file(const DeltaSnapshot *s, size_t i); /* sorted by path */
const char *delta_ldts_source_name(DeltaLdtsSource s);

/* A commit's timestamp in ms (the one rule: inCommitTimestamp, else commitInfo.timestamp,
 * else mtime_ms, the commit file's modification time) from the commit file's bytes. */
int64_t delta_commit_time(const uint8_t *data, size_t len, int64_t mtime_ms,
                          DeltaLdtsSource *source);

typedef struct DeltaHistoryEntry {
    int64_t version;
    bool checkpoint;      /* a checkpoint file: no timestamp, no operation */
    int64_t timestamp_ms; /* delta_commit_time of the commit */
    DeltaLdtsSource timestamp_source;
    const char *operation; /* commitInfo.operation, NULL when none (valid in the callback) */
    const char *file;      /* the log file, relative to the table */
} DeltaHistoryEntry;
typedef bool (*DeltaHistoryFn)(void *ctx, const DeltaHistoryEntry *e, DipError *err);
/* The table's latest version (from the log listing; no replay). */
bool delta_latest_version(Store *table, int64_t *version, DipError *err) DIP_MUST_CHECK;
/* A timestamp as Delta writes them ("2024-01-02 03:04:05.123456", ISO 8601 with a zone) to
 * ms since the epoch (microseconds dropped); false when it is not one. */
bool delta_timestamp_parse_ms(const char *s, int64_t *ms);
/* A deletion vector's unique id (PROTOCOL.md "Deletion Vector Descriptor"). */
void delta_dv_unique_id(const DeltaDeletionVector *dv, Buf *out);
/* Every commit and checkpoint file of the log, newest first (DESCRIBE HISTORY). */
bool delta_history(Store *table, DeltaHistoryFn fn, void *ctx, DipError *err) DIP_MUST_CHECK;

/* More about a snapshot (additions to the first contract; used by `dip delta info`). */
int delta_snapshot_min_reader_version(const DeltaSnapshot *s);
int delta_snapshot_min_writer_version(const DeltaSnapshot *s);
int delta_snapshot_num_reader_features(const DeltaSnapshot *s);
const char *delta_snapshot_reader_feature(const DeltaSnapshot *s, int i);
int delta_snapshot_num_writer_features(const DeltaSnapshot *s);
const char *delta_snapshot_writer_feature(const DeltaSnapshot *s, int i);
/* Version of the checkpoint the snapshot started from (-1: none) and its kind
 * ("classic", "multi-part", "v2-json", "v2-parquet"). */
int64_t delta_snapshot_checkpoint_version(const DeltaSnapshot *s, const char **kind);
const char *delta_snapshot_column_mapping_mode(const DeltaSnapshot *s); /* none|name|id */
const char *delta_snapshot_table_id(const DeltaSnapshot *s);
const char *delta_snapshot_operation(const DeltaSnapshot *s); /* commitInfo.operation or NULL */

/* Files added and removed between two versions v1 <= v2 (for incremental sync), both
 * sorted by path. Paths are decoded. `added` holds add actions live at v2 that were not
 * live at v1; `removed` holds files (path + DV id) live at v1 that are no longer live at v2.
 * The diff replays only the commits v1+1..v2 when it can (src/delta/diff.c says when it
 * cannot, and then compares the snapshot at v1 with v2's). A removed file then carries what
 * its remove action recorded: path, deletion vector and partition values always, size and
 * stats only when the writer wrote them (extendedFileMetadata; else size and num_records are
 * -1), modification_time 0; one re-added (statistics) within the range carries that add's
 * metadata. DIP_DELTA_DIFF=full forces the snapshot comparison (tests, benchmark). */
typedef struct DeltaDiff {
    DeltaAddFile *added;
    size_t n_added;
    DeltaAddFile *removed;
    size_t n_removed;
    Arena *arena; /* owns the entries (added after the first contract; additive) */
} DeltaDiff;
bool delta_snapshot_diff(Store *table, int64_t v1, int64_t v2, DeltaDiff *out,
                         DipError *err) DIP_MUST_CHECK;
/* The same diff against a snapshot already open (v2 = its version): its metadata is used,
 * and the snapshot at v2 is not opened again. */
bool delta_snapshot_diff_from(const DeltaSnapshot *v2, Store *table, int64_t v1, DeltaDiff *out,
                              DipError *err) DIP_MUST_CHECK;
void delta_diff_free(DeltaDiff *d);

/* Scanning one active file: yields batches of at most the scan's window of rows (default
 * DELTA_SCAN_WINDOW_ROWS, the DELTA_CLIENT_BATCH_SIZE default) in the snapshot's logical
 * schema (projected to cols when cols != NULL), partition values filled in and rows deleted by
 * the file's deletion vector removed. The file is read through a Parquet row-group cursor, so
 * memory follows the window, not the row group. */
#define DELTA_SCAN_WINDOW_ROWS 100000
typedef struct DeltaFileScan DeltaFileScan;
bool delta_file_scan_open(DeltaFileScan **out, const DeltaSnapshot *s, const DeltaAddFile *f,
                          const int *cols, int ncols, DipError *err) DIP_MUST_CHECK;
/* Rows per batch from now on (<= 0: the default). DIP_PARQUET_WINDOW_ROWS overrides it. */
void delta_file_scan_set_window(DeltaFileScan *scan, int64_t rows);
/* Decoding threads (pq_file_set_threads): above 1, the next window is decoded, its columns
 * spread over them, while the caller uses the current one. Default 1. */
void delta_file_scan_set_threads(DeltaFileScan *scan, int threads);
/* *done = true when the file is exhausted (out then untouched). */
bool delta_file_scan_next(DeltaFileScan *scan, ColumnBatch *out, bool *done,
                          DipError *err) DIP_MUST_CHECK;
void delta_file_scan_close(DeltaFileScan *scan);

/* Reads the deleted row indexes of a deletion vector (sorted, unique). */
bool delta_dv_read(Store *table, const DeltaDeletionVector *dv, uint64_t **rows, size_t *n,
                   DipError *err) DIP_MUST_CHECK;

#endif /* DIP_DELTA_H */
