/* Unit tests of the core module: JSON writer, canonical value formatting, arenas, buffers,
 * retry delays, config parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/column.h"

static void test_json_writer(void **state)
{
    (void)state;
    Buf b;
    buf_init(&b);
    JsonWriter w;
    jw_init(&w, &b);
    jw_obj_begin(&w);
    jw_key(&w, "a");
    jw_int(&w, -5);
    jw_key(&w, "s");
    jw_str_n(&w, "q\"\\\n\x01\xff", 6);
    jw_key(&w, "l");
    jw_arr_begin(&w);
    jw_double(&w, 0.1);
    jw_double(&w, NAN);
    jw_double(&w, -INFINITY);
    jw_float(&w, 0.1f);
    jw_bool(&w, true);
    jw_null(&w);
    jw_arr_end(&w);
    jw_obj_end(&w);
    assert_string_equal(buf_cstr(&b), "{\"a\":-5,\"s\":\"q\\\"\\\\\\n\\u0001\xEF\xBF\xBD\","
                                      "\"l\":[0.1,\"NaN\",\"-Infinity\",0.1,true,null]}");
    buf_free(&b);
}

static void test_double_roundtrip(void **state)
{
    (void)state;
    double vals[] = {1.0 / 3.0, 1e300, 5e-324, 123456789.123456789, -0.0, 2.5};
    for (size_t i = 0; i < DIP_ARRAY_LEN(vals); i++) {
        char t[32];
        dip_format_double(vals[i], t);
        assert_true(strtod(t, NULL) == vals[i]);
    }
    char t[32];
    dip_format_double(2.5, t);
    assert_string_equal(t, "2.5");
}

/* Significant digits of a %g text: the digits before the exponent, leading and trailing
 * zeros not counted ("100000" has 1, "0.25" has 2). */
static int sig_digits(const char *t)
{
    int first = -1, last = -1, i = 0;
    for (const char *p = t; *p && *p != 'e'; p++) {
        if (*p < '0' || *p > '9') continue;
        if (*p != '0') {
            if (first < 0) first = i;
            last = i;
        }
        i++;
    }
    return first < 0 ? 1 : last - first + 1;
}

static float float_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* v's text reads back to the same bits, and no %g text with fewer significant digits
 * does (so it is the shortest); for a subnormal, no shorter text of any notation either. */
static void check_float_shortest(float v, const char *why)
{
    char t[32], u[512];
    int n = dip_format_float(v, t);
    assert_int_equal(n, (int)strlen(t));
    float back = strtof(t, NULL);
    if (memcmp(&back, &v, 4) != 0)
        fail_msg("%s: %a prints as %s, which reads back as %a", why, (double)v, t, (double)back);
    int p = sig_digits(t);
    for (int q = 1; q < p; q++) {
        snprintf(u, sizeof u, "%.*g", q, (double)v);
        if (strtof(u, NULL) == v)
            fail_msg("%s: %a prints as %s, but %s (%d digits) reads back too", why, (double)v, t, u,
                     q);
    }
    if (v != 0 && fabsf(v) < FLT_MIN) {
        /* exponent notation is the shorter one for every subnormal: %.Ne with the digits */
        snprintf(u, sizeof u, "%.*e", p - 1, (double)v);
        if (strtof(u, NULL) == v && strlen(u) < strlen(t))
            fail_msg("%s: %s is longer than %s", why, t, u);
    }
}

/* Every float32 boundary, both signs: zero, the smallest subnormal and its neighbour, the
 * largest subnormal and its neighbour below, the smallest normal and its neighbour above,
 * FLT_MAX and its neighbour below; then a sweep over the subnormals and across the normals
 * (every 4099th bit pattern), each shortest and read back exactly. */
