/*
 * transport.c: the client's side of HTTP, on src/http (no libcurl wrapper of its own):
 * opening a client (engine detection from `GET /`), the request headers every call carries
 * (content type and the ES 8 compatibility media types, gzip, auth or a SigV4 signature over
 * the body as sent), gzip request bodies, and es_request(), the blocking request retried on
 * transient failures through http_perform_retry().
 *
 * Compatibility headers: an Elasticsearch 8 server is sent
 * "application/vnd.elasticsearch+json; compatible-with=8" (x-ndjson for bulk) as the 8.x
 * clients do; 7.17 and OpenSearch get plain application/json, which is what they expect.
 */
#include "es/es_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void es_response_init(EsResponse *r)
{
    r->status = 0;
    buf_init(&r->body);
}

void es_response_free(EsResponse *r)
{
    buf_free(&r->body);
    r->status = 0;
}

const EsEngine *es_engine(const EsClient *c)
{
    return &c->engine;
}

const EsConfig *es_client_config(const EsClient *c)
{
    return c->cfg;
}

bool es_handle_new(EsClient *c, CURL **out, DipError *err)
{
    CURL *h = curl_easy_init();
    if (!h) return dip_error_set(err, DIP_ERR_INTERNAL, "libcurl: cannot create a handle");
    if (!http_handle_configure(h, &c->hopt, err)) {
        curl_easy_cleanup(h);
        dip_error_prefix(err, "%s", c->cfg->host);
        return false;
    }
    *out = h;
    return true;
}

bool es_request_headers(EsClient *c, const char *method, const char *url, bool ndjson, bool gzip,
                        const void *body, size_t len, struct curl_slist **out, DipError *err)
{
    struct curl_slist *h = NULL;
    bool compat = c->engine.compat_headers;
    const char *ctype = compat ? (ndjson ? "application/vnd.elasticsearch+x-ndjson; "
                                           "compatible-with=8"
                                         : "application/vnd.elasticsearch+json; "
                                           "compatible-with=8")
                               : (ndjson ? "application/x-ndjson" : "application/json");
    const char *accept =
        compat ? "application/vnd.elasticsearch+json; compatible-with=8" : "application/json";
    Buf line;
    buf_init(&line);
    buf_printf(&line, "Accept: %s", accept);
    h = curl_slist_append(h, buf_cstr(&line));
    if (body || len) {
        buf_clear(&line);
        buf_printf(&line, "Content-Type: %s", ctype);
        h = curl_slist_append(h, buf_cstr(&line));
    }
    if (gzip) h = curl_slist_append(h, "Content-Encoding: gzip");
    /* no "Expect: 100-continue" round trip before each bulk body */
    h = curl_slist_append(h, "Expect:");
    buf_free(&line);
    if (c->cfg->auth == ES_AUTH_SIGV4) {
        HttpAwsAuth aws = {c->cfg->aws_access_key, c->cfg->aws_secret_key,
                           c->cfg->aws_session_token, c->cfg->aws_region, c->cfg->aws_service};
        if (!http_sigv4_sign(&aws, method, url, NULL, 0, body ? body : "", body ? len : 0,
                             (int64_t)time(NULL), &h, err)) {
            curl_slist_free_all(h);
            return false;
        }
    } else if (c->auth_header.len) {
        h = curl_slist_append(h, buf_cstr(&c->auth_header));
    }
    *out = h;
    return true;
}

void es_gzip(EsGzip *z, const void *p, size_t n, Buf *out)
{
    /* libdeflate, level 1: loopback and LAN links are fast, so compression time is what
     * costs. On bulk NDJSON it compresses about twice as fast as zlib's level 1, and smaller
     * (books documents: 250 against 130 MB/s, 21% against 23% of the size). It takes the
     * input whole, as one gzip member: what Content-Encoding: gzip means to every engine. */
    if (!z->c) {
        z->c = libdeflate_alloc_compressor(1);
        if (!z->c) abort(); /* only out of memory, as dip_malloc */
    }
    size_t bound = libdeflate_gzip_compress_bound(z->c, n);
    buf_clear(out);
    buf_reserve(out, bound + 1);
    size_t len = libdeflate_gzip_compress(z->c, p, n, out->data, bound);
    if (len == 0) abort(); /* the bound always fits: our invariant */
    out->len = len;
    out->data[len] = '\0';
}

