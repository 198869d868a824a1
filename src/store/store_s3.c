/*
 * store_s3.c: the S3 backend: ListObjectsV2, HEAD and ranged GET over http (src/http: one
 * libcurl layer, SigV4 signing, http_perform_retry on core's retry_run).
 *
 * Transport. One curl easy handle per Store, kept for the Store's life, so consecutive
 * requests reuse the TCP/TLS connection (libcurl keeps the connection cache in the easy
 * handle). A Store is therefore used by one thread at a time; a reader on another thread
 * takes its own Store with store_clone().
 *
 * Integrity. A ranged GET streams straight into the caller's buffer (no temporary file, no
 * intermediate copy). It succeeds only when the response is a 206 whose Content-Range is
 * exactly the range asked for (or a 200 for a read of a whole object from offset 0) and the
 * body is exactly Content-Length == the requested length. A short body (connection closed
 * early, reset, stall) is retried and, when retries run out, is an error: the bytes already
 * in the buffer are never reported as data.
 *
 * Retries (S3 API "Error responses", "Best practices: retries"): 5xx, 429, the codes
 * SlowDown / RequestTimeout / InternalError / ServiceUnavailable, connection failures and
 * resets, timeouts (connect timeout and a low-speed limit that catches stalls) and short
 * bodies are transient: retried with exponential backoff and full jitter (retry_run) under
 * the Store's RetryPolicy. Other 4xx are final (404 means "absent").
 *
 * Configuration (docs/s3.md): AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
 * AWS_REGION / AWS_DEFAULT_REGION (default us-east-1), AWS_ENDPOINT_URL_S3 /
 * AWS_ENDPOINT_URL, AWS_S3_ADDRESSING_STYLE=path|virtual (default virtual on AWS, path with
 * an endpoint), DIP_S3_CONNECT_TIMEOUT, DIP_S3_STALL_TIMEOUT, DIP_S3_LIST_MAX_KEYS.
 */
#include "store/s3_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S3_MAX_LIST_BODY (64 * 1024 * 1024)     /* one ListObjectsV2 page is ~300 bytes/key */
#define S3_MAX_LIST_PAGES 1000000               /* 10^9 keys at 1000 per page */
#define S3_MAX_READ_ALL (1024ull * 1024 * 1024) /* store_read_all is for logs and small files */
#define S3_CACHE_BLOCKS 4                       /* read-ahead blocks kept per Store */

typedef struct S3Store S3Store;
struct S3Store {
    char *access_key; /* NULL: requests go unsigned (public buckets) */
    char *secret_key;
    char *session_token; /* NULL unless AWS_SESSION_TOKEN is set */
    char *region;
    char *scheme;    /* "https" or "http" */
    char *authority; /* host[:port] of the endpoint; NULL: AWS's s3.<region>.amazonaws.com */
    char *base_path; /* path prefix of AWS_ENDPOINT_URL without trailing '/', often "" */
    bool path_style;
    long connect_timeout_s;
    long stall_timeout_s;  /* abort when under 1 byte/s for this long */
    int64_t list_max_keys; /* 0: let the server choose (1000 on S3) */
    char *bucket;
    char *prefix; /* key prefix of the store root, "" or ending with '/' */
    CURL *curl;
    HttpExchange ex;    /* the response side of curl, attached once */
    uint64_t readahead; /* block size for small reads (DIP_S3_READAHEAD), 0: off */
    struct {
        char *key;    /* "bucket/key" of the cached bytes, NULL: empty slot */
        uint64_t off; /* object offset of data[0] */
        uint64_t len;
        uint8_t *data; /* readahead bytes */
        uint64_t used; /* LRU clock */
    } cache[S3_CACHE_BLOCKS];
    uint64_t clock;
    uint64_t n_cache_hits;
    uint64_t n_requests; /* HTTP exchanges attempted, for the debug summary at close */
    uint64_t n_connects; /* new connections among them: shows connection reuse */
};

/* One logical request: http_perform_retry runs attempts of it. */
typedef struct S3Call {
    S3Store *store;
    const char *method; /* "GET" or "HEAD" */
    const char *bucket;
    const char *key;   /* object key, not encoded; NULL for a bucket-level request */
    const char *query; /* canonical query string or "" */
    bool has_range;
    uint64_t range_off;
    uint64_t range_len; /* bytes requested (dst capacity) */
    uint64_t min_len;   /* bytes that must come back; < range_len for a read-ahead block,
                         * which may end early at the end of the object */
    uint8_t *dst;       /* ranged GET sink */
    uint64_t expect;    /* body bytes this response must deliver (known at its first byte) */
    uint64_t max_body;  /* whole-body sink limit */
    Buf *body;          /* whole-body sink (listings) */
    /* filled per attempt */
    bool too_long;     /* more body than its Content-Range announced */
    bool body_checked; /* the 2xx response's range was checked at its first bytes */
    bool bad_range;    /* the response does not start at / cover the range asked for */
    bool superset;     /* it covers more: we keep our bytes and stop the transfer */
    bool have_content_range;
    uint64_t cr_first, cr_last, cr_total;
    /* the outcome, copied from the exchange */
    long status;
    int64_t content_length; /* -1 when absent */
    uint64_t received;
    Buf url;  /* for messages: never carries credentials */
    Buf host; /* the Host header, signed */
} S3Call;

