/*
 * pq_internal.h: types shared by the files of the Parquet reader (not part of the public
 * API). The footer is parsed once into PqFileMeta (metadata.c); the schema tree becomes a
 * DipSchema plus a PqNode tree that carries the definition/repetition levels each logical
 * node needs (assemble.c); column chunks decode page by page (page.c) into PqColumnData:
 * levels plus dense non-null values in the target representation (encodings.c).
 */
#ifndef DIP_PQ_INTERNAL_H
#define DIP_PQ_INTERNAL_H

#include "parquet/parquet.h"

#include <pthread.h>

/* ------------------------------------------------------------ parquet.thrift enums */

enum {
    PQT_BOOLEAN = 0,
    PQT_INT32,
    PQT_INT64,
    PQT_INT96,
    PQT_FLOAT,
    PQT_DOUBLE,
    PQT_BYTE_ARRAY,
    PQT_FIXED_LEN_BYTE_ARRAY
};
enum { PQR_REQUIRED = 0, PQR_OPTIONAL = 1, PQR_REPEATED = 2 };
enum {
    PQE_PLAIN = 0,
    PQE_PLAIN_DICTIONARY = 2,
    PQE_RLE = 3,
    PQE_BIT_PACKED = 4,
    PQE_DELTA_BINARY_PACKED = 5,
    PQE_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQE_DELTA_BYTE_ARRAY = 7,
    PQE_RLE_DICTIONARY = 8,
    PQE_BYTE_STREAM_SPLIT = 9
};
enum {
    PQC_UNCOMPRESSED = 0,
    PQC_SNAPPY,
    PQC_GZIP,
    PQC_LZO,
    PQC_BROTLI,
    PQC_LZ4,
    PQC_ZSTD,
    PQC_LZ4_RAW
};
enum { PQP_DATA_PAGE = 0, PQP_INDEX_PAGE = 1, PQP_DICTIONARY_PAGE = 2, PQP_DATA_PAGE_V2 = 3 };
/* ConvertedType */
enum {
    PQCT_UTF8 = 0,
    PQCT_MAP,
    PQCT_MAP_KEY_VALUE,
    PQCT_LIST,
    PQCT_ENUM,
    PQCT_DECIMAL,
    PQCT_DATE,
    PQCT_TIME_MILLIS,
    PQCT_TIME_MICROS,
    PQCT_TIMESTAMP_MILLIS,
    PQCT_TIMESTAMP_MICROS,
    PQCT_UINT_8,
    PQCT_UINT_16,
    PQCT_UINT_32,
    PQCT_UINT_64,
    PQCT_INT_8,
    PQCT_INT_16,
    PQCT_INT_32,
    PQCT_INT_64,
    PQCT_JSON,
    PQCT_BSON,
    PQCT_INTERVAL
};
/* LogicalType union field ids */
enum {
    PQL_NONE = 0,
    PQL_STRING = 1,
    PQL_MAP = 2,
    PQL_LIST = 3,
    PQL_ENUM = 4,
    PQL_DECIMAL = 5,
    PQL_DATE = 6,
    PQL_TIME = 7,
    PQL_TIMESTAMP = 8,
    PQL_INTEGER = 10,
    PQL_UNKNOWN = 11,
    PQL_JSON = 12,
    PQL_BSON = 13,
    PQL_UUID = 14,
    PQL_FLOAT16 = 15,
    PQL_VARIANT = 16
};

/* ------------------------------------------------------------ thrift.c */

enum {
    TT_STOP = 0,
    TT_TRUE = 1,
    TT_FALSE = 2,
    TT_BYTE = 3,
    TT_I16 = 4,
    TT_I32 = 5,
    TT_I64 = 6,
    TT_DOUBLE = 7,
    TT_BINARY = 8,
    TT_LIST = 9,
    TT_SET = 10,
    TT_MAP = 11,
    TT_STRUCT = 12
};
#define THRIFT_MAX_DEPTH 32

typedef struct ThriftReader {
    const uint8_t *p;
    const uint8_t *start;
    const uint8_t *end;
    uint64_t base; /* file offset of start (for messages) */
    int depth;     /* nested structs/containers, capped at THRIFT_MAX_DEPTH */
    DipError *err;
} ThriftReader;

