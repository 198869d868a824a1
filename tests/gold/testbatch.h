/* testbatch.h: building ColumnBatches by hand in tests (tests/gold, tests/pg), the way the
 * Delta reader hands them to gold and pg. Header-only, static helpers. */
#ifndef DIP_TESTBATCH_H
#define DIP_TESTBATCH_H

#include "core/column.h"

#include <string.h>

/* Strings/binary: vals[i] == NULL means null. */
static inline ColumnVector tb_varlen(Arena *a, const DipType *t, const char *const *vals, int n)
{
    ColumnVector v;
    memset(&v, 0, sizeof v);
    v.type = t;
    v.length = n;
    v.offsets = arena_calloc(a, (size_t)n + 1, sizeof(int64_t));
    v.validity = arena_calloc(a, (size_t)(n + 7) / 8 + 1, 1);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += vals[i] ? strlen(vals[i]) : 0;
    v.data = arena_alloc(a, total + 1);
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        v.offsets[i] = off;
        if (vals[i]) {
            size_t l = strlen(vals[i]);
            memcpy(v.data + off, vals[i], l);
            off += (int64_t)l;
            col_set_valid(v.validity, i, true);
        } else {
            v.null_count++;
        }
    }
    v.offsets[n] = off;
    v.data_len = off;
    return v;
}

/* Fixed-width values: `vals` holds n values of the type's width; valid may be NULL. */
static inline ColumnVector tb_fixed(Arena *a, const DipType *t, const void *vals, const bool *valid,
                                    int n)
{
    ColumnVector v;
    memset(&v, 0, sizeof v);
    v.type = t;
    v.length = n;
    size_t w = dip_type_value_width(t->id);
    v.values = arena_alloc(a, w * (size_t)n + 1);
    memcpy(v.values, vals, w * (size_t)n);
    if (valid) {
        v.validity = arena_calloc(a, (size_t)(n + 7) / 8 + 1, 1);
        for (int i = 0; i < n; i++) {
            col_set_valid(v.validity, i, valid[i]);
            v.null_count += !valid[i];
        }
    }
    return v;
}

#endif
