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

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

/* One join-key value of a result row, read once from libpq (NULL v: SQL NULL). */
typedef struct KeyRef {
    const char *v;
    int len;
} KeyRef;

typedef struct NodeRows {
    PGresult *res;
    int nrows;
    int32_t *slots; /* open addressing over link hashes: first row of a key, -1 empty */
    size_t nslots;  /* power of two */
    int32_t *next;  /* per row: the next row with the same link key, -1 */
    uint64_t *hash; /* per row: hash of its link key */
    KeyRef *keys;   /* per row: its nlink link key values, compared without libpq calls */
} NodeRows;

/* PGSync's _meta of one document: per table (by name, as PGSync keys it), per key column,
 * the values of every row the document uses, collected while rendering. */
typedef struct MetaCol {
    const char *name;
    bool numeric;
    Buf vals; /* values as (uint32 length, bytes) records */
    size_t n;
} MetaCol;

typedef struct MetaTable {
    const char *table;
    MetaCol *cols;
    size_t ncols;
} MetaTable;

struct DocsBuilder {
    const DocsDocument *doc;
    PgConn *conn;
    BuildPlan plan;
    NodeRows *rows;           /* per node, for the batch being built */
    NodeRows *links;          /* per through node: its link table's rows */
    const char *const *range; /* the batch's root range parameters (2 x key columns) */
    struct DocsPlugins *plugins;
    bool reshape; /* transforms or plugins: the document goes through jansson */
    Buf src, id, scratch, arrays[8];
    DocsIdleFn idle; /* called while PostgreSQL computes (the bulk writer's transfers) */
    void *idle_ctx;
    bool meta;
    MetaTable *mt; /* distinct tables of the tree (node and link tables) */
    size_t nmt;
    int *node_mt, *link_mt; /* per node: its table's and its link table's entry in mt */
    DocsBuildStats stats;
};

/* ---------------------------------------------------------------- hashing of join keys */

/* The values of row's columns cols[0..n) into k; false when one is NULL (a NULL never joins). */
static bool key_refs(const PGresult *r, int row, const int *cols, int n, KeyRef *k)
{
    bool joins = true;
    for (int i = 0; i < n; i++) {
        bool null = PQgetisnull(r, row, cols[i]);
        k[i].v = null ? NULL : PQgetvalue(r, row, cols[i]);
        k[i].len = null ? 0 : PQgetlength(r, row, cols[i]);
        joins &= !null;
    }
    return joins;
}

static uint64_t key_hash(const KeyRef *k, int n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < n; i++)
        h = k[i].v ? dip_xxh64(k[i].v, (size_t)k[i].len, h + (uint64_t)i) : h * 31 + 7;
    return h;
}

