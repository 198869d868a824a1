/* Unit tests of the Lua plugins (src/docs/plugin.c) and of the shipped examples
 * examples/plugins/slug.lua and mask_email.lua: values keep their JSON types on the way
 * through Lua, nil drops a document, scripts run in order in separate globals inside a
 * sandbox, and every failure (syntax, runtime, runaway loop, memory hog, values without a
 * JSON form, a missing plugin) is an error naming the script. Expected outputs are written
 * from the scripts' documented rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs/docs.h"
#include "docs_test.h"

typedef struct Fix {
    DocsSchema s;
    DocsPlugins *p;
} Fix;

/* A schema whose plugins list is `plugins` (a JSON array text). */
static bool open_plugins(Fix *f, const char *plugins, int64_t max_instr, DipError *err)
{
    Buf b;
    buf_init(&b);
    buf_printf(&b, "[{'database': 'd', 'plugins': %s, 'nodes': {'table': 't'}}]", plugins);
    char *t = jq(buf_cstr(&b));
    buf_free(&b);
    bool ok = docs_schema_parse(t, strlen(t), "t.json", &f->s, err);
    free(t);
    assert_true(ok);
    f->p = NULL;
    return docs_plugins_open(&f->s, &f->s.docs[0], max_instr, &f->p, err);
}

static void fix_close(Fix *f)
{
    docs_plugins_close(f->p);
    docs_schema_free(&f->s);
}

static int setup(void **state)
{
    (void)state;
    setenv("DIP_PLUGIN_PATH", DOCS_TEST_DIR "/plugins:" DOCS_PLUGINS_DIR, 1);
    unsetenv("DIP_PLUGIN_MAX_MEMORY");
    return 0;
}

static void test_examples(void **state)
{
    (void)state;
    Fix f;
    DipError err = {0};
    assert_true(open_plugins(&f, "['slug', 'mask_email']", 0, &err));
    json_t *doc = jparse("{'id': 1, 'title': 'Hello World! This is a Test',"
                         " 'email': 'jane.doe@example.com', 'contact': 'bob@ex.io',"
                         " 'note': 'write to a@b.c today',"
                         " 'authors': [{'name': 'N', 'email': 'x@y.org'}, {'email': null}]}");
    assert_true(docs_plugins_apply(f.p, &doc, "1", "books", &err));
    expect_json(doc, "{'id': 1, 'title': 'Hello World! This is a Test',"
                     " 'slug': 'hello-world-this-is-a-test',"
                     " 'email': 'j***@example.com', 'contact': 'b***@ex.io',"
                     " 'note': 'write to a@b.c today',"
                     " 'authors': [{'name': 'N', 'email': '***@y.org'}, {'email': null}]}");
    json_decref(doc);
    /* slug: separators collapse, punctuation and non-ASCII bytes go, no hyphen at the ends */
    doc = jparse("{'title': '  \\u00c7a va? _under_score-- '}");
    assert_true(docs_plugins_apply(f.p, &doc, "2", "books", &err));
    expect_json(doc, "{'title': '  \\u00c7a va? _under_score-- ', 'slug': 'a-va-under-score'}");
    json_decref(doc);
    /* no title: unchanged */
    doc = jparse("{'title': 5}");
    assert_true(docs_plugins_apply(f.p, &doc, "3", "books", &err));
    expect_json(doc, "{'title': 5}");
    json_decref(doc);
    /* a long title is cut at a hyphen within 100 bytes */
    Buf t;
    buf_init(&t);
    for (int i = 0; i < 30; i++)
        buf_append_str(&t, "word ");
    doc = json_pack("{s:s}", "title", buf_cstr(&t));
    assert_true(docs_plugins_apply(f.p, &doc, "4", "books", &err));
    const char *slug = json_string_value(json_object_get(doc, "slug"));
    assert_non_null(slug);
    assert_int_equal(strlen(slug), 99); /* 20 x "word" + 19 hyphens */
    json_decref(doc);
    buf_free(&t);
    fix_close(&f);
}

