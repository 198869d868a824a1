/* Unit tests of the gold module: model file parsing, binding to a silver schema (exact type
 * map, unmappable types and missing columns refused), hk (Data Vault 2.0 rule and silver
 * column) and hdiff (hash of canonical JSON). Expected hashes come from sha256sum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "gold/gold.h"
#include "pg/pg.h"
#include "testbatch.h"

static DipField mkf(const char *name, DipTypeId id)
{
    DipField f;
    memset(&f, 0, sizeof f);
    f.name = (char *)name;
    f.type.id = id;
    f.nullable = true;
    f.field_id = -1;
    return f;
}

static void test_model_parse_errors(void **state)
{
    (void)state;
    GoldModel m;
    DipError err = {0};
    assert_false(gold_model_parse(&m, "x.model", "hk keys a\ncolumn a\n", &err));
    assert_non_null(strstr(err.msg, "no 'table NAME'"));
    dip_error_clear(&err);
    assert_false(gold_model_parse(&m, "x.model", "table t\nhk keys a\nfrobnicate a\n", &err));
    assert_non_null(strstr(err.msg, "x.model:3: unknown directive 'frobnicate'"));
    dip_error_clear(&err);
    assert_false(gold_model_parse(&m, "x.model", "table t\ncolumn a\n", &err));
    assert_non_null(strstr(err.msg, "no 'hk"));
    assert_int_equal(err.kind, DIP_ERR_CONFIG);
}

static void test_embedded_model(void **state)
{
    (void)state;
    GoldModel m;
    DipError err = {0};
    assert_true(gold_model_load(&m, NULL, &err));
    assert_string_equal(m.table, "integrated_records");
    assert_int_equal(m.hk_kind, GOLD_HK_KEYS);
    assert_int_equal(m.n_hk, 3);
    assert_int_equal(m.ncols, 13);
    assert_int_equal(strlen(m.sha256), 64);
    gold_model_free(&m);
}

static void test_bind_and_hashes(void **state)
{
    (void)state;
    DipField fields[5] = {mkf("src", DT_STRING), mkf("kind", DT_STRING), mkf("key", DT_STRING),
                          mkf("amount", DT_DECIMAL), mkf("n", DT_INT32)};
    fields[3].type.precision = 10;
    fields[3].type.scale = 2;
    DipSchema s = {5, fields};
    GoldModel m;
    DipError err = {0};
    assert_true(gold_model_parse(&m, "t.model",
                                 "table t # comment\nhk keys src, kind key\ncolumn amt = amount\n"
                                 "columns *\nexclude kind\nhdiff exclude n\n",
                                 &err));
    GoldPlan p;
    assert_true(gold_plan_bind(&p, &m, &s, &err));
    /* amt, then src key n (kind excluded) */
    assert_int_equal(p.ncols, 4);
    assert_string_equal(p.cols[0].gold, "amt");
    assert_int_equal(p.cols[0].type->id, DT_DECIMAL);
    assert_int_equal(p.cols[0].type->precision, 10);
    assert_string_equal(p.cols[1].gold, "src");
    assert_string_equal(p.cols[2].gold, "key");
    assert_string_equal(p.cols[3].gold, "n");
    assert_false(p.cols[3].in_hdiff);
    assert_int_equal(p.nproj, 5);

    ColumnBatch b;
    column_batch_init(&b);
    const char *srcv[2] = {" acme ", "x"};
    const char *kindv[2] = {"customer", NULL};
    const char *keyv[2] = {"K-1", "k"};
    __int128 am[2] = {1250, -5};
    int32_t nv[2] = {7, 8};
    bool valid[2] = {true, false};
    ColumnVector cols[5];
    cols[0] = tb_varlen(&b.arena, &fields[0].type, srcv, 2);
    cols[1] = tb_varlen(&b.arena, &fields[1].type, kindv, 2);
    cols[2] = tb_varlen(&b.arena, &fields[2].type, keyv, 2);
    cols[3] = tb_fixed(&b.arena, &fields[3].type, am, valid, 2);
    cols[4] = tb_fixed(&b.arena, &fields[4].type, nv, NULL, 2);
    b.cols = cols;
    b.ncols = 5;
    b.num_rows = 2;
    b.schema = &s;
    Buf hk, scratch;
    buf_init(&hk);
    buf_init(&scratch);
    assert_true(gold_row_hk(&p, &b, 0, &hk, &scratch, &err));
    /* printf 'ACME||CUSTOMER||K-1' | sha256sum */
    assert_string_equal(buf_cstr(&hk),
                        "539681da229d0d23a4d7248fb7c5d107a7ceb82ca4b3022bbe8ce9920bceb4b2");
    /* NULL business key -> "" : printf 'X||||K' | sha256sum */
    assert_true(gold_row_hk(&p, &b, 1, &hk, &scratch, &err));
    assert_string_equal(buf_cstr(&hk),
                        "c1efcc4d77afdb9c96a715dec62525a5d8880c5e965d051b18a0ec8d2f889630");
    char hd[65];
    gold_row_hdiff(&p, &b, 0, &scratch, hd);
    assert_string_equal(buf_cstr(&scratch), "[\"12.50\",\" acme \",\"K-1\"]");
    /* printf '["12.50"," acme ","K-1"]' | sha256sum (a fixed vector: computing it with
     * dip_sha256 here would test the code under test against itself) */
    assert_string_equal(hd, "86788989ae1cc0d4638879d7cddd6594204430eee43c7ec9d63a9c99e7b5c12b");
    gold_row_hdiff(&p, &b, 1, &scratch, hd);
    assert_string_equal(buf_cstr(&scratch), "[null,\"x\",\"k\"]");
    /* printf '[null,"x","k"]' | sha256sum */
    assert_string_equal(hd, "fafc263e16cea0771cd2da1aac1ef1bff38de13993efda5d442090fd99ae4efe");
    buf_free(&hk);
    buf_free(&scratch);
    column_batch_free(&b);
    gold_plan_free(&p);
    gold_model_free(&m);
}

