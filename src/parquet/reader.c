/*
 * reader.c: opening a Parquet file (parquet-format README "File format": 4-byte magic
 * "PAR1", column chunks, the Thrift FileMetaData, its 4-byte little-endian length, and the
 * magic again), row-group reads with projection, `check`, and the text/JSON descriptions.
 *
 * Only the footer stays in memory. A PqRowGroupCursor holds one page stream per projected
 * leaf (page.c) and, per window, takes the same number of rows from each and assembles them
 * (assemble.c) into the caller's ColumnBatch; pq_read_row_group is one window of the whole
 * row group.
 *
 * Threads: pq_check's column chunks are independent, so decoding fans out over a small
 * pthread pool (pq_file_set_threads; default 1); each worker streams its chunk page by page
 * and drops what it decoded. Each worker owns its scratch buffers; reads from the store go
 * through one mutex (or the worker's own store handle) because the local-file backend caches
 * a single descriptor. pq_check walks (row group, column) tasks in file order.
 */
#include "parquet/pq_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static int g_default_threads = 1;

/* Bytes read speculatively from the end of a stored file: most footers fit, so opening
 * costs two ranged reads (magic at 0, tail) instead of three on S3. */
#define PQ_TAIL_GUESS 65536

static bool finish_open(PqFile *f, DipError *err)
{
    uint8_t tail[8];
    uint8_t head[4];
    uint8_t *guess = NULL;
    size_t guess_len = 0;
    if (f->size < 12)
        return dip_error_set(err, DIP_ERR_DATA, "%s: %llu bytes is too short for a Parquet file",
                             f->name, (unsigned long long)f->size);
    if (f->mem) {
        memcpy(head, f->mem, 4);
        memcpy(tail, f->mem + f->size - 8, 8);
    } else {
        guess_len = f->size - 4 < PQ_TAIL_GUESS ? (size_t)(f->size - 4) : PQ_TAIL_GUESS;
        guess = arena_alloc(&f->arena, guess_len);
        if (!store_read_range(f->st, f->name, 0, 4, head, err) ||
            !store_read_range(f->st, f->name, f->size - guess_len, guess_len, guess, err))
            return false;
        memcpy(tail, guess + guess_len - 8, 8);
    }
    if (memcmp(tail + 4, "PARE", 4) == 0)
        return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                             "%s: encrypted Parquet footer (PARE) is "
                             "not supported",
                             f->name);
    if (memcmp(head, "PAR1", 4) != 0 || memcmp(tail + 4, "PAR1", 4) != 0)
        return dip_error_set(err, DIP_ERR_DATA,
                             "%s: not a Parquet file (magic \"PAR1\" missing "
                             "at %s)",
                             f->name, memcmp(head, "PAR1", 4) ? "offset 0" : "the end");
    uint32_t flen = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 |
                    (uint32_t)tail[3] << 24;
    if (flen == 0 || (uint64_t)flen > f->size - 12)
        return dip_error_set(err, DIP_ERR_DATA,
                             "%s: footer length %u does not fit in a file of "
                             "%llu bytes",
                             f->name, flen, (unsigned long long)f->size);
    uint64_t foff = f->size - 8 - flen;
    f->footer_len = flen;
    f->footer = arena_alloc(&f->arena, flen);
    if (f->mem)
        memcpy(f->footer, f->mem + foff, flen);
    else if ((uint64_t)flen + 8 <= guess_len)
        memcpy(f->footer, guess + guess_len - 8 - flen, flen);
    else if (!store_read_range(f->st, f->name, foff, flen, f->footer, err))
        return false;
    if (!pq_parse_file_meta(f->footer, flen, foff, &f->arena, &f->meta, err)) {
        dip_error_prefix(err, "%s: footer", f->name);
        return false;
    }
    if (!pq_build_schema(f, err)) {
        dip_error_prefix(err, "%s: schema", f->name);
        return false;
    }
    int64_t rows = 0;
    for (int i = 0; i < f->meta.nrg; i++) {
        const PqRowGroupMeta *g = &f->meta.rgs[i];
        if (g->num_rows < 0)
            return dip_error_set(err, DIP_ERR_DATA, "%s: row group %d: negative num_rows", f->name,
                                 i);
        if (g->ncols != f->nleaves)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "%s: row group %d has %d column chunks, the "
                                 "schema has %d leaf columns",
                                 f->name, i, g->ncols, f->nleaves);
        if (__builtin_add_overflow(rows, g->num_rows, &rows))
            return dip_error_set(err, DIP_ERR_DATA, "%s: row counts overflow", f->name);
    }
    if (rows != f->meta.num_rows)
        return dip_error_set(err, DIP_ERR_DATA, "%s: footer says %lld rows, row groups hold %lld",
                             f->name, (long long)f->meta.num_rows, (long long)rows);
    return true;
}

