/*
 * resolve.c: changed rows -> root keys (resolve.h). Each node of the tree collects value
 * tuples of a batch in sets; docs_resolver_run() walks them up the tree, deepest node first,
 * with one lookup statement per node and batch:
 *   up[N]   values of N's side of the join to its parent (parent_join.right_cols, in the
 *           node's table or, for a through node, in the link table): the parent rows whose
 *           parent_join.left_cols hold them are affected;
 *   down[N] through nodes only: values of child_join.right_cols of changed rows of N's own
 *           table: the link rows holding them give up[N].
 * The parent rows found give the parent's own up (or down) values, and so on to the root's
 * key. Lookups read the current state (the caller's transaction); old values come from the
 * stream, so a row that moved or vanished still reaches the root it left.
 */
#include "docs/resolve.h"

#include "docs/build_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- sets of value tuples */

typedef struct TupleSet {
    int ncols;
    Buf data;         /* per tuple, per column: u32 length, bytes */
    size_t *offs;     /* start of tuple i in data; offs[n] = data.len */
    uint64_t *hashes; /* per tuple */
    size_t n, cap;
    uint32_t *slots; /* open addressing: tuple index + 1, 0 = empty */
    size_t nslots;
} TupleSet;

static void ts_init(TupleSet *s, int ncols)
{
    memset(s, 0, sizeof *s);
    s->ncols = ncols;
    buf_init(&s->data);
}

