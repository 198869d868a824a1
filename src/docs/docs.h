/*
 * docs.h: the public face of dip's docs module (issue 10): PGSync-compatible schema.json.
 *
 * A schema.json file is a JSON array of documents, one per index. Each document names a
 * database, an index and a tree of nodes (a root table and nested children joined by foreign
 * keys). dip reads every key PGSync 7.3 reads and rejects every other key.
 *
 *   docs_schema_load()     parses the file into a DocsSchema (no database needed);
 *   docs_schema_resolve()  checks one document against PostgreSQL's catalog and fills in
 *                          what the catalog knows (relkind, columns and their types, primary
 *                          keys, the join between each child and its parent);
 *   docs_schema_plan_text() prints the plan `dip sync-es --validate` shows;
 *   docs_transform_apply() PGSync's transforms on one built document;
 *   docs_mapping_build()   the body of the index-create request;
 *   docs_plugins_*()       Lua 5.4 plugins run on each document.
 *
 * Document representation shared by the builder, transforms and plugins: a jansson json_t*
 * object (the document's _source). The builder renders JSON, parses it (or builds it) into a
 * json_t, calls docs_transform_apply() then docs_plugins_apply(), and serialises the result
 * for the bulk request.
 *
 * Errors name the place in the file as a JSON path, in one form everywhere:
 * `schema.json: [0].nodes.children[2].relationship.type: expected "one_to_one" or
 * "one_to_many", got "many"`. The leading [N] is the document's index in the file's array;
 * object keys follow a dot, array elements are [i]; a key that is not a plain identifier is
 * written ["like this"]. Syntax errors of the JSON itself give line and column instead.
 *
 * Ownership: a DocsSchema owns everything reachable from it (strings, nodes, the jansson
 * values kept for setting/mapping/mappings); docs_schema_free() releases all of it.
 */
#ifndef DIP_DOCS_H
#define DIP_DOCS_H

#include "core/core.h"
#include "pg/pg.h"

#include <jansson.h>

#define DOCS_MAX_DEPTH 32 /* nesting of children; deeper is rejected as a runaway schema */

/* ---------------------------------------------------------------- the tree */

typedef enum { DOCS_VARIANT_OBJECT = 0, DOCS_VARIANT_SCALAR } DocsVariant;
typedef enum { DOCS_REL_ONE_TO_ONE = 0, DOCS_REL_ONE_TO_MANY } DocsRelType;

/* One step of a JSON path column, PostgreSQL's operators on json/jsonb:
 *   col->key   col->0   (element of an object by key, of an array by index)
 *   col->>key  col->>0  (the same, as text)
 *   col#>{a,b,0}        (by path)
 *   col#>>{a,b,0}       (by path, as text) */
typedef enum {
    DOCS_JSON_GET = 0,  /* -> */
    DOCS_JSON_GET_TEXT, /* ->> */
    DOCS_JSON_PATH,     /* #> */
    DOCS_JSON_PATH_TEXT /* #>> */
} DocsJsonOp;

typedef struct DocsJsonStep {
    DocsJsonOp op;
    char *key;     /* -> / ->>: the key, or the index's digits when is_index */
    bool is_index; /* -> / ->>: an array index (the token was all digits, as in PGSync) */
    int64_t index; /* the index when is_index */
    char **path;   /* #> / #>>: the elements between the braces, as text */
    size_t npath;
} DocsJsonStep;

typedef struct DocsColumn {
    char *spec;          /* as written in schema.json: "doc#>{a,b,c}->4" */
    char *name;          /* the table column: "doc" */
    char *output;        /* the document's field name, PGSync's rule: "doc_a,b,c_4" */
    DocsJsonStep *steps; /* empty for a plain column */
    size_t nsteps;
    /* filled by docs_schema_resolve() */
    uint32_t type_oid; /* pg_attribute.atttypid of the table column */
    char *type_name;   /* format_type() of the table column: "jsonb", "numeric(12,2)" */
    int attnum;        /* pg_attribute.attnum */
} DocsColumn;

/* A join between two tables: left_cols[i] = right_cols[i]. */
typedef struct DocsJoin {
    char **left_cols;
    char **right_cols;
    size_t ncols;
    char *constraint; /* the catalog's constraint name; NULL when given by foreign_key */
} DocsJoin;

/* relationship.foreign_key as written: columns of the parent side and of the child side
 * (for a through relationship: the through table's columns toward each side). */
