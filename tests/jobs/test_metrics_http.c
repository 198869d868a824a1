/*
 * test_metrics_http.c: unit tests of the daemon's HTTP server (jobs/metrics_http.h) and of
 * the sync-es metrics it serves (jobs/sync_es_metrics.h), over real loopback sockets:
 *   - the request parser: well-formed heads, and each refusal with its status;
 *   - a live server on port 0: GET, HEAD, 404, 405, 400, 431, 505, a client that sends
 *     nothing (dropped after the connection timeout while others are served), more idle
 *     clients than the connection limit (a later request is still answered), a port in use;
 *   - sync_es_metrics: families with HELP/TYPE before their samples, counters as reported,
 *     lag 0 when caught up, /healthz 503 when a trouble is recorded and 200 after progress.
 */
#include "jobs/metrics_http.h"
#include "jobs/sync_es_metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

/* ---------------------------------------------------------------- the parser */

static int parse(const char *head, char *method, char *path)
{
    return metrics_http_parse_request(head, strlen(head), method, 16, path, 64);
}

static void test_parse(void **state)
{
    (void)state;
    char m[16], p[64];
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", m, p), 0);
    assert_string_equal(m, "GET");
    assert_string_equal(p, "/metrics");
    assert_int_equal(parse("HEAD /healthz?verbose=1 HTTP/1.0\r\n\r\n", m, p), 0);
    assert_string_equal(m, "HEAD");
    assert_string_equal(p, "/healthz");
    assert_int_equal(parse("GET / HTTP/1.1\n\n", m, p), 0); /* bare LF tolerated */
    /* refusals */
    assert_int_equal(parse("POST /metrics HTTP/1.1\r\n\r\n", m, p), 405);
    assert_int_equal(parse("DELETE / HTTP/1.1\r\n\r\n", m, p), 405);
    assert_int_equal(parse("GET /metrics HTTP/2.0\r\n\r\n", m, p), 505);
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\n", m, p), 400); /* no blank line */
    assert_int_equal(parse("GET /metrics\r\n\r\n", m, p), 400);
    assert_int_equal(parse("GET metrics HTTP/1.1\r\n\r\n", m, p), 400);
    assert_int_equal(parse("GET  /metrics HTTP/1.1\r\n\r\n", m, p), 400);
    assert_int_equal(parse("GET /metrics HTTP/1.1 \r\n\r\n", m, p), 400);
    assert_int_equal(parse("GET /metrics HTTX/1.1\r\n\r\n", m, p), 400);
    assert_int_equal(parse("G(T /metrics HTTP/1.1\r\n\r\n", m, p), 400);
    assert_int_equal(parse("\x16\x03\x01\x02\x00\r\n\r\n", m, p), 400);
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\nNo colon here\r\n\r\n", m, p), 400);
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n", m, p), 400);
    assert_int_equal(parse("GET /metrics HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", m, p), 400);
    assert_int_equal(parse("GET /a\x01 HTTP/1.1\r\n\r\n", m, p), 400);
    assert_int_equal(parse("VERYLONGMETHODNAMEXX / HTTP/1.1\r\n\r\n", m, p), 400);
    char longp[200];
    dip_snprintf(longp, sizeof longp, "GET /%0100d HTTP/1.1\r\n\r\n", 0);
    assert_int_equal(parse(longp, m, p), 414);
    assert_int_equal(parse("", m, p), 400);
}

static void test_parse_addr(void **state)
{
    (void)state;
    char host[64];
    int port;
    DipError err = {0};
    assert_true(metrics_http_parse_addr("127.0.0.1:9187", host, sizeof host, &port, "x", &err));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9187);
    assert_true(metrics_http_parse_addr("[::1]:80", host, sizeof host, &port, "x", &err));
    assert_string_equal(host, "::1");
    assert_true(metrics_http_parse_addr(":9187", host, sizeof host, &port, "x", &err));
    assert_string_equal(host, "");
    const char *bad[] = {"9187", "host:", "host:x", "host:70000", "::1:80", "h:-1"};
    for (size_t i = 0; i < DIP_ARRAY_LEN(bad); i++) {
        dip_error_clear(&err);
        assert_false(metrics_http_parse_addr(bad[i], host, sizeof host, &port, "--opt", &err));
        assert_int_equal(err.kind, DIP_ERR_CONFIG);
        assert_non_null(strstr(err.msg, "--opt"));
    }
}

/* ---------------------------------------------------------------- a live server */