void thrift_init(ThriftReader *r, const uint8_t *p, size_t n, uint64_t base, DipError *err);
uint64_t thrift_offset(const ThriftReader *r);
bool thrift_struct_begin(ThriftReader *r) DIP_MUST_CHECK;
void thrift_struct_end(ThriftReader *r);
/* Next field of the current struct; *type == TT_STOP at the end. */
bool thrift_field(ThriftReader *r, int16_t *last_id, int16_t *id, int *type) DIP_MUST_CHECK;
bool thrift_read_bool(ThriftReader *r, int type, bool *out) DIP_MUST_CHECK;
bool thrift_read_i32(ThriftReader *r, int type, int32_t *out) DIP_MUST_CHECK;
bool thrift_read_i64(ThriftReader *r, int type, int64_t *out) DIP_MUST_CHECK;
bool thrift_read_binary(ThriftReader *r, int type, const uint8_t **p, uint32_t *n) DIP_MUST_CHECK;
/* List/set header; count is checked against the bytes left (every element needs >= 1). */
bool thrift_list_begin(ThriftReader *r, int type, int *elem_type, uint32_t *count) DIP_MUST_CHECK;
bool thrift_read_elem_i32(ThriftReader *r, int elem_type, int32_t *out) DIP_MUST_CHECK;
bool thrift_skip(ThriftReader *r, int type) DIP_MUST_CHECK;

/* ------------------------------------------------------------ metadata.c */

typedef struct PqBytes {
    const uint8_t *p; /* into the footer buffer */
    uint32_t len;
} PqBytes;

typedef struct PqStats {
    bool has_min, has_max, has_null_count, has_distinct_count;
    bool legacy; /* min/max came from the deprecated fields 1/2 */
    PqBytes min, max;
    int64_t null_count, distinct_count;
} PqStats;

typedef struct PqLogical {
    int kind;                 /* PQL_*, PQL_NONE when absent */
    int bit_width;            /* INTEGER */
    bool is_signed;           /* INTEGER */
    bool utc;                 /* TIME, TIMESTAMP: isAdjustedToUTC */
    int unit;                 /* TIME, TIMESTAMP: 1 millis, 2 micros, 3 nanos */
    int32_t scale, precision; /* DECIMAL */
} PqLogical;

typedef struct PqSchemaElem {
    char *name;
    int type; /* physical type, -1 for groups */
    int32_t type_length;
    int repetition; /* PQR_*, -1 when absent (the root) */
    int32_t num_children;
    int converted;                      /* PQCT_*, -1 when absent */
    int32_t scale, precision, field_id; /* field_id -1 when absent */
    PqLogical logical;
} PqSchemaElem;

typedef struct PqChunkMeta {
    char *file_path; /* chunk in another file: unsupported */
    int type;
    uint32_t encodings; /* bit (1 << encoding) */
    char *path;         /* dotted path_in_schema */
    int codec;
    int64_t num_values;
    int64_t total_uncompressed_size;
    int64_t total_compressed_size;
    int64_t data_page_offset;
    int64_t index_page_offset;      /* -1 when absent */
    int64_t dictionary_page_offset; /* -1 when absent */
    bool has_meta_data;
    PqStats stats;
} PqChunkMeta;

typedef struct PqRowGroupMeta {
    int64_t num_rows;
    int64_t total_byte_size;
    int ncols;
    PqChunkMeta *cols;
} PqRowGroupMeta;

typedef struct PqKeyValue {
    char *key;
    char *value; /* NULL when absent */
} PqKeyValue;

typedef struct PqFileMeta {
    int32_t version;
    int nschema;
    PqSchemaElem *schema;
    int64_t num_rows;
    int nrg;
    PqRowGroupMeta *rgs;
    int nkv;
    PqKeyValue *kv;
    char *created_by;
} PqFileMeta;

/* How a leaf's physical values become its DipType's values. */
typedef enum {
    PQV_BOOL,        /* BOOLEAN -> uint8 */
    PQV_I32,         /* INT32 -> 4 bytes (int32, uint32, date) */
    PQV_I32_TO_I8,   /* INT32 -> 1 byte (int8, uint8) */
    PQV_I32_TO_I16,  /* INT32 -> 2 bytes */
    PQV_I32_TO_I64,  /* INT32 -> int64 (time millis) */
    PQV_I32_TO_DEC,  /* INT32 -> __int128 */
    PQV_I64,         /* INT64 -> 8 bytes */
    PQV_I64_TO_DEC,  /* INT64 -> __int128 */
    PQV_INT96_TO_NS, /* INT96 -> int64 nanoseconds since epoch */
    PQV_F32,
    PQV_F64,
    PQV_F16_TO_F32,   /* FLBA(2) FLOAT16 -> float */
    PQV_BYTES,        /* BYTE_ARRAY / FLBA -> offsets + data */
    PQV_BYTES_TO_DEC, /* BYTE_ARRAY / FLBA big-endian two's complement -> __int128 */
} PqConv;