static PqFile *file_new(const char *name)
{
    PqFile *f = dip_calloc(1, sizeof *f);
    arena_init(&f->arena, 64 * 1024);
    f->name = dip_strdup(name ? name : "(memory)");
    pthread_mutex_init(&f->read_lock, NULL);
    pthread_mutex_init(&f->spare_lock, NULL);
    f->threads = g_default_threads;
    return f;
}

bool pq_file_open(PqFile **out, Store *st, const char *name, uint64_t size, DipError *err)
{
    *out = NULL;
    PqFile *f = file_new(name);
    f->st = st;
    if (size == 0) {
        StoreEntry e;
        bool exists;
        if (!store_stat(st, name, &e, &exists, err)) {
            pq_file_close(f);
            return false;
        }
        if (!exists) {
            pq_file_close(f);
            return dip_error_set(err, DIP_ERR_NOT_FOUND, "%s: no such file", name);
        }
        size = e.size;
        store_entry_free(&e);
    }
    f->size = size;
    if (!finish_open(f, err)) {
        pq_file_close(f);
        return false;
    }
    *out = f;
    return true;
}

bool pq_file_open_mem(PqFile **out, const uint8_t *data, size_t len, const char *name,
                      DipError *err)
{
    *out = NULL;
    PqFile *f = file_new(name);
    f->mem = data ? data : (const uint8_t *)"";
    f->size = len;
    if (!finish_open(f, err)) {
        pq_file_close(f);
        return false;
    }
    *out = f;
    return true;
}

void pq_file_close(PqFile *f)
{
    if (!f) return;
    for (int i = 0; i < f->nspare; i++)
        store_close(f->spare[i]);
    pthread_mutex_destroy(&f->spare_lock);
    pthread_mutex_destroy(&f->read_lock);
    arena_free(&f->arena);
    free(f->name);
    free(f);
}

void pq_file_set_threads(PqFile *f, int n)
{
    f->threads = n < 1 ? 1 : n > 64 ? 64 : n;
}

const DipSchema *pq_file_schema(const PqFile *f)
{
    return &f->schema;
}
int64_t pq_file_num_rows(const PqFile *f)
{
    return f->meta.num_rows;
}
int pq_file_num_row_groups(const PqFile *f)
{
    return f->meta.nrg;
}
int64_t pq_row_group_num_rows(const PqFile *f, int rg)
{
    return rg >= 0 && rg < f->meta.nrg ? f->meta.rgs[rg].num_rows : 0;
}
const char *pq_file_name(const PqFile *f)
{
    return f->name;
}

/* ------------------------------------------------------------ the decode pool */

/* A pool thread's own store handle (a spare one when an earlier pool left it): reads then run
 * in parallel. NULL for memory images or when none can be opened (the file's handle is then
 * used under its lock). */
static Store *worker_store_take(PqFile *f)
{
    if (!f->st) return NULL;
    Store *s = NULL;
    pthread_mutex_lock(&f->spare_lock);
    if (f->nspare > 0) s = f->spare[--f->nspare];
    pthread_mutex_unlock(&f->spare_lock);
    DipError e = {0};
    if (!s && !store_open(&s, store_uri(f->st), &e)) s = NULL;
    return s;
}

static void worker_store_give(PqFile *f, Store *s)
{
    if (!s) return;
    pthread_mutex_lock(&f->spare_lock);
    bool kept = f->nspare < (int)DIP_ARRAY_LEN(f->spare);
    if (kept) f->spare[f->nspare++] = s;
    pthread_mutex_unlock(&f->spare_lock);
    if (!kept) store_close(s);
}

typedef struct DecodeJob {
    PqFile *f;
    int ntasks;
    const int *rg;   /* per task */
    const int *leaf; /* per task */
    atomic_int next;
    atomic_bool stop;
    pthread_mutex_t mu;
    DipError *err;
    bool failed;
    bool pooled; /* more than one worker */
    PqCheckStats stats;
} DecodeJob;

