/*
 * column.h: the column batch, the one currency between parquet, delta, gold and pg
 * (DESIGN.md). Typed vectors with a validity bitmap, offsets + bytes for variable-length
 * values, children for nested types; shaped like Arrow's columnar layout so the decoder can
 * write straight into it and the loaders can read it without per-row allocation.
 *
 * Canonical row output (../shared/ROW_FORMAT.md) is implemented here too, because
 * `dip parquet cat` and `dip delta cat` must print the same format.
 */
#ifndef DIP_COLUMN_H
#define DIP_COLUMN_H

#include "core/core.h"

typedef enum {
    DT_NULL = 0,
    DT_BOOL,      /* values: uint8_t, 0 or 1, one per row */
    DT_INT8,      /* values: int8_t */
    DT_INT16,     /* int16_t */
    DT_INT32,     /* int32_t */
    DT_INT64,     /* int64_t */
    DT_UINT8,     /* uint8_t */
    DT_UINT16,    /* uint16_t */
    DT_UINT32,    /* uint32_t */
    DT_UINT64,    /* uint64_t */
    DT_FLOAT,     /* float */
    DT_DOUBLE,    /* double */
    DT_DECIMAL,   /* __int128 unscaled value; type.precision, type.scale */
    DT_STRING,    /* offsets + data, UTF-8 */
    DT_BINARY,    /* offsets + data */
    DT_FIXED,     /* fixed_len_byte_array with no logical type: offsets + data, type.width */
    DT_UUID,      /* offsets + data, 16 bytes per value */
    DT_JSON,      /* offsets + data (text) */
    DT_ENUM,      /* offsets + data (text) */
    DT_DATE,      /* int32_t days since 1970-01-01 */
    DT_TIME,      /* int64_t in type.unit since midnight */
    DT_TIMESTAMP, /* int64_t in type.unit since epoch; type.utc = adjusted to UTC */
    DT_STRUCT,    /* children[0..nchildren) one per field, same length as the parent */
    DT_LIST,      /* offsets (length+1) into children[0], the element vector */
    DT_MAP,       /* offsets (length+1) into children[0] (keys) and children[1] (values) */
} DipTypeId;

typedef enum { TU_MILLIS = 0, TU_MICROS, TU_NANOS } DipTimeUnit;

typedef struct DipField DipField;

typedef struct DipType {
    DipTypeId id;
    int precision;    /* DT_DECIMAL */
    int scale;        /* DT_DECIMAL */
    int width;        /* DT_FIXED byte width */
    DipTimeUnit unit; /* DT_TIME, DT_TIMESTAMP */
    bool utc;         /* DT_TIMESTAMP: adjusted to UTC (timestamptz) vs local (ntz) */
    int nchildren;    /* DT_STRUCT: fields; DT_LIST: 1 (element); DT_MAP: 2 (key, value) */
    DipField *children;
} DipType;

struct DipField {
    char *name; /* logical name (Delta column mapping already applied) */
    DipType type;
    bool nullable;
    int32_t field_id; /* Parquet field_id or Delta column-mapping id; -1 when absent */
};

typedef struct DipSchema {
    int nfields;
    DipField *fields;
} DipSchema;

typedef struct ColumnVector {
    const DipType *type;
    int64_t length; /* rows (for children: elements) */
    int64_t null_count;
    uint8_t *validity; /* bit i set = row i valid (LSB first); NULL = all valid */
    void *values;      /* fixed-width values, `length` of them (see DipTypeId) */
    int64_t *offsets;  /* variable-length and list/map: length + 1 entries */
    uint8_t *data;     /* bytes for variable-length values */
    int64_t data_len;
    struct ColumnVector *children; /* struct fields, list element, map key + value */
} ColumnVector;

typedef struct ColumnBatch {
    const DipSchema *schema; /* fields of cols, in order; owned elsewhere (file, snapshot) */
    int64_t num_rows;
    int ncols;
    ColumnVector *cols;
    Arena arena; /* owns every buffer of the vectors */
} ColumnBatch;

static inline bool col_is_valid(const ColumnVector *c, int64_t i)
{
    return c->validity == NULL || (c->validity[i >> 3] >> (i & 7)) & 1;
}
static inline void col_set_valid(uint8_t *validity, int64_t i, bool v)
{
    if (v)
        validity[i >> 3] |= (uint8_t)(1u << (i & 7));
    else
        validity[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

/* Width in bytes of one fixed-width value, 0 for variable-length and nested types. */
size_t dip_type_value_width(DipTypeId id);
bool dip_type_is_varlen(DipTypeId id);
const char *dip_type_name(DipTypeId id);
/* Human-readable type text, e.g. "decimal(10,2)", "list<struct<a:int32>>". */
void dip_type_format(const DipType *t, Buf *out);

/* Deep copy of a field / schema into an arena (names and children included). */
void dip_field_copy(Arena *a, DipField *dst, const DipField *src);
DipSchema *dip_schema_copy(Arena *a, const DipSchema *src);
int dip_schema_find(const DipSchema *s, const char *name); /* index or -1 */
/* Appends the top-level column names, ", "-separated (the first 40, then the count), for
 * errors that should say what exists. */
void dip_schema_names(const DipSchema *s, Buf *out);

void column_batch_init(ColumnBatch *b);
void column_batch_free(ColumnBatch *b);

/* Integer value `row` of an integer vector that fits int64 exactly (int8..int64,
 * uint8..uint32); false for any other type. Does not look at validity. */
bool column_value_int64(const ColumnVector *c, int64_t row, int64_t *out);

/* Appends value `row` of vector `c` as canonical JSON (ROW_FORMAT.md). */
void column_value_write_json(JsonWriter *w, const ColumnVector *c, int64_t row);
/* Appends row `row` of the batch as one JSON object (keys = schema field names), no newline.
 * */
void column_batch_write_row_json(JsonWriter *w, const ColumnBatch *b, int64_t row);

/* Canonical text helpers shared with loaders (pg text fallbacks, hashing). */
void dip_format_decimal(__int128 unscaled, int scale, char out[48]);
void dip_format_date(int32_t days, char out[16]);
/* Timestamp text: "YYYY-MM-DDTHH:MM:SS.ffffff" + "Z" when utc (9 digits for nanos). */
void dip_format_timestamp(int64_t v, DipTimeUnit unit, bool utc, char out[48]);
void dip_format_time(int64_t v, DipTimeUnit unit, char out[32]);
void dip_format_uuid(const uint8_t b[16], char out[40]);
void dip_base64(const uint8_t *p, size_t n, Buf *out);
/* Days from civil date and back (proleptic Gregorian), for dates and timestamps. */
int64_t dip_days_from_civil(int64_t y, unsigned m, unsigned d);
void dip_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif /* DIP_COLUMN_H */
