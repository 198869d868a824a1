/*
 * sync_es_load.c: the initial load of one index, consistent with the slot.
 *
 * - Root key ranges are cut once, inside a snapshot, every DIP_ES_BATCH keys in primary-key
 *   order, and stored in sync_es_ranges; together they cover the whole key space (the first
 *   is open below, the last open above), so rows that appear later still fall in one.
 * - N workers (threads) each open a REPEATABLE READ READ ONLY transaction on the snapshot
 *   (SET TRANSACTION SNAPSHOT), build the documents of the ranges they take (docs builder)
 *   and queue them into their own bulk writer.
 * - A range is marked done only when the search engine acknowledged every one of its
 *   documents (the writer's ack callback counts them per range), so a killed load redoes
 *   only ranges that may be incomplete.
 * - The snapshot: the one exported when the slot was created, while its replication
 *   connection is still open (same process); otherwise a temporary slot exports a fresh one
 *   with its exact LSN. Either way every action carries version_type=external_gte with the
 *   snapshot's LSN as version (docs/sync-es.md, "Consistency").
 */
#include "jobs/sync_es_internal.h"

#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct LoadRange {
    int no;
    char **lo, **hi; /* NULL = open */
} LoadRange;

typedef struct LoadShared {
    EsJob *j;
    const char *index_name;
    const char *snapshot;
    const char *lsn;
    uint64_t version;
    LoadRange *ranges;
    size_t nranges;
    size_t nkeys;
    size_t next;        /* next range to take */
    pthread_mutex_t mu; /* next, j->pg (range marks), first error */
    DipError err;
    atomic_bool failed;
    atomic_int_fast64_t docs, bytes, errors, ranges_done;
    atomic_int running;
    double sql_s, render_s; /* under mu */
} LoadShared;

typedef struct LoadWorker {
    LoadShared *sh;
    int id;
    int64_t *added, *acked; /* per range */
    bool *complete, *marked;
    int *owned; /* ranges taken and not yet marked */
    size_t nowned;
    int cur;
    EsBulk *bulk;
    int64_t errors;
} LoadWorker;

static void load_fail(LoadShared *sh, const DipError *e)
{
    pthread_mutex_lock(&sh->mu);
    if (!atomic_load(&sh->failed)) {
        sh->err = *e;
        atomic_store(&sh->failed, true);
    }
    pthread_mutex_unlock(&sh->mu);
}

static void on_ack(void *ctx, uint64_t seq, uint64_t tag, EsOutcome outcome)
{
    (void)seq;
    LoadWorker *w = ctx;
    w->acked[tag]++;
    if (outcome == ES_OUTCOME_DEAD_LETTER) w->errors++;
}

static bool emit_doc(void *ctx, const DocsBuiltDoc *doc, DipError *err)
{
    LoadWorker *w = ctx;
    LoadShared *sh = w->sh;
    EsAction a = {
        .op = ES_OP_INDEX,
        .index = sh->index_name,
        .id = doc->id,
        .routing = doc->routing,
        .pipeline = sh->j->d->pipeline,
        .version_type = ES_VERSION_EXTERNAL_GTE,
        .version = (int64_t)sh->version,
        .source = doc->source,
        .source_len = doc->source_len,
    };
    w->added[w->cur]++;
    atomic_fetch_add(&sh->docs, 1);
    atomic_fetch_add(&sh->bytes, (int64_t)doc->source_len);
    return es_bulk_add(w->bulk, &a, (uint64_t)w->cur, NULL, err);
}

