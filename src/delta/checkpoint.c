/*
 * checkpoint.c: reads checkpoints into the replay state (PROTOCOL.md "Checkpoints",
 * "Sidecar Files", "V2 Checkpoint Table Feature", appendix "Checkpoint Schema").
 *
 * Classic and multi-part checkpoints and V2 Parquet checkpoints are Parquet files with one
 * struct column per action kind; we read them with dip's Parquet reader, projecting only
 * the columns replay needs (add, remove, metaData, protocol, sidecar), one row group at a
 * time, so memory is bounded by one row group of those columns. V2 JSON checkpoints are
 * newline-delimited actions like a commit. Sidecars (in _delta_log/_sidecars/) hold the
 * add/remove actions of a V2 checkpoint and are read the same way as Parquet checkpoints.
 */
#include "delta/delta_internal.h"
#include "parquet/parquet.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- vector access */

static int type_child(const DipType *t, const char *name)
{
    if (!t || t->id != DT_STRUCT) return -1;
    for (int i = 0; i < t->nchildren; i++)
        if (strcmp(t->children[i].name, name) == 0) return i;
    return -1;
}

static const ColumnVector *vec_child(const ColumnVector *v, const char *name)
{
    int i = type_child(v->type, name);
    return i < 0 ? NULL : &v->children[i];
}

static bool vec_is_string(const ColumnVector *v)
{
    return v && (v->type->id == DT_STRING || v->type->id == DT_BINARY || v->type->id == DT_JSON ||
                 v->type->id == DT_ENUM);
}

/* NUL-terminated copy of a string value, NULL when null or absent. */
static const char *vec_str(const ColumnVector *v, int64_t row, Arena *a)
{
    if (!vec_is_string(v) || row >= v->length || !col_is_valid(v, row)) return NULL;
    int64_t s = v->offsets[row], e = v->offsets[row + 1];
    if (s < 0 || e < s || e > v->data_len) return NULL;
    return arena_strndup(a, (const char *)v->data + s, (size_t)(e - s));
}

static bool vec_i64(const ColumnVector *v, int64_t row, int64_t *out)
{
    if (!v || row >= v->length || !col_is_valid(v, row)) return false;
    return column_value_int64(v, row, out);
}

/* list<string> at row into an array of strings */
static bool vec_str_list(const ColumnVector *v, int64_t row, Arena *a, char ***out, int *n)
{
    *out = NULL;
    *n = 0;
    if (!v || v->type->id != DT_LIST || row >= v->length || !col_is_valid(v, row)) return true;
    int64_t s = v->offsets[row], e = v->offsets[row + 1];
    const ColumnVector *el = &v->children[0];
    if (s < 0 || e < s || e > el->length || e - s > 100000) return false;
    *out = arena_calloc(a, (size_t)(e - s) + 1, sizeof(char *));
    for (int64_t i = s; i < e; i++) {
        const char *x = vec_str(el, i, a);
        if (x) (*out)[(*n)++] = (char *)x;
    }
    return true;
}

/* map<string,string> at row */
static bool vec_str_map(const ColumnVector *v, int64_t row, Arena *a, const char ***keys,
                        const char ***vals, int *n)
{
    *keys = NULL;
    *vals = NULL;
    *n = 0;
    if (!v || v->type->id != DT_MAP || row >= v->length || !col_is_valid(v, row)) return true;
    int64_t s = v->offsets[row], e = v->offsets[row + 1];
    const ColumnVector *kv = &v->children[0], *vv = &v->children[1];
    if (s < 0 || e < s || e > kv->length || e > vv->length || e - s > 100000) return false;
    *keys = arena_calloc(a, (size_t)(e - s) + 1, sizeof(char *));
    *vals = arena_calloc(a, (size_t)(e - s) + 1, sizeof(char *));
    for (int64_t i = s; i < e; i++) {
        const char *k = vec_str(kv, i, a);
        if (!k) continue;
        (*keys)[*n] = k;
        (*vals)[*n] = vec_str(vv, i, a);
        (*n)++;
    }
    return true;
}

/* ---------------------------------------------------------------- rows to actions */

