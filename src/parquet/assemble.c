/*
 * assemble.c: definition and repetition levels to nested column vectors (the Dremel
 * "record assembly" of parquet-format, done column-wise as Arrow does).
 *
 * Every logical node knows (PqNode) the repetition level of its nearest enclosing repeated
 * node (slot_rep) and the definition level at which that node holds an element (slot_def):
 * the level entries of any leaf below that satisfy rep <= slot_rep && def >= slot_def are
 * exactly the node's slots, one per value of its vector. Within a slot the node is non-null
 * when def >= node.def. A list/map additionally counts, inside each slot, the entries with
 * rep <= elem_rep && def >= elem_def: each starts one element. So a null list (def below the
 * list's level), an empty list (def at the list's level, below the element's) and a list of
 * nulls (def at the element's level) come out distinct, as LogicalTypes.md requires.
 *
 * Vectors are built from the first leaf below each node; every child must then produce as
 * many values as its parent promised, which catches leaves whose levels disagree.
 */
#include "parquet/pq_internal.h"

#include <string.h>

static bool mismatch(const PqFile *f, const PqNode *n, int64_t got, int64_t want, DipError *err)
{
    return dip_error_set(err, DIP_ERR_DATA,
                         "%s: column %s: levels give %lld values where %lld "
                         "were expected",
                         f->name, f->leaves[n->leaf].path, (long long)got, (long long)want);
}

static inline bool is_slot(const PqColumnData *cd, int64_t i, int16_t srep, int16_t sdef)
{
    return (cd->rep == NULL || cd->rep[i] <= srep) && (cd->def == NULL || cd->def[i] >= sdef);
}

static bool build_leaf(const PqFile *f, const PqNode *n, const DipType *t, PqColumnData *cd,
                       int64_t expect, Arena *a, ColumnVector *out, DipError *err)
{
    const PqLeaf *lf = &f->leaves[n->leaf];
    const PqValues *v = &cd->vals;
    size_t w = (size_t)lf->width;
    int64_t len;
    if (lf->max_rep == 0) {
        len = cd->nlevels;
    } else {
        len = 0;
        for (int64_t i = 0; i < cd->nlevels; i++)
            len += is_slot(cd, i, n->slot_rep, n->slot_def);
    }
    if (len != expect) return mismatch(f, n, len, expect, err);
    out->length = len;
    /* variable-length values: a window's offsets start where the previous window's ended */
    int64_t base = !w && v->n > 0 ? v->offsets[0] : 0;
    size_t data_len = !w && v->n > 0 ? (size_t)(v->offsets[v->n] - base) : 0;
    if (lf->max_def == 0 || v->n == len) {
        /* no nulls among the slots: dense values are the vector */
        out->validity = NULL;
        out->null_count = 0;
        if (w) {
            out->values = arena_alloc(a, (size_t)len * w + 1);
            if (len > 0) memcpy(out->values, v->fixed, (size_t)len * w);
        } else {
            int64_t *off = arena_alloc(a, (size_t)(len + 1) * sizeof(int64_t));
            off[0] = 0;
            for (int64_t i = 1; i <= len; i++)
                off[i] = v->offsets[i] - base;
            out->offsets = off;
            out->data = arena_alloc(a, data_len + 1);
            if (data_len) memcpy(out->data, v->data + base, data_len);
            out->data_len = (int64_t)data_len;
        }
        return true;
    }
    uint8_t *valid = arena_calloc(a, (size_t)(len + 7) / 8 + 1, 1);
    const int16_t *def = cd->def;
    int16_t md = lf->max_def;
    int64_t j = 0, k = 0;
    if (w) {
        uint8_t *dst = arena_calloc(a, (size_t)len + 1, w);
        const uint8_t *src = v->fixed;
        for (int64_t i = 0; i < cd->nlevels; i++) {
            if (!is_slot(cd, i, n->slot_rep, n->slot_def)) continue;
            if (def[i] == md) {
                valid[j >> 3] |= (uint8_t)(1u << (j & 7));
                switch (w) {
                case 1:
                    dst[j] = src[k];
                    break;
                case 4:
                    memcpy(dst + 4 * j, src + 4 * k, 4);
                    break;
                case 8:
                    memcpy(dst + 8 * j, src + 8 * k, 8);
                    break;
                default:
                    memcpy(dst + w * (size_t)j, src + w * (size_t)k, w);
                }
                k++;
            }
            j++;
        }
        out->values = dst;
    } else {
        int64_t *off = arena_alloc(a, (size_t)(len + 1) * sizeof(int64_t));
        off[0] = 0;
        for (int64_t i = 0; i < cd->nlevels; i++) {
            if (!is_slot(cd, i, n->slot_rep, n->slot_def)) continue;
            if (def[i] == md) {
                valid[j >> 3] |= (uint8_t)(1u << (j & 7));
                off[j + 1] = v->offsets[k + 1] - base;
                k++;
            } else {
                off[j + 1] = off[j];
            }
            j++;
        }
        out->offsets = off;
        out->data = arena_alloc(a, data_len + 1);
        if (data_len) memcpy(out->data, v->data + base, data_len);
        out->data_len = (int64_t)data_len;
    }
    if (k != v->n) return mismatch(f, n, k, v->n, err);
    out->validity = valid;
    out->null_count = len - k;
    return true;
}

