/*
 * sync_es_stream.c: the change stream of `dip sync-es` (issue 11), after the initial load.
 *
 * The slot is consumed from its confirmed position (pgoutput, protocol 2, streaming on).
 * Committed transactions are grouped into a batch until DIP_ES_STREAM_BATCH roots (5,000:
 * distinct root keys and join values collected, docs_resolver_keys) or DIP_ES_STREAM_BATCH_MS
 * (100 ms); then, in one REPEATABLE READ transaction that
 * sees every transaction of the batch (sql/sync_es_stream_visible.sql):
 *   - the resolver (docs/resolve.h) turns the changed rows into root keys;
 *   - the batch builder rebuilds those roots from the current state; a root it does not emit
 *     (gone, or dropped by a plugin) is deleted; a batch needing every root (TRUNCATE, a
 *     view's base table) rebuilds all and deletes every _id of the index it did not emit;
 *   - every action carries version_type=external with the batch's last commit end LSN as
 *     version, so a late or replayed write never overwrites a newer document.
 * The batch's commit LSN is confirmed to the slot only after the bulk writer has an outcome
 * for every action up to the batch's last (es_bulk_acked_through): a crash at any moment
 * replays from there. The daemon does not wait for those outcomes: it reads and builds the
 * next batch meanwhile and confirms batches as they are acknowledged (at most
 * STREAM_MAX_PENDING outstanding, then it waits); --once and a drain wait (es_bulk_flush).
 *
 * Streamed (in-progress) transactions collect their changes apart, per top-level xid, and
 * join the batch at Stream Commit; Stream Abort of the whole transaction drops them (a
 * rolled back subtransaction's changes are kept: rebuilding a root reads the current state,
 * so an extra root costs time, never correctness).
 *
 * --once stops once everything committed before the WAL position read at its start is
 * confirmed; --daemon runs until SIGTERM/SIGINT, then finishes the batch in hand, confirms
 * it and exits 0. Lost connections (PostgreSQL restart, failover, engine down) end a session
 * with a transient error: retry_run starts a new one after a backoff, from the slot's
 * confirmed position, so nothing is lost and nothing is confirmed twice.
 *
 * --daemon reports its figures to /metrics and /healthz (sync_es_metrics.c) once per loop
 * turn: a copy under a mutex, formatted by the server's own thread.
 */
#include "docs/resolve.h"
#include "jobs/sync_es_internal.h"
#include "pg/pgrepl.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

typedef struct StreamXact {
    uint32_t xid; /* top-level xid of a streamed transaction */
    DocsResolver *acc;
} StreamXact;

/* A batch whose actions are sent but not all acknowledged yet (the daemon builds the next
 * batch meanwhile): its end LSN is confirmed once every action up to `seq` has an outcome. */
typedef struct PendingBatch {
    PgLsn lsn;
    uint64_t seq;            /* the bulk writer's last sequence number when the batch was sent */
    int64_t first_commit_us; /* commit times of its first and last transactions (0 none) */
    int64_t commit_us;
    double sent_s; /* dip_now_s() when it was sent */
} PendingBatch;
#define STREAM_MAX_PENDING 8

typedef struct Stream {
    EsJob *j;
    const char *slot, *index;
    bool daemon;
    size_t batch_roots;
    double batch_s;
    /* session objects */
    PgRepl r;
    PgoDecoder dec;
    bool dec_open;
    PgConn bc; /* builder and resolver: one REPEATABLE READ transaction per batch */
    PgConn dl; /* dead letters and heartbeats */
    DocsPlugins *plugins;
    DocsBuilder *b;
    DocsResolver *res;
    EsBulk *bulk;
    /* the batch */
    int64_t *xids;
    size_t nxids, capxids;
    PgLsn batch_lsn; /* end LSN of the batch's last commit; 0 = no commit in the batch */
    double batch_t0;
    int64_t changes; /* row changes in the batch */
    bool in_xact;    /* between Begin and Commit */
    bool in_stream;  /* between Stream Start and Stream Stop */
    uint32_t stream_xid;
    StreamXact *sx;
    size_t nsx;
    /* a table of the tree was altered (Relation message): handled before the next build */
    DocsRelChange reshape;
    Buf reshape_why;
    /* --once */
    PgLsn target;
    bool done;
    /* figures */
    int64_t docs, deletes, batches, xacts, heartbeats, session_retries;
    int64_t batch_first_commit_us, batch_commit_us; /* commit times in the batch; 0 none */
    int64_t applied_commit_us; /* commit time of the last confirmed transaction */
    EsBulkStats bulk_done;     /* retries and dead letters of the sessions closed so far */
    PgLsn guard_wal_lsn;       /* pg_current_wal_lsn() as the WAL guard last read it */
    int64_t retained_bytes;    /* the slot's retained WAL (WAL guard); -1 unknown */
    SyncEsMetrics *m;          /* --daemon's /metrics and /healthz; NULL otherwise */
    bool heard;                /* the server sent something in this session */
    /* the server streamed from, across sessions (failover detection, timeline_check) */
    char sysid[32];
    int tli;
    PgLsn sent_lsn; /* the highest version dip sent to the engine (it may have landed) */
    Buf id, arrays[8];
    uint64_t last_seq; /* sequence number of the last action given to the bulk writer */
    PendingBatch pend[STREAM_MAX_PENDING]; /* oldest first */
    int npend;
} Stream;