static bool file_action_row(DeltaReplay *r, const ColumnVector *v, int64_t row, bool is_add,
                            Arena *tmp, DipError *err)
{
    DeltaFileAction a = {0};
    a.is_add = is_add;
    a.data_change = -1; /* not read: only a range replay (JSON commits) looks at it */
    a.path = vec_str(vec_child(v, "path"), row, tmp);
    if (!a.path)
        return dip_error_set(err, DIP_ERR_DATA, "%s: row %lld: %s action without a path", r->source,
                             (long long)row + 1, is_add ? "add" : "remove");
    if (is_add) {
        if (!vec_i64(vec_child(v, "size"), row, &a.size))
            return dip_error_set(err, DIP_ERR_DATA, "%s: row %lld: add %s without a size",
                                 r->source, (long long)row + 1, a.path);
        if (!vec_i64(vec_child(v, "modificationTime"), row, &a.modification_time))
            a.modification_time = 0;
        a.stats = vec_str(vec_child(v, "stats"), row, tmp);
        if (!vec_str_map(vec_child(v, "partitionValues"), row, tmp, &a.pv_keys, &a.pv_vals, &a.npv))
            return dip_error_set(err, DIP_ERR_DATA,
                                 "%s: row %lld: add %s: bad "
                                 "partitionValues map",
                                 r->source, (long long)row + 1, a.path);
    }
    const ColumnVector *dv = vec_child(v, "deletionVector");
    if (dv && dv->type->id == DT_STRUCT && col_is_valid(dv, row)) {
        const char *st = vec_str(vec_child(dv, "storageType"), row, tmp);
        const char *p = vec_str(vec_child(dv, "pathOrInlineDv"), row, tmp);
        int64_t size = -1, card = -1, off = -1;
        vec_i64(vec_child(dv, "sizeInBytes"), row, &size);
        vec_i64(vec_child(dv, "cardinality"), row, &card);
        if (!vec_i64(vec_child(dv, "offset"), row, &off)) off = -1;
        if (!st || strlen(st) != 1 || !p || size < 0 || size > INT32_MAX || card < 0 ||
            off > INT32_MAX)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "%s: row %lld: %s: incomplete deletionVector struct", r->source,
                                 (long long)row + 1, a.path);
        a.has_dv = true;
        a.dv.storage_type = st[0];
        a.dv.path_or_inline = (char *)p;
        a.dv.offset = (int32_t)off;
        a.dv.size_in_bytes = (int32_t)size;
        a.dv.cardinality = card;
    }
    return delta_replay_file_action(r, &a, err);
}

static bool metadata_row(DeltaReplay *r, const ColumnVector *v, int64_t row, DipError *err)
{
    DeltaMetadataRaw md = {0};
    Arena *a = &r->arena;
    md.id = (char *)vec_str(vec_child(v, "id"), row, a);
    md.schema_string = (char *)vec_str(vec_child(v, "schemaString"), row, a);
    if (!vec_str_list(vec_child(v, "partitionColumns"), row, a, &md.partition_columns,
                      &md.n_partition_columns))
        return dip_error_set(err, DIP_ERR_DATA, "%s: row %lld: bad metaData.partitionColumns",
                             r->source, (long long)row + 1);
    const char **k, **val;
    if (!vec_str_map(vec_child(v, "configuration"), row, a, &k, &val, &md.nconfig))
        return dip_error_set(err, DIP_ERR_DATA, "%s: row %lld: bad metaData.configuration",
                             r->source, (long long)row + 1);
    md.config_keys = (char **)k;
    md.config_vals = (char **)val;
    r->metadata = md;
    r->has_metadata = true;
    return true;
}

static bool protocol_row(DeltaReplay *r, const ColumnVector *v, int64_t row, DipError *err)
{
    DeltaProtocolRaw p = {0};
    int64_t x;
    if (!vec_i64(vec_child(v, "minReaderVersion"), row, &x) || x < 0 || x > 1000000)
        return dip_error_set(err, DIP_ERR_DATA,
                             "%s: row %lld: protocol without "
                             "minReaderVersion",
                             r->source, (long long)row + 1);
    p.min_reader = (int)x;
    if (vec_i64(vec_child(v, "minWriterVersion"), row, &x) && x >= 0 && x <= 1000000)
        p.min_writer = (int)x;
    if (!vec_str_list(vec_child(v, "readerFeatures"), row, &r->arena, &p.reader_features,
                      &p.n_reader_features) ||
        !vec_str_list(vec_child(v, "writerFeatures"), row, &r->arena, &p.writer_features,
                      &p.n_writer_features))
        return dip_error_set(err, DIP_ERR_DATA, "%s: row %lld: bad protocol features", r->source,
                             (long long)row + 1);
    r->protocol = p;
    r->has_protocol = true;
    return true;
}

/* Applies the actions of an open checkpoint or sidecar Parquet file. Sidecar paths found go
 * to *sidecars. */