static void test_float_shortest(void **state)
{
    (void)state;
    static const struct {
        uint32_t bits;
        const char *text;
    } fixed[] = {
        {0x00000000u, "0"},
        {0x00000001u, "1e-45"}, /* smallest subnormal, 2^-149 */
        {0x00000002u, "3e-45"}, /* its neighbour */
        {0x00000003u, "4e-45"},
        {0x007ffffeu, "1.1754941e-38"}, /* below the largest subnormal */
        {0x007fffffu, "1.1754942e-38"}, /* largest subnormal */
        {0x00800000u, "1.1754944e-38"}, /* smallest normal, FLT_MIN */
        {0x00800001u, "1.1754945e-38"}, /* its neighbour */
        {0x7f7ffffeu, "3.4028233e+38"}, /* below FLT_MAX */
        {0x7f7fffffu, "3.4028235e+38"}, /* FLT_MAX */
        {0x3dcccccdu, "0.1"},
        {0x47c35000u, "100000"}, /* fixed notation kept below 1e6, as before */
    };
    char t[32];
    for (size_t i = 0; i < DIP_ARRAY_LEN(fixed); i++) {
        for (int neg = 0; neg < 2; neg++) {
            float v = float_from_bits(fixed[i].bits | (neg ? 0x80000000u : 0));
            dip_format_float(v, t);
            char want[40];
            snprintf(want, sizeof want, "%s%s", neg ? "-" : "", fixed[i].text);
            if (strcmp(t, want) != 0)
                fail_msg("bits %08x: printed %s, expected %s", (unsigned)fixed[i].bits, t, want);
            check_float_shortest(v, want);
        }
    }
    assert_true(float_from_bits(0x00000001u) == FLT_TRUE_MIN);
    assert_true(float_from_bits(0x00800000u) == FLT_MIN);
    assert_true(float_from_bits(0x7f7fffffu) == FLT_MAX);
    /* the JSON writer uses the same text */
    Buf b;
    buf_init(&b);
    JsonWriter w;
    jw_init(&w, &b);
    jw_arr_begin(&w);
    jw_float(&w, FLT_TRUE_MIN);
    jw_float(&w, -FLT_TRUE_MIN);
    jw_arr_end(&w);
    assert_string_equal(buf_cstr(&b), "[1e-45,-1e-45]");
    buf_free(&b);
    /* the first and last 2,000 subnormals, and every 997th in between */
    for (uint32_t u = 1; u < 0x00800000u;
         u = (u < 2000 || u >= 0x00800000u - 2000) ? u + 1 : u + 997)
        check_float_shortest(float_from_bits(u), "subnormal sweep");
    /* normals across every binade */
    for (uint32_t u = 0x00800000u; u < 0x7f800000u; u += 4099)
        check_float_shortest(float_from_bits(u), "normal sweep");
}

static void test_double_subnormal(void **state)
{
    (void)state;
    char t[32];
    dip_format_double(DBL_TRUE_MIN, t);
    assert_string_equal(t, "5e-324");
    dip_format_double(-DBL_TRUE_MIN, t);
    assert_string_equal(t, "-5e-324");
    dip_format_double(2 * DBL_TRUE_MIN, t);
    assert_string_equal(t, "1e-323");
    dip_format_double(DBL_MIN, t);
    assert_string_equal(t, "2.2250738585072014e-308");
    dip_format_double(nextafter(DBL_MIN, 0), t); /* largest subnormal */
    assert_string_equal(t, "2.225073858507201e-308");
    dip_format_double(DBL_MAX, t);
    assert_string_equal(t, "1.7976931348623157e+308");
    dip_format_double(1e20, t); /* a normal value keeps its text */
    assert_string_equal(t, "1e+20");
    dip_format_double(100000, t);
    assert_string_equal(t, "100000");
}

static void test_decimal_format(void **state)
{
    (void)state;
    char t[48];
    dip_format_decimal(-12340, 3, t);
    assert_string_equal(t, "-12.340");
    dip_format_decimal(0, 2, t);
    assert_string_equal(t, "0.00");
    dip_format_decimal(7, 0, t);
    assert_string_equal(t, "7");
    dip_format_decimal(-5, 2, t);
    assert_string_equal(t, "-0.05");
    __int128 big = (__int128)99999999999999999LL * 10000000000000000LL * 100 + 99;
    dip_format_decimal(big, 10, t);
    assert_string_equal(t, "9999999999999999900000000.0000000099");
}

static void test_dates_and_timestamps(void **state)
{
    (void)state;
    char t[48];
    dip_format_date(0, t);
    assert_string_equal(t, "1970-01-01");
    dip_format_date(-1, t);
    assert_string_equal(t, "1969-12-31");
    assert_int_equal(dip_days_from_civil(2000, 3, 1), 11017);
    dip_format_timestamp(-1, TU_MICROS, true, t);
    assert_string_equal(t, "1969-12-31T23:59:59.999999Z");
    dip_format_timestamp(1631099471000LL, TU_MILLIS, false, t);
    assert_string_equal(t, "2021-09-08T11:11:11.000000");
    dip_format_timestamp(1, TU_NANOS, true, t);
    assert_string_equal(t, "1970-01-01T00:00:00.000000001Z");
    dip_format_time(3723000001LL, TU_MICROS, t);
    assert_string_equal(t, "01:02:03.000001");
}

