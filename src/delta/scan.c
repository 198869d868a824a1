/*
 * scan.c: reads one active file of a snapshot in the table's logical schema.
 *
 * PROTOCOL.md "Column Mapping" (reader requirements: name mode resolves by physical name,
 * id mode by Parquet field_id, missing columns read as null), "Deletion Vectors" (rows in
 * the DV are not returned), "Partition Value Serialization", "Type Widening" (a file written
 * before a widening holds the narrower type: byte->short->int->long, float->double, ints
 * ->double, decimal precision/scale increase, ints->decimal, date->timestamp_ntz) and
 * schema evolution (a column added after a file was written reads as null).
 *
 * One batch per Parquet row group: the row group is decoded with a projection of the
 * columns we need, its vectors are adopted without copying when the file type already is
 * the logical type (only type pointers change), cast when it was narrower, and compacted
 * when the deletion vector removes rows of this row group. Memory: one row group.
 */
#include "delta/delta_internal.h"
#include "parquet/parquet.h"

#include <stdlib.h>
#include <string.h>

typedef enum { SRC_PARQUET = 0, SRC_PARTITION, SRC_MISSING } ColSource;

struct DeltaFileScan {
    const DeltaSnapshot *s;
    const DeltaAddFile *f;
    PqFile *pf;
    Arena arena;                 /* scan lifetime: schema, partition values */
    const DipSchema *out_schema; /* projected logical schema */
    int nout;
    int *out_field; /* snapshot schema index per output column */
    ColSource *src;
    int *pq_pos;      /* position in the projected parquet batch */
    DeltaValue *pval; /* partition value per output column */
    int *pq_cols;     /* projection into the file schema */
    int npq;
    uint64_t *dv_rows; /* sorted deleted row indexes, whole file */
    size_t ndv;
    size_t dv_pos;
    int rg;
    int nrg;
    int64_t row_base;      /* file row index of the next window's first row */
    int64_t window;        /* rows per batch */
    PqRowGroupCursor *cur; /* the row group being read (NULL between row groups) */
    int64_t rg_left;       /* rows of the current row group not yet yielded */
};

/* ---------------------------------------------------------------- helpers */

static void null_vector(ColumnVector *c, const DipType *t, int64_t n, Arena *a)
{
    memset(c, 0, sizeof *c);
    c->type = t;
    c->length = n;
    c->null_count = n;
    size_t nb = (size_t)(n + 7) / 8;
    c->validity = arena_calloc(a, nb ? nb : 1, 1);
    size_t w = dip_type_value_width(t->id);
    if (w) c->values = arena_calloc(a, (size_t)(n ? n : 1), w);
    if (dip_type_is_varlen(t->id) || t->id == DT_LIST || t->id == DT_MAP) {
        c->offsets = arena_calloc(a, (size_t)n + 1, sizeof(int64_t));
        c->data = arena_calloc(a, 1, 1);
    }
    if (t->nchildren > 0) {
        c->children = arena_calloc(a, (size_t)t->nchildren, sizeof(ColumnVector));
        int64_t cn = t->id == DT_STRUCT ? n : 0;
        for (int i = 0; i < t->nchildren; i++)
            null_vector(&c->children[i], &t->children[i].type, cn, a);
        if (t->id != DT_STRUCT)
            for (int i = 0; i < t->nchildren; i++) {
                c->children[i].null_count = 0;
            }
    }
}

static bool is_int(DipTypeId id)
{
    return id == DT_INT8 || id == DT_INT16 || id == DT_INT32 || id == DT_INT64 || id == DT_UINT8 ||
           id == DT_UINT16 || id == DT_UINT32 || id == DT_UINT64;
}

