/*
 * sync_pg_load.c: the sync-pg pipeline (DESIGN.md, data flow): a decoder thread reads the
 * Delta files, computes the gold rows (hk, hdiff, sync_ldts, columns), drops rows whose
 * (hk, hdiff) gold already holds, and encodes the rest as binary COPY; the loader (the
 * calling thread) writes each batch in one transaction. A bounded queue between them lets
 * decoding overlap with PostgreSQL's work: the server is the bottleneck on one core
 * (DESIGN.md, measured facts), the client's decoding gets the other.
 *
 * Per batch the loader COPYs rows known to be new straight into gold (COPY speed, no merge)
 * and stages the changed ones for INSERT .. SELECT .. ON CONFLICT (hk) DO UPDATE .. WHERE
 * hdiff IS DISTINCT FROM. A unique violation on the direct COPY (someone else inserted the
 * key meanwhile, or a redone batch whose commit acknowledgement was lost) sends the whole
 * batch through the merge instead. A file's last batch also moves the run's resume point,
 * in the same transaction, so the resume point never runs ahead of the data.
 */
#include "jobs/sync_pg_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_CAP 4
#define PROGRESS_ROWS 100000 /* emit a batch at least this often, for progress and stops */

/* ------------------------------------------------------------ the queue */

typedef struct LoadBatch {
    Buf new_rows; /* binary COPY stream for gold (rows known to be new) */
    Buf chg_rows; /* binary COPY stream for the staging table (changed rows) */
    int64_t n_new, n_chg, n_unchanged, n_input;
    size_t file_index;
    bool file_done; /* last batch of files[file_index] */
    struct LoadBatch *next;
} LoadBatch;

typedef struct Pipe {
    pthread_mutex_t mu;
    pthread_cond_t changed;
    LoadBatch *head, *tail;
    int count;
    bool producer_done; /* no more batches (see producer_failed) */
    bool producer_failed;
    bool consumer_abort; /* the loader gave up: stop decoding */
    DipError producer_err;
} Pipe;

static LoadBatch *batch_new(size_t file_index)
{
    LoadBatch *b = dip_calloc(1, sizeof *b);
    buf_init(&b->new_rows);
    buf_init(&b->chg_rows);
    pg_copy_header(&b->new_rows);
    pg_copy_header(&b->chg_rows);
    b->file_index = file_index;
    return b;
}

static void batch_free(LoadBatch *b)
{
    if (b) {
        buf_free(&b->new_rows);
        buf_free(&b->chg_rows);
        free(b);
    }
}

/* Blocks while the queue is full; false when the loader aborted. */
static bool pipe_push(Pipe *p, LoadBatch *b)
{
    pthread_mutex_lock(&p->mu);
    while (p->count >= QUEUE_CAP && !p->consumer_abort)
        pthread_cond_wait(&p->changed, &p->mu);
    bool ok = !p->consumer_abort;
    if (ok) {
        if (p->tail)
            p->tail->next = b;
        else
            p->head = b;
        p->tail = b;
        p->count++;
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->mu);
    if (!ok) batch_free(b);
    return ok;
}

static LoadBatch *pipe_pop(Pipe *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->head == NULL && !p->producer_done)
        pthread_cond_wait(&p->changed, &p->mu);
    LoadBatch *b = p->head;
    if (b) {
        p->head = b->next;
        if (p->head == NULL) p->tail = NULL;
        p->count--;
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->mu);
    return b;
}

/* ------------------------------------------------------------ the decoder */

typedef struct Decoder {
    SyncJob *j;
    Pipe *pipe;
    LoadBatch *cur;
    size_t file_index;
    /* keys of the current load batch: a second row with the same hk starts a new batch
     * (ON CONFLICT cannot touch one row twice in a statement, COPY would violate the key) */
    uint64_t *dup_keys;
    uint32_t *dup_gen;
    size_t dup_cap;
    uint32_t gen;
    /* per read batch: hk texts and hdiffs computed once */
    Buf hk_data;
    int64_t *hk_off;
    char *hdiff;
    size_t rows_cap;
    Buf scratch, scratch2, lookup;
    int64_t max_batch;
} Decoder;