static void handler(void *ctx, const char *path, MetricsHttpResponse *resp)
{
    (void)ctx;
    if (strcmp(path, "/metrics") == 0) {
        resp->status = 200;
        buf_append_str(&resp->body, "x 1\n");
    }
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Everything the server sends until it closes (at most 15 s). */
static void read_all(int fd, char *out, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < 1500 && n + 1 < cap; i++) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        if (poll(&pf, 1, 10) <= 0) continue;
        ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
        if (r <= 0) break;
        n += (size_t)r;
    }
    out[n] = '\0';
}

static void ask(int port, const char *req, size_t len, char *out, size_t cap)
{
    int fd = connect_to(port);
    assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
    read_all(fd, out, cap);
    close(fd);
}

static void expect_status(int port, const char *req, const char *status_line)
{
    char out[4096];
    ask(port, req, strlen(req), out, sizeof out);
    if (strncmp(out, status_line, strlen(status_line)) != 0) fail_msg("%s -> %s", req, out);
    assert_non_null(strstr(out, "Connection: close\r\n"));
}

static void test_server(void **state)
{
    (void)state;
    MetricsHttp *s;
    DipError err = {0};
    assert_true(metrics_http_start("127.0.0.1:0", "--opt", handler, NULL, &s, &err));
    int port = metrics_http_port(s);
    assert_true(port > 0);
    char out[16384];
    ask(port, "GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n", 34, out, sizeof out);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(out, "Content-Length: 4\r\n"));
    assert_non_null(strstr(out, "\r\n\r\nx 1\n"));
    assert_non_null(strstr(out, " GMT\r\n")); /* Date: Thu, 03 Dec 2026 01:02:03 GMT */
    assert_non_null(strstr(out, "\r\nDate: "));
    ask(port, "HEAD /metrics HTTP/1.1\r\n\r\n", 26, out, sizeof out);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_non_null(strstr(out, "Content-Length: 4\r\n"));
    assert_null(strstr(out, "x 1"));
    expect_status(port, "GET /other HTTP/1.1\r\n\r\n", "HTTP/1.1 404 ");
    expect_status(port, "PUT /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405 ");
    ask(port, "POST / HTTP/1.1\r\n\r\n", 19, out, sizeof out);
    assert_non_null(strstr(out, "Allow: GET, HEAD\r\n"));
    expect_status(port, "garbage\r\n\r\n", "HTTP/1.1 400 ");
    expect_status(port, "GET / HTTP/3.0\r\n\r\n", "HTTP/1.1 505 ");
    /* a head that never ends within 8 KiB */
    char big[METRICS_HTTP_MAX_REQUEST + 100];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    ask(port, big, sizeof big, out, sizeof out);
    assert_non_null(strstr(out, "HTTP/1.1 431 "));
    /* a partial head, then the client stops sending: answered 400 */
    int fd = connect_to(port);
    assert_int_equal(send(fd, "GET /met", 8, MSG_NOSIGNAL), 8);
    shutdown(fd, SHUT_WR);
    read_all(fd, out, sizeof out);
    close(fd);
    assert_non_null(strstr(out, "HTTP/1.1 400 "));
    /* more silent clients than the limit: a later request is answered once they time out */
    int idle[METRICS_HTTP_MAX_CONNS];
    for (size_t i = 0; i < DIP_ARRAY_LEN(idle); i++)
        idle[i] = connect_to(port);
    double t0 = dip_now_s();
    ask(port, "GET /metrics HTTP/1.1\r\n\r\n", 25, out, sizeof out);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
    assert_true(dip_now_s() - t0 < 3 * METRICS_HTTP_CONN_TIMEOUT_S);
    /* the silent ones were closed by the server (EOF), not answered */
    for (size_t i = 0; i < DIP_ARRAY_LEN(idle); i++) {
        read_all(idle[i], out, sizeof out);
        assert_string_equal(out, "");
        close(idle[i]);
    }
    /* the port is taken now: a second server fails with a config error naming it */
    char addr[32];
    dip_snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    MetricsHttp *s2;
    assert_false(metrics_http_start(addr, "--opt", handler, NULL, &s2, &err));
    assert_int_equal(err.kind, DIP_ERR_CONFIG);
    assert_non_null(strstr(err.msg, addr));
    assert_non_null(strstr(err.msg, "--opt"));
    assert_non_null(strstr(err.msg, "another process holds that port"));
    metrics_http_stop(s);
}

/* ---------------------------------------------------------------- sync-es metrics */

