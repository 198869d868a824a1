/*
 * validate.c: docs_schema_resolve(), a schema.json document checked against PostgreSQL's
 * catalog (sql/docs_catalog_*.sql), and the plan `dip sync-es --validate` prints.
 *
 * Per node, in tree order:
 *   - the schema and the relation exist: a table ('r', 'p'), a view ('v'), a materialized
 *     view ('m') or a foreign table ('f');
 *   - every column exists; a JSON path column's table column is json or jsonb; "columns"
 *     absent or empty means every user column in table order (PGSync drops ctid, oid, xmin);
 *   - the key: the catalog's primary key; primary_key when the relation has none (views,
 *     materialized views, tables without one). With both, the catalog wins as in PGSync (a
 *     different primary_key is logged). No key at all is an error. Base tables must exist
 *     and have a primary key (PGSync's validate());
 *   - the join to the parent:
 *       relationship.foreign_key given: a direct join pairs parent.parent[i] with
 *         child.child[i]; with a through table, parent lists the through table's columns
 *         toward the parent and child those toward the child, each side joined to the
 *         columns a catalog foreign key on exactly those columns references, or else to the
 *         other table's key;
 *       otherwise the catalog's foreign keys between the two tables, in either direction:
 *         exactly one must exist (none, or two and no foreign_key, are errors naming the
 *         constraints). A self-referencing table (parent and child the same table) joins as
 *         an adjacency list, the child row referencing the parent row (PGSync's "node"
 *         example); the other direction needs foreign_key. A through table needs one
 *         foreign key to each side. Views have no foreign keys: joins to a view need
 *         foreign_key.
 *   - a scalar child has exactly one column (PGSync silently takes the first);
 *   - labels: a child's label must not be a field of its parent's row (the object would
 *     overwrite the column or the column the object);
 *   - routing names a field of the root document.
 *
 * REPLICA IDENTITY FULL rule (what the change stream needs to map a changed row to the
 * documents it belongs to, with only what pgoutput sends): with the default identity an
 * UPDATE or DELETE carries the old row's primary key only. A row of table T is mapped to its
 * parent through T's join columns (the child side of a direct join, the parent side of the
 * through table's join). If those columns are not all within T's primary key, a DELETE (or
 * an UPDATE that moves the row to another parent) would not say which parent lost it, so T
 * needs FULL. Also FULL: a published table without a primary key (PostgreSQL refuses UPDATE
 * and DELETE on it otherwise) and the base tables of a view (dip cannot see which columns the
 * view joins on). Tables already FULL are left alone; nothing else is changed.
 */
#include "docs/docs_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_OID_JSON 114u
#define PG_OID_JSONB 3802u

typedef struct RelCol {
    char *name;
    uint32_t typoid;
    char *typname;
    int attnum;
} RelCol;

typedef struct Rel {
    bool schema_exists;
    bool exists;
    uint32_t oid;
    char relkind;
    char replident;
    RelCol *cols;
    size_t ncols;
    char **pk;
    size_t npk;
} Rel;

static void rel_free(Rel *r)
{
    for (size_t i = 0; i < r->ncols; i++) {
        free(r->cols[i].name);
        free(r->cols[i].typname);
    }
    free(r->cols);
    for (size_t i = 0; i < r->npk; i++)
        free(r->pk[i]);
    free(r->pk);
    memset(r, 0, sizeof *r);
}

static const RelCol *rel_col(const Rel *r, const char *name)
{
    for (size_t i = 0; i < r->ncols; i++)
        if (strcmp(r->cols[i].name, name) == 0) return &r->cols[i];
    return NULL;
}

static bool query_file(PgConn *c, const char *file, int n, const char *const *params,
                       PGresult **res, DipError *err)
{
    const char *sql;
    if (!pg_sql_get(file, &sql, err)) return false;
    return pg_query(c, sql, n, params, res, err);
}

static bool rel_load(PgConn *c, const char *schema, const char *name, Rel *r, DipError *err)
{
    memset(r, 0, sizeof *r);
    PGresult *res = NULL;
    const char *p[2] = {schema, name};
    if (!query_file(c, "sql/docs_catalog_relation.sql", 2, p, &res, err)) return false;
    r->schema_exists = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    r->exists = r->schema_exists && !PQgetisnull(res, 0, 1);
    if (r->exists) {
        r->oid = (uint32_t)strtoul(PQgetvalue(res, 0, 1), NULL, 10);
        r->relkind = PQgetvalue(res, 0, 2)[0];
        r->replident = PQgetvalue(res, 0, 3)[0];
    }
    PQclear(res);
    if (!r->exists) return true;
    char oid[16];
    dip_snprintf(oid, sizeof oid, "%u", r->oid);
    const char *po[1] = {oid};
    if (!query_file(c, "sql/docs_catalog_columns.sql", 1, po, &res, err)) return false;
    int n = PQntuples(res);
    r->cols = dip_calloc((size_t)n + 1, sizeof(RelCol));
    for (int i = 0; i < n; i++) {
        RelCol *col = &r->cols[r->ncols++];
        col->name = dip_strdup(PQgetvalue(res, i, 0));
        col->typoid = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
        col->typname = dip_strdup(PQgetvalue(res, i, 2));
        col->attnum = (int)strtol(PQgetvalue(res, i, 3), NULL, 10);
    }
    PQclear(res);
    if (!query_file(c, "sql/docs_catalog_primary_key.sql", 1, po, &res, err)) return false;
    n = PQntuples(res);
    r->pk = dip_calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++)
        r->pk[r->npk++] = dip_strdup(PQgetvalue(res, i, 0));
    PQclear(res);
    return true;
}