static bool dup_check_and_mark(Decoder *d, uint64_t key)
{
    size_t mask = d->dup_cap - 1;
    for (size_t i = (size_t)key & mask;; i = (i + 1) & mask) {
        if (d->dup_gen[i] != d->gen) {
            d->dup_gen[i] = d->gen;
            d->dup_keys[i] = key;
            return false;
        }
        if (d->dup_keys[i] == key) return true;
    }
}

static bool emit(Decoder *d, bool file_done)
{
    LoadBatch *b = d->cur;
    b->file_done = file_done;
    if (b->n_new) pg_copy_trailer(&b->new_rows);
    if (b->n_chg) pg_copy_trailer(&b->chg_rows);
    d->cur = batch_new(d->file_index);
    d->gen++;
    if (d->gen == 0) { /* wrapped: clear stamps */
        memset(d->dup_gen, 0, d->dup_cap * sizeof(uint32_t));
        d->gen = 1;
    }
    return pipe_push(d->pipe, b);
}

static bool encode_row(Decoder *d, Buf *out, const ColumnBatch *b, int64_t r, const char *hk,
                       size_t hklen, const char *hdiff, DipError *err)
{
    const GoldPlan *p = &d->j->plan;
    pg_copy_tuple_begin(out, 3 + p->ncols);
    pg_copy_text(out, hk, hklen);
    pg_copy_text(out, hdiff, 64);
    pg_copy_timestamp_us(out, d->j->ldts_us);
    for (int c = 0; c < p->ncols; c++)
        if (!pg_copy_value(out, &d->j->col_types[c], &b->cols[p->cols[c].bi], r, &d->scratch,
                           err)) {
            dip_error_prefix(err, "column '%s'", p->cols[c].gold);
            return false;
        }
    return true;
}

/* One lookup of the keys in d->lookup on the decoder's own connection (reopened after a
 * transient failure); their (hk, hdiff) go into the HkSet. */
static bool lookup_attempt(void *ctx, int attempt, DipError *err)
{
    (void)attempt;
    Decoder *d = ctx;
    SyncJob *j = d->j;
    PGresult *res = NULL;
    const char *params[1] = {buf_cstr(&d->lookup)};
    if (!(pg_is_alive(&j->lookup_conn) || pg_connect(&j->lookup_conn, &j->opt->pg, err)) ||
        !pg_query(&j->lookup_conn, buf_cstr(&j->sql_lookup), 1, params, &res, err)) {
        if (err->kind == DIP_ERR_TRANSIENT) pg_close(&j->lookup_conn);
        return false;
    }
    int nt = pg_nrows(res);
    for (int t = 0; t < nt; t++)
        hkset_put(&j->set, hkset_key(pg_value(res, t, 0), pg_value_len(res, t, 0)),
                  dip_xxh64(pg_value(res, t, 1), pg_value_len(res, t, 1), 0));
    pg_result_free(res);
    return true;
}

/* Fills the HkSet with gold's (hk, hdiff) for the keys of rows [0, n) not known yet. */
static bool lookup_keys(Decoder *d, int64_t n, DipError *err)
{
    SyncJob *j = d->j;
    int64_t chunk = j->opt->pg.batch_size;
    int64_t i = 0;
    while (i < n) {
        buf_clear(&d->lookup);
        buf_append_byte(&d->lookup, '{');
        int64_t k = 0;
        for (; i < n && k < chunk; i++) {
            const char *hk = (const char *)d->hk_data.data + d->hk_off[i];
            size_t len = (size_t)(d->hk_off[i + 1] - d->hk_off[i]);
            uint64_t v;
            if (hkset_get(&j->set, hkset_key(hk, len), &v)) continue;
            if (k++) buf_append_byte(&d->lookup, ',');
            buf_append_byte(&d->lookup, '"');
            for (size_t c = 0; c < len; c++) {
                if (hk[c] == '"' || hk[c] == '\\') buf_append_byte(&d->lookup, '\\');
                buf_append_byte(&d->lookup, (uint8_t)hk[c]);
            }
            buf_append_byte(&d->lookup, '"');
        }
        buf_append_byte(&d->lookup, '}');
        if (k == 0) continue;
        RetryPolicy p = pg_retry_policy(&j->opt->pg);
        if (!retry_run(&p, lookup_attempt, d, "looking up keys in gold", err)) return false;
    }
    return true;
}

