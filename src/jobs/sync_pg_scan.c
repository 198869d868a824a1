/*
 * sync_pg_scan.c: reading one Delta data file for the sync-pg job: the file's rows in
 * windows of at most DELTA_CLIENT_BATCH_SIZE, handed to a callback (the loader's decoder,
 * the delete step's key collector). Transient S3 failures are retried per request inside the
 * store with the DELTA_CLIENT_* policy; an error that reaches this file is final.
 */
#include "jobs/sync_pg_internal.h"

#include <stdint.h>

bool sync_pg_scan_file(SyncJob *j, const DeltaAddFile *f, SyncBatchFn on_batch, void *ctx,
                       DipError *err)
{
    /* Transient S3 failures are retried per request inside the store with the
     * DELTA_CLIENT_* policy; retrying the whole file again here would multiply the attempts
     * (and the wait) by the same factor. An error that reaches this point is final. */
    int64_t window = j->opt->delta_batch_size > 0 ? j->opt->delta_batch_size : INT64_MAX;
    DeltaFileScan *scan = NULL;
    if (!delta_file_scan_open(&scan, j->snap, f, j->plan.proj, j->plan.nproj, err)) {
        dip_error_prefix(err, "%s", f->path);
        return false;
    }
    delta_file_scan_set_window(scan, j->opt->delta_batch_size); /* decode in these windows */
    delta_file_scan_set_threads(scan, j->opt->decode_threads);
    bool ok = true;
    for (;;) {
        ColumnBatch b;
        column_batch_init(&b);
        bool done = false;
        DipError e = {0};
        if (!delta_file_scan_next(scan, &b, &done, &e)) {
            dip_error_prefix(&e, "%s", f->path);
            *err = e;
            ok = false;
        }
        /* DELTA_CLIENT_BATCH_SIZE: the scan decodes windows of at most this many rows (a
         * DIP_PARQUET_WINDOW_ROWS override aside); callback failures are the caller's own */
        for (int64_t start = 0; ok && !done && start < b.num_rows;) {
            int64_t end = b.num_rows - start > window ? start + window : b.num_rows;
            ok = on_batch(ctx, &b, start, end, err);
            start = end;
            if (ok && start < b.num_rows && dip_stop_requested()) break;
        }
        column_batch_free(&b);
        if (!ok || done) break;
        if (dip_stop_requested()) {
            ok = dip_error_set(err, DIP_ERR_INTERRUPTED, "%s: interrupted", f->path);
            break;
        }
    }
    delta_file_scan_close(scan);
    return ok;
}