/* The daemon's own stop flag: dip's stop request also aborts HTTP transfers, and a drain
 * must still complete its last bulk requests. */
static volatile sig_atomic_t stream_stop_sig;

static void stream_on_signal(int sig)
{
    stream_stop_sig = sig;
}

static void report(Stream *s, const char *doing);

static bool stop_requested(const Stream *s)
{
    return s->daemon ? stream_stop_sig != 0 : dip_stop_requested();
}

/* ---------------------------------------------------------------- streamed transactions */

static StreamXact *sx_find(Stream *s, uint32_t xid, bool create, DipError *err)
{
    for (size_t i = 0; i < s->nsx; i++)
        if (s->sx[i].xid == xid) return &s->sx[i];
    if (!create) return NULL;
    DocsResolver *acc;
    if (!docs_resolver_open(s->j->d, NULL, &acc, err)) return NULL;
    s->sx = dip_realloc(s->sx, (s->nsx + 1) * sizeof *s->sx);
    s->sx[s->nsx] = (StreamXact){xid, acc};
    return &s->sx[s->nsx++];
}

static void sx_drop(Stream *s, uint32_t xid)
{
    for (size_t i = 0; i < s->nsx; i++)
        if (s->sx[i].xid == xid) {
            docs_resolver_close(s->sx[i].acc);
            s->sx[i] = s->sx[--s->nsx];
            return;
        }
}

static void batch_add_xid(Stream *s, uint32_t xid)
{
    if (s->nxids == s->capxids) {
        s->capxids = s->capxids ? s->capxids * 2 : 256;
        s->xids = dip_realloc(s->xids, s->capxids * sizeof *s->xids);
    }
    s->xids[s->nxids++] = xid;
}

/* ---------------------------------------------------------------- applying a batch */

static bool emit_doc(void *ctx, const DocsBuiltDoc *doc, DipError *err)
{
    Stream *s = ctx;
    EsAction a = {.op = ES_OP_INDEX,
                  .index = s->index,
                  .id = doc->id,
                  .routing = doc->routing,
                  .pipeline = s->j->d->pipeline,
                  .version_type = ES_VERSION_EXTERNAL,
                  .version = (int64_t)s->batch_lsn,
                  .source = doc->source,
                  .source_len = doc->source_len};
    docs_resolver_built(s->res, doc->id, doc->id_len);
    /* a long batch (every root rebuilt) is progress too, as long as the engine takes it */
    if ((++s->docs & 1023) == 0)
        report(s, "building documents and sending them to the search engine");
    return es_bulk_add(s->bulk, &a, 0, &s->last_seq, err);
}

static bool delete_doc(Stream *s, const char *id, DipError *err)
{
    EsAction a = {.op = ES_OP_DELETE,
                  .index = s->index,
                  .id = id,
                  .version_type = ES_VERSION_EXTERNAL,
                  .version = (int64_t)s->batch_lsn};
    if ((++s->deletes & 1023) == 0)
        report(s, "building documents and sending them to the search engine");
    return es_bulk_add(s->bulk, &a, 0, &s->last_seq, err);
}

/* Deletes every _id of the index the batch did not build (a batch needing every root). */
static bool sweep_doc(void *ctx, const char *id, size_t id_len, const char *source,
                      size_t source_len, DipError *err)
{
    (void)source;
    (void)source_len;
    Stream *s = ctx;
    if (docs_resolver_was_built(s->res, id, id_len)) return true;
    buf_clear(&s->id);
    buf_append(&s->id, id, id_len);
    return delete_doc(s, buf_cstr(&s->id), err);
}

static bool sql_text(const char *name, const char **out, DipError *err)
{
    return pg_sql_get(name, out, err);
}

/* Waits (bounded) until the snapshot of the transaction just begun sees every transaction
 * of the batch; restarts the transaction while it does not. */
static bool begin_visible(Stream *s, DipError *err)
{
    const char *vis;
    if (!sql_text("sql/sync_es_stream_visible.sql", &vis, err)) return false;
    Buf arr;
    buf_init(&arr);
    buf_append_byte(&arr, '{');
    for (size_t i = 0; i < s->nxids; i++)
        buf_printf(&arr, "%s%" PRId64, i ? "," : "", s->xids[i]);
    buf_append_byte(&arr, '}');
    const char *params[1] = {buf_cstr(&arr)};
    bool ok = false;
    for (int attempt = 0; attempt < 5000; attempt++) {
        if (!pg_exec(&s->bc, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err)) break;
        PGresult *res;
        if (!pg_query(&s->bc, vis, 1, params, &res, err)) break;
        bool all = strcmp(PQgetvalue(res, 0, 0), "0") == 0;
        PQclear(res);
        if (all) {
            ok = true;
            break;
        }
        if (!pg_exec(&s->bc, "ROLLBACK", err)) break;
        if (!dip_sleep_interruptible(0.002)) {
            dip_error_set(err, DIP_ERR_INTERRUPTED, "interrupted");
            break;
        }
    }
    if (!ok && !err->msg[0])
        dip_error_set(err, DIP_ERR_TRANSIENT,
                      "postgresql: committed transactions of the stream stayed invisible for "
                      "10 s");
    buf_free(&arr);
    return ok;
}

