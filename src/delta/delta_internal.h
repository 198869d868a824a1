/*
 * delta_internal.h: the pieces of the Delta reader shared between its files (not a public
 * API). log.c lists _delta_log and picks the log segment, replay.c reconciles actions,
 * checkpoint.c reads checkpoints through the Parquet reader, schema.c parses schemaString,
 * partition.c parses partition values, dv.c decodes deletion vectors, scan.c reads data.
 *
 * Spec: delta-io/delta PROTOCOL.md (sections cited in each file).
 */
#ifndef DIP_DELTA_INTERNAL_H
#define DIP_DELTA_INTERNAL_H

#include "delta/delta.h"

#include <jansson.h>

/* ---------------------------------------------------------------- log listing */

typedef enum {
    DLF_COMMIT = 0, /* NNNNNNNNNNNNNNNNNNNN.json */
    DLF_CLASSIC,    /* N.checkpoint.parquet */
    DLF_MULTIPART,  /* N.checkpoint.o.p.parquet */
    DLF_V2_JSON,    /* N.checkpoint.<uuid>.json */
    DLF_V2_PARQUET, /* N.checkpoint.<uuid>.parquet */
} DeltaLogFileKind;

typedef struct DeltaLogFile {
    DeltaLogFileKind kind;
    int64_t version;
    int part;   /* multi-part: 1-based part number */
    int nparts; /* multi-part: number of parts */
    char *name; /* relative to the table root, e.g. "_delta_log/000...0.json" */
    uint64_t size;
    int64_t mtime_ms;
} DeltaLogFile;

typedef struct DeltaLogListing {
    DeltaLogFile *files; /* sorted by (version, kind, name) */
    size_t n;
    Arena arena;
} DeltaLogListing;

/* Classifies one name under _delta_log/ (the part after the prefix); false when it is not a
 * commit or checkpoint (crc, compacted, _last_checkpoint, temp files). */
bool delta_log_classify(const char *base, DeltaLogFileKind *kind, int64_t *version, int *part,
                        int *nparts);
bool delta_log_list(Store *st, DeltaLogListing *out, DipError *err) DIP_MUST_CHECK;
void delta_log_listing_free(DeltaLogListing *l);

/* The files that make up a snapshot: an optional checkpoint (1 file, or every part of a
 * multi-part one) and the contiguous commits after it up to `version`. */
typedef struct DeltaLogSegment {
    int64_t version;                 /* snapshot version */
    int64_t checkpoint_version;      /* -1 when replaying from commit 0 */
    const DeltaLogFile **checkpoint; /* parts in order */
    int ncheckpoint;
    const DeltaLogFile **commits; /* checkpoint_version+1 .. version */
    size_t ncommits;
    const DeltaLogFile *last_commit; /* commit file of `version` if present (LDTS) */
} DeltaLogSegment;

/* version < 0: latest. Errors name the missing file (gap, missing part, no commit 0). */
bool delta_log_segment(const DeltaLogListing *l, int64_t version, DeltaLogSegment *seg, Arena *a,
                       DipError *err) DIP_MUST_CHECK;
int64_t delta_log_latest_version(const DeltaLogListing *l); /* -1 when empty */

/* ---------------------------------------------------------------- replay */

typedef struct DeltaProtocolRaw {
    int min_reader;
    int min_writer;
    char **reader_features;
    int n_reader_features;
    char **writer_features;
    int n_writer_features;
} DeltaProtocolRaw;

typedef struct DeltaMetadataRaw {
    char *id;
    char *schema_string; /* NULL when absent */
    char **partition_columns;
    int n_partition_columns;
    char **config_keys;
    char **config_vals;
    int nconfig;
} DeltaMetadataRaw;

typedef struct DeltaCommitInfo {
    bool present;
    bool has_ict;
    int64_t ict_ms; /* inCommitTimestamp */
    bool has_timestamp;
    int64_t timestamp_ms; /* commitInfo.timestamp */
    char *operation;
} DeltaCommitInfo;

/* The commit-timestamp rule on parsed commitInfo (NULL = none): history.c. */
int64_t delta_commit_time_info(const DeltaCommitInfo *ci, int64_t mtime_ms,
                               DeltaLdtsSource *source);

/* One file action as read from a commit line or a checkpoint row. Strings point into
 * caller storage; replay copies what it keeps. */
typedef struct DeltaFileAction {
    bool is_add;
    const char *path; /* URI-encoded, as in the log */
    int npv;
    const char **pv_keys;
    const char **pv_vals; /* NULL entry = null value */
    int64_t size;
    int64_t modification_time;
    const char *stats;
    bool has_dv;
    DeltaDeletionVector dv; /* path_or_inline points into caller storage */
    int data_change;        /* dataChange: 1, 0, or -1 when absent */
    bool has_pv;            /* partitionValues present (always for an add) */
} DeltaFileAction;