static char *env_dup(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? dip_strdup(v) : NULL;
}

/* ---------------------------------------------------------------- configuration */

static bool s3_parse_endpoint(S3Store *s, const char *url, DipError *err)
{
    const char *sep = strstr(url, "://");
    if (!sep)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "AWS_ENDPOINT_URL=%s: expected http://host[:port] or https://...",
                             url);
    size_t sl = (size_t)(sep - url);
    if (!((sl == 4 && strncasecmp(url, "http", 4) == 0) ||
          (sl == 5 && strncasecmp(url, "https", 5) == 0)))
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "AWS_ENDPOINT_URL=%s: scheme must be http or "
                             "https",
                             url);
    s->scheme = dip_strndup(url, sl);
    for (char *p = s->scheme; *p; p++)
        *p = (char)(*p | 0x20);
    const char *auth = sep + 3;
    const char *slash = strchr(auth, '/');
    size_t al = slash ? (size_t)(slash - auth) : strlen(auth);
    if (al == 0 || memchr(auth, '@', al) || memchr(auth, '?', al))
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "AWS_ENDPOINT_URL=%s: expected scheme://host[:port][/path] "
                             "(no credentials or query in the URL)",
                             url);
    s->authority = dip_strndup(auth, al);
    const char *path = slash ? slash : "";
    size_t pl = strlen(path);
    while (pl && path[pl - 1] == '/')
        pl--;
    s->base_path = dip_strndup(path, pl);
    return true;
}

static bool s3_config_load(S3Store *s, DipError *err)
{
    s->access_key = env_dup("AWS_ACCESS_KEY_ID");
    s->secret_key = env_dup("AWS_SECRET_ACCESS_KEY");
    s->session_token = env_dup("AWS_SESSION_TOKEN");
    if ((s->access_key == NULL) != (s->secret_key == NULL))
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "%s is set but %s is not: set both (or neither, for a public "
                             "bucket)",
                             s->access_key ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                             s->access_key ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    const char *region = config_env_str("AWS_REGION", NULL);
    if (!region || !*region) region = config_env_str("AWS_DEFAULT_REGION", NULL);
    s->region = dip_strdup(region && *region ? region : "us-east-1");

    const char *endpoint = config_env_str("AWS_ENDPOINT_URL_S3", NULL);
    if (!endpoint || !*endpoint) endpoint = config_env_str("AWS_ENDPOINT_URL", NULL);
    if (endpoint && *endpoint) {
        if (!s3_parse_endpoint(s, endpoint, err)) return false;
    } else {
        s->scheme = dip_strdup("https");
        s->base_path = dip_strdup("");
    }

    /* S3-compatible servers (s3rver, MinIO) rarely have wildcard DNS for bucket
     * subdomains, so an explicit endpoint defaults to path-style; AWS itself is moving
     * away from path-style, so without an endpoint we default to virtual-host. */
    const char *style = config_env_str("AWS_S3_ADDRESSING_STYLE", NULL);
    if (!style || !*style || strcmp(style, "auto") == 0)
        s->path_style = s->authority != NULL;
    else if (strcmp(style, "path") == 0)
        s->path_style = true;
    else if (strcmp(style, "virtual") == 0)
        s->path_style = false;
    else
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "AWS_S3_ADDRESSING_STYLE=%s: expected path, virtual or auto", style);
    /* a dotted bucket name does not match the *.s3.amazonaws.com TLS certificate */
    if (!s->path_style && strchr(s->bucket, '.') && strcmp(s->scheme, "https") == 0) {
        dip_debug("s3: bucket %s has dots: using path-style addressing", s->bucket);
        s->path_style = true;
    }

    int64_t v;
    if (!config_env_int("DIP_S3_CONNECT_TIMEOUT", 10, &v, err)) return false;
    if (v < 1 || v > 3600)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "DIP_S3_CONNECT_TIMEOUT=%lld: expected 1..3600 "
                             "seconds",
                             (long long)v);
    s->connect_timeout_s = (long)v;
    if (!config_env_int("DIP_S3_STALL_TIMEOUT", 30, &v, err)) return false;
    if (v < 1 || v > 3600)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "DIP_S3_STALL_TIMEOUT=%lld: expected 1..3600 "
                             "seconds",
                             (long long)v);
    s->stall_timeout_s = (long)v;
    if (!config_env_int("DIP_S3_LIST_MAX_KEYS", 0, &v, err)) return false;
    if (v < 0 || v > 1000)
        return dip_error_set(err, DIP_ERR_CONFIG, "DIP_S3_LIST_MAX_KEYS=%lld: expected 1..1000",
                             (long long)v);
    s->list_max_keys = v;
    /* Parquet readers ask for one column chunk (often a few hundred bytes in a Delta
     * checkpoint) at a time: one GET each costs a round trip, so small reads fetch a
     * whole block and later reads inside it are served from memory. Objects under a Delta
     * table are immutable, so a cached block cannot go stale. */
    if (!config_env_int("DIP_S3_READAHEAD", 1 << 20, &v, err)) return false;
    if (v < 0 || v > (64 << 20))
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "DIP_S3_READAHEAD=%lld: expected 0..67108864 "
                             "bytes",
                             (long long)v);
    s->readahead = (uint64_t)v;
    return true;
}