/* A table of the tree was altered (docs_resolver_relation_change): the document is resolved
 * again against the catalog, the builder and the resolver are reopened (what the batch
 * collected is kept), and when the documents themselves may differ every root is rebuilt.
 * When schema.json no longer matches the tables, the stream stops with a data error before
 * the change: nothing after the slot's confirmed position is confirmed. */
static bool reshape(Stream *s, DipError *err)
{
    EsJob *j = s->j;
    DipError e = {0};
    if (!docs_schema_resolve(j->d, &s->bc, &e)) {
        if (e.kind == DIP_ERR_TRANSIENT || e.kind == DIP_ERR_INTERRUPTED) {
            *err = e;
            return false;
        }
        char at[24];
        pgrepl_lsn_format(s->r.confirmed_lsn, at);
        return dip_error_set(err, DIP_ERR_DATA,
                             "index %s: a table of the tree was altered while streaming (%s) and "
                             "schema.json no longer matches the tables: %s; the stream stopped "
                             "before that change (slot %s stays at %s, nothing after it is "
                             "confirmed): make schema.json match the tables, then run "
                             "`dip sync-es --reindex` (or undo the ALTER and restart)",
                             j->d->index, buf_cstr(&s->reshape_why), e.msg, s->slot, at);
    }
    docs_builder_close(s->b);
    s->b = NULL;
    DocsResolver *nr;
    /* the builder's statements are prepared again under the same names */
    if (!pg_exec(&s->bc, "DEALLOCATE ALL", err) ||
        !docs_builder_open_keys(j->d, &s->bc, j->tz, s->plugins, &s->b, err) ||
        !docs_resolver_open(j->d, &s->bc, &nr, err))
        return false;
    docs_resolver_merge(nr, s->res);
    docs_resolver_close(s->res);
    s->res = nr;
    for (size_t i = 0; i < s->nsx; i++) {
        DocsResolver *acc;
        if (!docs_resolver_open(j->d, NULL, &acc, err)) return false;
        docs_resolver_merge(acc, s->sx[i].acc);
        docs_resolver_close(s->sx[i].acc);
        s->sx[i].acc = acc;
    }
    bool all = s->reshape == DOCS_REL_REBUILD;
    if (all) docs_resolver_rebuild_all(s->res);
    dip_info("index %s: document resolved again after an ALTER (%s)%s", j->d->index,
             buf_cstr(&s->reshape_why), all ? "; every document is rebuilt" : "");
    s->reshape = DOCS_REL_SAME;
    buf_clear(&s->reshape_why);
    return true;
}

/* Confirms the newest pending batch whose actions, and every action before them, have an
 * outcome (es_bulk_acked_through), and drops it and the older ones. With
 * REDIS_CHECKPOINT=true the checkpoint is written before the slot moves. */
static bool confirm_acked(Stream *s, DipError *err)
{
    if (s->npend == 0) return true;
    if (!es_bulk_send(s->bulk, err)) return false;
    uint64_t acked = es_bulk_acked_through(s->bulk);
    int n = 0;
    while (n < s->npend && s->pend[n].seq <= acked)
        n++;
    if (n == 0) return true;
    const PendingBatch *b = &s->pend[n - 1];
    if (s->j->redis && !sync_es_redis_checkpoint_set(s->j->redis, s->slot, b->lsn, err))
        return false;
    pgrepl_confirm(&s->r, b->lsn);
    if (b->commit_us) s->applied_commit_us = b->commit_us;
    if (s->target && b->lsn >= s->target && !s->in_xact) s->done = true;
    s->npend -= n;
    memmove(s->pend, s->pend + n, (size_t)s->npend * sizeof *s->pend);
    return true;
}

/* Waits until every action sent has an outcome, then confirms every pending batch. */
static bool flush_and_confirm(Stream *s, DipError *err)
{
    sync_es_metrics_doing(s->m, "waiting for the search engine to acknowledge a batch");
    double t0 = dip_now_s();
    if (!es_bulk_flush(s->bulk, err)) return false;
    dip_debug("acknowledged after waiting %.1f ms", (dip_now_s() - t0) * 1e3);
    return confirm_acked(s, err);
}