typedef struct DocsForeignKeySpec {
    char **parent;
    size_t nparent;
    char **child;
    size_t nchild;
} DocsForeignKeySpec;

typedef struct DocsTransformMove {
    char *column; /* field to move (after renames; an original name is accepted too) */
    char **dest;  /* destination path split at dots, without "$root" */
    size_t ndest;
    bool from_root; /* the destination started with "$root": relative to the document */
} DocsTransformMove;

typedef struct DocsTransform {
    /* rename and replace keep PGSync's nested form: the JSON object as written (owned),
     * applied by transform.c: rename {"field": "new"} or {"child_label": {...}};
     * replace {"field": {"search": "replacement", ...}} or {"child_label": {...}}. */
    json_t *rename;  /* NULL when absent */
    json_t *replace; /* NULL when absent */
    /* concat: an array of {"columns": [...], "destination": "...", "delimiter": "..."}
     * (one object in the file becomes an array of one); PGSync's nested form keyed by a
     * child's label is kept as written. */
    json_t *concat;          /* NULL when absent */
    DocsTransformMove *move; /* an object or an array of them in the file */
    size_t nmove;
    json_t *mapping; /* transform.mapping, field -> Elasticsearch mapping (owned) */
} DocsTransform;

/* A table as resolved from the catalog (the node's own, its through table, base tables). */
typedef struct DocsTable {
    char *schema;
    char *name;
    uint32_t oid;
    char relkind;   /* 'r' table, 'p' partitioned, 'v' view, 'm' materialized view, 'f' */
    char replident; /* pg_class.relreplident: 'd' default, 'f' full, 'i' index, 'n' nothing */
    char **key;     /* primary key columns in key order (catalog, or primary_key) */
    size_t nkey;
    bool needs_full;       /* the stream needs REPLICA IDENTITY FULL (rule in validate.c) */
    char full_reason[256]; /* why, for the plan and the log ("" when not needed) */
} DocsTable;

typedef struct DocsNode {
    char *path; /* JSON path of the node object in the file: "[0].nodes.children[1]" */
    int id;     /* position in the document's pre-order node list (root = 0) */
    int depth;  /* root = 0 */
    char *table;
    char *schema; /* "public" when absent */
    char *label;  /* the document key; the table name when absent */
    DocsColumn *columns;
    size_t ncolumns;
    bool columns_all;   /* "columns" absent or empty: every column of the table (after resolve) */
    char **primary_key; /* primary_key as written (views, tables without a primary key) */
    size_t nprimary_key;
    char **base_tables; /* base_tables as written ("name" or "schema.name") */
    size_t nbase_tables;
    /* relationship (every node but the root has one) */
    DocsVariant variant;
    DocsRelType type;
    char *through_schema; /* NULL when no through table (PGSync allows at most one) */
    char *through_table;
    bool has_foreign_key;
    DocsForeignKeySpec foreign_key;
    DocsTransform transform;
    struct DocsNode *parent;
    struct DocsNode **children;
    size_t nchildren;

    /* filled by docs_schema_resolve() */
    DocsTable rel;     /* the node's own table or view */
    DocsTable through; /* the through table (when through_table) */
    DocsTable *bases;  /* base tables of a view (nbase_tables of them) */
    char **id_key;     /* rel.key sorted by column name: the order of PGSync's _id */
    size_t nid_key;
    /* the join to the parent: direct (parent_join: left = parent's columns, right = this
     * node's columns) or through (parent_join: left = parent's columns, right = through's;
     * child_join: left = through's columns, right = this node's columns). */
    DocsJoin parent_join;
    DocsJoin child_join; /* through relationships only */
    bool fk_on_parent;   /* direct: the constraint is on the parent table (parent -> child) */
} DocsNode;

/* One element of the file's array: one index. */
typedef struct DocsDocument {
    char *file;     /* the schema file, for messages */
    char *path;     /* "[0]" */
    char *database; /* after $VAR substitution */
    char *index;    /* after $VAR substitution; the database when absent (PGSync) */
    char *pipeline; /* NULL when absent */
    char *routing;  /* NULL when absent */
    char **plugins; /* plugin names in the order they run */
    size_t nplugins;
    json_t *setting;  /* owned, NULL when absent */
    json_t *mapping;  /* owned, NULL when absent */
    json_t *mappings; /* owned, NULL when absent */
    DocsNode *root;
    DocsNode **nodes; /* pre-order: nodes[0] is the root */
    size_t nnodes;
    bool resolved;  /* docs_schema_resolve() succeeded */
    char *warnings; /* resolve's warnings, "FILE: PATH: what\n" each (also logged); NULL when
                     * none: names in transforms that match no field, an ignored primary_key */
} DocsDocument;