/* Splits "s3://bucket/some/prefix" into bucket and a prefix that ends with '/' (or ""). */
static bool s3_parse_uri(const char *uri, char **bucket, char **key, DipError *err)
{
    const char *p = strncmp(uri, "s3a://", 6) == 0 ? uri + 6 : uri + 5;
    const char *slash = strchr(p, '/');
    size_t bl = slash ? (size_t)(slash - p) : strlen(p);
    if (bl < 1 || bl > 255)
        return dip_error_set(err, DIP_ERR_CONFIG, "%s: expected s3://bucket[/prefix]", uri);
    for (size_t i = 0; i < bl; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_'))
            return dip_error_set(err, DIP_ERR_CONFIG,
                                 "%s: invalid character '%c' in the bucket "
                                 "name",
                                 uri, c);
    }
    *bucket = dip_strndup(p, bl);
    *key = dip_strdup(slash ? slash + 1 : "");
    return true;
}

/* ---------------------------------------------------------------- URL building */

/* Appends scheme://authority and the encoded path for (bucket, key) to `url` and the path
 * alone (the canonical URI) to `path`; also returns the Host header value. */
static void s3_build_target(const S3Store *s, const char *bucket, const char *key, Buf *url,
                            Buf *path, Buf *host)
{
    buf_clear(url);
    buf_clear(path);
    buf_clear(host);
    if (s->authority) {
        if (s->path_style)
            buf_append_str(host, s->authority);
        else
            buf_printf(host, "%s.%s", bucket, s->authority);
    } else if (s->path_style) {
        buf_printf(host, "s3.%s.amazonaws.com", s->region);
    } else {
        buf_printf(host, "%s.s3.%s.amazonaws.com", bucket, s->region);
    }
    buf_append_str(path, s->base_path);
    if (s->path_style) {
        buf_append_byte(path, '/');
        http_uri_encode(path, bucket, strlen(bucket), false);
        if (key) {
            buf_append_byte(path, '/');
            http_uri_encode(path, key, strlen(key), true);
        }
    } else {
        buf_append_byte(path, '/');
        if (key) http_uri_encode(path, key, strlen(key), true);
    }
    buf_printf(url, "%s://%s%s", s->scheme, buf_cstr(host), buf_cstr(path));
}

/* ---------------------------------------------------------------- ranged body sink */

/* Where does this body start, where does it end? 206: Content-Range; 200: the whole object.
 * Servers may answer with more than asked (s3rver answers "bytes=0-0" with the whole
 * object): the bytes are still the right ones as long as the body starts at our offset, so
 * we keep our prefix and stop. Returns false when the response does not cover the range. */
static bool s3_range_locate(S3Call *c, HttpExchange *ex)
{
    char cr[128];
    c->have_content_range = false;
    if (http_exchange_header(ex, "content-range", cr, sizeof cr) && strncmp(cr, "bytes ", 6) == 0) {
        unsigned long long a, b, t;
        char tail;
        /* "bytes first-last/total"; total may be '*', which we do not need */
        if (sscanf(cr + 6, "%llu-%llu/%llu%c", &a, &b, &t, &tail) == 3 ||
            (sscanf(cr + 6, "%llu-%llu/*%c", &a, &b, &tail) == 2 && (t = 0, true))) {
            c->have_content_range = true;
            c->cr_first = a;
            c->cr_last = b;
            c->cr_total = t;
        }
    }
    uint64_t first = 0, last = 0;
    if (ex->status == 206 && c->have_content_range) {
        first = c->cr_first;
        last = c->cr_last;
    } else if (ex->status == 200 && ex->content_length > 0) {
        last = (uint64_t)ex->content_length - 1;
    } else {
        return false;
    }
    if (first != c->range_off || last < c->range_off + c->min_len - 1) return false;
    uint64_t want_last = c->range_off + c->range_len - 1;
    c->superset = last > want_last;
    c->expect = (c->superset ? want_last : last) - first + 1;
    return true;
}

/* A ranged GET streams straight into the caller's buffer (no intermediate copy). */
static size_t s3_range_sink(void *ctx, HttpExchange *ex, const char *data, size_t n)
{
    S3Call *c = ctx;
    if (!c->body_checked) {
        c->body_checked = true;
        if (!s3_range_locate(c, ex)) {
            c->bad_range = true;
            return 0;
        }
    }
    uint64_t have = ex->received;
    size_t take = n;
    if (take > c->expect - have) take = (size_t)(c->expect - have);
    if (take < n && !c->superset) {
        c->too_long = true; /* more bytes than its own Content-Range announced */
        return 0;
    }
    memcpy(c->dst + have, data, take);
    return take; /* take < n stops the transfer once our range is complete */
}

