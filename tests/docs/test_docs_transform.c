/* Unit tests of PGSync's transforms (src/docs/transform.c) and of the index mapping
 * (src/docs/mapping.c). The inputs and expected documents of the PGSync cases are those of
 * PGSync 7.3's tests/test_transform.py and README, written out here by hand; the dip cases
 * (scalar children, move, Python's str() of numbers) follow the rules in transform.c's
 * header. Documents are compared as JSON values (object key order aside). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs/docs.h"
#include "docs_test.h"
#include "docs/docs_internal.h"

static void load(const char *nodes, DocsSchema *s)
{
    Buf b;
    buf_init(&b);
    buf_printf(&b, "[{'database': 'd', 'nodes': %s}]", nodes);
    char *t = jq(buf_cstr(&b));
    DipError err = {0};
    bool ok = docs_schema_parse(t, strlen(t), "t.json", s, &err);
    if (!ok) fprintf(stderr, "%s\n", err.msg);
    assert_true(ok);
    free(t);
    buf_free(&b);
}

static void check(const char *nodes, const char *doc, const char *want)
{
    DocsSchema s;
    load(nodes, &s);
    json_t *d = jparse(doc);
    DipError err = {0};
    bool ok = docs_transform_apply(&s.docs[0], d, &err);
    if (!ok) fprintf(stderr, "%s\n", err.msg);
    assert_true(ok);
    expect_json(d, want);
    json_decref(d);
    docs_schema_free(&s);
}

#define OBJ121 "'relationship': {'variant': 'object', 'type': 'one_to_one'}"
#define OBJ12M "'relationship': {'variant': 'object', 'type': 'one_to_many'}"

/* test_transform.py: test_transform_rename */
static void test_pgsync_rename(void **state)
{
    (void)state;
    check("{'table': 'tableau', 'columns': ['id', 'code', 'level', 'foo', 'bar'],"
          " 'children': ["
          "  {'table': 'child_1', 'columns': ['column_1', 'column_2'], 'label': 'Child1', " OBJ121
          ",   'transform': {'rename': {'column_1': 'column1'}}},"
          "  {'table': 'child_2', 'columns': ['column_1', 'column_2'], 'label': 'Child2', " OBJ12M
          ",   'transform': {'rename': {'column_2': 'column2'}}}],"
          " 'transform': {'rename': {'id': 'my_id', 'code': 'my_code', 'level': 'levelup',"
          "   'foo': 'foos', 'bar': 'bars', 'xxx': 42}}}",
          "{'level': 1, 'id': '007', 'code': 'be', 'foo': ['a', 'b'], 'bar': {'a': 1, 'b': 2},"
          " 'xxx': '42.0',"
          " 'Child1': [{'column_1': 2, 'column_2': 'aa'}, {'column_1': 3, 'column_2': 'bb'}],"
          " 'Child2': [{'column_1': 2, 'column_2': 'aa'},"
          "            {'column_1': 3, 'column_2': 'bb', 'column_3': [1, 'a']}]}",
          "{'Child1': [{'column1': 2, 'column_2': 'aa'}, {'column1': 3, 'column_2': 'bb'}],"
          " 'Child2': [{'column2': 'aa', 'column_1': 2},"
          "            {'column2': 'bb', 'column_1': 3, 'column_3': [1, 'a']}],"
          " 'levelup': 1, 'my_code': 'be', 'my_id': '007', 'foos': ['a', 'b'],"
          " 'bars': {'a': 1, 'b': 2}, '42': '42.0'}");
    /* test_rename_fields, test_rename_nested_dict: the nested form */
    check("{'table': 't', 'transform': {'rename': {'id': 'my_id', 'code': 'my_code', "
          "'level': 'levelup', 'Child1': {'column_1': 'column1'}}}}",
          "{'level': 1, 'id': '007', 'code': 'be',"
          " 'Child1': [{'column_1': 2, 'column_2': 'aa'}, {'column_1': 3, 'column_2': 'bb'}],"
          " 'Child2': [{'column_1': 2, 'column_2': 'aa'}, {'column_1': 3, 'column_2': 'bb'}]}",
          "{'levelup': 1, 'my_id': '007', 'my_code': 'be',"
          " 'Child1': [{'column1': 2, 'column_2': 'aa'}, {'column1': 3, 'column_2': 'bb'}],"
          " 'Child2': [{'column_1': 2, 'column_2': 'aa'}, {'column_1': 3, 'column_2': 'bb'}]}");
    check("{'table': 't', 'transform': {'rename': {'Child1': {'inner_id': 'id', "
          "'inner_name': 'name'}}}}",
          "{'id': 1, 'Child1': {'inner_id': 100, 'inner_name': 'test', 'other': 'unchanged'}}",
          "{'id': 1, 'Child1': {'id': 100, 'name': 'test', 'other': 'unchanged'}}");
    /* test_rename_with_none_value, test_rename_empty_data */
    check("{'table': 't', 'transform': {'rename': {'code': 'my_code'}}}", "{'id': 1, 'code': null}",
          "{'id': 1, 'my_code': null}");
    check("{'table': 't', 'transform': {'rename': {'id': 'my_id'}}}", "{}", "{}");
}

