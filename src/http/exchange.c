/*
 * exchange.c: the response side of one easy handle (http.h HttpExchange): header capture,
 * the body under a size cap or into the caller's sink, error bodies kept apart, and the
 * progress callback that makes a stop request (SIGINT / SIGTERM) end a transfer at once,
 * a stalled one too.
 */
#include "http/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HTTP_DEFAULT_MAX_BODY (64u * 1024 * 1024)

/* Headers arrive one line per call. A new status line (after 100-continue, or a redirect
 * curl was told not to follow) starts a new response: the previous headers are forgotten. */
static size_t http_on_header(char *line, size_t size, size_t nitems, void *ud)
{
    HttpExchange *ex = ud;
    size_t n = size * nitems;
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        buf_clear(&ex->headers);
        ex->content_length = -1;
        return n;
    }
    size_t l = n;
    while (l && (line[l - 1] == '\r' || line[l - 1] == '\n' || line[l - 1] == ' '))
        l--;
    const char *colon = memchr(line, ':', l);
    if (!colon || colon == line) return n; /* the blank line ending the headers, or junk */
    size_t nl = (size_t)(colon - line);
    const char *v = colon + 1;
    while (v < line + l && (*v == ' ' || *v == '\t'))
        v++;
    size_t vl = (size_t)(line + l - v);
    if (ex->headers.len + nl + vl + 3 <= HTTP_MAX_HEADERS) {
        for (size_t i = 0; i < nl; i++) {
            char c = line[i];
            buf_append_byte(&ex->headers, (uint8_t)(c >= 'A' && c <= 'Z' ? c | 0x20 : c));
        }
        buf_append(&ex->headers, ": ", 2);
        buf_append(&ex->headers, v, vl);
        buf_append_byte(&ex->headers, '\n');
    }
    if (nl == 14 && strncasecmp(line, "content-length", 14) == 0) {
        char tmp[32];
        int64_t x;
        if (vl < sizeof tmp) {
            memcpy(tmp, v, vl);
            tmp[vl] = '\0';
            ex->content_length = dip_parse_i64(tmp, &x) && x >= 0 ? x : -2;
        } else {
            ex->content_length = -2;
        }
    }
    return n;
}

static size_t http_on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    HttpExchange *ex = ud;
    size_t n = size * nmemb;
    if (ex->status == 0) /* first body bytes: the status line is in by now */
        curl_easy_getinfo(ex->curl, CURLINFO_RESPONSE_CODE, &ex->status);
    if (ex->status < 200 || ex->status >= 300) {
        size_t room = HTTP_MAX_ERROR_BODY - ex->error_body.len;
        buf_append(&ex->error_body, data, n < room ? n : room);
        return n; /* the rest of an overlong error body is read and dropped */
    }
    if (ex->sink) {
        size_t took = ex->sink(ex->sink_ctx, ex, data, n);
        ex->received += took;
        return took;
    }
    Buf *b = ex->body ? ex->body : &ex->own_body;
    size_t cap = ex->max_body ? ex->max_body : HTTP_DEFAULT_MAX_BODY;
    if (n > cap - b->len) {
        ex->body_too_long = true;
        return 0;
    }
    if (b->len == 0 && ex->content_length > 0 && (uint64_t)ex->content_length <= cap)
        buf_reserve(b, (size_t)ex->content_length);
    buf_append(b, data, n);
    ex->received += n;
    return n;
}

/* libcurl calls this about once a second even when no byte moves. */
static int http_on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                            curl_off_t ulnow)
{
    (void)ud;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return dip_stop_requested() ? 1 : 0;
}

void http_exchange_init(HttpExchange *ex, CURL *h)
{
    memset(ex, 0, sizeof *ex);
    ex->curl = h;
    ex->content_length = -1;
    buf_init(&ex->headers);
    buf_init(&ex->error_body);
    buf_init(&ex->own_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, ex);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, ex);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, http_on_progress);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ex->curl_msg);
}

void http_exchange_reset(HttpExchange *ex)
{
    ex->status = 0;
    ex->content_length = -1;
    ex->received = 0;
    ex->body_too_long = false;
    ex->result = CURLE_OK;
    buf_clear(&ex->headers);
    buf_clear(&ex->error_body);
    buf_clear(&ex->own_body);
    if (ex->body) buf_clear(ex->body);
    ex->curl_msg[0] = '\0';
}

void http_exchange_set_headers(HttpExchange *ex, struct curl_slist *headers)
{
    curl_easy_setopt(ex->curl, CURLOPT_HTTPHEADER, headers);
    curl_slist_free_all(ex->req_headers);
    ex->req_headers = headers;
}

void http_exchange_done(HttpExchange *ex, CURLcode rc)
{
    long status = 0;
    curl_easy_getinfo(ex->curl, CURLINFO_RESPONSE_CODE, &status);
    ex->status = status;
    ex->result = rc;
}

void http_exchange_free(HttpExchange *ex)
{
    if (ex->curl) {
        /* the handle may outlive us: it must not call back into freed memory */
        curl_easy_setopt(ex->curl, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(ex->curl, CURLOPT_HEADERDATA, NULL);
        curl_easy_setopt(ex->curl, CURLOPT_WRITEDATA, NULL);
        curl_easy_setopt(ex->curl, CURLOPT_ERRORBUFFER, NULL);
    }
    curl_slist_free_all(ex->req_headers);
    ex->req_headers = NULL;
    buf_free(&ex->headers);
    buf_free(&ex->error_body);
    buf_free(&ex->own_body);
}

const Buf *http_exchange_body(const HttpExchange *ex)
{
    if (ex->status < 200 || ex->status >= 300) return &ex->error_body;
    return ex->body ? ex->body : &ex->own_body;
}

bool http_exchange_header(const HttpExchange *ex, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    const char *p = buf_cstr(&ex->headers);
    while (*p) {
        const char *eol = strchr(p, '\n');
        if (!eol) break;
        if ((size_t)(eol - p) >= nl + 2 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 2;
            size_t vl = (size_t)(eol - v);
            if (cap == 0) return true;
            if (vl >= cap) vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        p = eol + 1;
    }
    return false;
}