static void ts_free(TupleSet *s)
{
    buf_free(&s->data);
    free(s->offs);
    free(s->hashes);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

static void ts_clear(TupleSet *s)
{
    buf_clear(&s->data);
    s->n = 0;
    if (s->slots) memset(s->slots, 0, s->nslots * sizeof *s->slots);
}

static const uint8_t *ts_bytes(const TupleSet *s, size_t i, size_t *len)
{
    size_t end = i + 1 < s->n ? s->offs[i + 1] : s->data.len;
    *len = end - s->offs[i];
    return s->data.data + s->offs[i];
}

static void ts_slot_put(TupleSet *s, size_t i)
{
    size_t m = s->nslots - 1, at = s->hashes[i] & m;
    while (s->slots[at])
        at = (at + 1) & m;
    s->slots[at] = (uint32_t)(i + 1);
}

static void ts_grow(TupleSet *s)
{
    if (s->n + 1 >= s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->offs = dip_realloc(s->offs, s->cap * sizeof *s->offs);
        s->hashes = dip_realloc(s->hashes, s->cap * sizeof *s->hashes);
    }
    if ((s->n + 1) * 2 >= s->nslots) {
        s->nslots = s->nslots ? s->nslots * 2 : 128;
        free(s->slots);
        s->slots = dip_calloc(s->nslots, sizeof *s->slots);
        for (size_t i = 0; i < s->n; i++)
            ts_slot_put(s, i);
    }
}

/* Adds the tuple v[0..ncols) (lengths len) unless it is there already. */
static void ts_add(TupleSet *s, const char *const *v, const uint32_t *len)
{
    ts_grow(s);
    size_t start = s->data.len;
    for (int c = 0; c < s->ncols; c++) {
        uint32_t l = len[c];
        buf_append(&s->data, &l, sizeof l);
        buf_append(&s->data, v[c], l);
    }
    size_t n = s->data.len - start;
    uint64_t h = dip_xxh64(s->data.data + start, n, 0);
    size_t m = s->nslots - 1;
    for (size_t at = h & m; s->slots[at]; at = (at + 1) & m) {
        /* not ts_bytes: data already holds the candidate, so the last tuple ends at start
         * (ts_bytes would measure it up to data.len and never find it equal) */
        size_t i = s->slots[at] - 1;
        size_t ol = (i + 1 < s->n ? s->offs[i + 1] : start) - s->offs[i];
        const uint8_t *o = s->data.data + s->offs[i];
        if (s->hashes[i] == h && ol == n && memcmp(o, s->data.data + start, n) == 0) {
            s->data.len = start;
            return;
        }
    }
    s->offs[s->n] = start;
    s->hashes[s->n] = h;
    s->n++;
    ts_slot_put(s, s->n - 1);
}

/* Column c of tuple i. */
static const char *ts_col(const TupleSet *s, size_t i, int c, uint32_t *len)
{
    const uint8_t *p = s->data.data + s->offs[i];
    for (;;) {
        uint32_t l;
        memcpy(&l, p, sizeof l);
        if (c-- == 0) {
            *len = l;
            return (const char *)p + sizeof l;
        }
        p += sizeof l + l;
    }
}

/* The array literal of column c of tuples [from, from + n): {"v1","v2"}. */
static void ts_array(const TupleSet *s, int c, size_t from, size_t n, Buf *out)
{
    buf_clear(out);
    buf_append_byte(out, '{');
    for (size_t i = from; i < from + n && i < s->n; i++) {
        if (i > from) buf_append_byte(out, ',');
        uint32_t l;
        const char *v = ts_col(s, i, c, &l);
        buf_append_byte(out, '"');
        for (uint32_t k = 0; k < l; k++) {
            if (v[k] == '"' || v[k] == '\\') buf_append_byte(out, '\\');
            buf_append_byte(out, (uint8_t)v[k]);
        }
        buf_append_byte(out, '"');
    }
    buf_append_byte(out, '}');
}

/* ---------------------------------------------------------------- the resolver */

typedef struct ColTypes {
    char **names, **types;
    uint32_t *oids;
    size_t n;
} ColTypes;

typedef struct RNode {
    const DocsNode *node;
    ColTypes rel_types, through_types;
    TupleSet up, down;
    char **used; /* columns of the node's table a document reads (outputs, keys, joins) */
    size_t nused;
} RNode;

struct DocsResolver {
    const DocsDocument *d;
    RNode *nodes;
    size_t nnodes;
    TupleSet roots; /* rel.key order */
    TupleSet built; /* _ids the builder emitted for this batch */
    int *id_pos;    /* per id_key column: its position in rel.key */
    bool *id_bool;
    bool full, pending;
    DocsResolveStats st;
    Buf sql, arrays[8];
};

static void coltypes_free(ColTypes *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->names[i]);
        free(t->types[i]);
    }
    free(t->names);
    free(t->types);
    free(t->oids);
    memset(t, 0, sizeof *t);
}

static void quote_table(Buf *out, const DocsTable *t)
{
    build_quote_ident(out, t->schema);
    buf_append_byte(out, '.');
    build_quote_ident(out, t->name);
}

static bool coltypes_read(PgConn *c, const DocsTable *t, ColTypes *out, DipError *err)
{
    const char *tmpl;
    if (!pg_sql_get("sql/docs_resolve_columns.sql", &tmpl, err)) return false;
    Buf name;
    buf_init(&name);
    quote_table(&name, t);
    const char *params[1] = {buf_cstr(&name)};
    PGresult *res;
    bool ok = pg_query(c, tmpl, 1, params, &res, err);
    buf_free(&name);
    if (!ok) return false;
    out->n = (size_t)PQntuples(res);
    out->names = dip_calloc(out->n + 1, sizeof *out->names);
    out->types = dip_calloc(out->n + 1, sizeof *out->types);
    out->oids = dip_calloc(out->n + 1, sizeof *out->oids);
    for (size_t i = 0; i < out->n; i++) {
        out->names[i] = dip_strdup(PQgetvalue(res, (int)i, 0));
        out->types[i] = dip_strdup(PQgetvalue(res, (int)i, 1));
        int64_t oid = 0;
        if (dip_parse_i64(PQgetvalue(res, (int)i, 2), &oid)) out->oids[i] = (uint32_t)oid;
    }
    PQclear(res);
    return true;
}