static int64_t get_int(const ColumnVector *c, int64_t i)
{
    switch (c->type->id) {
    case DT_INT8:
        return ((const int8_t *)c->values)[i];
    case DT_INT16:
        return ((const int16_t *)c->values)[i];
    case DT_INT32:
        return ((const int32_t *)c->values)[i];
    case DT_INT64:
        return ((const int64_t *)c->values)[i];
    case DT_UINT8:
        return ((const uint8_t *)c->values)[i];
    case DT_UINT16:
        return ((const uint16_t *)c->values)[i];
    case DT_UINT32:
        return ((const uint32_t *)c->values)[i];
    case DT_UINT64:
        return (int64_t)((const uint64_t *)c->values)[i];
    case DT_DATE:
        return ((const int32_t *)c->values)[i];
    case DT_TIMESTAMP:
    case DT_TIME:
        return ((const int64_t *)c->values)[i];
    case DT_BOOL:
        return ((const uint8_t *)c->values)[i];
    default:
        return 0;
    }
}

static void put_int(ColumnVector *c, int64_t i, int64_t v)
{
    switch (c->type->id) {
    case DT_INT8:
        ((int8_t *)c->values)[i] = (int8_t)v;
        break;
    case DT_INT16:
        ((int16_t *)c->values)[i] = (int16_t)v;
        break;
    case DT_INT32:
    case DT_DATE:
        ((int32_t *)c->values)[i] = (int32_t)v;
        break;
    case DT_INT64:
    case DT_TIMESTAMP:
    case DT_TIME:
        ((int64_t *)c->values)[i] = v;
        break;
    case DT_BOOL:
        ((uint8_t *)c->values)[i] = (uint8_t)(v != 0);
        break;
    default:
        break;
    }
}

static bool int_fits(DipTypeId id, int64_t v)
{
    switch (id) {
    case DT_INT8:
        return v >= INT8_MIN && v <= INT8_MAX;
    case DT_INT16:
        return v >= INT16_MIN && v <= INT16_MAX;
    case DT_INT32:
        return v >= INT32_MIN && v <= INT32_MAX;
    case DT_UINT8:
        return v >= 0 && v <= UINT8_MAX;
    case DT_UINT16:
        return v >= 0 && v <= UINT16_MAX;
    case DT_UINT32:
        return v >= 0 && v <= (int64_t)UINT32_MAX;
    case DT_UINT64:
        return v >= 0;
    default:
        return true;
    }
}

static __int128 pow10_i128(int n)
{
    __int128 v = 1;
    for (int i = 0; i < n; i++)
        v *= 10;
    return v;
}

static int64_t ts_to_micros(int64_t v, DipTimeUnit u)
{
    switch (u) {
    case TU_MILLIS:
        return v * 1000;
    case TU_NANOS:
        return v >= 0 ? v / 1000 : -((-v + 999) / 1000); /* floor */
    default:
        return v;
    }
}

static bool same_repr(const DipType *a, const DipType *b)
{
    if (a->id != b->id) return (dip_type_is_varlen(a->id) && dip_type_is_varlen(b->id));
    switch (a->id) {
    case DT_DECIMAL:
        return a->scale == b->scale;
    case DT_TIMESTAMP:
    case DT_TIME:
        return a->unit == b->unit;
    default:
        return true;
    }
}