typedef struct PqLeaf {
    char *path;          /* dotted schema path (for messages) */
    int phys;            /* PQT_* */
    int32_t type_length; /* FIXED_LEN_BYTE_ARRAY width */
    int16_t max_def, max_rep;
    PqConv conv;
    int width; /* target value width in bytes, 0 for varlen */
    int top;   /* index of the top-level field it belongs to */
} PqLeaf;

typedef enum { PQN_LEAF, PQN_STRUCT, PQN_LIST, PQN_MAP } PqNodeKind;

/* A logical node with the levels that decide its slots and nulls (see assemble.c). */
typedef struct PqNode {
    PqNodeKind kind;
    int16_t def;      /* definition level at which this node is non-null */
    int16_t slot_rep; /* rep level of the nearest enclosing repeated node, 0 = row */
    int16_t slot_def; /* def level at which that repeated node holds an element */
    int16_t elem_rep; /* LIST/MAP: levels of the repeated node */
    int16_t elem_def;
    int leaf;    /* LEAF: leaf index; others: first leaf below */
    int nleaves; /* leaves below (1 for a leaf) */
    int nchildren;
    struct PqNode *children;
} PqNode;

struct PqFile {
    char *name;
    Store *st; /* NULL for memory images */
    const uint8_t *mem;
    uint64_t size;
    pthread_mutex_t read_lock; /* the store keeps one open descriptor: serialise reads */
    Arena arena;               /* footer, metadata, schema, nodes */
    uint8_t *footer;
    uint32_t footer_len;
    PqFileMeta meta;
    DipSchema schema;
    PqNode *roots; /* one per schema field */
    int nleaves;
    PqLeaf *leaves;
    int threads; /* decode pool size (pq_file_set_threads) */
    /* store handles of pool threads that finished, kept for the next pool (a cursor per row
     * group would otherwise open new connections to S3 each time); closed with the file */
    pthread_mutex_t spare_lock;
    Store *spare[64];
    int nspare;
};

bool pq_parse_file_meta(const uint8_t *p, size_t n, uint64_t base, Arena *a, PqFileMeta *m,
                        DipError *err) DIP_MUST_CHECK;
bool pq_build_schema(PqFile *f, DipError *err) DIP_MUST_CHECK;
const char *pq_type_name(int t);
const char *pq_codec_name(int c);
const char *pq_encoding_name(int e);
const char *pq_converted_name(int c);

/* ------------------------------------------------------------ codec.c */

/* Decompresses exactly dst_len bytes; anything else is a data error. */
bool pq_decompress(int codec, const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len,
                   DipError *err) DIP_MUST_CHECK;

/* ------------------------------------------------------------ rle.c */

typedef struct RleDecoder {
    const uint8_t *p, *end;
    int bw;            /* bit width, 0..32 */
    uint32_t rle_left; /* values left in the current RLE run */
    uint32_t rle_value;
    uint32_t bp_left;  /* values left in the current bit-packed run */
    const uint8_t *bp; /* start of the current bit-packed run */
    uint32_t bp_pos;   /* values consumed in it */
} RleDecoder;

void rle_init(RleDecoder *d, const uint8_t *p, size_t n, int bw);
/* Decodes exactly n values; running out of input is an error. */
bool rle_get_u32(RleDecoder *d, uint32_t *out, int64_t n, DipError *err) DIP_MUST_CHECK;
bool rle_get_u16(RleDecoder *d, uint16_t *out, int64_t n, DipError *err) DIP_MUST_CHECK;
bool rle_get_u8(RleDecoder *d, uint8_t *out, int64_t n, DipError *err) DIP_MUST_CHECK;
/* Unpacks n values of bw (0..64) bits, LSB first, from p (which holds >= ceil(n*bw/8)
 * bytes). */
void bit_unpack_u32(const uint8_t *p, size_t avail, int bw, uint32_t *out, int64_t n);
void bit_unpack_u64(const uint8_t *p, size_t avail, int bw, uint64_t *out, int64_t n);
bool uleb_read(const uint8_t **p, const uint8_t *end, uint64_t *out);

/* ------------------------------------------------------------ encodings.c */

/* Dense decoded values in the target representation. Buffers are malloc'd and reused. */
typedef struct PqValues {
    int64_t n;
    uint8_t *fixed; /* n * width bytes */
    size_t fixed_cap;
    int64_t *offsets;   /* varlen: n + 1 */
    size_t offsets_cap; /* entries */
    uint8_t *data;
    size_t data_len, data_cap;
} PqValues;