/* test_transform.py: test_transform_concat, test_concat_fields and the concat edge cases */
static void test_pgsync_concat(void **state)
{
    (void)state;
    check("{'table': 'tableau', 'columns': ['id', 'code', 'level'], 'children': ["
          " {'table': 'Child1', 'columns': ['column_1', 'column_2'], " OBJ121 ","
          "  'transform': {'concat': {'columns': ['column_1', 'column_2'],"
          "   'destination': 'column_3', 'delimiter': '_'}}},"
          " {'table': 'Child2', 'columns': ['column1', 'column2'], " OBJ12M ","
          "  'transform': {'concat': ["
          "   {'columns': ['http', '://', 'column1', '/', 'path'], 'destination': 'column3'},"
          "   {'columns': ['http', '://', 'column1', '/', 'path'], 'destination': 'column4'}]}},"
          " {'table': 'Child3', 'columns': ['column_1', 'column_2'], " OBJ12M ","
          "  'transform': {'concat': {'columns': ['column_1', 'column_2'],"
          "   'destination': 'column_9', 'delimiter': '@'}}}],"
          " 'transform': {'concat': {'columns': ['id', 'level'], 'destination': 'column_x',"
          "  'delimiter': '='}}}",
          "{'level': 1, 'id': '007', 'code': 'be',"
          " 'Child1': [{'column_1': 2, 'column_2': 'aa'}, {'column_1': 3, 'column_2': 'bb'}],"
          " 'Child2': [{'column1': 2, 'column2': 'cc'}, {'column1': 3, 'column2': 'dd'}],"
          " 'Child3': {'column_1': 4, 'column_2': 'ee'}}",
          "{'Child1': [{'column_1': 2, 'column_2': 'aa', 'column_3': '2_aa'},"
          "            {'column_1': 3, 'column_2': 'bb', 'column_3': '3_bb'}],"
          " 'Child2': [{'column1': 2, 'column2': 'cc', 'column3': 'http://2/path',"
          "             'column4': 'http://2/path'},"
          "            {'column1': 3, 'column2': 'dd', 'column3': 'http://3/path',"
          "             'column4': 'http://3/path'}],"
          " 'Child3': {'column_1': 4, 'column_2': 'ee', 'column_9': '4@ee'},"
          " 'code': 'be', 'column_x': '007=1', 'id': '007', 'level': 1}");
    check("{'table': 't', 'transform': {'concat': {"
          " 'Child1': {'columns': ['column_1', 'column_2'], 'delimiter': '_',"
          "            'destination': 'column_3'},"
          " 'Child2': {'columns': ['column_1'], 'destination': 'column_3'}}}}",
          "{'level': 1, 'id': '007', 'code': 'be',"
          " 'Child1': [{'column_1': 2, 'column_2': 'aa'}, {'column_1': 3, 'column_2': 'bb'}],"
          " 'Child2': [{'column_1': 2, 'column_2': 'aa'}, {'column_1': 3, 'column_2': 'bb'}]}",
          "{'level': 1, 'id': '007', 'code': 'be',"
          " 'Child1': [{'column_1': 2, 'column_2': 'aa', 'column_3': '2_aa'},"
          "            {'column_1': 3, 'column_2': 'bb', 'column_3': '3_bb'}],"
          " 'Child2': [{'column_1': 2, 'column_2': 'aa', 'column_3': '2'},"
          "            {'column_1': 3, 'column_2': 'bb', 'column_3': '3'}]}");
#define CC                                                                                         \
    "{'table': 't', 'transform': {'concat': {'columns': ['first', 'second', 'third'], "            \
    "'destination': 'combined', 'delimiter': '-'}}}"
    check(CC, "{'id': 1, 'first': 'A'}", "{'id': 1, 'first': 'A', 'combined': 'A-second-third'}");
    check(CC, "{'first': 'A', 'second': null, 'third': 'C'}",
          "{'first': 'A', 'second': null, 'third': 'C', 'combined': 'A-C'}");
    check("{'table': 't', 'transform': {'concat': {'columns': ['first', 'second'], "
          "'destination': 'combined'}}}",
          "{'first': 'A', 'second': 'B'}", "{'first': 'A', 'second': 'B', 'combined': 'AB'}");
    /* Python's truthiness and str(): 0, 0.0, false, '' and [] are left out */
    check(CC, "{'first': 0, 'second': 0.0, 'third': false}",
          "{'first': 0, 'second': 0.0, 'third': false, 'combined': ''}");
    check(CC, "{'first': 2.5, 'second': true, 'third': 3.0}",
          "{'first': 2.5, 'second': true, 'third': 3.0, 'combined': '2.5-True-3.0'}");
    check(CC, "{'first': 1e16, 'second': [], 'third': 1e-05}",
          "{'first': 1e16, 'second': [], 'third': 1e-05, 'combined': '1e+16-1e-05'}");
#undef CC
}