static bool apply_batch(Stream *s, DipError *err)
{
    if (s->reshape && !reshape(s, err)) return false;
    if (!docs_resolver_pending(s->res) && s->batch_lsn == 0) return true;
    bool ok = true;
    if (docs_resolver_pending(s->res)) {
        double t0 = dip_now_s();
        if (s->batch_lsn > s->sent_lsn) s->sent_lsn = s->batch_lsn;
        sync_es_metrics_doing(s->m, "building documents and sending them to the search engine");
        ok = begin_visible(s, err) && docs_resolver_run(s->res, &s->bc, err);
        size_t n = ok ? docs_resolver_nroots(s->res) : 0;
        size_t nk = s->j->d->root->rel.nkey;
        const size_t chunk = 2000;
        for (size_t from = 0; ok && from < n; from += chunk) {
            size_t m = n - from < chunk ? n - from : chunk;
            docs_resolver_key_arrays(s->res, from, m, s->arrays);
            const char *arrays[8];
            for (size_t k = 0; k < nk; k++)
                arrays[k] = buf_cstr(&s->arrays[k]);
            ok = docs_builder_run_keys(s->b, arrays, emit_doc, s, err);
        }
        for (size_t i = 0; ok && i < n; i++) {
            docs_resolver_root_id(s->res, i, &s->id);
            if (!docs_resolver_was_built(s->res, (const char *)s->id.data, s->id.len))
                ok = delete_doc(s, buf_cstr(&s->id), err);
        }
        if (ok && docs_resolver_full(s->res)) {
            /* the engine holds what earlier batches wrote before it is swept */
            ok = es_bulk_flush(s->bulk, err) && es_index_refresh(s->j->es, s->index, err) &&
                 es_dump(s->j->es, s->index, -1, sweep_doc, s, err);
        }
        if (ok)
            ok = pg_exec(&s->bc, "COMMIT", err);
        else if (pg_is_alive(&s->bc)) {
            DipError e2 = {0};
            if (!pg_exec(&s->bc, "ROLLBACK", &e2)) dip_debug("rollback: %s", e2.msg);
        }
        dip_debug("batch: %zu xacts, %" PRId64 " changes, %zu roots, %.1f ms to build", s->nxids,
                  s->changes, n, (dip_now_s() - t0) * 1e3);
    }
    if (ok && s->batch_lsn) {
        /* confirmed once every action sent so far has an outcome (confirm_acked) */
        if (s->npend == STREAM_MAX_PENDING) ok = flush_and_confirm(s, err);
        if (ok)
            s->pend[s->npend++] = (PendingBatch){.lsn = s->batch_lsn,
                                                 .seq = s->last_seq,
                                                 .first_commit_us = s->batch_first_commit_us,
                                                 .commit_us = s->batch_commit_us,
                                                 .sent_s = dip_now_s()};
    }
    /* --once and a drain wait for the engine; the daemon otherwise reads and builds the next
     * batch while the engine indexes this one */
    if (ok)
        ok = !s->daemon || stop_requested(s) ? flush_and_confirm(s, err) : confirm_acked(s, err);
    if (ok) {
        s->batches++;
        docs_resolver_reset(s->res);
        s->nxids = 0;
        s->changes = 0;
        s->batch_lsn = 0;
        s->batch_first_commit_us = s->batch_commit_us = 0;
    }
    return ok;
}

/* ---------------------------------------------------------------- the message loop */

static bool idle(const Stream *s)
{
    return !s->in_xact && s->nsx == 0 && !docs_resolver_pending(s->res) && s->batch_lsn == 0 &&
           s->npend == 0;
}

static void batch_note_commit(Stream *s, int64_t commit_time_us)
{
    if (s->batch_first_commit_us == 0) s->batch_first_commit_us = commit_time_us;
    s->batch_commit_us = commit_time_us;
}

static DocsResolver *change_sink(Stream *s, DipError *err)
{
    if (!s->in_stream) return s->res;
    StreamXact *x = sx_find(s, s->stream_xid, true, err);
    return x ? x->acc : NULL;
}