void es_gzip_free(EsGzip *z)
{
    libdeflate_free_compressor(z->c);
    z->c = NULL;
}

/* ---------------------------------------------------------------- blocking requests */

typedef struct RequestCtx {
    EsClient *c;
    const char *method;
    const char *url;
    const char *body;
    size_t body_len;
    EsResponse *resp;
    Buf gz;
} RequestCtx;

static bool request_prepare(void *ctx, HttpExchange *ex, int attempt, DipError *err)
{
    RequestCtx *r = ctx;
    CURL *h = ex->curl;
    curl_easy_setopt(h, CURLOPT_URL, r->url);
    const void *body = r->body;
    size_t len = r->body_len;
    bool gzip = false;
    if (body && r->c->cfg->compress && len > 1024) {
        if (attempt == 1) es_gzip(&r->c->gzip, body, len, &r->gz);
        body = r->gz.data;
        len = r->gz.len;
        gzip = true;
    }
    curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    if (!strcmp(r->method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
                     strcmp(r->method, "GET") && strcmp(r->method, "HEAD") ? r->method : NULL);
    struct curl_slist *hl = NULL;
    if (!es_request_headers(r->c, r->method, r->url, false, gzip, body, body ? len : 0, &hl, err))
        return false;
    http_exchange_set_headers(ex, hl);
    return true;
}

static bool request_finish(void *ctx, HttpExchange *ex, DipError *err)
{
    RequestCtx *r = ctx;
    long s = ex->status;
    /* overload and gateway answers are worth a retry (http_exchange_check says transient);
     * every other complete answer is the caller's to judge */
    bool retry = s == 408 || s == 429 || s == 502 || s == 503 || s == 504;
    bool answered = ex->result == CURLE_OK && s >= 200 && s < 600 && !retry;
    if (!answered || (s >= 200 && s < 300)) {
        Buf exp;
        buf_init(&exp);
        buf_printf(&exp, "an answer to %s %s", r->method, r->url + strlen(r->c->cfg->url));
        bool ok = http_exchange_check(ex, r->c->cfg->host, buf_cstr(&exp), err);
        buf_free(&exp);
        if (!ok) return false;
    }
    const Buf *b = http_exchange_body(ex);
    buf_clear(&r->resp->body);
    buf_append(&r->resp->body, b->data ? b->data : (const uint8_t *)"", b->len);
    r->resp->status = s;
    return true;
}

bool es_request(EsClient *c, const char *method, const char *path, const char *body,
                size_t body_len, EsResponse *resp, DipError *err)
{
    Buf url, what;
    buf_init(&url);
    buf_init(&what);
    buf_printf(&url, "%s%s", c->cfg->url, path);
    buf_printf(&what, "%s %s", method, path);
    RequestCtx r = {c, method, buf_cstr(&url), body, body_len, resp, {0}};
    buf_init(&r.gz);
    HttpCall call = {
        &c->ex, buf_cstr(&what), c->cfg->host, "an answer", request_prepare, request_finish, &r};
    resp->status = 0;
    bool ok = http_perform_retry(&call, &c->cfg->retry, err);
    buf_free(&r.gz);
    buf_free(&url);
    buf_free(&what);
    return ok;
}

bool es_response_expect(EsClient *c, const char *method, const char *path, const EsResponse *resp,
                        DipError *err)
{
    if (resp->status >= 200 && resp->status < 300) return true;
    Buf why;
    buf_init(&why);
    es_error_body_summary((const char *)resp->body.data, resp->body.len, &why);
    DipErrorKind kind = DIP_ERR_DATA;
    if (resp->status == 401 || resp->status == 403) kind = DIP_ERR_CONFIG;
    if (resp->status == 404) kind = DIP_ERR_NOT_FOUND;
    if (resp->status >= 500) kind = DIP_ERR_TRANSIENT;
    dip_error_set(err, kind, "%s: %s %s: expected 2xx, got %ld %s%s", c->cfg->host, method, path,
                  resp->status, buf_cstr(&why),
                  resp->status == 401 ? " (check the credentials: auth in use is " : "");
    if (resp->status == 401) {
        Buf d;
        buf_init(&d);
        es_config_auth_describe(c->cfg, &d);
        size_t n = strlen(err->msg);
        dip_snprintf(err->msg + n, sizeof err->msg - n, "%s)", buf_cstr(&d));
        buf_free(&d);
    }
    buf_free(&why);
    return false;
}

/* ---------------------------------------------------------------- open / close */

static bool client_detect(EsClient *c, DipError *err)
{
    if (c->cfg->auth == ES_AUTH_SIGV4 && !strcmp(c->cfg->aws_service, "aoss")) {
        /* OpenSearch Serverless has no root endpoint and no version: it speaks the
         * OpenSearch 2 API */
        c->engine.kind = ES_ENGINE_OPENSEARCH;
        c->engine.major = 2;
        dip_strlcpy(c->engine.version, "serverless", sizeof c->engine.version);
        return true;
    }
    EsResponse r;
    es_response_init(&r);
    bool ok =
        es_request(c, "GET", "/", NULL, 0, &r, err) && es_response_expect(c, "GET", "/", &r, err);
    if (ok) {
        char product[64];
        bool has = http_exchange_header(&c->ex, "x-elastic-product", product, sizeof product);
        ok = es_engine_parse(c->cfg->host, (const char *)r.body.data, r.body.len,
                             has ? product : NULL, &c->engine, err);
    }
    es_response_free(&r);
    if (!ok) return false;
    const char *name = c->engine.kind == ES_ENGINE_OPENSEARCH ? "OpenSearch" : "Elasticsearch";
    if (c->cfg->backend_explicit &&
        ((c->cfg->want_opensearch && c->engine.kind != ES_ENGINE_OPENSEARCH) ||
         (c->cfg->want_elasticsearch && c->engine.kind != ES_ENGINE_ELASTICSEARCH)))
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "%s: the server is %s %s but the environment asks for %s "
                             "(ELASTICSEARCH / OPENSEARCH)",
                             c->cfg->host, name, c->engine.version,
                             c->cfg->want_opensearch ? "OpenSearch" : "Elasticsearch");
    return true;
}