static void test_base64_uuid(void **state)
{
    (void)state;
    Buf b;
    buf_init(&b);
    dip_base64((const uint8_t *)"ab", 2, &b);
    assert_string_equal(buf_cstr(&b), "YWI=");
    buf_clear(&b);
    dip_base64((const uint8_t *)"abc", 3, &b);
    assert_string_equal(buf_cstr(&b), "YWJj");
    buf_free(&b);
    uint8_t u[16];
    for (int i = 0; i < 16; i++)
        u[i] = (uint8_t)(i * 17);
    char t[40];
    dip_format_uuid(u, t);
    assert_string_equal(t, "00112233-4455-6677-8899-aabbccddeeff");
}

static void test_arena_buf(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 1024);
    char *p = arena_strdup(&a, "hello");
    void *big = arena_alloc(&a, 100000);
    memset(big, 1, 100000);
    for (int i = 0; i < 1000; i++)
        assert_non_null(arena_alloc(&a, 17));
    assert_string_equal(p, "hello");
    assert_true(((uintptr_t)arena_alloc(&a, 3) & 15) == 0);
    arena_reset(&a);
    assert_non_null(arena_alloc(&a, 10));
    /* adopt: the other arena's blocks (small and large) move over, its memory stays valid */
    Arena o;
    arena_init(&o, 1024);
    char *q = arena_strdup(&o, "adopted");
    char *qbig = arena_alloc(&o, 5000);
    memset(qbig, 7, 5000);
    size_t before = a.total, moved = o.total;
    arena_adopt(&a, &o);
    assert_null(o.head);
    assert_int_equal(o.total, 0);
    assert_int_equal(a.total, before + moved);
    assert_string_equal(q, "adopted");
    assert_int_equal(qbig[4999], 7);
    arena_adopt(&a, &o); /* an empty one: nothing changes */
    assert_int_equal(a.total, before + moved);
    Arena e;
    arena_init(&e, 1024);
    q = arena_strdup(&a, "into an empty arena");
    arena_adopt(&e, &a);
    assert_null(a.head);
    assert_string_equal(q, "into an empty arena");
    assert_non_null(arena_alloc(&e, 10));
    arena_free(&e);
    arena_free(&a);
    Buf b;
    buf_init(&b);
    for (int i = 0; i < 1000; i++)
        buf_printf(&b, "%d,", i);
    assert_int_equal(b.len, strlen(buf_cstr(&b)));
    buf_clear(&b);
    buf_append_be32(&b, 0x01020304u);
    assert_memory_equal(b.data, "\x01\x02\x03\x04", 4);
    buf_free(&b);
}

static void test_retry_delay(void **state)
{
    (void)state;
    RetryPolicy p = {.max_retries = 5, .base_delay_s = 1.0, .max_delay_s = 4.0};
    uint64_t rng = 42;
    double maxseen = 0;
    for (int attempt = 1; attempt <= 10; attempt++) {
        for (int k = 0; k < 100; k++) {
            double d = retry_delay_s(&p, attempt, &rng);
            double ceil = attempt == 1 ? 1.0 : attempt == 2 ? 2.0 : 4.0;
            assert_true(d >= 0.1 && d <= ceil);
            if (d > maxseen) maxseen = d;
        }
    }
    assert_true(maxseen > 2.0); /* jitter spreads up to the cap */
}

typedef struct {
    int fail_times;    /* attempts that fail before one succeeds */
    DipErrorKind kind; /* kind of those failures */
    int calls;
} RetryProbe;

static bool retry_probe_fn(void *ctx, int attempt, DipError *err)
{
    RetryProbe *r = ctx;
    r->calls++;
    assert_int_equal(attempt, r->calls);
    if (r->calls <= r->fail_times) return dip_error_set(err, r->kind, "probe failure %d", r->calls);
    return true;
}

