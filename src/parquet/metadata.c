/*
 * metadata.c: the Parquet footer (parquet.thrift FileMetaData, SchemaElement, RowGroup,
 * ColumnChunk, ColumnMetaData, Statistics, LogicalType) and the schema tree.
 *
 * The flattened schema (depth-first, num_children) becomes a DipSchema for readers and a
 * PqNode tree for assembly. Lists and maps follow LogicalTypes.md "Nested Types", including
 * its backward-compatibility rules: a repeated field that is not inside a LIST/MAP
 * annotation is a required list of required elements; inside a LIST, the repeated child is
 * itself the element when it is primitive, has several fields, or is named "array" or
 * "<list>_tuple" (legacy two-level lists); MAP_KEY_VALUE on the outer group reads as MAP.
 * Legacy converted types map exactly as their LogicalType equivalents (TIMESTAMP_MILLIS and
 * TIME_* are adjusted to UTC).
 */
#include "parquet/pq_internal.h"

#include <stdlib.h>
#include <string.h>

#define FIELD_LOOP(r)                                                                              \
    int16_t last_ = 0, id;                                                                         \
    int t;                                                                                         \
    if (!thrift_struct_begin(r)) return false;                                                     \
    for (;;) {                                                                                     \
        if (!thrift_field(r, &last_, &id, &t)) return false;                                       \
        if (t == TT_STOP) break;
#define FIELD_LOOP_END(r)                                                                          \
    }                                                                                              \
    thrift_struct_end(r);

static bool skip(ThriftReader *r, int t)
{
    return thrift_skip(r, t);
}

static bool read_str(ThriftReader *r, int t, Arena *a, char **out)
{
    const uint8_t *p;
    uint32_t n;
    if (!thrift_read_binary(r, t, &p, &n)) return false;
    *out = arena_strndup(a, (const char *)p, n);
    return true;
}

static bool read_bytes(ThriftReader *r, int t, PqBytes *b)
{
    return thrift_read_binary(r, t, &b->p, &b->len);
}

/* ------------------------------------------------------------ LogicalType */

static bool read_empty_struct(ThriftReader *r, int t)
{
    if (t != TT_STRUCT)
        return dip_error_set(r->err, DIP_ERR_DATA, "thrift at offset %llu: expected a struct",
                             (unsigned long long)thrift_offset(r));
    return skip(r, t);
}

static bool read_time_unit(ThriftReader *r, int tt, int *unit)
{
    if (tt != TT_STRUCT) return read_empty_struct(r, tt);
    FIELD_LOOP(r)
    if (id >= 1 && id <= 3 && t == TT_STRUCT) {
        *unit = id;
        if (!skip(r, t)) return false;
    } else if (!skip(r, t)) {
        return false;
    }
    FIELD_LOOP_END(r)
    return true;
}

static bool read_decimal_type(ThriftReader *r, PqLogical *lt)
{
    FIELD_LOOP(r)
    bool ok;
    if (id == 1)
        ok = thrift_read_i32(r, t, &lt->scale);
    else if (id == 2)
        ok = thrift_read_i32(r, t, &lt->precision);
    else
        ok = skip(r, t);
    if (!ok) return false;
    FIELD_LOOP_END(r)
    return true;
}

static bool read_time_type(ThriftReader *r, PqLogical *lt)
{
    FIELD_LOOP(r)
    bool ok;
    if (id == 1)
        ok = thrift_read_bool(r, t, &lt->utc);
    else if (id == 2)
        ok = read_time_unit(r, t, &lt->unit);
    else
        ok = skip(r, t);
    if (!ok) return false;
    FIELD_LOOP_END(r)
    return true;
}

static bool read_int_type(ThriftReader *r, PqLogical *lt)
{
    FIELD_LOOP(r)
    bool ok;
    int32_t bw;
    if (id == 1) {
        ok = thrift_read_i32(r, t, &bw);
        lt->bit_width = bw;
    } else if (id == 2) {
        ok = thrift_read_bool(r, t, &lt->is_signed);
    } else {
        ok = skip(r, t);
    }
    if (!ok) return false;
    FIELD_LOOP_END(r)
    return true;
}

static bool read_logical(ThriftReader *r, int tt, PqLogical *lt)
{
    if (tt != TT_STRUCT) return skip(r, tt);
    FIELD_LOOP(r)
    bool ok;
    if (t != TT_STRUCT) {
        ok = skip(r, t);
    } else {
        lt->kind = id;
        if (id == PQL_DECIMAL)
            ok = read_decimal_type(r, lt);
        else if (id == PQL_TIME || id == PQL_TIMESTAMP)
            ok = read_time_type(r, lt);
        else if (id == PQL_INTEGER)
            ok = read_int_type(r, lt);
        else
            ok = skip(r, t);
    }
    if (!ok) return false;
    FIELD_LOOP_END(r)
    return true;
}