typedef struct DeltaReplayFile {
    DeltaAddFile f;
    char *key; /* canonical path + '\n' + dv unique id */
    uint64_t hash;
    int npv;
    char **pv_keys; /* raw partitionValues (physical names) */
    char **pv_vals;
    bool live;
    /* range replay only (DeltaReplay.range): the key's first action in the range */
    char first;          /* 'a' add, 'r' remove */
    bool first_dc_false; /* that first action was an add with dataChange false */
    bool has_pv;         /* pv_keys/pv_vals known (an add, or a remove that carried them) */
    uint32_t first_seq;  /* DeltaReplay.seq when the first action was applied */
} DeltaReplayFile;

typedef struct DeltaReplay {
    Arena arena; /* strings of files, protocol, metadata */
    DeltaReplayFile *files;
    size_t nfiles;
    size_t cap;
    uint32_t *slots; /* open addressing: index+1 into files, 0 = empty */
    size_t nslots;   /* power of two */
    bool has_protocol;
    DeltaProtocolRaw protocol;
    bool has_metadata;
    DeltaMetadataRaw metadata;
    DeltaCommitInfo commit_info; /* of the last commit applied */
    const char *source;          /* file being applied, for error messages */
    /* Range replay (diff.c): commits v1+1..v2 only, without the state at v1. A remove of
     * a key never seen is kept (live = false, with what the remove carries: size, stats,
     * partitionValues), and each key records its first action in the range. */
    bool range;
    uint32_t seq;        /* set by the caller before each commit */
    bool seq_has_remove; /* set when a remove is applied (the caller clears it) */
} DeltaReplay;

void delta_replay_init(DeltaReplay *r);
void delta_replay_free(DeltaReplay *r);
bool delta_replay_file_action(DeltaReplay *r, const DeltaFileAction *a,
                              DipError *err) DIP_MUST_CHECK;
/* Applies one commit (newline-delimited JSON actions). `name` is used in errors. When
 * `ci` is not NULL, commitInfo of this commit is stored there. */
bool delta_replay_commit_json(DeltaReplay *r, const char *name, const uint8_t *data, size_t len,
                              DeltaCommitInfo *ci, DipError *err) DIP_MUST_CHECK;
/* Applies one JSON action object (a line of a commit or a V2 JSON checkpoint).
 * `sidecars` (optional) collects sidecar paths of a V2 checkpoint. */
bool delta_replay_json_action(DeltaReplay *r, json_t *obj, DeltaCommitInfo *ci, char ***sidecars,
                              size_t *nsidecars, DipError *err) DIP_MUST_CHECK;
bool delta_parse_commit_info_line(const uint8_t *data, size_t len, DeltaCommitInfo *ci, Arena *a);

/* URI-decodes a path (%XX) once and canonicalises file: URIs to plain absolute paths. */
char *delta_path_decode(Arena *a, const char *path);
/* DV unique id: storageType + pathOrInlineDv [+ "@" + offset]. */

/* ---------------------------------------------------------------- checkpoints */

bool delta_checkpoint_read(Store *st, const DeltaLogSegment *seg, DeltaReplay *r,
                           DipError *err) DIP_MUST_CHECK;
typedef struct PqFile PqFile;
/* Applies the add/remove/metaData/protocol (and sidecar) rows of an open Parquet
 * checkpoint; used by delta_checkpoint_read and the fuzzer. */