static void test_bind_errors(void **state)
{
    (void)state;
    DipField fields[3] = {mkf("id", DT_STRING), mkf("t", DT_TIME), mkf("u", DT_UINT64)};
    DipSchema s = {3, fields};
    GoldModel m;
    GoldPlan p;
    DipError err = {0};
    assert_true(gold_model_parse(&m, "t.model", "table t\nhk column id\ncolumns *\n", &err));
    /* binding keeps the silver types; the job maps them to PostgreSQL (gold needs no pg) */
    assert_true(gold_plan_bind(&p, &m, &s, &err));
    PgType pt;
    char why[160];
    assert_int_equal(p.cols[1].type->id, DT_TIME);
    assert_false(pg_type_for(p.cols[1].type, &pt, why, sizeof why));
    gold_plan_free(&p);
    gold_model_free(&m);
    dip_error_clear(&err);
    assert_true(gold_model_parse(&m, "t.model", "table t\nhk column id\ncolumn x = nope\n", &err));
    assert_false(gold_plan_bind(&p, &m, &s, &err));
    assert_non_null(strstr(err.msg, "t.model:3: silver column 'nope' is not in"));
    gold_model_free(&m);
    dip_error_clear(&err);
    assert_true(gold_model_parse(&m, "t.model", "table t\nhk column id\ncolumn hk = id\n", &err));
    assert_false(gold_plan_bind(&p, &m, &s, &err));
    assert_non_null(strstr(err.msg, "reserved"));
    gold_model_free(&m);
}

static void test_type_map(void **state)
{
    (void)state;
    struct {
        DipTypeId id;
        bool utc;
        const char *sql;
    } cases[] = {
        {DT_BOOL, false, "boolean"},
        {DT_INT8, false, "smallint"},
        {DT_INT16, false, "smallint"},
        {DT_INT32, false, "integer"},
        {DT_INT64, false, "bigint"},
        {DT_FLOAT, false, "real"},
        {DT_DOUBLE, false, "double precision"},
        {DT_STRING, false, "text"},
        {DT_BINARY, false, "bytea"},
        {DT_DATE, false, "date"},
        {DT_TIMESTAMP, true, "timestamp with time zone"},
        {DT_TIMESTAMP, false, "timestamp without time zone"},
        {DT_STRUCT, false, "jsonb"},
        {DT_LIST, false, "jsonb"},
        {DT_MAP, false, "jsonb"},
    };
    for (size_t i = 0; i < DIP_ARRAY_LEN(cases); i++) {
        DipType t;
        memset(&t, 0, sizeof t);
        t.id = cases[i].id;
        t.utc = cases[i].utc;
        PgType pt;
        char why[100];
        assert_true(pg_type_for(&t, &pt, why, sizeof why));
        Buf b;
        buf_init(&b);
        pg_type_sql(&pt, &b);
        assert_string_equal(buf_cstr(&b), cases[i].sql);
        buf_free(&b);
    }
}