static bool on_read_batch(void *ctx, const ColumnBatch *b, int64_t start, int64_t end,
                          DipError *err)
{
    Decoder *d = ctx;
    SyncJob *j = d->j;
    const DeltaAddFile *f = j->files[d->file_index];
    int64_t n = end - start;
    if ((size_t)n + 1 > d->rows_cap) {
        d->rows_cap = (size_t)n + 1;
        d->hk_off = dip_realloc(d->hk_off, d->rows_cap * sizeof(int64_t));
        d->hdiff = dip_realloc(d->hdiff, d->rows_cap * 64);
    }
    /* phase 1: hk and hdiff of every row */
    buf_clear(&d->hk_data);
    for (int64_t i = 0; i < n; i++) {
        int64_t r = start + i;
        d->hk_off[i] = (int64_t)d->hk_data.len;
        if (!gold_row_hk(&j->plan, b, r, &d->scratch2, &d->scratch, err)) {
            dip_error_prefix(err, "%s: row %lld", f->path, (long long)r + 1);
            return false;
        }
        buf_append(&d->hk_data, d->scratch2.data, d->scratch2.len);
        char hx[65];
        gold_row_hdiff(&j->plan, b, r, &d->scratch, hx);
        memcpy(d->hdiff + 64 * i, hx, 64);
    }
    d->hk_off[n] = (int64_t)d->hk_data.len;
    /* phase 2: incremental syncs ask gold about keys not seen yet */
    if (j->prefilter == PREFILTER_LOOKUP && !lookup_keys(d, n, err)) return false;
    /* phase 3: classify and encode. Gold empty at start (PREFILTER_NONE): nothing to compare
     * with, and no set either, so memory stays bounded whatever the table's size; a key that
     * comes twice (in two files) fails its COPY and that batch is redone through the merge */
    bool track = j->prefilter != PREFILTER_NONE;
    for (int64_t i = 0; i < n; i++) {
        const char *hk = (const char *)d->hk_data.data + d->hk_off[i];
        size_t hklen = (size_t)(d->hk_off[i + 1] - d->hk_off[i]);
        const char *hd = d->hdiff + 64 * i;
        uint64_t key = hkset_key(hk, hklen), hv = dip_xxh64(hd, 64, 0), old = 0;
        bool present = track && hkset_get(&j->set, key, &old);
        if (present && old == hv) {
            d->cur->n_input++;
            d->cur->n_unchanged++;
            if (d->cur->n_input >= PROGRESS_ROWS && !emit(d, false))
                return dip_error_set(err, DIP_ERR_INTERRUPTED, "loader stopped");
            continue;
        }
        /* a row to write: only written keys need the duplicate check */
        if (dup_check_and_mark(d, key)) {
            if (!emit(d, false)) return dip_error_set(err, DIP_ERR_INTERRUPTED, "loader stopped");
            (void)dup_check_and_mark(d, key);
        }
        LoadBatch *lb = d->cur;
        lb->n_input++;
        if (!present) {
            if (track) hkset_put(&j->set, key, hv);
            if (!encode_row(d, &lb->new_rows, b, start + i, hk, hklen, hd, err)) {
                dip_error_prefix(err, "%s: row %lld", f->path, (long long)(start + i) + 1);
                return false;
            }
            lb->n_new++;
        } else {
            hkset_put(&j->set, key, hv);
            if (!encode_row(d, &lb->chg_rows, b, start + i, hk, hklen, hd, err)) {
                dip_error_prefix(err, "%s: row %lld", f->path, (long long)(start + i) + 1);
                return false;
            }
            lb->n_chg++;
        }
        if (lb->n_new + lb->n_chg >= d->max_batch) {
            if (!emit(d, false)) return dip_error_set(err, DIP_ERR_INTERRUPTED, "loader stopped");
        }
    }
    return true;
}

static void *decoder_main(void *arg)
{
    Decoder *d = arg;
    SyncJob *j = d->j;
    DipError err = {0};
    bool ok = true;
    for (size_t fi = j->first_file; fi < j->nfiles && ok; fi++) {
        d->file_index = fi;
        d->cur->file_index = fi;
        ok = sync_pg_scan_file(j, j->files[fi], on_read_batch, d, &err) && emit(d, true);
        if (!ok && err.kind == DIP_ERR_NONE)
            dip_error_set(&err, DIP_ERR_INTERRUPTED, "loader stopped");
    }
    pthread_mutex_lock(&d->pipe->mu);
    d->pipe->producer_done = true;
    if (!ok) {
        d->pipe->producer_failed = true;
        d->pipe->producer_err = err;
    }
    pthread_cond_broadcast(&d->pipe->changed);
    pthread_mutex_unlock(&d->pipe->mu);
    return NULL;
}

