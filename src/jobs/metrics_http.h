/*
 * metrics_http.h: a small HTTP/1.1 server for a daemon's /metrics and /healthz (RFC 9112
 * message syntax, the part a Prometheus scraper and a Kubernetes probe use): GET and HEAD,
 * one request per connection (Connection: close), served from its own thread so that work
 * stalled elsewhere in the process never blocks a scrape.
 *
 * Not a general web server: no request bodies, no keep-alive, no chunked encoding, no TLS
 * (put a proxy in front when the scrape must cross an untrusted network). The http module is
 * dip's libcurl client; this serves, so it lives with the jobs that own metrics (DESIGN).
 */
#ifndef DIP_JOBS_METRICS_HTTP_H
#define DIP_JOBS_METRICS_HTTP_H

#include "core/core.h"

#define METRICS_HTTP_MAX_REQUEST 8192 /* request line + headers; more is answered 431 */
#define METRICS_HTTP_MAX_CONNS 16     /* open connections; more wait in the listen backlog */
#define METRICS_HTTP_CONN_TIMEOUT_S                                                                \
    5 /* a connection that has not been answered by then is                                        \
         closed (slow or idle clients cannot pin a slot) */

/* What a handler answers. The server adds Date, Content-Length, Cache-Control: no-store and
 * Connection: close; a HEAD request gets the headers only. */
typedef struct MetricsHttpResponse {
    int status;               /* 200, 404, 503, ... */
    const char *content_type; /* static text */
    Buf body;                 /* initialised by the server, freed by it */
} MetricsHttpResponse;

/* Called on the server's thread for every well-formed GET or HEAD, with the path (query
 * string removed). Must not block: take a lock, copy, format. */
typedef void (*MetricsHttpHandler)(void *ctx, const char *path, MetricsHttpResponse *resp);

typedef struct MetricsHttp MetricsHttp;

/* Parses "HOST:PORT" ("[v6]:PORT"; an empty HOST means every interface) into host and port.
 * `what` names the setting in the error ("--metrics-addr"). */
bool metrics_http_parse_addr(const char *addr, char *host, size_t host_cap, int *port,
                             const char *what, DipError *err) DIP_MUST_CHECK;

/* Binds addr and starts the server thread. A bind failure (port in use, address not local)
 * is a DIP_ERR_CONFIG error naming the address and `what`. */
bool metrics_http_start(const char *addr, const char *what, MetricsHttpHandler handler, void *ctx,
                        MetricsHttp **out, DipError *err) DIP_MUST_CHECK;
/* The bound port (useful when addr asked for port 0). */
int metrics_http_port(const MetricsHttp *s);
/* Stops the thread (within one poll period), closes every socket, frees s. NULL is fine. */
void metrics_http_stop(MetricsHttp *s);

/* Parses one request head (exposed for tests): the method and the path (query removed).
 * Returns 0 when well-formed, else the status to answer (400, 405, 414, 505). */
int metrics_http_parse_request(const char *head, size_t len, char *method, size_t method_cap,
                               char *path, size_t path_cap);

#endif /* DIP_JOBS_METRICS_HTTP_H */