bool delta_checkpoint_apply_parquet(PqFile *f, const char *name, DeltaReplay *r,
                                    bool allow_sidecars, char ***sidecars, size_t *nsidecars,
                                    DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- schema */

typedef enum { DELTA_CM_NONE = 0, DELTA_CM_NAME, DELTA_CM_ID } DeltaColumnMappingMode;

/* Physical side of a schema field, mirroring the DipField tree (children of structs; for
 * lists child 0 = element; for maps 0 = key, 1 = value). */
typedef struct DeltaFieldMap {
    char *physical; /* physical name (column mapping) or the logical name */
    int32_t id;     /* delta.columnMapping.id, -1 when absent */
    int nchildren;
    struct DeltaFieldMap *children;
} DeltaFieldMap;

/* Parses a schemaString (PROTOCOL.md "Schema Serialization Format") into a logical schema
 * and its physical mapping. Refuses unknown types (variant, unparsable decimals). */
bool delta_schema_parse(Arena *a, const char *schema_string, DipSchema **schema,
                        DeltaFieldMap **fmap, DipError *err) DIP_MUST_CHECK;
/* Parses a primitive Delta type name into a DipType (no nested types). */
bool delta_type_parse_primitive(const char *name, DipType *t);

/* ---------------------------------------------------------------- partition values */

typedef struct DeltaValue {
    bool is_null;
    int64_t i;     /* ints, bool, date (days), timestamps (micros) */
    double d;      /* float, double */
    __int128 dec;  /* decimal unscaled */
    const char *s; /* string / binary bytes */
    size_t slen;
} DeltaValue;

/* Parses a partition value string per PROTOCOL.md "Partition Value Serialization": NULL or
 * "" is null; timestamps without a zone are UTC. */
bool delta_partition_value_parse(const DipType *t, const char *s, DeltaValue *out, Arena *a,
                                 DipError *err) DIP_MUST_CHECK;
/* Fills `c` (type t) with n copies of v, memory from `a`. */
void delta_vector_fill_constant(ColumnVector *c, const DipType *t, const DeltaValue *v, int64_t n,
                                Arena *a);

/* ---------------------------------------------------------------- deletion vectors */

/* Z85 (ZeroMQ RFC 32) decoding; len must be a multiple of 5. */
bool delta_z85_decode(const char *s, size_t len, uint8_t *out /* len/5*4 */);
/* Decodes a serialised DV bitmap (magic + portable 64-bit Roaring) into sorted row indexes;
 * max_values bounds memory (a larger bitmap is a data error). */
bool delta_dv_decode_bitmap(const uint8_t *p, size_t n, uint64_t max_values, uint64_t **rows,
                            size_t *nrows, DipError *err) DIP_MUST_CHECK;
/* Relative file name of a 'u' DV (prefix + deletion_vector_<uuid>.bin). */
bool delta_dv_relative_path(const DeltaDeletionVector *dv, Buf *out, DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- snapshot */

struct DeltaSnapshot {
    Arena arena;
    Store *store; /* borrowed */
    int64_t version;
    int64_t checkpoint_version;
    const char *checkpoint_kind; /* "classic", "multi-part", "v2-json", "v2-parquet", NULL */
    int64_t ldts_us;
    DeltaLdtsSource ldts_source;
    DeltaProtocolRaw protocol;
    DeltaMetadataRaw metadata;
    DeltaColumnMappingMode cm_mode;
    DipSchema *schema;   /* logical, schema order */
    DeltaFieldMap *fmap; /* one per schema field */
    int npart;
    int *part_index;     /* schema index of each partition column (schema order) */
    DeltaAddFile *files; /* live add files, sorted by path */
    size_t nfiles;
    DeltaCommitInfo commit_info;
    Arena *replay_arena; /* strings of files/protocol/metadata (from replay) */
};

/* Fills f->partition_values (one per partition column of s, schema order, the array from
 * a) from raw partitionValues, matched by physical name, then by logical name; a column not
 * found stays NULL. The strings are copied into a when `copy`, else shared. Returns how many
 * columns were found. */
int delta_snapshot_fill_partition_values(const DeltaSnapshot *s, DeltaAddFile *f, int npv,
                                         char *const *keys, char *const *vals, Arena *a, bool copy);
/* The commit file of version v in a listing, NULL when absent. */
const DeltaLogFile *delta_log_find_commit(const DeltaLogListing *l, int64_t v);

/* ---------------------------------------------------------------- diff */

typedef enum {
    DELTA_DIFF_AUTO = 0,    /* incremental unless impossible or estimated dearer */
    DELTA_DIFF_FULL,        /* open v1 and compare (DIP_DELTA_DIFF=full) */
    DELTA_DIFF_INCREMENTAL, /* incremental unless impossible (no cost estimate) */
} DeltaDiffMode;
/* delta_snapshot_diff_from with the mode given (the public call reads DIP_DELTA_DIFF);
 * *incremental (optional) tells which path produced the diff. */
bool delta_diff_run(const DeltaSnapshot *b, Store *table, int64_t v1, DeltaDiffMode mode,
                    DeltaDiff *out, bool *incremental, DipError *err) DIP_MUST_CHECK;

/* Checks protocol versions and reader features (PROTOCOL.md "Table Features"). */
bool delta_protocol_check(const DeltaProtocolRaw *p, DipError *err) DIP_MUST_CHECK;
const char *delta_config_get(const DeltaMetadataRaw *m, const char *key);
int64_t delta_stats_num_records(const char *stats);

#endif /* DIP_DELTA_INTERNAL_H */