/* ---------------------------------------------------------------- one attempt, in steps */

static bool s3_code_is_transient(const char *code)
{
    return strcmp(code, "SlowDown") == 0 || strcmp(code, "RequestTimeout") == 0 ||
           strcmp(code, "InternalError") == 0 || strcmp(code, "ServiceUnavailable") == 0 ||
           strcmp(code, "OperationAborted") == 0;
}

/* Step 1 (HttpCall.prepare): signed headers for this attempt (x-amz-date moves on between
 * retries), the request line, and where the body goes. */
static bool s3_attempt_prepare(void *ctx, HttpExchange *ex, int attempt, DipError *err)
{
    S3Call *c = ctx;
    S3Store *s = c->store;
    (void)attempt;
    c->body_checked = c->bad_range = c->superset = c->too_long = false;
    c->expect = 0;
    c->have_content_range = false;

    char range[64] = "";
    HttpHeader extra[1];
    size_t n_extra = 0;
    if (c->has_range) {
        dip_snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)c->range_off,
                     (unsigned long long)(c->range_off + c->range_len - 1));
        extra[n_extra++] = (HttpHeader){"range", range};
    }
    struct curl_slist *hl = NULL;
    if (s->access_key) {
        HttpAwsAuth auth = {s->access_key, s->secret_key, s->session_token, s->region, "s3"};
        if (!http_sigv4_sign(&auth, c->method, buf_cstr(&c->url), extra, n_extra, NULL, 0,
                             (int64_t)time(NULL), &hl, err)) {
            curl_slist_free_all(hl);
            return false;
        }
    } else if (c->has_range) {
        Buf h;
        buf_init(&h);
        buf_printf(&h, "Range: %s", range);
        hl = curl_slist_append(hl, buf_cstr(&h));
        buf_free(&h);
    }
    hl = curl_slist_append(hl, "Accept:"); /* drop curl's default, it is not signed */
    hl = curl_slist_append(hl, "Expect:");
    http_exchange_set_headers(ex, hl);

    CURL *h = ex->curl;
    curl_easy_setopt(h, CURLOPT_URL, buf_cstr(&c->url));
    if (strcmp(c->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    return true;
}

/* Step 2: a response that does not match the range asked for is corrupt, not transient. */
static bool s3_check_range(S3Call *c, HttpExchange *ex, DipError *err)
{
    if (!c->bad_range) return true;
    uint64_t want_last = c->range_off + c->min_len - 1;
    long status = ex->status;
    if (status == 206 && c->have_content_range)
        return dip_error_set(
            err, DIP_ERR_DATA, "HTTP 206 for bytes %llu-%llu of %llu, asked for %llu-%llu%s",
            (unsigned long long)c->cr_first, (unsigned long long)c->cr_last,
            (unsigned long long)c->cr_total, (unsigned long long)c->range_off,
            (unsigned long long)want_last,
            c->cr_total && c->cr_total <= want_last ? " (past the end of the object)" : "");
    if (status == 206)
        return dip_error_set(err, DIP_ERR_DATA, "HTTP 206 without a valid Content-Range header");
    if (status == 200 && c->range_off > 0)
        return dip_error_set(err, DIP_ERR_DATA,
                             "HTTP 200 with the whole object to a request for bytes "
                             "%llu-%llu: the server ignored the Range header",
                             (unsigned long long)c->range_off, (unsigned long long)want_last);
    return dip_error_set(err, DIP_ERR_DATA,
                         "HTTP %ld with Content-Length %lld to a request for bytes %llu-%llu",
                         status, (long long)ex->content_length, (unsigned long long)c->range_off,
                         (unsigned long long)want_last);
}

/* Step 3: the transfer itself failed (connection, timeout, stall, cut body, stop request). */
static bool s3_check_transport(S3Call *c, HttpExchange *ex, DipError *err)
{
    CURLcode rc = ex->result;
    if (rc == CURLE_OK) return true;
    long status = ex->status;
    Buf why;
    buf_init(&why);
    DipErrorKind kind = http_classify(rc, status, buf_cstr(&c->host), "an S3 response", &why);
    buf_clear(&why);
    const char *detail = ex->curl_msg[0] ? ex->curl_msg : curl_easy_strerror(rc);
    if (kind == DIP_ERR_INTERRUPTED)
        buf_printf(&why, "interrupted");
    else if (rc == CURLE_OPERATION_TIMEDOUT && status >= 200)
        buf_printf(&why,
                   "HTTP %ld: stalled: less than 1 byte/s for %lds after %llu body bytes (%s)",
                   status, c->store->stall_timeout_s, (unsigned long long)ex->received, detail);
    else if (rc == CURLE_PARTIAL_FILE)
        buf_printf(&why, "HTTP %ld: body ended after %llu of %lld bytes (short body)", status,
                   (unsigned long long)ex->received, (long long)ex->content_length);
    else
        buf_printf(&why, "%s: %s%s%s", buf_cstr(&c->host), curl_easy_strerror(rc),
                   ex->curl_msg[0] ? ": " : "", ex->curl_msg);
    if (status >= 200 && rc != CURLE_PARTIAL_FILE && rc != CURLE_OPERATION_TIMEDOUT &&
        kind != DIP_ERR_INTERRUPTED)
        buf_printf(&why, " (HTTP %ld, %llu body bytes received)", status,
                   (unsigned long long)ex->received);
    dip_error_set(err, kind, "%s", buf_cstr(&why));
    buf_free(&why);
    return false;
}

/* Step 4: a 2xx body must be whole: Content-Length and, for a range, the bytes asked for. */
static bool s3_check_body(S3Call *c, HttpExchange *ex, DipError *err)
{
    long status = ex->status;
    if (strcmp(c->method, "HEAD") == 0) return true;
    if (ex->content_length == -2)
        return dip_error_set(err, DIP_ERR_DATA, "HTTP %ld: unparsable Content-Length", status);
    if (ex->content_length >= 0 && ex->received != (uint64_t)ex->content_length)
        return dip_error_set(err, DIP_ERR_TRANSIENT,
                             "HTTP %ld: body has %llu bytes but Content-Length is %lld "
                             "(short body)",
                             status, (unsigned long long)ex->received,
                             (long long)ex->content_length);
    if (c->dst && (ex->received != c->expect || ex->received < c->min_len))
        return dip_error_set(err, DIP_ERR_TRANSIENT,
                             "HTTP %ld: body has %llu bytes, expected %llu (short body)", status,
                             (unsigned long long)ex->received, (unsigned long long)c->expect);
    return true;
}

/* Step 5: an error status, read with the S3 error code of its XML body (S3 API "Error
 * responses"): overload codes are transient, credential and region problems are config. */
static bool s3_check_status(S3Call *c, HttpExchange *ex, DipError *err)
{
    long status = ex->status;
    Buf why;
    buf_init(&why);
    DipErrorKind kind = http_classify(CURLE_OK, status, buf_cstr(&c->host), "an S3 response", &why);
    buf_clear(&why);
    char code[128], msg[512];
    s3_xml_parse_error((const char *)ex->error_body.data, ex->error_body.len, code, sizeof code,
                       msg, sizeof msg);
    bool head = strcmp(c->method, "HEAD") == 0;
    const S3Store *s = c->store;
    buf_printf(&why, "HTTP %ld", status);
    if (code[0]) buf_printf(&why, " %s", code);
    if (msg[0]) buf_printf(&why, ": %s", msg);
    if (!code[0] && head)
        buf_append_str(&why, " (a HEAD response has no body to name the S3 error code)");
    if (s3_code_is_transient(code)) {
        kind = DIP_ERR_TRANSIENT;
    } else if (status == 301 || status == 307 || strcmp(code, "PermanentRedirect") == 0 ||
               strcmp(code, "AuthorizationHeaderMalformed") == 0) {
        buf_printf(&why, " (is AWS_REGION=%s the bucket's region?)", s->region);
        kind = DIP_ERR_CONFIG;
    } else if (strcmp(code, "RequestTimeTooSkewed") == 0) {
        buf_append_str(&why, " (check this machine's clock: SigV4 allows 15 minutes of skew)");
        kind = DIP_ERR_CONFIG;
    } else if (status == 401 || status == 403 || strcmp(code, "ExpiredToken") == 0 ||
               strcmp(code, "InvalidToken") == 0 || strcmp(code, "TokenRefreshRequired") == 0 ||
               strcmp(code, "InvalidAccessKeyId") == 0) {
        if (!s->access_key)
            buf_append_str(&why, " (no AWS_ACCESS_KEY_ID set: the request was sent unsigned)");
        kind = DIP_ERR_CONFIG;
    } else if (status == 416) {
        kind = DIP_ERR_DATA;
    } else if (kind == DIP_ERR_DATA || kind == DIP_ERR_NONE) {
        kind = DIP_ERR_IO; /* another refusal: S3 names it, a retry would not change it */
    }
    dip_error_set(err, kind, "%s", buf_cstr(&why));
    buf_free(&why);
    return false;
}

/* HttpCall.finish: the steps above in order; a HEAD's 404 is an answer ("absent"). */
static bool s3_attempt_finish(void *ctx, HttpExchange *ex, DipError *err)
{
    S3Call *c = ctx;
    S3Store *s = c->store;
    long connects = 0;
    curl_easy_getinfo(ex->curl, CURLINFO_NUM_CONNECTS, &connects);
    s->n_requests++;
    s->n_connects += (uint64_t)connects;
    if (!s3_check_range(c, ex, err)) return false;
    if (c->superset && ex->received == c->expect)
        return true; /* we stopped a longer body on purpose; our bytes are whole */
    if (c->too_long || ex->body_too_long)
        return dip_error_set(err, DIP_ERR_DATA, "HTTP %ld: body longer than %s", ex->status,
                             c->dst ? "its Content-Range" : "the limit for this request");
    if (!s3_check_transport(c, ex, err)) return false;
    if (ex->status >= 200 && ex->status < 300) return s3_check_body(c, ex, err);
    if (ex->status == 404 && strcmp(c->method, "HEAD") == 0) return true;
    return s3_check_status(c, ex, err);
}

/* Runs a call with retries (http_perform_retry on core's retry_run). `what` names the
 * operation for messages ("GET bytes=0-99"); the URL follows it. */
static bool s3_perform(Store *st, S3Call *c, const char *what, DipError *err)
{
    S3Store *s = st->impl;
    Buf path, label;
    buf_init(&path);
    buf_init(&label);
    c->store = s;
    s3_build_target(s, c->bucket, c->key, &c->url, &path, &c->host);
    if (c->query[0]) buf_printf(&c->url, "?%s", c->query);
    buf_printf(&label, "s3 %s %s", what, buf_cstr(&c->url));
    HttpCall call = {&s->ex,
                     buf_cstr(&label),
                     buf_cstr(&c->host),
                     "an S3 response",
                     s3_attempt_prepare,
                     s3_attempt_finish,
                     c};
    /* the exchange outlives the call: its sinks are this call's, and only while it runs */
    s->ex.sink = c->dst ? s3_range_sink : NULL;
    s->ex.sink_ctx = c;
    s->ex.body = c->body;
    s->ex.max_body = c->max_body;
    bool ok = http_perform_retry(&call, &st->retry, err);
    s->ex.sink = NULL;
    s->ex.sink_ctx = NULL;
    s->ex.body = NULL;
    c->status = s->ex.status;
    c->content_length = s->ex.content_length;
    c->received = s->ex.received;
    buf_free(&path);
    buf_free(&label);
    return ok;
}

static void s3_call_init(S3Call *c, const char *method, const char *bucket, const char *key,
                         const char *query)
{
    memset(c, 0, sizeof *c);
    c->method = method;
    c->bucket = bucket;
    c->key = key;
    c->query = query;
    c->content_length = -1;
    buf_init(&c->url);
    buf_init(&c->host);
}

static void s3_call_free(S3Call *c)
{
    buf_free(&c->url);
    buf_free(&c->host);
}

/* Resolves a name relative to the store root, or an absolute s3:// URI (Delta add.path can
 * be one), to bucket and key. */
static bool s3_resolve(S3Store *s, const char *name, char **bucket, char **key, DipError *err)
{
    if (strncmp(name, "s3://", 5) == 0 || strncmp(name, "s3a://", 6) == 0)
        return s3_parse_uri(name, bucket, key, err);
    if (strstr(name, "://"))
        return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                             "%s: only s3:// objects can be read from an s3:// store", name);
    *bucket = dip_strdup(s->bucket);
    Buf k;
    buf_init(&k);
    buf_append_str(&k, s->prefix);
    buf_append_str(&k, name);
    *key = dip_strdup(buf_cstr(&k));
    buf_free(&k);
    return true;
}