/* Casts a primitive vector to `t` (type widening and physical representation changes). */
static bool cast_primitive(ColumnVector *dst, const DipType *t, const ColumnVector *src, Arena *a,
                           const char *col, DipError *err)
{
    const DipType *st = src->type;
    int64_t n = src->length;
    *dst = *src;
    dst->type = t;
    dst->children = NULL;
    if (t->id == DT_NULL) {
        null_vector(dst, t, n, a);
        return true;
    }
    if (same_repr(st, t)) return true;
    size_t w = dip_type_value_width(t->id);
    if (w == 0) goto unsupported;
    dst->offsets = NULL;
    dst->data = NULL;
    dst->data_len = 0;
    dst->values = arena_calloc(a, (size_t)(n ? n : 1), w);
    for (int64_t i = 0; i < n; i++) {
        if (!col_is_valid(src, i)) continue;
        if (is_int(st->id) && is_int(t->id)) {
            /* wider target: type widening; narrower target: the file's physical INT32 holds
             * a byte/short column: fine while the value fits, an error otherwise (never a
             * silent truncation) */
            int64_t v = get_int(src, i);
            bool big_u64 = st->id == DT_UINT64 && ((const uint64_t *)src->values)[i] > INT64_MAX;
            if (big_u64 || !int_fits(t->id, v)) {
                dip_error_set(
                    err, DIP_ERR_DATA,
                    "column %s: row %lld of the row group: value %lld does not fit the table "
                    "type %s",
                    col, (long long)i + 1, (long long)v, dip_type_name(t->id));
                return false;
            }
            put_int(dst, i, v);
        } else if (is_int(st->id) && t->id == DT_DOUBLE) {
            ((double *)dst->values)[i] = (double)get_int(src, i);
        } else if (st->id == DT_FLOAT && t->id == DT_DOUBLE) {
            ((double *)dst->values)[i] = ((const float *)src->values)[i];
        } else if (is_int(st->id) && t->id == DT_DECIMAL) {
            __int128 v = (__int128)get_int(src, i) * pow10_i128(t->scale);
            memcpy((uint8_t *)dst->values + 16 * i, &v, 16);
        } else if (st->id == DT_DECIMAL && t->id == DT_DECIMAL && t->scale >= st->scale) {
            /* precision/scale increase (a scale decrease would lose digits: refused) */
            __int128 v;
            memcpy(&v, (const uint8_t *)src->values + 16 * i, 16);
            v *= pow10_i128(t->scale - st->scale);
            memcpy((uint8_t *)dst->values + 16 * i, &v, 16);
        } else if (st->id == DT_TIMESTAMP && t->id == DT_TIMESTAMP) {
            int64_t us = ts_to_micros(get_int(src, i), st->unit);
            if (t->unit == TU_MILLIS)
                us /= 1000;
            else if (t->unit == TU_NANOS)
                us *= 1000;
            put_int(dst, i, us);
        } else if (st->id == DT_DATE && t->id == DT_TIMESTAMP) {
            int64_t us = get_int(src, i) * 86400LL * 1000000LL;
            put_int(dst, i,
                    t->unit == TU_MILLIS  ? us / 1000
                    : t->unit == TU_NANOS ? us * 1000
                                          : us);
        } else if (st->id == DT_TIME && t->id == DT_TIME) {
            int64_t us = ts_to_micros(get_int(src, i), st->unit);
            put_int(dst, i, us);
        } else {
            goto unsupported;
        }
    }
    return true;
unsupported : {
    Buf a1, a2;
    buf_init(&a1);
    buf_init(&a2);
    dip_type_format(st, &a1);
    dip_type_format(t, &a2);
    dip_error_set(err, DIP_ERR_UNSUPPORTED,
                  "column %s: the file stores %s, which cannot be read as the table type %s", col,
                  buf_cstr(&a1), buf_cstr(&a2));
    buf_free(&a1);
    buf_free(&a2);
    return false;
}
}

/* Finds the child of a file struct type matching a table field. */
static int match_child(const DipType *ft, const DipField *tf, const DeltaFieldMap *fm,
                       DeltaColumnMappingMode mode)
{
    for (int i = 0; i < ft->nchildren; i++) {
        const DipField *c = &ft->children[i];
        if (mode == DELTA_CM_ID) {
            if (fm->id >= 0 && c->field_id == fm->id) return i;
        } else if (strcmp(c->name, mode == DELTA_CM_NAME ? fm->physical : tf->name) == 0) {
            return i;
        }
    }
    /* a file without field ids in id mode, or old files, still match by physical name */
    if (mode == DELTA_CM_ID)
        for (int i = 0; i < ft->nchildren; i++)
            if (strcmp(ft->children[i].name, fm->physical) == 0) return i;
    return -1;
}