/* Marks every owned range whose documents are all acknowledged. */
static bool mark_done(LoadWorker *w, DipError *err)
{
    LoadShared *sh = w->sh;
    size_t keep = 0;
    bool ok = true;
    for (size_t i = 0; i < w->nowned; i++) {
        int r = w->owned[i];
        if (!ok || !w->complete[r] || w->acked[r] < w->added[r]) {
            w->owned[keep++] = r;
            continue;
        }
        char idx[24], docs[24];
        dip_snprintf(idx, sizeof idx, "%d", sh->ranges[r].no);
        dip_snprintf(docs, sizeof docs, "%" PRId64, w->added[r]);
        const char *params[4] = {sh->index_name, idx, docs, sh->lsn};
        Buf sql;
        buf_init(&sql);
        pthread_mutex_lock(&sh->mu);
        PGresult *res = NULL;
        ok = sync_es_sql(sh->j, "sql/sync_es_range_done.sql", &sql, err) &&
             pg_query(&sh->j->pg, buf_cstr(&sql), 4, params, &res, err);
        pthread_mutex_unlock(&sh->mu);
        if (res) PQclear(res);
        buf_free(&sql);
        if (ok) {
            w->marked[r] = true;
            atomic_fetch_add(&sh->ranges_done, 1);
        } else {
            w->owned[keep++] = r;
        }
    }
    w->nowned = keep;
    return ok;
}

static bool worker_idle(void *ctx, DipError *err)
{
    LoadWorker *w = ctx;
    return es_bulk_poll(w->bulk, err);
}

static bool worker_body(LoadWorker *w, PgConn *c, PgConn *dl, EsClient **es, DocsBuilder **b,
                        DocsPlugins **plugins, DipError *err)
{
    LoadShared *sh = w->sh;
    EsJob *j = sh->j;
    if (!sync_es_connect(j, c, false, err)) return false;
    Buf sql;
    buf_init(&sql);
    buf_printf(&sql,
               "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '%s'",
               sh->snapshot);
    bool ok = pg_exec(c, buf_cstr(&sql), err);
    buf_free(&sql);
    if (!ok) return false;
    if (j->d->nplugins && !docs_plugins_open(j->schema, j->d, 0, plugins, err)) return false;
    if (!docs_builder_open(j->d, c, j->tz, *plugins, b, err)) return false;
    if (j->o->pgsync_meta) docs_builder_pgsync_meta(*b);
    if (!sync_es_connect(j, dl, false, err)) return false;
    if (!es_open(j->es_cfg, es, err)) return false;
    EsBulkOptions bo = {.on_ack = on_ack,
                        .ack_ctx = w,
                        .dead_letter = es_dead_letters_store,
                        .dead_letter_ctx = dl};
    if (!es_bulk_open(*es, &bo, &w->bulk, err)) return false;
    /* the bulk requests of a batch travel while PostgreSQL computes the next one */
    docs_builder_set_idle(*b, worker_idle, w);
    for (;;) {
        if (atomic_load(&sh->failed)) return true;
        if (dip_stop_requested())
            return dip_error_set(err, DIP_ERR_INTERRUPTED, "initial load: stop requested");
        pthread_mutex_lock(&sh->mu);
        size_t r = sh->next < sh->nranges ? sh->next++ : SIZE_MAX;
        pthread_mutex_unlock(&sh->mu);
        if (r == SIZE_MAX) break;
        w->cur = (int)r;
        w->owned[w->nowned++] = (int)r;
        const LoadRange *lr = &sh->ranges[r];
        if (!docs_builder_run(*b, (const char *const *)lr->lo, (const char *const *)lr->hi,
                              emit_doc, w, err))
            return false;
        w->complete[r] = true;
        if (!es_bulk_poll(w->bulk, err) || !mark_done(w, err)) return false;
    }
    if (!es_bulk_flush(w->bulk, err)) return false;
    return mark_done(w, err);
}

static void *worker_main(void *arg)
{
    LoadWorker *w = arg;
    PgConn c = {0}, dl = {0};
    EsClient *es = NULL;
    DocsBuilder *b = NULL;
    DocsPlugins *plugins = NULL;
    DipError err = {0};
    if (!worker_body(w, &c, &dl, &es, &b, &plugins, &err)) {
        dip_error_prefix(&err, "load worker %d", w->id);
        load_fail(w->sh, &err);
    }
    if (b) {
        const DocsBuildStats *st = docs_builder_stats(b);
        pthread_mutex_lock(&w->sh->mu);
        w->sh->sql_s += st->sql_s;
        w->sh->render_s += st->render_s;
        pthread_mutex_unlock(&w->sh->mu);
    }
    atomic_fetch_add(&w->sh->errors, w->errors);
    if (w->bulk) es_bulk_close(w->bulk);
    if (es) es_close(es);
    docs_builder_close(b);
    if (plugins) docs_plugins_close(plugins);
    if (c.conn) pg_close(&c);
    if (dl.conn) pg_close(&dl);
    atomic_fetch_sub(&w->sh->running, 1);
    return NULL;
}