/* The fast canonical writer of hdiff agrees with the core row format for many values. */
static void test_canonical_matches_core(void **state)
{
    (void)state;
    ColumnBatch b;
    column_batch_init(&b);
    enum { N = 4000 };
    static int64_t i64[N], ts[N];
    static int32_t i32[N], dates[N];
    static int16_t i16[N];
    static uint8_t bo[N];
    static __int128 dec[N];
    static bool valid[N];
    uint64_t rng = 12345;
    for (int i = 0; i < N; i++) {
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t r = (int64_t)rng;
        i64[i] = i < 8 ? (int64_t[]){0, -1, 1, INT64_MIN, INT64_MAX, 10, -10, 999}[i] : r;
        i32[i] = (int32_t)(r >> 7);
        i16[i] = (int16_t)(r >> 3);
        bo[i] = (uint8_t)(r & 1);
        dates[i] = (int32_t)((r >> 11) % 3000000); /* beyond year 9999 both ways too */
        ts[i] = i % 3 == 0 ? r : (r >> 8);         /* far and near timestamps */
        dec[i] = (__int128)r * (i % 5 ? 1 : 1000000007);
        valid[i] = (r >> 40) % 7 != 0;
    }
    DipType t64 = {.id = DT_INT64}, t32 = {.id = DT_INT32}, t16 = {.id = DT_INT16},
            tb = {.id = DT_BOOL}, tdate = {.id = DT_DATE},
            tus = {.id = DT_TIMESTAMP, .unit = TU_MICROS, .utc = true},
            tms = {.id = DT_TIMESTAMP, .unit = TU_MILLIS, .utc = false},
            tns = {.id = DT_TIMESTAMP, .unit = TU_NANOS, .utc = true},
            tdec = {.id = DT_DECIMAL, .precision = 38, .scale = 4};
    ColumnVector cols[] = {
        tb_fixed(&b.arena, &t64, i64, valid, N),     tb_fixed(&b.arena, &t32, i32, valid, N),
        tb_fixed(&b.arena, &t16, i16, NULL, N),      tb_fixed(&b.arena, &tb, bo, valid, N),
        tb_fixed(&b.arena, &tdate, dates, valid, N), tb_fixed(&b.arena, &tus, ts, valid, N),
        tb_fixed(&b.arena, &tms, ts, valid, N),      tb_fixed(&b.arena, &tns, ts, valid, N),
        tb_fixed(&b.arena, &tdec, dec, valid, N),
    };
    Buf fast, core;
    buf_init(&fast);
    buf_init(&core);
    for (size_t c = 0; c < DIP_ARRAY_LEN(cols); c++)
        for (int i = 0; i < N; i++) {
            buf_clear(&fast);
            buf_clear(&core);
            gold_value_write_canonical(&cols[c], i, &fast);
            JsonWriter w;
            jw_init(&w, &core);
            column_value_write_json(&w, &cols[c], i);
            if (strcmp(buf_cstr(&fast), buf_cstr(&core)) != 0)
                fail_msg("column %zu row %d: fast %s, core %s", c, i, buf_cstr(&fast),
                         buf_cstr(&core));
        }
    buf_free(&fast);
    buf_free(&core);
    column_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_parse_errors), cmocka_unit_test(test_embedded_model),
        cmocka_unit_test(test_bind_and_hashes),    cmocka_unit_test(test_bind_errors),
        cmocka_unit_test(test_type_map),           cmocka_unit_test(test_canonical_matches_core),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