/* Decodes one column chunk page by page, counting and dropping what it decoded. */
static bool check_chunk(PqFile *f, int rg, int leaf, PqScratch *s, PqCheckStats *st, DipError *err)
{
    PqChunkStream cs;
    if (!pq_stream_open(&cs, f, rg, leaf, err)) return false;
    bool ok = true, got = true;
    while (ok && got) {
        ok = pq_stream_next_page(&cs, s, &got, err);
        pq_stream_drop(&cs);
    }
    st->pages += cs.cd.pages;
    st->crc_checked += cs.cd.crc_checked;
    st->values += cs.total_values;
    st->compressed_bytes += cs.cd.compressed_bytes;
    st->uncompressed_bytes += cs.cd.uncompressed_bytes;
    pq_stream_close(&cs);
    return ok;
}

static void *decode_worker(void *arg)
{
    DecodeJob *j = arg;
    PqScratch s = {0};
    PqCheckStats st = {0};
    DipError e = {0};
    /* In a pool, each thread reads through its own store handle (the local backend caches
     * one descriptor; on S3 this makes the GETs concurrent). */
    if (j->pooled) s.own_store = worker_store_take(j->f);
    for (;;) {
        if (atomic_load(&j->stop) || dip_stop_requested()) break;
        int t = atomic_fetch_add(&j->next, 1);
        if (t >= j->ntasks) break;
        if (!check_chunk(j->f, j->rg[t], j->leaf[t], &s, &st, &e)) {
            pthread_mutex_lock(&j->mu);
            if (!j->failed) {
                j->failed = true;
                *j->err = e;
            }
            pthread_mutex_unlock(&j->mu);
            atomic_store(&j->stop, true);
            break;
        }
    }
    pthread_mutex_lock(&j->mu);
    j->stats.pages += st.pages;
    j->stats.crc_checked += st.crc_checked;
    j->stats.values += st.values;
    j->stats.compressed_bytes += st.compressed_bytes;
    j->stats.uncompressed_bytes += st.uncompressed_bytes;
    pthread_mutex_unlock(&j->mu);
    worker_store_give(j->f, s.own_store);
    s.own_store = NULL;
    pq_scratch_free(&s);
    return NULL;
}

static bool run_job(DecodeJob *j, int threads, DipError *err)
{
    atomic_init(&j->next, 0);
    atomic_init(&j->stop, false);
    pthread_mutex_init(&j->mu, NULL);
    j->err = err;
    j->failed = false;
    memset(&j->stats, 0, sizeof j->stats);
    if (threads > j->ntasks) threads = j->ntasks;
    j->pooled = threads > 1;
    if (threads <= 1) {
        decode_worker(j);
    } else {
        pthread_t tid[64];
        int started = 0;
        for (int i = 0; i < threads && i < 64; i++) {
            if (pthread_create(&tid[i], NULL, decode_worker, j) != 0) break;
            started++;
        }
        if (started == 0) decode_worker(j);
        for (int i = 0; i < started; i++)
            pthread_join(tid[i], NULL);
    }
    pthread_mutex_destroy(&j->mu);
    if (j->failed) return false;
    if (dip_stop_requested())
        return dip_error_set(err, DIP_ERR_INTERRUPTED, "%s: interrupted", j->f->name);
    return true;
}

/* ------------------------------------------------------------ row-window cursor */

/* With threads > 1 a pool decodes window w + 1, its columns spread over the workers, while
 * the caller uses window w. Each leaf has its own scratch (a leaf is decoded by one worker
 * at a time) and each column its own arena, moved into the window's batch when it is done;
 * each worker reads through its own store handle. */
typedef struct CursorPool {
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    pthread_t tid[64];
    int started;
    bool quit;
    int next_task, pending; /* columns of the window in flight: next to take, not finished */
    bool inflight, failed;
    int fail_col; /* the first failed column: its error is reported, as on one thread */
    DipError err;
    ColumnBatch batch; /* the window in flight */
    PqScratch *leaf_s; /* per projected leaf */
    Arena *col_arena;  /* per projected column */
} CursorPool;

struct PqRowGroupCursor {
    PqFile *f;
    int rg;
    int ncols;
    int *fields; /* file schema index per projected column */
    int *leaf0;  /* per projected column: its first leaf in cs[] */
    int nleaf;
    PqChunkStream *cs;   /* per projected leaf, in projection order */
    PqColumnData *views; /* per projected leaf: the current window's rows */
    PqScratch s;         /* single-threaded: shared by the leaves */
    int64_t window, rows_left;
    int64_t rows; /* the window being decoded, */
    bool last;    /* and whether it ends the row group */
    bool yielded;
    CursorPool *pool; /* NULL: windows are decoded on the caller's thread */
};