/* ---------------------------------------------------------------- messages */

typedef struct Resolve {
    DocsDocument *d;
    PgConn *c;
    DipError *err;
} Resolve;

static bool verr(Resolve *rv, const DocsNode *n, const char *where, const char *fmt, ...)
    DIP_PRINTF(4, 5);
static bool verr(Resolve *rv, const DocsNode *n, const char *where, const char *fmt, ...)
{
    char what[1600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return dip_error_set(rv->err, DIP_ERR_CONFIG, "%s: %s%s%s: %s", rv->d->file,
                         n ? n->path : rv->d->path, where && *where ? "." : "", where ? where : "",
                         what);
}

/* A warning kept in d->warnings (for the plan) and logged. */
static void vwarn(Resolve *rv, const DocsNode *n, const char *where, const char *fmt, ...)
    DIP_PRINTF(4, 5);
static void vwarn(Resolve *rv, const DocsNode *n, const char *where, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    Buf b;
    buf_init(&b);
    if (rv->d->warnings) buf_append_str(&b, rv->d->warnings);
    buf_printf(&b, "%s: %s.%s: %s\n", rv->d->file, n->path, where, what);
    free(rv->d->warnings);
    rv->d->warnings = dip_strdup(buf_cstr(&b));
    buf_free(&b);
    dip_warn("%s: %s.%s: %s", rv->d->file, n->path, where, what);
}

static const char *relkind_name(char k)
{
    switch (k) {
    case 'r':
        return "table";
    case 'p':
        return "partitioned table";
    case 'v':
        return "view";
    case 'm':
        return "materialized view";
    case 'f':
        return "foreign table";
    case 'S':
        return "sequence";
    case 'i':
    case 'I':
        return "index";
    case 'c':
        return "composite type";
    case 't':
        return "TOAST table";
    }
    return "relation";
}

static bool is_table(char k)
{
    return k == 'r' || k == 'p';
}

static void list_cols(const Rel *r, Buf *out)
{
    for (size_t i = 0; i < r->ncols && i < 40; i++)
        buf_printf(out, "%s%s", i ? ", " : "", r->cols[i].name);
    if (r->ncols > 40) buf_append_str(out, ", ...");
}

/* A relation that must exist (and be a table, view, ...). */
static bool rel_require(Resolve *rv, const DocsNode *n, const char *where, const char *schema,
                        const char *name, Rel *r)
{
    if (!rel_load(rv->c, schema, name, r, rv->err)) return false;
    if (!r->schema_exists)
        return verr(rv, n, where, "schema \"%s\" does not exist in database \"%s\"", schema,
                    rv->c->dbname);
    if (!r->exists)
        return verr(rv, n, where, "relation %s.%s does not exist in database \"%s\"", schema, name,
                    rv->c->dbname);
    if (!(is_table(r->relkind) || r->relkind == 'v' || r->relkind == 'm' || r->relkind == 'f'))
        return verr(rv, n, where, "%s.%s is a %s: expected a table, a view or a materialized view",
                    schema, name, relkind_name(r->relkind));
    return true;
}

static void table_fill(DocsTable *t, const char *schema, const char *name, const Rel *r)
{
    t->schema = dip_strdup(schema);
    t->name = dip_strdup(name);
    t->oid = r->oid;
    t->relkind = r->relkind;
    t->replident = r->replident;
}

static char **names_dup(char *const *v, size_t n)
{
    char **out = dip_calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        out[i] = dip_strdup(v[i]);
    return out;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool names_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0) return false;
    return true;
}

/* Every name in `cols` is a column of r; the first missing one is reported at where[i]. */
static bool cols_exist(Resolve *rv, const DocsNode *n, const char *where, const Rel *r,
                       const char *relname, char *const *cols, size_t ncols)
{
    for (size_t i = 0; i < ncols; i++) {
        if (rel_col(r, cols[i])) continue;
        char at[128];
        dip_snprintf(at, sizeof at, "%s[%zu]", where, i);
        Buf have;
        buf_init(&have);
        list_cols(r, &have);
        bool ret = verr(rv, n, at, "column \"%s\" does not exist in %s (it has: %s)", cols[i],
                        relname, buf_cstr(&have));
        buf_free(&have);
        return ret;
    }
    return true;
}

/* ---------------------------------------------------------------- foreign keys */

typedef struct Fk {
    char *name;
    uint32_t conrelid; /* the referencing table */
    char **from;       /* referencing columns */
    char **to;         /* referenced columns */
    size_t ncols;
} Fk;

static void fks_free(Fk *fks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(fks[i].name);
        for (size_t j = 0; j < fks[i].ncols; j++) {
            free(fks[i].from[j]);
            free(fks[i].to[j]);
        }
        free(fks[i].from);
        free(fks[i].to);
    }
    free(fks);
}