/* ------------------------------------------------------------ SchemaElement */

static bool read_schema_elem(ThriftReader *r, Arena *a, PqSchemaElem *e)
{
    memset(e, 0, sizeof *e);
    e->type = -1;
    e->repetition = -1;
    e->converted = -1;
    e->field_id = -1;
    FIELD_LOOP(r)
    bool ok = true;
    switch (id) {
    case 1:
        ok = thrift_read_i32(r, t, &e->type);
        break;
    case 2:
        ok = thrift_read_i32(r, t, &e->type_length);
        break;
    case 3:
        ok = thrift_read_i32(r, t, &e->repetition);
        break;
    case 4:
        ok = read_str(r, t, a, &e->name);
        break;
    case 5:
        ok = thrift_read_i32(r, t, &e->num_children);
        break;
    case 6:
        ok = thrift_read_i32(r, t, &e->converted);
        break;
    case 7:
        ok = thrift_read_i32(r, t, &e->scale);
        break;
    case 8:
        ok = thrift_read_i32(r, t, &e->precision);
        break;
    case 9:
        ok = thrift_read_i32(r, t, &e->field_id);
        break;
    case 10:
        ok = read_logical(r, t, &e->logical);
        break;
    default:
        ok = skip(r, t);
    }
    if (!ok) return false;
    FIELD_LOOP_END(r)
    if (!e->name) e->name = arena_strdup(a, "");
    return true;
}

/* ------------------------------------------------------------ Statistics */

static bool read_stats(ThriftReader *r, int tt, PqStats *s)
{
    if (tt != TT_STRUCT) return skip(r, tt);
    PqBytes lmin = {0}, lmax = {0};
    bool has_lmin = false, has_lmax = false;
    FIELD_LOOP(r)
    bool ok = true;
    switch (id) {
    case 1:
        ok = read_bytes(r, t, &lmax);
        has_lmax = true;
        break;
    case 2:
        ok = read_bytes(r, t, &lmin);
        has_lmin = true;
        break;
    case 3:
        ok = thrift_read_i64(r, t, &s->null_count);
        s->has_null_count = true;
        break;
    case 4:
        ok = thrift_read_i64(r, t, &s->distinct_count);
        s->has_distinct_count = true;
        break;
    case 5:
        ok = read_bytes(r, t, &s->max);
        s->has_max = true;
        break;
    case 6:
        ok = read_bytes(r, t, &s->min);
        s->has_min = true;
        break;
    default:
        ok = skip(r, t);
    }
    if (!ok) return false;
    FIELD_LOOP_END(r)
    if (!s->has_min && !s->has_max && (has_lmin || has_lmax)) {
        s->legacy = true;
        s->has_min = has_lmin;
        s->has_max = has_lmax;
        s->min = lmin;
        s->max = lmax;
    }
    return true;
}

/* ------------------------------------------------------------ ColumnChunk */

static bool read_str_list_dotted(ThriftReader *r, int tt, Arena *a, char **out)
{
    int et;
    uint32_t n;
    if (!thrift_list_begin(r, tt, &et, &n)) return false;
    Buf b;
    buf_init(&b);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p;
        uint32_t len;
        if (!thrift_read_binary(r, et, &p, &len)) {
            buf_free(&b);
            return false;
        }
        if (i) buf_append_byte(&b, '.');
        buf_append(&b, p, len);
    }
    *out = arena_strdup(a, buf_cstr(&b));
    buf_free(&b);
    return true;
}

static bool read_column_meta(ThriftReader *r, int tt, Arena *a, PqChunkMeta *c)
{
    if (tt != TT_STRUCT) return skip(r, tt);
    c->has_meta_data = true;
    FIELD_LOOP(r)
    bool ok = true;
    switch (id) {
    case 1:
        ok = thrift_read_i32(r, t, &c->type);
        break;
    case 2: {
        int et;
        uint32_t n;
        ok = thrift_list_begin(r, t, &et, &n);
        for (uint32_t i = 0; ok && i < n; i++) {
            int32_t e;
            ok = thrift_read_elem_i32(r, et, &e);
            if (ok && e >= 0 && e < 32) c->encodings |= 1u << e;
        }
        break;
    }
    case 3:
        ok = read_str_list_dotted(r, t, a, &c->path);
        break;
    case 4:
        ok = thrift_read_i32(r, t, &c->codec);
        break;
    case 5:
        ok = thrift_read_i64(r, t, &c->num_values);
        break;
    case 6:
        ok = thrift_read_i64(r, t, &c->total_uncompressed_size);
        break;
    case 7:
        ok = thrift_read_i64(r, t, &c->total_compressed_size);
        break;
    case 9:
        ok = thrift_read_i64(r, t, &c->data_page_offset);
        break;
    case 10:
        ok = thrift_read_i64(r, t, &c->index_page_offset);
        break;
    case 11:
        ok = thrift_read_i64(r, t, &c->dictionary_page_offset);
        break;
    case 12:
        ok = read_stats(r, t, &c->stats);
        break;
    default:
        ok = skip(r, t);
    }
    if (!ok) return false;
    FIELD_LOOP_END(r)
    return true;
}

