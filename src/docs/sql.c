/*
 * sql.c: the SQL side of document building: catalog lookups of result column types and
 * the set-based statements of a document tree (one per node and batch of roots).
 */
#include "docs/build_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool docs_types_lookup(PgConn *c, const uint32_t *oids, int n, DocsValType *out, bool *server_json,
                       DipError *err)
{
    const char *sql;
    if (!pg_sql_get("sql/docs_types.sql", &sql, err)) return false;
    Buf arr;
    buf_init(&arr);
    buf_append_byte(&arr, '{');
    for (int i = 0; i < n; i++)
        buf_printf(&arr, "%s%u", i ? "," : "", oids[i]);
    buf_append_byte(&arr, '}');
    const char *params[1] = {buf_cstr(&arr)};
    PGresult *r;
    bool ok = pg_query(c, sql, 1, params, &r, err);
    buf_free(&arr);
    if (!ok) return false;
    for (int i = 0; i < n; i++) {
        bool found = false;
        for (int row = 0; row < PQntuples(r) && !found; row++) {
            if ((uint32_t)strtoul(PQgetvalue(r, row, 0), NULL, 10) != oids[i]) continue;
            found = true;
            uint32_t base = (uint32_t)strtoul(PQgetvalue(r, row, 1), NULL, 10);
            char base_typtype = PQgetvalue(r, row, 2)[0];
            uint32_t elem = (uint32_t)strtoul(PQgetvalue(r, row, 3), NULL, 10);
            char elem_typtype = PQgetvalue(r, row, 4)[0];
            char delim = PQgetvalue(r, row, 5)[0];
            bool composite = base_typtype == 'c' || base_typtype == 'p' ||
                             (elem != 0 && (elem_typtype == 'c' || elem_typtype == 'p'));
            server_json[i] = composite || !docs_valtype_for_oid(base, elem, delim, &out[i]);
            if (server_json[i]) {
                memset(&out[i], 0, sizeof out[i]);
                out[i].kind = DOCS_VAL_JSON;
            }
        }
        if (!found) {
            PQclear(r);
            return dip_error_set(err, DIP_ERR_INTERNAL, "type %u: not in pg_type", oids[i]);
        }
    }
    PQclear(r);
    return true;
}

/* ---------------------------------------------------------------- the tree's statements */

void build_quote_ident(Buf *out, const char *name)
{
    buf_append_byte(out, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"') buf_append_byte(out, '"');
        buf_append_byte(out, (uint8_t)*p);
    }
    buf_append_byte(out, '"');
}

static void quote_table(Buf *out, const DocsTable *t)
{
    build_quote_ident(out, t->schema);
    buf_append_byte(out, '.');
    build_quote_ident(out, t->name);
}

static void quote_literal(Buf *out, const char *s)
{
    buf_append_byte(out, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '\'') buf_append_byte(out, '\'');
        buf_append_byte(out, (uint8_t)*p);
    }
    buf_append_byte(out, '\'');
}

/* n."col" followed by PGSync's JSON operators: col->'key', col->0, col#>'{a,b}'. */
static void column_expr(Buf *out, const DocsColumn *col)
{
    buf_append_str(out, "n.");
    build_quote_ident(out, col->name);
    for (size_t i = 0; i < col->nsteps; i++) {
        const DocsJsonStep *s = &col->steps[i];
        switch (s->op) {
        case DOCS_JSON_GET:
        case DOCS_JSON_GET_TEXT:
            buf_append_str(out, s->op == DOCS_JSON_GET ? " -> " : " ->> ");
            if (s->is_index)
                buf_printf(out, "%lld", (long long)s->index);
            else
                quote_literal(out, s->key);
            break;
        case DOCS_JSON_PATH:
        case DOCS_JSON_PATH_TEXT: {
            buf_append_str(out, s->op == DOCS_JSON_PATH ? " #> " : " #>> ");
            Buf arr;
            buf_init(&arr);
            buf_append_byte(&arr, '{');
            for (size_t k = 0; k < s->npath; k++) {
                if (k) buf_append_byte(&arr, ',');
                buf_append_byte(&arr, '"');
                for (const char *p = s->path[k]; *p; p++) {
                    if (*p == '"' || *p == '\\') buf_append_byte(&arr, '\\');
                    buf_append_byte(&arr, (uint8_t)*p);
                }
                buf_append_byte(&arr, '"');
            }
            buf_append_byte(&arr, '}');
            quote_literal(out, buf_cstr(&arr));
            buf_append_str(out, "::text[]");
            buf_free(&arr);
            break;
        }
        }
    }
}