bool es_open(const EsConfig *cfg, EsClient **out, DipError *err)
{
    *out = NULL;
    if (!http_global_init(err)) return false;
    EsClient *c = dip_calloc(1, sizeof *c);
    c->cfg = cfg;
    c->rng = dip_rng_seed();
    c->hopt.connect_timeout_s = (long)ceil(cfg->connect_timeout_s);
    c->hopt.total_timeout_s = (long)ceil(cfg->timeout_s);
    c->hopt.tls_insecure = !cfg->verify_certs;
    c->hopt.ca_file = cfg->ca_certs;
    c->hopt.client_cert = cfg->client_cert;
    c->hopt.client_key = cfg->client_key;
    buf_init(&c->auth_header);
    es_auth_header(cfg, &c->auth_header);
    CURL *h = NULL;
    if (!es_handle_new(c, &h, err)) {
        es_close(c);
        return false;
    }
    c->easy = h;
    http_exchange_init(&c->ex, h);
    c->ex_ready = true;
    if (!client_detect(c, err)) {
        es_close(c);
        return false;
    }
    *out = c;
    return true;
}

void es_close(EsClient *c)
{
    if (!c) return;
    if (c->ex_ready) http_exchange_free(&c->ex);
    if (c->easy) curl_easy_cleanup(c->easy);
    es_gzip_free(&c->gzip);
    if (c->auth_header.data) explicit_bzero(c->auth_header.data, c->auth_header.len);
    buf_free(&c->auth_header);
    free(c);
}