static bool on_message(Stream *s, const PgoMessage *m, DipError *err)
{
    switch (m->kind) {
    case PGO_BEGIN:
        s->in_xact = true;
        batch_add_xid(s, m->xid);
        if (s->nxids == 1) s->batch_t0 = dip_now_s();
        return true;
    case PGO_COMMIT:
        s->in_xact = false;
        s->batch_lsn = m->u.commit.end_lsn;
        batch_note_commit(s, m->u.commit.commit_time_us);
        s->xacts++;
        return true;
    case PGO_INSERT:
    case PGO_UPDATE:
    case PGO_DELETE: {
        DocsResolver *sink = change_sink(s, err);
        if (!sink) return false;
        docs_resolver_add(sink, m);
        if (!s->in_stream) s->changes++;
        return true;
    }
    case PGO_TRUNCATE: {
        DocsResolver *sink = change_sink(s, err);
        if (!sink) return false;
        for (int i = 0; i < m->u.truncate.nrels; i++) {
            const PgoRelation *rel = pgoutput_relation(&s->dec, m->u.truncate.oids[i]);
            if (rel) docs_resolver_truncate(sink, rel);
        }
        return true;
    }
    case PGO_STREAM_START:
        s->in_stream = true;
        s->stream_xid = m->xid;
        return true;
    case PGO_STREAM_STOP:
        s->in_stream = false;
        return true;
    case PGO_STREAM_ABORT:
        if (m->u.stream_abort.subxid == m->xid) sx_drop(s, m->xid);
        return true;
    case PGO_STREAM_COMMIT: {
        StreamXact *x = sx_find(s, m->xid, false, err);
        if (s->nxids == 0) s->batch_t0 = dip_now_s();
        if (x) {
            docs_resolver_merge(s->res, x->acc);
            s->changes += docs_resolver_stats(x->acc)->changes;
            sx_drop(s, m->xid);
        }
        batch_add_xid(s, m->xid);
        s->batch_lsn = m->u.commit.end_lsn;
        batch_note_commit(s, m->u.commit.commit_time_us);
        s->xacts++;
        return true;
    }
    case PGO_MESSAGE:
        /* a heartbeat (ours or anyone's): when nothing is pending, its position is safe */
        if (!m->u.message.transactional && idle(s)) {
            pgrepl_confirm(&s->r, m->u.message.lsn);
            if (s->target && m->u.message.lsn >= s->target) s->done = true;
        }
        return true;
    case PGO_RELATION: {
        /* sent before a table's first change in a session and after every ALTER of it */
        Buf why;
        buf_init(&why);
        DocsRelChange c = docs_resolver_relation_change(s->res, m->u.relation, &why);
        if (c != DOCS_REL_SAME) {
            dip_warn("index %s: table %s.%s differs from the resolved document (%s)",
                     s->j->d->index, m->u.relation->nspname, m->u.relation->relname,
                     buf_cstr(&why));
            if (c > s->reshape) s->reshape = c;
            if (s->reshape_why.len) buf_append_str(&s->reshape_why, "; ");
            buf_append(&s->reshape_why, why.data, why.len);
        }
        buf_free(&why);
        return true;
    }
    case PGO_BEGIN_PREPARE:
    case PGO_PREPARE:
    case PGO_COMMIT_PREPARED:
    case PGO_ROLLBACK_PREPARED:
    case PGO_STREAM_PREPARE:
        /* only a slot that was once streamed with two_phase sends these (it keeps it): dip
         * never asks for it, a prepared transaction then arrives whole at COMMIT PREPARED */
        return dip_error_set(err, DIP_ERR_DATA,
                             "slot %s: a two-phase %s message (transaction %u, GID '%s'): the "
                             "slot has two_phase on (another client streamed it with that "
                             "option), and dip applies transactions only when they commit; "
                             "build a new slot and index with --reindex",
                             s->r.slot, pgoutput_kind_name(m->kind), m->xid, m->u.prepare.gid);
    default: /* Type, Origin: the decoder keeps what it needs */
        return true;
    }
}

/* The figures of the stream as of now, for /metrics and /healthz; doing: what comes next
 * (NULL: the loop's next poll). */
static void report(Stream *s, const char *doing)
{
    if (s->m == NULL) return;
    const EsBulkStats *bs = s->bulk ? es_bulk_stats(s->bulk) : NULL;
    PgLsn wal_end = s->r.received_lsn > s->guard_wal_lsn ? s->r.received_lsn : s->guard_wal_lsn;
    SyncEsFigures f = {
        .docs = s->docs,
        .deletes = s->deletes,
        .transactions = s->xacts,
        .batches = s->batches,
        .heartbeats = s->heartbeats,
        .es_request_retries =
            (int64_t)(s->bulk_done.request_retries + (bs ? bs->request_retries : 0)),
        .es_item_retries = (int64_t)(s->bulk_done.item_retries + (bs ? bs->item_retries : 0)),
        .session_retries = s->session_retries,
        .dead_letters = (int64_t)(s->bulk_done.dead_letters + (bs ? bs->dead_letters : 0)),
        .confirmed_lsn = s->r.confirmed_lsn,
        .wal_end_lsn = wal_end,
        .retained_bytes = s->retained_bytes,
        .applied_commit_us = s->applied_commit_us,
        .pending_commit_us = s->npend ? s->pend[0].first_commit_us : s->batch_first_commit_us,
        .caught_up = s->heard && s->res != NULL && idle(s) && s->r.confirmed_lsn >= wal_end,
        .unacked_since_s = s->npend ? s->pend[0].sent_s : 0,
    };
    if (!doing && s->npend) doing = "waiting for the search engine to acknowledge a batch";
    sync_es_metrics_progress(s->m, &f, doing);
}

static void session_close(Stream *s)
{
    if (s->bulk) {
        const EsBulkStats *bs = es_bulk_stats(s->bulk);
        s->bulk_done.request_retries += bs->request_retries;
        s->bulk_done.item_retries += bs->item_retries;
        s->bulk_done.dead_letters += bs->dead_letters;
        es_bulk_close(s->bulk);
    }
    s->bulk = NULL;
    docs_builder_close(s->b);
    s->b = NULL;
    docs_resolver_close(s->res);
    s->res = NULL;
    docs_plugins_close(s->plugins);
    s->plugins = NULL;
    for (size_t i = 0; i < s->nsx; i++)
        docs_resolver_close(s->sx[i].acc);
    s->nsx = 0;
    if (s->dec_open) pgoutput_decoder_free(&s->dec);
    s->dec_open = false;
    pgrepl_close(&s->r);
    if (s->bc.conn) pg_close(&s->bc);
    if (s->dl.conn) pg_close(&s->dl);
    s->nxids = 0;
    s->changes = 0;
    s->batch_lsn = 0;
    s->batch_first_commit_us = s->batch_commit_us = 0;
    s->npend = 0; /* not confirmed: the next session replays them from the slot */
    s->last_seq = 0;
    s->in_xact = s->in_stream = false;
    /* a new session's Relation messages say again what changed */
    s->reshape = DOCS_REL_SAME;
    buf_clear(&s->reshape_why);
}