static bool read_column_chunk(ThriftReader *r, Arena *a, PqChunkMeta *c)
{
    memset(c, 0, sizeof *c);
    c->type = -1;
    c->codec = -1;
    c->index_page_offset = -1;
    c->dictionary_page_offset = -1;
    FIELD_LOOP(r)
    bool ok = true;
    switch (id) {
    case 1:
        ok = read_str(r, t, a, &c->file_path);
        break;
    case 3:
        ok = read_column_meta(r, t, a, c);
        break;
    default:
        ok = skip(r, t);
    }
    if (!ok) return false;
    FIELD_LOOP_END(r)
    if (!c->path) c->path = arena_strdup(a, "?");
    return true;
}

static bool read_row_group(ThriftReader *r, Arena *a, PqRowGroupMeta *g)
{
    memset(g, 0, sizeof *g);
    bool have_cols = false;
    FIELD_LOOP(r)
    bool ok = true;
    switch (id) {
    case 1: {
        int et;
        uint32_t n;
        if (have_cols)
            return dip_error_set(r->err, DIP_ERR_DATA, "thrift: row group lists columns twice");
        have_cols = true;
        ok = thrift_list_begin(r, t, &et, &n);
        if (ok && et != TT_STRUCT)
            return dip_error_set(r->err, DIP_ERR_DATA, "thrift: columns is not a struct list");
        if (ok) {
            g->cols = arena_calloc(a, n ? n : 1, sizeof *g->cols);
            g->ncols = (int)n;
        }
        for (uint32_t i = 0; ok && i < n; i++)
            ok = read_column_chunk(r, a, &g->cols[i]);
        break;
    }
    case 2:
        ok = thrift_read_i64(r, t, &g->total_byte_size);
        break;
    case 3:
        ok = thrift_read_i64(r, t, &g->num_rows);
        break;
    default:
        ok = skip(r, t);
    }
    if (!ok) return false;
    FIELD_LOOP_END(r)
    return true;
}

static bool read_kv(ThriftReader *r, Arena *a, PqKeyValue *kv)
{
    FIELD_LOOP(r)
    bool ok;
    if (id == 1)
        ok = read_str(r, t, a, &kv->key);
    else if (id == 2)
        ok = read_str(r, t, a, &kv->value);
    else
        ok = skip(r, t);
    if (!ok) return false;
    FIELD_LOOP_END(r)
    if (!kv->key) kv->key = arena_strdup(a, "");
    return true;
}