/* ------------------------------------------------------------ the loader */

typedef struct LoadTx {
    LoadBatch *b;
    bool force_merge;     /* new rows go through the merge too */
    bool checkpoint;      /* SYNC_CHECKPOINT_INTERVAL elapsed: persist counters */
    int64_t direct;       /* rows COPYed straight into gold */
    int64_t ins_m, upd_m; /* the merge's inserted and updated rows */
} LoadTx;

/* Adds a committed (or about to be committed) batch to a run's counters. */
static void apply_counts(PgRun *r, const LoadTx *t)
{
    const LoadBatch *b = t->b;
    int64_t merged = (t->force_merge ? b->n_new : 0) + b->n_chg;
    r->n_input_records += b->n_input;
    r->n_inserted += t->direct + t->ins_m;
    r->n_updated += t->upd_m;
    r->n_unchanged += b->n_unchanged + merged - t->ins_m - t->upd_m;
    r->n_output_records = r->n_inserted + r->n_updated + r->n_deleted;
}

static bool copy_buf(PgConn *c, const char *sql, const Buf *data, int64_t *rows, DipError *err)
{
    return pg_copy_begin(c, sql, err) && pg_copy_put(c, data->data, data->len, err) &&
           pg_copy_end(c, rows, err);
}

/* One batch's statements inside the open transaction: new rows COPYed into gold, changed
 * rows (and new ones when force_merge) staged and merged. */
static bool apply_batch(SyncJob *j, LoadTx *t, DipError *err)
{
    LoadBatch *b = t->b;
    t->direct = t->ins_m = t->upd_m = 0;
    int64_t rows = 0;
    bool staged = false;
    if (b->n_new > 0) {
        if (!t->force_merge) {
            if (!copy_buf(&j->conn, buf_cstr(&j->sql_copy_gold), &b->new_rows, &rows, err))
                return false;
            t->direct = rows;
        } else {
            if (!copy_buf(&j->conn, buf_cstr(&j->sql_copy_stage), &b->new_rows, &rows, err))
                return false;
            staged = true;
        }
    }
    if (b->n_chg > 0) {
        if (!copy_buf(&j->conn, buf_cstr(&j->sql_copy_stage), &b->chg_rows, &rows, err))
            return false;
        staged = true;
    }
    if (staged) {
        PGresult *r;
        if (!pg_query(&j->conn, buf_cstr(&j->sql_merge), 0, NULL, &r, err)) return false;
        if (pg_nrows(r) != 1 || !pg_value_i64(r, 0, 0, &t->ins_m) ||
            !pg_value_i64(r, 0, 1, &t->upd_m))
            t->ins_m = t->upd_m = 0;
        pg_result_free(r);
    }
    return true;
}

/* Batches committed together: up to GROUP_ROWS written rows, never past a file's end (whose
 * commit carries the resume point) or a due checkpoint. Fewer commits, fewer WAL flushes;
 * the batches stay in memory until their commit so a failure can redo them all. */
#define GROUP_ROWS 100000
#define GROUP_MAX 64

typedef struct Group {
    LoadTx t[GROUP_MAX];
    int n;
    int64_t rows; /* written rows (new + changed) */
    int failed;   /* index of the batch whose statements failed, -1 = none */
} Group;

/* The run as of the group's commit: counters, resume point (a file's last batch moves it)
 * and the partly loaded file (a commit in the middle of a file: GROUP_ROWS, a due
 * checkpoint, a stop; its rows are in gold while the resume point stays at the previous
 * file). A deep copy of j->run the caller frees. */
static void run_after_group(const SyncJob *j, const Group *g, PgRun *out)
{
    pg_run_copy(out, &j->run);
    for (int i = 0; i < g->n; i++)
        apply_counts(out, &g->t[i]);
    const LoadBatch *last = g->t[g->n - 1].b;
    const char *path = j->files[last->file_index]->path;
    if (last->file_done) {
        free(out->last_file);
        out->last_file = dip_strdup(path);
        free(out->partial_file);
        out->partial_file = NULL;
        out->partial_rows = 0;
        return;
    }
    bool same = out->partial_file && strcmp(out->partial_file, path) == 0;
    int64_t rows = same ? out->partial_rows : 0;
    for (int i = 0; i < g->n; i++)
        if (g->t[i].b->file_index == last->file_index) rows += g->t[i].b->n_input;
    if (!same) {
        free(out->partial_file);
        out->partial_file = dip_strdup(path);
    }
    out->partial_rows = rows;
}