/* Column k of the window being decoded: takes its rows from each of its leaves (through
 * `s`, or the leaf's own scratch and the worker's store handle `own` in the pool) and
 * assembles its vector into arena `a`. */
static bool window_column(PqRowGroupCursor *c, int k, PqScratch *s, Store *own, Arena *a,
                          ColumnVector *out, const DipSchema *ps, DipError *err)
{
    const PqNode *n = &c->f->roots[c->fields[k]];
    int t0 = c->leaf0[k];
    for (int l = 0; l < n->nleaves; l++) {
        PqScratch *ls = s ? s : &c->pool->leaf_s[t0 + l];
        if (!s) ls->own_store = own;
        bool ok = pq_stream_take(&c->cs[t0 + l], ls, c->rows, c->last, &c->views[t0 + l], err);
        if (!s) ls->own_store = NULL;
        if (!ok) return false;
    }
    if (pq_assemble(c->f, n, &ps->fields[k].type, c->views + t0, n->leaf, c->rows, a, out, err))
        return true;
    dip_error_prefix(err, "row group %d", c->rg);
    return false;
}

/* Sizes the next window and lays out its batch: the schema and the column array. */
static void window_begin(PqRowGroupCursor *c, ColumnBatch *b)
{
    c->rows = c->rows_left < c->window ? c->rows_left : c->window;
    c->last = c->rows == c->rows_left;
    c->rows_left -= c->rows;
    DipSchema *ps = arena_calloc(&b->arena, 1, sizeof *ps);
    ps->nfields = c->ncols;
    ps->fields = arena_calloc(&b->arena, (size_t)(c->ncols ? c->ncols : 1), sizeof(DipField));
    for (int k = 0; k < c->ncols; k++)
        dip_field_copy(&b->arena, &ps->fields[k], &c->f->schema.fields[c->fields[k]]);
    b->schema = ps;
    b->ncols = c->ncols;
    b->num_rows = c->rows;
    b->cols = arena_calloc(&b->arena, (size_t)(c->ncols ? c->ncols : 1), sizeof(ColumnVector));
}

static void *cursor_worker(void *arg)
{
    PqRowGroupCursor *c = arg;
    CursorPool *p = c->pool;
    Store *own = worker_store_take(c->f);
    DipError e = {0};
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->next_task >= c->ncols)
            pthread_cond_wait(&p->work, &p->mu);
        if (p->quit) break;
        int k = p->next_task++;
        pthread_mutex_unlock(&p->mu);
        dip_error_clear(&e);
        bool ok = window_column(c, k, NULL, own, &p->col_arena[k], &p->batch.cols[k],
                                p->batch.schema, &e);
        pthread_mutex_lock(&p->mu);
        if (!ok && (!p->failed || k < p->fail_col)) {
            p->failed = true;
            p->fail_col = k;
            p->err = e;
        }
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    worker_store_give(c->f, own);
    return NULL;
}

static void pool_launch(PqRowGroupCursor *c)
{
    CursorPool *p = c->pool;
    window_begin(c, &p->batch); /* p->batch is empty between windows */
    pthread_mutex_lock(&p->mu);
    p->next_task = 0;
    p->pending = c->ncols;
    p->inflight = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
}

static void pool_wait(PqRowGroupCursor *c)
{
    CursorPool *p = c->pool;
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->mu);
    p->inflight = false;
    pthread_mutex_unlock(&p->mu);
    for (int k = 0; k < c->ncols; k++)
        arena_adopt(&p->batch.arena, &p->col_arena[k]);
}

static void pool_free(PqRowGroupCursor *c)
{
    CursorPool *p = c->pool;
    if (!p) return;
    if (p->inflight) pool_wait(c);
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->started; i++)
        pthread_join(p->tid[i], NULL);
    for (int t = 0; t < c->nleaf; t++)
        pq_scratch_free(&p->leaf_s[t]);
    for (int k = 0; k < c->ncols; k++)
        arena_free(&p->col_arena[k]);
    column_batch_free(&p->batch);
    free(p->leaf_s);
    free(p->col_arena);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    free(p);
    c->pool = NULL;
}