bool pq_parse_file_meta(const uint8_t *p, size_t n, uint64_t base, Arena *a, PqFileMeta *m,
                        DipError *err)
{
    ThriftReader rr, *r = &rr;
    thrift_init(r, p, n, base, err);
    memset(m, 0, sizeof *m);
    bool have_schema = false, have_rgs = false, have_kv = false;
    FIELD_LOOP(r)
    bool ok = true;
    int et;
    uint32_t cnt;
    switch (id) {
    case 1:
        ok = thrift_read_i32(r, t, &m->version);
        break;
    case 2:
        if (have_schema) return dip_error_set(err, DIP_ERR_DATA, "footer lists the schema twice");
        have_schema = true;
        ok = thrift_list_begin(r, t, &et, &cnt);
        if (ok && et != TT_STRUCT)
            return dip_error_set(err, DIP_ERR_DATA, "footer: schema is not a struct list");
        if (ok) {
            m->schema = arena_calloc(a, cnt ? cnt : 1, sizeof *m->schema);
            m->nschema = (int)cnt;
        }
        for (uint32_t i = 0; ok && i < cnt; i++)
            ok = read_schema_elem(r, a, &m->schema[i]);
        break;
    case 3:
        ok = thrift_read_i64(r, t, &m->num_rows);
        break;
    case 4:
        if (have_rgs) return dip_error_set(err, DIP_ERR_DATA, "footer lists row groups twice");
        have_rgs = true;
        ok = thrift_list_begin(r, t, &et, &cnt);
        if (ok && et != TT_STRUCT)
            return dip_error_set(err, DIP_ERR_DATA, "footer: row_groups is not a struct list");
        if (ok) {
            m->rgs = arena_calloc(a, cnt ? cnt : 1, sizeof *m->rgs);
            m->nrg = (int)cnt;
        }
        for (uint32_t i = 0; ok && i < cnt; i++)
            ok = read_row_group(r, a, &m->rgs[i]);
        break;
    case 5:
        if (have_kv)
            return dip_error_set(err, DIP_ERR_DATA, "footer lists key/value metadata twice");
        have_kv = true;
        ok = thrift_list_begin(r, t, &et, &cnt);
        if (ok && et != TT_STRUCT)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "footer: key_value_metadata is not a "
                                 "struct list");
        if (ok) {
            m->kv = arena_calloc(a, cnt ? cnt : 1, sizeof *m->kv);
            m->nkv = (int)cnt;
        }
        for (uint32_t i = 0; ok && i < cnt; i++)
            ok = read_kv(r, a, &m->kv[i]);
        break;
    case 6:
        ok = read_str(r, t, a, &m->created_by);
        break;
    case 8:
        return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                             "footer: the file is encrypted (encryption_algorithm present)");
    default:
        ok = skip(r, t);
    }
    if (!ok) return false;
    FIELD_LOOP_END(r)
    if (!have_schema || m->nschema < 1)
        return dip_error_set(err, DIP_ERR_DATA, "footer has no schema");
    if (m->num_rows < 0) return dip_error_set(err, DIP_ERR_DATA, "footer: negative num_rows");
    return true;
}

/* ------------------------------------------------------------ schema tree */

typedef struct SchemaBuild {
    PqFile *f;
    int *first_child; /* per schema element: index of its first child */
    int next;         /* next unconsumed element */
    int nleaves;
    int cap_leaves;
    DipError *err;
} SchemaBuild;

#define MAX_SCHEMA_DEPTH 64

/* Assigns first_child indices, checking num_children against the elements left. */
static bool index_tree(SchemaBuild *b, int idx, int depth)
{
    PqFileMeta *m = &b->f->meta;
    if (depth > MAX_SCHEMA_DEPTH)
        return dip_error_set(b->err, DIP_ERR_DATA, "schema nested deeper than %d levels",
                             MAX_SCHEMA_DEPTH);
    PqSchemaElem *e = &m->schema[idx];
    if (e->num_children < 0 || e->num_children > m->nschema - b->next)
        return dip_error_set(b->err, DIP_ERR_DATA,
                             "schema element %d (%s) claims %d children, only %d elements left",
                             idx, e->name, e->num_children, m->nschema - b->next);
    b->first_child[idx] = b->next;
    if (idx > 0 && e->num_children == 0 && e->type < 0)
        return dip_error_set(b->err, DIP_ERR_DATA,
                             "schema element %s has neither a type nor children", e->name);
    if (e->num_children > 0 && idx > 0)
        e->type = -1; /* a group: any type field on it is meaningless */
    int kids = e->num_children;
    for (int i = 0; i < kids; i++) {
        if (b->next >= m->nschema)
            return dip_error_set(b->err, DIP_ERR_DATA,
                                 "schema element %s: children run past "
                                 "the end of the schema",
                                 e->name);
        int c = b->next++;
        if (!index_tree(b, c, depth + 1)) return false;
    }
    return true;
}

static int child_of(const SchemaBuild *b, int idx, int k)
{
    /* children are consecutive subtrees: walk siblings by skipping each subtree */
    int c = b->first_child[idx];
    for (int i = 0; i < k; i++) {
        /* subtree size: recursively count */
        int stack = 1;
        int j = c;
        while (stack > 0) {
            stack += b->f->meta.schema[j].num_children - 1;
            j++;
        }
        c = j;
    }
    return c;
}

static bool is_list_annot(const PqSchemaElem *e)
{
    return e->converted == PQCT_LIST || e->logical.kind == PQL_LIST;
}

static bool is_map_annot(const PqSchemaElem *e)
{
    return e->converted == PQCT_MAP || e->converted == PQCT_MAP_KEY_VALUE ||
           e->logical.kind == PQL_MAP;
}

