/*
 * sync_es_metrics.c: /metrics and /healthz of `dip sync-es --daemon` (sync_es_metrics.h).
 *
 * The stream copies its figures in under the mutex once per loop turn; a scrape copies them
 * out under the same mutex and formats outside it. Derived values are computed at scrape
 * time from that copy:
 *   - lag bytes: the server's end of WAL as last seen minus the confirmed LSN (0 when
 *     negative: the WAL guard's reading can be older than the stream's);
 *   - lag seconds: 0 when caught up (nothing pending and lag bytes 0), else now minus the
 *     commit time of the last applied transaction (of the oldest received one when none
 *     has been applied yet);
 *   - documents per second: over the last ~10 s of one-second samples taken by the stream.
 * /healthz answers 503 while the stream has made no progress for stale_s (progress: its
 * loop polled the replication connection, or a long batch handed another 1,024 actions to
 * the bulk writer; none while a batch is stuck on the search engine or PostgreSQL, nor past
 * the sending of a batch the engine has not acknowledged yet) or a
 * failed session has not been recovered from (a batch applied, or caught up, since); 200
 * otherwise, standby included. Text formats: core's metrics_* (Prometheus) and jw_* (the JSON
 * body).
 */
#include "jobs/sync_es_metrics.h"
#include "jobs/metrics_http.h"
#include "pg/pgrepl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RATE_SAMPLES 16 /* one per second: the oldest is ~15 s back */
#define RATE_WINDOW_S 10.0

typedef struct RateSample {
    double t; /* dip_now_s() */
    int64_t docs;
} RateSample;

struct SyncEsMetrics {
    pthread_mutex_t mu;
    MetricsHttp *http;
    double stale_s;
    /* under mu */
    char index[256];
    SyncEsPhase phase;
    SyncEsFigures f;
    bool have_figures;
    double last_progress_s;  /* dip_now_s() of the last poll reported; 0 none */
    const char *doing;       /* static text */
    char trouble[512];       /* the last session failure not yet recovered from */
    int64_t trouble_batches; /* f.batches when it was recorded */
    RateSample rate[RATE_SAMPLES];
    size_t nrate, rate_next;
};

static const char *const PHASE_NAMES[SYNC_ES_PHASE_COUNT] = {"starting",  "standby",  "loading",
                                                             "streaming", "retrying", "draining"};

/* ---------------------------------------------------------------- updates (stream thread) */

void sync_es_metrics_index(SyncEsMetrics *m, const char *index)
{
    if (m == NULL) return;
    pthread_mutex_lock(&m->mu);
    dip_strlcpy(m->index, index, sizeof m->index);
    memset(&m->f, 0, sizeof m->f);
    m->f.retained_bytes = -1;
    m->have_figures = false;
    m->last_progress_s = 0;
    m->trouble[0] = '\0';
    m->nrate = m->rate_next = 0;
    pthread_mutex_unlock(&m->mu);
}

void sync_es_metrics_phase(SyncEsMetrics *m, SyncEsPhase phase)
{
    if (m == NULL) return;
    pthread_mutex_lock(&m->mu);
    m->phase = phase;
    /* a phase starts with a clean clock: staleness is measured within the stream */
    if (phase == SYNC_ES_PHASE_STREAMING) m->last_progress_s = dip_now_s();
    pthread_mutex_unlock(&m->mu);
}

static bool caught_up(const SyncEsFigures *f)
{
    return f->caught_up && f->confirmed_lsn >= f->wal_end_lsn;
}

void sync_es_metrics_progress(SyncEsMetrics *m, const SyncEsFigures *f, const char *doing)
{
    if (m == NULL) return;
    double now = dip_now_s();
    pthread_mutex_lock(&m->mu);
    m->f = *f;
    m->have_figures = true;
    m->last_progress_s =
        f->unacked_since_s > 0 && f->unacked_since_s < now ? f->unacked_since_s : now;
    m->doing = doing;
    if (m->trouble[0] && (f->batches > m->trouble_batches || caught_up(f))) m->trouble[0] = '\0';
    size_t last = (m->rate_next + RATE_SAMPLES - 1) % RATE_SAMPLES;
    if (m->nrate == 0 || now - m->rate[last].t >= 1.0) {
        m->rate[m->rate_next] = (RateSample){now, f->docs};
        m->rate_next = (m->rate_next + 1) % RATE_SAMPLES;
        if (m->nrate < RATE_SAMPLES) m->nrate++;
    }
    pthread_mutex_unlock(&m->mu);
}