static bool fks_load(PgConn *c, uint32_t a, uint32_t b, Fk **out, size_t *nout, DipError *err)
{
    char sa[16], sb[16];
    dip_snprintf(sa, sizeof sa, "%u", a);
    dip_snprintf(sb, sizeof sb, "%u", b);
    const char *p[2] = {sa, sb};
    PGresult *res = NULL;
    *out = NULL;
    *nout = 0;
    if (!query_file(c, "sql/docs_catalog_foreign_keys.sql", 2, p, &res, err)) return false;
    int rows = PQntuples(res);
    Fk *fks = dip_calloc((size_t)rows + 1, sizeof(Fk));
    size_t n = 0;
    for (int i = 0; i < rows; i++) {
        const char *name = PQgetvalue(res, i, 0);
        uint32_t rel = (uint32_t)strtoul(PQgetvalue(res, i, 1), NULL, 10);
        if (n == 0 || strcmp(fks[n - 1].name, name) != 0 || fks[n - 1].conrelid != rel) {
            fks[n].name = dip_strdup(name);
            fks[n].conrelid = rel;
            fks[n].from = dip_calloc((size_t)rows + 1, sizeof(char *));
            fks[n].to = dip_calloc((size_t)rows + 1, sizeof(char *));
            n++;
        }
        Fk *f = &fks[n - 1];
        f->from[f->ncols] = dip_strdup(PQgetvalue(res, i, 3));
        f->to[f->ncols] = dip_strdup(PQgetvalue(res, i, 4));
        f->ncols++;
    }
    PQclear(res);
    *out = fks;
    *nout = n;
    return true;
}

static void join_set(DocsJoin *j, char *const *left, char *const *right, size_t n,
                     const char *constraint)
{
    j->left_cols = names_dup(left, n);
    j->right_cols = names_dup(right, n);
    j->ncols = n;
    j->constraint = constraint ? dip_strdup(constraint) : NULL;
}

/* The join between `a` (left side) and `b` (right side) from the catalog's one foreign key
 * between them. self: a and b are the same table (the right row references the left one). */
static bool join_from_catalog(Resolve *rv, const DocsNode *n, const char *where, const Rel *a,
                              const char *aname, const Rel *b, const char *bname, DocsJoin *j,
                              bool *fk_on_left)
{
    if (!is_table(a->relkind) || !is_table(b->relkind))
        return verr(rv, n, where,
                    "%s is a %s and has no foreign keys: name the join with "
                    "relationship.foreign_key {\"parent\": [...], \"child\": [...]}",
                    is_table(a->relkind) ? bname : aname,
                    relkind_name(is_table(a->relkind) ? b->relkind : a->relkind));
    Fk *fks = NULL;
    size_t nfk = 0;
    if (!fks_load(rv->c, a->oid, b->oid, &fks, &nfk, rv->err)) return false;
    bool ok = true;
    if (nfk == 0) {
        ok = verr(rv, n, where,
                  "no foreign key between %s and %s (either direction): add one, or name the "
                  "join with relationship.foreign_key",
                  aname, bname);
    } else if (nfk > 1) {
        Buf names;
        buf_init(&names);
        for (size_t i = 0; i < nfk; i++)
            buf_printf(&names, "%s%s", i ? ", " : "", fks[i].name);
        ok = verr(rv, n, where,
                  "%zu foreign keys between %s and %s (%s): choose one with "
                  "relationship.foreign_key",
                  nfk, aname, bname, buf_cstr(&names));
        buf_free(&names);
    } else if (a->oid == b->oid) {
        /* self-reference: the right (child) row references the left (parent) row */
        join_set(j, fks[0].to, fks[0].from, fks[0].ncols, fks[0].name);
        *fk_on_left = false;
    } else if (fks[0].conrelid == b->oid) {
        join_set(j, fks[0].to, fks[0].from, fks[0].ncols, fks[0].name);
        *fk_on_left = false;
    } else {
        join_set(j, fks[0].from, fks[0].to, fks[0].ncols, fks[0].name);
        *fk_on_left = true;
    }
    fks_free(fks, nfk);
    return ok;
}

/* Through table `t` with foreign_key columns `tcols` toward `other`: the other side's columns
 * from a catalog foreign key on exactly tcols (either direction), or else other's key. */
static bool join_through_named(Resolve *rv, const DocsNode *n, const char *where, const Rel *t,
                               const Rel *other, const char *othername, char *const *okey,
                               size_t nokey, char *const *tcols, size_t ntcols, char ***ocols)
{
    Fk *fks = NULL;
    size_t nfk = 0;
    *ocols = NULL;
    if (is_table(t->relkind) && is_table(other->relkind) &&
        !fks_load(rv->c, t->oid, other->oid, &fks, &nfk, rv->err))
        return false;
    for (size_t i = 0; i < nfk && !*ocols; i++) {
        if (fks[i].conrelid == t->oid && names_equal(fks[i].from, fks[i].ncols, tcols, ntcols))
            *ocols = names_dup(fks[i].to, ntcols);
        else if (fks[i].conrelid != t->oid && names_equal(fks[i].to, fks[i].ncols, tcols, ntcols))
            *ocols = names_dup(fks[i].from, ntcols);
    }
    fks_free(fks, nfk);
    if (*ocols) return true;
    if (nokey != ntcols)
        return verr(rv, n, where,
                    "%zu column(s) on the through table for the %zu key column(s) of %s, and no "
                    "foreign key on exactly those columns",
                    ntcols, nokey, othername);
    *ocols = names_dup(okey, nokey);
    return true;
}