typedef struct DocsSchema {
    char *file; /* path as given, for messages */
    char *dir;  /* directory of the file (plugins are looked up beside it) */
    DocsDocument *docs;
    size_t ndocs;
} DocsSchema;

/* Reads and checks schema.json: syntax, types, known keys, values of variant/type, $VAR
 * substitution in top-level strings (PGSync's Template.safe_substitute: $NAME and ${NAME}
 * from the environment, unknown names left as written, $$ -> $). *out is zeroed first;
 * on failure it holds nothing (freed). */
bool docs_schema_load(const char *path, DocsSchema *out, DipError *err) DIP_MUST_CHECK;
/* The same from JSON text in memory (`name` is used in messages and `dir` for plugins). */
bool docs_schema_parse(const char *text, size_t len, const char *name, DocsSchema *out,
                       DipError *err) DIP_MUST_CHECK;
void docs_schema_free(DocsSchema *s);

/* Checks document d against the database behind c and fills the catalog fields of every
 * node: tables/views/materialized views exist in their schema, columns exist (JSON path
 * columns on json/jsonb), primary keys (catalog, or primary_key for views and tables
 * without one; base tables must have one), the join of each child to its parent (foreign
 * key either direction, through tables to both sides, or relationship.foreign_key), and
 * which tables need REPLICA IDENTITY FULL. Errors name the node's JSON path. */
bool docs_schema_resolve(DocsDocument *d, PgConn *c, DipError *err) DIP_MUST_CHECK;

/* The plan `dip sync-es --validate` prints for a resolved document: the node tree with
 * tables, keys and join paths; the publication's tables; REPLICA IDENTITY changes. */
void docs_schema_plan_text(const DocsDocument *d, Buf *out);
/* The publication's tables as "schema.table" (each once, in tree order): node tables
 * (not views), through tables, base tables. Caller frees the array (not the strings,
 * which belong to d). */
size_t docs_schema_publication_tables(const DocsDocument *d, const DocsTable ***out);

/* Finds a node by its table (schema NULL = "public"), NULL when none. A table may back
 * several nodes: `start` continues after a previous hit (NULL = from the root). */
const DocsNode *docs_node_find(const DocsDocument *d, const char *schema, const char *table,
                               const DocsNode *start);

/* ---------------------------------------------------------------- transforms */

/* Applies every node's transforms to one document (the root object, changed in place), in
 * PGSync's order: replace, then rename, then concat (after the renames), then move. */
bool docs_transform_apply(const DocsDocument *d, json_t *doc, DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- index mapping */

/* The body of the index-create request, {"settings": ..., "mappings": ...} (either may be
 * absent): from setting/mapping/mappings when given, otherwise from every node's
 * transform.mapping nested under the labels, as PGSync builds it (routing -> _routing
 * required). *body is NULL when there is nothing to send. */
bool docs_mapping_build(const DocsDocument *d, json_t **body, DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- Lua plugins */

/* The document's plugins, one Lua state. Not thread-safe: one DocsPlugins per worker. */
typedef struct DocsPlugins DocsPlugins;

/* Loads the scripts named by d->plugins (see plugin.c for how a name maps to a file:
 * $DIP_PLUGIN_PATH, then the "plugins" directory beside schema.json). NULL plugins list ->
 * *out is NULL and true. max_instructions bounds one script run (0 = the default,
 * DIP_PLUGIN_MAX_INSTRUCTIONS or 10,000,000). */
bool docs_plugins_open(const DocsSchema *s, const DocsDocument *d, int64_t max_instructions,
                       DocsPlugins **out, DipError *err) DIP_MUST_CHECK;
/* Runs every plugin in order on *doc (owned by the caller). A plugin returning nil drops the
 * document: *doc becomes NULL (the old value is released). meta_id and meta_index are
 * passed to the scripts as the document's _id and _index. */
bool docs_plugins_apply(DocsPlugins *p, json_t **doc, const char *meta_id, const char *meta_index,
                        DipError *err) DIP_MUST_CHECK;
void docs_plugins_close(DocsPlugins *p);

#endif /* DIP_DOCS_H */