/* Starts min(threads, columns) workers; with none started the cursor stays single-threaded. */
static void pool_start(PqRowGroupCursor *c, int threads)
{
    CursorPool *p = dip_calloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->leaf_s = dip_calloc((size_t)c->nleaf + 1, sizeof(PqScratch));
    p->col_arena = dip_calloc((size_t)c->ncols + 1, sizeof(Arena));
    for (int k = 0; k < c->ncols; k++)
        arena_init(&p->col_arena[k], 64 * 1024);
    column_batch_init(&p->batch);
    p->next_task = c->ncols; /* nothing to take yet */
    c->pool = p;
    int n = threads < c->ncols ? threads : c->ncols;
    for (int i = 0; i < n && i < 64; i++) {
        if (pthread_create(&p->tid[i], NULL, cursor_worker, c) != 0) break;
        p->started++;
    }
    if (p->started == 0) pool_free(c);
}

static bool cursor_open(PqRowGroupCursor **out, PqFile *f, int rg, const int *cols, int ncols,
                        int64_t window, DipError *err)
{
    *out = NULL;
    if (rg < 0 || rg >= f->meta.nrg)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "%s: row group %d does not exist (%d row "
                             "groups)",
                             f->name, rg, f->meta.nrg);
    if (!cols) ncols = f->schema.nfields;
    PqRowGroupCursor *c = dip_calloc(1, sizeof *c);
    c->f = f;
    c->rg = rg;
    c->ncols = ncols;
    c->window = window < 1 ? 1 : window;
    c->rows_left = f->meta.rgs[rg].num_rows;
    c->fields = dip_calloc((size_t)ncols + 1, sizeof(int));
    c->leaf0 = dip_calloc((size_t)ncols + 1, sizeof(int));
    for (int k = 0; k < ncols; k++) {
        int fi = cols ? cols[k] : k;
        if (fi < 0 || fi >= f->schema.nfields) {
            pq_rg_cursor_close(c);
            return dip_error_set(err, DIP_ERR_CONFIG, "%s: column index %d out of range", f->name,
                                 fi);
        }
        c->fields[k] = fi;
        c->leaf0[k] = c->nleaf;
        c->nleaf += f->roots[fi].nleaves;
    }
    c->cs = dip_calloc((size_t)c->nleaf + 1, sizeof(PqChunkStream));
    c->views = dip_calloc((size_t)c->nleaf + 1, sizeof(PqColumnData));
    int t = 0;
    for (int k = 0; k < ncols; k++) {
        const PqNode *n = &f->roots[c->fields[k]];
        for (int l = 0; l < n->nleaves; l++, t++) {
            if (!pq_stream_open(&c->cs[t], f, rg, n->leaf + l, err)) {
                pq_rg_cursor_close(c);
                return false;
            }
        }
    }
    if (f->threads > 1 && ncols > 0) pool_start(c, f->threads);
    *out = c;
    return true;
}

bool pq_rg_cursor_open(PqRowGroupCursor **out, PqFile *f, int rg, const int *cols, int ncols,
                       int64_t window_rows, DipError *err)
{
    int64_t w = 0;
    DipError e = {0};
    if (config_env_int("DIP_PARQUET_WINDOW_ROWS", 0, &w, &e) && w > 0) window_rows = w;
    return cursor_open(out, f, rg, cols, ncols, window_rows, err);
}

void pq_rg_cursor_close(PqRowGroupCursor *c)
{
    if (!c) return;
    pool_free(c);
    for (int t = 0; c->cs && t < c->nleaf; t++)
        pq_stream_close(&c->cs[t]);
    free(c->cs);
    free(c->views);
    free(c->fields);
    free(c->leaf0);
    pq_scratch_free(&c->s);
    free(c);
}

/* The pool's next window: the one in flight (launched by the previous call, or now), handed
 * over whole; the window after it is launched before returning. */
static bool pool_next(PqRowGroupCursor *c, ColumnBatch *out, bool *done, DipError *err)
{
    CursorPool *p = c->pool;
    if (p->failed) { /* a column failed: the streams are no longer aligned */
        *err = p->err;
        return false;
    }
    if (!p->inflight) {
        if (c->yielded && c->rows_left == 0) {
            *done = true;
            return true;
        }
        pool_launch(c);
    }
    pool_wait(c);
    if (p->failed) {
        column_batch_free(&p->batch);
        column_batch_init(&p->batch);
        *err = p->err;
        return false;
    }
    *out = p->batch;
    column_batch_init(&p->batch);
    c->yielded = true;
    if (c->rows_left > 0) pool_launch(c);
    return true;
}