/* ---------------------------------------------------------------- operations */

static int s3_cmp_entry(const void *a, const void *b)
{
    return strcmp(((const StoreEntry *)a)->name, ((const StoreEntry *)b)->name);
}

static bool s3_list(Store *st, const char *prefix, StoreList *out, DipError *err)
{
    S3Store *s = st->impl;
    Buf full_prefix, query, body, prev_token;
    buf_init(&full_prefix);
    buf_init(&query);
    buf_init(&body);
    buf_init(&prev_token);
    buf_append_str(&full_prefix, s->prefix);
    buf_append_str(&full_prefix, prefix);
    size_t root_len = strlen(s->prefix);
    char max_keys[24];
    dip_snprintf(max_keys, sizeof max_keys, "%lld", (long long)s->list_max_keys);

    StoreList raw = {0};
    S3ListPage page = {&raw, false, {0}};
    buf_init(&page.next_token);
    bool ok = true;
    for (int pageno = 0;; pageno++) {
        if (pageno >= S3_MAX_LIST_PAGES) {
            ok = dip_error_set(err, DIP_ERR_DATA, "s3 list s3://%s/%s: more than %d pages",
                               s->bucket, buf_cstr(&full_prefix), S3_MAX_LIST_PAGES);
            break;
        }
        /* delimiter '/' lists one level, as the local backend does (store.h) */
        HttpQueryParam qp[5];
        size_t nq = 0;
        qp[nq++] = (HttpQueryParam){"list-type", "2"};
        qp[nq++] = (HttpQueryParam){"prefix", buf_cstr(&full_prefix)};
        qp[nq++] = (HttpQueryParam){"delimiter", "/"};
        if (s->list_max_keys > 0) qp[nq++] = (HttpQueryParam){"max-keys", max_keys};
        if (pageno > 0) qp[nq++] = (HttpQueryParam){"continuation-token", buf_cstr(&prev_token)};
        buf_clear(&query);
        http_canonical_query(&query, qp, nq);

        S3Call c;
        s3_call_init(&c, "GET", s->bucket, NULL, buf_cstr(&query));
        c.body = &body;
        c.max_body = S3_MAX_LIST_BODY;
        char what[64];
        dip_snprintf(what, sizeof what, "list (page %d)", pageno + 1);
        ok = s3_perform(st, &c, what, err);
        if (ok) {
            size_t before = raw.n;
            dip_debug("s3: list s3://%s/%s page %d: %zu bytes", s->bucket, buf_cstr(&full_prefix),
                      pageno + 1, body.len);
            ok = s3_xml_parse_list((const char *)body.data, body.len, &page, err);
            if (!ok) dip_error_prefix(err, "s3 list %s", buf_cstr(&c.url));
            for (size_t i = before; ok && i < raw.n; i++) {
                if (strncmp(raw.entries[i].name, buf_cstr(&full_prefix), full_prefix.len) != 0)
                    ok = dip_error_set(err, DIP_ERR_DATA,
                                       "s3 list %s: key '%s' does not start with the prefix "
                                       "'%s'",
                                       buf_cstr(&c.url), raw.entries[i].name,
                                       buf_cstr(&full_prefix));
            }
        }
        if (ok && page.is_truncated && prev_token.len == page.next_token.len &&
            memcmp(prev_token.data, page.next_token.data, prev_token.len) == 0)
            ok = dip_error_set(err, DIP_ERR_DATA,
                               "s3 list %s: the server returned the same continuation token "
                               "twice",
                               buf_cstr(&c.url));
        s3_call_free(&c);
        if (!ok || !page.is_truncated) break;
        buf_clear(&prev_token);
        buf_append(&prev_token, page.next_token.data, page.next_token.len);
    }
    if (ok) {
        for (size_t i = 0; i < raw.n; i++)
            store_list_push(out, raw.entries[i].name + root_len, raw.entries[i].size,
                            raw.entries[i].mtime_ms);
        if (out->n > 1) qsort(out->entries, out->n, sizeof(StoreEntry), s3_cmp_entry);
    }
    store_list_free(&raw);
    buf_free(&page.next_token);
    buf_free(&full_prefix);
    buf_free(&query);
    buf_free(&body);
    buf_free(&prev_token);
    return ok;
}

