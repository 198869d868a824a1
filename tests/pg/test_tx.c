/* Integration tests of pg's transaction and lock primitives against a private PostgreSQL
 * (tests/pg/with-pg.sh): pg_tx_run commits, rolls back a failed body, and reruns the whole
 * transaction on a new connection after a transient failure (its backend terminated from a
 * second connection with pg_terminate_backend, SQLSTATE 57P01), gives up after the policy's
 * retries, stops retrying when the caller abandons; pg_advisory_lock excludes a second
 * session and names the holder; row accessors; pg_sql_operation's wording. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg/pg.h"

static PgSettings settings;
static PgConn conn, other;

static int setup(void **state)
{
    (void)state;
    DipError err = {0};
    if (!pg_settings_from_env(&settings, &err) || !pg_connect(&conn, &settings, &err) ||
        !pg_connect(&other, &settings, &err) ||
        !pg_exec(&conn, "DROP TABLE IF EXISTS tx_t; CREATE TABLE tx_t (id int PRIMARY KEY)",
                 &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pg_close(&conn);
    pg_close(&other);
    return 0;
}

static int64_t count_rows(int id)
{
    char sql[96];
    dip_snprintf(sql, sizeof sql, "SELECT count(*) FROM tx_t WHERE id = %d", id);
    PGresult *r = NULL;
    DipError err = {0};
    if (!pg_query(&other, sql, 0, NULL, &r, &err)) fail_msg("%s", err.msg);
    int64_t n = -1;
    assert_true(pg_value_i64(r, 0, 0, &n));
    pg_result_free(r);
    return n;
}

typedef struct Body {
    int id;
    int calls;
    int terminate_on; /* terminate our own backend on these calls (1-based), 0 = never;
                       * -1 = on every call */
    bool fail_data;   /* end the body with a data error */
} Body;

static bool insert_body(PgConn *c, void *ctx, DipError *err)
{
    Body *b = ctx;
    b->calls++;
    char sql[64];
    dip_snprintf(sql, sizeof sql, "INSERT INTO tx_t VALUES (%d)", b->id);
    if (!pg_exec(c, sql, err)) return false;
    if (b->terminate_on == -1 || b->terminate_on == b->calls) {
        char kill[96];
        dip_snprintf(kill, sizeof kill, "SELECT pg_terminate_backend(%d)", PQbackendPID(c->conn));
        DipError e = {0};
        if (!pg_exec(&other, kill, &e)) fail_msg("%s", e.msg);
        /* the next statement meets the terminated backend: a transient error */
        if (pg_exec(c, "SELECT 1", err)) fail_msg("statement after pg_terminate_backend passed");
        return false;
    }
    if (b->fail_data) return dip_error_set(err, DIP_ERR_DATA, "the body refused its rows");
    return true;
}

static void test_tx_commit(void **state)
{
    (void)state;
    DipError err = {0};
    Body b = {.id = 1};
    if (!pg_tx_run(&conn, NULL, insert_body, &b, "inserting", &err)) fail_msg("%s", err.msg);
    assert_int_equal(b.calls, 1);
    assert_int_equal(count_rows(1), 1);
    assert_false(pg_in_transaction(&conn));
}

static void test_tx_rollback_on_body_failure(void **state)
{
    (void)state;
    DipError err = {0};
    RetryPolicy p = pg_retry_policy(&settings);
    PgTxRetry retry = {.policy = &p, .settings = &settings};
    Body b = {.id = 2, .fail_data = true};
    assert_false(pg_tx_run(&conn, &retry, insert_body, &b, "inserting", &err));
    assert_int_equal(err.kind, DIP_ERR_DATA);
    assert_int_equal(b.calls, 1); /* a data error is never retried */
    assert_int_equal(count_rows(2), 0);
    /* rolled back, and the connection stays usable */
    assert_true(pg_is_alive(&conn));
    assert_false(pg_in_transaction(&conn));
    /* a failing statement inside the body: rolled back too */
    Body dup = {.id = 1};
    assert_false(pg_tx_run(&conn, &retry, insert_body, &dup, "inserting a duplicate", &err));
    assert_int_equal(err.kind, DIP_ERR_DATA);
    assert_non_null(strstr(err.msg, "23505"));
    assert_false(pg_in_transaction(&conn));
}

