/* Integration tests of the pg module against a private PostgreSQL (tests/pg/with-pg.sh):
 * binary COPY of every mapped type read back as text, numeric edge cases, COPY OUT parsing,
 * the SchemaManager run twice, run metadata, SQLSTATE classification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gold/testbatch.h"
#include "pg/pg.h"

static PgConn conn;

static int setup(void **state)
{
    (void)state;
    PgSettings s;
    DipError err = {0};
    if (!pg_settings_from_env(&s, &err) || !pg_connect(&conn, &s, &err)) {
        fprintf(stderr, "connect: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pg_close(&conn);
    return 0;
}

static void exec_ok(const char *sql)
{
    DipError err = {0};
    if (!pg_exec(&conn, sql, &err)) fail_msg("%s: %s", sql, err.msg);
}

static char *query1(const char *sql)
{
    PGresult *r;
    DipError err = {0};
    if (!pg_query(&conn, sql, 0, NULL, &r, &err)) fail_msg("%s: %s", sql, err.msg);
    char *v = PQntuples(r) && !PQgetisnull(r, 0, 0) ? dip_strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    return v;
}

static void test_sqlstate(void **state)
{
    (void)state;
    assert_true(pg_sqlstate_is_transient("08006"));
    assert_true(pg_sqlstate_is_transient("57P01"));
    assert_true(pg_sqlstate_is_transient("40001"));
    assert_true(pg_sqlstate_is_transient("40P01"));
    assert_true(pg_sqlstate_is_transient("53300"));
    assert_false(pg_sqlstate_is_transient("23505"));
    assert_false(pg_sqlstate_is_transient("42P01"));
    assert_false(pg_sqlstate_is_transient(NULL));
    DipError err = {0};
    assert_false(pg_exec(&conn, "SELECT * FROM no_such_table", &err));
    assert_int_equal(err.kind, DIP_ERR_DATA);
    assert_non_null(strstr(err.msg, "42P01"));
    assert_string_equal(pg_last_sqlstate(), "42P01");
}

static void test_numeric(void **state)
{
    (void)state;
    /* (unscaled, scale) pairs around base-10000 group boundaries, zero, negatives, 38 digits */
    static const struct {
        const char *digits;
        int scale;
    } cases[] = {
        {"0", 0},
        {"0", 5},
        {"1", 0},
        {"-1", 0},
        {"1", 4},
        {"1", 5},
        {"10000", 0},
        {"9999", 0},
        {"123456789", 2},
        {"-123456789", 8},
        {"100000000", 4},
        {"5", 1},
        {"-5", 3},
        {"99999999999999999999999999999999999999", 0},
        {"-99999999999999999999999999999999999999", 38},
        {"12345678901234567890", 10},
        {"1000", 3},
        {"120000", 2},
        {"7", 9},
    };
    exec_ok("DROP TABLE IF EXISTS tnum; CREATE TABLE tnum (i int, v numeric)");
    DipError err = {0};
    Buf b;
    buf_init(&b);
    pg_copy_header(&b);
    for (size_t i = 0; i < DIP_ARRAY_LEN(cases); i++) {
        __int128 v = 0;
        const char *p = cases[i].digits;
        bool neg = *p == '-';
        p += neg;
        for (; *p; p++)
            v = v * 10 + (*p - '0');
        if (neg) v = -v;
        pg_copy_tuple_begin(&b, 2);
        buf_append_be32(&b, 4);
        buf_append_be32(&b, (uint32_t)i);
        pg_copy_numeric(&b, v, cases[i].scale);
    }
    pg_copy_trailer(&b);
    int64_t rows = 0;
    assert_true(pg_copy_begin(&conn, "COPY tnum FROM STDIN (FORMAT binary)", &err));
    assert_true(pg_copy_put(&conn, b.data, b.len, &err));
    if (!pg_copy_end(&conn, &rows, &err)) fail_msg("%s", err.msg);
    assert_int_equal(rows, DIP_ARRAY_LEN(cases));
    for (size_t i = 0; i < DIP_ARRAY_LEN(cases); i++) {
        char sql[64], expect[48];
        dip_snprintf(sql, sizeof sql, "SELECT v::text FROM tnum WHERE i = %zu", i);
        __int128 v = 0;
        const char *p = cases[i].digits;
        bool neg = *p == '-';
        p += neg;
        for (; *p; p++)
            v = v * 10 + (*p - '0');
        dip_format_decimal(neg ? -v : v, cases[i].scale, expect);
        char *got = query1(sql);
        assert_string_equal(got, expect);
        free(got);
    }
    buf_free(&b);
}

