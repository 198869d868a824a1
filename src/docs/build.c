/*
 * build.c: the document builder. For one key range of roots it runs each node's statement
 * once (sql.c: the node's rows for every parent key of the batch, in text form), indexes the
 * rows of each node by their join to the parent in a hash table, and renders every root's
 * document in C, depth first, exactly as PGSync's query shapes it (querybuilder.py):
 * - an object node is {its columns in order, then each child under its label};
 * - a scalar node is its first column's value;
 * - one_to_one without a through table: the matching row, null when none;
 * - one_to_many without a through table: [every matching row], null when none (never []);
 * - with a through table (any type): [one entry per link row, null when the link's child is
 *   missing], null when no link row; a through one_to_one object without children keeps only
 *   its first column (JSON_OBJECT(columns[0], columns[1]) in _through).
 * Values are rendered by render.c as to_json would. Transforms and plugins (docs.h) run on a
 * parsed copy of the document only when the schema has any.
 */
#include "docs/build_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct NodeRows {
    PGresult *res;
    int nrows;
    int32_t *slots; /* open addressing over link hashes: first row of a key, -1 empty */
    size_t nslots;  /* power of two */
    int32_t *next;  /* per row: the next row with the same link key, -1 */
    uint64_t *hash; /* per row: hash of its link key */
} NodeRows;

struct DocsBuilder {
    const DocsDocument *doc;
    PgConn *conn;
    BuildPlan plan;
    NodeRows *rows; /* per node, for the batch being built */
    struct DocsPlugins *plugins;
    bool reshape; /* transforms or plugins: the document goes through jansson */
    Buf src, id, scratch, arrays[8];
    DocsBuildStats stats;
};

/* ---------------------------------------------------------------- hashing of join keys */

static uint64_t key_hash(const PGresult *r, int row, const int *cols, int n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < n; i++) {
        if (PQgetisnull(r, row, cols[i]))
            h = h * 31 + 7;
        else
            h = dip_xxh64(PQgetvalue(r, row, cols[i]), (size_t)PQgetlength(r, row, cols[i]),
                          h + (uint64_t)i);
    }
    return h;
}

static bool key_has_null(const PGresult *r, int row, const int *cols, int n)
{
    for (int i = 0; i < n; i++)
        if (PQgetisnull(r, row, cols[i])) return true;
    return false;
}

static bool key_equal(const PGresult *a, int ra, const int *ca, const PGresult *b, int rb,
                      const int *cb, int n)
{
    for (int i = 0; i < n; i++) {
        int la = PQgetlength(a, ra, ca[i]), lb = PQgetlength(b, rb, cb[i]);
        if (la != lb || memcmp(PQgetvalue(a, ra, ca[i]), PQgetvalue(b, rb, cb[i]), (size_t)la))
            return false;
    }
    return true;
}

/* a child's link columns are its first columns: 0, 1, ... (at most 8) */
static const int link_cols_identity[8] = {0, 1, 2, 3, 4, 5, 6, 7};

static void rows_index(NodeRows *nr, int nlink)
{
    size_t want = 16;
    while (want < (size_t)nr->nrows * 2)
        want <<= 1;
    nr->nslots = want;
    nr->slots = dip_malloc(want * sizeof *nr->slots);
    memset(nr->slots, 0xff, want * sizeof *nr->slots);
    nr->next = dip_malloc(((size_t)nr->nrows + 1) * sizeof *nr->next);
    nr->hash = dip_malloc(((size_t)nr->nrows + 1) * sizeof *nr->hash);
    /* backwards, pushing in front of the chain, so chains keep result order */
    for (int row = nr->nrows - 1; row >= 0; row--) {
        uint64_t h = key_hash(nr->res, row, link_cols_identity, nlink);
        nr->hash[row] = h;
        nr->next[row] = -1;
        size_t s = h & (want - 1);
        for (;;) {
            int32_t head = nr->slots[s];
            if (head < 0) {
                nr->slots[s] = row;
                break;
            }
            if (nr->hash[head] == h && key_equal(nr->res, head, link_cols_identity, nr->res, row,
                                                 link_cols_identity, nlink)) {
                nr->next[row] = head;
                nr->slots[s] = row;
                break;
            }
            s = (s + 1) & (want - 1);
        }
    }
}