static void test_tx_retry_after_terminated_backend(void **state)
{
    (void)state;
    DipError err = {0};
    RetryPolicy p = {3, 0.01, 0.05};
    PgTxRetry retry = {.policy = &p, .settings = &settings};
    Body b = {.id = 3, .terminate_on = 1};
    int pid_before = PQbackendPID(conn.conn);
    if (!pg_tx_run(&conn, &retry, insert_body, &b, "inserting", &err)) fail_msg("%s", err.msg);
    assert_int_equal(b.calls, 2); /* the whole transaction ran again */
    assert_int_equal(count_rows(3), 1);
    assert_true(pg_is_alive(&conn));
    assert_int_not_equal(PQbackendPID(conn.conn), pid_before); /* on a new connection */
}

static void test_tx_gives_up_after_retries(void **state)
{
    (void)state;
    DipError err = {0};
    RetryPolicy p = {2, 0.01, 0.05};
    PgTxRetry retry = {.policy = &p, .settings = &settings};
    Body b = {.id = 4, .terminate_on = -1};
    assert_false(pg_tx_run(&conn, &retry, insert_body, &b, "inserting", &err));
    assert_int_equal(err.kind, DIP_ERR_TRANSIENT);
    assert_int_equal(b.calls, 3);
    assert_non_null(strstr(err.msg, "giving up after 3 attempts"));
    assert_int_equal(count_rows(4), 0);
    /* the next transaction reconnects by itself */
    Body ok = {.id = 5};
    if (!pg_tx_run(&conn, &retry, insert_body, &ok, "inserting", &err)) fail_msg("%s", err.msg);
    assert_int_equal(count_rows(5), 1);
}

typedef struct Reconnect {
    int calls;
    bool abandon;
} Reconnect;

static bool reconnect_and_abandon(PgConn *c, void *ctx, DipError *err)
{
    Reconnect *r = ctx;
    r->calls++;
    r->abandon = true; /* e.g. the caller's lock went to another session */
    (void)c;
    return dip_error_set(err, DIP_ERR_TRANSIENT, "the lock is held by someone else now");
}

static void test_tx_abandon(void **state)
{
    (void)state;
    DipError err = {0};
    RetryPolicy p = {5, 0.01, 0.05};
    Reconnect rc = {0};
    PgTxRetry retry = {
        .policy = &p, .reconnect = reconnect_and_abandon, .ctx = &rc, .abandon = &rc.abandon};
    Body b = {.id = 6, .terminate_on = 1};
    assert_false(pg_tx_run(&conn, &retry, insert_body, &b, "inserting", &err));
    assert_int_equal(err.kind, DIP_ERR_TRANSIENT);
    assert_non_null(strstr(err.msg, "held by someone else"));
    assert_int_equal(rc.calls, 1); /* no retry after the caller abandoned */
    assert_int_equal(b.calls, 1);
    assert_false(pg_is_alive(&conn));
    if (!pg_connect(&conn, &settings, &err)) fail_msg("%s", err.msg);
}