/* Shapes a file vector into the table's logical type. */
static bool conform(ColumnVector *dst, const DipField *tf, const DeltaFieldMap *fm,
                    const ColumnVector *src, DeltaColumnMappingMode mode, Arena *a, DipError *err)
{
    const DipType *t = &tf->type;
    const DipType *st = src->type;
    if (t->id == DT_STRUCT || t->id == DT_LIST || t->id == DT_MAP) {
        if (st->id != t->id) {
            Buf b;
            buf_init(&b);
            dip_type_format(st, &b);
            dip_error_set(err, DIP_ERR_DATA,
                          "column %s: the file stores %s, the table says "
                          "%s",
                          tf->name, buf_cstr(&b), dip_type_name(t->id));
            buf_free(&b);
            return false;
        }
        *dst = *src;
        dst->type = t;
        dst->children = arena_calloc(a, (size_t)t->nchildren + 1, sizeof(ColumnVector));
        for (int i = 0; i < t->nchildren; i++) {
            const DipField *cf = &t->children[i];
            const DeltaFieldMap *cm = &fm->children[i];
            int si = t->id == DT_STRUCT ? match_child(st, cf, cm, mode) : i;
            if (si < 0 || si >= st->nchildren) {
                null_vector(&dst->children[i], &cf->type, src->length, a);
                continue;
            }
            if (!conform(&dst->children[i], cf, cm, &src->children[si], mode, a, err)) {
                if (t->id == DT_STRUCT) dip_error_prefix(err, "%s", tf->name);
                return false;
            }
        }
        return true;
    }
    if (st->id == DT_STRUCT || st->id == DT_LIST || st->id == DT_MAP)
        return cast_primitive(dst, t, src, a, tf->name, err) ? true : false;
    return cast_primitive(dst, t, src, a, tf->name, err);
}

/* Gathers rows idx[0..n) of src into dst (deletion vector compaction). */
static void take(ColumnVector *dst, const ColumnVector *src, const int64_t *idx, int64_t n,
                 Arena *a)
{
    const DipType *t = src->type;
    memset(dst, 0, sizeof *dst);
    dst->type = t;
    dst->length = n;
    if (src->validity) {
        size_t nb = (size_t)(n + 7) / 8;
        dst->validity = arena_calloc(a, nb ? nb : 1, 1);
        for (int64_t i = 0; i < n; i++) {
            bool v = col_is_valid(src, idx[i]);
            col_set_valid(dst->validity, i, v);
            dst->null_count += !v;
        }
    }
    size_t w = dip_type_value_width(t->id);
    if (w && src->values) {
        dst->values = arena_alloc(a, (size_t)(n ? n : 1) * w);
        for (int64_t i = 0; i < n; i++)
            memcpy((uint8_t *)dst->values + (size_t)i * w,
                   (const uint8_t *)src->values + (size_t)idx[i] * w, w);
    }
    if (dip_type_is_varlen(t->id) && src->offsets) {
        dst->offsets = arena_alloc(a, (size_t)(n + 1) * sizeof(int64_t));
        int64_t total = 0;
        for (int64_t i = 0; i < n; i++)
            total += src->offsets[idx[i] + 1] - src->offsets[idx[i]];
        dst->data = arena_alloc(a, (size_t)total + 1);
        dst->data_len = total;
        int64_t o = 0;
        dst->offsets[0] = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t s = src->offsets[idx[i]], e = src->offsets[idx[i] + 1];
            if (e > s) memcpy(dst->data + o, src->data + s, (size_t)(e - s));
            o += e - s;
            dst->offsets[i + 1] = o;
        }
    }
    if (t->id == DT_STRUCT) {
        dst->children = arena_calloc(a, (size_t)t->nchildren + 1, sizeof(ColumnVector));
        for (int i = 0; i < t->nchildren; i++)
            take(&dst->children[i], &src->children[i], idx, n, a);
    } else if ((t->id == DT_LIST || t->id == DT_MAP) && src->offsets) {
        dst->offsets = arena_alloc(a, (size_t)(n + 1) * sizeof(int64_t));
        int64_t total = 0;
        dst->offsets[0] = 0;
        for (int64_t i = 0; i < n; i++) {
            total += src->offsets[idx[i] + 1] - src->offsets[idx[i]];
            dst->offsets[i + 1] = total;
        }
        int64_t *cidx = arena_alloc(a, (size_t)(total ? total : 1) * sizeof(int64_t));
        int64_t k = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t e = src->offsets[idx[i]]; e < src->offsets[idx[i] + 1]; e++)
                cidx[k++] = e;
        dst->children = arena_calloc(a, (size_t)t->nchildren + 1, sizeof(ColumnVector));
        for (int i = 0; i < t->nchildren; i++)
            take(&dst->children[i], &src->children[i], cidx, total, a);
    }
}