/* test_transform.py: the replace cases, the README's table and the order of operations */
static void test_pgsync_replace(void **state)
{
    (void)state;
    check("{'table': 'product', 'columns': ['code', 'name'], 'transform': {'replace': "
          "{'code': {'-': '/', '_': ' '}}}}",
          "{'code': 'ABC-DEF_GHI', 'name': 'x'}", "{'code': 'ABC/DEF GHI', 'name': 'x'}");
    check("{'table': 't', 'transform': {'replace': {'code': {'-': '=', '_': ' '}}}}",
          "{'id': 1, 'code': 'ABC-DEF_GHI', 'name': 'unchanged'}",
          "{'id': 1, 'code': 'ABC=DEF GHI', 'name': 'unchanged'}");
    check("{'table': 't', 'transform': {'replace': {'code': {'-': '='}, 'name': {'@': ' at '}}}}",
          "{'id': 1, 'code': 'A-B-C', 'name': 'user@example.com'}",
          "{'id': 1, 'code': 'A=B=C', 'name': 'user at example.com'}");
    check("{'table': 't', 'transform': {'replace': {'Child1': {'code': {'-': '_'}}}}}",
          "{'id': 1, 'Child1': {'code': 'A-B-C', 'name': 'unchanged'}}",
          "{'id': 1, 'Child1': {'code': 'A_B_C', 'name': 'unchanged'}}");
    check("{'table': 't', 'transform': {'replace': {'codes': {'-': '='}}}}",
          "{'id': 1, 'codes': ['A-B', 'C-D', 'E-F']}", "{'id': 1, 'codes': ['A=B', 'C=D', 'E=F']}");
    check("{'table': 't', 'transform': {'replace': {'Child1': {'code': {'-': '='}}}}}",
          "{'id': 1, 'Child1': [{'code': 'A-B', 'name': 'first'}, {'code': 'C-D', 'name': "
          "'second'}]}",
          "{'id': 1, 'Child1': [{'code': 'A=B', 'name': 'first'}, {'code': 'C=D', 'name': "
          "'second'}]}");
    check("{'table': 'parent', 'columns': ['id', 'code'], 'children': [{'table': 'child_1',"
          " 'columns': ['code', 'name'], 'label': 'Child1', " OBJ121 ","
          " 'transform': {'replace': {'code': {'-': '_'}}}}],"
          " 'transform': {'replace': {'code': {'@': '#'}}}}",
          "{'id': 1, 'code': 'A@B@C', 'Child1': {'code': 'X-Y-Z', 'name': 'test'}}",
          "{'id': 1, 'code': 'A#B#C', 'Child1': {'code': 'X_Y_Z', 'name': 'test'}}");
    check("{'table': 't', 'transform': {'replace': {'code': {'-': '='}}}}",
          "{'id': 1, 'code': 'ABCDEF'}", "{'id': 1, 'code': 'ABCDEF'}");
    check("{'table': 't', 'transform': {'replace': {'code': {'-': ''}}}}",
          "{'id': 1, 'code': 'A-B-C'}", "{'id': 1, 'code': 'ABC'}");
    /* non-strings are left as they are */
    check("{'table': 't', 'transform': {'replace': {'code': {'1': '2'}, 'n': {'1': '2'}}}}",
          "{'code': 123, 'n': null}", "{'code': 123, 'n': null}");
    /* replacements apply in the order written: '-' -> '+' then '+' -> '*' */
    check("{'table': 't', 'transform': {'replace': {'code': {'-': '+', '+': '*'}}}}",
          "{'code': 'a-b+c'}", "{'code': 'a*b*c'}");
    /* test_transform_order_of_operations */
    check("{'table': 't', 'transform': {'replace': {'code': {'-': '_'}},"
          " 'rename': {'code': 'product_code'},"
          " 'concat': {'columns': ['id', 'product_code'], 'destination': 'full_code',"
          "  'delimiter': ':'}}}",
          "{'id': '001', 'code': 'A-B-C'}",
          "{'id': '001', 'product_code': 'A_B_C', 'full_code': '001:A_B_C'}");
}