static bool s3_stat(Store *st, const char *name, StoreEntry *out, bool *exists, DipError *err)
{
    S3Store *s = st->impl;
    char *bucket = NULL, *key = NULL;
    if (!s3_resolve(s, name, &bucket, &key, err)) return false;
    S3Call c;
    s3_call_init(&c, "HEAD", bucket, key, "");
    curl_easy_setopt(s->curl, CURLOPT_FILETIME, 1L);
    bool ok = s3_perform(st, &c, "HEAD", err);
    curl_easy_setopt(s->curl, CURLOPT_FILETIME, 0L);
    if (ok) {
        if (c.status == 404) {
            *exists = false;
        } else if (c.content_length < 0) {
            ok = dip_error_set(err, DIP_ERR_DATA, "s3 HEAD %s: no valid Content-Length",
                               buf_cstr(&c.url));
        } else {
            curl_off_t ft = -1;
            curl_easy_getinfo(s->curl, CURLINFO_FILETIME_T, &ft);
            *exists = true;
            out->name = dip_strdup(name);
            out->size = (uint64_t)c.content_length;
            out->mtime_ms = ft >= 0 ? (int64_t)ft * 1000 : 0;
        }
    }
    s3_call_free(&c);
    free(bucket);
    free(key);
    return ok;
}