static const char *coltype(const ColTypes *t, const char *col)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->names[i], col) == 0) return t->types[i];
    return "text";
}

static uint32_t coltype_oid(const ColTypes *t, const char *col)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->names[i], col) == 0) return t->oids[i];
    return 0;
}

static void used_add(RNode *rn, char *const *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool have = false;
        for (size_t k = 0; k < rn->nused && !have; k++)
            have = strcmp(rn->used[k], cols[i]) == 0;
        if (have) continue;
        rn->used = dip_realloc(rn->used, (rn->nused + 1) * sizeof *rn->used);
        rn->used[rn->nused++] = cols[i];
    }
}

bool docs_resolver_open(const DocsDocument *d, PgConn *c, DocsResolver **out, DipError *err)
{
    *out = NULL;
    if (!d->resolved)
        return dip_error_set(err, DIP_ERR_INTERNAL, "%s: resolver needs a resolved document",
                             d->path);
    DocsResolver *r = dip_calloc(1, sizeof *r);
    r->d = d;
    r->nnodes = d->nnodes;
    r->nodes = dip_calloc(d->nnodes, sizeof *r->nodes);
    buf_init(&r->sql);
    for (size_t i = 0; i < DIP_ARRAY_LEN(r->arrays); i++)
        buf_init(&r->arrays[i]);
    const DocsNode *root = d->root;
    ts_init(&r->roots, (int)root->rel.nkey);
    ts_init(&r->built, 1);
    bool ok = root->rel.nkey > 0 && root->rel.nkey <= DIP_ARRAY_LEN(r->arrays);
    if (!ok)
        dip_error_set(err, DIP_ERR_UNSUPPORTED, "%s: a root key of %zu columns is not supported",
                      root->path, root->rel.nkey);
    for (size_t i = 0; ok && i < d->nnodes; i++) {
        RNode *rn = &r->nodes[i];
        const DocsNode *n = d->nodes[i];
        rn->node = n;
        ts_init(&rn->up, (int)n->parent_join.ncols);
        ts_init(&rn->down, (int)n->child_join.ncols);
        if (c) ok = coltypes_read(c, &n->rel, &rn->rel_types, err);
        if (c && ok && n->through_table)
            ok = coltypes_read(c, &n->through, &rn->through_types, err);
        for (size_t k = 0; k < n->ncolumns; k++)
            used_add(rn, &n->columns[k].name, 1);
        used_add(rn, n->rel.key, n->rel.nkey);
        if (n->parent && !n->through_table)
            used_add(rn, n->parent_join.right_cols, n->parent_join.ncols);
        if (n->through_table) used_add(rn, n->child_join.right_cols, n->child_join.ncols);
        for (size_t k = 0; k < n->nchildren; k++)
            used_add(rn, n->children[k]->parent_join.left_cols, n->children[k]->parent_join.ncols);
    }
    if (ok) {
        r->id_pos = dip_calloc(root->nid_key + 1, sizeof *r->id_pos);
        r->id_bool = dip_calloc(root->nid_key + 1, sizeof *r->id_bool);
        for (size_t i = 0; i < root->nid_key; i++) {
            for (size_t k = 0; k < root->rel.nkey; k++)
                if (strcmp(root->id_key[i], root->rel.key[k]) == 0) r->id_pos[i] = (int)k;
            r->id_bool[i] =
                strcmp(coltype(&r->nodes[0].rel_types, root->id_key[i]), "boolean") == 0;
        }
    }
    if (!ok) {
        docs_resolver_close(r);
        return false;
    }
    *out = r;
    return true;
}

