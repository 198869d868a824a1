/*
 * http.h: the public face of dip's one HTTP layer (DESIGN.md: "http"), over libcurl.
 *
 * Every module that speaks HTTP (store's S3 backend, the es client) uses this and nothing
 * else wraps libcurl. What it gives:
 *
 *   - http_global_init(): libcurl's process-wide init, once, thread-safe.
 *   - http_handle_configure(): dip's common options on a CURL easy handle (connect / total /
 *     stall timeouts, TCP keep-alive, TLS verification on unless asked otherwise, CA file,
 *     client certificate and key, no signals, http/https only, no redirects).
 *   - HttpExchange: the response side of one easy handle: header capture (status line,
 *     Content-Length, every header of the final response), the body into a Buf under a size
 *     cap (or into the caller's sink), error bodies kept apart and capped, and a progress
 *     callback that aborts the transfer when dip_stop_requested(). A caller that runs many
 *     handles in its own curl *multi* loop attaches one exchange per handle, resets it before
 *     each transfer and calls http_exchange_done() + http_exchange_check() when the multi
 *     handle reports the transfer finished.
 *   - http_classify(): (CURLcode, HTTP status) -> transient (DIP_ERR_TRANSIENT, retry) or a
 *     final kind, with a message naming the host and what was expected.
 *   - http_perform_retry(): a blocking exchange retried on transient failures, built on
 *     core's retry_run().
 *   - AWS Signature Version 4 (sigv4.c): for S3 and for Amazon OpenSearch Service
 *     (service "es") and OpenSearch Serverless ("aoss"); x-amz-content-sha256 is always sent.
 */
#ifndef DIP_HTTP_H
#define DIP_HTTP_H

#include "core/core.h"

#include <curl/curl.h>

#define HTTP_MAX_ERROR_BODY (64 * 1024) /* error bodies kept for messages (S3 XML, ES JSON) */
#define HTTP_MAX_HEADERS (64 * 1024)    /* header bytes kept per response */

/* The SHA-256 of an empty payload: x-amz-content-sha256 of a request without a body. */
#define HTTP_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---------------------------------------------------------------- handles */

/* curl_global_init(CURL_GLOBAL_DEFAULT) once per process (pthread_once); false with a
 * DIP_ERR_INTERNAL error when libcurl could not initialise. */
bool http_global_init(DipError *err) DIP_MUST_CHECK;

typedef struct HttpOptions {
    long connect_timeout_s;  /* TCP + TLS handshake; 0: 10 s */
    long total_timeout_s;    /* whole exchange; 0: no limit (a stall is caught below) */
    long stall_timeout_s;    /* abort under 1 byte/s for this long; 0: no stall limit */
    bool tls_insecure;       /* skip peer and host name verification (tests, self-signed) */
    const char *ca_file;     /* PEM bundle to verify the server with; NULL: system store */
    const char *client_cert; /* PEM client certificate for mutual TLS; NULL: none */
    const char *client_key;  /* its PEM private key; NULL: the key is in client_cert */
} HttpOptions;

/* Applies dip's common options to an easy handle (the caller sets URL, method and body).
 * Fails with DIP_ERR_CONFIG when a CA, certificate or key file cannot be read, naming it. */