static void test_values_round_trip(void **state)
{
    (void)state;
    Fix f;
    DipError err = {0};
    assert_true(open_plugins(&f, "['passthrough']", 0, &err));
    const char *src = "{'i': 1, 'f': 1.0, 'n': null, 'e': [], 'o': {}, 'a': [1, null, 2.5],"
                      " 'big': 9007199254740993, 's': '\\u00fc\\u20ac', 'b': false, 't': true,"
                      " 'nested': {'x': [{'y': [[]]}]}}";
    json_t *doc = jparse(src);
    assert_true(docs_plugins_apply(f.p, &doc, "1", "i", &err));
    expect_json(doc, src);
    assert_true(json_is_real(json_object_get(doc, "f")));
    assert_true(json_is_integer(json_object_get(doc, "i")));
    assert_int_equal(json_integer_value(json_object_get(doc, "big")), 9007199254740993LL);
    assert_true(json_is_array(json_object_get(doc, "e")));
    assert_true(json_is_object(json_object_get(doc, "o")));
    json_decref(doc);
    fix_close(&f);

    assert_true(open_plugins(&f, "['make_values']", 0, &err));
    doc = jparse("{}");
    assert_true(docs_plugins_apply(f.p, &doc, "7|x", "books_v1", &err));
    expect_json(doc, "{'a': [1, 2, 3], 'b': {}, 'c': [], 'd': {'x': null},"
                     " 'e': 9007199254740992.0, 'f': 3, 'g': 'caf\\u00e9', 'id': '7|x',"
                     " 'index': 'books_v1'}");
    assert_true(json_is_real(json_object_get(doc, "e")));
    assert_true(json_is_integer(json_object_get(doc, "f")));
    json_decref(doc);
    fix_close(&f);
}

static void test_drop_and_order(void **state)
{
    (void)state;
    Fix f;
    DipError err = {0};
    assert_true(open_plugins(&f, "['drop_flagged', 'slug']", 0, &err));
    json_t *doc = jparse("{'skip': true, 'title': 'A'}");
    assert_true(docs_plugins_apply(f.p, &doc, "1", "i", &err));
    assert_null(doc);
    doc = jparse("{'skip': false, 'title': 'A B'}");
    assert_true(docs_plugins_apply(f.p, &doc, "2", "i", &err));
    expect_json(doc, "{'skip': false, 'title': 'A B', 'slug': 'a-b'}");
    json_decref(doc);
    fix_close(&f);
    /* globals of one script are not visible to the next; no io, os, dofile, require */
    assert_true(open_plugins(&f, "['sandbox', 'sees_leak']", 0, &err));
    doc = jparse("{}");
    assert_true(docs_plugins_apply(f.p, &doc, "1", "i", &err));
    expect_json(doc, "{'has_io': false, 'has_os': false, 'has_dofile': false, 'has_require': "
                     "false, 'leak': 'none'}");
    json_decref(doc);
    fix_close(&f);
}

static void expect_apply_error(const char *plugins, int64_t max_instr, const char *needle1,
                               const char *needle2)
{
    Fix f;
    DipError err = {0};
    assert_true(open_plugins(&f, plugins, max_instr, &err));
    json_t *doc = jparse("{'title': 'x'}");
    json_t *keep = json_incref(doc);
    bool ok = docs_plugins_apply(f.p, &doc, "42", "i", &err);
    if (ok || !strstr(err.msg, needle1) || (needle2 && !strstr(err.msg, needle2))) {
        fprintf(stderr, "plugins %s: expected \"%s\" and \"%s\", got: %s\n", plugins, needle1,
                needle2 ? needle2 : "", ok ? "(no error)" : err.msg);
        fail();
    }
    assert_ptr_equal(doc, keep); /* the document is left as it was */
    json_decref(keep);
    json_decref(doc);
    /* the state stays usable after an error */
    fix_close(&f);
}