/* Scratch owned by one decoding thread. */
typedef struct PqScratch {
    uint8_t *chunk;
    size_t chunk_cap; /* compressed column chunk */
    uint8_t *page;
    size_t page_cap; /* decompressed page */
    uint32_t *idx;
    size_t idx_cap; /* dictionary indices */
    uint64_t *tmp;
    size_t tmp_cap; /* delta decoding, 8-byte temporaries */
    uint8_t *tmpb;
    size_t tmpb_cap;  /* byte-stream-split / delta byte array */
    Store *own_store; /* a pool thread's own store handle (NULL: the file's, under its lock) */
} PqScratch;

void pq_values_free(PqValues *v);
void pq_values_reset(PqValues *v);
/* Ensures room for `more` values and `more_data` bytes. Checks the data cap. */
bool pq_values_reserve(PqValues *v, const PqLeaf *lf, int64_t more, size_t more_data,
                       DipError *err) DIP_MUST_CHECK;
void pq_scratch_free(PqScratch *s);
void *pq_grow(void **p, size_t *cap, size_t need); /* keeps contents */

/* Bytes of one value of a fixed-width physical type (FLBA: its length); 0 for BOOLEAN and
 * BYTE_ARRAY. */
int pq_phys_width(const PqLeaf *lf);
bool pq_decode_plain(const PqLeaf *lf, const uint8_t *p, size_t len, int64_t n, PqValues *out,
                     size_t *used, DipError *err) DIP_MUST_CHECK;
bool pq_decode_dict_ids(const PqLeaf *lf, const uint8_t *p, size_t len, int64_t n,
                        const PqValues *dict, PqValues *out, PqScratch *s,
                        DipError *err) DIP_MUST_CHECK;
/* The next n dictionary indices from an RLE/bit-packed decoder, gathered from dict. */
bool pq_decode_dict_rle(const PqLeaf *lf, RleDecoder *d, int64_t n, const PqValues *dict,
                        PqValues *out, PqScratch *s, DipError *err) DIP_MUST_CHECK;
bool pq_decode_bool_rle(const uint8_t *p, size_t len, int64_t n, PqValues *out,
                        DipError *err) DIP_MUST_CHECK;
bool pq_decode_delta_binary(const PqLeaf *lf, const uint8_t *p, size_t len, int64_t n,
                            PqValues *out, PqScratch *s, DipError *err) DIP_MUST_CHECK;
bool pq_decode_delta_length(const PqLeaf *lf, const uint8_t *p, size_t len, int64_t n,
                            PqValues *out, PqScratch *s, DipError *err) DIP_MUST_CHECK;
bool pq_decode_delta_byte_array(const PqLeaf *lf, const uint8_t *p, size_t len, int64_t n,
                                PqValues *out, PqScratch *s, DipError *err) DIP_MUST_CHECK;
bool pq_decode_byte_stream_split(const PqLeaf *lf, const uint8_t *p, size_t len, int64_t n,
                                 PqValues *out, PqScratch *s, DipError *err) DIP_MUST_CHECK;
/* DELTA_BINARY_PACKED into 64-bit integers; *used = bytes consumed (for the encodings that
 * embed it). */
bool pq_delta_decode_i64(const uint8_t *p, size_t len, int64_t n, uint64_t *out, size_t *used,
                         bool is32, DipError *err) DIP_MUST_CHECK;

/* Global caps against hostile input (the fuzzer lowers them). */
extern size_t pq_limit_chunk_bytes;  /* decoded variable-length bytes per column chunk */
extern size_t pq_limit_page_bytes;   /* one uncompressed page */
extern size_t pq_limit_chunk_values; /* values (level entries) in one column chunk */

/* ------------------------------------------------------------ page.c */

typedef struct PqColumnData {
    int64_t nlevels; /* level entries (values incl. nulls) */
    int16_t *def;    /* NULL when max_def == 0 */
    int16_t *rep;    /* NULL when max_rep == 0 */
    size_t def_cap, rep_cap;
    PqValues vals; /* dense non-null values */
    PqValues dict;
    bool has_dict;
    int64_t pages, crc_checked;
    uint64_t compressed_bytes, uncompressed_bytes;
} PqColumnData;

void pq_column_data_free(PqColumnData *cd);

/* One column chunk read as a stream of pages: its bytes come through ranged reads in pieces
 * of PQ_READ_PIECE (the read-ahead; a larger page gets one piece of its own size), each data
 * page is checked, decompressed and decoded as it is reached, and appended to `cd`. Callers
 * take rows off the front (pq_stream_take); what a page holds beyond the rows taken stays
 * decoded for the next take, never re-read. Dictionary pages are decoded once into cd.dict. */