void sync_es_metrics_doing(SyncEsMetrics *m, const char *what)
{
    if (m == NULL) return;
    pthread_mutex_lock(&m->mu);
    m->doing = what;
    pthread_mutex_unlock(&m->mu);
}

void sync_es_metrics_trouble(SyncEsMetrics *m, const char *why)
{
    if (m == NULL) return;
    pthread_mutex_lock(&m->mu);
    dip_strlcpy(m->trouble, why, sizeof m->trouble);
    m->trouble_batches = m->f.batches;
    pthread_mutex_unlock(&m->mu);
}

/* ---------------------------------------------------------------- reading (server thread) */

typedef struct Snapshot {
    char index[256];
    SyncEsPhase phase;
    SyncEsFigures f;
    bool have_figures;
    double since_progress_s; /* -1: no poll yet */
    const char *doing;
    char trouble[512];
    double docs_per_s;
    double lag_s;
    int64_t lag_bytes;
} Snapshot;

static double docs_rate(const SyncEsMetrics *m, double now)
{
    if (m->nrate == 0) return 0;
    /* the newest sample at least RATE_WINDOW_S old, else the oldest one */
    const RateSample *base = &m->rate[(m->rate_next + RATE_SAMPLES - 1) % RATE_SAMPLES];
    for (size_t k = 1; k < m->nrate && now - base->t < RATE_WINDOW_S; k++)
        base = &m->rate[(m->rate_next + RATE_SAMPLES - 1 - k) % RATE_SAMPLES];
    double dt = now - base->t;
    return dt >= 0.5 ? (double)(m->f.docs - base->docs) / dt : 0;
}

static void snapshot_take(SyncEsMetrics *m, Snapshot *s)
{
    double now = dip_now_s();
    pthread_mutex_lock(&m->mu);
    memcpy(s->index, m->index, sizeof s->index);
    s->phase = m->phase;
    s->f = m->f;
    s->have_figures = m->have_figures;
    s->since_progress_s = m->last_progress_s > 0 ? now - m->last_progress_s : -1;
    s->doing = m->doing;
    memcpy(s->trouble, m->trouble, sizeof s->trouble);
    s->docs_per_s = docs_rate(m, now);
    pthread_mutex_unlock(&m->mu);
    const SyncEsFigures *f = &s->f;
    s->lag_bytes =
        f->wal_end_lsn > f->confirmed_lsn ? (int64_t)(f->wal_end_lsn - f->confirmed_lsn) : 0;
    s->lag_s = 0;
    if (s->have_figures && !caught_up(f)) {
        int64_t since = f->applied_commit_us ? f->applied_commit_us : f->pending_commit_us;
        if (since > 0) s->lag_s = (double)(dip_wall_us() - since) / 1e6;
        if (s->lag_s < 0) s->lag_s = 0;
    }
}

/* True when healthy, else false with the reason in why. */
static bool healthy(const SyncEsMetrics *m, const Snapshot *s, Buf *why)
{
    if (s->phase == SYNC_ES_PHASE_RETRYING ||
        (s->trouble[0] && s->phase != SYNC_ES_PHASE_STANDBY)) {
        buf_printf(why, "the stream is recovering from: %s", s->trouble[0] ? s->trouble : "?");
        return false;
    }
    bool streaming = s->phase == SYNC_ES_PHASE_STREAMING || s->phase == SYNC_ES_PHASE_DRAINING;
    if (streaming && s->since_progress_s > m->stale_s) {
        buf_printf(why, "no progress of the stream for %.0f s (limit %.0f s)", s->since_progress_s,
                   m->stale_s);
        if (s->doing) buf_printf(why, " while %s", s->doing);
        return false;
    }
    return true;
}