/* The rule: replace on the values of a scalar child (PGSync drops them). */
static void test_scalar_child_replace(void **state)
{
    (void)state;
    check("{'table': 'book', 'columns': ['isbn'], 'children': [{'table': 'language',"
          " 'columns': ['code'], 'label': 'languages', 'relationship': {'variant': 'scalar',"
          " 'type': 'one_to_many', 'through_tables': ['book_language']},"
          " 'transform': {'replace': {'code': {'-': '='}}}},"
          " {'table': 'publisher', 'columns': ['name'], 'label': 'pub', 'relationship':"
          " {'variant': 'scalar', 'type': 'one_to_one'},"
          " 'transform': {'replace': {'name': {' ': '_'}}}}]}",
          "{'isbn': '1-2', 'languages': ['en-GB', 'fr-FR', null], 'pub': 'A B C'}",
          "{'isbn': '1-2', 'languages': ['en=GB', 'fr=FR', null], 'pub': 'A_B_C'}");
    /* the parent's replace keyed by the child's label works too */
    check("{'table': 'book', 'columns': ['isbn'], 'transform': {'replace': {'languages':"
          " {'-': '_'}}}, 'children': [{'table': 'language', 'columns': ['code'],"
          " 'label': 'languages', 'relationship': {'variant': 'scalar', 'type': 'one_to_many'}}]}",
          "{'isbn': '1-2', 'languages': ['en-GB']}", "{'isbn': '1-2', 'languages': ['en_GB']}");
    /* no related rows: null stays null */
    check("{'table': 'book', 'children': [{'table': 'language', 'columns': ['code'],"
          " 'label': 'languages', 'relationship': {'variant': 'scalar', 'type': 'one_to_many'},"
          " 'transform': {'replace': {'code': {'-': '='}}}}]}",
          "{'languages': null}", "{'languages': null}");
}

/* A child renamed by its parent still gets its own concat (dip finds it by the new name). */
static void test_renamed_child(void **state)
{
    (void)state;
    check("{'table': 'book', 'transform': {'rename': {'publisher': 'pub'}}, 'children': ["
          " {'table': 'publisher', " OBJ121 ", 'transform': {'rename': {'id': 'pid'},"
          "  'concat': {'columns': ['pid', 'name'], 'destination': 'label', 'delimiter': ' '}}}]}",
          "{'id': 1, 'publisher': {'id': 7, 'name': 'Acme'}}",
          "{'id': 1, 'pub': {'pid': 7, 'name': 'Acme', 'label': '7 Acme'}}");
}