void docs_resolver_close(DocsResolver *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->nnodes; i++) {
        RNode *rn = &r->nodes[i];
        coltypes_free(&rn->rel_types);
        coltypes_free(&rn->through_types);
        ts_free(&rn->up);
        ts_free(&rn->down);
        free(rn->used);
    }
    free(r->nodes);
    ts_free(&r->roots);
    ts_free(&r->built);
    free(r->id_pos);
    free(r->id_bool);
    buf_free(&r->sql);
    for (size_t i = 0; i < DIP_ARRAY_LEN(r->arrays); i++)
        buf_free(&r->arrays[i]);
    free(r);
}

/* ---------------------------------------------------------------- adding changes */

static bool same_table(const DocsTable *t, const PgoRelation *rel)
{
    return t->name && strcmp(t->name, rel->relname) == 0 && strcmp(t->schema, rel->nspname) == 0;
}

static int rel_col(const PgoRelation *rel, const char *name)
{
    for (int i = 0; i < rel->ncols; i++)
        if (strcmp(rel->cols[i].name, name) == 0) return i;
    return -1;
}

/* The value of column i in tuple t: 1 with text, 0 NULL, -1 not carried (an unchanged TOASTed
 * value without an old row, a non-key column of an old key-only row, binary). */
static int tuple_value(const PgoRelation *rel, const PgoTuple *t, char kind, const PgoTuple *old,
                       char old_kind, int i, const char **v, uint32_t *len)
{
    if (i < 0 || i >= t->ncols) return -1;
    const PgoValue *pv = &t->values[i];
    if (pv->kind == PGO_VALUE_UNCHANGED && old)
        return tuple_value(rel, old, old_kind, NULL, 0, i, v, len);
    if (pv->kind == PGO_VALUE_NULL)
        return kind == 'K' && !(rel->cols[i].flags & PGO_COLUMN_KEY) ? -1 : 0;
    if (pv->kind != PGO_VALUE_TEXT) return -1;
    *v = pv->data;
    *len = pv->len;
    return 1;
}

/* Adds the values of cols in tuple t to s; a value the stream did not carry makes the batch
 * need every root. */
static void add_values(DocsResolver *r, TupleSet *s, const PgoRelation *rel, const PgoTuple *t,
                       char kind, const PgoTuple *old, char old_kind, char *const *cols, size_t n)
{
    const char *v[8];
    uint32_t len[8];
    for (size_t k = 0; k < n; k++) {
        int got = tuple_value(rel, t, kind, old, old_kind, rel_col(rel, cols[k]), &v[k], &len[k]);
        if (got == 0) return; /* a NULL joins nothing */
        if (got < 0) {
            dip_debug("%s.%s: column %s not carried by the stream; rebuilding every root",
                      rel->nspname, rel->relname, cols[k]);
            r->full = true;
            return;
        }
    }
    ts_add(s, v, len);
}

/* True when an update with a full old row changed none of cols. */
static bool unchanged(const PgoRelation *rel, const PgoMessage *m, char *const *cols, size_t n)
{
    if (m->kind != PGO_UPDATE || m->u.change.old_kind != 'O') return false;
    const PgoTuple *o = &m->u.change.old_tuple, *t = &m->u.change.new_tuple;
    for (size_t k = 0; k < n; k++) {
        int i = rel_col(rel, cols[k]);
        if (i < 0 || i >= o->ncols || i >= t->ncols) return false;
        const PgoValue *a = &o->values[i], *b = &t->values[i];
        if (b->kind == PGO_VALUE_UNCHANGED) continue;
        if (a->kind != b->kind || a->len != b->len ||
            (a->len && memcmp(a->data, b->data, a->len) != 0))
            return false;
    }
    return true;
}

/* Old and new images of the change into s (columns cols). */
static void add_images(DocsResolver *r, TupleSet *s, const PgoRelation *rel, const PgoMessage *m,
                       char *const *cols, size_t n)
{
    const PgoTuple *old = m->u.change.old_kind ? &m->u.change.old_tuple : NULL;
    char ok = m->u.change.old_kind;
    if (old) add_values(r, s, rel, old, ok, NULL, 0, cols, n);
    if (m->kind != PGO_DELETE) add_values(r, s, rel, &m->u.change.new_tuple, 'N', old, ok, cols, n);
}