bool pq_rg_cursor_next(PqRowGroupCursor *c, ColumnBatch *out, bool *done, DipError *err)
{
    column_batch_init(out);
    *done = false;
    if (dip_stop_requested())
        return dip_error_set(err, DIP_ERR_INTERRUPTED, "%s: interrupted", c->f->name);
    if (c->pool) return pool_next(c, out, done, err);
    if (c->yielded && c->rows_left == 0) {
        *done = true;
        return true;
    }
    window_begin(c, out);
    bool ok = true;
    for (int k = 0; ok && k < c->ncols; k++)
        ok = window_column(c, k, &c->s, NULL, &out->arena, &out->cols[k], out->schema, err);
    if (!ok) {
        column_batch_free(out);
        column_batch_init(out);
        return false;
    }
    c->yielded = true;
    return true;
}

bool pq_read_row_group(PqFile *f, int rg, const int *cols, int ncols, ColumnBatch *out,
                       DipError *err)
{
    column_batch_init(out);
    PqRowGroupCursor *c;
    int64_t rows = rg >= 0 && rg < f->meta.nrg ? f->meta.rgs[rg].num_rows : 1;
    if (!cursor_open(&c, f, rg, cols, ncols, rows, err)) return false;
    bool done;
    bool ok = pq_rg_cursor_next(c, out, &done, err);
    pq_rg_cursor_close(c);
    return ok;
}

typedef struct ChunkOrder {
    int64_t size;
    int leaf;
} ChunkOrder;

static int cmp_chunk_order(const void *a, const void *b)
{
    const ChunkOrder *x = a, *y = b;
    if (x->size != y->size) return x->size > y->size ? -1 : 1;
    return x->leaf - y->leaf;
}

bool pq_check(PqFile *f, int rg, PqCheckStats *stats, DipError *err)
{
    memset(stats, 0, sizeof *stats);
    int first = rg >= 0 ? rg : 0, last = rg >= 0 ? rg + 1 : f->meta.nrg;
    if (rg >= f->meta.nrg)
        return dip_error_set(err, DIP_ERR_CONFIG, "%s: row group %d does not exist", f->name, rg);
    size_t ntasks = (size_t)(last - first) * (size_t)f->nleaves;
    int *trg = dip_calloc(ntasks + 1, sizeof(int));
    int *tleaf = dip_calloc(ntasks + 1, sizeof(int));
    /* row groups in file order (bounded memory); inside one, the largest chunks first so
     * the small ones fill the gaps instead of a big one straggling at the end */
    size_t t = 0;
    ChunkOrder *ord = dip_calloc((size_t)f->nleaves + 1, sizeof *ord);
    for (int g = first; g < last; g++) {
        for (int l = 0; l < f->nleaves; l++) {
            ord[l].leaf = l;
            ord[l].size = f->meta.rgs[g].cols[l].total_compressed_size;
        }
        qsort(ord, (size_t)f->nleaves, sizeof *ord, cmp_chunk_order);
        for (int l = 0; l < f->nleaves; l++, t++) {
            trg[t] = g;
            tleaf[t] = ord[l].leaf;
        }
    }
    free(ord);
    if (ntasks > INT32_MAX) {
        free(trg);
        free(tleaf);
        return dip_error_set(err, DIP_ERR_DATA, "%s: too many column chunks", f->name);
    }
    DecodeJob j = {.f = f, .ntasks = (int)ntasks, .rg = trg, .leaf = tleaf};
    bool ok = run_job(&j, f->threads, err);
    free(trg);
    free(tleaf);
    *stats = j.stats;
    for (int g = first; g < last; g++)
        stats->rows += f->meta.rgs[g].num_rows;
    return ok;
}

/* ------------------------------------------------------------ descriptions */

