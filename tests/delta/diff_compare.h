/*
 * diff_compare.h: compares an incremental DeltaDiff with the full one (tests only; used by
 * test_delta_diff.c and diff_check.c). Entries must agree one for one, in order: path,
 * deletion vector (every field) and partition values. Size and record count must agree too,
 * except on a removed file whose remove action did not record them (incremental: -1).
 * Modification time is not compared for removed files (a remove does not carry it).
 */
#ifndef DIP_TEST_DIFF_COMPARE_H
#define DIP_TEST_DIFF_COMPARE_H

#include "delta/delta_internal.h"

#include <string.h>

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Returns true when equal; else writes the first difference to why. */
static bool diff_entries_equal(const DeltaAddFile *inc, const DeltaAddFile *full, int npart,
                               bool removed, Buf *why)
{
    const char *side = removed ? "removed" : "added";
    if (strcmp(inc->path, full->path) != 0) {
        buf_printf(why, "%s: path %s vs %s", side, inc->path, full->path);
        return false;
    }
    if (inc->has_dv != full->has_dv ||
        (inc->has_dv &&
         (inc->dv.storage_type != full->dv.storage_type ||
          !same_str(inc->dv.path_or_inline, full->dv.path_or_inline) ||
          inc->dv.offset != full->dv.offset || inc->dv.size_in_bytes != full->dv.size_in_bytes ||
          inc->dv.cardinality != full->dv.cardinality))) {
        buf_printf(why, "%s %s: deletion vectors differ", side, inc->path);
        return false;
    }
    for (int k = 0; k < npart; k++) {
        if (!same_str(inc->partition_values[k], full->partition_values[k])) {
            buf_printf(why, "%s %s: partition value %d: %s vs %s", side, inc->path, k,
                       inc->partition_values[k] ? inc->partition_values[k] : "NULL",
                       full->partition_values[k] ? full->partition_values[k] : "NULL");
            return false;
        }
    }
    if (inc->size != full->size && !(removed && inc->size == -1)) {
        buf_printf(why, "%s %s: size %lld vs %lld", side, inc->path, (long long)inc->size,
                   (long long)full->size);
        return false;
    }
    if (inc->num_records != full->num_records && !(removed && inc->num_records == -1)) {
        buf_printf(why, "%s %s: num_records %lld vs %lld", side, inc->path,
                   (long long)inc->num_records, (long long)full->num_records);
        return false;
    }
    if (!removed && inc->modification_time != full->modification_time) {
        buf_printf(why, "added %s: modification time differs", inc->path);
        return false;
    }
    return true;
}

static bool diffs_equal(const DeltaDiff *inc, const DeltaDiff *full, int npart, Buf *why)
{
    if (inc->n_added != full->n_added || inc->n_removed != full->n_removed) {
        buf_printf(why, "incremental %zu added / %zu removed, full %zu / %zu", inc->n_added,
                   inc->n_removed, full->n_added, full->n_removed);
        return false;
    }
    for (size_t i = 0; i < inc->n_added; i++)
        if (!diff_entries_equal(&inc->added[i], &full->added[i], npart, false, why)) return false;
    for (size_t i = 0; i < inc->n_removed; i++)
        if (!diff_entries_equal(&inc->removed[i], &full->removed[i], npart, true, why))
            return false;
    return true;
}

#endif /* DIP_TEST_DIFF_COMPARE_H */