/* Every sample line's metric has a TYPE line before it; returns the number of samples. */
static int check_exposition(const char *text)
{
    char typed[64][96];
    int ntyped = 0, nsamples = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        size_t len = (size_t)(nl - p);
        char line[512];
        assert_true(len < sizeof line);
        memcpy(line, p, len);
        line[len] = '\0';
        if (strncmp(line, "# TYPE ", 7) == 0) {
            assert_true(ntyped < 64);
            assert_int_equal(sscanf(line + 7, "%95s", typed[ntyped]), 1);
            ntyped++;
        } else if (line[0] != '#') {
            char name[96];
            assert_int_equal(sscanf(line, "%95[a-z_]", name), 1);
            bool found = false;
            for (int i = 0; i < ntyped && !found; i++)
                found = strcmp(typed[i], name) == 0;
            if (!found) fail_msg("sample without TYPE: %s", line);
            nsamples++;
        }
        p = nl + 1;
    }
    return nsamples;
}

static double sample(const char *text, const char *series)
{
    const char *at = strstr(text, series);
    if (at == NULL) fail_msg("no series %s", series);
    return strtod(at + strlen(series) + 1, NULL);
}

static void test_sync_es_metrics(void **state)
{
    (void)state;
    SyncEsMetrics *m;
    DipError err = {0};
    assert_true(sync_es_metrics_start("off", "--metrics-addr", 30, &m, &err));
    assert_null(m);
    sync_es_metrics_progress(NULL, NULL, NULL); /* NULL is a no-op */
    assert_true(sync_es_metrics_start("127.0.0.1:0", "--metrics-addr", 30, &m, &err));
    assert_true(sync_es_metrics_port(m) > 0);
    sync_es_metrics_index(m, "books");
    sync_es_metrics_phase(m, SYNC_ES_PHASE_STREAMING);
    SyncEsFigures f = {.docs = 15,
                       .deletes = 3,
                       .transactions = 3,
                       .batches = 2,
                       .heartbeats = 7,
                       .es_request_retries = 4,
                       .session_retries = 1,
                       .dead_letters = 2,
                       .confirmed_lsn = 0x100000020ull,
                       .wal_end_lsn = 0x100000020ull,
                       .retained_bytes = 4096,
                       .applied_commit_us = 1,
                       .caught_up = true};
    sync_es_metrics_progress(m, &f, NULL);
    Buf out;
    buf_init(&out);
    sync_es_metrics_render(m, &out);
    const char *t = buf_cstr(&out);
    assert_true(check_exposition(t) > 20);
    assert_true(sample(t, "dip_sync_es_actions_total{index=\"books\",action=\"index\"}") == 15);
    assert_true(sample(t, "dip_sync_es_actions_total{index=\"books\",action=\"delete\"}") == 3);
    assert_true(sample(t, "dip_sync_es_confirmed_lsn{index=\"books\"}") == 4294967328.0);
    assert_true(sample(t, "dip_sync_es_lag_bytes{index=\"books\"}") == 0);
    assert_true(sample(t, "dip_sync_es_lag_seconds{index=\"books\"}") == 0);
    assert_true(sample(t, "dip_sync_es_retries_total{index=\"books\",kind=\"es_request\"}") == 4);
    assert_true(sample(t, "dip_sync_es_phase{index=\"books\",phase=\"streaming\"}") == 1);
    assert_true(sample(t, "dip_sync_es_healthy{index=\"books\"}") == 1);
    /* behind: lag bytes and seconds (the applied commit is 1 us after the epoch) */
    f.wal_end_lsn += 1000;
    sync_es_metrics_progress(m, &f, NULL);
    buf_clear(&out);
    sync_es_metrics_render(m, &out);
    t = buf_cstr(&out);
    assert_true(sample(t, "dip_sync_es_lag_bytes{index=\"books\"}") == 1000);
    assert_true(sample(t, "dip_sync_es_lag_seconds{index=\"books\"}") > 1e9);
    /* a failed session: 503 with its reason, until a batch is applied */
    sync_es_metrics_trouble(m, "postgresql: connection lost");
    buf_clear(&out);
    assert_int_equal(sync_es_metrics_health(m, &out), 503);
    assert_non_null(strstr(buf_cstr(&out), "connection lost"));
    sync_es_metrics_progress(m, &f, NULL);
    buf_clear(&out);
    assert_int_equal(sync_es_metrics_health(m, &out), 503);
    f.batches++;
    sync_es_metrics_progress(m, &f, NULL);
    buf_clear(&out);
    assert_int_equal(sync_es_metrics_health(m, &out), 200);
    assert_non_null(strstr(buf_cstr(&out), "\"state\":\"streaming\""));
    /* a standby is healthy */
    sync_es_metrics_phase(m, SYNC_ES_PHASE_STANDBY);
    buf_clear(&out);
    assert_int_equal(sync_es_metrics_health(m, &out), 200);
    assert_non_null(strstr(buf_cstr(&out), "\"state\":\"standby\""));
    buf_free(&out);
    sync_es_metrics_stop(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_addr),
        cmocka_unit_test(test_server),
        cmocka_unit_test(test_sync_es_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