/* The run's counters and resume point as of the group's commit, in the same transaction. */
static bool group_checkpoint(SyncJob *j, Group *g, DipError *err)
{
    PgRun next;
    run_after_group(j, g, &next);
    bool ok = pg_run_checkpoint(&j->conn, &next, err);
    pg_run_free(&next);
    return ok;
}

/* The whole group in one transaction (sync_pg_tx redoes it after a transient failure). */
static bool group_tx(SyncJob *j, void *ctx, DipError *err)
{
    Group *g = ctx;
    for (int i = 0; i < g->n; i++) {
        g->failed = i;
        if (!apply_batch(j, &g->t[i], err)) return false;
    }
    g->failed = -1;
    return group_checkpoint(j, g, err);
}

/* After a failure inside the streamed transaction: redo the group from the start, on a new
 * connection for transient errors, through the merge for a batch whose "new" rows exist. */
static bool group_recover(SyncJob *j, Group *g, DipError *e)
{
    for (int attempt = 0; attempt <= g->n + 1; attempt++) {
        if (e->kind == DIP_ERR_DATA && strcmp(pg_last_sqlstate(), "23505") == 0 && g->failed >= 0 &&
            !g->t[g->failed].force_merge && g->t[g->failed].b->n_new) {
            dip_info("a row thought new already exists in %s: merging that batch", j->gold_table);
            g->t[g->failed].force_merge = true;
        } else if (e->kind == DIP_ERR_TRANSIENT) {
            pg_close(&j->conn);
        } else {
            return false;
        }
        dip_error_clear(e);
        if (sync_pg_tx(j, group_tx, g, "loading a batch", e)) return true;
        if (e->kind == DIP_ERR_TRANSIENT) return false; /* sync_pg_tx retried already */
    }
    return false;
}

