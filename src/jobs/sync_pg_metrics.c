/*
 * sync_pg_metrics.c: a sync-pg run as Prometheus metrics, for node_exporter's textfile
 * collector (`--metrics-file` / DIP_METRICS_FILE). A batch job has no port to scrape: the
 * file it leaves behind is what Prometheus reads, so it is replaced atomically after every
 * run, failed ones included, and keeps the time of the last success across failures (the
 * value alerts are written against: time() - dip_sync_pg_last_success_timestamp_seconds).
 * Every sample carries input and output labels; one file per (input, output) job.
 */
#include "jobs/sync_pg.h"

#include <math.h>
#include <time.h>

#define M_LAST_SUCCESS "dip_sync_pg_last_success_timestamp_seconds"

static double wall_s(void)
{
    return (double)dip_wall_us() / 1e6;
}

/* The run as Prometheus text; l is the rendered {input, output} label set of every sample. */
static void render(const SyncPgOptions *o, const SyncPgStats *st, const char *l, int exit_code,
                   double started_s, double ended_s, double last_success_s, Buf *out)
{
    Buf kb;
    buf_init(&kb);
    const char *kv[] = {"input", o->source ? o->source : "", "output", st->output, NULL};
    bool ok = exit_code == 0;

    metrics_gauge(out, "dip_sync_pg_last_run_start_timestamp_seconds",
                  "Start of the last run, seconds since the Unix epoch.", l, started_s);
    metrics_gauge(out, "dip_sync_pg_last_run_end_timestamp_seconds",
                  "End of the last run, seconds since the Unix epoch.", l, ended_s);
    metrics_gauge(out, "dip_sync_pg_last_run_duration_seconds", "Wall time of the last run.", l,
                  ended_s - started_s);
    metrics_gauge(out, "dip_sync_pg_last_run_success",
                  "1 when the last run finished (or found nothing to do), else 0.", l, ok ? 1 : 0);
    metrics_gauge(out, "dip_sync_pg_last_run_exit_code",
                  "Exit code of the last run (0 ok, 3 bad data, 4 transient after retries, ...).",
                  l, exit_code);
    metrics_gauge(out, "dip_sync_pg_last_run_up_to_date",
                  "1 when the last run found PostgreSQL already up to date.", l,
                  st->up_to_date ? 1 : 0);
    metrics_gauge(out, "dip_sync_pg_last_run_resumed",
                  "1 when the last run resumed an unfinished one.", l, st->resumed ? 1 : 0);
    metrics_gauge(out, M_LAST_SUCCESS, "End of the last successful run, seconds since the epoch.",
                  l, last_success_s);

    metrics_family(out, "dip_sync_pg_last_run_info", "gauge",
                   "The last run's mode (full, incremental, none) as a label; value 1.");
    const char *kvm[] = {"input", kv[1], "output", kv[3], "mode", st->mode, NULL};
    metrics_labels(&kb, kvm);
    metrics_sample(out, "dip_sync_pg_last_run_info", buf_cstr(&kb), 1);

    metrics_family(out, "dip_sync_pg_last_run_rows", "gauge",
                   "Rows of the last run by kind: read from Delta, inserted, updated, unchanged "
                   "(hdiff equal: not written), deleted (--propagate-deletes).");
    const char *kinds[] = {"read", "inserted", "updated", "unchanged", "deleted"};
    const int64_t vals[] = {st->n_input, st->n_inserted, st->n_updated, st->n_unchanged,
                            st->n_deleted};
    for (size_t i = 0; i < DIP_ARRAY_LEN(kinds); i++) {
        const char *kvk[] = {"input", kv[1], "output", kv[3], "kind", kinds[i], NULL};
        metrics_labels(&kb, kvk);
        metrics_sample(out, "dip_sync_pg_last_run_rows", buf_cstr(&kb), (double)vals[i]);
    }

    metrics_family(out, "dip_sync_pg_last_run_files", "gauge",
                   "Data files of the last run: to read, and skipped because a resumed run had "
                   "loaded them.");
    const char *fk[] = {"read", "skipped_by_resume"};
    const double fv[] = {(double)st->files_total, (double)st->files_skipped};
    for (size_t i = 0; i < DIP_ARRAY_LEN(fk); i++) {
        const char *kvk[] = {"input", kv[1], "output", kv[3], "kind", fk[i], NULL};
        metrics_labels(&kb, kvk);
        metrics_sample(out, "dip_sync_pg_last_run_files", buf_cstr(&kb), fv[i]);
    }
    metrics_gauge(out, "dip_sync_pg_last_run_peak_rss_bytes",
                  "Peak resident memory of the last run.", l, (double)st->peak_rss);
    if (st->have_version) {
        metrics_gauge(out, "dip_sync_pg_table_version", "Delta table version the last run read.", l,
                      (double)st->version);
        metrics_gauge(out, "dip_sync_pg_table_ldts_timestamp_seconds",
                      "LDTS (last commit time) of that table version, seconds since the epoch.", l,
                      (double)st->ldts_us / 1e6);
    }
    buf_free(&kb);
}

bool sync_pg_metrics_write(const char *path, const SyncPgOptions *o, const SyncPgStats *st,
                           int exit_code, double started_s, DipError *err)
{
    double ended = wall_s();
    Buf lb, out;
    buf_init(&lb);
    buf_init(&out);
    const char *kv[] = {"input", o->source ? o->source : "", "output", st->output, NULL};
    metrics_labels(&lb, kv);
    double last_success = ended;
    if (exit_code != 0 && !metrics_read_sample(path, M_LAST_SUCCESS, buf_cstr(&lb), &last_success))
        last_success = NAN;
    render(o, st, buf_cstr(&lb), exit_code, started_s, ended, last_success, &out);
    bool ok = dip_write_file_atomic(path, out.data, out.len, err);
    if (!ok) dip_error_prefix(err, "--metrics-file");
    buf_free(&lb);
    buf_free(&out);
    return ok;
}