static void test_retry_run(void **state)
{
    (void)state;
    RetryPolicy p = {.max_retries = 3, .base_delay_s = 0.001, .max_delay_s = 0.002};
    DipError err = {0};
    RetryProbe ok = {.fail_times = 2, .kind = DIP_ERR_TRANSIENT};
    assert_true(retry_run(&p, retry_probe_fn, &ok, "probe", &err));
    assert_int_equal(ok.calls, 3);

    RetryProbe spent = {.fail_times = 100, .kind = DIP_ERR_TRANSIENT};
    assert_false(retry_run(&p, retry_probe_fn, &spent, "probe op", &err));
    assert_int_equal(spent.calls, 4); /* first attempt + 3 retries */
    assert_int_equal(err.kind, DIP_ERR_TRANSIENT);
    assert_string_equal(err.msg, "probe op: probe failure 4 (giving up after 4 attempts)");

    RetryProbe data = {.fail_times = 100, .kind = DIP_ERR_DATA};
    assert_false(retry_run(&p, retry_probe_fn, &data, "probe", &err));
    assert_int_equal(data.calls, 1); /* data errors are never retried */
    assert_int_equal(err.kind, DIP_ERR_DATA);

    RetryPolicy once = {.max_retries = 0, .base_delay_s = 0.001, .max_delay_s = 0.001};
    RetryProbe one = {.fail_times = 100, .kind = DIP_ERR_TRANSIENT};
    assert_false(retry_run(&once, retry_probe_fn, &one, "probe", &err));
    assert_int_equal(one.calls, 1);
    assert_string_equal(err.msg, "probe: probe failure 1 (giving up after 1 attempt)");
}

static void test_config_env(void **state)
{
    (void)state;
    DipError err = {0};
    int64_t v = 0;
    setenv("DIP_TEST_INT", "12", 1);
    assert_true(config_env_int("DIP_TEST_INT", 5, &v, &err));
    assert_int_equal(v, 12);
    unsetenv("DIP_TEST_INT");
    assert_true(config_env_int("DIP_TEST_INT", 5, &v, &err));
    assert_int_equal(v, 5);
    setenv("DIP_TEST_INT", "12x", 1);
    assert_false(config_env_int("DIP_TEST_INT", 5, &v, &err));
    assert_int_equal(err.kind, DIP_ERR_CONFIG);
    assert_non_null(strstr(err.msg, "DIP_TEST_INT"));
    unsetenv("DIP_TEST_INT");
}

static void test_error_prefix(void **state)
{
    (void)state;
    DipError err = {0};
    assert_false(dip_error_set(&err, DIP_ERR_DATA, "offset %d: bad", 7));
    assert_false(dip_error_set(&err, DIP_ERR_IO, "second"));
    dip_error_prefix(&err, "file.parquet");
    assert_string_equal(err.msg, "file.parquet: offset 7: bad");
    assert_int_equal(dip_error_exit_code(&err), 3);
}

static void test_metrics_text(void **state)
{
    (void)state;
    Buf l, out;
    buf_init(&l);
    buf_init(&out);
    const char *kv[] = {"input", "s3://b/a\"q\\\n", "output", "t", NULL};
    metrics_labels(&l, kv);
    assert_string_equal(buf_cstr(&l), "{input=\"s3://b/a\\\"q\\\\\\n\",output=\"t\"}");
    metrics_gauge(&out, "dip_x", "help \\ and\nnewline", buf_cstr(&l), 42);
    metrics_sample(&out, "dip_y", NULL, 0.5);
    metrics_sample(&out, "dip_z", NULL, NAN);
    metrics_sample(&out, "dip_w", NULL, -INFINITY);
    assert_string_equal(buf_cstr(&out), "# HELP dip_x help \\\\ and\\nnewline\n# TYPE dip_x gauge\n"
                                        "dip_x{input=\"s3://b/a\\\"q\\\\\\n\",output=\"t\"} 42\n"
                                        "dip_y 0.5\ndip_z NaN\ndip_w -Inf\n");
    /* atomic write, then read a sample back by name and labels */
    char path[] = "/tmp/dip-test-metrics-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    DipError err = {0};
    assert_true(dip_write_file_atomic(path, out.data, out.len, &err));
    double v = 0;
    assert_true(metrics_read_sample(path, "dip_x", buf_cstr(&l), &v));
    assert_true(v == 42);
    assert_true(metrics_read_sample(path, "dip_y", NULL, &v));
    assert_true(v == 0.5);
    assert_false(metrics_read_sample(path, "dip_x", "{input=\"other\"}", &v));
    assert_false(metrics_read_sample(path, "dip", NULL, &v));
    unlink(path);
    assert_false(dip_write_file_atomic("/nonexistent-dir/x.prom", "a", 1, &err));
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x.prom"));
    buf_free(&l);
    buf_free(&out);
}