/* ---------------------------------------------------------------- open / next / close */

static int find_file_column(const DipSchema *fs, const DipField *tf, const DeltaFieldMap *fm,
                            DeltaColumnMappingMode mode)
{
    DipType top = {.id = DT_STRUCT, .nchildren = fs->nfields, .children = fs->fields};
    return match_child(&top, tf, fm, mode);
}

/* A data file that would not open: a missing file or one whose size is not the log's is
 * reported as such (the table, the file, both sizes) rather than as the corrupt Parquet it
 * then looks like. Costs a stat only on failure. */
static void data_file_diagnose(const DeltaSnapshot *s, const DeltaAddFile *f, DipError *err)
{
    if (err->kind == DIP_ERR_TRANSIENT || err->kind == DIP_ERR_INTERRUPTED) return;
    StoreEntry e = {0};
    bool exists = true;
    DipError se = {0};
    if (!store_stat(s->store, f->path, &e, &exists, &se)) return;
    if (!exists) {
        char cause[sizeof err->msg];
        dip_strlcpy(cause, err->msg, sizeof cause);
        dip_error_clear(err);
        dip_error_set(err, DIP_ERR_NOT_FOUND,
                      "table %s, version %lld: data file %s is missing (the log's add action "
                      "names it with size %lld; deleted by hand, or by a VACUUM while this "
                      "version was still read?): %s",
                      store_uri(s->store), (long long)s->version, f->path, (long long)f->size,
                      cause);
    } else if (f->size > 0 && e.size != (uint64_t)f->size) {
        char cause[sizeof err->msg];
        dip_strlcpy(cause, err->msg, sizeof cause);
        dip_error_clear(err);
        dip_error_set(err, DIP_ERR_DATA,
                      "table %s, version %lld: data file %s is %llu bytes, the log says %lld "
                      "(the file was replaced or truncated): %s",
                      store_uri(s->store), (long long)s->version, f->path,
                      (unsigned long long)e.size, (long long)f->size, cause);
    } else {
        dip_error_prefix(err, "table %s, version %lld: data file", store_uri(s->store),
                         (long long)s->version);
    }
    free(e.name);
}