static void test_advisory_lock(void **state)
{
    (void)state;
    DipError err = {0};
    bool got = false;
    char holder[256];
    if (!pg_advisory_lock(&conn, "dip test lock", 0, &got, holder, sizeof holder, &err))
        fail_msg("%s", err.msg);
    assert_true(got);
    /* a second session waits, then learns who holds it */
    double t0 = dip_now_s();
    assert_true(pg_advisory_lock(&other, "dip test lock", 0.3, &got, holder, sizeof holder, &err));
    assert_false(got);
    assert_true(dip_now_s() - t0 >= 0.25);
    char want[64];
    dip_snprintf(want, sizeof want, "PostgreSQL backend pid %d (", PQbackendPID(conn.conn));
    assert_non_null(strstr(holder, want));
    /* another name is another lock */
    assert_true(pg_advisory_lock(&other, "dip test lock 2", 0, &got, holder, sizeof holder, &err));
    assert_true(got);
    assert_true(pg_advisory_unlock(&other, "dip test lock 2", &err));
    /* released: the second session gets it; unlocking what one does not hold is an error */
    assert_true(pg_advisory_unlock(&conn, "dip test lock", &err));
    assert_false(pg_advisory_unlock(&conn, "dip test lock", &err));
    assert_true(pg_advisory_lock(&other, "dip test lock", 0, &got, holder, sizeof holder, &err));
    assert_true(got);
    /* the session's end releases it */
    pg_close(&other);
    if (!pg_connect(&other, &settings, &err)) fail_msg("%s", err.msg);
    for (int i = 0; i < 50 && !got; i++) /* the server ends the old backend asynchronously */
        assert_true(pg_advisory_lock(&conn, "dip test lock", 0.1, &got, NULL, 0, &err));
    assert_true(pg_advisory_lock(&conn, "dip test lock", 2, &got, NULL, 0, &err));
    assert_true(got);
    assert_true(pg_advisory_unlock(&conn, "dip test lock", &err));
}

static void test_row_accessors(void **state)
{
    (void)state;
    DipError err = {0};
    PGresult *r = NULL;
    if (!pg_query(&conn, "SELECT 42::bigint, NULL::bigint, true, 'abc'::text, 'x'::text", 0, NULL,
                  &r, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(pg_nrows(r), 1);
    int64_t v = 0;
    assert_true(pg_value_i64(r, 0, 0, &v));
    assert_int_equal(v, 42);
    assert_false(pg_value_i64(r, 0, 1, &v));
    assert_true(pg_is_null(r, 0, 1));
    assert_true(pg_value_bool(r, 0, 2));
    assert_false(pg_value_i64(r, 0, 3, &v));
    assert_string_equal(pg_value(r, 0, 3), "abc");
    assert_int_equal(pg_value_len(r, 0, 3), 3);
    pg_result_free(r);
    if (!pg_query(&conn, "UPDATE tx_t SET id = id WHERE id IN (1, 3)", 0, NULL, &r, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(pg_cmd_rows(r), 2);
    pg_result_free(r);
}

static void test_sql_operation(void **state)
{
    (void)state;
    char w[160];
    pg_sql_operation("-- run_start.sql: a new run row in dip_sync_runs; the backend config "
                     "never holds a password.\nINSERT INTO dip_sync_runs ...",
                     w, sizeof w);
    assert_string_equal(w, "a new run row in dip_sync_runs (run_start.sql)");
    pg_sql_operation("-- gold_export.sql: every (hk, hdiff) pair of gold, for dip's pre-filter "
                     "(~2 s for 5M rows).\nCOPY ...",
                     w, sizeof w);
    assert_string_equal(w, "every (hk, hdiff) pair of gold, for dip's pre-filter (~2 s for 5M "
                           "rows) (gold_export.sql)");
    pg_sql_operation("BEGIN", w, sizeof w);
    assert_string_equal(w, "BEGIN statement");
    pg_sql_operation("\n  create table x (a int)", w, sizeof w);
    assert_string_equal(w, "CREATE TABLE statement");
    pg_sql_operation("-- a comment\nselect 1", w, sizeof w);
    assert_string_equal(w, "SELECT statement");
    pg_sql_operation("(SELECT 1)", w, sizeof w);
    assert_string_equal(w, "statement");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tx_commit),
        cmocka_unit_test(test_tx_rollback_on_body_failure),
        cmocka_unit_test(test_tx_retry_after_terminated_backend),
        cmocka_unit_test(test_tx_gives_up_after_retries),
        cmocka_unit_test(test_tx_abandon),
        cmocka_unit_test(test_advisory_lock),
        cmocka_unit_test(test_row_accessors),
        cmocka_unit_test(test_sql_operation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