#define PQ_READ_PIECE ((size_t)2 << 20)
/* Level entries decoded at a time from a large page. */
#define PQ_PAGE_PIECE_LEVELS 16384

/* A data page of at least pq_stream_min_page_bytes (uncompressed; or 1/8 as many entries) in PLAIN
 * (not boolean) or dictionary encoding, UNCOMPRESSED, SNAPPY or ZSTD, RLE levels and no CRC is not
 * decompressed and decoded whole: its bytes are decompressed into a sliding window (snappy keeps 64
 * KiB of history, zstd its own) and decoded PQ_PAGE_PIECE_LEVELS entries at a time, so a page of
 * millions of values (DuckDB writes one page per column chunk) costs a few MiB. Level
 * sections are kept whole (they are compact); dictionary indices stream, run by run. */
typedef struct PqPageRun {
    bool open;
    bool compressed; /* values come through the codec (else straight from the chunk) */
    int codec;
    int enc;
    int64_t left;           /* level entries of the page not decoded yet */
    uint64_t offset;        /* file offset of the page header (messages) */
    size_t cpos, cend;      /* chunk offsets: next stored byte of the page, its end */
    size_t vlen, ulen_left; /* compressed: decompressed bytes in all, not produced yet */
    uint8_t *win;           /* compressed: decompressed bytes [beg, end), history before */
    size_t win_cap, beg, end;
    uint8_t *lv[2]; /* level sections: repetition, definition */
    size_t lv_cap[2];
    RleDecoder rep, def, ids;
    const uint8_t *ids_base; /* dictionary indices: the first byte not consumed */
    void *zstd;              /* ZSTD_DCtx, kept for the chunk */
} PqPageRun;
extern size_t pq_stream_min_page_bytes;

typedef struct PqChunkStream {
    PqFile *f;
    int rg, leaf;
    const PqLeaf *lf;
    const PqRowGroupMeta *g;
    const PqChunkMeta *cm;
    int64_t start, len;     /* the chunk's byte range in the file */
    size_t pos;             /* chunk offset of the next page header */
    bool ended;             /* every page read and the chunk's totals checked */
    int64_t total_values;   /* level entries of the data pages read so far */
    int64_t total_rows;     /* nested: entries with repetition level 0 read so far */
    int64_t levels_decoded; /* level entries decoded so far */
    uint8_t *buf;           /* chunk bytes [buf_at, buf_at + buf_len) */
    size_t buf_cap, buf_at, buf_len;
    PqColumnData cd; /* decoded: levels [lpos, cd.nlevels), values [vpos, cd.vals.n) not taken */
    PqPageRun run;   /* a large page decoded piece by piece */
    int64_t lpos, vpos;
    int64_t rows_avail; /* nested: entries with repetition level 0 in [lpos, cd.nlevels) */
} PqChunkStream;

/* Validates the chunk of leaf `leaf` in row group `rg` against the schema and the file. */
bool pq_stream_open(PqChunkStream *cs, PqFile *f, int rg, int leaf, DipError *err) DIP_MUST_CHECK;
/* Reads the next data page into cs->cd (*got true), or finds the chunk's end (*got false),
 * where the totals are checked against the metadata and the row group. */
bool pq_stream_next_page(PqChunkStream *cs, PqScratch *s, bool *got, DipError *err) DIP_MUST_CHECK;
/* Takes the next `rows` rows (reading pages as needed) as a view into cs->cd, valid until the
 * next call on the stream. A nested column's rows end where the next one starts (repetition
 * level 0), so a list spanning pages is whole. `last`: these are the row group's final rows;
 * the chunk is then read to its end and must hold nothing more. */
bool pq_stream_take(PqChunkStream *cs, PqScratch *s, int64_t rows, bool last, PqColumnData *view,
                    DipError *err) DIP_MUST_CHECK;
/* Marks everything decoded so far as taken (check: decode, count and drop). */
void pq_stream_drop(PqChunkStream *cs);
void pq_stream_close(PqChunkStream *cs);

/* ------------------------------------------------------------ assemble.c */

/* Builds the vector of node `n` (type `t`, its copy in the batch) from the decoded leaves
 * cds[] (indexed by leaf - first leaf of the top-level field). */
bool pq_assemble(const PqFile *f, const PqNode *n, const DipType *t, PqColumnData *cds,
                 int leaf_base, int64_t expect_rows, Arena *a, ColumnVector *out,
                 DipError *err) DIP_MUST_CHECK;

#endif