static void test_script_errors(void **state)
{
    (void)state;
    expect_apply_error("['boom']", 0, "plugin boom (document 42): ", "boom.lua:2: kaboom");
    expect_apply_error("['runaway']", 100000,
                       "plugin runaway (document 42): ", "instruction limit of 100000 exceeded");
    setenv("DIP_PLUGIN_MAX_MEMORY", "8388608", 1);
    expect_apply_error("['hog']", 1000000000, "plugin hog (document 42): ", "not enough memory");
    unsetenv("DIP_PLUGIN_MAX_MEMORY");
    expect_apply_error("['returns_number']", 0,
                       "plugin returns_number (document 42): returned "
                       "number, expected the document (a table) or nil",
                       NULL);
    expect_apply_error("['returns_function']", 0,
                       "plugin returns_function (document 42): its "
                       "result cannot be indexed: a function has no "
                       "JSON form",
                       NULL);
    expect_apply_error("['passthrough', 'mixed_table']", 0,
                       "plugin mixed_table (document 42): its result cannot be indexed: a table "
                       "mixing array and object keys",
                       NULL);
    expect_apply_error("['bad_key']", 0,
                       "plugin bad_key (document 42): its result cannot be indexed: an object key "
                       "that is not valid UTF-8",
                       NULL);
}

static void expect_open_error(const char *plugins, const char *needle1, const char *needle2)
{
    Fix f;
    DipError err = {0};
    bool ok = open_plugins(&f, plugins, 0, &err);
    if (ok || !strstr(err.msg, needle1) || (needle2 && !strstr(err.msg, needle2))) {
        fprintf(stderr, "plugins %s: expected \"%s\" and \"%s\", got: %s\n", plugins, needle1,
                needle2 ? needle2 : "", ok ? "(no error)" : err.msg);
        fail();
    }
    assert_null(f.p);
    docs_schema_free(&f.s);
}

static void test_load_errors(void **state)
{
    (void)state;
    expect_open_error("['bad_syntax']", "plugin bad_syntax: ", "bad_syntax.lua:3:");
    expect_open_error("['not_a_function']", "plugin not_a_function: ",
                      "not_a_function.lua returned number: expected `return function(doc, meta) "
                      "... end`");
    expect_open_error("['slug', 'nope']",
                      "t.json: [0].plugins[1]: plugin \"nope\" not found (tried ",
                      "/plugins/nope.lua; set DIP_PLUGIN_PATH)");
    expect_open_error("['../etc/passwd']",
                      "t.json: [0].plugins[0]: \"../etc/passwd\": expected a "
                      "name of letters, digits, _ and - (looked up as "
                      "NAME.lua) or a path ending in .lua",
                      NULL);
    expect_open_error("['missing/x.lua']",
                      "t.json: [0].plugins[0]: plugin file ./missing/x.lua "
                      "not found",
                      NULL);
    /* a path ending in .lua is taken relative to the schema's directory */
    Fix f;
    DipError err = {0};
    assert_true(open_plugins(&f, "['" DOCS_PLUGINS_DIR "/slug.lua']", 0, &err));
    assert_non_null(f.p);
    fix_close(&f);
    /* no plugins: nothing to open */
    assert_true(open_plugins(&f, "[]", 0, &err));
    assert_null(f.p);
    json_t *doc = jparse("{'a': 1}");
    assert_true(docs_plugins_apply(NULL, &doc, "1", "i", &err));
    expect_json(doc, "{'a': 1}");
    json_decref(doc);
    fix_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_examples, setup),
        cmocka_unit_test_setup(test_values_round_trip, setup),
        cmocka_unit_test_setup(test_drop_and_order, setup),
        cmocka_unit_test_setup(test_script_errors, setup),
        cmocka_unit_test_setup(test_load_errors, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