/* ---------------------------------------------------------------- ranges */

static void key_list(const DocsNode *root, bool as_text, Buf *out)
{
    for (size_t i = 0; i < root->rel.nkey; i++) {
        if (i) buf_append_str(out, ", ");
        pg_quote_name(root->rel.key[i], out);
        if (as_text) buf_append_str(out, "::text");
    }
}

static void array_literal(Buf *out, PGresult *r, int row, int n)
{
    buf_append_byte(out, '{');
    for (int k = 0; k < n; k++) {
        if (k) buf_append_byte(out, ',');
        buf_append_byte(out, '"');
        for (const char *p = PQgetvalue(r, row, k); *p; p++) {
            if (*p == '"' || *p == '\\') buf_append_byte(out, '\\');
            buf_append_byte(out, (uint8_t)*p);
        }
        buf_append_byte(out, '"');
    }
    buf_append_byte(out, '}');
}

/* Cuts the ranges of index_name inside the snapshot and stores them (one transaction). */
static bool ranges_create(LoadShared *sh, DipError *err)
{
    EsJob *j = sh->j;
    const DocsNode *root = j->d->root;
    PgConn c;
    if (!sync_es_connect(j, &c, false, err)) return false;
    Buf sql, keys, ktext, table, batch;
    buf_init(&sql);
    buf_init(&keys);
    buf_init(&ktext);
    buf_init(&table);
    buf_init(&batch);
    key_list(root, false, &keys);
    key_list(root, true, &ktext);
    pg_quote_name(root->rel.schema, &table);
    buf_append_byte(&table, '.');
    pg_quote_name(root->rel.name, &table);
    buf_printf(&batch, "%d", j->o->batch > 0 ? j->o->batch : 2000);
    buf_printf(&sql,
               "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '%s'",
               sh->snapshot);
    bool ok = pg_exec(&c, buf_cstr(&sql), err);
    const char *tmpl;
    PGresult *r = NULL;
    if (ok) ok = pg_sql_get("sql/docs_ranges.sql", &tmpl, err);
    if (ok) {
        buf_clear(&sql);
        const char *kv[] = {"key_text",      buf_cstr(&ktext), "keys",
                            buf_cstr(&keys), "table",          buf_cstr(&table),
                            "batch",         buf_cstr(&batch), NULL};
        ok = pg_sql_render(tmpl, kv, &sql, err) && pg_query(&c, buf_cstr(&sql), 0, NULL, &r, err);
    }
    if (ok) ok = pg_exec(&j->pg, "BEGIN", err);
    if (ok) {
        int n = PQntuples(r);
        int nk = (int)root->rel.nkey;
        Buf ins, lo, hi;
        buf_init(&ins);
        buf_init(&lo);
        buf_init(&hi);
        ok = sync_es_sql(j, "sql/sync_es_range_insert.sql", &ins, err);
        for (int i = 0; ok && i <= n; i++) {
            char no[16];
            dip_snprintf(no, sizeof no, "%d", i);
            buf_clear(&lo);
            buf_clear(&hi);
            if (i > 0) array_literal(&lo, r, i - 1, nk);
            if (i < n) array_literal(&hi, r, i, nk);
            const char *params[4] = {sh->index_name, no, i > 0 ? buf_cstr(&lo) : NULL,
                                     i < n ? buf_cstr(&hi) : NULL};
            PGresult *x;
            ok = pg_query(&j->pg, buf_cstr(&ins), 4, params, &x, err);
            if (ok) PQclear(x);
        }
        ok = ok && pg_exec(&j->pg, "COMMIT", err);
        DipError e2 = {0};
        if (!ok && !pg_exec(&j->pg, "ROLLBACK", &e2)) dip_warn("rollback: %s", e2.msg);
        if (ok)
            dip_info("index %s: %d root key ranges of up to %s roots", sh->index_name, n + 1,
                     buf_cstr(&batch));
        buf_free(&ins);
        buf_free(&lo);
        buf_free(&hi);
    }
    if (r) PQclear(r);
    pg_close(&c);
    buf_free(&sql);
    buf_free(&keys);
    buf_free(&ktext);
    buf_free(&table);
    buf_free(&batch);
    return ok;
}