void docs_resolver_add(DocsResolver *r, const PgoMessage *m)
{
    if (m->kind != PGO_INSERT && m->kind != PGO_UPDATE && m->kind != PGO_DELETE) return;
    const PgoRelation *rel = m->u.change.rel;
    r->st.changes++;
    r->pending = true;
    bool matched = false, skipped = false;
    for (size_t i = 0; i < r->nnodes; i++) {
        RNode *rn = &r->nodes[i];
        const DocsNode *n = rn->node;
        for (size_t b = 0; b < n->nbase_tables && n->bases; b++)
            if (same_table(&n->bases[b], rel)) {
                /* a view's rows cannot be told from its base table's values */
                matched = true;
                r->full = true;
            }
        if (n->through_table && same_table(&n->through, rel)) {
            matched = true;
            char *link_used[16];
            size_t nl = 0;
            for (size_t k = 0; k < n->parent_join.ncols && nl < 16; k++)
                link_used[nl++] = n->parent_join.right_cols[k];
            for (size_t k = 0; k < n->child_join.ncols && nl < 16; k++)
                link_used[nl++] = n->child_join.left_cols[k];
            if (unchanged(rel, m, link_used, nl))
                skipped = true;
            else
                add_images(r, &rn->up, rel, m, n->parent_join.right_cols, n->parent_join.ncols);
        }
        if (!same_table(&n->rel, rel)) continue;
        matched = true;
        if (unchanged(rel, m, rn->used, rn->nused)) {
            skipped = true;
            continue;
        }
        if (!n->parent)
            add_images(r, &r->roots, rel, m, n->rel.key, n->rel.nkey);
        else if (n->through_table)
            add_images(r, &rn->down, rel, m, n->child_join.right_cols, n->child_join.ncols);
        else
            add_images(r, &rn->up, rel, m, n->parent_join.right_cols, n->parent_join.ncols);
    }
    if (!matched) r->st.ignored++;
    if (skipped) r->st.skipped++;
}

void docs_resolver_truncate(DocsResolver *r, const PgoRelation *rel)
{
    for (size_t i = 0; i < r->nnodes; i++) {
        const DocsNode *n = r->nodes[i].node;
        bool hit = same_table(&n->rel, rel) || (n->through_table && same_table(&n->through, rel));
        for (size_t b = 0; b < n->nbase_tables && n->bases; b++)
            hit = hit || same_table(&n->bases[b], rel);
        if (hit) {
            r->full = true;
            r->pending = true;
        }
    }
}

/* ---------------------------------------------------------------- altered tables */

/* "schema.table: column "col" what" (col NULL: "schema.table: what") into why. */
static void why_add(Buf *why, const PgoRelation *rel, const char *col, const char *what)
{
    if (!why) return;
    if (why->len) buf_append_str(why, "; ");
    buf_printf(why, "%s.%s: ", rel->nspname, rel->relname);
    if (col) buf_printf(why, "column \"%s\" ", col);
    buf_append_str(why, what);
}

/* The document column of n reading table column col, NULL when col is only a key or join. */
static const DocsColumn *output_col(const DocsNode *n, const char *col)
{
    for (size_t k = 0; k < n->ncolumns; k++)
        if (strcmp(n->columns[k].name, col) == 0) return &n->columns[k];
    return NULL;
}

/* Columns cols of rel must exist with the types they were resolved with (n: the node whose
 * own table rel is, for the types of document columns; NULL for a through table). */
