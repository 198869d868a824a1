/*
 * test_render.c: docs_render_value against PostgreSQL's own to_json.
 *
 * For many values of every type (generated in SQL: extremes, random values, special values,
 * arrays of several dimensions and bounds, domains), the test selects v and to_json(v)::text
 * from the same server under dip's session settings, renders v's text with dip, and requires
 * the two texts to be equal byte for byte. Runs under several session time zones (to_json
 * renders timestamptz in the session zone). Needs a PostgreSQL reachable through the PG*
 * environment (tests/pg/with-pg.sh starts a private one).
 */
#include "docs/build.h"

#include <stdio.h>
#include <string.h>

static int passed, failed;

static void check(bool cond, const char *what)
{
    if (cond) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "FAIL: %s\n", what);
    }
}

/* Each query yields one column v; the test adds to_json(v) beside it. */
static const char *const QUERIES[] = {
    "SELECT v::int2 FROM (VALUES (-32768), (32767), (0), (-1)) t(v)",
    "SELECT (i * 7919 - 50000)::int4 FROM generate_series(1, 200) i",
    "SELECT v::int4 FROM (VALUES (-2147483648), (2147483647)) t(v)",
    "SELECT v::int8 FROM (VALUES (-9223372036854775808), (9223372036854775807), "
    "(9007199254740993)) t(v)",
    "SELECT v::numeric FROM (VALUES ('0'), ('-0.000'), ('1e-20'), ('NaN'), ('Infinity'), "
    "('-Infinity'), ('123456789012345678901234567890.1234567890'), ('1.50'), ('-7e40')) t(v)",
    "SELECT (random() * 10 ^ (i % 30) - 5)::numeric(60, 10) FROM generate_series(1, 300) i",
    "SELECT v::float8 FROM (VALUES ('0.1'), ('-0'), ('1e300'), ('1e-300'), ('NaN'), "
    "('Infinity'), ('-Infinity'), ('4.9e-324'), ('1.7976931348623157e308'), ('123456789')) t(v)",
    "SELECT (random() * 10 ^ (i % 40 - 20))::float8 FROM generate_series(1, 300) i",
    "SELECT (random() * 10 ^ (i % 20 - 10))::float4 FROM generate_series(1, 300) i",
    "SELECT v::float4 FROM (VALUES ('NaN'), ('Infinity'), ('3.4028235e38'), ('1e-45')) t(v)",
    "SELECT v::bool FROM (VALUES (true), (false)) t(v)",
    "SELECT chr(i) || 'x\"y\\z' || chr(i + 900) FROM generate_series(1, 300) i",
    "SELECT v::text FROM (VALUES (''), ('tab\there'), (E'nl\\nr\\rb\\bf\\f'), ('\u00e9\u4e2d'), "
    "(E'\\U0001F600'), (chr(127)), ('/slash'), ('NULL'), ('{a,b}')) t(v)",
    "SELECT v::varchar(10) FROM (VALUES ('a'), ('quote\"')) t(v)",
    "SELECT v::char(5) FROM (VALUES ('ab'), (''), ('abcde')) t(v)",
    "SELECT v::name FROM (VALUES ('pg_class')) t(v)",
    "SELECT v::date FROM (VALUES ('2024-02-29'), ('infinity'), ('-infinity'), "
    "('0044-03-15 BC'), ('5874897-12-31'), ('4713-01-01 BC'), ('0001-01-01')) t(v)",
    "SELECT date '1900-01-01' + i * 97 FROM generate_series(0, 300) i",
    "SELECT v::timestamp FROM (VALUES ('2024-02-29 13:45:00.5'), ('2024-02-29 13:45:00'), "
    "('2000-01-01 00:00:00.000001'), ('infinity'), ('-infinity'), ('0044-03-15 12:00:00 BC'), "
    "('294276-12-31 23:59:59.999999'), ('4713-01-01 00:00:00 BC')) t(v)",
    "SELECT timestamp '1960-01-01' + i * interval '37 days 3 hours 17 min 1.123457 s' "
    "FROM generate_series(0, 300) i",
    "SELECT v::timestamptz FROM (VALUES ('2024-02-29 13:45:00.5+00'), "
    "('2024-07-01 00:00:00+05:30'), ('1850-01-01 12:00:00'), ('infinity'), ('-infinity'), "
    "('0044-03-15 12:00:00+00 BC'), ('1900-01-01 00:00:00 Europe/Amsterdam')) t(v)",
    "SELECT timestamptz '1890-01-01 00:00:00+00' + i * interval '131 days 7 hours 3.5 s' "
    "FROM generate_series(0, 300) i",
    "SELECT v::time FROM (VALUES ('13:45:00.5'), ('00:00'), ('24:00:00'), ('23:59:59.999999')) "
    "t(v)",
    "SELECT v::timetz FROM (VALUES ('13:45:00.5+05:30'), ('00:00+00'), ('10:00-03:30')) t(v)",
    "SELECT v::interval FROM (VALUES ('1 year 2 mons 3 days 04:05:06.7'), ('-1 day'), ('0'), "
    "('P1Y2M'), ('1000000 hours'), ('-00:00:00.000001')) t(v)",
    "SELECT v::uuid FROM (VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')) t(v)",
    "SELECT v::bytea FROM (VALUES ('\\x'), ('\\x00ff10'), ('abc')) t(v)",
    "SELECT v::json FROM (VALUES ('{\"a\" :  1, \"b\":[1 ,2]}'), ('\"s\"'), ('null'), "
    "('  3.0  '), ('{\"a\":1,\"a\":2}')) t(v)",
    "SELECT v::jsonb FROM (VALUES ('{\"b\" :  1, \"a\":[1 ,2.50]}'), ('\"s\\u00e9\"'), "
    "('null'), ('{\"a\":1,\"a\":2}'), ('[]'), ('{\"x\": {\"y\": \"\\n\"}}')) t(v)",
    "SELECT v FROM (VALUES (inet '192.168.0.1/24'), (inet '::1')) t(v)",
    "SELECT v FROM (VALUES (cidr '10.0.0.0/8')) t(v)",
    "SELECT v FROM (VALUES (macaddr '08:00:2b:01:02:03')) t(v)",
    "SELECT v FROM (VALUES (money '12.34'), (money '-1000000.5')) t(v)",
    "SELECT v FROM (VALUES (oid '4294967295'), (oid '0')) t(v)",
    "SELECT v FROM (VALUES (point '(1.5,2)'), (point '(-0,1e300)')) t(v)",
    "SELECT v FROM (VALUES (B'1011'::bit(4)), (B'10'::varbit)) t(v)",
    "SELECT v FROM (VALUES ('a fat cat'::tsvector)) t(v)",
    "SELECT v FROM (VALUES (int4range(1, 10)), ('empty'::int4range)) t(v)",
    "SELECT v FROM (VALUES ('<a>x</a>'::xml)) t(v)",
    "SELECT v FROM (VALUES ('pg_class'::regclass)) t(v)",
    /* arrays */
    "SELECT v::int[] FROM (VALUES ('{}'), ('{1,2,NULL}'), ('{{1,2},{3,4}}'), "
    "('[0:1]={5,6}'), ('[2:3][-1:0]={{1,2},{3,4}}'), ('{{{1},{2}},{{3},{4}}}')) t(v)",
    "SELECT v::text[] FROM (VALUES ('{a,\"b c\",NULL,\"NULL\",\"\",\"q\\\"x\",\"back\\\\s\"}'), "
    "('{\"{\",\"}\",\",\"}'), (ARRAY[E'\\n', E'\\t', chr(1), ' lead', 'trail '])) t(v)",
    "SELECT array_agg(chr(32 + (i * j) % 95) || i) FROM generate_series(1, 40) i, "
    "generate_series(1, 20) j GROUP BY j",
    "SELECT v::numeric[] FROM (VALUES ('{1.50,NaN,Infinity,-Infinity,NULL}')) t(v)",
    "SELECT v::float8[] FROM (VALUES ('{0.1,NaN,Infinity,-0,1e300}')) t(v)",
    "SELECT v::bool[] FROM (VALUES ('{t,f,NULL}')) t(v)",
    "SELECT v::date[] FROM (VALUES ('{2024-02-29,infinity,\"0044-03-15 BC\"}')) t(v)",
    "SELECT v::timestamp[] FROM (VALUES ('{\"2024-02-29 13:45:00.5\",infinity,NULL}')) t(v)",
    "SELECT v::timestamptz[] FROM (VALUES ('{\"2024-02-29 13:45:00.5+00\"}')) t(v)",
    "SELECT v::jsonb[] FROM (VALUES (ARRAY['{\"a\": [1, \"x,y\"]}'::jsonb, '2', 'null', "
    "'\"s\"'])) t(v)",
    "SELECT v::json[] FROM (VALUES (ARRAY['{\"a\" : 1}'::json])) t(v)",
    "SELECT v::uuid[] FROM (VALUES ('{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}')) t(v)",
    "SELECT v::box[] FROM (VALUES ('{(1,1),(0,0);(2,2),(1,1)}')) t(v)",
    "SELECT v::bytea[] FROM (VALUES (ARRAY['\\x00'::bytea, 'a'])) t(v)",
    "SELECT v::interval[] FROM (VALUES ('{\"1 day\",\"-00:00:01\"}')) t(v)",
    "SELECT v::char(3)[] FROM (VALUES ('{a,bb}')) t(v)",
    /* domains and user types */
    "SELECT v::dip_posint FROM (VALUES (1), (42)) t(v)",
    "SELECT v::dip_ts FROM (VALUES ('2024-02-29 13:45:00.5')) t(v)",
    "SELECT v::dip_posint[] FROM (VALUES ('{1,2}')) t(v)",
    "SELECT v::dip_ts_arr FROM (VALUES ('{\"2024-02-29 13:45:00.5\"}')) t(v)",
    "SELECT v::dip_mood FROM (VALUES ('ok'), ('sad')) t(v)",
    "SELECT v::dip_pair FROM (VALUES ('(1,x)')) t(v)",
    "SELECT v::dip_pair[] FROM (VALUES ('{\"(1,x)\"}')) t(v)",
};