/* ---------------------------------------------------------------- per node */

static bool node_columns(Resolve *rv, DocsNode *n, const Rel *r)
{
    char relname[300];
    dip_snprintf(relname, sizeof relname, "%s.%s", n->schema, n->table);
    if (n->columns_all) {
        /* a second resolve replaces the columns the first one listed */
        for (size_t i = 0; i < n->ncolumns; i++)
            docs_column_free(&n->columns[i]);
        free(n->columns);
        n->columns = dip_calloc(r->ncols + 1, sizeof(DocsColumn));
        n->ncolumns = 0;
        for (size_t i = 0; i < r->ncols; i++) {
            DocsColumn *c = &n->columns[n->ncolumns++];
            c->spec = dip_strdup(r->cols[i].name);
            c->name = dip_strdup(r->cols[i].name);
            c->output = dip_strdup(r->cols[i].name);
        }
    }
    /* PGSync takes a scalar node's first column and leaves a TODO to refuse more */
    if (n->parent && n->variant == DOCS_VARIANT_SCALAR && n->ncolumns != 1)
        return verr(rv, n, "columns",
                    "a scalar node's value is one column: name it in \"columns\" (%s has %zu)",
                    relname, n->ncolumns);
    for (size_t i = 0; i < n->ncolumns; i++) {
        DocsColumn *c = &n->columns[i];
        const RelCol *rc = rel_col(r, c->name);
        char at[64];
        dip_snprintf(at, sizeof at, "columns[%zu]", i);
        if (!rc) {
            Buf have;
            buf_init(&have);
            list_cols(r, &have);
            bool ret = verr(rv, n, at, "column \"%s\" does not exist in %s (it has: %s)", c->name,
                            relname, buf_cstr(&have));
            buf_free(&have);
            return ret;
        }
        if (c->nsteps && rc->typoid != PG_OID_JSON && rc->typoid != PG_OID_JSONB)
            return verr(rv, n, at,
                        "\"%s\" applies JSON operators to column \"%s\" of type %s: expected "
                        "json or jsonb",
                        c->spec, c->name, rc->typname);
        free(c->type_name);
        c->type_oid = rc->typoid;
        c->type_name = dip_strdup(rc->typname);
        c->attnum = rc->attnum;
    }
    return true;
}

static bool node_key(Resolve *rv, DocsNode *n, const Rel *r)
{
    char relname[300];
    dip_snprintf(relname, sizeof relname, "%s.%s", n->schema, n->table);
    if (r->npk) {
        if (n->nprimary_key && !names_equal(r->pk, r->npk, n->primary_key, n->nprimary_key))
            vwarn(rv, n, "primary_key",
                  "%s has a primary key in the catalog; it is used and primary_key is ignored, "
                  "as PGSync does",
                  relname);
        n->rel.key = names_dup(r->pk, r->npk);
        n->rel.nkey = r->npk;
    } else if (n->nprimary_key) {
        if (!cols_exist(rv, n, "primary_key", r, relname, n->primary_key, n->nprimary_key))
            return false;
        n->rel.key = names_dup(n->primary_key, n->nprimary_key);
        n->rel.nkey = n->nprimary_key;
    } else {
        return verr(rv, n, "table",
                    "%s %s has no primary key: add one, or name its key columns with "
                    "\"primary_key\"",
                    relkind_name(r->relkind), relname);
    }
    n->id_key = names_dup(n->rel.key, n->rel.nkey);
    n->nid_key = n->rel.nkey;
    qsort(n->id_key, n->nid_key, sizeof(char *), cmp_str);
    return true;
}

static void split_qualified(const char *q, const char *def_schema, char **schema, char **name)
{
    const char *dot = strchr(q, '.');
    if (dot && dot != q && dot[1]) {
        *schema = dip_strndup(q, (size_t)(dot - q));
        *name = dip_strdup(dot + 1);
    } else {
        *schema = dip_strdup(def_schema);
        *name = dip_strdup(q);
    }
}

static bool node_bases(Resolve *rv, DocsNode *n)
{
    if (!n->nbase_tables) return true;
    n->bases = dip_calloc(n->nbase_tables, sizeof(DocsTable));
    for (size_t i = 0; i < n->nbase_tables; i++) {
        char at[64];
        dip_snprintf(at, sizeof at, "base_tables[%zu]", i);
        char *schema, *name;
        split_qualified(n->base_tables[i], n->schema, &schema, &name);
        Rel r;
        bool ok = rel_require(rv, n, at, schema, name, &r);
        if (ok && !is_table(r.relkind))
            ok = verr(rv, n, at, "%s.%s is a %s: base tables are tables", schema, name,
                      relkind_name(r.relkind));
        if (ok && !r.npk) ok = verr(rv, n, at, "no primary key for base table %s.%s", schema, name);
        if (ok) {
            table_fill(&n->bases[i], schema, name, &r);
            n->bases[i].key = names_dup(r.pk, r.npk);
            n->bases[i].nkey = r.npk;
        }
        rel_free(&r);
        free(schema);
        free(name);
        if (!ok) return false;
    }
    return true;
}