static DocsRelChange check_cols(const PgoRelation *rel, const DocsNode *n, const ColTypes *t,
                                char *const *cols, size_t ncols, Buf *why)
{
    DocsRelChange c = DOCS_REL_SAME;
    for (size_t k = 0; k < ncols; k++) {
        int i = rel_col(rel, cols[k]);
        const DocsColumn *out = n ? output_col(n, cols[k]) : NULL;
        uint32_t want = out && out->type_oid ? out->type_oid : coltype_oid(t, cols[k]);
        if (i < 0) {
            why_add(why, rel, cols[k], "is gone");
            if (c < DOCS_REL_REPREPARE) c = DOCS_REL_REPREPARE;
        } else if (want && rel->cols[i].type_oid != want && out) {
            why_add(why, rel, cols[k], "(in the documents) changed type");
            c = DOCS_REL_REBUILD;
        } else if (want && rel->cols[i].type_oid != want) {
            why_add(why, rel, cols[k], "(a key or join) changed type");
            if (c < DOCS_REL_REPREPARE) c = DOCS_REL_REPREPARE;
        }
    }
    return c;
}

DocsRelChange docs_resolver_relation_change(const DocsResolver *r, const PgoRelation *rel, Buf *why)
{
    DocsRelChange worst = DOCS_REL_SAME;
    for (size_t i = 0; i < r->nnodes; i++) {
        const RNode *rn = &r->nodes[i];
        const DocsNode *n = rn->node;
        DocsRelChange c = DOCS_REL_SAME;
        if (n->through_table && same_table(&n->through, rel)) {
            DocsRelChange c1 = check_cols(rel, NULL, &rn->through_types, n->parent_join.right_cols,
                                          n->parent_join.ncols, why);
            DocsRelChange c2 = check_cols(rel, NULL, &rn->through_types, n->child_join.left_cols,
                                          n->child_join.ncols, why);
            c = c1 > c2 ? c1 : c2;
        }
        if (same_table(&n->rel, rel)) {
            DocsRelChange c1 = check_cols(rel, n, &rn->rel_types, rn->used, rn->nused, why);
            if (c1 > c) c = c1;
            if (n->columns_all && (size_t)rel->ncols != n->ncolumns) {
                why_add(why, rel, NULL,
                        "columns were added or dropped and its node takes them all");
                c = DOCS_REL_REBUILD;
            }
        }
        if (c > worst) worst = c;
    }
    return worst;
}

void docs_resolver_rebuild_all(DocsResolver *r)
{
    r->full = true;
    r->pending = true;
}

size_t docs_resolver_keys(const DocsResolver *r)
{
    size_t n = r->roots.n;
    for (size_t i = 0; i < r->nnodes; i++)
        n += r->nodes[i].up.n + r->nodes[i].down.n;
    return n;
}

bool docs_resolver_pending(const DocsResolver *r)
{
    return r->pending;
}

bool docs_resolver_full(const DocsResolver *r)
{
    return r->full;
}

/* ---------------------------------------------------------------- resolving */

/* out += the distinct values of sel in table t for the rows whose where columns hold a tuple
 * of in (every row when in is NULL). */