/* One ranged GET of [off, off+len) into dst; at least min_len bytes must come back (a
 * read-ahead block may end early at the end of the object). Returns the bytes received. */
static bool s3_get_range(Store *st, const char *bucket, const char *key, uint64_t off, uint64_t len,
                         uint64_t min_len, uint8_t *dst, uint64_t *got, DipError *err)
{
    S3Call c;
    s3_call_init(&c, "GET", bucket, key, "");
    c.has_range = true;
    c.range_off = off;
    c.range_len = len;
    c.min_len = min_len;
    c.dst = dst;
    char what[80];
    dip_snprintf(what, sizeof what, "GET bytes=%llu-%llu", (unsigned long long)off,
                 (unsigned long long)(off + len - 1));
    bool ok = s3_perform(st, &c, what, err);
    *got = c.received;
    s3_call_free(&c);
    return ok;
}

static bool s3_read_range(Store *st, const char *name, uint64_t off, uint64_t len, void *dst,
                          DipError *err)
{
    S3Store *s = st->impl;
    if (off + len < off)
        return dip_error_set(err, DIP_ERR_DATA, "%s: range at %llu of %llu bytes overflows", name,
                             (unsigned long long)off, (unsigned long long)len);
    char *bucket = NULL, *key = NULL;
    if (!s3_resolve(s, name, &bucket, &key, err)) return false;
    Buf id;
    buf_init(&id);
    buf_printf(&id, "%s/%s", bucket, key);
    bool ok = true;
    uint64_t got = 0;
    int hit = -1;
    for (int i = 0; i < S3_CACHE_BLOCKS; i++)
        if (s->cache[i].key && strcmp(s->cache[i].key, buf_cstr(&id)) == 0 &&
            off >= s->cache[i].off && off + len <= s->cache[i].off + s->cache[i].len)
            hit = i;
    if (hit >= 0) {
        memcpy(dst, s->cache[hit].data + (off - s->cache[hit].off), len);
        s->cache[hit].used = ++s->clock;
        s->n_cache_hits++;
    } else if (s->readahead && len <= s->readahead / 4) {
        int slot = 0;
        for (int i = 1; i < S3_CACHE_BLOCKS; i++)
            if (s->cache[i].used < s->cache[slot].used) slot = i;
        free(s->cache[slot].key);
        s->cache[slot].key = NULL;
        if (!s->cache[slot].data) s->cache[slot].data = dip_malloc(s->readahead);
        ok = s3_get_range(st, bucket, key, off, s->readahead, len, s->cache[slot].data, &got, err);
        if (ok) {
            s->cache[slot].key = dip_strdup(buf_cstr(&id));
            s->cache[slot].off = off;
            s->cache[slot].len = got;
            s->cache[slot].used = ++s->clock;
            memcpy(dst, s->cache[slot].data, len);
        }
    } else {
        ok = s3_get_range(st, bucket, key, off, len, len, dst, &got, err);
    }
    buf_free(&id);
    free(bucket);
    free(key);
    return ok;
}