bool delta_file_scan_open(DeltaFileScan **out, const DeltaSnapshot *s, const DeltaAddFile *f,
                          const int *cols, int ncols, DipError *err)
{
    *out = NULL;
    DeltaFileScan *sc = dip_calloc(1, sizeof *sc);
    arena_init(&sc->arena, 1 << 14);
    sc->window = DELTA_SCAN_WINDOW_ROWS;
    sc->s = s;
    sc->f = f;
    const DipSchema *ts = s->schema;
    if (cols) {
        for (int i = 0; i < ncols; i++)
            if (cols[i] < 0 || cols[i] >= ts->nfields) {
                delta_file_scan_close(sc);
                return dip_error_set(err, DIP_ERR_CONFIG, "scan: column index %d out of range",
                                     cols[i]);
            }
        DipSchema *ps = arena_calloc(&sc->arena, 1, sizeof *ps);
        ps->nfields = ncols;
        ps->fields = arena_calloc(&sc->arena, (size_t)ncols + 1, sizeof(DipField));
        for (int i = 0; i < ncols; i++)
            ps->fields[i] = ts->fields[cols[i]]; /* shallow: types stay owned by snapshot */
        sc->out_schema = ps;
        sc->nout = ncols;
    } else {
        sc->out_schema = ts;
        sc->nout = ts->nfields;
    }
    sc->out_field = arena_calloc(&sc->arena, (size_t)sc->nout + 1, sizeof(int));
    sc->src = arena_calloc(&sc->arena, (size_t)sc->nout + 1, sizeof(ColSource));
    sc->pq_pos = arena_calloc(&sc->arena, (size_t)sc->nout + 1, sizeof(int));
    sc->pval = arena_calloc(&sc->arena, (size_t)sc->nout + 1, sizeof(DeltaValue));
    sc->pq_cols = arena_calloc(&sc->arena, (size_t)sc->nout + 1, sizeof(int));
    for (int i = 0; i < sc->nout; i++)
        sc->out_field[i] = cols ? cols[i] : i;

    bool ok = true;
    /* partition values first: a bad one fails before any data is read */
    for (int i = 0; i < sc->nout && ok; i++) {
        int fi = sc->out_field[i];
        for (int k = 0; k < s->npart; k++) {
            if (s->part_index[k] != fi) continue;
            sc->src[i] = SRC_PARTITION;
            ok = delta_partition_value_parse(&ts->fields[fi].type, f->partition_values[k],
                                             &sc->pval[i], &sc->arena, err);
            if (!ok) dip_error_prefix(err, "%s: partition column %s", f->path, ts->fields[fi].name);
        }
    }
    if (ok && f->has_dv) {
        ok = delta_dv_read(s->store, &f->dv, &sc->dv_rows, &sc->ndv, err);
        if (!ok) dip_error_prefix(err, "%s", f->path);
    }
    if (ok) {
        ok = pq_file_open(&sc->pf, s->store, f->path, f->size > 0 ? (uint64_t)f->size : 0, err);
        if (!ok) data_file_diagnose(s, f, err);
    }
    if (ok) {
        const DipSchema *fs = pq_file_schema(sc->pf);
        for (int i = 0; i < sc->nout; i++) {
            if (sc->src[i] == SRC_PARTITION) continue;
            int fi = sc->out_field[i];
            int pi = find_file_column(fs, &ts->fields[fi], &s->fmap[fi], s->cm_mode);
            if (pi < 0) {
                sc->src[i] = SRC_MISSING;
                continue;
            }
            sc->src[i] = SRC_PARQUET;
            int pos = -1;
            for (int k = 0; k < sc->npq; k++)
                if (sc->pq_cols[k] == pi) pos = k;
            if (pos < 0) {
                pos = sc->npq;
                sc->pq_cols[sc->npq++] = pi;
            }
            sc->pq_pos[i] = pos;
        }
        sc->nrg = pq_file_num_row_groups(sc->pf);
        if (f->has_dv && f->num_records >= 0 && pq_file_num_rows(sc->pf) != f->num_records)
            dip_warn("%s: %lld rows in the file, stats.numRecords says %lld", f->path,
                     (long long)pq_file_num_rows(sc->pf), (long long)f->num_records);
    }
    if (!ok) {
        delta_file_scan_close(sc);
        return false;
    }
    *out = sc;
    return true;
}

void delta_file_scan_set_window(DeltaFileScan *sc, int64_t rows)
{
    sc->window = rows > 0 ? rows : DELTA_SCAN_WINDOW_ROWS;
}

void delta_file_scan_set_threads(DeltaFileScan *sc, int threads)
{
    if (sc->pf) pq_file_set_threads(sc->pf, threads);
}

/* The next window of raw rows: the next row group is opened when the current one is done;
 * row groups whose rows the DV deletes entirely are skipped unread. *nrows = 0 with *done
 * false: an empty window (a row group of 0 rows). */
static bool scan_window(DeltaFileScan *sc, ColumnBatch *pb, int64_t *nrows, bool *done,
                        DipError *err)
{
    *done = false;
    for (;;) {
        if (sc->rg_left == 0 && !sc->cur) {
            if (sc->rg >= sc->nrg) {
                *done = true;
                return true;
            }
            int rg = sc->rg++;
            int64_t n = pq_row_group_num_rows(sc->pf, rg);
            int64_t base = sc->row_base;
            size_t d = sc->dv_pos;
            while (d < sc->ndv && sc->dv_rows[d] < (uint64_t)(base + n))
                d++;
            if ((int64_t)(d - sc->dv_pos) >= n && n > 0) { /* every row deleted */
                sc->dv_pos = d;
                sc->row_base += n;
                continue;
            }
            sc->rg_left = n;
            if (sc->npq > 0 &&
                !pq_rg_cursor_open(&sc->cur, sc->pf, rg, sc->pq_cols, sc->npq, sc->window, err)) {
                dip_error_prefix(err, "%s: row group %d", sc->f->path, rg);
                return false;
            }
        }
        if (sc->npq == 0) { /* partition values and missing columns only */
            *nrows = sc->rg_left < sc->window ? sc->rg_left : sc->window;
            sc->rg_left -= *nrows;
            return true;
        }
        bool end;
        if (!pq_rg_cursor_next(sc->cur, pb, &end, err)) {
            dip_error_prefix(err, "%s: row group %d", sc->f->path, sc->rg - 1);
            return false;
        }
        if (end) {
            column_batch_free(pb);
            column_batch_init(pb);
            pq_rg_cursor_close(sc->cur);
            sc->cur = NULL;
            sc->rg_left = 0; /* the cursor yields exactly the footer's rows */
            continue;
        }
        *nrows = pb->num_rows;
        sc->rg_left -= *nrows;
        return true;
    }
}