static void test_byte_reader(void **state)
{
    (void)state;
    /* PostgreSQL-style: Int8, Int16, Int32, Int64 big-endian, a String, Byte2 */
    static const uint8_t msg[] = {0x42, 0x01, 0x02, 0xde, 0xad, 0xbe, 0xef, 0,    0,   0,
                                  0,    0,    0,    1,    0,    'a',  'b',  '\0', 'x', 'y'};
    ByteReader r;
    br_init(&r, msg, sizeof msg);
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    const char *s;
    size_t sl;
    const uint8_t *b;
    assert_true(br_read_u8(&r, &u8));
    assert_int_equal(u8, 0x42);
    assert_true(br_read_be16(&r, &u16));
    assert_int_equal(u16, 0x0102);
    assert_true(br_read_be32(&r, &u32));
    assert_int_equal(u32, 0xdeadbeefu);
    assert_true(br_read_be64(&r, &u64));
    assert_int_equal(u64, 256);
    assert_true(br_read_cstring(&r, &s, &sl));
    assert_int_equal(sl, 2);
    assert_string_equal(s, "ab");
    assert_int_equal(br_remaining(&r), 2);
    /* past the end: false, zero, failed set, position unchanged */
    assert_false(br_read_be32(&r, &u32));
    assert_int_equal(u32, 0);
    assert_true(r.failed);
    assert_int_equal(r.pos, 18);
    assert_false(br_read_cstring(&r, &s, &sl)); /* "xy" has no NUL */
    assert_null(s);
    assert_true(br_read_bytes(&r, 2, &b));
    assert_memory_equal(b, "xy", 2);
    assert_false(br_read_bytes(&r, 1, &b));
    assert_null(b);
    assert_false(br_read_u8(&r, &u8));
    /* little-endian (RoaringBitmap) */
    static const uint8_t le[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a};
    br_init(&r, le, sizeof le);
    assert_true(br_read_le16(&r, &u16));
    assert_int_equal(u16, 0x0201);
    assert_true(br_read_le64(&r, &u64));
    assert_int_equal(u64, 0x0a09080706050403ull);
    assert_false(br_read_le32(&r, &u32));
    br_init(&r, le, 3);
    assert_false(br_read_le64(&r, &u64)); /* a 64-bit read over 3 bytes */
    assert_int_equal(u64, 0);
    br_init(&r, NULL, 0);
    assert_false(br_read_cstring(&r, &s, &sl));
}

/* The writer nests to JW_MAX_DEPTH - 1 levels with every comma in place. */
static void test_json_deep(void **state)
{
    (void)state;
    Buf b;
    buf_init(&b);
    JsonWriter w;
    jw_init(&w, &b);
    for (int i = 0; i < JW_MAX_DEPTH - 1; i++) {
        jw_arr_begin(&w);
        jw_int(&w, i);
    }
    for (int i = 0; i < JW_MAX_DEPTH - 1; i++)
        jw_arr_end(&w);
    assert_int_equal(w.depth, 0);
    /* "[0,[1,[2,..." : one comma per level */
    size_t commas = 0;
    for (size_t i = 0; i < b.len; i++)
        commas += b.data[i] == ',';
    assert_int_equal(commas, JW_MAX_DEPTH - 2);
    assert_memory_equal(b.data, "[0,[1,[2,", 9);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_writer),      cmocka_unit_test(test_double_roundtrip),
        cmocka_unit_test(test_decimal_format),   cmocka_unit_test(test_dates_and_timestamps),
        cmocka_unit_test(test_base64_uuid),      cmocka_unit_test(test_arena_buf),
        cmocka_unit_test(test_retry_delay),      cmocka_unit_test(test_retry_run),
        cmocka_unit_test(test_config_env),       cmocka_unit_test(test_error_prefix),
        cmocka_unit_test(test_metrics_text),     cmocka_unit_test(test_byte_reader),
        cmocka_unit_test(test_json_deep),        cmocka_unit_test(test_float_shortest),
        cmocka_unit_test(test_double_subnormal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