static const char *const ZONES[] = {"UTC", "Asia/Kolkata", "America/St_Johns", "Europe/Amsterdam"};

static const char SETUP[] = "DROP DOMAIN IF EXISTS dip_posint CASCADE; "
                            "DROP DOMAIN IF EXISTS dip_ts CASCADE; "
                            "DROP DOMAIN IF EXISTS dip_ts_arr CASCADE; "
                            "DROP TYPE IF EXISTS dip_mood CASCADE; "
                            "DROP TYPE IF EXISTS dip_pair CASCADE; "
                            "CREATE DOMAIN dip_posint AS int CHECK (VALUE > 0); "
                            "CREATE DOMAIN dip_ts AS timestamp; "
                            "CREATE DOMAIN dip_ts_arr AS dip_ts[]; "
                            "CREATE TYPE dip_mood AS ENUM ('ok', 'sad'); "
                            "CREATE TYPE dip_pair AS (a int, b text);";

static void run_query(PgConn *c, const char *q, const char *zone)
{
    DipError err = {0};
    Buf sql, out;
    buf_init(&sql);
    buf_init(&out);
    buf_printf(&sql, "SELECT v, to_json(v)::text FROM (%s) s(v)", q);
    PGresult *r;
    if (!pg_query(c, buf_cstr(&sql), 0, NULL, &r, &err)) {
        fprintf(stderr, "FAIL: %s: %s\n", q, err.msg);
        failed++;
        buf_free(&sql);
        buf_free(&out);
        return;
    }
    uint32_t oid = PQftype(r, 0);
    DocsValType t;
    bool server = false;
    if (!docs_types_lookup(c, &oid, 1, &t, &server, &err)) {
        fprintf(stderr, "FAIL: types of %s: %s\n", q, err.msg);
        failed++;
    } else {
        for (int i = 0; i < PQntuples(r); i++) {
            const char *want = PQgetvalue(r, i, 1);
            if (server) {
                /* the builder selects to_json(v) for these: only the category is tested */
                check(t.kind == DOCS_VAL_JSON, "server-rendered type is DOCS_VAL_JSON");
                continue;
            }
            buf_clear(&out);
            if (PQgetisnull(r, i, 0)) {
                buf_append_str(&out, "null");
            } else if (!docs_render_value(&out, &t, PQgetvalue(r, i, 0),
                                          (size_t)PQgetlength(r, i, 0), &err)) {
                fprintf(stderr, "FAIL: %s [%s] row %d: %s\n", q, zone, i, err.msg);
                failed++;
                dip_error_clear(&err);
                continue;
            }
            if (strcmp(buf_cstr(&out), want) != 0) {
                fprintf(stderr, "FAIL: %s [%s] row %d: text %s\n  want %s\n  got  %s\n", q, zone, i,
                        PQgetvalue(r, i, 0), want, buf_cstr(&out));
                failed++;
            } else {
                passed++;
            }
        }
    }
    PQclear(r);
    buf_free(&sql);
    buf_free(&out);
}