static void write_type_text(const DipField *fld, int indent, Buf *out)
{
    for (int i = 0; i < indent; i++)
        buf_append_str(out, "  ");
    buf_printf(out, "%s: ", fld->name);
    const DipType *t = &fld->type;
    if (t->id == DT_STRUCT) {
        buf_printf(out, "struct%s\n", fld->nullable ? "" : " not null");
        for (int i = 0; i < t->nchildren; i++)
            write_type_text(&t->children[i], indent + 1, out);
        return;
    }
    if (t->id == DT_LIST || t->id == DT_MAP) {
        buf_printf(out, "%s%s\n", t->id == DT_LIST ? "list" : "map",
                   fld->nullable ? "" : " not null");
        for (int i = 0; i < t->nchildren; i++)
            write_type_text(&t->children[i], indent + 1, out);
        return;
    }
    if (t->id == DT_TIMESTAMP) {
        static const char *u[] = {"ms", "us", "ns"};
        buf_printf(out, "timestamp(%s%s)", u[t->unit], t->utc ? ", utc" : "");
    } else if (t->id == DT_TIME) {
        static const char *u[] = {"ms", "us", "ns"};
        buf_printf(out, "time(%s)", u[t->unit]);
    } else {
        dip_type_format(t, out);
    }
    buf_printf(out, "%s\n", fld->nullable ? "" : " not null");
}

void pq_write_schema_text(const PqFile *f, Buf *out)
{
    buf_printf(out, "# %s: %lld rows, %d row groups, %d columns (%d leaves)\n", f->name,
               (long long)f->meta.num_rows, f->meta.nrg, f->schema.nfields, f->nleaves);
    for (int i = 0; i < f->schema.nfields; i++)
        write_type_text(&f->schema.fields[i], 0, out);
    buf_append_str(out, "# leaves: path, physical type, annotation, max def/rep level\n");
    int li = 0;
    for (int i = 1; i < f->meta.nschema; i++) {
        const PqSchemaElem *e = &f->meta.schema[i];
        if (e->num_children > 0 || li >= f->nleaves) continue;
        const PqLeaf *lf = &f->leaves[li++];
        buf_printf(out, "#   %s %s", lf->path, pq_type_name(lf->phys));
        if (lf->phys == PQT_FIXED_LEN_BYTE_ARRAY) buf_printf(out, "(%d)", lf->type_length);
        static const char *lnames[] = {
            "",  "STRING",  "MAP",     "LIST", "ENUM", "DECIMAL", "DATE",    "TIME",   "TIMESTAMP",
            "?", "INTEGER", "UNKNOWN", "JSON", "BSON", "UUID",    "FLOAT16", "VARIANT"};
        int lk = e->logical.kind;
        if (lk > 0)
            buf_printf(out, " logical=%s", lk < (int)DIP_ARRAY_LEN(lnames) ? lnames[lk] : "?");
        if (lk == PQL_DECIMAL)
            buf_printf(out, "(%d,%d)", e->logical.precision, e->logical.scale);
        else if (lk == PQL_TIME || lk == PQL_TIMESTAMP)
            buf_printf(out, "(%s,%s)",
                       e->logical.unit == 1   ? "MILLIS"
                       : e->logical.unit == 3 ? "NANOS"
                                              : "MICROS",
                       e->logical.utc ? "utc" : "local");
        else if (lk == PQL_INTEGER)
            buf_printf(out, "(%d,%s)", e->logical.bit_width,
                       e->logical.is_signed ? "signed" : "unsigned");
        if (e->converted >= 0) buf_printf(out, " converted=%s", pq_converted_name(e->converted));
        buf_printf(out, " def=%d rep=%d\n", lf->max_def, lf->max_rep);
    }
}

/* Statistics values are PLAIN-encoded single values (byte arrays without their length). */
static void write_stat_value(const PqLeaf *lf, const DipType *t, PqBytes b, JsonWriter *w)
{
    PqValues v = {0};
    DipError e = {0};
    uint8_t tmp[4 + 256];
    const uint8_t *src = b.p;
    size_t len = b.len, used;
    if (lf->phys == PQT_BYTE_ARRAY) {
        if (b.len > 256) {
            jw_null(w);
            return;
        }
        uint32_t l = b.len;
        memcpy(tmp, &l, 4);
        memcpy(tmp + 4, b.p, b.len);
        src = tmp;
        len = b.len + 4;
    }
    if (!pq_decode_plain(lf, src, len, 1, &v, &used, &e)) {
        jw_null(w);
        pq_values_free(&v);
        return;
    }
    ColumnVector c = {.type = t,
                      .length = 1,
                      .values = v.fixed,
                      .offsets = v.offsets,
                      .data = v.data,
                      .data_len = (int64_t)v.data_len};
    column_value_write_json(w, &c, 0);
    pq_values_free(&v);
}

