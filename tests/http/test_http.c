/*
 * test_http.c: unit tests of src/http.
 *
 * SigV4 against the signatures AWS publishes: the S3 "GET Object" and "ListObjects"
 * examples of the SigV4 header-auth page, and cases of the SigV4 test suite
 * (get-vanilla, post-vanilla, get-vanilla-query-order-key-case,
 * post-vanilla-empty-query-value, post-sts-header-before; credentials AKIDEXAMPLE, time
 * 20150830T123600Z, us-east-1, service "service"); URI and canonical query encoding; the
 * http_sigv4_sign helper (S3 example through a URL, OpenSearch's double-encoded path and
 * always-signed payload hash); the classification table; and real exchanges with a small
 * loopback HTTP server thread in this file: capped body, header capture, error body,
 * retries of 503 until a 200, a final 404 not retried, a stall ended by a stop request.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#define S3_DOC_KEY "AKIAIOSFODNN7EXAMPLE"
#define S3_DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static void test_sigv4_get_object_example(void **state)
{
    (void)state;
    HttpHeader h[] = {
        {"x-amz-date", "20130524T000000Z"},
        {"range", "bytes=0-9"},
        {"host", "examplebucket.s3.amazonaws.com"},
        {"x-amz-content-sha256", HTTP_EMPTY_SHA256},
    };
    HttpSigV4Request rq = {
        "GET", "/test.txt", "",           h, 4, HTTP_EMPTY_SHA256, "20130524T000000Z", "us-east-1",
        "s3",  S3_DOC_KEY,  S3_DOC_SECRET};
    Buf auth, creq;
    buf_init(&auth);
    buf_init(&creq);
    http_sigv4_authorization(&rq, &auth, &creq);
    assert_string_equal(buf_cstr(&creq),
                        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
                        "range:bytes=0-9\nx-amz-content-sha256:" HTTP_EMPTY_SHA256 "\n"
                        "x-amz-date:20130524T000000Z\n\n"
                        "host;range;x-amz-content-sha256;x-amz-date\n" HTTP_EMPTY_SHA256);
    assert_string_equal(
        buf_cstr(&auth),
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    buf_free(&auth);
    buf_free(&creq);
}

static void test_sigv4_list_objects_example(void **state)
{
    (void)state;
    /* parameters given out of order: the canonical query must sort them */
    HttpQueryParam qp[] = {{"prefix", "J"}, {"max-keys", "2"}};
    Buf q;
    buf_init(&q);
    http_canonical_query(&q, qp, 2);
    assert_string_equal(buf_cstr(&q), "max-keys=2&prefix=J");
    HttpHeader h[] = {
        {"host", "examplebucket.s3.amazonaws.com"},
        {"x-amz-content-sha256", HTTP_EMPTY_SHA256},
        {"x-amz-date", "20130524T000000Z"},
    };
    HttpSigV4Request rq = {
        "GET", "/",        buf_cstr(&q), h, 3, HTTP_EMPTY_SHA256, "20130524T000000Z", "us-east-1",
        "s3",  S3_DOC_KEY, S3_DOC_SECRET};
    Buf auth;
    buf_init(&auth);
    http_sigv4_authorization(&rq, &auth, NULL);
    assert_non_null(
        strstr(buf_cstr(&auth),
               "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
    buf_free(&auth);
    buf_free(&q);
}

static void test_sigv4_suite_query_order(void **state)
{
    (void)state;
    HttpQueryParam qp[] = {{"Param2", "value2"}, {"Param1", "value1"}};
    Buf q, auth;
    buf_init(&q);
    buf_init(&auth);
    http_canonical_query(&q, qp, 2);
    assert_string_equal(buf_cstr(&q), "Param1=value1&Param2=value2");
    HttpHeader h[] = {{"host", "example.amazonaws.com"}, {"x-amz-date", "20150830T123600Z"}};
    HttpSigV4Request rq = {"GET",
                           "/",
                           buf_cstr(&q),
                           h,
                           2,
                           HTTP_EMPTY_SHA256,
                           "20150830T123600Z",
                           "us-east-1",
                           "service",
                           "AKIDEXAMPLE",
                           "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
    http_sigv4_authorization(&rq, &auth, NULL);
    assert_string_equal(
        buf_cstr(&auth),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,"
        "SignedHeaders=host;x-amz-date,"
        "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
    buf_free(&q);
    buf_free(&auth);
}

static void test_sigv4_header_trim_and_date(void **state)
{
    (void)state;
    HttpHeader h[] = {{"x-amz-meta-a", "  two   spaces  "}, {"host", "h"}};
    HttpSigV4Request rq = {"HEAD",      "/k", "",   h,   2, "UNSIGNED-PAYLOAD", "20240101T000000Z",
                           "eu-west-1", "s3", "AK", "SK"};
    Buf auth, creq;
    buf_init(&auth);
    buf_init(&creq);
    http_sigv4_authorization(&rq, &auth, &creq);
    assert_string_equal(buf_cstr(&creq), "HEAD\n/k\n\nhost:h\nx-amz-meta-a:two spaces\n\n"
                                         "host;x-amz-meta-a\nUNSIGNED-PAYLOAD");
    assert_non_null(strstr(buf_cstr(&auth), "Credential=AK/20240101/eu-west-1/s3/aws4_request"));
    char d[17];
    http_sigv4_format_date(1369353600, d); /* 2013-05-24T00:00:00Z */
    assert_string_equal(d, "20130524T000000Z");
    buf_free(&auth);
    buf_free(&creq);
}

static void test_uri_encode(void **state)
{
    (void)state;
    Buf b;
    buf_init(&b);
    const char *k = "dir/a b+c=d%e~f_g.h-i\xc3\xa9*(x)!'";
    http_uri_encode(&b, k, strlen(k), true);
    assert_string_equal(buf_cstr(&b), "dir/a%20b%2Bc%3Dd%25e~f_g.h-i%C3%A9%2A%28x%29%21%27");
    buf_clear(&b);
    http_uri_encode(&b, "a/b", 3, false);
    assert_string_equal(buf_cstr(&b), "a%2Fb");
    buf_free(&b);
}

static void test_canonical_query(void **state)
{
    (void)state;
    HttpQueryParam qp[] = {
        {"prefix", "tables/a b/_delta_log/"},
        {"list-type", "2"},
        {"continuation-token", "1/x+y=="},
        {"delimiter", "/"},
        {"max-keys", ""},
    };
    Buf q;
    buf_init(&q);
    http_canonical_query(&q, qp, 5);
    assert_string_equal(buf_cstr(&q), "continuation-token=1%2Fx%2By%3D%3D&delimiter=%2F&"
                                      "list-type=2&max-keys=&"
                                      "prefix=tables%2Fa%20b%2F_delta_log%2F");
    buf_clear(&q);
    /* sorting is on the encoded names (byte order: uppercase before lowercase) */
    HttpQueryParam qp2[] = {{"b", "1"}, {"B", "2"}, {"a", "2"}, {"a", "1"}};
    http_canonical_query(&q, qp2, 4);
    assert_string_equal(buf_cstr(&q), "B=2&a=1&a=2&b=1");
    buf_free(&q);
}

#define SUITE_KEY "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_DATE "20150830T123600Z"
#define SUITE_TOKEN                                                                                \
    "AQoDYXdzEPT//////////"                                                                        \
    "wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwth" \
    "A"                                                                                            \
    "x7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvl" \
    "Rd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+"                              \
    "scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

/* One suite case: host + x-amz-date (+ token) signed, empty payload. */
static void suite_case(const char *method, const char *query, const char *token,
                       const char *want_sig)
{
    HttpHeader h[3] = {{"host", "example.amazonaws.com"}, {"x-amz-date", SUITE_DATE}};
    size_t nh = 2;
    if (token) h[nh++] = (HttpHeader){"x-amz-security-token", token};
    HttpSigV4Request rq = {
        method,     "/",         query,     h,         nh,          HTTP_EMPTY_SHA256,
        SUITE_DATE, "us-east-1", "service", SUITE_KEY, SUITE_SECRET};
    Buf auth;
    buf_init(&auth);
    http_sigv4_authorization(&rq, &auth, NULL);
    char want[128];
    dip_snprintf(want, sizeof want, "Signature=%s", want_sig);
    if (!strstr(buf_cstr(&auth), want)) fail_msg("%s: got %s", want_sig, buf_cstr(&auth));
    buf_free(&auth);
}

static void test_sigv4_suite(void **state)
{
    (void)state;
    suite_case("GET", "", NULL, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
    suite_case("POST", "", NULL,
               "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
    suite_case("POST", "Param1=value1", NULL,
               "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11");
    suite_case("POST", "", SUITE_TOKEN,
               "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead");
}

/* The helper, from a URL, reproduces the S3 GET Object example byte for byte. */
static void test_sigv4_sign_s3_url(void **state)
{
    (void)state;
    HttpAwsAuth a = {S3_DOC_KEY, S3_DOC_SECRET, NULL, "us-east-1", "s3"};
    HttpHeader extra[] = {{"range", "bytes=0-9"}};
    struct curl_slist *hl = NULL;
    DipError err = {0};
    assert_true(http_sigv4_sign(&a, "GET", "https://examplebucket.s3.amazonaws.com/test.txt", extra,
                                1, NULL, 0, 1369353600, &hl, &err));
    bool seen_auth = false, seen_sha = false;
    for (struct curl_slist *l = hl; l; l = l->next) {
        if (strncmp(l->data, "authorization: ", 15) == 0) {
            seen_auth = true;
            assert_string_equal(
                l->data + 15,
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
                "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
        }
        if (strcmp(l->data, "x-amz-content-sha256: " HTTP_EMPTY_SHA256) == 0) seen_sha = true;
    }
    assert_true(seen_auth);
    assert_true(seen_sha);
    curl_slist_free_all(hl);
    assert_false(
        http_sigv4_sign(&a, "GET", "examplebucket/test.txt", NULL, 0, NULL, 0, 0, &hl, &err));
    assert_int_equal(err.kind, DIP_ERR_CONFIG);
}

/* OpenSearch ("es"/"aoss"): the sent path is encoded once more, the query is canonicalised
 * from the URL, the payload hash is signed and sent. Checked against the low-level signer
 * given the canonical pieces by hand. */
static void test_sigv4_sign_opensearch(void **state)
{
    (void)state;
    HttpAwsAuth a = {SUITE_KEY, SUITE_SECRET, "tok", "eu-west-1", "aoss"};
    const char *body = "{\"a\":1}\n";
    struct curl_slist *hl = NULL;
    DipError err = {0};
    assert_true(http_sigv4_sign(&a, "POST",
                                "https://x.eu-west-1.aoss.amazonaws.com:443/idx/_doc/a%2Fb?"
                                "refresh=true&pipeline=p%20q",
                                NULL, 0, body, strlen(body), 1440938160, &hl, &err));
    char sha[65];
    uint8_t d[32];
    dip_sha256(body, strlen(body), d);
    dip_hex(d, 32, sha);
    HttpHeader h[] = {{"host", "x.eu-west-1.aoss.amazonaws.com:443"},
                      {"x-amz-content-sha256", sha},
                      {"x-amz-date", SUITE_DATE},
                      {"x-amz-security-token", "tok"}};
    HttpSigV4Request rq = {"POST",
                           "/idx/_doc/a%252Fb",
                           "pipeline=p%20q&refresh=true",
                           h,
                           4,
                           sha,
                           SUITE_DATE,
                           "eu-west-1",
                           "aoss",
                           SUITE_KEY,
                           SUITE_SECRET};
    Buf want;
    buf_init(&want);
    http_sigv4_authorization(&rq, &want, NULL);
    bool found = false;
    for (struct curl_slist *l = hl; l; l = l->next)
        if (strncmp(l->data, "authorization: ", 15) == 0)
            found = strcmp(l->data + 15, buf_cstr(&want)) == 0;
    assert_true(found);
    curl_slist_free_all(hl);
    buf_free(&want);
}

static void test_classify_table(void **state)
{
    (void)state;
    struct {
        CURLcode rc;
        long status;
        DipErrorKind want;
    } t[] = {
        {CURLE_OK, 200, DIP_ERR_NONE},
        {CURLE_OK, 204, DIP_ERR_NONE},
        {CURLE_OK, 408, DIP_ERR_TRANSIENT},
        {CURLE_OK, 429, DIP_ERR_TRANSIENT},
        {CURLE_OK, 500, DIP_ERR_TRANSIENT},
        {CURLE_OK, 502, DIP_ERR_TRANSIENT},
        {CURLE_OK, 503, DIP_ERR_TRANSIENT},
        {CURLE_OK, 504, DIP_ERR_TRANSIENT},
        {CURLE_OK, 501, DIP_ERR_IO},
        {CURLE_OK, 301, DIP_ERR_CONFIG},
        {CURLE_OK, 401, DIP_ERR_CONFIG},
        {CURLE_OK, 403, DIP_ERR_CONFIG},
        {CURLE_OK, 404, DIP_ERR_NOT_FOUND},
        {CURLE_OK, 400, DIP_ERR_DATA},
        {CURLE_OK, 413, DIP_ERR_DATA},
        {CURLE_COULDNT_CONNECT, 0, DIP_ERR_TRANSIENT},
        {CURLE_COULDNT_RESOLVE_HOST, 0, DIP_ERR_TRANSIENT},
        {CURLE_OPERATION_TIMEDOUT, 200, DIP_ERR_TRANSIENT},
        {CURLE_RECV_ERROR, 0, DIP_ERR_TRANSIENT},
        {CURLE_GOT_NOTHING, 0, DIP_ERR_TRANSIENT},
        {CURLE_PARTIAL_FILE, 200, DIP_ERR_TRANSIENT},
        {CURLE_SSL_CONNECT_ERROR, 0, DIP_ERR_TRANSIENT},
        {CURLE_PEER_FAILED_VERIFICATION, 0, DIP_ERR_CONFIG},
        {CURLE_SSL_CERTPROBLEM, 0, DIP_ERR_CONFIG},
        {CURLE_ABORTED_BY_CALLBACK, 0, DIP_ERR_INTERRUPTED},
        {CURLE_WRITE_ERROR, 200, DIP_ERR_IO},
    };
    Buf why;
    buf_init(&why);
    for (size_t i = 0; i < DIP_ARRAY_LEN(t); i++) {
        DipErrorKind k =
            http_classify(t[i].rc, t[i].status, "es.example:9200", "a bulk response", &why);
        if (k != t[i].want)
            fail_msg("case %zu (curl %d, HTTP %ld): %s, expected %s", i, (int)t[i].rc, t[i].status,
                     dip_error_kind_name(k), dip_error_kind_name(t[i].want));
        if (k != DIP_ERR_NONE) {
            assert_non_null(strstr(buf_cstr(&why), "es.example:9200"));
            assert_non_null(strstr(buf_cstr(&why), "a bulk response"));
        }
    }
    buf_free(&why);
}

/* ---------------------------------------------------------------- a loopback server */

typedef struct TestServer {
    int fd;
    int port;
    const char *const *script; /* one response per connection; "STALL" holds it 3 s */
    size_t n;
    int served;
    pthread_t thread;
} TestServer;

static void *server_main(void *arg)
{
    TestServer *s = arg;
    for (size_t i = 0; i < s->n; i++) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0) break;
        char req[8192];
        size_t have = 0;
        while (have < sizeof req - 1) { /* read the request head */
            ssize_t r = recv(c, req + have, sizeof req - 1 - have, 0);
            if (r <= 0) break;
            have += (size_t)r;
            req[have] = '\0';
            if (strstr(req, "\r\n\r\n")) break;
        }
        s->served++;
        const char *resp = s->script[i];
        if (strcmp(resp, "STALL") == 0) {
            const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc";
            (void)!send(c, head, strlen(head), MSG_NOSIGNAL);
            for (int k = 0; k < 30; k++)
                usleep(100 * 1000);
        } else {
            (void)!send(c, resp, strlen(resp), MSG_NOSIGNAL);
        }
        close(c);
    }
    return NULL;
}

static void server_start(TestServer *s, const char *const *script, size_t n)
{
    memset(s, 0, sizeof *s);
    s->script = script;
    s->n = n;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(listen(s->fd, 8), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(TestServer *s)
{
    shutdown(s->fd, SHUT_RDWR); /* ends a pending accept() */
    pthread_join(s->thread, NULL);
    close(s->fd);
}

typedef struct Client {
    CURL *h;
    HttpExchange ex;
    Buf body;
    char url[64];
} Client;

static void client_open(Client *c, const TestServer *s, size_t max_body)
{
    DipError err = {0};
    assert_true(http_global_init(&err));
    c->h = curl_easy_init();
    assert_non_null(c->h);
    HttpOptions o = {.connect_timeout_s = 5, .stall_timeout_s = 10};
    assert_true(http_handle_configure(c->h, &o, &err));
    http_exchange_init(&c->ex, c->h);
    buf_init(&c->body);
    c->ex.body = &c->body;
    c->ex.max_body = max_body;
    dip_snprintf(c->url, sizeof c->url, "http://127.0.0.1:%d/x", s->port);
    curl_easy_setopt(c->h, CURLOPT_URL, c->url);
}

static void client_close(Client *c)
{
    http_exchange_free(&c->ex);
    curl_easy_cleanup(c->h);
    buf_free(&c->body);
}

static void test_exchange_capped_body(void **state)
{
    (void)state;
    static char big[4096];
    memset(big, 0, sizeof big);
    dip_strlcpy(big, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nX-Thing: Some Value\r\n\r\n",
                sizeof big);
    size_t l = strlen(big);
    memset(big + l, 'b', 1000);
    const char *script[] = {big, big};
    TestServer s;
    server_start(&s, script, 2);
    DipError err = {0};

    Client c;
    client_open(&c, &s, 100); /* 1000 bytes against a cap of 100 */
    http_exchange_reset(&c.ex);
    http_exchange_done(&c.ex, curl_easy_perform(c.h));
    assert_true(c.ex.body_too_long);
    assert_true(c.body.len <= 100);
    assert_false(http_exchange_check(&c.ex, "127.0.0.1", "a small body", &err));
    assert_int_equal(err.kind, DIP_ERR_DATA);
    assert_non_null(strstr(err.msg, "longer than 100 bytes"));

    c.ex.max_body = 1000; /* exactly the body: accepted, headers captured */
    http_exchange_reset(&c.ex);
    http_exchange_done(&c.ex, curl_easy_perform(c.h));
    dip_error_clear(&err);
    assert_true(http_exchange_check(&c.ex, "127.0.0.1", "a small body", &err));
    assert_int_equal(c.body.len, 1000);
    assert_int_equal(c.ex.content_length, 1000);
    char v[64];
    assert_true(http_exchange_header(&c.ex, "X-THING", v, sizeof v));
    assert_string_equal(v, "Some Value");
    assert_false(http_exchange_header(&c.ex, "x-other", v, sizeof v));
    client_close(&c);
    server_stop(&s);
}

static const char R503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 13\r\n\r\n"
                           "overloaded!!\n";
static const char R200[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
static const char R404[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nno index\n";

static void test_perform_retry(void **state)
{
    (void)state;
    const char *script[] = {R503, R503, R200, R404};
    TestServer s;
    server_start(&s, script, 4);
    Client c;
    client_open(&c, &s, 0);
    RetryPolicy p = {.max_retries = 3, .base_delay_s = 0.01, .max_delay_s = 0.02};
    HttpCall call = {&c.ex, "GET /x", "127.0.0.1", "a 2xx", NULL, NULL, NULL};
    DipError err = {0};
    assert_true(http_perform_retry(&call, &p, &err));
    assert_int_equal(s.served, 3);
    assert_string_equal(buf_cstr(&c.body), "ok");

    assert_false(http_perform_retry(&call, &p, &err)); /* 404: final, not retried */
    assert_int_equal(s.served, 4);
    assert_int_equal(err.kind, DIP_ERR_NOT_FOUND);
    assert_non_null(strstr(err.msg, "GET /x: 127.0.0.1: HTTP 404, expected a 2xx: no index"));
    client_close(&c);
    server_stop(&s);

    const char *always[] = {R503, R503};
    server_start(&s, always, 2);
    client_open(&c, &s, 0);
    RetryPolicy one = {.max_retries = 1, .base_delay_s = 0.01, .max_delay_s = 0.02};
    dip_error_clear(&err);
    assert_false(http_perform_retry(&call, &one, &err));
    assert_int_equal(err.kind, DIP_ERR_TRANSIENT);
    assert_non_null(strstr(err.msg, "HTTP 503"));
    assert_non_null(strstr(err.msg, "overloaded!!"));
    assert_non_null(strstr(err.msg, "(giving up after 2 attempts)"));
    client_close(&c);
    server_stop(&s);
}

static void *request_stop_later(void *arg)
{
    (void)arg;
    usleep(300 * 1000);
    dip_request_stop(2);
    return NULL;
}

/* Runs last: a stop request cannot be taken back in this process. */
static void test_stop_during_stall(void **state)
{
    (void)state;
    const char *script[] = {"STALL"};
    TestServer s;
    server_start(&s, script, 1);
    Client c;
    client_open(&c, &s, 0);
    RetryPolicy p = {.max_retries = 3, .base_delay_s = 0.01, .max_delay_s = 0.02};
    HttpCall call = {&c.ex, "GET /x", "127.0.0.1", "a 2xx", NULL, NULL, NULL};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, request_stop_later, NULL), 0);
    double t0 = dip_now_s();
    DipError err = {0};
    assert_false(http_perform_retry(&call, &p, &err));
    double took = dip_now_s() - t0;
    pthread_join(t, NULL);
    assert_int_equal(err.kind, DIP_ERR_INTERRUPTED);
    assert_true(took < 2.0); /* the progress callback, not the 3 s stall, ended it */
    assert_int_equal(s.served, 1);
    client_close(&c);
    server_stop(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigv4_get_object_example),
        cmocka_unit_test(test_sigv4_list_objects_example),
        cmocka_unit_test(test_sigv4_suite_query_order),
        cmocka_unit_test(test_sigv4_header_trim_and_date),
        cmocka_unit_test(test_sigv4_suite),
        cmocka_unit_test(test_sigv4_sign_s3_url),
        cmocka_unit_test(test_sigv4_sign_opensearch),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_canonical_query),
        cmocka_unit_test(test_classify_table),
        cmocka_unit_test(test_exchange_capped_body),
        cmocka_unit_test(test_perform_retry),
        cmocka_unit_test(test_stop_during_stall),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