static void test_all_types(void **state)
{
    (void)state;
    exec_ok("DROP TABLE IF EXISTS tall; CREATE TABLE tall (b boolean, i2 smallint, i4 integer, "
            "i8 bigint, f4 real, f8 double precision, n numeric(12,3), t text, by bytea, "
            "d date, ts timestamp, tz timestamptz, j jsonb)");
    Arena *a;
    ColumnBatch batch;
    column_batch_init(&batch);
    a = &batch.arena;
    DipType tb = {.id = DT_BOOL}, t8 = {.id = DT_INT8}, t32 = {.id = DT_INT32},
            t64 = {.id = DT_INT64}, tf = {.id = DT_FLOAT}, td = {.id = DT_DOUBLE},
            tdec = {.id = DT_DECIMAL, .precision = 12, .scale = 3}, ts = {.id = DT_STRING},
            tbin = {.id = DT_BINARY}, tdate = {.id = DT_DATE},
            tntz = {.id = DT_TIMESTAMP, .unit = TU_MILLIS, .utc = false},
            ttz = {.id = DT_TIMESTAMP, .unit = TU_MICROS, .utc = true};
    DipField lf = {.name = "element", .type = {.id = DT_STRING}};
    DipType tlist = {.id = DT_LIST, .nchildren = 1, .children = &lf};
    uint8_t bv[2] = {1, 0};
    int8_t i8v[2] = {-7, 100};
    int32_t i32v[2] = {-2147483647, 42};
    int64_t i64v[2] = {9007199254740993LL, -1};
    float fv[2] = {1.5f, -0.25f};
    double dv[2] = {0.1, 1e300};
    __int128 decv[2] = {-1234567, 5};
    int32_t datev[2] = {0, 19000};
    int64_t ntzv[2] = {1700000000123LL, -1000};
    int64_t tzv[2] = {946684800000000LL, 1700000000123456LL};
    const char *sv[2] = {"héllo\t\"x\"", NULL};
    const char *binv[2] = {"\x01\x02\xff", ""};
    ColumnVector cols[13];
    cols[0] = tb_fixed(a, &tb, bv, NULL, 2);
    cols[1] = tb_fixed(a, &t8, i8v, NULL, 2);
    cols[2] = tb_fixed(a, &t32, i32v, NULL, 2);
    cols[3] = tb_fixed(a, &t64, i64v, NULL, 2);
    cols[4] = tb_fixed(a, &tf, fv, NULL, 2);
    cols[5] = tb_fixed(a, &td, dv, NULL, 2);
    cols[6] = tb_fixed(a, &tdec, decv, NULL, 2);
    cols[7] = tb_varlen(a, &ts, sv, 2);
    cols[8] = tb_varlen(a, &tbin, binv, 2);
    cols[9] = tb_fixed(a, &tdate, datev, NULL, 2);
    cols[10] = tb_fixed(a, &tntz, ntzv, NULL, 2);
    cols[11] = tb_fixed(a, &ttz, tzv, NULL, 2);
    /* list<string>: row 0 ["a", null], row 1 [] */
    const char *elems[2] = {"a", NULL};
    ColumnVector *child = arena_calloc(a, 1, sizeof *child);
    *child = tb_varlen(a, &lf.type, elems, 2);
    memset(&cols[12], 0, sizeof cols[12]);
    cols[12].type = &tlist;
    cols[12].length = 2;
    cols[12].offsets = arena_calloc(a, 3, sizeof(int64_t));
    cols[12].offsets[1] = 2;
    cols[12].offsets[2] = 2;
    cols[12].children = child;
    PgType pts[13] = {{PGT_BOOL, 0, 0},     {PGT_INT2, 0, 0},      {PGT_INT4, 0, 0},
                      {PGT_INT8, 0, 0},     {PGT_FLOAT4, 0, 0},    {PGT_FLOAT8, 0, 0},
                      {PGT_NUMERIC, 12, 3}, {PGT_TEXT, 0, 0},      {PGT_BYTEA, 0, 0},
                      {PGT_DATE, 0, 0},     {PGT_TIMESTAMP, 0, 0}, {PGT_TIMESTAMPTZ, 0, 0},
                      {PGT_JSONB, 0, 0}};
    Buf b, scratch;
    buf_init(&b);
    buf_init(&scratch);
    DipError err = {0};
    pg_copy_header(&b);
    for (int r = 0; r < 2; r++) {
        pg_copy_tuple_begin(&b, 13);
        for (int c = 0; c < 13; c++)
            if (!pg_copy_value(&b, &pts[c], &cols[c], r, &scratch, &err))
                fail_msg("col %d: %s", c, err.msg);
    }
    pg_copy_trailer(&b);
    int64_t rows;
    assert_true(pg_copy_begin(&conn, "COPY tall FROM STDIN (FORMAT binary)", &err));
    assert_true(pg_copy_put(&conn, b.data, b.len, &err));
    if (!pg_copy_end(&conn, &rows, &err)) fail_msg("%s", err.msg);
    char *got = query1("SELECT string_agg(concat_ws('|', b, i2, i4, i8, f4, f8, n, "
                       "coalesce(t, 'NULL'), encode(by, 'hex'), d, ts, tz, j), E'\\n' ORDER BY i2) "
                       "FROM tall");
    assert_string_equal(got,
                        "t|-7|-2147483647|9007199254740993|1.5|0.1|-1234.567|héllo\t\"x\"|0102ff|"
                        "1970-01-01|2023-11-14 22:13:20.123|2000-01-01 00:00:00+00|[\"a\", null]\n"
                        "f|100|42|-1|-0.25|1e+300|0.005|NULL||2022-01-08|1969-12-31 23:59:59|"
                        "2023-11-14 22:13:20.123456+00|[]");
    free(got);
    /* out of range: int64 into smallint is a data error, not a silent wrap */
    buf_clear(&b);
    dip_error_clear(&err);
    PgType small = {PGT_INT2, 0, 0};
    assert_false(pg_copy_value(&b, &small, &cols[3], 0, &scratch, &err));
    assert_int_equal(err.kind, DIP_ERR_DATA);
    buf_free(&b);
    buf_free(&scratch);
    column_batch_free(&batch);
}