/* First row of child rows joined to parent row prow (-1 when none). */
static int32_t rows_lookup(const NodeRows *child, int nlink, const PGresult *pres, int prow,
                           const int *pcols)
{
    if (!child->res || child->nrows == 0 || key_has_null(pres, prow, pcols, nlink)) return -1;
    uint64_t h = key_hash(pres, prow, pcols, nlink);
    size_t s = h & (child->nslots - 1);
    for (;;) {
        int32_t head = child->slots[s];
        if (head < 0) return -1;
        if (child->hash[head] == h &&
            key_equal(child->res, head, link_cols_identity, pres, prow, pcols, nlink))
            return head;
        s = (s + 1) & (child->nslots - 1);
    }
}

static void rows_clear(NodeRows *nr)
{
    if (nr->res) PQclear(nr->res);
    free(nr->slots);
    free(nr->next);
    free(nr->hash);
    memset(nr, 0, sizeof *nr);
}

/* ---------------------------------------------------------------- fetching */

static bool exec_prepared(DocsBuilder *b, const BuildNode *bn, int nparams,
                          const char *const *params, PGresult **out, DipError *err)
{
    double t0 = dip_now_s();
    if (!pg_is_alive(b->conn))
        return dip_error_set(err, DIP_ERR_TRANSIENT, "postgresql: connection lost");
    PGresult *r = PQexecPrepared(b->conn->conn, bn->stmt, nparams, params, NULL, NULL, 0);
    b->stats.sql_s += dip_now_s() - t0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_from_result(err, b->conn, r, bn->node->path);
        PQclear(r);
        return false;
    }
    *out = r;
    return true;
}

/* The rows of non-root node bn for every distinct key of its parent's rows. */
static bool fetch_child(DocsBuilder *b, const BuildNode *bn, size_t child_index, DipError *err)
{
    const BuildNode *pb = bn->parent;
    const NodeRows *pr = &b->rows[pb - b->plan.nodes];
    NodeRows *nr = &b->rows[bn - b->plan.nodes];
    const int *pcols = pb->child_cols[child_index];
    int nk = bn->nlink;
    if (!pr->res || pr->nrows == 0) return true;
    /* distinct parent keys, one array literal per join column */
    size_t nslots = 16;
    while (nslots < (size_t)pr->nrows * 2)
        nslots <<= 1;
    int32_t *seen = dip_malloc(nslots * sizeof *seen);
    memset(seen, 0xff, nslots * sizeof *seen);
    for (int k = 0; k < nk; k++) {
        buf_clear(&b->arrays[k]);
        buf_append_byte(&b->arrays[k], '{');
    }
    int distinct = 0;
    for (int row = 0; row < pr->nrows; row++) {
        if (key_has_null(pr->res, row, pcols, nk)) continue;
        uint64_t h = key_hash(pr->res, row, pcols, nk);
        size_t s = h & (nslots - 1);
        bool dup = false;
        while (seen[s] >= 0) {
            if (key_equal(pr->res, seen[s], pcols, pr->res, row, pcols, nk)) {
                dup = true;
                break;
            }
            s = (s + 1) & (nslots - 1);
        }
        if (dup) continue;
        seen[s] = row;
        distinct++;
        for (int k = 0; k < nk; k++) {
            Buf *a = &b->arrays[k];
            if (a->len > 1) buf_append_byte(a, ',');
            buf_append_byte(a, '"');
            const char *v = PQgetvalue(pr->res, row, pcols[k]);
            size_t n = (size_t)PQgetlength(pr->res, row, pcols[k]);
            for (size_t i = 0; i < n; i++) {
                if (v[i] == '"' || v[i] == '\\') buf_append_byte(a, '\\');
                buf_append_byte(a, (uint8_t)v[i]);
            }
            buf_append_byte(a, '"');
        }
    }
    free(seen);
    if (distinct == 0) return true;
    const char *params[8];
    for (int k = 0; k < nk; k++) {
        buf_append_byte(&b->arrays[k], '}');
        params[k] = buf_cstr(&b->arrays[k]);
    }
    if (!exec_prepared(b, bn, nk, params, &nr->res, err)) return false;
    nr->nrows = PQntuples(nr->res);
    b->stats.rows += nr->nrows;
    rows_index(nr, nk);
    return true;
}

/* ---------------------------------------------------------------- rendering */

static bool render_row(DocsBuilder *b, const BuildNode *bn, int row, Buf *out, DipError *err);

static bool render_value(const BuildNode *bn, const PGresult *r, int row, int i, Buf *out,
                         DipError *err)
{
    int col = bn->out_first + i;
    if (PQgetisnull(r, row, col)) {
        buf_append(out, "null", 4);
        return true;
    }
    if (!docs_render_value(out, &bn->types[i], PQgetvalue(r, row, col),
                           (size_t)PQgetlength(r, row, col), err)) {
        dip_error_prefix(err, "%s.columns[%d] (%s)", bn->node->path, i, bn->node->columns[i].spec);
        return false;
    }
    return true;
}