/* Leaf type, decimal: any physical type that can hold the unscaled value. */
static bool leaf_decimal(SchemaBuild *b, const PqSchemaElem *e, DipType *t, PqLeaf *lf)
{
    const PqLogical *lt = &e->logical;
    t->id = DT_DECIMAL;
    t->precision = lt->kind == PQL_DECIMAL ? lt->precision : e->precision;
    t->scale = lt->kind == PQL_DECIMAL ? lt->scale : e->scale;
    if (t->scale < 0 || t->precision < 0 || t->precision > 38 || t->scale > 76)
        return dip_error_set(b->err, DIP_ERR_UNSUPPORTED,
                             "column %s: decimal(%d,%d) outside what dip supports "
                             "(precision <= 38)",
                             e->name, t->precision, t->scale);
    switch (e->type) {
    case PQT_INT32:
        lf->conv = PQV_I32_TO_DEC;
        break;
    case PQT_INT64:
        lf->conv = PQV_I64_TO_DEC;
        break;
    case PQT_BYTE_ARRAY:
    case PQT_FIXED_LEN_BYTE_ARRAY:
        lf->conv = PQV_BYTES_TO_DEC;
        break;
    default:
        return dip_error_set(b->err, DIP_ERR_DATA, "column %s: decimal on physical type %s",
                             e->name, pq_type_name(e->type));
    }
    lf->width = 16;
    return true;
}

/* Leaf type, int32: date, time in milliseconds, or an integer of 8, 16 or 32 bits. */
static bool leaf_int32(SchemaBuild *b, const PqSchemaElem *e, DipType *t, PqLeaf *lf)
{
    const PqLogical *lt = &e->logical;
    int ct = e->converted;
    int bw = 32;
    bool sgn = true;
    if (lt->kind == PQL_INTEGER) {
        bw = lt->bit_width;
        sgn = lt->is_signed;
    } else if (lt->kind == PQL_NONE && ct >= PQCT_UINT_8 && ct <= PQCT_INT_64) {
        static const int bws[] = {8, 16, 32, 64, 8, 16, 32, 64};
        bw = bws[ct - PQCT_UINT_8];
        sgn = ct >= PQCT_INT_8;
    }
    if (lt->kind == PQL_DATE || (lt->kind == PQL_NONE && ct == PQCT_DATE)) {
        t->id = DT_DATE;
        lf->conv = PQV_I32;
    } else if ((lt->kind == PQL_TIME && lt->unit == 1) ||
               (lt->kind == PQL_NONE && ct == PQCT_TIME_MILLIS)) {
        t->id = DT_TIME;
        t->unit = TU_MILLIS;
        lf->conv = PQV_I32_TO_I64;
    } else if (bw == 8) {
        t->id = sgn ? DT_INT8 : DT_UINT8;
        lf->conv = PQV_I32_TO_I8;
    } else if (bw == 16) {
        t->id = sgn ? DT_INT16 : DT_UINT16;
        lf->conv = PQV_I32_TO_I16;
    } else if (bw == 32) {
        t->id = sgn ? DT_INT32 : DT_UINT32;
        lf->conv = PQV_I32;
    } else {
        return dip_error_set(b->err, DIP_ERR_DATA, "column %s: integer(%d) on int32", e->name, bw);
    }
    return true;
}

/* Leaf type, int64: timestamp, time, or a signed or unsigned 64-bit integer. */
static void leaf_int64(const PqSchemaElem *e, DipType *t, PqLeaf *lf)
{
    const PqLogical *lt = &e->logical;
    int ct = e->converted;
    if (lt->kind == PQL_TIMESTAMP) {
        t->id = DT_TIMESTAMP;
        t->unit = lt->unit == 1 ? TU_MILLIS : lt->unit == 3 ? TU_NANOS : TU_MICROS;
        t->utc = lt->utc;
    } else if (lt->kind == PQL_NONE &&
               (ct == PQCT_TIMESTAMP_MILLIS || ct == PQCT_TIMESTAMP_MICROS)) {
        t->id = DT_TIMESTAMP;
        t->unit = ct == PQCT_TIMESTAMP_MILLIS ? TU_MILLIS : TU_MICROS;
        t->utc = true;
    } else if (lt->kind == PQL_TIME) {
        t->id = DT_TIME;
        t->unit = lt->unit == 3 ? TU_NANOS : lt->unit == 1 ? TU_MILLIS : TU_MICROS;
    } else if (lt->kind == PQL_NONE && ct == PQCT_TIME_MICROS) {
        t->id = DT_TIME;
        t->unit = TU_MICROS;
    } else if ((lt->kind == PQL_INTEGER && !lt->is_signed) ||
               (lt->kind == PQL_NONE && ct == PQCT_UINT_64)) {
        t->id = DT_UINT64;
    } else {
        t->id = DT_INT64;
    }
    lf->conv = PQV_I64;
}