/* A whole object in one GET (no HEAD first): Delta reads every commit file this way. */
static bool s3_read_all(Store *st, const char *name, Buf *out, DipError *err)
{
    S3Store *s = st->impl;
    char *bucket = NULL, *key = NULL;
    if (!s3_resolve(s, name, &bucket, &key, err)) return false;
    buf_clear(out);
    S3Call c;
    s3_call_init(&c, "GET", bucket, key, "");
    c.body = out;
    c.max_body = S3_MAX_READ_ALL;
    bool ok = s3_perform(st, &c, "GET", err);
    buf_reserve(out, 1); /* callers may use out->data of an empty object */
    if (ok && c.content_length < 0)
        ok = dip_error_set(err, DIP_ERR_DATA,
                           "s3 GET %s: no Content-Length: cannot tell a "
                           "whole body from a cut one",
                           buf_cstr(&c.url));
    s3_call_free(&c);
    free(bucket);
    free(key);
    return ok;
}

static void s3_free(S3Store *s)
{
    if (!s) return;
    if (s->curl) {
        http_exchange_free(&s->ex);
        curl_easy_cleanup(s->curl);
    }
    free(s->access_key);
    if (s->secret_key) {
        memset(s->secret_key, 0, strlen(s->secret_key));
        free(s->secret_key);
    }
    free(s->session_token);
    free(s->region);
    free(s->scheme);
    free(s->authority);
    free(s->base_path);
    free(s->bucket);
    free(s->prefix);
    for (int i = 0; i < S3_CACHE_BLOCKS; i++) {
        free(s->cache[i].key);
        free(s->cache[i].data);
    }
    free(s);
}

static void s3_close(Store *st)
{
    S3Store *s = st->impl;
    if (s)
        dip_debug("s3: %s: %llu requests over %llu connections, %llu reads from read-ahead",
                  st->uri, (unsigned long long)s->n_requests, (unsigned long long)s->n_connects,
                  (unsigned long long)s->n_cache_hits);
    s3_free(st->impl);
    st->impl = NULL;
}

static const StoreOps S3_OPS = {s3_list, s3_stat, s3_read_range, s3_close, s3_read_all};

bool store_s3_open(Store *st, const char *uri, DipError *err)
{
    if (!http_global_init(err)) return false;
    S3Store *s = dip_calloc(1, sizeof *s);
    char *key = NULL;
    if (!s3_parse_uri(uri, &s->bucket, &key, err)) {
        s3_free(s);
        return false;
    }
    size_t kl = strlen(key);
    while (kl && key[kl - 1] == '/')
        kl--;
    Buf p;
    buf_init(&p);
    if (kl) {
        buf_append(&p, key, kl);
        buf_append_byte(&p, '/');
    }
    s->prefix = dip_strdup(buf_cstr(&p));
    buf_free(&p);
    free(key);
    if (!s3_config_load(s, err)) {
        dip_error_prefix(err, "%s", uri);
        s3_free(s);
        return false;
    }
    s->curl = curl_easy_init();
    if (!s->curl) {
        s3_free(s);
        return dip_error_set(err, DIP_ERR_INTERNAL, "%s: curl_easy_init failed", uri);
    }
    HttpOptions ho = {.connect_timeout_s = s->connect_timeout_s,
                      .stall_timeout_s = s->stall_timeout_s};
    if (!http_handle_configure(s->curl, &ho, err)) {
        s3_free(s);
        return false;
    }
    curl_easy_setopt(s->curl, CURLOPT_PATH_AS_IS, 1L); /* keys may hold "." or ".." segments */
    http_exchange_init(&s->ex, s->curl);
    st->impl = s;
    st->ops = &S3_OPS;
    dip_debug("s3: %s -> bucket %s, prefix '%s', %s-style, region %s, endpoint %s", uri, s->bucket,
              s->prefix, s->path_style ? "path" : "virtual", s->region,
              s->authority ? s->authority : "AWS");
    return true;
}