bool delta_file_scan_next(DeltaFileScan *sc, ColumnBatch *out, bool *done, DipError *err)
{
    *done = false;
    for (;;) {
        ColumnBatch pb;
        column_batch_init(&pb);
        int64_t nrows = 0;
        bool end = false;
        if (!scan_window(sc, &pb, &nrows, &end, err)) {
            column_batch_free(&pb);
            return false;
        }
        if (end) break;
        int64_t base = sc->row_base;
        sc->row_base += nrows;
        /* rows of this window deleted by the DV */
        size_t dv_first = sc->dv_pos;
        while (sc->dv_pos < sc->ndv && sc->dv_rows[sc->dv_pos] < (uint64_t)(base + nrows))
            sc->dv_pos++;
        size_t ndel = sc->dv_pos - dv_first;
        if ((int64_t)ndel >= nrows) { /* every row deleted (or none there) */
            column_batch_free(&pb);
            continue;
        }
        /* adopt the decoded buffers: the output batch takes over the window's arena */
        arena_free(&out->arena);
        out->arena = pb.arena;
        Arena *a = &out->arena;
        const DipSchema *ts = sc->s->schema;
        ColumnVector *cols = arena_calloc(a, (size_t)sc->nout + 1, sizeof(ColumnVector));
        for (int i = 0; i < sc->nout; i++) {
            const DipField *tf = &ts->fields[sc->out_field[i]];
            if (sc->src[i] == SRC_PARQUET) {
                if (!conform(&cols[i], tf, &sc->s->fmap[sc->out_field[i]], &pb.cols[sc->pq_pos[i]],
                             sc->s->cm_mode, a, err)) {
                    dip_error_prefix(err, "%s", sc->f->path);
                    return false;
                }
            } else if (sc->src[i] == SRC_MISSING) {
                null_vector(&cols[i], &tf->type, nrows, a);
            }
        }
        int64_t keep = nrows;
        if (ndel > 0) {
            int64_t *idx = arena_alloc(a, (size_t)nrows * sizeof(int64_t));
            keep = 0;
            size_t d = dv_first;
            for (int64_t r = 0; r < nrows; r++) {
                if (d < sc->dv_pos && sc->dv_rows[d] == (uint64_t)(base + r)) {
                    d++;
                    continue;
                }
                idx[keep++] = r;
            }
            for (int i = 0; i < sc->nout; i++) {
                if (sc->src[i] == SRC_PARTITION) continue;
                ColumnVector t;
                take(&t, &cols[i], idx, keep, a);
                cols[i] = t;
            }
        }
        for (int i = 0; i < sc->nout; i++)
            if (sc->src[i] == SRC_PARTITION)
                delta_vector_fill_constant(&cols[i], &ts->fields[sc->out_field[i]].type,
                                           &sc->pval[i], keep, a);
        out->schema = sc->out_schema;
        out->ncols = sc->nout;
        out->cols = cols;
        out->num_rows = keep;
        return true;
    }
    *done = true;
    return true;
}

void delta_file_scan_close(DeltaFileScan *sc)
{
    if (!sc) return;
    pq_rg_cursor_close(sc->cur);
    if (sc->pf) pq_file_close(sc->pf);
    free(sc->dv_rows);
    arena_free(&sc->arena);
    free(sc);
}