int sync_es_metrics_health(SyncEsMetrics *m, Buf *json)
{
    Snapshot s;
    snapshot_take(m, &s);
    Buf why;
    buf_init(&why);
    bool ok = healthy(m, &s, &why);
    JsonWriter w;
    jw_init(&w, json);
    jw_obj_begin(&w);
    jw_key(&w, "status");
    jw_str(&w, ok ? "ok" : "unavailable");
    jw_key(&w, "state");
    jw_str(&w, PHASE_NAMES[s.phase]);
    jw_key(&w, "index");
    jw_str(&w, s.index);
    if (!ok) {
        jw_key(&w, "reason");
        jw_str(&w, buf_cstr(&why));
    }
    if (s.since_progress_s >= 0) {
        jw_key(&w, "last_progress_seconds");
        jw_double(&w, (double)(int64_t)(s.since_progress_s * 1000) / 1000);
    }
    if (s.have_figures) {
        char lsn[24];
        pgrepl_lsn_format(s.f.confirmed_lsn, lsn);
        jw_key(&w, "confirmed_lsn");
        jw_str(&w, lsn);
        jw_key(&w, "lag_bytes");
        jw_int(&w, s.lag_bytes);
    }
    jw_obj_end(&w);
    buf_append_byte(json, '\n');
    buf_free(&why);
    return ok ? 200 : 503;
}

/* One family with one sample labelled by index (and the extra label pair, if any). */
static void family1(Buf *out, Buf *lb, const Snapshot *s, const char *name, const char *type,
                    const char *help, double v)
{
    const char *kv[] = {"index", s->index, NULL};
    metrics_labels(lb, kv);
    metrics_family(out, name, type, help);
    metrics_sample(out, name, buf_cstr(lb), v);
}

static void sample2(Buf *out, Buf *lb, const Snapshot *s, const char *name, const char *key,
                    const char *val, double v)
{
    const char *kv[] = {"index", s->index, key, val, NULL};
    metrics_labels(lb, kv);
    metrics_sample(out, name, buf_cstr(lb), v);
}

static void render_state(Buf *out, Buf *lb, const SyncEsMetrics *m, const Snapshot *s)
{
    family1(out, lb, s, "dip_sync_es_active", "gauge",
            "1 when this process holds the index (streams its slot), 0 while it waits as a hot "
            "standby or starts.",
            s->phase >= SYNC_ES_PHASE_LOADING ? 1 : 0);
    metrics_family(out, "dip_sync_es_phase", "gauge",
                   "The daemon's phase, one sample per phase: 1 for the current one.");
    for (int p = 0; p < SYNC_ES_PHASE_COUNT; p++)
        sample2(out, lb, s, "dip_sync_es_phase", "phase", PHASE_NAMES[p],
                (int)s->phase == p ? 1 : 0);
    Buf why;
    buf_init(&why);
    family1(out, lb, s, "dip_sync_es_healthy", "gauge",
            "1 when /healthz answers 200, 0 when it answers 503.", healthy(m, s, &why) ? 1 : 0);
    buf_free(&why);
    family1(out, lb, s, "dip_sync_es_last_progress_seconds", "gauge",
            "Seconds since the stream last made progress (polled PostgreSQL or handed actions "
            "to the search engine; 0 before the stream starts).",
            s->since_progress_s > 0 ? s->since_progress_s : 0);
}

static void render_positions(Buf *out, Buf *lb, const Snapshot *s)
{
    const SyncEsFigures *f = &s->f;
    family1(out, lb, s, "dip_sync_es_lag_seconds", "gauge",
            "Now minus the commit time of the last applied transaction; 0 when caught up.",
            s->lag_s);
    family1(out, lb, s, "dip_sync_es_lag_bytes", "gauge",
            "The server's end of WAL as last seen minus the slot's confirmed LSN.",
            (double)s->lag_bytes);
    metrics_family(out, "dip_sync_es_slot_retained_wal_bytes", "gauge",
                   "WAL the replication slot keeps on the server (pg_current_wal_lsn() - "
                   "restart_lsn), read by the WAL guard every 30 s.");
    if (f->retained_bytes >= 0) {
        const char *kv[] = {"index", s->index, NULL};
        metrics_labels(lb, kv);
        metrics_sample(out, "dip_sync_es_slot_retained_wal_bytes", buf_cstr(lb),
                       (double)f->retained_bytes);
    }
    family1(out, lb, s, "dip_sync_es_confirmed_lsn", "gauge",
            "The last LSN confirmed to the slot (acknowledged by the engine), as a number.",
            (double)f->confirmed_lsn);
}