static bool build(const PqFile *f, const PqNode *n, const DipType *t, PqColumnData *cds, int base,
                  int64_t expect, Arena *a, ColumnVector *out, DipError *err)
{
    memset(out, 0, sizeof *out);
    out->type = t;
    PqColumnData *cd = &cds[n->leaf - base];
    if (n->kind == PQN_LEAF) return build_leaf(f, n, t, cd, expect, a, out, err);
    if (t->nchildren != n->nchildren)
        return dip_error_set(err, DIP_ERR_INTERNAL, "schema and node tree disagree");
    /* count slots and nulls */
    int64_t len = 0, nulls = 0;
    bool maybe_null = n->def > n->slot_def;
    for (int64_t i = 0; i < cd->nlevels; i++) {
        if (!is_slot(cd, i, n->slot_rep, n->slot_def)) continue;
        len++;
        if (maybe_null && cd->def[i] < n->def) nulls++;
    }
    if (len != expect) return mismatch(f, n, len, expect, err);
    out->length = len;
    out->null_count = nulls;
    uint8_t *valid = nulls ? arena_calloc(a, (size_t)(len + 7) / 8 + 1, 1) : NULL;
    out->validity = valid;
    out->children = arena_calloc(a, (size_t)n->nchildren, sizeof(ColumnVector));
    if (n->kind == PQN_STRUCT) {
        if (valid) {
            int64_t j = 0;
            for (int64_t i = 0; i < cd->nlevels; i++) {
                if (!is_slot(cd, i, n->slot_rep, n->slot_def)) continue;
                if (cd->def[i] >= n->def) valid[j >> 3] |= (uint8_t)(1u << (j & 7));
                j++;
            }
        }
        for (int c = 0; c < n->nchildren; c++)
            if (!build(f, &n->children[c], &t->children[c].type, cds, base, len, a,
                       &out->children[c], err))
                return false;
        return true;
    }
    /* list or map */
    int64_t *off = arena_alloc(a, (size_t)(len + 1) * sizeof(int64_t));
    int64_t j = -1, count = 0;
    for (int64_t i = 0; i < cd->nlevels; i++) {
        bool def_ok = cd->def == NULL || cd->def[i] >= n->slot_def;
        if (cd->rep[i] <= n->slot_rep && def_ok) {
            j++;
            off[j] = count;
            if (valid && cd->def[i] >= n->def) valid[j >> 3] |= (uint8_t)(1u << (j & 7));
        }
        if (cd->rep[i] <= n->elem_rep && cd->def[i] >= n->elem_def) {
            if (j < 0)
                return dip_error_set(err, DIP_ERR_DATA,
                                     "%s: column %s: element before its "
                                     "list",
                                     f->name, f->leaves[n->leaf].path);
            count++;
        }
    }
    off[len] = count;
    out->offsets = off;
    for (int c = 0; c < n->nchildren; c++)
        if (!build(f, &n->children[c], &t->children[c].type, cds, base, count, a, &out->children[c],
                   err))
            return false;
    return true;
}

bool pq_assemble(const PqFile *f, const PqNode *n, const DipType *t, PqColumnData *cds,
                 int leaf_base, int64_t expect_rows, Arena *a, ColumnVector *out, DipError *err)
{
    return build(f, n, t, cds, leaf_base, expect_rows, a, out, err);
}