/* SQL types of the named columns of a relation (format_type), in the order asked. */
static bool column_types(PgConn *c, const DocsTable *t, char **names, size_t n, char ***out,
                         DipError *err)
{
    const char *sql;
    if (!pg_sql_get("sql/docs_column_types.sql", &sql, err)) return false;
    char oid[16];
    dip_snprintf(oid, sizeof oid, "%u", t->oid);
    const char *params[1] = {oid};
    PGresult *r;
    if (!pg_query(c, sql, 1, params, &r, err)) return false;
    char **types = dip_calloc(n + 1, sizeof *types); /* NULL-terminated: see free_strv */
    for (size_t i = 0; i < n; i++) {
        for (int row = 0; row < PQntuples(r); row++)
            if (strcmp(PQgetvalue(r, row, 0), names[i]) == 0)
                types[i] = dip_strdup(PQgetvalue(r, row, 1));
        if (!types[i]) {
            for (size_t k = 0; k < i; k++)
                free(types[k]);
            free(types);
            PQclear(r);
            return dip_error_set(err, DIP_ERR_NOT_FOUND, "%s.%s: no column \"%s\"", t->schema,
                                 t->name, names[i]);
        }
    }
    PQclear(r);
    *out = types;
    return true;
}

static void json_key(Buf *out, const char *name)
{
    buf_append_byte(out, '"');
    jw_escape_into(out, name, strlen(name));
    buf_append_str(out, "\":");
}

/* The select list of a node after its leading columns: each child's parent-side join
 * columns, then the outputs. Records the column numbers in bn. */
static void select_tail(BuildNode *bn, Buf *sel, int first)
{
    const DocsNode *n = bn->node;
    int col = first;
    bn->child_cols = dip_calloc(bn->nchildren ? bn->nchildren : 1, sizeof *bn->child_cols);
    for (size_t c = 0; c < bn->nchildren; c++) {
        const DocsJoin *j = &bn->children[c]->node->parent_join;
        bn->child_cols[c] = dip_calloc(j->ncols ? j->ncols : 1, sizeof(int));
        for (size_t k = 0; k < j->ncols; k++) {
            buf_append_str(sel, ", n.");
            build_quote_ident(sel, j->left_cols[k]);
            bn->child_cols[c][k] = col++;
        }
    }
    bn->out_first = col;
    bn->nout = (int)n->ncolumns;
    for (size_t i = 0; i < n->ncolumns; i++) {
        buf_append_str(sel, ", ");
        if (bn->server_json[i]) buf_append_str(sel, "to_json(");
        column_expr(sel, &n->columns[i]);
        if (bn->server_json[i]) buf_append_byte(sel, ')');
        col++;
    }
    /* PGSync's _meta lists the key values of every row a document uses */
    bn->key_first = col;
    for (size_t k = 0; bn->meta && k < n->rel.nkey; k++) {
        buf_append_str(sel, ", n.");
        build_quote_ident(sel, n->rel.key[k]);
        col++;
    }
    bn->ncols = col;
}

/* The select list starts with ", " after the leading columns; templates want no comma. */
static const char *strip_comma(const Buf *sel)
{
    const char *s = buf_cstr(sel);
    return (s[0] == ',' && s[1] == ' ') ? s + 2 : s;
}

/* WHERE clause of a statement joined to its parent: either the batch's root key range,
 * ($1..$n) < (cols) <= ($n+1..$2n) with either bound NULL = open (a range scan of an index on
 * cols), or one array parameter per column holding the parent keys of the batch. */
static void link_where(Buf *a, const char *alias, char **cols, size_t n, char **types, bool range)
{
    Buf list;
    buf_init(&list);
    for (size_t k = 0; k < n; k++) {
        if (k) buf_append_str(&list, ", ");
        buf_append_str(&list, alias);
        build_quote_ident(&list, cols[k]);
    }
    if (range) {
        for (int side = 0; side < 2; side++) {
            size_t base = (size_t)side * n;
            buf_printf(a, "%s($%zu::%s IS NULL OR (%s) %s (", side ? " AND " : "", base + 1,
                       types[0], buf_cstr(&list), side ? "<=" : ">");
            for (size_t i = 0; i < n; i++)
                buf_printf(a, "%s$%zu::%s", i ? ", " : "", base + i + 1, types[i]);
            buf_append_str(a, "))");
        }
    } else if (n == 1) {
        buf_printf(a, "%s = ANY($1::%s[])", buf_cstr(&list), types[0]);
    } else {
        buf_printf(a, "(%s) IN (SELECT * FROM unnest(", buf_cstr(&list));
        for (size_t k = 0; k < n; k++)
            buf_printf(a, "%s$%zu::%s[]", k ? ", " : "", k + 1, types[k]);
        buf_append_str(a, "))");
    }
    buf_free(&list);
}