typedef struct {
    int n;
    char first[80];
} OutCtx;

static bool on_tuple(void *ctx, const uint8_t *p, size_t n, DipError *err)
{
    OutCtx *o = ctx;
    const uint8_t *f[2];
    int32_t l[2];
    int nf = pg_copy_tuple_parse(p, n, f, l, 2);
    if (nf == -1) return true;
    if (nf != 2) return dip_error_set(err, DIP_ERR_DATA, "bad tuple");
    if (o->n == 0) dip_snprintf(o->first, sizeof o->first, "%.*s/%.*s", l[0], f[0], l[1], f[1]);
    o->n++;
    return true;
}

static void test_copy_out(void **state)
{
    (void)state;
    OutCtx o = {0};
    DipError err = {0};
    assert_true(pg_copy_out(&conn,
                            "COPY (SELECT 'k' || g, 'h' || g FROM generate_series(1, 1000) g "
                            "ORDER BY g) TO STDOUT (FORMAT binary)",
                            on_tuple, &o, &err));
    assert_int_equal(o.n, 1000);
    assert_string_equal(o.first, "k1/h1");
}

static void test_schema_apply(void **state)
{
    (void)state;
    const char *sql = "-- x\nCREATE TABLE IF NOT EXISTS s1 (a int);\n"
                      "CREATE INDEX s1_a ON s1 (a);\n"
                      "CREATE FUNCTION s1f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n";
    Buf objs;
    buf_init(&objs);
    pg_schema_objects(sql, &objs);
    assert_string_equal(buf_cstr(&objs), "table\ts1\nindex\ts1_a\n");
    buf_free(&objs);
    bool ran;
    DipError err = {0};
    assert_true(pg_schema_apply_text(&conn, "t.sql", sql, &ran, &err));
    assert_true(ran);
    /* the second time nothing runs (CREATE INDEX / FUNCTION would fail if it did) */
    assert_true(pg_schema_apply_text(&conn, "t.sql", sql, &ran, &err));
    assert_false(ran);
    /* a failing file leaves nothing behind */
    assert_false(pg_schema_apply_text(
        &conn, "bad.sql", "CREATE TABLE s2 (a int); CREATE TABLE s2 (b int);", &ran, &err));
    char *r = query1("SELECT to_regclass('s2') IS NULL");
    assert_string_equal(r, "t");
    free(r);
    /* the shipped gold schema */
    int nran = 0;
    dip_error_clear(&err);
    assert_true(pg_schema_apply(&conn, NULL, &nran, &err));
    assert_int_equal(nran, 1);
    assert_true(pg_schema_apply(&conn, NULL, &nran, &err));
    assert_int_equal(nran, 0);
}