static void test_move(void **state)
{
    (void)state;
    /* one_to_one child: the value moves to the root path (objects created) */
    check(
        "{'table': 'book', 'children': [{'table': 'publisher', 'label': 'publisher_label', " OBJ121
        ", 'transform': {'rename': {'id': 'publisher_id'},"
        " 'move': {'column': 'id', 'destination': '$root.author.author_id'}}}]}",
        "{'isbn': 'x', 'publisher_label': {'id': 4, 'name': 'P'}}",
        "{'isbn': 'x', 'publisher_label': {'name': 'P'}, 'author': {'author_id': 4}}");
    /* one_to_many: an array of the values, in document order */
    check("{'table': 'book', 'children': [{'table': 'author', 'label': 'authors', " OBJ12M
          ", 'transform': {'move': {'column': 'name', 'destination': '$root.author_names'}}}]}",
          "{'authors': [{'id': 1, 'name': 'A'}, {'id': 2, 'name': 'B'}]}",
          "{'authors': [{'id': 1}, {'id': 2}], 'author_names': ['A', 'B']}");
    check("{'table': 'book', 'children': [{'table': 'author', 'label': 'authors', " OBJ12M
          ", 'transform': {'move': {'column': 'name', 'destination': '$root.author_names'}}}]}",
          "{'authors': null}", "{'authors': null, 'author_names': null}");
    /* relative: within each object */
    check("{'table': 'book', 'children': [{'table': 'author', 'label': 'authors', " OBJ12M
          ", 'transform': {'move': {'column': 'city', 'destination': 'address.city'}}}]}",
          "{'authors': [{'id': 1, 'city': 'X'}, {'id': 2}]}",
          "{'authors': [{'id': 1, 'address': {'city': 'X'}}, {'id': 2}]}");
    /* a destination through a non-object is a data error naming the node */
    DocsSchema s;
    load("{'table': 'book', 'transform': {'move': {'column': 'a', 'destination': 'b.c'}}}", &s);
    json_t *d = jparse("{'a': 1, 'b': 'text'}");
    DipError err = {0};
    assert_false(docs_transform_apply(&s.docs[0], d, &err));
    assert_int_equal(err.kind, DIP_ERR_DATA);
    assert_string_equal(err.msg, "[0].nodes: transform.move to b: \"b\" holds a string, not an "
                                 "object");
    json_decref(d);
    docs_schema_free(&s);
}

static void test_py_float_str(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *s;
    } cases[] = {{2.5, "2.5"},
                 {3.0, "3.0"},
                 {1e16, "1e+16"},
                 {1e15, "1000000000000000.0"},
                 {0.0001, "0.0001"},
                 {1e-05, "1e-05"},
                 {-0.5, "-0.5"},
                 {0.1, "0.1"},
                 {123456789.125, "123456789.125"},
                 {1.5e300, "1.5e+300"},
                 {-0.0, "-0.0"},
                 {1.0 / 3.0, "0.3333333333333333"},
                 {123456789012345680.0, "1.2345678901234568e+17"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Buf b;
        buf_init(&b);
        docs_py_float_str(cases[i].v, &b);
        if (strcmp(buf_cstr(&b), cases[i].s) != 0) {
            fprintf(stderr, "%.17g: expected %s, got %s\n", cases[i].v, cases[i].s, buf_cstr(&b));
            fail();
        }
        buf_free(&b);
    }
}

static void mapping_check(const char *schema, const char *want)
{
    char *t = jq(schema);
    DocsSchema s;
    DipError err = {0};
    bool ok = docs_schema_parse(t, strlen(t), "t.json", &s, &err);
    if (!ok) fprintf(stderr, "%s\n", err.msg);
    assert_true(ok);
    json_t *body = NULL;
    assert_true(docs_mapping_build(&s.docs[0], &body, &err));
    if (want) {
        assert_non_null(body);
        expect_json(body, want);
    } else {
        assert_null(body);
    }
    json_decref(body);
    docs_schema_free(&s);
    free(t);
}