/* The value of child node cb under parent row prow of pb. */
static bool render_child(DocsBuilder *b, const BuildNode *pb, size_t ci, int prow, Buf *out,
                         DipError *err)
{
    const BuildNode *cb = pb->children[ci];
    const NodeRows *pr = &b->rows[pb - b->plan.nodes];
    const NodeRows *cr = &b->rows[cb - b->plan.nodes];
    int32_t row = rows_lookup(cr, cb->nlink, pr->res, prow, pb->child_cols[ci]);
    if (row < 0) {
        buf_append(out, "null", 4);
        return true;
    }
    if (!cb->through && !cb->many) return render_row(b, cb, row, out, err);
    buf_append_byte(out, '[');
    for (int32_t r = row, k = 0; r >= 0; r = cr->next[r], k++) {
        if (k) buf_append_byte(out, ',');
        if (cb->through && PQgetvalue(cr->res, r, cb->matched_col)[0] != 't') {
            buf_append(out, "null", 4);
            continue;
        }
        if (!render_row(b, cb, r, out, err)) return false;
    }
    buf_append_byte(out, ']');
    return true;
}

static bool render_row(DocsBuilder *b, const BuildNode *bn, int row, Buf *out, DipError *err)
{
    const PGresult *r = b->rows[bn - b->plan.nodes].res;
    if (bn->scalar) return bn->nout > 0 ? render_value(bn, r, row, 0, out, err) : true;
    buf_append_byte(out, '{');
    int nout = bn->first_only && bn->nout > 1 ? 1 : bn->nout;
    for (int i = 0; i < nout; i++) {
        if (i) buf_append_byte(out, ',');
        buf_append_str(out, bn->out_keys[i]);
        if (!render_value(bn, r, row, i, out, err)) return false;
    }
    for (size_t c = 0; c < bn->nchildren; c++) {
        if (nout || c) buf_append_byte(out, ',');
        buf_append_str(out, bn->children[c]->label_key);
        if (!render_child(b, bn, c, row, out, err)) return false;
    }
    buf_append_byte(out, '}');
    return true;
}

/* Runs transforms and plugins on the rendered document (b->src); *drop when a plugin
 * returned nil. */
static bool reshape(DocsBuilder *b, bool *drop, DipError *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)b->src.data, b->src.len, 0, &jerr);
    if (!doc)
        return dip_error_set(err, DIP_ERR_DATA, "document %s: cannot be read back: %s",
                             buf_cstr(&b->id), jerr.text);
    bool ok = docs_transform_apply(b->doc, doc, err);
    if (ok && b->plugins)
        ok = docs_plugins_apply(b->plugins, &doc, buf_cstr(&b->id), b->doc->index, err);
    if (ok && !doc) {
        *drop = true;
        return true;
    }
    if (ok) {
        char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
        buf_clear(&b->src);
        if (s) buf_append_str(&b->src, s);
        free(s);
    }
    json_decref(doc);
    return ok;
}

static bool emit_roots(DocsBuilder *b, DocsEmitFn emit, void *ctx, DipError *err)
{
    const BuildNode *root = &b->plan.nodes[0];
    const NodeRows *rr = &b->rows[0];
    for (int row = 0; row < rr->nrows; row++) {
        buf_clear(&b->src);
        buf_clear(&b->id);
        for (int k = 0; k < root->nid; k++) {
            if (k) buf_append_byte(&b->id, '|');
            const char *v = PQgetvalue(rr->res, row, k);
            if (root->id_is_bool[k])
                buf_append_str(&b->id, v[0] == 't' ? "True" : "False");
            else
                buf_append(&b->id, v, (size_t)PQgetlength(rr->res, row, k));
        }
        if (!render_row(b, root, row, &b->src, err)) {
            dip_error_prefix(err, "document %s", buf_cstr(&b->id));
            return false;
        }
        bool drop = false;
        if (b->reshape && !reshape(b, &drop, err)) return false;
        if (drop) continue;
        DocsBuiltDoc d = {.id = buf_cstr(&b->id),
                          .id_len = b->id.len,
                          .source = buf_cstr(&b->src),
                          .source_len = b->src.len};
        if (root->routing_col >= 0) {
            int col = root->out_first + root->routing_col;
            if (!PQgetisnull(rr->res, row, col)) d.routing = PQgetvalue(rr->res, row, col);
        }
        b->stats.docs++;
        b->stats.json_bytes += (int64_t)b->src.len;
        if (!emit(ctx, &d, err)) return false;
    }
    return true;
}