static void render_counts(Buf *out, Buf *lb, const Snapshot *s)
{
    const SyncEsFigures *f = &s->f;
    family1(out, lb, s, "dip_sync_es_documents_per_second", "gauge",
            "Documents built and sent per second over the last ~10 s.", s->docs_per_s);
    family1(out, lb, s, "dip_sync_es_documents_total", "counter",
            "Documents built and sent to the search engine by the stream.", (double)f->docs);
    metrics_family(out, "dip_sync_es_actions_total", "counter",
                   "Bulk actions sent by the stream, by action.");
    sample2(out, lb, s, "dip_sync_es_actions_total", "action", "index", (double)f->docs);
    sample2(out, lb, s, "dip_sync_es_actions_total", "action", "update", (double)f->updates);
    sample2(out, lb, s, "dip_sync_es_actions_total", "action", "delete", (double)f->deletes);
    metrics_family(out, "dip_sync_es_retries_total", "counter",
                   "Retries: bulk requests and bulk items re-sent, stream sessions reopened.");
    sample2(out, lb, s, "dip_sync_es_retries_total", "kind", "es_request",
            (double)f->es_request_retries);
    sample2(out, lb, s, "dip_sync_es_retries_total", "kind", "es_item", (double)f->es_item_retries);
    sample2(out, lb, s, "dip_sync_es_retries_total", "kind", "stream_session",
            (double)f->session_retries);
    family1(out, lb, s, "dip_sync_es_dead_letters_total", "counter",
            "Documents the search engine refused, written to dip_es_dead_letters.",
            (double)f->dead_letters);
    family1(out, lb, s, "dip_sync_es_transactions_total", "counter",
            "Committed transactions received from the slot.", (double)f->transactions);
    family1(out, lb, s, "dip_sync_es_batches_total", "counter",
            "Batches applied and confirmed to the slot.", (double)f->batches);
    family1(out, lb, s, "dip_sync_es_heartbeats_total", "counter",
            "Heartbeats written with pg_logical_emit_message.", (double)f->heartbeats);
}

void sync_es_metrics_render(SyncEsMetrics *m, Buf *out)
{
    Snapshot s;
    snapshot_take(m, &s);
    Buf lb;
    buf_init(&lb);
    render_state(out, &lb, m, &s);
    render_positions(out, &lb, &s);
    render_counts(out, &lb, &s);
    buf_free(&lb);
}

static void serve(void *ctx, const char *path, MetricsHttpResponse *resp)
{
    SyncEsMetrics *m = ctx;
    if (strcmp(path, "/metrics") == 0) {
        resp->status = 200;
        resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
        sync_es_metrics_render(m, &resp->body);
    } else if (strcmp(path, "/healthz") == 0) {
        resp->status = sync_es_metrics_health(m, &resp->body);
        resp->content_type = "application/json";
    } else {
        resp->status = 404;
        buf_append_str(&resp->body, "not found: this server answers /metrics and /healthz\n");
    }
}

/* ---------------------------------------------------------------- start, stop */

bool sync_es_metrics_start(const char *addr, const char *what, double stale_s, SyncEsMetrics **out,
                           DipError *err)
{
    *out = NULL;
    if (addr == NULL || strcmp(addr, "off") == 0) return true;
    SyncEsMetrics *m = dip_calloc(1, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->stale_s = stale_s;
    m->f.retained_bytes = -1;
    if (!metrics_http_start(addr, what, serve, m, &m->http, err)) {
        pthread_mutex_destroy(&m->mu);
        free(m);
        return false;
    }
    dip_info("serving /metrics and /healthz on %s (port %d)", addr, metrics_http_port(m->http));
    *out = m;
    return true;
}

int sync_es_metrics_port(const SyncEsMetrics *m)
{
    return m ? metrics_http_port(m->http) : 0;
}

void sync_es_metrics_stop(SyncEsMetrics *m)
{
    if (m == NULL) return;
    metrics_http_stop(m->http);
    pthread_mutex_destroy(&m->mu);
    free(m);
}