/* Things PostgreSQL never sends but the renderer must refuse cleanly. */
static void check_malformed(void)
{
    static const char *const bad[] = {"{1,2", "{",    "[1:2]{1}", "{1,,2}",           "{\"a}",
                                      "1,2}", "{{1}", "{1}x",     "{{{{{{{{1}}}}}}}}"};
    DocsValType t = {.kind = DOCS_VAL_NUMBER, .array = true, .delim = ','};
    for (size_t i = 0; i < DIP_ARRAY_LEN(bad); i++) {
        Buf out;
        buf_init(&out);
        buf_append_str(&out, "prefix");
        DipError err = {0};
        bool ok = docs_render_value(&out, &t, bad[i], strlen(bad[i]), &err);
        char what[128];
        dip_snprintf(what, sizeof what, "malformed array %s refused, output rolled back", bad[i]);
        check(!ok && err.kind == DIP_ERR_DATA && strcmp(buf_cstr(&out), "prefix") == 0, what);
        buf_free(&out);
    }
    check(docs_is_json_number("-0.5e+10", 8) && !docs_is_json_number("01", 2) &&
              !docs_is_json_number("1.", 2) && !docs_is_json_number("NaN", 3),
          "json number grammar");
}

int main(void)
{
    PgSettings s;
    DipError err = {0};
    PgConn c = {0};
    if (!pg_settings_from_env(&s, &err) || !pg_connect(&c, &s, &err)) {
        fprintf(stderr, "cannot connect: %s\n", err.msg);
        return 1;
    }
    if (!pg_exec(&c, SETUP, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    check_malformed();
    for (size_t z = 0; z < DIP_ARRAY_LEN(ZONES); z++) {
        Buf set;
        buf_init(&set);
        docs_session_settings(ZONES[z], &set);
        if (!pg_exec(&c, buf_cstr(&set), &err)) {
            fprintf(stderr, "settings: %s\n", err.msg);
            return 1;
        }
        buf_free(&set);
        for (size_t i = 0; i < DIP_ARRAY_LEN(QUERIES); i++)
            run_query(&c, QUERIES[i], ZONES[z]);
    }
    pg_close(&c);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
