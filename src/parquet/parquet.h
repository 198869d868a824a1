/*
 * parquet.h: the public face of dip's Parquet reader.
 *
 * Implements apache/parquet-format: the Thrift compact-protocol footer and page headers
 * (our own decoder), data pages v1 and v2, dictionary pages, every encoding and codec listed
 * in README, logical and converted types, and definition/repetition levels assembled into
 * nested column vectors (struct, list, map, legacy two-level lists).
 *
 * Streaming: a PqFile keeps the footer only. A PqRowGroupCursor reads the projected column
 * chunks of one row group page by page (ranged reads through the store in pieces of a few
 * MiB) and yields ColumnBatches of at most `window_rows` rows, so memory follows the window,
 * not the row group: per projected leaf, one read piece, the page being taken apart and the
 * window's rows. pq_read_row_group is the same cursor with one window as large as the row
 * group (small files: checkpoints, tests).
 */
#ifndef DIP_PARQUET_H
#define DIP_PARQUET_H

#include "core/column.h"
#include "store/store.h"

typedef struct PqFile PqFile;

/* Opens `name` in `st`; size 0 means "stat it". Reads and validates the footer. */
bool pq_file_open(PqFile **out, Store *st, const char *name, uint64_t size,
                  DipError *err) DIP_MUST_CHECK;
/* Opens from a memory image (fuzzers, tests). The bytes must outlive the PqFile. */
bool pq_file_open_mem(PqFile **out, const uint8_t *data, size_t len, const char *name,
                      DipError *err) DIP_MUST_CHECK;
void pq_file_close(PqFile *f);

/* Logical schema: top-level fields with nested types, as readers see them. */
const DipSchema *pq_file_schema(const PqFile *f);
int64_t pq_file_num_rows(const PqFile *f);
int pq_file_num_row_groups(const PqFile *f);
int64_t pq_row_group_num_rows(const PqFile *f, int rg);
const char *pq_file_name(const PqFile *f);

/* Decodes row group `rg`, projecting top-level fields `cols[0..ncols)` (indices into
 * pq_file_schema; cols == NULL means all, in schema order) into `out` (initialised by the
 * call; out->schema points at a projected schema owned by the batch's arena). Page CRCs are
 * verified when present. */
bool pq_read_row_group(PqFile *f, int rg, const int *cols, int ncols, ColumnBatch *out,
                       DipError *err) DIP_MUST_CHECK;

/* A cursor over row group `rg`, projecting like pq_read_row_group, yielding windows of at
 * most `window_rows` rows (>= 1). The environment variable DIP_PARQUET_WINDOW_ROWS, when set
 * to a positive number, overrides window_rows (tests use tiny windows to put boundaries inside
 * pages and lists). Chunk metadata is validated here; pages are read as windows need them. */
typedef struct PqRowGroupCursor PqRowGroupCursor;
bool pq_rg_cursor_open(PqRowGroupCursor **out, PqFile *f, int rg, const int *cols, int ncols,
                       int64_t window_rows, DipError *err) DIP_MUST_CHECK;
/* The next window into `out` (initialised by the call, owns its arena; the schema as in
 * pq_read_row_group). *done = true once every row was yielded (out is then empty). A row
 * group of 0 rows yields one batch of 0 rows. */
bool pq_rg_cursor_next(PqRowGroupCursor *c, ColumnBatch *out, bool *done,
                       DipError *err) DIP_MUST_CHECK;
void pq_rg_cursor_close(PqRowGroupCursor *c);

/* The default window of `dip parquet cat` (rows). */
#define PQ_CAT_WINDOW_ROWS 4096

/* Decode pool size for pq_check (default 1; capped at 64): column chunks decode on different
 * threads, each page by page. Cursors decode on the calling thread. */
void pq_file_set_threads(PqFile *f, int n);

/* Human/JSON descriptions for `dip parquet schema` and `dip parquet meta`. */
void pq_write_schema_text(const PqFile *f, Buf *out);
void pq_write_meta_json(const PqFile *f, Buf *out);

/* Statistics used by `dip parquet check` */
typedef struct PqCheckStats {
    int64_t rows;
    int64_t pages;
    int64_t values;
    int64_t crc_checked; /* pages whose CRC was present and verified */
    uint64_t compressed_bytes;
    uint64_t uncompressed_bytes;
} PqCheckStats;

/* Decodes every page of every column of every row group (all of them, or row group `rg`
 * when rg >= 0), verifying CRCs. */
bool pq_check(PqFile *f, int rg, PqCheckStats *stats, DipError *err) DIP_MUST_CHECK;

#endif /* DIP_PARQUET_H */