/* After a reconnect: the server must continue the history dip streamed. A failover to a new
 * primary shows as a new timeline; when it branched off before a change whose documents dip
 * already sent, the new primary lacks those transactions (an asynchronous standby promoted)
 * while the index may hold their documents, with versions above what the new primary will
 * write: nothing but a rebuild makes the index right again, so the stream stops (exit 3). */
static bool timeline_check(Stream *s, DipError *err)
{
    PgReplSystem sys;
    if (!pgrepl_identify_system(&s->r, &sys, err)) return false;
    const char *host = s->r.pc.host, *port = s->r.pc.port;
    if (s->sysid[0] && strcmp(s->sysid, sys.systemid) != 0)
        return dip_error_set(err, DIP_ERR_DATA,
                             "postgresql %s:%s is another cluster (system identifier %s; dip "
                             "streamed from %s until now): its slot %s has another history; "
                             "rebuild index %s from it with `dip sync-es --reindex`",
                             host, port, sys.systemid, s->sysid, s->slot, s->index);
    if (s->tli && sys.timeline != s->tli) {
        PgLsn sw = 0;
        bool found = false;
        if (sys.timeline > s->tli &&
            !pgrepl_timeline_switch(&s->r, sys.timeline, s->tli, &sw, &found, err))
            return false;
        char at[24], sent[24];
        pgrepl_lsn_format(sw, at);
        pgrepl_lsn_format(s->sent_lsn, sent);
        if (!found)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "postgresql %s:%s is on timeline %d, whose history does not "
                                 "contain timeline %d that dip streamed until now: rebuild "
                                 "index %s with `dip sync-es --reindex`",
                                 host, port, sys.timeline, s->tli, s->index);
        if (s->sent_lsn > sw)
            return dip_error_set(
                err, DIP_ERR_DATA,
                "a failover lost transactions: the new primary %s:%s (timeline %d) branched off "
                "timeline %d at %s, but dip had already sent index %s documents of changes up to "
                "%s; the transactions in between are not on the new primary and their documents "
                "may be in the index: rebuild it with `dip sync-es --reindex`",
                host, port, sys.timeline, s->tli, at, s->index, sent);
        dip_warn("postgresql %s:%s: timeline %d -> %d (a failover, at %s): every change dip sent "
                 "to the index (up to %s) is on the new primary; streaming goes on",
                 host, port, s->tli, sys.timeline, at, sent);
    }
    dip_strlcpy(s->sysid, sys.systemid, sizeof s->sysid);
    s->tli = sys.timeline;
    return true;
}

/* A process that has not streamed yet (s->tli 0) takes the server history its Redis
 * checkpoint belongs to from Redis, and the checkpoint as what it has sent: timeline_check
 * then judges a failover that happened while no daemon ran. */
static bool redis_origin_seed(Stream *s, PgLsn checkpoint, DipError *err)
{
    if (!s->j->redis || s->tli) return true;
    bool found = false;
    if (!sync_es_redis_origin_get(s->j->redis, s->slot, s->sysid, &s->tli, &found, err))
        return false;
    if (found && checkpoint > s->sent_lsn) s->sent_lsn = checkpoint;
    return true;
}

/* A slot that another client once streamed with two_phase keeps it, and PostgreSQL then sends
 * prepared transactions at PREPARE on every stream of it: dip applies a transaction only when
 * it commits, so it refuses such a slot before streaming. */
static bool slot_one_phase(Stream *s, DipError *err)
{
    PgSlotHealth h;
    if (!pgrepl_slot_health(&s->dl, s->slot, &h, err)) return false;
    if (!h.two_phase) return true;
    return dip_error_set(err, DIP_ERR_CONFIG,
                         "replication slot %s has two_phase on (another client streamed it with "
                         "that option, and the slot keeps it): PostgreSQL would send prepared "
                         "transactions before they commit, which dip does not apply; build a new "
                         "slot and index with `dip sync-es --reindex`",
                         s->slot);
}

static bool session_open(Stream *s, DipError *err)
{
    EsJob *j = s->j;
    PgSettings ps = j->pgs;
    char *ci = sync_es_conninfo(j, false);
    ps.conninfo = ci;
    bool ok = pgrepl_connect(&s->r, &ps, err);
    free(ci);
    ok = ok && sync_es_connect(j, &s->bc, false, err) && sync_es_connect(j, &s->dl, false, err);
    ok = ok && docs_plugins_open(j->schema, j->d, 0, &s->plugins, err);
    ok = ok && docs_builder_open_keys(j->d, &s->bc, j->tz, s->plugins, &s->b, err);
    ok = ok && docs_resolver_open(j->d, &s->bc, &s->res, err);
    if (ok) {
        EsBulkOptions bo = {.dead_letter = es_dead_letters_store, .dead_letter_ctx = &s->dl};
        /* CREATE ... IF NOT EXISTS notices would break JSON logs */
        ok = pg_exec(&s->dl, "SET client_min_messages = warning", err) &&
             es_dead_letters_init(&s->dl, err) && es_bulk_open(j->es, &bo, &s->bulk, err);
    }
    PgLsn from = 0;
    if (ok && j->redis) ok = sync_es_redis_checkpoint_get(j->redis, s->slot, &from, err);
    ok = ok && redis_origin_seed(s, from, err) && timeline_check(s, err) && slot_one_phase(s, err);
    if (ok && j->redis) ok = sync_es_redis_origin_set(j->redis, s->slot, s->sysid, s->tli, err);
    if (ok) {
        const char *pubs[1] = {j->publication};
        PgReplStart st = {.slot = s->slot,
                          .start_lsn = from, /* the greater of it and the slot's is used */
                          .publications = pubs,
                          .npublications = 1,
                          .streaming = true,
                          .messages = true};
        ok = pgrepl_start(&s->r, &st, err) &&
             pgoutput_decoder_init(&s->dec, s->r.proto_version, err);
        s->dec_open = ok;
    }
    if (ok) {
        char at[24];
        pgrepl_lsn_format(s->r.confirmed_lsn, at);
        dip_info("index %s: streaming slot %s from %s (protocol %d)", j->d->index, s->slot, at,
                 s->r.proto_version);
    }
    return ok;
}

