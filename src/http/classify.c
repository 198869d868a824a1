/*
 * classify.c: which failed HTTP exchanges a retry can cure (http.h http_classify).
 *
 * Transient (retried with backoff, STYLE.md "Errors"): the network failed under us
 * (DNS, refused or reset connections, timeouts and stalls, a TLS handshake cut short, a
 * response that ended early or made no sense) or the server said "later": 408 Request
 * Timeout, 429 Too Many Requests, 500, 502, 503, 504 (RFC 9110 15.6; S3 and Elasticsearch
 * both answer overload this way). Everything else is final: retrying an unauthorised,
 * malformed or misdirected request gives the same answer, only later.
 */
#include "http/http.h"

#include <string.h>

static bool http_curl_is_transient(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
        return true;
    default:
        return false;
    }
}

static bool http_curl_is_config(CURLcode rc)
{
    switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_LOGIN_DENIED:
        return true;
    default:
        return false;
    }
}

static bool http_status_is_transient(long status)
{
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
           status == 504;
}

DipErrorKind http_classify(CURLcode rc, long status, const char *host, const char *expected,
                           Buf *why)
{
    if (rc == CURLE_OK && status >= 200 && status < 300) return DIP_ERR_NONE;
    buf_clear(why);
    host = host && *host ? host : "(no host)";
    expected = expected && *expected ? expected : "a 2xx response";
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        buf_printf(why, "%s: interrupted while waiting for %s", host, expected);
        return DIP_ERR_INTERRUPTED;
    }
    if (rc != CURLE_OK) {
        buf_printf(why, "%s: %s", host, curl_easy_strerror(rc));
        if (status > 0) buf_printf(why, " after HTTP %ld", status);
        buf_printf(why, ", expected %s", expected);
        if (http_curl_is_transient(rc)) return DIP_ERR_TRANSIENT;
        if (http_curl_is_config(rc)) return DIP_ERR_CONFIG;
        return DIP_ERR_IO;
    }
    buf_printf(why, "%s: HTTP %ld, expected %s", host, status, expected);
    if (http_status_is_transient(status)) return DIP_ERR_TRANSIENT;
    if (status >= 300 && status < 400) {
        buf_append_str(why, " (a redirect: is the endpoint URL or region right?)");
        return DIP_ERR_CONFIG;
    }
    if (status == 401 || status == 403) {
        buf_append_str(why, " (check the credentials)");
        return DIP_ERR_CONFIG;
    }
    if (status == 404) return DIP_ERR_NOT_FOUND;
    if (status >= 400 && status < 500) return DIP_ERR_DATA;
    if (status == 0) {
        buf_clear(why);
        buf_printf(why, "%s: no HTTP response, expected %s", host, expected);
        return DIP_ERR_TRANSIENT;
    }
    return DIP_ERR_IO; /* 501, 505 ... and 1xx left as final */
}

bool http_exchange_check(const HttpExchange *ex, const char *host, const char *expected,
                         DipError *err)
{
    Buf why;
    buf_init(&why);
    DipErrorKind kind;
    if (ex->body_too_long) {
        kind = DIP_ERR_DATA;
        buf_printf(&why, "%s: HTTP %ld: body longer than %zu bytes, expected %s",
                   host ? host : "(no host)", ex->status, ex->max_body, expected ? expected : "");
    } else {
        kind = http_classify(ex->result, ex->status, host, expected, &why);
    }
    if (kind == DIP_ERR_NONE) {
        if (ex->content_length == -2) {
            kind = DIP_ERR_DATA;
            buf_printf(&why, "%s: HTTP %ld: unparsable Content-Length", host, ex->status);
        } else if (ex->content_length >= 0 && ex->sink == NULL &&
                   ex->received != (uint64_t)ex->content_length) {
            kind = DIP_ERR_TRANSIENT;
            buf_printf(&why,
                       "%s: HTTP %ld: body has %llu bytes but Content-Length is %lld "
                       "(short body)",
                       host, ex->status, (unsigned long long)ex->received,
                       (long long)ex->content_length);
        }
    }
    if (kind != DIP_ERR_NONE && ex->error_body.len) {
        /* the server's own words (S3 XML, Elasticsearch JSON), first line, kept short */
        size_t n = ex->error_body.len < 300 ? ex->error_body.len : 300;
        const char *b = (const char *)ex->error_body.data;
        const char *nl = memchr(b, '\n', n);
        if (nl && nl > b) n = (size_t)(nl - b);
        buf_append_str(&why, ": ");
        buf_append(&why, b, n);
    }
    if (kind != DIP_ERR_NONE && ex->curl_msg[0] && ex->result != CURLE_OK)
        buf_printf(&why, " (%s)", ex->curl_msg);
    bool ok = kind == DIP_ERR_NONE;
    if (!ok) dip_error_set(err, kind, "%s", buf_cstr(&why));
    buf_free(&why);
    return ok;
}
