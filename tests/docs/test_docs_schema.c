/* Unit tests of the schema.json parser (src/docs/schema.c): every malformed file we could
 * think of gives its exact message (file, JSON path, what was expected); PGSync's example
 * schemas parse; JSON path column names follow PGSync's rule; $VAR substitution follows
 * Python's Template.safe_substitute. Expected strings are written by hand from the rules in
 * schema.c's header and PGSync's node.py, not read back from dip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs/docs.h"
#include "docs_test.h"

/* JSON with ' for " so the cases stay readable. */
static void expect_error(const char *json, const char *msg)
{
    char *text = jq(json);
    DocsSchema s;
    DipError err = {0};
    bool ok = docs_schema_parse(text, strlen(text), "t.json", &s, &err);
    if (ok || strcmp(err.msg, msg) != 0) {
        fprintf(stderr, "input:    %s\nexpected: %s\ngot:      %s\n", text, msg,
                ok ? "(no error)" : err.msg);
        if (ok) docs_schema_free(&s);
        free(text);
        fail();
    }
    assert_int_equal(err.kind, DIP_ERR_CONFIG);
    free(text);
}

static bool parse_ok(const char *json, DocsSchema *s)
{
    char *text = jq(json);
    DipError err = {0};
    bool ok = docs_schema_parse(text, strlen(text), "t.json", s, &err);
    if (!ok) fprintf(stderr, "unexpected error: %s\n", err.msg);
    free(text);
    return ok;
}

#define DOC(nodes) "[{'database': 'd', 'nodes': " nodes "}]"
#define REL "'relationship': {'variant': 'object', 'type': 'one_to_many'}"

static void test_top_level_errors(void **state)
{
    (void)state;
    expect_error("{}", "t.json: expected an array of documents [{\"database\": ..., \"nodes\": "
                       "...}], got an object");
    expect_error("[]", "t.json: the array holds no document");
    expect_error("[1]", "t.json: [0]: expected a document object {database, index, nodes, ...}, "
                        "got an integer");
    expect_error("[{'nodes': {'table': 'a'}}]", "t.json: [0]: missing \"database\"");
    expect_error("[{'database': 'd'}]", "t.json: [0]: missing \"nodes\" (the root node object)");
    expect_error("[{'database': 'd', 'nodes': {'table': 'a'}, 'indx': 'x'}]",
                 "t.json: [0].indx: unknown key of a document (expected one of: database, index, "
                 "nodes, setting, mapping, mappings, plugins, pipeline, routing)");
    expect_error("[{'database': 7, 'nodes': {'table': 'a'}}]",
                 "t.json: [0].database: expected a string, got an integer");
    expect_error("[{'database': 'd', 'index': 5, 'nodes': {'table': 'a'}}]",
                 "t.json: [0].index: expected a string, got an integer");
    expect_error("[{'database': 'd', 'setting': [], 'nodes': {'table': 'a'}}]",
                 "t.json: [0].setting: expected an object, got an array");
    expect_error("[{'database': 'd', 'mappings': 'x', 'nodes': {'table': 'a'}}]",
                 "t.json: [0].mappings: expected an object, got a string");
    expect_error("[{'database': 'd', 'plugins': 'slug', 'nodes': {'table': 'a'}}]",
                 "t.json: [0].plugins: expected an array of plugin names, got a string");
    expect_error("[{'database': 'd', 'plugins': ['a', 'b', 'a'], 'nodes': {'table': 'a'}}]",
                 "t.json: [0].plugins[2]: plugin \"a\" is already listed at [0]");
    expect_error("[{'database': 'd', 'plugins': [''], 'nodes': {'table': 'a'}}]",
                 "t.json: [0].plugins[0]: expected plugin name, got an empty string");
    expect_error("[{'database': 'd', 'nodes': {'table': 'a'}}, {'database': 'e', 'index': 'd', "
                 "'nodes': {'table': 'b'}}]",
                 "t.json: [1].index: \"d\" is already the index of [0]");
    expect_error("[{'database': 'd', 'nodes': {'table': 'a'}}, 5]",
                 "t.json: [1]: expected a document object {database, index, nodes, ...}, got an "
                 "integer");
    expect_error("[{'database': 'd', 'nodes': [{'table': 'a'}]}]",
                 "t.json: [0].nodes: expected a node object {table, columns, children, ...}, got "
                 "an array (a PGSync v1 schema: nodes became an object in v2, run its migration)");
}