/* The WAL guard: retained WAL of the slot, warned above DIP_ES_WAL_WARN_BYTES. */
static bool wal_guard(Stream *s, int64_t warn_bytes, DipError *err)
{
    PgSlotHealth h;
    sync_es_metrics_doing(s->m, "checking the slot's retained WAL");
    if (!pgrepl_slot_check(&s->dl, s->slot, &h, err)) return false;
    s->retained_bytes = h.retained_bytes;
    s->guard_wal_lsn = h.restart_lsn + (PgLsn)(h.retained_bytes > 0 ? h.retained_bytes : 0);
    if (warn_bytes > 0 && h.retained_bytes > warn_bytes)
        dip_warn("slot %s retains %" PRId64 " bytes of WAL (warning above %" PRId64
                 "; wal_status %s, %s before max_slot_wal_keep_size)",
                 s->slot, h.retained_bytes, warn_bytes, h.wal_status,
                 h.safe_wal_size < 0 ? "no limit" : "bytes left");
    return true;
}

static bool session_run(void *ctx, int attempt, DipError *err)
{
    Stream *s = ctx;
    if (attempt > 1) s->session_retries++;
    int64_t warn_bytes = 0;
    double hb_s = 10.0, guard_s = 30.0;
    if (!config_env_int("DIP_ES_WAL_WARN_BYTES", INT64_C(1) << 30, &warn_bytes, err) ||
        !config_env_double("DIP_ES_HEARTBEAT_S", 10.0, &hb_s, err))
        return false;
    s->heard = false;
    bool ok = session_open(s, err);
    if (ok) sync_es_metrics_phase(s->m, SYNC_ES_PHASE_STREAMING);
    double last_hb = dip_now_s(), last_guard = 0, last_ask = dip_now_s();
    while (ok && !s->done) {
        if (sync_es_redis_lock_lost(s->j->redis)) {
            /* not retried here: an orchestrator restarts the process, which then queues
             * behind the lock's holder */
            ok = dip_error_set(err, DIP_ERR_IO,
                               "index %s: the Redis lock was lost (expired while Redis was "
                               "unreachable, or taken): stopping without confirming more",
                               s->j->d->index);
            break;
        }
        if (stop_requested(s)) {
            if (!s->daemon) {
                ok = dip_error_set(err, DIP_ERR_INTERRUPTED, "interrupted");
                break;
            }
            /* drain: finish the committed transactions in hand, confirm, stop */
            sync_es_metrics_phase(s->m, SYNC_ES_PHASE_DRAINING);
            if (!s->in_xact) {
                ok = apply_batch(s, err) && flush_and_confirm(s, err);
                break;
            }
        }
        bool have_batch = s->batch_lsn != 0 || docs_resolver_pending(s->res) || s->npend > 0;
        int wait_ms = have_batch ? 5 : 100;
        PgReplEvent ev;
        ok = pgrepl_next(&s->r, wait_ms, &ev, err);
        if (!ok) break;
        if (ev.kind == PGREPL_EV_DATA || ev.kind == PGREPL_EV_KEEPALIVE) s->heard = true;
        if (ev.kind == PGREPL_EV_DATA) {
            PgoMessage m;
            ok = pgoutput_decode(&s->dec, ev.data, ev.len, &m, err) && on_message(s, &m, err);
        } else if (ev.kind == PGREPL_EV_KEEPALIVE) {
            if (idle(s)) {
                pgrepl_confirm(&s->r, ev.wal_end);
                if (s->target && ev.wal_end >= s->target) s->done = true;
            }
        } else if (ev.kind == PGREPL_EV_END) {
            ok = dip_error_set(err, DIP_ERR_TRANSIENT, "postgresql: the server ended the stream");
        }
        if (!ok) break;
        double now = dip_now_s();
        if (!s->in_xact && (s->batch_lsn || docs_resolver_pending(s->res)) &&
            (docs_resolver_keys(s->res) >= s->batch_roots || now - s->batch_t0 >= s->batch_s ||
             ev.kind == PGREPL_EV_TIMEOUT))
            ok = apply_batch(s, err);
        if (ok && s->npend > 0) ok = confirm_acked(s, err);
        if (ok && ev.kind == PGREPL_EV_TIMEOUT && idle(s) && now - last_ask > 0.2) {
            /* a keepalive answer tells how far the server has sent */
            ok = pgrepl_send_status(&s->r, true, err);
            last_ask = now;
        }
        if (ok && s->daemon && now - last_hb >= hb_s) {
            PgLsn lsn;
            sync_es_metrics_doing(s->m, "writing a heartbeat to PostgreSQL");
            ok = pgrepl_heartbeat(&s->dl, &lsn, err);
            s->heartbeats += ok;
            last_hb = now;
        }
        if (ok && s->daemon && now - last_guard >= guard_s) {
            ok = wal_guard(s, warn_bytes, err);
            last_guard = now;
        }
        if (!ok) break;
        report(s, NULL);
    }
    if (ok) {
        DipError e2 = {0};
        if (!pgrepl_stop(&s->r, 5000, &e2)) dip_debug("stopping the stream: %s", e2.msg);
        char at[24];
        pgrepl_lsn_format(s->r.confirmed_lsn, at);
        dip_info("index %s: stream confirmed through %s (%" PRId64 " transactions, %" PRId64
                 " documents, %" PRId64 " deletes)",
                 s->j->d->index, at, s->xacts, s->docs, s->deletes);
    }
    report(s, NULL);
    if (!ok && err->kind == DIP_ERR_TRANSIENT) {
        sync_es_metrics_trouble(s->m, err->msg);
        sync_es_metrics_phase(s->m, SYNC_ES_PHASE_RETRYING);
    }
    session_close(s);
    return ok;
}