static void test_run_metadata(void **state)
{
    (void)state;
    DipError err = {0};
    assert_true(pg_run_ensure_table(&conn, &err));
    assert_true(pg_run_ensure_table(&conn, &err));
    PgRun r;
    memset(&r, 0, sizeof r);
    r.input = dip_strdup("file:///t");
    r.output = dip_strdup("gold");
    r.mode = dip_strdup("full");
    r.base_version = -1;
    r.version = 3;
    r.ldts_us = 1700000000000000LL;
    r.model_sha256 = dip_strdup("abc");
    if (!pg_run_start(&conn, &r, "{\"host\":\"x\"}", &err)) fail_msg("%s", err.msg);
    assert_true(r.run_id > 0);
    r.last_file = dip_strdup("part-1.parquet");
    r.partial_file = dip_strdup("part-2.parquet");
    r.partial_rows = 7;
    r.n_input_records = 10;
    assert_true(pg_run_checkpoint(&conn, &r, &err));
    PGresult *res = NULL;
    if (!pg_query(&conn,
                  "SELECT last_synced_item->>'partial_file', last_synced_item->>'partial_rows' "
                  "FROM dip_sync_runs ORDER BY run_id DESC LIMIT 1",
                  0, NULL, &res, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(pg_value(res, 0, 0), "part-2.parquet");
    assert_string_equal(pg_value(res, 0, 1), "7");
    pg_result_free(res);
    /* a deep copy outlives the original */
    PgRun copy;
    pg_run_copy(&copy, &r);
    assert_ptr_not_equal(copy.last_file, r.last_file);
    assert_string_equal(copy.last_file, "part-1.parquet");
    PgRun l;
    bool found;
    assert_true(pg_run_latest(&conn, "file:///t", "gold", false, &l, &found, &err));
    assert_true(found);
    assert_int_equal(l.run_id, r.run_id);
    assert_int_equal(l.version, 3);
    assert_string_equal(l.last_file, "part-1.parquet");
    assert_int_equal(l.ldts_us, 1700000000000000LL);
    assert_int_equal(l.n_input_records, 10);
    assert_false(l.sync_finished);
    pg_run_free(&l);
    assert_true(pg_run_latest(&conn, "file:///t", "gold", true, &l, &found, &err));
    assert_false(found);
    assert_true(pg_run_finish(&conn, &r, true, NULL, &err));
    assert_true(pg_run_latest(&conn, "file:///t", "gold", true, &l, &found, &err));
    assert_true(found);
    assert_true(l.sync_finished);
    pg_run_free(&l);
    pg_run_free(&r);
    assert_string_equal(copy.partial_file, "part-2.parquet");
    pg_run_free(&copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlstate),     cmocka_unit_test(test_numeric),
        cmocka_unit_test(test_all_types),    cmocka_unit_test(test_copy_out),
        cmocka_unit_test(test_schema_apply), cmocka_unit_test(test_run_metadata),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