bool delta_checkpoint_apply_parquet(PqFile *f, const char *name, DeltaReplay *r,
                                    bool allow_sidecars, char ***sidecars, size_t *nsidecars,
                                    DipError *err)
{
    const DipSchema *schema = pq_file_schema(f);
    static const char *wanted[] = {"add", "remove", "metaData", "protocol", "sidecar"};
    int cols[5], ncols = 0;
    const char *colname[5];
    for (size_t i = 0; i < DIP_ARRAY_LEN(wanted); i++) {
        int idx = dip_schema_find(schema, wanted[i]);
        if (idx >= 0 && schema->fields[idx].type.id == DT_STRUCT) {
            colname[ncols] = wanted[i];
            cols[ncols++] = idx;
        }
    }
    const char *prev = r->source;
    r->source = name;
    bool ok = true;
    Arena tmp;
    arena_init(&tmp, 1 << 16);
    int nrg = pq_file_num_row_groups(f);
    for (int rg = 0; rg < nrg && ok && ncols > 0; rg++) {
        ColumnBatch b;
        column_batch_init(&b);
        if (!pq_read_row_group(f, rg, cols, ncols, &b, err)) {
            dip_error_prefix(err, "checkpoint %s: row group %d", name, rg);
            column_batch_free(&b);
            ok = false;
            break;
        }
        for (int c = 0; c < b.ncols && ok; c++) {
            const ColumnVector *v = &b.cols[c];
            const char *kind = colname[c];
            for (int64_t row = 0; row < b.num_rows && ok; row++) {
                if (!col_is_valid(v, row)) continue;
                if (strcmp(kind, "add") == 0 || strcmp(kind, "remove") == 0) {
                    ok = file_action_row(r, v, row, kind[0] == 'a', &tmp, err);
                } else if (strcmp(kind, "metaData") == 0) {
                    ok = metadata_row(r, v, row, err);
                } else if (strcmp(kind, "protocol") == 0) {
                    ok = protocol_row(r, v, row, err);
                } else if (strcmp(kind, "sidecar") == 0) {
                    if (!allow_sidecars || !sidecars) {
                        ok = dip_error_set(err, DIP_ERR_DATA,
                                           "%s: row %lld: sidecar action in a sidecar or "
                                           "multi-part checkpoint",
                                           name, (long long)row + 1);
                        break;
                    }
                    const char *p = vec_str(vec_child(v, "path"), row, &tmp);
                    if (!p) {
                        ok =
                            dip_error_set(err, DIP_ERR_DATA, "%s: row %lld: sidecar without a path",
                                          name, (long long)row + 1);
                        break;
                    }
                    *sidecars = dip_realloc(*sidecars, (*nsidecars + 1) * sizeof(char *));
                    (*sidecars)[(*nsidecars)++] = delta_path_decode(&r->arena, p);
                }
            }
            arena_reset(&tmp);
        }
        column_batch_free(&b);
    }
    arena_free(&tmp);
    r->source = prev;
    return ok;
}

static bool read_parquet_actions(Store *st, const char *name, uint64_t size, DeltaReplay *r,
                                 bool allow_sidecars, char ***sidecars, size_t *nsidecars,
                                 DipError *err)
{
    PqFile *f = NULL;
    if (!pq_file_open(&f, st, name, size, err)) {
        dip_error_prefix(err, "checkpoint %s", name);
        return false;
    }
    bool ok = delta_checkpoint_apply_parquet(f, name, r, allow_sidecars, sidecars, nsidecars, err);
    pq_file_close(f);
    return ok;
}

static bool read_v2_json(Store *st, const DeltaLogFile *f, DeltaReplay *r, char ***sidecars,
                         size_t *nsidecars, DipError *err)
{
    Buf b;
    buf_init(&b);
    if (!store_read_all(st, f->name, &b, err)) {
        buf_free(&b);
        return false;
    }
    const char *prev = r->source;
    r->source = f->name;
    bool ok = true;
    size_t pos = 0;
    int64_t line = 0;
    while (pos < b.len && ok) {
        const uint8_t *nl = memchr(b.data + pos, '\n', b.len - pos);
        size_t end = nl ? (size_t)(nl - b.data) : b.len;
        line++;
        if (end > pos) {
            json_error_t jerr;
            json_t *obj = json_loadb((const char *)b.data + pos, end - pos, 0, &jerr);
            if (!obj)
                ok = dip_error_set(err, DIP_ERR_DATA, "%s: line %lld: malformed JSON: %s", f->name,
                                   (long long)line, jerr.text);
            else
                ok = delta_replay_json_action(r, obj, NULL, sidecars, nsidecars, err);
            json_decref(obj);
        }
        pos = nl ? end + 1 : b.len;
    }
    r->source = prev;
    buf_free(&b);
    return ok;
}

bool delta_checkpoint_read(Store *st, const DeltaLogSegment *seg, DeltaReplay *r, DipError *err)
{
    char **sidecars = NULL;
    size_t nsidecars = 0;
    bool ok = true;
    for (int i = 0; i < seg->ncheckpoint && ok; i++) {
        const DeltaLogFile *f = seg->checkpoint[i];
        if (f->kind == DLF_V2_JSON)
            ok = read_v2_json(st, f, r, &sidecars, &nsidecars, err);
        else
            ok = read_parquet_actions(st, f->name, f->size, r, f->kind != DLF_MULTIPART, &sidecars,
                                      &nsidecars, err);
    }
    Buf name;
    buf_init(&name);
    for (size_t i = 0; i < nsidecars && ok; i++) {
        buf_clear(&name);
        const char *p = sidecars[i];
        /* sidecars live in _delta_log/_sidecars; the action may hold just the file name */
        const char *base = strrchr(p, '/');
        buf_printf(&name, "_delta_log/_sidecars/%s", base ? base + 1 : p);
        ok = read_parquet_actions(st, buf_cstr(&name), 0, r, false, NULL, NULL, err);
        if (!ok) dip_error_prefix(err, "V2 checkpoint %s", seg->checkpoint[0]->name);
    }
    buf_free(&name);
    free(sidecars);
    return ok;
}
