/*
 * build_internal.h: the compiled form of a document tree that sql.c makes and build.c runs.
 *
 * Every node of the tree becomes one prepared statement that returns, for a whole batch of
 * roots at once, the node's rows with, in this column order:
 *   root:     [the _id key columns, sorted by name] [each child's parent-side join columns]
 *             [output columns]
 *   non-root: [this row's side of the join to its parent (the "link")] [through only: does
 *             the child row exist] [each child's parent-side join columns] [output columns]
 * A child's statement takes the distinct parent-side values of the batch as one array
 * parameter per join column (`= ANY($1::type[])`), or the batch's root key range when it is
 * joined on the root's key (an index range scan); build.c joins rows to parents by hash in C.
 */
#ifndef DIP_DOCS_BUILD_INTERNAL_H
#define DIP_DOCS_BUILD_INTERNAL_H

#include "docs/build.h"
#include "docs/docs.h"

typedef struct BuildNode {
    const DocsNode *node;
    struct BuildNode *parent;
    struct BuildNode **children;
    size_t nchildren;
    int ncols;        /* columns of the statement's result */
    int nlink;        /* non-root: columns [0, nlink) join this row to its parent */
    int **child_cols; /* per child: its parent-side join columns in this result */
    int out_first;    /* output columns are [out_first, out_first + nout) */
    int nout;
    char **out_keys;    /* per output: "\"name\":", escaped once */
    DocsValType *types; /* per output column */
    bool *server_json;  /* per output column: selected as to_json(expr) */
    char *label_key;    /* "\"label\":" */
    char **param_types; /* non-root: SQL type of each link column of the node statement */
    bool range_link;    /* the statement meeting the parent takes the root key range */
    bool by_keys;       /* the plan's roots come as key arrays (BuildPlan.by_keys) */
    char *link_sql;     /* through: the link table's statement */
    char link_stmt[40];
    char **link_types; /* through: SQL types of the link table's parent-side columns */
    char **key_types;  /* root: SQL type of each range key column (rel.key order) */
    bool scalar, many, through;
    bool first_only;        /* PGSync: a through one_to_one object without children keeps only its
                               first column (querybuilder._through: JSON_OBJECT(columns[0], columns[1])) */
    int nid;                /* root: columns [0, nid) are the _id key columns in id_key order */
    bool *id_is_bool;       /* root: Python's str() of a bool key is "True"/"False" */
    int routing_col;        /* root: the output column routing names; -1 when no routing */
    bool meta;              /* PGSync's _meta: the statements also select the rows' keys */
    int key_first;          /* meta: rel.key columns follow the outputs, from here */
    bool *key_numeric;      /* meta: per rel.key column, shown as a number */
    bool *link_key_numeric; /* meta, through: per through.key column (after the link's
                               parent and child sides in the link statement) */
    char *sql;
    char stmt[40]; /* prepared statement name */
} BuildNode;

typedef struct BuildPlan {
    const DocsDocument *doc;
    BuildNode *nodes; /* pre-order, nodes[i].node == doc->nodes[i] */
    size_t nnodes;
    bool by_keys; /* the root statement takes key arrays, not a range (the change stream) */
} BuildPlan;

/* Compiles the tree of a resolved document into statements prepared on c (c's session
 * settings must be set first: docs_session_settings). */
bool build_plan_prepare(BuildPlan *p, const DocsDocument *d, PgConn *c, bool by_keys,
                        DipError *err) DIP_MUST_CHECK;
void build_plan_free(BuildPlan *p);

/* Quotes one identifier (no splitting at dots: a column may contain one). */
void build_quote_ident(Buf *out, const char *name);

#endif /* DIP_DOCS_BUILD_INTERNAL_H */