/* Leaf type, byte_array: string, enum, JSON or binary. */
static void leaf_bytes(const PqSchemaElem *e, DipType *t, PqLeaf *lf)
{
    const PqLogical *lt = &e->logical;
    int ct = e->converted;
    lf->conv = PQV_BYTES;
    if (lt->kind == PQL_STRING || (lt->kind == PQL_NONE && ct == PQCT_UTF8))
        t->id = DT_STRING;
    else if (lt->kind == PQL_ENUM || (lt->kind == PQL_NONE && ct == PQCT_ENUM))
        t->id = DT_ENUM;
    else if (lt->kind == PQL_JSON || (lt->kind == PQL_NONE && ct == PQCT_JSON))
        t->id = DT_JSON;
    else
        t->id = DT_BINARY;
}

/* Leaf type, fixed_len_byte_array: UUID, float16, string or fixed-width binary. */
static void leaf_fixed(const PqSchemaElem *e, DipType *t, PqLeaf *lf)
{
    const PqLogical *lt = &e->logical;
    lf->conv = PQV_BYTES;
    if (lt->kind == PQL_UUID && e->type_length == 16) {
        t->id = DT_UUID;
    } else if (lt->kind == PQL_FLOAT16 && e->type_length == 2) {
        t->id = DT_FLOAT;
        lf->conv = PQV_F16_TO_F32;
    } else if (lt->kind == PQL_STRING || (lt->kind == PQL_NONE && e->converted == PQCT_UTF8)) {
        t->id = DT_STRING;
    } else {
        t->id = DT_FIXED;
        t->width = e->type_length;
    }
}

/* Leaf type: the DipType and the conversion from the physical values. */
static bool leaf_type(SchemaBuild *b, const PqSchemaElem *e, DipType *t, PqLeaf *lf)
{
    const PqLogical *lt = &e->logical;
    int ph = e->type;
    memset(t, 0, sizeof *t);
    lf->phys = ph;
    lf->type_length = e->type_length;
    if (ph == PQT_FIXED_LEN_BYTE_ARRAY && (e->type_length <= 0 || e->type_length > (1 << 24)))
        return dip_error_set(b->err, DIP_ERR_DATA,
                             "column %s: fixed_len_byte_array with bad "
                             "type_length %d",
                             e->name, e->type_length);
    if (lt->kind == PQL_DECIMAL || (lt->kind == PQL_NONE && e->converted == PQCT_DECIMAL))
        return leaf_decimal(b, e, t, lf);
    switch (ph) {
    case PQT_BOOLEAN:
        t->id = DT_BOOL;
        lf->conv = PQV_BOOL;
        break;
    case PQT_INT32:
        if (!leaf_int32(b, e, t, lf)) return false;
        break;
    case PQT_INT64:
        leaf_int64(e, t, lf);
        break;
    case PQT_INT96:
        t->id = DT_TIMESTAMP;
        t->unit = TU_NANOS;
        t->utc = true;
        lf->conv = PQV_INT96_TO_NS;
        break;
    case PQT_FLOAT:
        t->id = DT_FLOAT;
        lf->conv = PQV_F32;
        break;
    case PQT_DOUBLE:
        t->id = DT_DOUBLE;
        lf->conv = PQV_F64;
        break;
    case PQT_BYTE_ARRAY:
        leaf_bytes(e, t, lf);
        break;
    case PQT_FIXED_LEN_BYTE_ARRAY:
        leaf_fixed(e, t, lf);
        break;
    default:
        return dip_error_set(b->err, DIP_ERR_DATA, "column %s: unknown physical type %d", e->name,
                             ph);
    }
    lf->width = (int)dip_type_value_width(t->id);
    return true;
}

static bool build_node(SchemaBuild *b, int idx, int16_t pdef, int16_t prep, int16_t slot_rep,
                       int16_t slot_def, bool as_element, int top, Buf *path, PqNode *n,
                       DipField *fld, int depth);

static void set_field(SchemaBuild *b, DipField *fld, const PqSchemaElem *e, bool nullable)
{
    fld->name = arena_strdup(&b->f->arena, e->name);
    fld->nullable = nullable;
    fld->field_id = e->field_id;
}

static bool build_children(SchemaBuild *b, int idx, int16_t def, int16_t rep, int16_t slot_rep,
                           int16_t slot_def, int top, Buf *path, PqNode *n, DipField *fld,
                           int depth)
{
    Arena *a = &b->f->arena;
    const PqSchemaElem *e = &b->f->meta.schema[idx];
    int k = e->num_children;
    n->kind = PQN_STRUCT;
    n->nchildren = k;
    n->children = arena_calloc(a, (size_t)k, sizeof(PqNode));
    fld->type.id = DT_STRUCT;
    fld->type.nchildren = k;
    fld->type.children = arena_calloc(a, (size_t)k, sizeof(DipField));
    n->leaf = b->nleaves;
    for (int i = 0; i < k; i++) {
        int c = child_of(b, idx, i);
        if (!build_node(b, c, def, rep, slot_rep, slot_def, false, top, path, &n->children[i],
                        &fld->type.children[i], depth + 1))
            return false;
    }
    n->nleaves = b->nleaves - n->leaf;
    return true;
}