/* ---------------------------------------------------------------- the builder */

static bool has_transforms(const DocsDocument *d)
{
    for (size_t i = 0; i < d->nnodes; i++) {
        const DocsTransform *t = &d->nodes[i]->transform;
        if (t->rename || t->replace || t->concat || t->nmove) return true;
    }
    return false;
}

bool docs_builder_open(const DocsDocument *d, PgConn *c, const char *tz, DocsPlugins *plugins,
                       DocsBuilder **out, DipError *err)
{
    *out = NULL;
    for (size_t i = 0; i < d->nnodes; i++)
        if (d->nodes[i]->parent_join.ncols > 8 || d->nodes[i]->nid_key > 32)
            return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                                 "%s: joins of more than 8 columns are not supported",
                                 d->nodes[i]->path);
    Buf set;
    buf_init(&set);
    docs_session_settings(tz, &set);
    /* range and ANY() parameters are best planned with their values (an open range folds) */
    buf_append_str(&set, "; SET plan_cache_mode = force_custom_plan");
    bool ok = pg_exec(c, buf_cstr(&set), err);
    buf_free(&set);
    if (!ok) return false;
    DocsBuilder *b = dip_calloc(1, sizeof *b);
    b->doc = d;
    b->conn = c;
    b->plugins = plugins;
    b->reshape = plugins != NULL || has_transforms(d);
    if (!build_plan_prepare(&b->plan, d, c, err)) {
        free(b);
        return false;
    }
    b->rows = dip_calloc(b->plan.nnodes, sizeof *b->rows);
    buf_init(&b->src);
    buf_init(&b->id);
    buf_init(&b->scratch);
    for (size_t i = 0; i < DIP_ARRAY_LEN(b->arrays); i++)
        buf_init(&b->arrays[i]);
    *out = b;
    return true;
}

bool docs_builder_run(DocsBuilder *b, const char *const *lo, const char *const *hi, DocsEmitFn emit,
                      void *ctx, DipError *err)
{
    const BuildNode *root = &b->plan.nodes[0];
    size_t nk = root->node->rel.nkey;
    const char **params = dip_calloc(2 * nk + 1, sizeof *params);
    for (size_t i = 0; i < nk; i++) {
        params[i] = lo ? lo[i] : NULL;
        params[nk + i] = hi ? hi[i] : NULL;
    }
    NodeRows *rr = &b->rows[0];
    bool ok = exec_prepared(b, root, (int)(2 * nk), params, &rr->res, err);
    free(params);
    if (ok) {
        rr->nrows = PQntuples(rr->res);
        b->stats.roots += rr->nrows;
        b->stats.rows += rr->nrows;
        /* pre-order: a node's parent is always fetched before it */
        for (size_t i = 1; ok && i < b->plan.nnodes; i++) {
            const BuildNode *bn = &b->plan.nodes[i];
            size_t ci = 0;
            while (bn->parent->children[ci] != bn)
                ci++;
            ok = fetch_child(b, bn, ci, err);
        }
    }
    if (ok) {
        double t0 = dip_now_s();
        ok = emit_roots(b, emit, ctx, err);
        b->stats.render_s += dip_now_s() - t0;
    }
    for (size_t i = 0; i < b->plan.nnodes; i++)
        rows_clear(&b->rows[i]);
    return ok;
}

const DocsBuildStats *docs_builder_stats(const DocsBuilder *b)
{
    return &b->stats;
}

void docs_builder_describe(const DocsBuilder *b, Buf *out)
{
    for (size_t i = 0; i < b->plan.nnodes; i++)
        buf_printf(out, "%s (%s.%s):\n  %s\n", b->plan.nodes[i].node->path,
                   b->plan.nodes[i].node->rel.schema, b->plan.nodes[i].node->rel.name,
                   b->plan.nodes[i].sql);
}

void docs_builder_close(DocsBuilder *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->plan.nnodes; i++)
        rows_clear(&b->rows[i]);
    free(b->rows);
    build_plan_free(&b->plan);
    buf_free(&b->src);
    buf_free(&b->id);
    buf_free(&b->scratch);
    for (size_t i = 0; i < DIP_ARRAY_LEN(b->arrays); i++)
        buf_free(&b->arrays[i]);
    free(b);
}