/* Finds the DipType of leaf `li` by walking the node tree. */
static const DipType *leaf_dip_type(const PqNode *n, const DipType *t, int li)
{
    if (n->kind == PQN_LEAF) return n->leaf == li ? t : NULL;
    for (int i = 0; i < n->nchildren; i++) {
        const PqNode *c = &n->children[i];
        if (li >= c->leaf && li < c->leaf + c->nleaves)
            return leaf_dip_type(c, &t->children[i].type, li);
    }
    return NULL;
}

void pq_write_meta_json(const PqFile *f, Buf *out)
{
    JsonWriter w;
    jw_init(&w, out);
    jw_obj_begin(&w);
    jw_key(&w, "file");
    jw_str(&w, f->name);
    jw_key(&w, "size");
    jw_uint(&w, f->size);
    jw_key(&w, "version");
    jw_int(&w, f->meta.version);
    jw_key(&w, "created_by");
    if (f->meta.created_by)
        jw_str(&w, f->meta.created_by);
    else
        jw_null(&w);
    jw_key(&w, "num_rows");
    jw_int(&w, f->meta.num_rows);
    jw_key(&w, "footer_bytes");
    jw_uint(&w, f->footer_len);
    jw_key(&w, "key_value_metadata");
    jw_obj_begin(&w);
    for (int i = 0; i < f->meta.nkv; i++) {
        jw_key(&w, f->meta.kv[i].key);
        if (f->meta.kv[i].value && strlen(f->meta.kv[i].value) <= 4096)
            jw_str(&w, f->meta.kv[i].value);
        else if (f->meta.kv[i].value)
            jw_str(&w, "(long value omitted)");
        else
            jw_null(&w);
    }
    jw_obj_end(&w);
    jw_key(&w, "row_groups");
    jw_arr_begin(&w);
    for (int g = 0; g < f->meta.nrg; g++) {
        const PqRowGroupMeta *rg = &f->meta.rgs[g];
        jw_obj_begin(&w);
        jw_key(&w, "index");
        jw_int(&w, g);
        jw_key(&w, "num_rows");
        jw_int(&w, rg->num_rows);
        jw_key(&w, "total_byte_size");
        jw_int(&w, rg->total_byte_size);
        jw_key(&w, "columns");
        jw_arr_begin(&w);
        for (int c = 0; c < rg->ncols && c < f->nleaves; c++) {
            const PqChunkMeta *cm = &rg->cols[c];
            const PqLeaf *lf = &f->leaves[c];
            jw_obj_begin(&w);
            jw_key(&w, "path");
            jw_str(&w, lf->path);
            jw_key(&w, "type");
            jw_str(&w, pq_type_name(cm->type));
            jw_key(&w, "codec");
            jw_str(&w, pq_codec_name(cm->codec));
            jw_key(&w, "encodings");
            jw_arr_begin(&w);
            for (int e = 0; e < 32; e++)
                if (cm->encodings & (1u << e)) jw_str(&w, pq_encoding_name(e));
            jw_arr_end(&w);
            jw_key(&w, "num_values");
            jw_int(&w, cm->num_values);
            jw_key(&w, "compressed_size");
            jw_int(&w, cm->total_compressed_size);
            jw_key(&w, "uncompressed_size");
            jw_int(&w, cm->total_uncompressed_size);
            jw_key(&w, "data_page_offset");
            jw_int(&w, cm->data_page_offset);
            if (cm->dictionary_page_offset >= 0) {
                jw_key(&w, "dictionary_page_offset");
                jw_int(&w, cm->dictionary_page_offset);
            }
            const PqStats *s = &cm->stats;
            if (s->has_min || s->has_max || s->has_null_count || s->has_distinct_count) {
                jw_key(&w, "statistics");
                jw_obj_begin(&w);
                if (s->has_null_count) {
                    jw_key(&w, "null_count");
                    jw_int(&w, s->null_count);
                }
                if (s->has_distinct_count) {
                    jw_key(&w, "distinct_count");
                    jw_int(&w, s->distinct_count);
                }
                const DipType *dt =
                    leaf_dip_type(&f->roots[lf->top], &f->schema.fields[lf->top].type, c);
                if (dt && s->has_min) {
                    jw_key(&w, "min");
                    write_stat_value(lf, dt, s->min, &w);
                }
                if (dt && s->has_max) {
                    jw_key(&w, "max");
                    write_stat_value(lf, dt, s->max, &w);
                }
                jw_obj_end(&w);
            }
            jw_obj_end(&w);
        }
        jw_arr_end(&w);
        jw_obj_end(&w);
    }
    jw_arr_end(&w);
    jw_obj_end(&w);
}