static bool build_node(SchemaBuild *b, int idx, int16_t pdef, int16_t prep, int16_t slot_rep,
                       int16_t slot_def, bool as_element, int top, Buf *path, PqNode *n,
                       DipField *fld, int depth)
{
    PqFile *f = b->f;
    Arena *a = &f->arena;
    const PqSchemaElem *e = &f->meta.schema[idx];
    if (depth > MAX_SCHEMA_DEPTH)
        return dip_error_set(b->err, DIP_ERR_DATA, "schema nested too deeply");
    if (e->repetition < PQR_REQUIRED || e->repetition > PQR_REPEATED)
        return dip_error_set(b->err, DIP_ERR_DATA, "schema element %s: bad repetition_type %d",
                             e->name, e->repetition);
    int16_t def = (int16_t)(pdef + (e->repetition != PQR_REQUIRED));
    int16_t rep = (int16_t)(prep + (e->repetition == PQR_REPEATED));
    size_t path_len = path->len;
    memset(n, 0, sizeof *n);
    n->slot_rep = slot_rep;
    n->slot_def = slot_def;

    if (e->repetition == PQR_REPEATED && !as_element) {
        /* a bare repeated field: a required list of required elements */
        set_field(b, fld, e, false);
        n->kind = PQN_LIST;
        n->def = pdef;
        n->elem_def = def;
        n->elem_rep = rep;
        n->nchildren = 1;
        n->children = arena_calloc(a, 1, sizeof(PqNode));
        fld->type.id = DT_LIST;
        fld->type.nchildren = 1;
        fld->type.children = arena_calloc(a, 1, sizeof(DipField));
        n->leaf = b->nleaves;
        if (!build_node(b, idx, pdef, prep, rep, def, true, top, path, &n->children[0],
                        &fld->type.children[0], depth + 1))
            return false;
        n->nleaves = b->nleaves - n->leaf;
        return true;
    }
    if (path->len) buf_append_byte(path, '.');
    buf_append_str(path, e->name);
    set_field(b, fld, e, !as_element && e->repetition == PQR_OPTIONAL);
    n->def = def;
    bool ok = true;
    if (e->num_children > 0 && is_list_annot(e)) {
        int r = child_of(b, idx, 0);
        const PqSchemaElem *re = &f->meta.schema[r];
        if (e->num_children != 1 || re->repetition != PQR_REPEATED) {
            /* not a conforming list: read it as the struct it is */
            ok = build_children(b, idx, def, rep, slot_rep, slot_def, top, path, n, fld, depth);
        } else {
            int16_t edef = (int16_t)(def + 1), erep = (int16_t)(rep + 1);
            n->kind = PQN_LIST;
            n->elem_def = edef;
            n->elem_rep = erep;
            n->nchildren = 1;
            n->children = arena_calloc(a, 1, sizeof(PqNode));
            fld->type.id = DT_LIST;
            fld->type.nchildren = 1;
            fld->type.children = arena_calloc(a, 1, sizeof(DipField));
            n->leaf = b->nleaves;
            size_t tl = strlen(e->name);
            bool two_level =
                re->num_children == 0 || re->num_children > 1 || strcmp(re->name, "array") == 0 ||
                (strncmp(re->name, e->name, tl) == 0 && strcmp(re->name + tl, "_tuple") == 0);
            if (two_level) {
                ok = build_node(b, r, def, rep, erep, edef, true, top, path, &n->children[0],
                                &fld->type.children[0], depth + 1);
            } else {
                buf_append_byte(path, '.');
                buf_append_str(path, re->name);
                ok = build_node(b, child_of(b, r, 0), edef, erep, erep, edef, false, top, path,
                                &n->children[0], &fld->type.children[0], depth + 1);
            }
            n->nleaves = b->nleaves - n->leaf;
        }
    } else if (e->num_children > 0 && is_map_annot(e) && e->num_children == 1 &&
               f->meta.schema[child_of(b, idx, 0)].repetition == PQR_REPEATED &&
               f->meta.schema[child_of(b, idx, 0)].num_children == 2) {
        int kv = child_of(b, idx, 0);
        const PqSchemaElem *kve = &f->meta.schema[kv];
        int16_t edef = (int16_t)(def + 1), erep = (int16_t)(rep + 1);
        n->kind = PQN_MAP;
        n->elem_def = edef;
        n->elem_rep = erep;
        n->nchildren = 2;
        n->children = arena_calloc(a, 2, sizeof(PqNode));
        fld->type.id = DT_MAP;
        fld->type.nchildren = 2;
        fld->type.children = arena_calloc(a, 2, sizeof(DipField));
        n->leaf = b->nleaves;
        buf_append_byte(path, '.');
        buf_append_str(path, kve->name);
        for (int i = 0; ok && i < 2; i++)
            ok = build_node(b, child_of(b, kv, i), edef, erep, erep, edef, false, top, path,
                            &n->children[i], &fld->type.children[i], depth + 1);
        if (ok) {
            fld->type.children[0].name = arena_strdup(a, "key");
            fld->type.children[1].name = arena_strdup(a, "value");
        }
        n->nleaves = b->nleaves - n->leaf;
    } else if (e->num_children > 0) {
        ok = build_children(b, idx, def, rep, slot_rep, slot_def, top, path, n, fld, depth);
    } else {
        if (b->nleaves >= b->cap_leaves)
            return dip_error_set(b->err, DIP_ERR_DATA, "schema has more leaves than elements");
        PqLeaf *lf = &f->leaves[b->nleaves];
        memset(lf, 0, sizeof *lf);
        if (!leaf_type(b, e, &fld->type, lf)) return false;
        lf->path = arena_strdup(a, buf_cstr(path));
        lf->max_def = def;
        lf->max_rep = rep;
        lf->top = top;
        n->kind = PQN_LEAF;
        n->leaf = b->nleaves++;
        n->nleaves = 1;
    }
    path->len = path_len;
    if (path->data) path->data[path_len] = 0;
    return ok;
}