bool sync_es_stream(EsJob *j, const char *slot, const char *index_name, bool daemon, DipError *err)
{
    Stream s = {.j = j,
                .slot = slot,
                .index = index_name,
                .daemon = daemon,
                .retained_bytes = -1,
                .m = daemon ? j->metrics : NULL};
    int64_t batch = 5000, retries = daemon ? 1000000 : 10;
    double batch_ms = 100;
    if (!config_env_int("DIP_ES_STREAM_BATCH", 5000, &batch, err) ||
        !config_env_double("DIP_ES_STREAM_BATCH_MS", 100, &batch_ms, err) ||
        !config_env_int("DIP_ES_STREAM_RETRIES", retries, &retries, err))
        return false;
    if (batch < 1 || batch_ms < 0 || retries < 0)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "DIP_ES_STREAM_BATCH, DIP_ES_STREAM_BATCH_MS and "
                             "DIP_ES_STREAM_RETRIES must be positive");
    s.batch_roots = (size_t)batch;
    s.batch_s = batch_ms / 1000.0;
    buf_init(&s.id);
    buf_init(&s.reshape_why);
    for (size_t i = 0; i < DIP_ARRAY_LEN(s.arrays); i++)
        buf_init(&s.arrays[i]);
    bool ok = true;
    if (!daemon) {
        const char *q;
        PGresult *r;
        ok = pg_sql_get("sql/sync_es_wal_position.sql", &q, err) &&
             pg_query(&j->pg, q, 0, NULL, &r, err);
        if (ok) {
            ok = pgrepl_lsn_parse(PQgetvalue(r, 0, 0), &s.target) ||
                 dip_error_set(err, DIP_ERR_DATA, "pg_current_wal_lsn: unexpected %s",
                               PQgetvalue(r, 0, 0));
            PQclear(r);
        }
    }
    struct sigaction old_term, old_int;
    if (daemon) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = stream_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, &old_term);
        sigaction(SIGINT, &sa, &old_int);
    }
    if (ok) {
        RetryPolicy p = {.max_retries = (int)retries, .base_delay_s = 1.0, .max_delay_s = 30.0};
        ok = retry_run(&p, session_run, &s, "sync-es stream", err);
    }
    if (daemon) {
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGINT, &old_int, NULL);
    }
    free(s.xids);
    free(s.sx);
    buf_free(&s.id);
    buf_free(&s.reshape_why);
    for (size_t i = 0; i < DIP_ARRAY_LEN(s.arrays); i++)
        buf_free(&s.arrays[i]);
    if (ok && daemon && stream_stop_sig)
        dip_info("index %s: stopped on signal %d after draining", j->d->index,
                 (int)stream_stop_sig);
    return ok;
}

bool sync_es_standby_wait(PgConn *c, const char *index, SyncEsMetrics *m, bool *got, DipError *err)
{
    const char *q;
    if (!pg_sql_get("sql/sync_es_standby_lock.sql", &q, err)) return false;
    dip_info("index %s: another dip sync-es holds it; waiting as a hot standby", index);
    sync_es_metrics_phase(m, SYNC_ES_PHASE_STANDBY);
    const char *params[1] = {index};
    *got = false;
    while (!*got) {
        if (!dip_sleep_interruptible(1.0))
            return dip_error_set(err, DIP_ERR_INTERRUPTED, "index %s: standby interrupted", index);
        PGresult *r;
        if (!pg_query(c, q, 1, params, &r, err)) return false;
        *got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
    }
    dip_info("index %s: lock acquired; this daemon takes over", index);
    sync_es_metrics_phase(m, SYNC_ES_PHASE_STARTING);
    return true;
}
