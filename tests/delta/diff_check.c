/*
 * diff_check.c: for each table given, every version pair v1 <= v2: the diff as dip makes it
 * (incremental unless it must not) against the full diff (snapshot at v1 vs snapshot at v2),
 * compared entry by entry (diff_compare.h). Used by diff_golden.sh on the golden tables.
 *
 *   diff_check TABLE_DIR...
 *
 * A pair passes when both diffs agree, or when the full diff cannot be made (v1 not
 * reconstructable, e.g. its commits cleaned up) and the incremental one can, or both fail.
 * A version that cannot be opened is skipped (the error tables). Prints one line per table
 * and `N passed, M failed`; exits 1 on a failure or when no pair ran incrementally.
 */
#include "delta/delta_internal.h"
#include "diff_compare.h"

#include <stdio.h>

typedef struct Counts {
    size_t passed, failed, incremental, full_only_fails;
} Counts;

static void check_table(const char *dir, Counts *c)
{
    Store *st = NULL;
    DipError err = {0};
    int64_t latest = -1;
    if (!store_open(&st, dir, &err) || !delta_latest_version(st, &latest, &err)) {
        printf("skip %s: %s\n", dir, err.msg);
        store_close(st);
        return;
    }
    Counts t = {0};
    size_t skipped = 0;
    for (int64_t v2 = 0; v2 <= latest; v2++) {
        DeltaSnapshot *b = NULL;
        DipError e = {0};
        if (!delta_snapshot_open(&b, st, v2, -1, &e)) {
            skipped++;
            continue;
        }
        for (int64_t v1 = 0; v1 <= v2; v1++) {
            DeltaDiff inc, full;
            bool is_inc = false, dummy = false;
            DipError ei = {0}, ef = {0};
            bool oki = delta_diff_run(b, st, v1, DELTA_DIFF_AUTO, &inc, &is_inc, &ei);
            bool okf = delta_diff_run(b, st, v1, DELTA_DIFF_FULL, &full, &dummy, &ef);
            Buf why;
            buf_init(&why);
            if (oki && okf) {
                if (diffs_equal(&inc, &full, delta_snapshot_num_partition_columns(b), &why)) {
                    t.passed++;
                    t.incremental += is_inc;
                } else {
                    t.failed++;
                    printf("FAIL %s %lld..%lld (%s): %s\n", dir, (long long)v1, (long long)v2,
                           is_inc ? "incremental" : "full", buf_cstr(&why));
                }
            } else if (oki && !okf) {
                t.passed++; /* only the range can answer */
                t.incremental += is_inc;
                t.full_only_fails++;
            } else if (!oki && !okf) {
                t.passed++;
            } else {
                t.failed++;
                printf("FAIL %s %lld..%lld: dip's diff failed where the full one did not: %s\n",
                       dir, (long long)v1, (long long)v2, ei.msg);
            }
            buf_free(&why);
            if (oki) delta_diff_free(&inc);
            if (okf) delta_diff_free(&full);
        }
        delta_snapshot_free(b);
    }
    printf("%s %s: %zu pairs, %zu incremental, %zu full-only failures, %zu versions not "
           "openable\n",
           t.failed ? "FAIL" : "ok  ", dir, t.passed + t.failed, t.incremental, t.full_only_fails,
           skipped);
    c->passed += t.passed;
    c->failed += t.failed;
    c->incremental += t.incremental;
    c->full_only_fails += t.full_only_fails;
    store_close(st);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: diff_check TABLE_DIR...\n");
        return 2;
    }
    Counts c = {0};
    for (int i = 1; i < argc; i++)
        check_table(argv[i], &c);
    printf("version pairs: %zu incremental, %zu full\n", c.incremental, c.passed - c.incremental);
    printf("%zu passed, %zu failed\n", c.passed, c.failed);
    return c.failed == 0 && c.incremental > 0 ? 0 : 1;
}