static bool node_join(Resolve *rv, DocsNode *n, const Rel *r, const Rel *pr)
{
    DocsNode *p = n->parent;
    char pname[300], cname[300];
    dip_snprintf(pname, sizeof pname, "%s.%s", p->schema, p->table);
    dip_snprintf(cname, sizeof cname, "%s.%s", n->schema, n->table);
    if (!n->through_table) {
        if (n->has_foreign_key) {
            if (!cols_exist(rv, n, "relationship.foreign_key.parent", pr, pname,
                            n->foreign_key.parent, n->foreign_key.nparent) ||
                !cols_exist(rv, n, "relationship.foreign_key.child", r, cname, n->foreign_key.child,
                            n->foreign_key.nchild))
                return false;
            join_set(&n->parent_join, n->foreign_key.parent, n->foreign_key.child,
                     n->foreign_key.nparent, NULL);
            return true;
        }
        return join_from_catalog(rv, n, "relationship", pr, pname, r, cname, &n->parent_join,
                                 &n->fk_on_parent);
    }
    char tname[300];
    dip_snprintf(tname, sizeof tname, "%s.%s", n->through_schema, n->through_table);
    Rel t;
    if (!rel_require(rv, n, "relationship.through_tables[0]", n->through_schema, n->through_table,
                     &t)) {
        rel_free(&t);
        return false;
    }
    table_fill(&n->through, n->through_schema, n->through_table, &t);
    n->through.key = names_dup(t.pk, t.npk);
    n->through.nkey = t.npk;
    bool ok = true;
    if (n->has_foreign_key) {
        char **pcols = NULL, **ccols = NULL;
        ok = cols_exist(rv, n, "relationship.foreign_key.parent", &t, tname, n->foreign_key.parent,
                        n->foreign_key.nparent) &&
             cols_exist(rv, n, "relationship.foreign_key.child", &t, tname, n->foreign_key.child,
                        n->foreign_key.nchild) &&
             join_through_named(rv, n, "relationship.foreign_key.parent", &t, pr, pname, p->rel.key,
                                p->rel.nkey, n->foreign_key.parent, n->foreign_key.nparent,
                                &pcols) &&
             join_through_named(rv, n, "relationship.foreign_key.child", &t, r, cname, n->rel.key,
                                n->rel.nkey, n->foreign_key.child, n->foreign_key.nchild, &ccols);
        if (ok) {
            join_set(&n->parent_join, pcols, n->foreign_key.parent, n->foreign_key.nparent, NULL);
            join_set(&n->child_join, n->foreign_key.child, ccols, n->foreign_key.nchild, NULL);
        }
        for (size_t i = 0; pcols && i < n->foreign_key.nparent; i++)
            free(pcols[i]);
        for (size_t i = 0; ccols && i < n->foreign_key.nchild; i++)
            free(ccols[i]);
        free(pcols);
        free(ccols);
    } else {
        bool on_left = false;
        ok = join_from_catalog(rv, n, "relationship.through_tables[0]", pr, pname, &t, tname,
                               &n->parent_join, &on_left) &&
             join_from_catalog(rv, n, "relationship.through_tables[0]", &t, tname, r, cname,
                               &n->child_join, &on_left);
    }
    rel_free(&t);
    return ok;
}

static bool subset(char *const *cols, size_t n, char *const *key, size_t nkey)
{
    for (size_t i = 0; i < n; i++) {
        bool found = false;
        for (size_t j = 0; j < nkey && !found; j++)
            found = strcmp(cols[i], key[j]) == 0;
        if (!found) return false;
    }
    return true;
}

static void need_full(DocsTable *t, const char *fmt, ...) DIP_PRINTF(2, 3);
static void need_full(DocsTable *t, const char *fmt, ...)
{
    if (!is_table(t->relkind) || t->needs_full) return;
    t->needs_full = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->full_reason, sizeof t->full_reason, fmt, ap);
    va_end(ap);
}

static void cols_text(char *const *cols, size_t n, char *out, size_t cap)
{
    Buf b;
    buf_init(&b);
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%s%s", i ? ", " : "", cols[i]);
    dip_strlcpy(out, buf_cstr(&b), cap);
    buf_free(&b);
}