/* A child joined to the root on exactly the root's key, column for column and of the same
 * types, is read by the batch's key range (an index range scan) instead of by key arrays:
 * the same rows, since equal values order alike. */
static bool joins_root_key(const BuildNode *bn, char **types)
{
    const BuildNode *root = bn->parent;
    const DocsJoin *pj = &bn->node->parent_join;
    if (root->parent || pj->ncols != root->node->rel.nkey || !root->key_types) return false;
    for (size_t k = 0; k < pj->ncols; k++)
        if (strcmp(pj->left_cols[k], root->node->rel.key[k]) != 0 ||
            strcmp(types[k], root->key_types[k]) != 0)
            return false;
    return true;
}

static bool node_sql(BuildNode *bn, PgConn *c, DipError *err)
{
    const DocsNode *n = bn->node;
    Buf sel, a, b, tbl, thr;
    buf_init(&sel);
    buf_init(&a);
    buf_init(&b);
    buf_init(&tbl);
    buf_init(&thr);
    quote_table(&tbl, &n->rel);
    bool ok = true;
    const char *tmpl = NULL;
    free(bn->sql);
    bn->sql = NULL;
    Buf out;
    buf_init(&out);
    if (!n->parent) {
        /* root: _id keys, child joins, outputs; the range over rel.key */
        bn->nid = (int)n->nid_key;
        for (size_t i = 0; i < n->nid_key; i++) {
            buf_append_str(&sel, ", n.");
            build_quote_ident(&sel, n->id_key[i]);
        }
        select_tail(bn, &sel, bn->nid);
        if (!bn->key_types)
            ok = column_types(c, &n->rel, n->rel.key, n->rel.nkey, &bn->key_types, err);
        if (ok) {
            /* ($1::t IS NULL OR (k..) > ($1::t, ..)) AND ($m::t IS NULL OR (k..) <= (..)) */
            size_t nk = n->rel.nkey;
            link_where(&a, "n.", n->rel.key, nk, bn->key_types, !bn->by_keys);
            if (!pg_sql_get("sql/docs_root.sql", &tmpl, err)) ok = false;
            if (ok) {
                const char *kv[] = {"select", strip_comma(&sel), "table", buf_cstr(&tbl),
                                    "range",  buf_cstr(&a),      NULL};
                ok = pg_sql_render(tmpl, kv, &out, err);
            }
        }
    } else {
        const DocsJoin *pj = &n->parent_join;
        const DocsJoin *cj = bn->through ? &n->child_join : pj;
        /* the statement that meets the parent: the node's own (direct) or the link table's */
        char ***ptypes = bn->through ? &bn->link_types : &bn->param_types;
        if (!*ptypes)
            ok = column_types(c, bn->through ? &n->through : &n->rel, pj->right_cols, pj->ncols,
                              ptypes, err);
        if (ok && bn->through && !bn->param_types)
            ok = column_types(c, &n->rel, cj->right_cols, cj->ncols, &bn->param_types, err);
        if (ok) bn->range_link = !bn->by_keys && joins_root_key(bn, *ptypes);
        if (ok && bn->through) {
            /* link statement: [parent side] [child side] of each link row */
            Buf lsel, lw;
            buf_init(&lsel);
            buf_init(&lw);
            for (size_t k = 0; k < pj->ncols; k++) {
                buf_append_str(&lsel, ", t.");
                build_quote_ident(&lsel, pj->right_cols[k]);
            }
            for (size_t k = 0; k < cj->ncols; k++) {
                buf_append_str(&lsel, ", t.");
                build_quote_ident(&lsel, cj->left_cols[k]);
            }
            for (size_t k = 0; bn->meta && k < n->through.nkey; k++) {
                buf_append_str(&lsel, ", t.");
                build_quote_ident(&lsel, n->through.key[k]);
            }
            link_where(&lw, "t.", pj->right_cols, pj->ncols, bn->link_types, bn->range_link);
            quote_table(&thr, &n->through);
            Buf lout;
            buf_init(&lout);
            ok = pg_sql_get("sql/docs_node_link.sql", &tmpl, err);
            if (ok) {
                const char *kv[] = {"select", strip_comma(&lsel), "through", buf_cstr(&thr),
                                    "link",   buf_cstr(&lw),      NULL};
                ok = pg_sql_render(tmpl, kv, &lout, err);
            }
            free(bn->link_sql);
            bn->link_sql = ok ? dip_strdup(buf_cstr(&lout)) : NULL;
            buf_free(&lout);
            buf_free(&lsel);
            buf_free(&lw);
        }
        /* node statement: [its side of the join] [children's parent sides] [outputs] */
        bn->nlink = (int)cj->ncols;
        for (size_t k = 0; k < cj->ncols; k++) {
            buf_append_str(&sel, ", n.");
            build_quote_ident(&sel, cj->right_cols[k]);
        }
        select_tail(bn, &sel, bn->nlink);
        if (ok) {
            link_where(&a, "n.", cj->right_cols, cj->ncols, bn->param_types,
                       bn->range_link && !bn->through);
            ok = pg_sql_get("sql/docs_node_direct.sql", &tmpl, err);
            if (ok) {
                const char *kv[] = {"select", strip_comma(&sel), "table", buf_cstr(&tbl),
                                    "link",   buf_cstr(&a),      NULL};
                ok = pg_sql_render(tmpl, kv, &out, err);
            }
        }
    }
    if (ok) bn->sql = dip_strdup(buf_cstr(&out));
    buf_free(&out);
    buf_free(&sel);
    buf_free(&a);
    buf_free(&b);
    buf_free(&tbl);
    buf_free(&thr);
    return ok;
}