static void fmt_eta(double s, char out[32])
{
    if (s < 0 || s > 1e7)
        dip_strlcpy(out, "?", 32);
    else if (s >= 3600)
        dip_snprintf(out, 32, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else
        dip_snprintf(out, 32, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

static bool export_tuple(void *ctx, const uint8_t *p, size_t n, DipError *err)
{
    SyncJob *j = ctx;
    const uint8_t *f[2];
    int32_t l[2];
    int nf = pg_copy_tuple_parse(p, n, f, l, 2);
    if (nf == -1) return true;
    if (nf != 2 || l[0] < 0)
        return dip_error_set(err, DIP_ERR_DATA, "gold export: malformed tuple");
    uint64_t hv = l[1] >= 0 ? dip_xxh64(f[1], (size_t)l[1], 0) : 0;
    hkset_put(&j->set, hkset_key(f[0], (size_t)l[0]), hv);
    return true;
}

static bool export_tx(SyncJob *j, void *ctx, DipError *err)
{
    (void)ctx;
    const char *t;
    Buf sql;
    buf_init(&sql);
    const char *kv[] = {"table", buf_cstr(&j->q_table), NULL};
    hkset_free(&j->set);
    hkset_init(&j->set, 1 << 20);
    bool ok = pg_sql_get("sql/gold_export.sql", &t, err) && pg_sql_render(t, kv, &sql, err) &&
              pg_copy_out(&j->conn, buf_cstr(&sql), export_tuple, j, err);
    buf_free(&sql);
    return ok;
}

/* The loader's state across batches: the open group, its transaction, progress. */
typedef struct Loader {
    SyncJob *j;
    Group *g;
    bool tx_open;
    double t0;
    int64_t rows_done;
    size_t files_done;
    int64_t written; /* inserted + updated of j->run at the last commit (for the sums) */
} Loader;

static void decoder_init(Decoder *d, SyncJob *j, Pipe *pipe)
{
    memset(d, 0, sizeof *d);
    d->j = j;
    d->pipe = pipe;
    d->max_batch = j->opt->pg.batch_size;
    d->dup_cap = 1024;
    while (d->dup_cap < (size_t)d->max_batch * 2 + 16) /* holds the written rows of a batch */
        d->dup_cap <<= 1;
    d->dup_keys = dip_calloc(d->dup_cap, sizeof(uint64_t));
    d->dup_gen = dip_calloc(d->dup_cap, sizeof(uint32_t));
    d->gen = 1;
    buf_init(&d->hk_data);
    buf_init(&d->scratch);
    buf_init(&d->scratch2);
    buf_init(&d->lookup);
    d->cur = batch_new(j->first_file);
}

static void decoder_free(Decoder *d)
{
    batch_free(d->cur);
    free(d->dup_keys);
    free(d->dup_gen);
    free(d->hk_off);
    free(d->hdiff);
    buf_free(&d->hk_data);
    buf_free(&d->scratch);
    buf_free(&d->scratch2);
    buf_free(&d->lookup);
}

/* Statements of batch t (the group's newest) in the streamed transaction, and the commit
 * when due. False with e set when either failed. */
static bool loader_step(Loader *l, LoadTx *t, bool commit_now, DipError *e)
{
    SyncJob *j = l->j;
    Group *g = l->g;
    bool step = true;
    if (t->b->n_new || t->b->n_chg) {
        if (!l->tx_open) step = l->tx_open = pg_is_alive(&j->conn) && pg_exec(&j->conn, "BEGIN", e);
        if (step) step = apply_batch(j, t, e);
        g->failed = step ? -1 : g->n - 1;
    }
    if (step && commit_now) {
        if (!l->tx_open) step = l->tx_open = pg_is_alive(&j->conn) && pg_exec(&j->conn, "BEGIN", e);
        step = step && group_checkpoint(j, g, e) && pg_exec(&j->conn, "COMMIT", e);
        g->failed = -1;
    }
    if (!step && e->kind == DIP_ERR_NONE)
        dip_error_set(e, DIP_ERR_TRANSIENT, "postgresql: connection lost");
    return step;
}

/* After the group's commit: the run as of it, the batches freed, a progress line. */
static void loader_committed(Loader *l, bool due)
{
    SyncJob *j = l->j;
    Group *g = l->g;
    l->tx_open = false;
    PgRun next;
    run_after_group(j, g, &next);
    pg_run_free(&j->run);
    j->run = next;
    int64_t files = 0, rows = 0;
    for (int i = 0; i < g->n; i++) {
        LoadBatch *gb = g->t[i].b;
        files += gb->file_done;
        rows += gb->n_input;
        batch_free(gb);
    }
    l->files_done += (size_t)files;
    l->rows_done += rows;
    g->n = 0;
    g->rows = 0;
    if (due) j->last_checkpoint_s = dip_now_s();
    int64_t written = j->run.n_inserted + j->run.n_updated;
    /* this loader's figures, or the sums of the process's workers */
    int64_t f_done = (int64_t)l->files_done, f_total = (int64_t)(j->nfiles - j->first_file);
    int64_t r_done = l->rows_done, r_expected = j->rows_expected, w = written;
    double t0 = l->t0;
    SyncPgProgress *p = j->progress;
    if (p) {
        f_done = atomic_fetch_add(&p->files_done, files) + files;
        r_done = atomic_fetch_add(&p->rows_done, rows) + rows;
        w = atomic_fetch_add(&p->written, written - l->written) + written - l->written;
        f_total = atomic_load(&p->files_total);
        r_expected = atomic_load(&p->rows_expected);
        t0 = p->t0;
    }
    l->written = written;
    double el = dip_now_s() - t0;
    double rate = el > 0 ? r_done / el : 0;
    char eta[32];
    fmt_eta(r_expected > 0 && rate > 0 ? (r_expected - r_done) / rate : -1, eta);
    dip_progress("sync-pg: files %lld/%lld  rows %lld  written %lld  %.0f rows/s  ETA %s%s",
                 (long long)f_done, (long long)f_total, (long long)r_done, (long long)w, rate, eta,
                 p ? "  (all workers)" : "");
}

/* Takes batches off the queue until it is empty or something failed: each joins the open
 * group, whose transaction commits at a file's end, a due checkpoint, GROUP_ROWS or a stop;
 * a failed group is redone whole (group_recover). */
static bool loader_run(Loader *l, Pipe *pipe, DipError *err)
{
    SyncJob *j = l->j;
    Group *g = l->g;
    for (;;) {
        LoadBatch *b = pipe_pop(pipe);
        if (b == NULL) return true;
        bool due = dip_now_s() - j->last_checkpoint_s >= j->opt->checkpoint_interval_s;
        LoadTx *t = &g->t[g->n];
        memset(t, 0, sizeof *t);
        t->b = b;
        g->n++;
        g->rows += b->n_new + b->n_chg;
        bool commit_now = b->file_done || due || g->rows >= GROUP_ROWS || g->n == GROUP_MAX ||
                          dip_stop_requested();
        DipError e = {0};
        if (!loader_step(l, t, commit_now, &e)) {
            if (l->tx_open) pg_rollback_or_close(&j->conn);
            l->tx_open = false;
            if (!group_recover(j, g, &e)) {
                *err = e;
                return false;
            }
            commit_now = true; /* the redo committed the group */
        }
        if (commit_now) {
            loader_committed(l, due);
            if (dip_stop_requested())
                return dip_error_set(err, DIP_ERR_INTERRUPTED, "interrupted by signal %d",
                                     dip_stop_signal());
        }
    }
}

/* Ends the decoder thread: told to stop when the loader failed, drained so it never blocks
 * on a full queue, joined; its own error wins when the loader succeeded. */
static bool pipeline_stop(Pipe *pipe, pthread_t th, bool ok, DipError *err)
{
    pthread_mutex_lock(&pipe->mu);
    pipe->consumer_abort = !ok;
    pthread_cond_broadcast(&pipe->changed);
    pthread_mutex_unlock(&pipe->mu);
    LoadBatch *b;
    while (!ok && (b = pipe_pop(pipe)) != NULL)
        batch_free(b);
    pthread_join(th, NULL);
    if (ok && pipe->producer_failed) {
        *err = pipe->producer_err;
        ok = false;
    }
    dip_progress_done();
    return ok;
}

bool sync_pg_load_files(SyncJob *j, DipError *err)
{
    hkset_init(&j->set, 1 << 16);
    if (j->prefilter == PREFILTER_EXPORT) {
        double t0 = dip_now_s();
        if (!sync_pg_tx(j, export_tx, NULL, "exporting (hk, hdiff) of gold", err)) return false;
        dip_info("pre-filter: %zu (hk, hdiff) pairs of %s exported in %.1fs", j->set.n,
                 j->gold_table, dip_now_s() - t0);
    }
    Pipe pipe;
    memset(&pipe, 0, sizeof pipe);
    pthread_mutex_init(&pipe.mu, NULL);
    pthread_cond_init(&pipe.changed, NULL);
    Decoder d;
    decoder_init(&d, j, &pipe);
    pthread_t th;
    bool ok = true;
    if (j->first_file < j->nfiles && pthread_create(&th, NULL, decoder_main, &d) != 0) {
        ok = dip_error_set(err, DIP_ERR_INTERNAL, "cannot start the decoder thread");
        j->first_file = j->nfiles;
    }
    bool started = ok && j->first_file < j->nfiles;
    Loader l = {.j = j,
                .g = dip_calloc(1, sizeof(Group)),
                .t0 = dip_now_s(),
                .written = j->run.n_inserted + j->run.n_updated};
    if (j->progress) {
        atomic_fetch_add(&j->progress->files_total, (int64_t)(j->nfiles - j->first_file));
        atomic_fetch_add(&j->progress->rows_expected, j->rows_expected > 0 ? j->rows_expected : 0);
    }
    if (started) ok = loader_run(&l, &pipe, err);
    /* batches of an uncommitted group (an error above): their work is rolled back */
    if (l.tx_open) pg_rollback_or_close(&j->conn);
    for (int i = 0; i < l.g->n; i++)
        batch_free(l.g->t[i].b);
    free(l.g);
    if (started) ok = pipeline_stop(&pipe, th, ok, err);
    for (LoadBatch *b = pipe.head; b;) {
        LoadBatch *n = b->next;
        batch_free(b);
        b = n;
    }
    decoder_free(&d);
    pthread_mutex_destroy(&pipe.mu);
    pthread_cond_destroy(&pipe.changed);
    pg_close(&j->lookup_conn);
    j->stats->n_input = j->run.n_input_records;
    return ok;
}