static bool key_equal(const KeyRef *a, const KeyRef *b, int n)
{
    for (int i = 0; i < n; i++) {
        if ((a[i].v == NULL) != (b[i].v == NULL)) return false;
        if (a[i].v && (a[i].len != b[i].len || memcmp(a[i].v, b[i].v, (size_t)a[i].len)))
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
    nr->keys = dip_malloc(((size_t)nr->nrows * (size_t)nlink + 1) * sizeof *nr->keys);
    /* backwards, pushing in front of the chain, so chains keep result order */
    for (int row = nr->nrows - 1; row >= 0; row--) {
        KeyRef *k = &nr->keys[(size_t)row * (size_t)nlink];
        key_refs(nr->res, row, link_cols_identity, nlink, k);
        uint64_t h = key_hash(k, nlink);
        nr->hash[row] = h;
        nr->next[row] = -1;
        size_t s = h & (want - 1);
        for (;;) {
            int32_t head = nr->slots[s];
            if (head < 0) {
                nr->slots[s] = row;
                break;
            }
            if (nr->hash[head] == h &&
                key_equal(&nr->keys[(size_t)head * (size_t)nlink], k, nlink)) {
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
    KeyRef k[8];
    if (!child->res || child->nrows == 0 || !key_refs(pres, prow, pcols, nlink, k)) return -1;
    uint64_t h = key_hash(k, nlink);
    size_t s = h & (child->nslots - 1);
    for (;;) {
        int32_t head = child->slots[s];
        if (head < 0) return -1;
        if (child->hash[head] == h &&
            key_equal(&child->keys[(size_t)head * (size_t)nlink], k, nlink))
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
    free(nr->keys);
    memset(nr, 0, sizeof *nr);
}

/* ---------------------------------------------------------------- fetching */

/* The distinct non-NULL keys of rows' columns cols[0..nk) as one array literal per column
 * (b->arrays); returns how many. */
static int collect_keys(DocsBuilder *b, const NodeRows *rows, const int *cols, int nk)
{
    for (int k = 0; k < nk; k++) {
        buf_clear(&b->arrays[k]);
        buf_append_byte(&b->arrays[k], '{');
    }
    if (!rows->res || rows->nrows == 0) return 0;
    size_t nslots = 16;
    while (nslots < (size_t)rows->nrows * 2)
        nslots <<= 1;
    int32_t *seen = dip_malloc(nslots * sizeof *seen);
    memset(seen, 0xff, nslots * sizeof *seen);
    KeyRef *refs = dip_malloc(((size_t)rows->nrows * (size_t)nk + 1) * sizeof *refs);
    int distinct = 0;
    const PGresult *r = rows->res;
    for (int row = 0; row < rows->nrows; row++) {
        KeyRef *kr = &refs[(size_t)row * (size_t)nk];
        if (!key_refs(r, row, cols, nk, kr)) continue;
        uint64_t h = key_hash(kr, nk);
        size_t s = h & (nslots - 1);
        bool dup = false;
        while (seen[s] >= 0) {
            if (key_equal(&refs[(size_t)seen[s] * (size_t)nk], kr, nk)) {
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
            const char *v = PQgetvalue(r, row, cols[k]);
            size_t n = (size_t)PQgetlength(r, row, cols[k]);
            for (size_t i = 0; i < n; i++) {
                if (v[i] == '"' || v[i] == '\\') buf_append_byte(a, '\\');
                buf_append_byte(a, (uint8_t)v[i]);
            }
            buf_append_byte(a, '"');
        }
    }
    free(seen);
    free(refs);
    for (int k = 0; k < nk; k++)
        buf_append_byte(&b->arrays[k], '}');
    return distinct;
}

/* Runs a prepared statement without blocking in libpq: while PostgreSQL works, the idle
 * callback (the bulk writer's transfers) keeps running, so sending one batch and computing
 * the next overlap. *out is the statement's result (its status still to be checked). */
static bool exec_async(DocsBuilder *b, const BuildNode *bn, const char *stmt, int nparams,
                       const char *const *params, PGresult **out, DipError *err)
{
    PGconn *conn = b->conn->conn;
    if (!pg_is_alive(b->conn))
        return dip_error_set(err, DIP_ERR_TRANSIENT, "postgresql: connection lost");
    if (!PQsendQueryPrepared(conn, stmt, nparams, params, NULL, NULL, 0))
        return pg_error_from_result(err, b->conn, NULL, bn->node->path);
    for (;;) {
        if (!PQconsumeInput(conn)) return pg_error_from_result(err, b->conn, NULL, bn->node->path);
        if (!PQisBusy(conn)) break;
        if (b->idle && !b->idle(b->idle_ctx, err)) {
            /* the caller gives up: let the statement finish so the connection stays usable */
            PGresult *x;
            while ((x = PQgetResult(conn)) != NULL)
                PQclear(x);
            return false;
        }
        struct pollfd pfd = {.fd = PQsocket(conn), .events = POLLIN};
        /* short waits only when something else needs driving */
        if (poll(&pfd, 1, b->idle ? 2 : 1000) < 0 && errno != EINTR)
            return dip_error_set(err, DIP_ERR_IO, "postgresql: poll: %s", strerror(errno));
    }
    PGresult *r = PQgetResult(conn), *extra;
    while ((extra = PQgetResult(conn)) != NULL)
        PQclear(extra);
    if (!r) return pg_error_from_result(err, b->conn, NULL, bn->node->path);
    *out = r;
    return true;
}

/* Runs stmt for the keys cols[0..nk) of rows (or for the batch's root range), and indexes
 * the result by its first nlink columns. */
static bool fetch_rows(DocsBuilder *b, const BuildNode *bn, const char *stmt, bool range,
                       const NodeRows *from, const int *cols, int nk, int nlink, NodeRows *out,
                       DipError *err)
{
    const char *params[16];
    int nparams;
    if (range) {
        nparams = (int)((b->plan.by_keys ? 1 : 2) * b->plan.nodes[0].node->rel.nkey);
        for (int i = 0; i < nparams; i++)
            params[i] = b->range[i];
    } else {
        if (collect_keys(b, from, cols, nk) == 0) return true;
        nparams = nk;
        for (int k = 0; k < nk; k++)
            params[k] = buf_cstr(&b->arrays[k]);
    }
    double t0 = dip_now_s();
    PGresult *r = NULL;
    bool ok = exec_async(b, bn, stmt, nparams, params, &r, err);
    b->stats.sql_s += dip_now_s() - t0;
    if (!ok) return false;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error_from_result(err, b->conn, r, bn->node->path);
        PQclear(r);
        return false;
    }
    out->res = r;
    out->nrows = PQntuples(r);
    b->stats.rows += out->nrows;
    if (nlink > 0) rows_index(out, nlink);
    return true;
}

/* The rows of non-root node bn for the batch: through its link table when it has one. */
static bool fetch_child(DocsBuilder *b, const BuildNode *bn, size_t child_index, DipError *err)
{
    const BuildNode *pb = bn->parent;
    const NodeRows *pr = &b->rows[pb - b->plan.nodes];
    size_t id = (size_t)(bn - b->plan.nodes);
    const int *pcols = pb->child_cols[child_index];
    int np = (int)bn->node->parent_join.ncols;
    if (!bn->through)
        return fetch_rows(b, bn, bn->stmt, bn->range_link, pr, pcols, np, bn->nlink, &b->rows[id],
                          err);
    NodeRows *lr = &b->links[id];
    if (!fetch_rows(b, bn, bn->link_stmt, bn->range_link, pr, pcols, np, np, lr, err)) return false;
    /* the link rows' child-side columns follow their parent-side ones */
    int ccols[8];
    for (int k = 0; k < bn->nlink; k++)
        ccols[k] = np + k;
    return fetch_rows(b, bn, bn->stmt, false, lr, ccols, bn->nlink, bn->nlink, &b->rows[id], err);
}

/* ---------------------------------------------------------------- rendering */

static bool render_row(DocsBuilder *b, const BuildNode *bn, int row, Buf *out, DipError *err);

static int meta_table(DocsBuilder *b, const DocsTable *t, const bool *numeric)
{
    for (size_t i = 0; i < b->nmt; i++)
        if (strcmp(b->mt[i].table, t->name) == 0) return (int)i;
    b->mt = dip_realloc(b->mt, (b->nmt + 1) * sizeof *b->mt);
    MetaTable *m = &b->mt[b->nmt];
    m->table = t->name;
    m->ncols = t->nkey;
    m->cols = dip_calloc(t->nkey + 1, sizeof *m->cols);
    for (size_t k = 0; k < t->nkey; k++) {
        m->cols[k].name = t->key[k];
        m->cols[k].numeric = numeric[k];
        buf_init(&m->cols[k].vals);
    }
    return (int)b->nmt++;
}

/* Adds the key values of row `row` of r (columns first..) to table entry mi. */
static void meta_add(DocsBuilder *b, int mi, const PGresult *r, int row, int first)
{
    MetaTable *m = &b->mt[mi];
    for (size_t k = 0; k < m->ncols; k++) {
        int col = first + (int)k;
        if (PQgetisnull(r, row, col)) continue;
        uint32_t len = (uint32_t)PQgetlength(r, row, col);
        buf_append(&m->cols[k].vals, &len, sizeof len);
        buf_append(&m->cols[k].vals, PQgetvalue(r, row, col), len);
        m->cols[k].n++;
    }
}

typedef struct MetaVal {
    const char *p;
    uint32_t n;
} MetaVal;

static int meta_cmp_text(const void *a, const void *b)
{
    const MetaVal *x = a, *y = b;
    int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static int meta_cmp_num(const void *a, const void *b)
{
    const MetaVal *x = a, *y = b;
    char xs[64], ys[64];
    dip_snprintf(xs, sizeof xs, "%.*s", (int)(x->n < 63 ? x->n : 63), x->p);
    dip_snprintf(ys, sizeof ys, "%.*s", (int)(y->n < 63 ? y->n : 63), y->p);
    double dx = strtod(xs, NULL), dy = strtod(ys, NULL);
    return dx < dy ? -1 : dx > dy ? 1 : meta_cmp_text(a, b);
}

/* Appends ,"_meta":{...} (sorted, distinct values per key column, as PGSync lists them) and
 * clears the collection. The root table lists only its first _id key, as text, as
 * sync.py does (row[META][node.table] = {primary_key_names[0]: [str(value)]}). */
static void meta_render(DocsBuilder *b, const char *root_key, const char *root_val, size_t rlen,
                        Buf *out)
{
    buf_append_str(out, ",\"_meta\":{");
    bool first_t = true;
    const char *root_table = b->plan.nodes[0].node->rel.name;
    for (size_t i = 0; i < b->nmt; i++) {
        MetaTable *m = &b->mt[i];
        bool is_root = strcmp(m->table, root_table) == 0;
        size_t total = 0;
        for (size_t k = 0; k < m->ncols; k++)
            total += m->cols[k].n;
        if (!is_root && total == 0) continue;
        if (!first_t) buf_append_byte(out, ',');
        first_t = false;
        buf_append_byte(out, '"');
        jw_escape_into(out, m->table, strlen(m->table));
        buf_append_str(out, "\":{");
        if (is_root) {
            buf_append_byte(out, '"');
            jw_escape_into(out, root_key, strlen(root_key));
            buf_append_str(out, "\":[\"");
            jw_escape_into(out, root_val, rlen);
            buf_append_str(out, "\"]}");
            for (size_t k = 0; k < m->ncols; k++) {
                buf_clear(&m->cols[k].vals);
                m->cols[k].n = 0;
            }
            continue;
        }
        bool first_c = true;
        for (size_t k = 0; k < m->ncols; k++) {
            MetaCol *mc = &m->cols[k];
            if (mc->n == 0) continue;
            MetaVal *v = dip_calloc(mc->n, sizeof *v);
            const uint8_t *p = mc->vals.data;
            for (size_t j = 0; j < mc->n; j++) {
                memcpy(&v[j].n, p, sizeof v[j].n);
                v[j].p = (const char *)p + sizeof v[j].n;
                p += sizeof v[j].n + v[j].n;
            }
            qsort(v, mc->n, sizeof *v, mc->numeric ? meta_cmp_num : meta_cmp_text);
            if (!first_c) buf_append_byte(out, ',');
            first_c = false;
            buf_append_byte(out, '"');
            jw_escape_into(out, mc->name, strlen(mc->name));
            buf_append_str(out, "\":[");
            for (size_t j = 0; j < mc->n; j++) {
                if (j && v[j].n == v[j - 1].n && memcmp(v[j].p, v[j - 1].p, v[j].n) == 0) continue;
                if (j) buf_append_byte(out, ',');
                if (mc->numeric) {
                    buf_append(out, v[j].p, v[j].n);
                } else {
                    buf_append_byte(out, '"');
                    jw_escape_into(out, v[j].p, v[j].n);
                    buf_append_byte(out, '"');
                }
            }
            buf_append_byte(out, ']');
            free(v);
            buf_clear(&mc->vals);
            mc->n = 0;
        }
        buf_append_byte(out, '}');
    }
    buf_append_byte(out, '}');
}

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
    size_t id = (size_t)(cb - b->plan.nodes);
    const NodeRows *pr = &b->rows[pb - b->plan.nodes];
    const NodeRows *cr = &b->rows[id];
    int np = (int)cb->node->parent_join.ncols;
    if (!cb->through) {
        int32_t row = rows_lookup(cr, cb->nlink, pr->res, prow, pb->child_cols[ci]);
        if (row < 0) {
            buf_append(out, "null", 4);
            return true;
        }
        if (!cb->many) return render_row(b, cb, row, out, err);
        buf_append_byte(out, '[');
        for (int32_t r = row; r >= 0; r = cr->next[r]) {
            if (r != row) buf_append_byte(out, ',');
            if (!render_row(b, cb, r, out, err)) return false;
        }
        buf_append_byte(out, ']');
        return true;
    }
    /* PGSync aggregates through rows into an array whatever the type; a link row whose
     * child is missing (LEFT JOIN) gives null */
    const NodeRows *lr = &b->links[id];
    int32_t link = rows_lookup(lr, np, pr->res, prow, pb->child_cols[ci]);
    if (link < 0) {
        buf_append(out, "null", 4);
        return true;
    }
    int ccols[8];
    for (int k = 0; k < cb->nlink; k++)
        ccols[k] = np + k;
    buf_append_byte(out, '[');
    for (int32_t l = link; l >= 0; l = lr->next[l]) {
        if (l != link) buf_append_byte(out, ',');
        if (b->meta) meta_add(b, b->link_mt[id], lr->res, l, np + cb->nlink);
        int32_t row = rows_lookup(cr, cb->nlink, lr->res, l, ccols);
        if (row < 0)
            buf_append(out, "null", 4);
        else if (!render_row(b, cb, row, out, err))
            return false;
    }
    buf_append_byte(out, ']');
    return true;
}

static bool render_row(DocsBuilder *b, const BuildNode *bn, int row, Buf *out, DipError *err)
{
    const PGresult *r = b->rows[bn - b->plan.nodes].res;
    if (b->meta && bn->parent) meta_add(b, b->node_mt[bn - b->plan.nodes], r, row, bn->key_first);
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
        if (b->meta) {
            /* inside the root object: drop its closing brace, add _meta, close again */
            b->src.len--;
            const char *k0 = PQgetvalue(rr->res, row, 0);
            meta_render(b, root->node->id_key[0],
                        root->id_is_bool[0] ? (k0[0] == 't' ? "True" : "False") : k0,
                        root->id_is_bool[0] ? strlen(k0[0] == 't' ? "True" : "False")
                                            : (size_t)PQgetlength(rr->res, row, 0),
                        &b->src);
            buf_append_byte(&b->src, '}');
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

static bool builder_open(const DocsDocument *d, PgConn *c, const char *tz, DocsPlugins *plugins,
                         bool by_keys, DocsBuilder **out, DipError *err)
{
    *out = NULL;
    for (size_t i = 0; i < d->nnodes; i++)
        if (d->nodes[i]->parent_join.ncols > 8 || d->nodes[i]->child_join.ncols > 8 ||
            d->nodes[i]->rel.nkey > 8 || d->nodes[i]->nid_key > 32)
            return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                                 "%s: joins of more than 8 columns are not supported",
                                 d->nodes[i]->path);
    /* key-array batches: cached index lookups, planned as such (sql/docs_keys_planner.sql) */
    const char *planner = NULL;
    if (by_keys && !pg_sql_get("sql/docs_keys_planner.sql", &planner, err)) return false;
    Buf set;
    buf_init(&set);
    docs_session_settings(tz, &set);
    /* range and ANY() parameters are best planned with their values (an open range folds) */
    buf_append_str(&set, "; SET plan_cache_mode = force_custom_plan;\n");
    if (planner) buf_append_str(&set, planner);
    bool ok = pg_exec(c, buf_cstr(&set), err);
    buf_free(&set);
    if (!ok) return false;
    DocsBuilder *b = dip_calloc(1, sizeof *b);
    b->doc = d;
    b->conn = c;
    b->plugins = plugins;
    b->reshape = plugins != NULL || has_transforms(d);
    if (!build_plan_prepare(&b->plan, d, c, by_keys, err)) {
        free(b);
        return false;
    }
    b->rows = dip_calloc(b->plan.nnodes, sizeof *b->rows);
    b->links = dip_calloc(b->plan.nnodes, sizeof *b->links);
    buf_init(&b->src);
    buf_init(&b->id);
    buf_init(&b->scratch);
    for (size_t i = 0; i < DIP_ARRAY_LEN(b->arrays); i++)
        buf_init(&b->arrays[i]);
    *out = b;
    return true;
}

/* Runs the plan for the root parameters (a key range, or key arrays when by_keys). */
static bool builder_run(DocsBuilder *b, const char *const *params, DocsEmitFn emit, void *ctx,
                        DipError *err)
{
    b->range = params;
    const BuildNode *root = &b->plan.nodes[0];
    NodeRows *rr = &b->rows[0];
    bool ok = fetch_rows(b, root, root->stmt, true, NULL, NULL, 0, 0, rr, err);
    if (ok) {
        b->stats.roots += rr->nrows;
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
    for (size_t i = 0; i < b->plan.nnodes; i++) {
        rows_clear(&b->rows[i]);
        rows_clear(&b->links[i]);
    }
    b->range = NULL;
    return ok;
}

bool docs_builder_run(DocsBuilder *b, const char *const *lo, const char *const *hi, DocsEmitFn emit,
                      void *ctx, DipError *err)
{
    if (b->plan.by_keys)
        return dip_error_set(err, DIP_ERR_INTERNAL, "docs builder: opened for key sets");
    size_t nk = b->plan.nodes[0].node->rel.nkey;
    const char *params[16] = {0};
    for (size_t i = 0; i < nk; i++) {
        params[i] = lo ? lo[i] : NULL;
        params[nk + i] = hi ? hi[i] : NULL;
    }
    return builder_run(b, params, emit, ctx, err);
}
bool docs_builder_open(const DocsDocument *d, PgConn *c, const char *tz, DocsPlugins *plugins,
                       DocsBuilder **out, DipError *err)
{
    return builder_open(d, c, tz, plugins, false, out, err);
}

bool docs_builder_open_keys(const DocsDocument *d, PgConn *c, const char *tz, DocsPlugins *plugins,
                            DocsBuilder **out, DipError *err)
{
    return builder_open(d, c, tz, plugins, true, out, err);
}

bool docs_builder_run_keys(DocsBuilder *b, const char *const *key_arrays, DocsEmitFn emit,
                           void *ctx, DipError *err)
{
    if (!b->plan.by_keys)
        return dip_error_set(err, DIP_ERR_INTERNAL, "docs builder: not opened for key sets");
    return builder_run(b, key_arrays, emit, ctx, err);
}

void docs_builder_set_idle(DocsBuilder *b, DocsIdleFn fn, void *ctx)
{
    b->idle = fn;
    b->idle_ctx = ctx;
}

void docs_builder_pgsync_meta(DocsBuilder *b)
{
    if (b->meta) return;
    b->meta = true;
    b->node_mt = dip_calloc(b->plan.nnodes, sizeof *b->node_mt);
    b->link_mt = dip_calloc(b->plan.nnodes, sizeof *b->link_mt);
    for (size_t i = 0; i < b->plan.nnodes; i++) {
        const BuildNode *bn = &b->plan.nodes[i];
        b->node_mt[i] = meta_table(b, &bn->node->rel, bn->key_numeric);
        if (bn->through) b->link_mt[i] = meta_table(b, &bn->node->through, bn->link_key_numeric);
    }
}

const DocsBuildStats *docs_builder_stats(const DocsBuilder *b)
{
    return &b->stats;
}

/* A statement without its template's leading comment lines. */
static void describe_sql(Buf *out, const char *sql)
{
    while (sql[0] == '-' && sql[1] == '-') {
        const char *nl = strchr(sql, '\n');
        if (!nl) return;
        sql = nl + 1;
    }
    buf_printf(out, "  %s\n", sql);
}

void docs_builder_describe(const DocsBuilder *b, Buf *out)
{
    for (size_t i = 0; i < b->plan.nnodes; i++) {
        const BuildNode *bn = &b->plan.nodes[i];
        buf_printf(out, "%s (%s.%s)%s:\n", bn->node->path, bn->node->rel.schema, bn->node->rel.name,
                   bn->range_link || i == 0 ? ", by root key range" : "");
        if (bn->link_sql) describe_sql(out, bn->link_sql);
        describe_sql(out, bn->sql);
    }
}

void docs_builder_close(DocsBuilder *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->plan.nnodes; i++) {
        rows_clear(&b->rows[i]);
        rows_clear(&b->links[i]);
    }
    free(b->rows);
    free(b->links);
    for (size_t i = 0; i < b->nmt; i++) {
        for (size_t k = 0; k < b->mt[i].ncols; k++)
            buf_free(&b->mt[i].cols[k].vals);
        free(b->mt[i].cols);
    }
    free(b->mt);
    free(b->node_mt);
    free(b->link_mt);
    build_plan_free(&b->plan);
    buf_free(&b->src);
    buf_free(&b->id);
    buf_free(&b->scratch);
    for (size_t i = 0; i < DIP_ARRAY_LEN(b->arrays); i++)
        buf_free(&b->arrays[i]);
    free(b);
}