static bool lookup(DocsResolver *r, PgConn *c, const DocsTable *t, const ColTypes *types,
                   char *const *sel, size_t nsel, char *const *where, size_t nwhere,
                   const TupleSet *in, TupleSet *out, DipError *err)
{
    if (in && in->n == 0) return true;
    const char *tmpl;
    if (!pg_sql_get("sql/docs_resolve_lookup.sql", &tmpl, err)) return false;
    Buf s, tbl, w;
    buf_init(&s);
    buf_init(&tbl);
    buf_init(&w);
    for (size_t k = 0; k < nsel; k++) {
        if (k) buf_append_str(&s, ", ");
        buf_append_str(&s, "n.");
        build_quote_ident(&s, sel[k]);
    }
    quote_table(&tbl, t);
    const char *params[8];
    if (in) {
        buf_append_str(&w, nwhere == 1 ? "WHERE " : "WHERE (");
        for (size_t k = 0; k < nwhere; k++) {
            if (k) buf_append_str(&w, ", ");
            buf_append_str(&w, "n.");
            build_quote_ident(&w, where[k]);
        }
        if (nwhere == 1) {
            buf_printf(&w, " = ANY($1::%s[])", coltype(types, where[0]));
        } else {
            buf_append_str(&w, ") IN (SELECT * FROM unnest(");
            for (size_t k = 0; k < nwhere; k++)
                buf_printf(&w, "%s$%zu::%s[]", k ? ", " : "", k + 1, coltype(types, where[k]));
            buf_append_str(&w, "))");
        }
        for (size_t k = 0; k < nwhere; k++) {
            ts_array(in, (int)k, 0, in->n, &r->arrays[k]);
            params[k] = buf_cstr(&r->arrays[k]);
        }
    }
    const char *kv[] = {"select", buf_cstr(&s), "table", buf_cstr(&tbl),
                        "where",  buf_cstr(&w), NULL};
    buf_clear(&r->sql);
    bool ok = pg_sql_render(tmpl, kv, &r->sql, err);
    PGresult *res = NULL;
    if (ok) ok = pg_query(c, buf_cstr(&r->sql), in ? (int)nwhere : 0, params, &res, err);
    r->st.queries++;
    if (ok) {
        int rows = PQntuples(res);
        const char *v[8];
        uint32_t len[8];
        for (int row = 0; row < rows; row++) {
            bool null = false;
            for (size_t k = 0; k < nsel; k++) {
                null = null || PQgetisnull(res, row, (int)k);
                v[k] = PQgetvalue(res, row, (int)k);
                len[k] = (uint32_t)PQgetlength(res, row, (int)k);
            }
            if (!null) ts_add(out, v, len);
        }
    }
    if (res) PQclear(res);
    buf_free(&s);
    buf_free(&tbl);
    buf_free(&w);
    if (!ok) dip_error_prefix(err, "resolving changes of %s.%s", t->schema, t->name);
    return ok;
}

static bool cols_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0) return false;
    return true;
}

bool docs_resolver_run(DocsResolver *r, PgConn *c, DipError *err)
{
    const DocsNode *root = r->d->root;
    RNode *rr = &r->nodes[0];
    if (r->full) {
        r->st.full++;
        ts_clear(&r->roots);
        bool ok = lookup(r, c, &root->rel, &rr->rel_types, root->rel.key, root->rel.nkey, NULL, 0,
                         NULL, &r->roots, err);
        r->st.roots_out += (int64_t)r->roots.n;
        return ok;
    }
    /* deepest first: pre-order ids put every child after its parent */
    for (size_t i = r->nnodes; i-- > 1;) {
        RNode *rn = &r->nodes[i];
        const DocsNode *n = rn->node;
        const DocsJoin *pj = &n->parent_join;
        if (n->through_table &&
            !lookup(r, c, &n->through, &rn->through_types, pj->right_cols, pj->ncols,
                    n->child_join.left_cols, n->child_join.ncols, &rn->down, &rn->up, err))
            return false;
        if (rn->up.n == 0) continue;
        const DocsNode *p = n->parent;
        RNode *pn = &r->nodes[p->id];
        bool ok;
        if (!p->parent && cols_equal(pj->left_cols, pj->ncols, p->rel.key, p->rel.nkey)) {
            /* joined on the root's key: the values are root keys */
            for (size_t t = 0; t < rn->up.n; t++) {
                const char *v[8];
                uint32_t len[8];
                for (int k = 0; k < rn->up.ncols; k++)
                    v[k] = ts_col(&rn->up, t, k, &len[k]);
                ts_add(&r->roots, v, len);
            }
            ok = true;
        } else if (!p->parent) {
            ok = lookup(r, c, &p->rel, &pn->rel_types, p->rel.key, p->rel.nkey, pj->left_cols,
                        pj->ncols, &rn->up, &r->roots, err);
        } else if (p->through_table) {
            ok = lookup(r, c, &p->rel, &pn->rel_types, p->child_join.right_cols,
                        p->child_join.ncols, pj->left_cols, pj->ncols, &rn->up, &pn->down, err);
        } else {
            ok = lookup(r, c, &p->rel, &pn->rel_types, p->parent_join.right_cols,
                        p->parent_join.ncols, pj->left_cols, pj->ncols, &rn->up, &pn->up, err);
        }
        if (!ok) return false;
    }
    r->st.roots_out += (int64_t)r->roots.n;
    return true;
}