static void replica_identity_rule(DocsNode *n, bool catalog_pk)
{
    char cols[160];
    if (!catalog_pk && is_table(n->rel.relkind) && n->parent)
        need_full(&n->rel, "no primary key in the catalog: old rows carry no key otherwise");
    if (!catalog_pk && is_table(n->rel.relkind) && !n->parent)
        need_full(&n->rel, "no primary key in the catalog: PostgreSQL refuses UPDATE and "
                           "DELETE on a published table without a replica identity");
    for (size_t i = 0; i < n->nbase_tables && n->bases; i++)
        need_full(&n->bases[i],
                  "base table of view %s.%s: its changes are mapped to the view's "
                  "rows by old values of any column",
                  n->schema, n->table);
    if (!n->parent) return;
    if (n->through_table) {
        if (!n->through.nkey)
            need_full(&n->through, "through table without a primary key");
        else if (!subset(n->parent_join.right_cols, n->parent_join.ncols, n->through.key,
                         n->through.nkey)) {
            cols_text(n->parent_join.right_cols, n->parent_join.ncols, cols, sizeof cols);
            need_full(&n->through, "its columns (%s) toward %s are not all in its primary key",
                      cols, n->parent->table);
        }
        if (!subset(n->child_join.right_cols, n->child_join.ncols, n->rel.key, n->rel.nkey)) {
            cols_text(n->child_join.right_cols, n->child_join.ncols, cols, sizeof cols);
            need_full(&n->rel, "its columns (%s) toward through table %s are not all in its key",
                      cols, n->through.name);
        }
    } else if (!subset(n->parent_join.right_cols, n->parent_join.ncols, n->rel.key, n->rel.nkey)) {
        cols_text(n->parent_join.right_cols, n->parent_join.ncols, cols, sizeof cols);
        need_full(&n->rel, "its columns (%s) toward parent %s are not all in its primary key", cols,
                  n->parent->table);
    }
}

static bool node_output_has(const DocsNode *n, const char *field)
{
    for (size_t i = 0; i < n->ncolumns; i++)
        if (strcmp(n->columns[i].output, field) == 0) return true;
    return false;
}

static bool node_has_child(const DocsNode *n, const char *label)
{
    for (size_t i = 0; i < n->nchildren; i++)
        if (strcmp(n->children[i]->label, label) == 0) return true;
    return false;
}

/* A field of the node's object after its renames and concats. */
static bool node_has_final_field(const DocsNode *n, const char *f)
{
    const DocsTransform *t = &n->transform;
    if (t->rename) {
        const char *k;
        json_t *v;
        json_object_foreach(t->rename, k, v)
        {
            if (json_is_string(v) && strcmp(json_string_value(v), f) == 0) return true;
        }
    }
    for (size_t i = 0; t->concat && json_is_array(t->concat) && i < json_array_size(t->concat);
         i++) {
        json_t *dest = json_object_get(json_array_get(t->concat, i), "destination");
        if (json_is_string(dest) && strcmp(json_string_value(dest), f) == 0) return true;
    }
    return node_output_has(n, f) || node_has_child(n, f);
}

/* Names in a node's transforms that match nothing are ignored (PGSync ignores them without a
 * word); dip says so, as they are mostly typos. Concat columns are left alone: a name that
 * is no field is a literal on purpose. */
static void check_transform_names(Resolve *rv, const DocsNode *n)
{
    const DocsTransform *t = &n->transform;
    bool scalar = n->parent && n->variant == DOCS_VARIANT_SCALAR;
    const char *k;
    json_t *v;
    char at[300];
    if (t->rename) json_object_foreach(t->rename, k, v)
        {
            bool known = json_is_object(v) ? node_has_child(n, k)
                                           : node_output_has(n, k) || node_has_child(n, k);
            dip_snprintf(at, sizeof at, "transform.rename.%s", k);
            if (!known) vwarn(rv, n, at, "\"%s\" is no field of %s: ignored", k, n->label);
        }
    if (t->replace) json_object_foreach(t->replace, k, v)
        {
            bool known = node_output_has(n, k) || node_has_child(n, k);
            dip_snprintf(at, sizeof at, "transform.replace.%s", k);
            if (!known) vwarn(rv, n, at, "\"%s\" is no field of %s: ignored", k, n->label);
        }
    for (size_t i = 0; i < t->nmove; i++) {
        const char *col = t->move[i].column;
        bool known = node_has_final_field(n, col) || node_output_has(n, col);
        if (t->nmove > 1)
            dip_snprintf(at, sizeof at, "transform.move[%zu].column", i);
        else
            dip_snprintf(at, sizeof at, "transform.move.column");
        if (!known) vwarn(rv, n, at, "\"%s\" is no field of %s: nothing moves", col, n->label);
    }
    /* a plugin may add the field (PGSync's geo example maps fields its plugins make) */
    if (t->mapping && !scalar && rv->d->nplugins == 0) json_object_foreach(t->mapping, k, v)
        {
            bool known = node_has_final_field(n, k) || node_output_has(n, k);
            dip_snprintf(at, sizeof at, "transform.mapping.%s", k);
            if (!known)
                vwarn(rv, n, at,
                      "\"%s\" is no field of %s and no plugin could add it: mapped, "
                      "never filled",
                      k, n->label);
        }
}