static void test_mapping(void **state)
{
    (void)state;
    /* from the nodes' transform.mapping, nested under the labels, fields by their new name */
    mapping_check("[{'database': 'd', 'routing': 'book_isbn', 'nodes': {'table': 'book',"
                  " 'transform': {'rename': {'id': 'book_id'}, 'mapping': {'book_id': {'type':"
                  " 'long'}, 'title': {'type': 'text', 'analyzer': 'a'}}},"
                  " 'children': [{'table': 'publisher', 'label': 'publisher_label', " OBJ121 ","
                  "  'transform': {'mapping': {'id': {'type': 'long'}}},"
                  "  'children': [{'table': 'city', " OBJ121 "}]},"
                  " {'table': 'author', " OBJ12M ", 'children': [{'table': 'country', " OBJ121
                  ", 'transform': {'mapping': {'name': {'type': 'keyword'}}}}]}]}}]",
                  "{'mappings': {'_routing': {'required': true}, 'properties': {"
                  " 'book_id': {'type': 'long'}, 'title': {'type': 'text', 'analyzer': 'a'},"
                  " 'publisher_label': {'properties': {'id': {'type': 'long'}}},"
                  " 'author': {'properties': {'country': {'properties': {'name':"
                  " {'type': 'keyword'}}}}}}}}");
    /* the mapping may also be keyed by the old name of a renamed field */
    mapping_check("[{'database': 'd', 'nodes': {'table': 'book', 'transform': {'rename':"
                  " {'id': 'book_id'}, 'mapping': {'id': {'type': 'long'}}}}}]",
                  "{'mappings': {'properties': {'book_id': {'type': 'long'}}}}");
    /* setting and mapping given */
    mapping_check("[{'database': 'd', 'setting': {'analysis': {'x': 1}}, 'mapping': {'authors':"
                  " {'type': 'nested'}}, 'mappings': {'properties': {'age': {'type': 'integer'}}},"
                  " 'nodes': {'table': 'book', 'transform': {'mapping': {'id': {'type':"
                  " 'long'}}}}}]",
                  "{'settings': {'index': {'analysis': {'x': 1}}},"
                  " 'mappings': {'properties': {'authors': {'type': 'nested'}}}}");
    mapping_check("[{'database': 'd', 'mapping': {'dynamic_templates': [{'s': {'match': '*'}}]},"
                  " 'nodes': {'table': 'book'}}]",
                  "{'mappings': {'dynamic_templates': [{'s': {'match': '*'}}]}}");
    /* mappings only: sent as the mappings object */
    mapping_check("[{'database': 'd', 'mappings': {'properties': {'age': {'type': 'integer'}}},"
                  " 'nodes': {'table': 'book'}}]",
                  "{'mappings': {'properties': {'age': {'type': 'integer'}}}}");
    mapping_check("[{'database': 'd', 'nodes': {'table': 'book'}}]", NULL);
}

/* PGSync's book example: its top-level mapping wins over every transform.mapping. */
static void test_mapping_book_example(void **state)
{
    (void)state;
    DocsSchema s;
    DipError err = {0};
    assert_true(docs_schema_load(DOCS_EXAMPLES_DIR "/book.json", &s, &err));
    json_t *body = NULL;
    assert_true(docs_mapping_build(&s.docs[0], &body, &err));
    assert_non_null(body);
    expect_json(json_object_get(body, "mappings"), "{'properties': {'authors': {'type': "
                                                   "'nested'}}}");
    json_t *an =
        json_object_get(json_object_get(json_object_get(body, "settings"), "index"), "analysis");
    assert_non_null(json_object_get(an, "tokenizer"));
    json_decref(body);
    docs_schema_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pgsync_rename),        cmocka_unit_test(test_pgsync_concat),
        cmocka_unit_test(test_pgsync_replace),       cmocka_unit_test(test_scalar_child_replace),
        cmocka_unit_test(test_renamed_child),        cmocka_unit_test(test_move),
        cmocka_unit_test(test_py_float_str),         cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_mapping_book_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
