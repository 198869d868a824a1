/*
 * sync_pg_delete.c: --propagate-deletes (docs/sync-pg.md, "Deletes").
 *
 * Full sync: every hk of the snapshot is collected (a pass over all active files, deletion
 * vectors applied by the reader), gold's hks are exported with binary COPY, and gold rows
 * whose hk the snapshot no longer has are deleted. The pass runs after the load, reading
 * every file again, so a resumed run (which skipped the files loaded before) still deletes
 * exactly the right rows.
 * Incremental sync: the candidates are the hks of the files removed between the two
 * versions (read with the deletion vector they had at the old version), minus the hks of
 * the files added (a rewritten file, or the same file with a new deletion vector, re-adds
 * the rows that stayed). When a removed file cannot be read any more (vacuumed), the full
 * pass runs instead.
 */
#include "jobs/sync_pg_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct KeyList {
    HkSet set; /* key -> index + 1 into offs (0 never used); UINT64_MAX = kept */
    Buf texts;
    int64_t *offs; /* n + 1 offsets into texts */
    size_t n, cap;
} KeyList;

typedef struct DelCtx {
    SyncJob *j;
    KeyList *kl;
    HkSet *seen; /* full mode: hks of the snapshot */
    bool keep;   /* incremental: rows read mark candidates as kept */
    Buf hk, scratch;
} DelCtx;

static void keylist_add(KeyList *kl, const char *hk, size_t n)
{
    if (kl->n + 2 > kl->cap) {
        kl->cap = kl->cap ? kl->cap * 2 : 1024;
        kl->offs = dip_realloc(kl->offs, kl->cap * sizeof(int64_t));
    }
    if (kl->n == 0) kl->offs[0] = 0;
    buf_append(&kl->texts, hk, n);
    kl->n++;
    kl->offs[kl->n] = (int64_t)kl->texts.len;
}

static bool on_batch(void *ctx, const ColumnBatch *b, int64_t start, int64_t end, DipError *err)
{
    DelCtx *c = ctx;
    for (int64_t r = start; r < end; r++) {
        if (!gold_row_hk(&c->j->plan, b, r, &c->hk, &c->scratch, err)) return false;
        uint64_t key = hkset_key(c->hk.data, c->hk.len), v;
        if (c->seen) {
            hkset_put(c->seen, key, 1);
        } else if (c->keep) {
            if (hkset_get(&c->kl->set, key, &v)) hkset_put(&c->kl->set, key, UINT64_MAX);
        } else if (!hkset_get(&c->kl->set, key, &v)) {
            keylist_add(c->kl, (const char *)c->hk.data, c->hk.len);
            hkset_put(&c->kl->set, key, c->kl->n);
        }
    }
    return true;
}

typedef struct ExportCtx {
    HkSet *seen;
    KeyList *kl;
} ExportCtx;

static bool on_gold_hk(void *ctx, const uint8_t *p, size_t n, DipError *err)
{
    ExportCtx *e = ctx;
    const uint8_t *f[1];
    int32_t l[1];
    int nf = pg_copy_tuple_parse(p, n, f, l, 1);
    if (nf == -1) return true;
    if (nf != 1 || l[0] < 0)
        return dip_error_set(err, DIP_ERR_DATA, "gold hk export: malformed tuple");
    uint64_t v;
    if (!hkset_get(e->seen, hkset_key(f[0], (size_t)l[0]), &v)) {
        keylist_add(e->kl, (const char *)f[0], (size_t)l[0]);
        hkset_put(&e->kl->set, hkset_key(f[0], (size_t)l[0]), e->kl->n);
    }
    return true;
}

typedef struct DeleteTx {
    Buf copy;
    int64_t deleted;
} DeleteTx;

static bool delete_tx(SyncJob *j, void *ctx, DipError *err)
{
    DeleteTx *t = ctx;
    const char *sql;
    Buf del;
    buf_init(&del);
    const char *kv[] = {"table", buf_cstr(&j->q_table), NULL};
    int64_t rows = 0;
    PGresult *r = NULL;
    bool ok = pg_copy_begin(&j->conn, "COPY dip_delete (hk) FROM STDIN (FORMAT binary)", err) &&
              pg_copy_put(&j->conn, t->copy.data, t->copy.len, err) &&
              pg_copy_end(&j->conn, &rows, err) && pg_sql_get("sql/gold_delete.sql", &sql, err) &&
              pg_sql_render(sql, kv, &del, err) &&
              pg_query(&j->conn, buf_cstr(&del), 0, NULL, &r, err);
    buf_free(&del);
    if (!ok) return false;
    t->deleted = pg_cmd_rows(r);
    pg_result_free(r);
    PgRun tmp = j->run;
    tmp.n_deleted += t->deleted;
    tmp.n_output_records = tmp.n_inserted + tmp.n_updated + tmp.n_deleted;
    return pg_run_checkpoint(&j->conn, &tmp, err);
}