static char **json_keys(const char *text, size_t nk, DipError *err)
{
    json_error_t je;
    json_t *a = json_loads(text, JSON_DECODE_ANY, &je);
    if (!a || !json_is_array(a) || json_array_size(a) != nk) {
        if (a) json_decref(a);
        dip_error_set(err, DIP_ERR_DATA, "range bound %s: expected %zu key values", text, nk);
        return NULL;
    }
    char **keys = dip_calloc(nk, sizeof *keys);
    for (size_t i = 0; i < nk; i++) {
        json_t *v = json_array_get(a, i);
        keys[i] = dip_strdup(json_is_string(v) ? json_string_value(v) : "");
    }
    json_decref(a);
    return keys;
}

static void ranges_free(LoadShared *sh)
{
    for (size_t i = 0; i < sh->nranges; i++) {
        for (size_t k = 0; k < sh->nkeys; k++) {
            if (sh->ranges[i].lo) free(sh->ranges[i].lo[k]);
            if (sh->ranges[i].hi) free(sh->ranges[i].hi[k]);
        }
        free(sh->ranges[i].lo);
        free(sh->ranges[i].hi);
    }
    free(sh->ranges);
}

static bool ranges_pending(LoadShared *sh, int64_t *total, DipError *err)
{
    EsJob *j = sh->j;
    Buf sql;
    buf_init(&sql);
    const char *params[1] = {sh->index_name};
    PGresult *r = NULL;
    bool ok = sync_es_sql(j, "sql/sync_es_ranges_count.sql", &sql, err) &&
              pg_query(&j->pg, buf_cstr(&sql), 1, params, &r, err);
    if (ok) {
        (void)dip_parse_i64(PQgetvalue(r, 0, 0), total);
        PQclear(r);
        ok = sync_es_sql(j, "sql/sync_es_ranges_pending.sql", &sql, err) &&
             pg_query(&j->pg, buf_cstr(&sql), 1, params, &r, err);
    }
    buf_free(&sql);
    if (!ok) return false;
    int n = PQntuples(r);
    sh->ranges = dip_calloc((size_t)n + 1, sizeof *sh->ranges);
    for (int i = 0; ok && i < n; i++) {
        LoadRange *lr = &sh->ranges[sh->nranges++];
        int64_t no = 0;
        (void)dip_parse_i64(PQgetvalue(r, i, 0), &no);
        lr->no = (int)no;
        if (!PQgetisnull(r, i, 1))
            ok = (lr->lo = json_keys(PQgetvalue(r, i, 1), sh->nkeys, err)) != NULL;
        if (ok && !PQgetisnull(r, i, 2))
            ok = (lr->hi = json_keys(PQgetvalue(r, i, 2), sh->nkeys, err)) != NULL;
    }
    PQclear(r);
    return ok;
}

/* ---------------------------------------------------------------- the load */