/* Prepares the node's statement and reads its output column types; when some output needs
 * the server's to_json, the statement is made again with to_json(expr) there. */
static bool node_prepare(BuildNode *bn, PgConn *c, DipError *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!node_sql(bn, c, err)) return false;
        PGresult *r;
        if (bn->through && attempt == 0) {
            r = PQprepare(c->conn, bn->link_stmt, bn->link_sql, 0, NULL);
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                pg_error_from_result(err, c, r, bn->node->path);
                PQclear(r);
                return false;
            }
            PQclear(r);
        }
        r = PQprepare(c->conn, bn->stmt, bn->sql, 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            pg_error_from_result(err, c, r, bn->node->path);
            PQclear(r);
            return false;
        }
        PQclear(r);
        r = PQdescribePrepared(c->conn, bn->stmt);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            pg_error_from_result(err, c, r, bn->node->path);
            PQclear(r);
            return false;
        }
        uint32_t *oids = dip_calloc((size_t)bn->nout + 1, sizeof *oids);
        for (int i = 0; i < bn->nout; i++)
            oids[i] = PQftype(r, bn->out_first + i);
        PQclear(r);
        bool *sj = dip_calloc((size_t)bn->nout + 1, sizeof *sj);
        bool ok = docs_types_lookup(c, oids, bn->nout, bn->types, sj, err);
        free(oids);
        bool again = false;
        for (int i = 0; ok && i < bn->nout; i++) {
            if (sj[i] && !bn->server_json[i]) {
                bn->server_json[i] = true;
                again = true;
            }
        }
        free(sj);
        if (!ok) return false;
        if (!again) return true;
        Buf dealloc;
        buf_init(&dealloc);
        buf_printf(&dealloc, "DEALLOCATE %s", bn->stmt);
        ok = pg_exec(c, buf_cstr(&dealloc), err);
        buf_free(&dealloc);
        if (!ok) return false;
        for (size_t ch = 0; ch < bn->nchildren; ch++)
            free(bn->child_cols[ch]);
        free(bn->child_cols);
        bn->child_cols = NULL;
    }
    return dip_error_set(err, DIP_ERR_INTERNAL, "%s: result types did not settle", bn->node->path);
}

/* Whether _meta shows a key column's values as numbers (Python ints and Decimals) or text. */
static bool meta_numeric(PgConn *c, const DocsTable *t, bool **out, DipError *err)
{
    char **types = NULL;
    if (!column_types(c, t, t->key, t->nkey, &types, err)) return false;
    *out = dip_calloc(t->nkey + 1, sizeof **out);
    for (size_t k = 0; k < t->nkey; k++) {
        (*out)[k] = !strcmp(types[k], "smallint") || !strcmp(types[k], "integer") ||
                    !strcmp(types[k], "bigint") || !strncmp(types[k], "numeric", 7);
        free(types[k]);
    }
    free(types);
    return true;
}