static bool delete_keys(SyncJob *j, KeyList *kl, bool only_unkept, DipError *err)
{
    size_t chunk = (size_t)j->opt->pg.batch_size;
    size_t i = 0;
    while (i < kl->n) {
        DeleteTx t;
        buf_init(&t.copy);
        t.deleted = 0;
        pg_copy_header(&t.copy);
        size_t k = 0;
        for (; i < kl->n && k < chunk; i++) {
            const char *hk = (const char *)kl->texts.data + kl->offs[i];
            size_t len = (size_t)(kl->offs[i + 1] - kl->offs[i]);
            uint64_t v;
            if (only_unkept && hkset_get(&kl->set, hkset_key(hk, len), &v) && v == UINT64_MAX)
                continue;
            pg_copy_tuple_begin(&t.copy, 1);
            pg_copy_text(&t.copy, hk, len);
            k++;
        }
        pg_copy_trailer(&t.copy);
        bool ok = k == 0 || sync_pg_tx(j, delete_tx, &t, "deleting rows", err);
        buf_free(&t.copy);
        if (!ok) return false;
        j->run.n_deleted += t.deleted;
        j->run.n_output_records = j->run.n_inserted + j->run.n_updated + j->run.n_deleted;
    }
    return true;
}

static bool export_hk_tx(SyncJob *j, void *ctx, DipError *err)
{
    ExportCtx *e = ctx;
    const char *t;
    Buf sql;
    buf_init(&sql);
    const char *kv[] = {"table", buf_cstr(&j->q_table), NULL};
    bool ok = pg_sql_get("sql/gold_export_hk.sql", &t, err) && pg_sql_render(t, kv, &sql, err) &&
              pg_copy_out(&j->conn, buf_cstr(&sql), on_gold_hk, e, err);
    buf_free(&sql);
    return ok;
}

static void keylist_free(KeyList *kl)
{
    hkset_free(&kl->set);
    buf_free(&kl->texts);
    free(kl->offs);
}

static bool deletes_full(SyncJob *j, DipError *err)
{
    HkSet seen;
    hkset_init(&seen, 1 << 16);
    DelCtx c;
    memset(&c, 0, sizeof c);
    c.j = j;
    c.seen = &seen;
    buf_init(&c.hk);
    buf_init(&c.scratch);
    bool ok = true;
    size_t nf = delta_snapshot_num_files(j->snap);
    for (size_t i = 0; i < nf && ok; i++)
        ok = sync_pg_scan_file(j, delta_snapshot_file(j->snap, i), on_batch, &c, err);
    buf_free(&c.hk);
    buf_free(&c.scratch);
    KeyList kl;
    memset(&kl, 0, sizeof kl);
    hkset_init(&kl.set, 1024);
    buf_init(&kl.texts);
    ExportCtx e = {&seen, &kl};
    if (ok) {
        /* export on its own (COPY OUT cannot share the connection with the deletes) */
        kl.n = 0;
        ok = sync_pg_tx(j, export_hk_tx, &e, "exporting hk of gold", err);
    }
    hkset_free(&seen);
    if (ok) {
        dip_info("propagate deletes: %zu gold rows are no longer in the snapshot", kl.n);
        ok = delete_keys(j, &kl, false, err);
    }
    keylist_free(&kl);
    return ok;
}

bool sync_pg_propagate_deletes(SyncJob *j, DipError *err)
{
    if (!j->have_diff) return deletes_full(j, err);
    if (j->diff.n_removed == 0) return true;
    KeyList kl;
    memset(&kl, 0, sizeof kl);
    hkset_init(&kl.set, 1024);
    buf_init(&kl.texts);
    DelCtx c;
    memset(&c, 0, sizeof c);
    c.j = j;
    c.kl = &kl;
    buf_init(&c.hk);
    buf_init(&c.scratch);
    bool ok = true, fallback = false;
    for (size_t i = 0; i < j->diff.n_removed && ok; i++) {
        DipError e = {0};
        if (!sync_pg_scan_file(j, &j->diff.removed[i], on_batch, &c, &e)) {
            if (e.kind == DIP_ERR_NOT_FOUND || e.kind == DIP_ERR_IO) {
                dip_warn("propagate deletes: removed file unreadable (%s): checking every hk "
                         "of the snapshot instead",
                         e.msg);
                fallback = true;
                break;
            }
            *err = e;
            ok = false;
        }
    }
    c.keep = true;
    for (size_t i = 0; i < j->diff.n_added && ok && !fallback; i++)
        ok = sync_pg_scan_file(j, &j->diff.added[i], on_batch, &c, err);
    buf_free(&c.hk);
    buf_free(&c.scratch);
    if (ok && !fallback) {
        dip_info("propagate deletes: %zu hks in removed files, checking which left the table",
                 kl.n);
        ok = delete_keys(j, &kl, true, err);
    }
    keylist_free(&kl);
    if (ok && fallback) return deletes_full(j, err);
    return ok;
}
