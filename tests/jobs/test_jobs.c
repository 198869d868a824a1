/*
 * test_jobs.c: unit tests of the jobs module's pure parts: the (hk, hdiff) fingerprint set
 * of sync-pg's pre-filter (hkset.h: insert, overwrite, absent keys, growth across many
 * resizes with every entry kept) and the --task JSON of `dip sync-pg --task` (task_json.h:
 * the object, a one-element list, and every refusal with its message).
 */
#include "jobs/hkset.h"
#include "jobs/task_json.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_hkset_basic(void **state)
{
    (void)state;
    HkSet s;
    hkset_init(&s, 0);
    uint64_t v = 0;
    assert_false(hkset_get(&s, 42, &v));
    hkset_put(&s, 42, 7);
    assert_true(hkset_get(&s, 42, &v));
    assert_int_equal(v, 7);
    hkset_put(&s, 42, 8); /* overwrite, no second entry */
    assert_true(hkset_get(&s, 42, &v));
    assert_int_equal(v, 8);
    assert_int_equal(s.n, 1);
    /* keys colliding in the low bits probe on, and each keeps its own value */
    uint64_t step = (uint64_t)s.cap;
    hkset_put(&s, 42 + step, 9);
    hkset_put(&s, 42 + 2 * step, 10);
    assert_true(hkset_get(&s, 42 + step, &v));
    assert_int_equal(v, 9);
    assert_true(hkset_get(&s, 42 + 2 * step, &v));
    assert_int_equal(v, 10);
    assert_false(hkset_get(&s, 42 + 3 * step, &v));
    hkset_free(&s);
}

static void test_hkset_growth(void **state)
{
    (void)state;
    HkSet s;
    hkset_init(&s, 10); /* far too small: grows many times */
    size_t cap0 = s.cap;
    const uint64_t n = 200000;
    for (uint64_t i = 1; i <= n; i++)
        hkset_put(&s, i * 0x9E3779B97F4A7C15ull | 1, i);
    assert_int_equal(s.n, n);
    assert_true(s.cap > cap0);
    assert_true(s.n * 10 <= s.cap * 7); /* the 70% load bound held */
    for (uint64_t i = 1; i <= n; i++) {
        uint64_t v = 0;
        if (!hkset_get(&s, i * 0x9E3779B97F4A7C15ull | 1, &v) || v != i)
            fail_msg("entry %llu lost or wrong after growth", (unsigned long long)i);
    }
    uint64_t v;
    assert_false(hkset_get(&s, 2, &v)); /* even keys were never inserted */
    hkset_free(&s);
}

static void test_hkset_key(void **state)
{
    (void)state;
    /* fingerprints are deterministic, differ for different hks, and are never 0 (the
     * empty-slot mark) */
    assert_true(hkset_key("a", 1) == hkset_key("a", 1));
    assert_true(hkset_key("a", 1) != hkset_key("b", 1));
    for (int i = 0; i < 1000; i++) {
        char k[16];
        assert_true(dip_snprintf(k, sizeof k, "hk-%d", i));
        assert_true(hkset_key(k, strlen(k)) != 0);
    }
    assert_true(hkset_key("", 0) != 0);
}

static void test_task_json_ok(void **state)
{
    (void)state;
    char *in = NULL, *out = NULL, eb[256];
    assert_true(sync_pg_task_parse(
        "{\"input_delta_table\": \"s3://b/t\", \"output_postgres_table\": \"gold.t\"}", &in, &out,
        eb, sizeof eb));
    assert_string_equal(in, "s3://b/t");
    assert_string_equal(out, "gold.t");
    free(in);
    free(out);
    /* get_tasks() prints a list of at most one task: that form is accepted too */
    assert_true(sync_pg_task_parse("[{\"output_postgres_table\": \"g.\\u00e9\", "
                                   "\"input_delta_table\": \"/d\", \"extra\": 1}]",
                                   &in, &out, eb, sizeof eb));
    assert_string_equal(in, "/d");
    assert_string_equal(out, "g.\xc3\xa9");
    free(in);
    free(out);
}

static void expect_refused(const char *text, const char *msg_part)
{
    char *in = NULL, *out = NULL, eb[256] = "";
    if (sync_pg_task_parse(text, &in, &out, eb, sizeof eb)) fail_msg("accepted: %s", text);
    if (!strstr(eb, msg_part)) fail_msg("%s: message '%s' lacks '%s'", text, eb, msg_part);
    assert_null(in);
    assert_null(out);
}

static void test_task_json_refused(void **state)
{
    (void)state;
    expect_refused("{\"input_delta_table\": ", "not JSON");
    expect_refused("nope", "column");
    expect_refused("{}", "expected {\"input_delta_table\"");
    expect_refused("{\"input_delta_table\": \"/d\"}", "output_postgres_table");
    expect_refused("{\"input_delta_table\": \"\", \"output_postgres_table\": \"g.t\"}", "expected");
    expect_refused("{\"input_delta_table\": 5, \"output_postgres_table\": \"g.t\"}", "expected");
    expect_refused("[]", "expected");
    expect_refused("[{\"input_delta_table\": \"/a\", \"output_postgres_table\": \"g.a\"},"
                   " {\"input_delta_table\": \"/b\", \"output_postgres_table\": \"g.b\"}]",
                   "expected");
    expect_refused("\"a string\"", "expected");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hkset_basic),       cmocka_unit_test(test_hkset_growth),
        cmocka_unit_test(test_hkset_key),         cmocka_unit_test(test_task_json_ok),
        cmocka_unit_test(test_task_json_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