bool build_plan_prepare(BuildPlan *p, const DocsDocument *d, PgConn *c, bool by_keys, DipError *err)
{
    memset(p, 0, sizeof *p);
    p->doc = d;
    p->by_keys = by_keys;
    p->nnodes = d->nnodes;
    p->nodes = dip_calloc(d->nnodes, sizeof *p->nodes);
    for (size_t i = 0; i < d->nnodes; i++) {
        BuildNode *bn = &p->nodes[i];
        const DocsNode *n = d->nodes[i];
        bn->node = n;
        bn->by_keys = by_keys;
        bn->meta = true; /* keys are always selected: _meta is a render-time choice */
        bn->routing_col = -1;
        bn->scalar = n->variant == DOCS_VARIANT_SCALAR;
        bn->many = n->type == DOCS_REL_ONE_TO_MANY;
        bn->through = n->through_table != NULL;
        bn->first_only = bn->through && !bn->scalar && !bn->many && n->nchildren == 0;
        bn->out_keys = dip_calloc(n->ncolumns + 1, sizeof *bn->out_keys);
        bn->types = dip_calloc(n->ncolumns + 1, sizeof *bn->types);
        bn->server_json = dip_calloc(n->ncolumns + 1, sizeof *bn->server_json);
        Buf k;
        buf_init(&k);
        for (size_t j = 0; j < n->ncolumns; j++) {
            buf_clear(&k);
            json_key(&k, n->columns[j].output);
            bn->out_keys[j] = dip_strdup(buf_cstr(&k));
        }
        buf_clear(&k);
        json_key(&k, n->label);
        bn->label_key = dip_strdup(buf_cstr(&k));
        buf_free(&k);
        dip_snprintf(bn->stmt, sizeof bn->stmt, "dip_docs_%zu", i);
        dip_snprintf(bn->link_stmt, sizeof bn->link_stmt, "dip_docs_link_%zu", i);
        bn->children = dip_calloc(n->nchildren + 1, sizeof *bn->children);
        bn->nchildren = n->nchildren;
        for (size_t c2 = 0; c2 < n->nchildren; c2++)
            bn->children[c2] = &p->nodes[n->children[c2]->id];
        if (n->parent) bn->parent = &p->nodes[n->parent->id];
        if (n->nchildren && bn->scalar) {
            build_plan_free(p);
            return dip_error_set(err, DIP_ERR_CONFIG, "%s: a scalar node cannot have children",
                                 n->path);
        }
    }
    BuildNode *root = &p->nodes[0];
    if (d->routing) {
        for (size_t j = 0; j < root->node->ncolumns; j++)
            if (strcmp(root->node->columns[j].output, d->routing) == 0) root->routing_col = (int)j;
        if (root->routing_col < 0) {
            build_plan_free(p);
            return dip_error_set(err, DIP_ERR_CONFIG,
                                 "%s.routing: \"%s\" is not a column of the root node", d->path,
                                 d->routing);
        }
    }
    for (size_t i = 0; i < p->nnodes; i++) {
        if (!node_prepare(&p->nodes[i], c, err)) {
            build_plan_free(p);
            return false;
        }
    }
    for (size_t i = 0; i < p->nnodes; i++) {
        BuildNode *bn = &p->nodes[i];
        if (!meta_numeric(c, &bn->node->rel, &bn->key_numeric, err) ||
            (bn->through && !meta_numeric(c, &bn->node->through, &bn->link_key_numeric, err))) {
            build_plan_free(p);
            return false;
        }
    }
    /* Python's str() of the key values makes PGSync's _id: only bool differs from the text */
    root->id_is_bool = dip_calloc(root->node->nid_key + 1, sizeof(bool));
    for (size_t i = 0; i < root->node->nid_key; i++)
        for (size_t j = 0; j < root->node->rel.nkey; j++)
            if (strcmp(root->node->rel.key[j], root->node->id_key[i]) == 0)
                root->id_is_bool[i] = strcmp(root->key_types[j], "boolean") == 0;
    return true;
}

/* Frees a NULL-terminated string vector. The count is not taken from the DocsNode: an ALTER
 * resolves the document again and may change it while a builder made from it is still open. */
static void free_strv(char **v)
{
    if (!v) return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

void build_plan_free(BuildPlan *p)
{
    for (size_t i = 0; i < p->nnodes; i++) {
        BuildNode *bn = &p->nodes[i];
        free_strv(bn->out_keys);
        free(bn->types);
        free(bn->server_json);
        free(bn->label_key);
        if (bn->child_cols)
            for (size_t c = 0; c < bn->nchildren; c++)
                free(bn->child_cols[c]);
        free(bn->child_cols);
        free(bn->children);
        free_strv(bn->param_types);
        free_strv(bn->link_types);
        free(bn->link_sql);
        free_strv(bn->key_types);
        free(bn->id_is_bool);
        free(bn->key_numeric);
        free(bn->link_key_numeric);
        free(bn->sql);
    }
    free(p->nodes);
    memset(p, 0, sizeof *p);
}