bool http_handle_configure(CURL *h, const HttpOptions *o, DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- one exchange */

typedef struct HttpExchange HttpExchange;

/* Receives the bytes of a 2xx body when the exchange has a sink (instead of a Buf). Returns
 * the bytes taken; fewer than n stops the transfer (curl reports CURLE_WRITE_ERROR). */
typedef size_t (*HttpSinkFn)(void *ctx, HttpExchange *ex, const char *data, size_t n);

struct HttpExchange {
    CURL *curl; /* the handle the callbacks are attached to (not owned) */
    /* where a 2xx body goes: the sink when set, else *body (or own_body when body is NULL),
     * at most max_body bytes (0: own default of 64 MiB); longer is body_too_long */
    HttpSinkFn sink;
    void *sink_ctx;
    Buf *body;
    size_t max_body;
    struct curl_slist *req_headers; /* owned: set with http_exchange_set_headers */
    /* filled per transfer */
    long status;            /* HTTP status of the final response, 0: none */
    int64_t content_length; /* -1: absent, -2: unparsable */
    uint64_t received;      /* body bytes taken */
    bool body_too_long;     /* a 2xx body passed max_body */
    CURLcode result;        /* set by http_exchange_done */
    Buf headers;            /* "name: value\n" per header of the final response, name lowercase */
    Buf error_body;         /* a non-2xx body, first HTTP_MAX_ERROR_BODY bytes */
    Buf own_body;
    char curl_msg[CURL_ERROR_SIZE]; /* libcurl's detail for the last failure */
};

/* Attaches an exchange to a handle: header, body and progress callbacks, error buffer. */
void http_exchange_init(HttpExchange *ex, CURL *h);
/* Forgets the previous transfer's response and clears *body: call before each transfer, after
 * pointing body / sink at this transfer's (a pointer left from an earlier one would be
 * written to). */
void http_exchange_reset(HttpExchange *ex);
/* Sets the request headers (takes ownership of the list; the previous one is freed). */
void http_exchange_set_headers(HttpExchange *ex, struct curl_slist *headers);
/* Records the result of a finished transfer (from curl_easy_perform or the multi loop's
 * CURLMSG_DONE) and the final status code. */
void http_exchange_done(HttpExchange *ex, CURLcode rc);
void http_exchange_free(HttpExchange *ex);
/* The body that came back: *body / own_body for a 2xx response, error_body otherwise. */
const Buf *http_exchange_body(const HttpExchange *ex);
/* Copies the value of response header `name` (case-insensitive) into out; false if absent. */
bool http_exchange_header(const HttpExchange *ex, const char *name, char *out, size_t cap);

/* ---------------------------------------------------------------- classification */

/* Classifies a finished transfer: DIP_ERR_NONE for a completed 2xx, DIP_ERR_TRANSIENT for
 * what a retry can cure (connection refused / reset / timed out, DNS failure, TLS handshake
 * failure, a short or garbled response, HTTP 408, 429, 500, 502, 503, 504), otherwise the
 * final kind: DIP_ERR_INTERRUPTED (stop requested), DIP_ERR_CONFIG (TLS verification, bad
 * certificate, 3xx redirect, 401, 403), DIP_ERR_NOT_FOUND (404), DIP_ERR_DATA (another 4xx:
 * the server refused the request as sent), DIP_ERR_IO (another 5xx or curl failure). When
 * not NONE, `why` (cleared first) says what happened, naming `host` and `expected` (what
 * the caller wanted back, e.g. "a 2xx bulk response"). */
DipErrorKind http_classify(CURLcode rc, long status, const char *host, const char *expected,
                           Buf *why);
/* http_classify applied to a finished exchange, plus its own body checks (2xx body over
 * max_body: DIP_ERR_DATA; Content-Length unparsable or not matching the bytes received on
 * a 2xx: transient short body). A non-2xx error body's start is appended to the message.
 * Returns true for a good 2xx response, else records the error. */
bool http_exchange_check(const HttpExchange *ex, const char *host, const char *expected,
                         DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- blocking, with retries */

typedef struct HttpCall {
    HttpExchange *ex;     /* attached to a configured handle */
    const char *what;     /* names the request in messages and retry warnings */
    const char *host;     /* for http_exchange_check's messages */
    const char *expected; /* likewise */
    /* Before each attempt (exchange already reset): set URL, method, request body and
     * (re-)signed headers. NULL: nothing to do. A false return stops with that error. */
    bool (*prepare)(void *ctx, HttpExchange *ex, int attempt, DipError *err);
    /* After each transfer: judge the response, recording DIP_ERR_TRANSIENT to retry.
     * NULL: http_exchange_check. */
    bool (*finish)(void *ctx, HttpExchange *ex, DipError *err);
    void *ctx;
} HttpCall;

/* Runs the call with curl_easy_perform under retry_run: transient failures are retried with
 * backoff and jitter and logged "what: why; retry N of M in S s"; a stop request ends it with
 * DIP_ERR_INTERRUPTED. Every error message starts with call->what. */
bool http_perform_retry(const HttpCall *call, const RetryPolicy *p, DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- AWS SigV4 */

/* Appends s[0..n) percent-encoded the way SigV4 wants (RFC 3986): every byte but the
 * unreserved A-Z a-z 0-9 - . _ ~ becomes %XX (uppercase hex); keep_slash keeps '/'. */
void http_uri_encode(Buf *out, const char *s, size_t n, bool keep_slash);

typedef struct HttpQueryParam {
    const char *name;
    const char *value; /* "" for a parameter without a value (still rendered "name=") */
} HttpQueryParam;

/* The canonical query string: names and values encoded with http_uri_encode, sorted by
 * encoded name then value, joined with '&'. Usable as the query of the URL sent. */
void http_canonical_query(Buf *out, const HttpQueryParam *params, size_t n);

typedef struct HttpHeader {
    const char *name;  /* lowercase */
    const char *value; /* leading/trailing spaces trimmed and inner runs collapsed by the signer */
} HttpHeader;

typedef struct HttpSigV4Request {
    const char *method;          /* "GET", "HEAD", "POST" ... */
    const char *canonical_uri;   /* the canonical path (see http_sigv4_sign for the rules) */
    const char *canonical_query; /* from http_canonical_query, "" when none */
    const HttpHeader *headers;   /* every header to sign (host, x-amz-*, range ...) */
    size_t n_headers;
    const char *payload_hash; /* hex SHA-256 of the body, or "UNSIGNED-PAYLOAD" */
    const char *amz_date;     /* "YYYYMMDDTHHMMSSZ" (UTC) */
    const char *region;
    const char *service; /* "s3", "es", "aoss", ... */
    const char *access_key;
    const char *secret_key;
} HttpSigV4Request;

/* The Authorization header value ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=...") into auth. When canonical is not NULL the canonical request is stored
 * there too (tests and debug logs; it holds no secret). */
void http_sigv4_authorization(const HttpSigV4Request *rq, Buf *auth, Buf *canonical);

/* Formats a Unix time as the x-amz-date form "YYYYMMDDTHHMMSSZ". */
void http_sigv4_format_date(int64_t unix_s, char out[17]);

typedef struct HttpAwsAuth {
    const char *access_key;
    const char *secret_key;
    const char *session_token; /* NULL when none (else sent and signed as x-amz-security-token) */
    const char *region;
    const char *service; /* "s3", "es" (Amazon OpenSearch Service), "aoss" (Serverless) */
} HttpAwsAuth;

/* Signs one request to `url` (as it will be sent: scheme://host[:port]/path?query, path and
 * query already percent-encoded). Appends to *headers: host, every `extra` header, x-amz-date
 * (from now_s), x-amz-content-sha256 (SHA-256 of the payload), x-amz-security-token when the
 * auth has a session token, and Authorization; all but Authorization are signed. The
 * canonical URI is the path as sent for S3 and the path encoded once more for every other
 * service (SigV4's rule); the canonical query is the query decoded, re-encoded and sorted.
 * Fails with DIP_ERR_CONFIG when the URL is not of that form. */
bool http_sigv4_sign(const HttpAwsAuth *auth, const char *method, const char *url,
                     const HttpHeader *extra, size_t n_extra, const void *payload,
                     size_t payload_len, int64_t now_s, struct curl_slist **headers,
                     DipError *err) DIP_MUST_CHECK;

#endif /* DIP_HTTP_H */