static void test_json_syntax_errors(void **state)
{
    (void)state;
    DocsSchema s;
    DipError err = {0};
    const char *text = "[{\"database\": \"d\",\n  \"nodes\": {\"table\": \"a\",}}]";
    assert_false(docs_schema_parse(text, strlen(text), "t.json", &s, &err));
    assert_non_null(strstr(err.msg, "t.json: line 2, column "));
    dip_error_clear(&err);
    text = "[{\"database\": \"d\", \"database\": \"e\", \"nodes\": {\"table\": \"a\"}}]";
    assert_false(docs_schema_parse(text, strlen(text), "t.json", &s, &err));
    assert_non_null(strstr(err.msg, "t.json: line 1, column "));
    assert_non_null(strstr(err.msg, "duplicate object key"));
    dip_error_clear(&err);
    assert_false(docs_schema_parse("", 0, "t.json", &s, &err));
    assert_non_null(strstr(err.msg, "t.json: line "));
    dip_error_clear(&err);
    assert_false(docs_schema_load("/nonexistent/schema.json", &s, &err));
    assert_int_equal(err.kind, DIP_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/schema.json: cannot open"));
}

static void test_node_errors(void **state)
{
    (void)state;
    expect_error(DOC("{}"), "t.json: [0].nodes: missing \"table\"");
    expect_error(DOC("{'table': 5}"), "t.json: [0].nodes.table: expected a table name, got an "
                                      "integer");
    expect_error(DOC("{'table': ''}"), "t.json: [0].nodes.table: expected a table name, got an "
                                       "empty string");
    expect_error(DOC("{'table': 'a', 'colums': ['x']}"),
                 "t.json: [0].nodes.colums: unknown key of a node (expected one of: table, "
                 "schema, columns, label, primary_key, relationship, children, transform, "
                 "base_tables)");
    expect_error(DOC("{'table': 'a', 'schema': null}"),
                 "t.json: [0].nodes.schema: expected a schema name, got null");
    expect_error(DOC("{'table': 'a', 'label': ''}"),
                 "t.json: [0].nodes.label: expected a label (the document key), got an empty "
                 "string");
    expect_error(DOC("{'table': 'a', 'columns': 'x'}"),
                 "t.json: [0].nodes.columns: expected an array of column names, got a string");
    expect_error(DOC("{'table': 'a', 'columns': ['x', 3]}"),
                 "t.json: [0].nodes.columns[1]: expected a column name, got an integer");
    expect_error(DOC("{'table': 'a', 'primary_key': 'id'}"),
                 "t.json: [0].nodes.primary_key: expected an array of column names, got a "
                 "string");
    expect_error(DOC("{'table': 'a', 'base_tables': [true]}"),
                 "t.json: [0].nodes.base_tables[0]: expected table name, got a boolean");
    expect_error(DOC("{'table': 'a', 'children': {}}"),
                 "t.json: [0].nodes.children: expected an array of node objects, got an object");
    expect_error(DOC("{'table': 'a', 'children': ['b']}"),
                 "t.json: [0].nodes.children[0]: expected a node object {table, columns, "
                 "children, ...}, got a string");
    expect_error(DOC("{'table': 'a', 'children': [{'table': 'b'}]}"),
                 "t.json: [0].nodes.children[0]: missing \"relationship\" (every child names its "
                 "variant and type)");
    expect_error(DOC("{'table': 'a', " REL "}"),
                 "t.json: [0].nodes.relationship: the root node has no parent to relate to");
    expect_error(
        DOC("{'table': 'a', 'children': [{'table': 'x', " REL "}, {'table': 'x', " REL "}]}"),
        "t.json: [0].nodes.children[1]: label \"x\" is already used by children[0]: two "
        "children of one node need two labels");
    expect_error(DOC("{'table': 'a', 'children': [{'table': 'x', 'label': 'l', " REL
                     "}, {'table': 'y', 'label': 'l', " REL "}]}"),
                 "t.json: [0].nodes.children[1]: label \"l\" is already used by children[0]: two "
                 "children of one node need two labels");
}

static void test_relationship_errors(void **state)
{
    (void)state;
#define CHILD(rel)                                                                                 \
    DOC("{'table': 'a', 'children': [{'table': 'p', " REL "}, {'table': 'q', " REL                 \
        "}, {'table': 'b', 'relationship': " rel "}]}")
    expect_error(CHILD("{'variant': 'object', 'type': 'many'}"),
                 "t.json: [0].nodes.children[2].relationship.type: expected \"one_to_one\" or "
                 "\"one_to_many\", got \"many\"");
    expect_error(CHILD("{'variant': 'object', 'type': 'ONE_TO_MANY'}"),
                 "t.json: [0].nodes.children[2].relationship.type: expected \"one_to_one\" or "
                 "\"one_to_many\", got \"ONE_TO_MANY\"");
    expect_error(CHILD("{'variant': 'list', 'type': 'one_to_one'}"),
                 "t.json: [0].nodes.children[2].relationship.variant: expected \"object\" or "
                 "\"scalar\", got \"list\"");
    expect_error(CHILD("{'variant': 1, 'type': 'one_to_one'}"),
                 "t.json: [0].nodes.children[2].relationship.variant: expected \"object\" or "
                 "\"scalar\", got an integer");
    expect_error(CHILD("{'type': 'one_to_one'}"),
                 "t.json: [0].nodes.children[2].relationship: missing \"variant\" (\"object\" or "
                 "\"scalar\")");
    expect_error(CHILD("{'variant': 'object'}"),
                 "t.json: [0].nodes.children[2].relationship: missing \"type\" (\"one_to_one\" or "
                 "\"one_to_many\")");
    expect_error(CHILD("[]"),
                 "t.json: [0].nodes.children[2].relationship: expected an object {variant, type, "
                 "through_tables, foreign_key}, got an array");
    expect_error(CHILD("{'variant': 'object', 'type': 'one_to_one', 'foreign_keys': {}}"),
                 "t.json: [0].nodes.children[2].relationship.foreign_keys: unknown key of "
                 "relationship (expected one of: variant, type, through_tables, foreign_key)");
    expect_error(CHILD("{'variant': 'object', 'type': 'one_to_one', 'through_tables': ['x', 'y']}"),
                 "t.json: [0].nodes.children[2].relationship.through_tables: PGSync allows one "
                 "through table per relationship, got 2");
    expect_error(CHILD("{'variant': 'object', 'type': 'one_to_one', 'through_tables': 'x'}"),
                 "t.json: [0].nodes.children[2].relationship.through_tables: expected an array of "
                 "table names, got a string");
    expect_error(CHILD("{'variant': 'object', 'type': 'one_to_one', 'through_tables': ['s.']}"),
                 "t.json: [0].nodes.children[2].relationship.through_tables: \"s.\": expected "
                 "\"table\" or \"schema.table\"");
    expect_error(CHILD("{'variant': 'object', 'type': 'one_to_one', 'foreign_key': {'parent': "
                       "['id']}}"),
                 "t.json: [0].nodes.children[2].relationship.foreign_key: a foreign_key names "
                 "both \"parent\" and \"child\" columns (missing \"child\")");
    expect_error(CHILD("{'variant': 'object', 'type': 'one_to_one', 'foreign_key': {'parent': "
                       "['id'], 'child': ['a'], 'table': 'x'}}"),
                 "t.json: [0].nodes.children[2].relationship.foreign_key.table: unknown key of "
                 "foreign_key (expected one of: parent, child)");
    expect_error(CHILD("{'variant': 'object', 'type': 'one_to_one', 'foreign_key': {'parent': "
                       "['id', 'uid'], 'child': ['a']}}"),
                 "t.json: [0].nodes.children[2].relationship.foreign_key.child: 1 child column(s) "
                 "for 2 parent column(s): they pair up one to one");
    expect_error(CHILD("{'variant': 'object', 'type': 'one_to_one', 'foreign_key': {'parent': [], "
                       "'child': ['a']}}"),
                 "t.json: [0].nodes.children[2].relationship.foreign_key.parent: expected at "
                 "least one column name");
    expect_error(CHILD("{'variant': 'object', 'type': 'one_to_one', 'foreign_key': {'parent': 4, "
                       "'child': ['a']}}"),
                 "t.json: [0].nodes.children[2].relationship.foreign_key.parent: expected an "
                 "array of column names, got an integer");
    expect_error(DOC("{'table': 'a', 'children': [{'table': 'b', 'relationship': {'variant': "
                     "'object', 'type': 'one_to_many', 'through_tables': ['b']}}]}"),
                 "t.json: [0].nodes.children[0]: through table public.b is the node's own table "
                 "(a cycle)");
    expect_error(DOC("{'table': 'a', 'children': [{'table': 'b', 'relationship': {'variant': "
                     "'object', 'type': 'one_to_many', 'through_tables': ['public.a']}}]}"),
                 "t.json: [0].nodes.children[0]: through table public.a is the parent's own "
                 "table (a cycle)");
    expect_error(DOC("{'table': 'a', 'children': [{'table': 'b', 'columns': ['x', 'y'], "
                     "'relationship': {'variant': 'scalar', 'type': 'one_to_many'}}]}"),
                 "t.json: [0].nodes.children[0]: a scalar node's value is one column, got 2 "
                 "columns");
    expect_error(DOC("{'table': 'a', 'children': [{'table': 'b', 'relationship': {'variant': "
                     "'scalar', 'type': 'one_to_many'}, 'children': [{'table': 'c', " REL "}]}]}"),
                 "t.json: [0].nodes.children[0].children[0]: a scalar node's value is one column: "
                 "it cannot have children");
#undef CHILD
}

static void test_column_errors(void **state)
{
    (void)state;
#define COLS(c) DOC("{'table': 'a', 'columns': ['id', " c "]}")
    expect_error(COLS("'doc->'"), "t.json: [0].nodes.columns[1]: JSON path column \"doc->\": an "
                                  "operator without a key after it");
    expect_error(COLS("'->a'"), "t.json: [0].nodes.columns[1]: JSON path column \"->a\": no "
                                "column before the operator");
    expect_error(COLS("'doc->a->'"), "t.json: [0].nodes.columns[1]: JSON path column "
                                     "\"doc->a->\": an operator without a key after it");
    expect_error(COLS("'doc#>a'"), "t.json: [0].nodes.columns[1]: JSON path column \"doc#>a\": "
                                   "#> and #>> take a path in braces, like {a,b,0}");
    expect_error(COLS("'doc#>{a,b'"), "t.json: [0].nodes.columns[1]: JSON path column "
                                      "\"doc#>{a,b\": #> and #>> take a path in braces, like "
                                      "{a,b,0}");
    expect_error(COLS("'doc#>{a,,b}'"), "t.json: [0].nodes.columns[1]: JSON path column "
                                        "\"doc#>{a,,b}\": an empty element in the path {a,,b}");
    expect_error(COLS("'doc#>{}'"), "t.json: [0].nodes.columns[1]: JSON path column "
                                    "\"doc#>{}\": an empty element in the path {}");
    expect_error(COLS("'doc#>{\\'a\\'}'"),
                 "t.json: [0].nodes.columns[1]: JSON path column \"doc#>{\"a\"}\": path elements "
                 "are plain keys or indexes (quotes, backslashes and nested braces are not "
                 "supported)");
    expect_error(COLS("'doc->{a}'"), "t.json: [0].nodes.columns[1]: JSON path column "
                                     "\"doc->{a}\": -> and ->> take one key or index, not a path "
                                     "in braces (use #>)");
    expect_error(COLS("'doc->99999999999'"), "t.json: [0].nodes.columns[1]: JSON path column "
                                             "\"doc->99999999999\": array index 99999999999 is "
                                             "out of range");
    expect_error(COLS("'id'"), "t.json: [0].nodes.columns[1]: \"id\" gives the field \"id\" a "
                               "second time (columns[0])");
    expect_error(DOC("{'table': 'a', 'columns': ['a_b', 'a->b']}"),
                 "t.json: [0].nodes.columns[1]: \"a->b\" gives the field \"a_b\" a second time "
                 "(columns[0])");
#undef COLS
}

static void test_transform_errors(void **state)
{
    (void)state;
#define TR(t) DOC("{'table': 'a', 'transform': " t "}")
    expect_error(TR("[]"), "t.json: [0].nodes.transform: expected an object {rename, replace, "
                           "concat, mapping, move}, got an array");
    expect_error(TR("{'renam': {}}"), "t.json: [0].nodes.transform.renam: unknown key of "
                                      "transform (expected one of: rename, replace, concat, "
                                      "mapping, move)");
    expect_error(TR("{'rename': {'id': ['x']}}"),
                 "t.json: [0].nodes.transform.rename.id: expected a new field name (a string), "
                 "got an array");
    expect_error(TR("{'rename': {'a.b': 5.5}}"),
                 "t.json: [0].nodes.transform.rename[\"a.b\"]: expected a new field name (a "
                 "string), got a number");
    expect_error(TR("{'rename': {'id': ''}}"),
                 "t.json: [0].nodes.transform.rename.id: expected a new field name, got an empty "
                 "string");
    expect_error(TR("{'rename': {'child': {'x': null}}}"),
                 "t.json: [0].nodes.transform.rename.child.x: expected a new field name (a "
                 "string), got null");
    expect_error(TR("{'replace': {'code': '-'}}"),
                 "t.json: [0].nodes.transform.replace.code: expected an object {\"search\": "
                 "\"replacement\"}, got a string");
    expect_error(TR("{'replace': {'code': {'-': 1}}}"),
                 "t.json: [0].nodes.transform.replace.code.-: expected a replacement string, got "
                 "an integer");
    expect_error(TR("{'replace': {'code': {'': 'x'}}}"),
                 "t.json: [0].nodes.transform.replace.code[\"\"]: an empty search string would "
                 "match everywhere");
    expect_error(TR("{'concat': {'columns': ['a'], 'delimiter': '-'}}"),
                 "t.json: [0].nodes.transform.concat: missing \"destination\" (the field to "
                 "write)");
    expect_error(TR("{'concat': {'destination': 'x'}}"),
                 "t.json: [0].nodes.transform.concat: missing \"columns\" (the fields or literals "
                 "to join)");
    expect_error(TR("{'concat': [{'columns': ['a'], 'destination': 'x'}, {'columns': [], "
                    "'destination': 'y'}]}"),
                 "t.json: [0].nodes.transform.concat[1].columns: expected a non-empty array of "
                 "field names or literals, got an array");
    expect_error(TR("{'concat': {'columns': ['a', 1], 'destination': 'x'}}"),
                 "t.json: [0].nodes.transform.concat.columns[1]: expected a field name or "
                 "literal (a string), got an integer");
    expect_error(TR("{'concat': {'columns': ['a'], 'destination': 'x', 'delimiter': 0}}"),
                 "t.json: [0].nodes.transform.concat.delimiter: expected a string, got an "
                 "integer");
    expect_error(TR("{'concat': {'columns': ['a'], 'destination': 'x', 'separator': '-'}}"),
                 "t.json: [0].nodes.transform.concat.separator: unknown key of a concat transform "
                 "(expected one of: columns, destination, delimiter)");
    expect_error(TR("{'concat': []}"),
                 "t.json: [0].nodes.transform.concat: expected at least one concat transform");
    expect_error(TR("{'concat': 'a'}"),
                 "t.json: [0].nodes.transform.concat: expected an object {columns, destination, "
                 "delimiter} or an array of them, got a string");
    expect_error(TR("{'mapping': {'id': {'type': 'strng'}}}"),
                 "t.json: [0].nodes.transform.mapping.id.type: expected an Elasticsearch field "
                 "type (text, keyword, long, ...), got \"strng\"");
    expect_error(TR("{'mapping': {'id': {'index': false}}}"),
                 "t.json: [0].nodes.transform.mapping.id: missing \"type\" (an Elasticsearch "
                 "field type)");
    expect_error(TR("{'mapping': {'id': {'type': 'text', 'analyser': 'x'}}}"),
                 "t.json: [0].nodes.transform.mapping.id.analyser: not an Elasticsearch mapping "
                 "parameter PGSync accepts");
    expect_error(TR("{'mapping': {'id': 'long'}}"),
                 "t.json: [0].nodes.transform.mapping.id: expected an object {\"type\": ..., "
                 "parameters}, got a string");
    expect_error(TR("{'move': {'column': 'id'}}"),
                 "t.json: [0].nodes.transform.move: missing \"destination\" (\"$root.a.b\" or "
                 "\"a.b\")");
    expect_error(TR("{'move': {'column': 'id', 'destination': '$root..a'}}"),
                 "t.json: [0].nodes.transform.move.destination: \"$root..a\" has an empty "
                 "segment (expected \"$root.a.b\" or \"a.b\")");
    expect_error(TR("{'move': {'column': 'id', 'destination': '$root'}}"),
                 "t.json: [0].nodes.transform.move.destination: \"$root\" names no field to move "
                 "to");
    expect_error(TR("{'move': [{'column': 'id', 'destination': 'a'}, {'column': 'x', "
                    "'destination': 'b', 'to': 1}]}"),
                 "t.json: [0].nodes.transform.move[1].to: unknown key of a move transform "
                 "(expected one of: column, destination)");
    expect_error(DOC("{'table': 'a', 'children': [{'table': 'b', 'relationship': {'variant': "
                     "'scalar', 'type': 'one_to_many'}, 'transform': {'rename': {'b': 'c'}}}]}"),
                 "t.json: [0].nodes.children[0].transform: a scalar node's values have no field "
                 "names: only replace and mapping apply (rename the label instead)");
#undef TR
}

static void test_depth_limit(void **state)
{
    (void)state;
    Buf b;
    buf_init(&b);
    buf_append_str(&b, "[{\"database\": \"d\", \"nodes\": {\"table\": \"t0\"");
    for (int i = 1; i <= 40; i++)
        buf_printf(&b,
                   ", \"children\": [{\"table\": \"t%d\", \"relationship\": {\"variant\": "
                   "\"object\", \"type\": \"one_to_one\"}",
                   i);
    for (int i = 1; i <= 40; i++)
        buf_append_str(&b, "}]");
    buf_append_str(&b, "}}]");
    DocsSchema s;
    DipError err = {0};
    assert_false(docs_schema_parse(buf_cstr(&b), b.len, "t.json", &s, &err));
    assert_non_null(strstr(err.msg, ": children nested deeper than 32 levels"));
    assert_non_null(strstr(err.msg, "t.json: [0].nodes.children[0].children[0]"));
    buf_free(&b);
}

static void test_columns_and_defaults(void **state)
{
    (void)state;
    DocsSchema s;
    assert_true(parse_ok("[{'database': 'book', 'nodes': {'table': 'book', 'columns': ['id', "
                         "'doc#>{a,b,c}->4', 'doc->x->0->y', 'doc->>name', 'doc#>>{ a , 1 }'],"
                         "'children': [{'table': 'author', 'schema': 'lib', "
                         "'relationship': {'variant': 'scalar', 'type': 'one_to_many', "
                         "'through_tables': ['book_author']}}]}}]",
                         &s));
    DocsDocument *d = &s.docs[0];
    assert_string_equal(d->index, "book"); /* index defaults to the database */
    assert_int_equal(d->nnodes, 2);
    DocsNode *n = d->root;
    assert_string_equal(n->schema, "public");
    assert_string_equal(n->label, "book");
    assert_string_equal(n->path, "[0].nodes");
    assert_int_equal(n->ncolumns, 5);
    assert_false(n->columns_all);
    DocsColumn *c = &n->columns[1];
    assert_string_equal(c->name, "doc");
    assert_string_equal(c->output, "doc_a,b,c_4");
    assert_int_equal(c->nsteps, 2);
    assert_int_equal(c->steps[0].op, DOCS_JSON_PATH);
    assert_int_equal(c->steps[0].npath, 3);
    assert_string_equal(c->steps[0].path[2], "c");
    assert_int_equal(c->steps[1].op, DOCS_JSON_GET);
    assert_true(c->steps[1].is_index);
    assert_int_equal(c->steps[1].index, 4);
    assert_string_equal(n->columns[2].output, "doc_x_0_y");
    assert_int_equal(n->columns[2].nsteps, 3);
    assert_false(n->columns[2].steps[0].is_index);
    assert_true(n->columns[2].steps[1].is_index);
    assert_string_equal(n->columns[3].output, "doc_name");
    assert_int_equal(n->columns[3].steps[0].op, DOCS_JSON_GET_TEXT);
    assert_int_equal(n->columns[4].steps[0].op, DOCS_JSON_PATH_TEXT);
    assert_string_equal(n->columns[4].steps[0].path[0], "a");
    assert_string_equal(n->columns[4].steps[0].path[1], "1");
    DocsNode *ch = n->children[0];
    assert_ptr_equal(ch->parent, n);
    assert_ptr_equal(d->nodes[1], ch);
    assert_int_equal(ch->id, 1);
    assert_string_equal(ch->label, "author");
    assert_string_equal(ch->schema, "lib");
    /* a through table without a schema is in the node's schema, as in PGSync */
    assert_string_equal(ch->through_schema, "lib");
    assert_string_equal(ch->through_table, "book_author");
    assert_true(ch->columns_all);
    assert_int_equal(ch->variant, DOCS_VARIANT_SCALAR);
    assert_int_equal(ch->type, DOCS_REL_ONE_TO_MANY);
    assert_ptr_equal(docs_node_find(d, NULL, "book", NULL), n);
    assert_ptr_equal(docs_node_find(d, "lib", "author", NULL), ch);
    assert_null(docs_node_find(d, "public", "author", NULL));
    assert_null(docs_node_find(d, NULL, "book", n));
    docs_schema_free(&s);
}

static void test_env_substitution(void **state)
{
    (void)state;
    setenv("DIP_TEST_DB", "books", 1);
    setenv("DIP_TEST_EMPTY", "", 1);
    unsetenv("DIP_TEST_UNSET");
    DocsSchema s;
    assert_true(parse_ok("[{'database': '$DIP_TEST_DB', 'index': '${DIP_TEST_DB}_v1', "
                         "'routing': '$DIP_TEST_UNSET', 'pipeline': 'a$$b$ $9 ${x-y} $', "
                         "'nodes': {'table': '$DIP_TEST_DB'}}]",
                         &s));
    DocsDocument *d = &s.docs[0];
    assert_string_equal(d->database, "books");
    assert_string_equal(d->index, "books_v1");
    assert_string_equal(d->routing, "$DIP_TEST_UNSET"); /* safe_substitute keeps unknown names */
    assert_string_equal(d->pipeline, "a$b$ $9 ${x-y} $");
    assert_string_equal(d->root->table, "$DIP_TEST_DB"); /* only top-level strings */
    docs_schema_free(&s);
    /* an empty or null index falls back to the database, as PGSync's `or` does */
    assert_true(parse_ok("[{'database': 'db1', 'index': '', 'routing': '', 'pipeline': null, "
                         "'nodes': {'table': 'a'}}, "
                         "{'database': 'db2', 'index': null, 'nodes': {'table': 'a'}}, "
                         "{'database': 'db3', 'index': '$DIP_TEST_EMPTY', 'nodes': {'table': "
                         "'a'}}]",
                         &s));
    assert_string_equal(s.docs[0].index, "db1");
    assert_string_equal(s.docs[1].index, "db2");
    assert_string_equal(s.docs[2].index, "db3");
    assert_null(s.docs[0].routing);
    docs_schema_free(&s);
    expect_error("[{'database': '$DIP_TEST_EMPTY', 'nodes': {'table': 'a'}}]",
                 "t.json: [0].database: is empty after $VAR substitution (\"$DIP_TEST_EMPTY\")");
}

static void test_transform_parse(void **state)
{
    (void)state;
    DocsSchema s;
    assert_true(parse_ok(DOC("{'table': 'a', 'transform': {'rename': {'id': 'my_id', 'xxx': 42, "
                             "'Child': {'c': 'd'}}, 'replace': {'code': {'-': '='}}, "
                             "'concat': {'columns': ['a', 'b'], 'destination': 'ab'}, "
                             "'move': [{'column': 'id', 'destination': '$root.x.y'}, "
                             "{'column': 'z', 'destination': 'w'}], "
                             "'mapping': {'my_id': {'type': 'long'}}}}"),
                         &s));
    DocsTransform *t = &s.docs[0].root->transform;
    assert_non_null(t->rename);
    assert_true(json_is_array(t->concat)); /* one object became an array of one */
    assert_int_equal(json_array_size(t->concat), 1);
    assert_int_equal(t->nmove, 2);
    assert_true(t->move[0].from_root);
    assert_int_equal(t->move[0].ndest, 2);
    assert_string_equal(t->move[0].dest[1], "y");
    assert_false(t->move[1].from_root);
    assert_string_equal(t->move[1].dest[0], "w");
    docs_schema_free(&s);
}

/* PGSync's own example schemas (every examples/NAME/schema.json of 7.3.0) all parse. */
static void test_pgsync_examples_parse(void **state)
{
    (void)state;
    DIR *dir = opendir(DOCS_EXAMPLES_DIR);
    assert_non_null(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", DOCS_EXAMPLES_DIR, e->d_name);
        DocsSchema s;
        DipError err = {0};
        if (!docs_schema_load(path, &s, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            fail();
        }
        assert_int_equal(s.ndocs, 1);
        assert_true(s.docs[0].nnodes >= 2);
        docs_schema_free(&s);
        n++;
    }
    closedir(dir);
    assert_int_equal(n, 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_level_errors),      cmocka_unit_test(test_json_syntax_errors),
        cmocka_unit_test(test_node_errors),           cmocka_unit_test(test_relationship_errors),
        cmocka_unit_test(test_column_errors),         cmocka_unit_test(test_transform_errors),
        cmocka_unit_test(test_depth_limit),           cmocka_unit_test(test_columns_and_defaults),
        cmocka_unit_test(test_env_substitution),      cmocka_unit_test(test_transform_parse),
        cmocka_unit_test(test_pgsync_examples_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