static bool resolve_node(Resolve *rv, DocsNode *n, Rel *parent_rel)
{
    Rel r;
    docs_node_clear_resolved(n);
    bool ok = rel_require(rv, n, "table", n->schema, n->table, &r);
    if (ok) {
        table_fill(&n->rel, n->schema, n->table, &r);
        ok = node_columns(rv, n, &r) && node_key(rv, n, &r) && node_bases(rv, n);
    }
    if (ok && n->parent) ok = node_join(rv, n, &r, parent_rel);
    if (ok) replica_identity_rule(n, r.npk > 0);
    if (ok) check_transform_names(rv, n);
    for (size_t i = 0; ok && i < n->nchildren; i++) {
        const DocsNode *c = n->children[i];
        if (n->variant == DOCS_VARIANT_OBJECT && node_output_has(n, c->label)) {
            char at[64];
            dip_snprintf(at, sizeof at, "children[%zu].label", i);
            ok = verr(rv, n, at,
                      "\"%s\" is also a column of %s.%s: the child object and the column would "
                      "share one field (choose another label)",
                      c->label, n->schema, n->table);
        }
    }
    for (size_t i = 0; ok && i < n->nchildren; i++)
        ok = resolve_node(rv, n->children[i], &r);
    rel_free(&r);
    return ok;
}

/* The root document's field names after the root's renames and concats (routing check). */
static bool root_has_field(const DocsNode *root, const char *field)
{
    const DocsTransform *t = &root->transform;
    bool renamed_away = false;
    if (t->rename) {
        const char *k;
        json_t *v;
        json_object_foreach(t->rename, k, v)
        {
            if (json_is_string(v) && strcmp(json_string_value(v), field) == 0) return true;
            if (strcmp(k, field) == 0 && !json_is_object(v)) renamed_away = true;
        }
    }
    if (t->concat && json_is_array(t->concat))
        for (size_t i = 0; i < json_array_size(t->concat); i++) {
            json_t *dest = json_object_get(json_array_get(t->concat, i), "destination");
            if (json_is_string(dest) && strcmp(json_string_value(dest), field) == 0) return true;
        }
    if (renamed_away) return false;
    if (node_output_has(root, field)) return true;
    for (size_t i = 0; i < root->nchildren; i++)
        if (strcmp(root->children[i]->label, field) == 0) return true;
    return false;
}

/* One table may back several nodes (or be a node and a through table): what one use needs,
 * every copy says, so the plan and bootstrap see it whichever copy they read. */
static void unify_full(DocsDocument *d)
{
    size_t cap = 1;
    for (size_t i = 0; i < d->nnodes; i++)
        cap += 2 + d->nodes[i]->nbase_tables;
    DocsTable **all = dip_calloc(cap, sizeof(DocsTable *));
    size_t n = 0;
    for (size_t i = 0; i < d->nnodes; i++) {
        DocsNode *nd = d->nodes[i];
        all[n++] = &nd->rel;
        if (nd->through_table) all[n++] = &nd->through;
        for (size_t j = 0; nd->bases && j < nd->nbase_tables; j++)
            all[n++] = &nd->bases[j];
    }
    for (size_t i = 0; i < n; i++) {
        if (!all[i]->needs_full) continue;
        for (size_t j = 0; j < n; j++)
            if (all[j]->oid == all[i]->oid && !all[j]->needs_full) {
                all[j]->needs_full = true;
                dip_strlcpy(all[j]->full_reason, all[i]->full_reason, sizeof all[j]->full_reason);
            }
    }
    free(all);
}

bool docs_schema_resolve(DocsDocument *d, PgConn *c, DipError *err)
{
    Resolve rv = {.d = d, .c = c, .err = err};
    d->resolved = false;
    free(d->warnings);
    d->warnings = NULL;
    if (!resolve_node(&rv, d->root, NULL)) return false;
    unify_full(d);
    if (d->routing && !root_has_field(d->root, d->routing))
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "%s: %s.routing: \"%s\" is not a field of the root document (its "
                             "columns after rename and concat)",
                             d->file, d->path, d->routing);
    d->resolved = true;
    return true;
}

/* ---------------------------------------------------------------- the plan */

static void add_table(const DocsTable **list, size_t *n, const DocsTable *t)
{
    if (!t->name || !is_table(t->relkind)) return;
    for (size_t i = 0; i < *n; i++)
        if (list[i]->oid == t->oid) return;
    list[(*n)++] = t;
}

size_t docs_schema_publication_tables(const DocsDocument *d, const DocsTable ***out)
{
    size_t cap = 1;
    for (size_t i = 0; i < d->nnodes; i++)
        cap += 2 + d->nodes[i]->nbase_tables;
    const DocsTable **list = dip_calloc(cap, sizeof(DocsTable *));
    size_t n = 0;
    for (size_t i = 0; i < d->nnodes; i++) {
        const DocsNode *nd = d->nodes[i];
        add_table(list, &n, &nd->rel);
        if (nd->through_table) add_table(list, &n, &nd->through);
        for (size_t j = 0; nd->bases && j < nd->nbase_tables; j++)
            add_table(list, &n, &nd->bases[j]);
    }
    *out = list;
    return n;
}

static void plan_cols(Buf *out, char *const *cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_printf(out, "%s%s", i ? ", " : "", cols[i]);
}

static void plan_join(Buf *out, const char *lt, const char *rt, const DocsJoin *j)
{
    for (size_t i = 0; i < j->ncols; i++)
        buf_printf(out, "%s%s.%s = %s.%s", i ? " AND " : "", lt, j->left_cols[i], rt,
                   j->right_cols[i]);
    if (j->constraint)
        buf_printf(out, " (constraint %s)", j->constraint);
    else
        buf_append_str(out, " (relationship.foreign_key)");
}