bool pq_build_schema(PqFile *f, DipError *err)
{
    PqFileMeta *m = &f->meta;
    SchemaBuild b = {.f = f, .err = err, .next = 1};
    b.first_child = dip_calloc((size_t)m->nschema, sizeof(int));
    bool ok = index_tree(&b, 0, 0);
    if (ok && b.next != m->nschema)
        ok = dip_error_set(err, DIP_ERR_DATA, "schema has %d elements but the tree uses %d",
                           m->nschema, b.next);
    if (ok && m->schema[0].num_children == 0)
        ok = dip_error_set(err, DIP_ERR_DATA, "schema has no columns");
    if (ok) {
        int k = m->schema[0].num_children;
        b.cap_leaves = m->nschema;
        f->leaves = arena_calloc(&f->arena, (size_t)m->nschema, sizeof(PqLeaf));
        f->roots = arena_calloc(&f->arena, (size_t)k, sizeof(PqNode));
        f->schema.nfields = k;
        f->schema.fields = arena_calloc(&f->arena, (size_t)k, sizeof(DipField));
        Buf path;
        buf_init(&path);
        for (int i = 0; ok && i < k; i++) {
            buf_clear(&path);
            ok = build_node(&b, child_of(&b, 0, i), 0, 0, 0, 0, false, i, &path, &f->roots[i],
                            &f->schema.fields[i], 1);
        }
        buf_free(&path);
        f->nleaves = b.nleaves;
    }
    free(b.first_child);
    return ok;
}

const char *pq_type_name(int t)
{
    static const char *n[] = {"BOOLEAN", "INT32",  "INT64",      "INT96",
                              "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
    return t >= 0 && t < 8 ? n[t] : "?";
}

const char *pq_codec_name(int c)
{
    static const char *n[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                              "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};
    return c >= 0 && c < 8 ? n[c] : "?";
}

const char *pq_encoding_name(int e)
{
    static const char *n[] = {
        "PLAIN",          "GROUP_VAR_INT",       "PLAIN_DICTIONARY",        "RLE",
        "BIT_PACKED",     "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
        "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
    return e >= 0 && e < 10 ? n[e] : "?";
}

const char *pq_converted_name(int c)
{
    static const char *n[] = {"UTF8",
                              "MAP",
                              "MAP_KEY_VALUE",
                              "LIST",
                              "ENUM",
                              "DECIMAL",
                              "DATE",
                              "TIME_MILLIS",
                              "TIME_MICROS",
                              "TIMESTAMP_MILLIS",
                              "TIMESTAMP_MICROS",
                              "UINT_8",
                              "UINT_16",
                              "UINT_32",
                              "UINT_64",
                              "INT_8",
                              "INT_16",
                              "INT_32",
                              "INT_64",
                              "JSON",
                              "BSON",
                              "INTERVAL"};
    return c >= 0 && c < 22 ? n[c] : "?";
}