bool sync_es_load(EsJob *j, const char *index_name, const char *snapshot, const char *lsn,
                  DipError *err)
{
    EsSlot tmp = {0};
    if (!snapshot) {
        /* the snapshot exported with the slot died with the process that created it */
        char name[64];
        dip_snprintf(name, sizeof name, "dip_tmp_%ld_%u", (long)getpid(),
                     (unsigned)(dip_rng_seed() & 0xffffff));
        if (!sync_es_slot_create(j, name, true, &tmp, err)) return false;
        snapshot = tmp.snapshot;
        lsn = tmp.lsn;
        dip_info("index %s: resuming the load under a fresh snapshot at %s", index_name, lsn);
    }
    LoadShared sh = {.j = j, .index_name = index_name, .snapshot = snapshot, .lsn = lsn};
    pthread_mutex_init(&sh.mu, NULL);
    sh.nkeys = j->d->root->rel.nkey;
    bool ok = sync_es_parse_lsn(lsn, &sh.version) ||
              dip_error_set(err, DIP_ERR_INTERNAL, "snapshot LSN %s: not an LSN", lsn);
    ok = ok && es_dead_letters_init(&j->pg, err);
    int64_t total = 0;
    if (ok) ok = ranges_pending(&sh, &total, err);
    if (ok && total == 0) {
        ranges_free(&sh);
        sh.ranges = NULL;
        sh.nranges = 0;
        ok = ranges_create(&sh, err) && ranges_pending(&sh, &total, err);
    }
    if (ok && sh.nranges < (size_t)total)
        dip_info("index %s: %" PRId64 " of %" PRId64
                 " ranges already loaded; loading the other %zu",
                 index_name, total - (int64_t)sh.nranges, total, sh.nranges);
    int nw = j->workers;
    if (ok && (size_t)nw > sh.nranges) nw = sh.nranges ? (int)sh.nranges : 1;
    LoadWorker *ws = dip_calloc((size_t)nw, sizeof *ws);
    pthread_t *tids = dip_calloc((size_t)nw, sizeof *tids);
    int started = 0;
    double t0 = dip_now_s();
    if (ok && sh.nranges > 0) {
        for (int i = 0; i < nw; i++) {
            LoadWorker *w = &ws[i];
            w->sh = &sh;
            w->id = i;
            w->added = dip_calloc(sh.nranges, sizeof *w->added);
            w->acked = dip_calloc(sh.nranges, sizeof *w->acked);
            w->complete = dip_calloc(sh.nranges, sizeof *w->complete);
            w->marked = dip_calloc(sh.nranges, sizeof *w->marked);
            w->owned = dip_calloc(sh.nranges, sizeof *w->owned);
            atomic_fetch_add(&sh.running, 1);
            if (pthread_create(&tids[i], NULL, worker_main, w) != 0) {
                atomic_fetch_sub(&sh.running, 1);
                ok = dip_error_set(err, DIP_ERR_INTERNAL, "cannot start load worker %d", i);
                break;
            }
            started++;
        }
        /* progress while the workers run; they share j->pg under sh.mu */
        while (atomic_load(&sh.running) > 0) {
            usleep(200 * 1000);
            double el = dip_now_s() - t0;
            int64_t docs = atomic_load(&sh.docs);
            dip_progress("%s: %" PRId64 "/%zu ranges, %" PRId64 " documents, %.0f/s", index_name,
                         (int64_t)atomic_load(&sh.ranges_done), sh.nranges, docs,
                         el > 0 ? docs / el : 0.0);
        }
        dip_progress_done();
    }
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    double el = dip_now_s() - t0;
    if (ok && atomic_load(&sh.failed)) {
        *err = sh.err;
        ok = false;
    }
    j->docs += atomic_load(&sh.docs);
    j->bytes += atomic_load(&sh.bytes);
    j->errors += atomic_load(&sh.errors);
    j->ranges_done += atomic_load(&sh.ranges_done);
    j->sql_s += sh.sql_s;
    j->render_s += sh.render_s;
    if (ok)
        dip_info("index %s: %" PRId64 " documents (%" PRId64 " bytes) in %.2f s, %.0f/s, %d "
                 "workers, %" PRId64 " dead letters",
                 index_name, (int64_t)atomic_load(&sh.docs), (int64_t)atomic_load(&sh.bytes), el,
                 el > 0 ? atomic_load(&sh.docs) / el : 0.0, nw, (int64_t)atomic_load(&sh.errors));
    for (int i = 0; i < nw; i++) {
        free(ws[i].added);
        free(ws[i].acked);
        free(ws[i].complete);
        free(ws[i].marked);
        free(ws[i].owned);
    }
    free(ws);
    free(tids);
    ranges_free(&sh);
    pthread_mutex_destroy(&sh.mu);
    sync_es_slot_close(&tmp);
    return ok;
}