size_t docs_resolver_nroots(const DocsResolver *r)
{
    return r->roots.n;
}

void docs_resolver_key_arrays(const DocsResolver *r, size_t from, size_t n, Buf *arrays)
{
    for (int k = 0; k < r->roots.ncols; k++)
        ts_array(&r->roots, k, from, n, &arrays[k]);
}

void docs_resolver_root_id(const DocsResolver *r, size_t i, Buf *out)
{
    buf_clear(out);
    const DocsNode *root = r->d->root;
    for (size_t k = 0; k < root->nid_key; k++) {
        if (k) buf_append_byte(out, '|');
        uint32_t len;
        const char *v = ts_col(&r->roots, i, r->id_pos[k], &len);
        if (r->id_bool[k])
            buf_append_str(out, len && v[0] == 't' ? "True" : "False");
        else
            buf_append(out, v, len);
    }
}

static void ts_merge(TupleSet *dst, const TupleSet *src)
{
    const char *v[8];
    uint32_t len[8];
    for (size_t t = 0; t < src->n; t++) {
        for (int k = 0; k < src->ncols && k < 8; k++)
            v[k] = ts_col(src, t, k, &len[k]);
        ts_add(dst, v, len);
    }
}

void docs_resolver_merge(DocsResolver *dst, const DocsResolver *src)
{
    ts_merge(&dst->roots, &src->roots);
    for (size_t i = 0; i < dst->nnodes && i < src->nnodes; i++) {
        ts_merge(&dst->nodes[i].up, &src->nodes[i].up);
        ts_merge(&dst->nodes[i].down, &src->nodes[i].down);
    }
    dst->full = dst->full || src->full;
    dst->pending = dst->pending || src->pending;
    dst->st.changes += src->st.changes;
    dst->st.skipped += src->st.skipped;
    dst->st.ignored += src->st.ignored;
}

void docs_resolver_built(DocsResolver *r, const char *id, size_t len)
{
    uint32_t l = (uint32_t)len;
    ts_add(&r->built, &id, &l);
}

bool docs_resolver_was_built(const DocsResolver *r, const char *id, size_t len)
{
    const TupleSet *s = &r->built;
    if (s->n == 0) return false;
    Buf enc;
    buf_init(&enc);
    uint32_t l = (uint32_t)len;
    buf_append(&enc, &l, sizeof l);
    buf_append(&enc, id, len);
    uint64_t h = dip_xxh64(enc.data, enc.len, 0);
    bool found = false;
    size_t m = s->nslots - 1;
    for (size_t at = h & m; s->slots[at] && !found; at = (at + 1) & m) {
        size_t i = s->slots[at] - 1, ol;
        const uint8_t *o = ts_bytes(s, i, &ol);
        found = s->hashes[i] == h && ol == enc.len && memcmp(o, enc.data, ol) == 0;
    }
    buf_free(&enc);
    return found;
}

void docs_resolver_reset(DocsResolver *r)
{
    ts_clear(&r->roots);
    ts_clear(&r->built);
    for (size_t i = 0; i < r->nnodes; i++) {
        ts_clear(&r->nodes[i].up);
        ts_clear(&r->nodes[i].down);
    }
    r->full = false;
    r->pending = false;
}

const DocsResolveStats *docs_resolver_stats(const DocsResolver *r)
{
    return &r->st;
}
