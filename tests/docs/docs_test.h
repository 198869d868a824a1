/* docs_test.h: helpers shared by the docs unit tests (JSON written with ' for " so test
 * cases stay readable, and JSON value comparison with both sides printed on a mismatch). */
#ifndef DOCS_TEST_H
#define DOCS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docs/docs.h"

static inline char *jq(const char *s)
{
    char *r = strdup(s);
    for (char *p = r; *p; p++)
        if (*p == '\'') *p = '"';
    return r;
}

static inline json_t *jparse(const char *s)
{
    char *t = jq(s);
    json_error_t je;
    json_t *v = json_loads(t, 0, &je);
    if (!v) fprintf(stderr, "bad test JSON: %s: %s\n", je.text, t);
    free(t);
    assert_non_null(v);
    return v;
}

/* got equals the JSON written in want_s (object key order aside, 1 and 1.0 differ). */
static inline void expect_json(json_t *got, const char *want_s)
{
    json_t *want = jparse(want_s);
    if (!json_equal(got, want)) {
        char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);
        fprintf(stderr, "expected: %s\ngot:      %s\n", w, g);
        free(g);
        free(w);
        json_decref(want);
        fail();
    }
    json_decref(want);
}

#endif
