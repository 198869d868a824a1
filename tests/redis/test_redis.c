/* test_redis.c: REDIS_URL parsing and the REDIS_* environment (PGSync's names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "redis/redis.h"

static void clear_env(void)
{
    const char *names[] = {"REDIS_CHECKPOINT",     "REDIS_URL",        "REDIS_SCHEME", "REDIS_HOST",
                           "REDIS_PORT",           "REDIS_DB",         "REDIS_USER",   "REDIS_AUTH",
                           "REDIS_SOCKET_TIMEOUT", "REDIS_MAX_RETRIES"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
}

static void test_url_full(void **state)
{
    (void)state;
    RedisConfig c = {.port = 6379};
    DipError err = {0};
    assert_true(redis_config_parse_url(&c, "redis://bob:p%40ss@cache.local:6380/7", &err));
    assert_string_equal(c.host, "cache.local");
    assert_int_equal(c.port, 6380);
    assert_int_equal(c.db, 7);
    assert_string_equal(c.user, "bob");
    assert_string_equal(c.password, "p@ss");
    char d[400];
    redis_config_describe(&c, d, sizeof d);
    assert_null(strstr(d, "p@ss"));
    assert_non_null(strstr(d, "cache.local:6380 db 7"));
}

static void test_url_minimal_and_password_only(void **state)
{
    (void)state;
    RedisConfig c = {.port = 6379};
    DipError err = {0};
    assert_true(redis_config_parse_url(&c, "redis://localhost", &err));
    assert_string_equal(c.host, "localhost");
    assert_int_equal(c.port, 6379);
    assert_int_equal(c.db, 0);
    RedisConfig c2 = {.port = 6379};
    assert_true(redis_config_parse_url(&c2, "redis://:secret@10.0.0.1/2", &err));
    assert_string_equal(c2.user, "");
    assert_string_equal(c2.password, "secret");
    assert_int_equal(c2.db, 2);
}

static void test_url_refused(void **state)
{
    (void)state;
    const char *bad[] = {"rediss://h:6380", "http://h",      "redis://",    "redis://h:0",
                         "redis://h:99999", "redis://h:12x", "redis://h/x", "redis://u:p%4@h"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        RedisConfig c = {.port = 6379};
        DipError err = {0};
        assert_false(redis_config_parse_url(&c, bad[i], &err));
        assert_int_equal(err.kind, DIP_ERR_CONFIG);
        assert_non_null(strstr(err.msg, "REDIS_URL"));
    }
}

static void test_env_parts(void **state)
{
    (void)state;
    clear_env();
    RedisConfig c;
    bool on = true;
    DipError err = {0};
    assert_true(redis_config_from_env(&c, &on, &err));
    assert_false(on);
    setenv("REDIS_CHECKPOINT", "true", 1);
    setenv("REDIS_HOST", "valkey", 1);
    setenv("REDIS_PORT", "7000", 1);
    setenv("REDIS_DB", "4", 1);
    setenv("REDIS_AUTH", "pw", 1);
    assert_true(redis_config_from_env(&c, &on, &err));
    assert_true(on);
    assert_string_equal(c.host, "valkey");
    assert_int_equal(c.port, 7000);
    assert_int_equal(c.db, 4);
    assert_string_equal(c.password, "pw");
    /* REDIS_URL wins over the parts */
    setenv("REDIS_URL", "redis://other:6390/1", 1);
    assert_true(redis_config_from_env(&c, &on, &err));
    assert_string_equal(c.host, "other");
    assert_int_equal(c.port, 6390);
    assert_int_equal(c.db, 1);
    unsetenv("REDIS_URL");
    setenv("REDIS_SCHEME", "rediss", 1);
    DipError e2 = {0};
    assert_false(redis_config_from_env(&c, &on, &e2));
    assert_non_null(strstr(e2.msg, "REDIS_SCHEME"));
    unsetenv("REDIS_SCHEME");
    setenv("REDIS_PORT", "0", 1);
    DipError e3 = {0};
    assert_false(redis_config_from_env(&c, &on, &e3));
    assert_int_equal(e3.kind, DIP_ERR_CONFIG);
    clear_env();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_full),
        cmocka_unit_test(test_url_minimal_and_password_only),
        cmocka_unit_test(test_url_refused),
        cmocka_unit_test(test_env_parts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