static void plan_node(Buf *out, const DocsNode *n)
{
    int ind = 2 + 4 * n->depth;
    buf_printf(out, "%*s%s: %s.%s (%s)", ind, "", n->label, n->schema, n->table,
               relkind_name(n->rel.relkind));
    if (n->parent)
        buf_printf(out, ", %s %s", n->variant == DOCS_VARIANT_OBJECT ? "object" : "scalar",
                   n->type == DOCS_REL_ONE_TO_ONE ? "one_to_one" : "one_to_many");
    buf_printf(out, "\n%*s  key: ", ind, "");
    plan_cols(out, n->rel.key, n->rel.nkey);
    if (!n->parent) {
        buf_append_str(out, "; _id: ");
        plan_cols(out, n->id_key, n->nid_key);
        buf_append_str(out, n->nid_key > 1 ? " joined by \"|\"" : "");
    }
    buf_printf(out, "\n%*s  fields: ", ind, "");
    for (size_t i = 0; i < n->ncolumns; i++) {
        const DocsColumn *c = &n->columns[i];
        buf_printf(out, "%s%s", i ? ", " : "", c->output);
        if (strcmp(c->output, c->spec) != 0) buf_printf(out, " <- %s", c->spec);
        buf_printf(out, " %s", c->type_name ? c->type_name : "?");
    }
    buf_append_byte(out, '\n');
    if (!is_table(n->rel.relkind)) {
        buf_printf(out, "%*s  stream: a %s is not published; ", ind, "",
                   relkind_name(n->rel.relkind));
        if (n->nbase_tables) {
            buf_append_str(out, "its base tables are: ");
            plan_cols(out, n->base_tables, n->nbase_tables);
            buf_append_byte(out, '\n');
        } else {
            buf_append_str(out, "without base_tables its changes are not streamed\n");
        }
    }
    const DocsTransform *t = &n->transform;
    if (t->replace || t->rename || t->concat || t->nmove || t->mapping)
        buf_printf(out, "%*s  transform:%s%s%s%s%s\n", ind, "", t->replace ? " replace" : "",
                   t->rename ? " rename" : "", t->concat ? " concat" : "", t->nmove ? " move" : "",
                   t->mapping ? " mapping" : "");
    if (n->parent) {
        buf_printf(out, "%*s  join: ", ind, "");
        if (n->through_table) {
            plan_join(out, n->parent->label, n->through_table, &n->parent_join);
            buf_printf(out, "\n%*s        ", ind, "");
            plan_join(out, n->through_table, n->label, &n->child_join);
        } else {
            plan_join(out, n->parent->label, n->label, &n->parent_join);
        }
        buf_append_byte(out, '\n');
    }
    for (size_t i = 0; i < n->nchildren; i++)
        plan_node(out, n->children[i]);
}

static const char *replident_name(char r)
{
    switch (r) {
    case 'd':
        return "DEFAULT";
    case 'f':
        return "FULL";
    case 'i':
        return "USING INDEX";
    case 'n':
        return "NOTHING";
    }
    return "?";
}

void docs_schema_plan_text(const DocsDocument *d, Buf *out)
{
    buf_printf(out, "document %s: database \"%s\", index \"%s\"", d->path, d->database, d->index);
    if (d->routing) buf_printf(out, ", routing \"%s\"", d->routing);
    if (d->pipeline) buf_printf(out, ", pipeline \"%s\"", d->pipeline);
    buf_append_byte(out, '\n');
    if (d->nplugins) {
        buf_append_str(out, "plugins: ");
        plan_cols(out, d->plugins, d->nplugins);
        buf_append_byte(out, '\n');
    }
    if (!d->resolved) {
        buf_append_str(out, "(not resolved against the database)\n");
        return;
    }
    buf_append_str(out, "nodes:\n");
    plan_node(out, d->root);
    const DocsTable **tables = NULL;
    size_t nt = docs_schema_publication_tables(d, &tables);
    buf_printf(out, "publication tables (%zu):", nt);
    for (size_t i = 0; i < nt; i++)
        buf_printf(out, "%s %s.%s", i ? "," : "", tables[i]->schema, tables[i]->name);
    buf_append_byte(out, '\n');
    size_t changes = 0;
    buf_append_str(out, "replica identity:\n");
    for (size_t i = 0; i < nt; i++) {
        const DocsTable *t = tables[i];
        if (!t->needs_full) continue;
        if (t->replident == 'f') {
            buf_printf(out, "  %s.%s: FULL needed, already FULL (%s)\n", t->schema, t->name,
                       t->full_reason);
        } else {
            buf_printf(out, "  %s.%s: ALTER TABLE ... REPLICA IDENTITY FULL (now %s): %s\n",
                       t->schema, t->name, replident_name(t->replident), t->full_reason);
            changes++;
        }
    }
    if (changes == 0)
        buf_append_str(out, "  no change needed: join columns are within primary keys or "
                            "already FULL\n");
    if (d->warnings) buf_printf(out, "warnings:\n%s", d->warnings);
    free(tables);
}
