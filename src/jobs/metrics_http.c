/*
 * metrics_http.c: the HTTP/1.1 server behind a daemon's /metrics and /healthz
 * (metrics_http.h). One thread, one poll() loop over the listening socket, a wake pipe and
 * at most METRICS_HTTP_MAX_CONNS connections, every socket non-blocking:
 *
 *   accept -> read the request head (at most METRICS_HTTP_MAX_REQUEST bytes, until the empty
 *   line) -> parse -> the handler formats the answer -> write it -> close.
 *
 * Bounded everywhere: a connection lives at most METRICS_HTTP_CONN_TIMEOUT_S from accept to
 * its last byte written; a head that does not end within the size limit is answered 431; a
 * malformed one 400; a method other than GET and HEAD 405 (with Allow). Sockets are written
 * with MSG_NOSIGNAL: a scraper that hangs up must not kill the daemon with SIGPIPE. The
 * thread blocks every signal, so SIGTERM reaches the thread that drains the stream.
 */
#include "jobs/metrics_http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct Conn {
    int fd;
    double deadline; /* dip_now_s() after which the connection is dropped */
    Buf in;          /* the request head as read so far */
    Buf out;         /* the whole answer, once known */
    size_t out_off;  /* bytes of out already written */
    bool answering;  /* out is set: waiting for POLLOUT */
} Conn;

struct MetricsHttp {
    int lfd;
    int wake[2]; /* metrics_http_stop writes one byte to wake[1] */
    int port;
    atomic_bool stop;
    bool thread_started;
    pthread_t thread;
    MetricsHttpHandler handler;
    void *ctx;
    Conn conns[METRICS_HTTP_MAX_CONNS];
    size_t nconns;
};

/* ---------------------------------------------------------------- parsing */

/* RFC 9110 tchar: the characters of a method and of a header field name. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The next line of the head: [*p, eol) without its CRLF (a bare LF is tolerated, RFC 9112
 * 2.2); false when no line ending is left. */
static bool next_line(const char **p, const char *end, const char **line, size_t *len)
{
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (nl == NULL) return false;
    *line = *p;
    *len = (size_t)(nl - *p);
    if (*len > 0 && (*line)[*len - 1] == '\r') (*len)--;
    *p = nl + 1;
    return true;
}

static bool header_ok(const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    if (colon == NULL || colon == line) return false;
    for (const char *q = line; q < colon; q++)
        if (!is_tchar((unsigned char)*q)) return false; /* no space before ':' either */
    for (const char *q = colon + 1; q < line + len; q++)
        if ((unsigned char)*q < 0x20 && *q != '\t') return false;
    return true;
}

int metrics_http_parse_request(const char *head, size_t len, char *method, size_t method_cap,
                               char *path, size_t path_cap)
{
    const char *p = head, *end = head + len, *line;
    size_t n;
    if (!next_line(&p, end, &line, &n)) return 400;
    /* method SP request-target SP HTTP-version, nothing else */
    const char *sp1 = memchr(line, ' ', n);
    if (sp1 == NULL || sp1 == line || (size_t)(sp1 - line) >= method_cap) return 400;
    for (const char *q = line; q < sp1; q++)
        if (!is_tchar((unsigned char)*q)) return 400;
    const char *target = sp1 + 1, *le = line + n;
    const char *sp2 = memchr(target, ' ', (size_t)(le - target));
    if (sp2 == NULL || sp2 == target || *target != '/') return 400;
    for (const char *q = target; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f) return 400;
    const char *version = sp2 + 1;
    size_t vlen = (size_t)(le - version);
    if (vlen != 8 || memcmp(version, "HTTP/", 5) != 0 || version[6] != '.' || version[5] < '0' ||
        version[5] > '9' || version[7] < '0' || version[7] > '9')
        return 400;
    for (;;) {
        if (!next_line(&p, end, &line, &n)) return 400; /* the head must end with a blank line */
        if (n == 0) break;
        if (line[0] == ' ' || line[0] == '\t') return 400; /* obsolete line folding */
        if (!header_ok(line, n)) return 400;
    }
    if (version[5] != '1') return 505;
    const char *query = memchr(target, '?', (size_t)(sp2 - target));
    size_t plen = (size_t)((query ? query : sp2) - target);
    if (plen >= path_cap) return 414;
    memcpy(method, head, (size_t)(sp1 - head));
    method[sp1 - head] = '\0';
    memcpy(path, target, plen);
    path[plen] = '\0';
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) return 405;
    return 0;
}

/* ---------------------------------------------------------------- answers */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 414:
        return "URI Too Long";
    case 431:
        return "Request Header Fields Too Large";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

static void conn_answer(Conn *c, int status, const char *content_type, const Buf *body,
                        bool head_only)
{
    /* RFC 9110 6.6.1: a server with a clock sends Date, in IMF-fixdate */
    char date[40] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    buf_clear(&c->out);
    buf_printf(&c->out,
               "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
               "Cache-Control: no-store\r\nConnection: close\r\n",
               status, reason_phrase(status), date, content_type, body->len);
    if (status == 405) buf_append_str(&c->out, "Allow: GET, HEAD\r\n");
    buf_append_str(&c->out, "\r\n");
    if (!head_only) buf_append(&c->out, body->data, body->len);
    c->out_off = 0;
    c->answering = true;
}

static void conn_answer_text(Conn *c, int status, const char *text)
{
    Buf b;
    buf_init(&b);
    buf_printf(&b, "%s\n", text);
    conn_answer(c, status, "text/plain; charset=utf-8", &b, false);
    buf_free(&b);
}

/* The head is complete (or the peer stopped sending): parse it and ask the handler. */
static void conn_dispatch(MetricsHttp *s, Conn *c)
{
    char method[16], path[1024];
    int st = metrics_http_parse_request((const char *)c->in.data, c->in.len, method, sizeof method,
                                        path, sizeof path);
    if (st != 0) {
        const char *why = st == 405   ? "method not allowed: only GET and HEAD"
                          : st == 414 ? "request target too long"
                          : st == 505 ? "HTTP version not supported: only HTTP/1.x"
                                      : "malformed request";
        conn_answer_text(c, st, why);
        return;
    }
    MetricsHttpResponse r = {.status = 404, .content_type = "text/plain; charset=utf-8"};
    buf_init(&r.body);
    s->handler(s->ctx, path, &r);
    conn_answer(c, r.status, r.content_type, &r.body, strcmp(method, "HEAD") == 0);
    buf_free(&r.body);
}

/* ---------------------------------------------------------------- connections */

static void conn_close(MetricsHttp *s, size_t i)
{
    Conn *c = &s->conns[i];
    close(c->fd);
    buf_free(&c->in);
    buf_free(&c->out);
    s->conns[i] = s->conns[--s->nconns];
}

/* Reads what is there; answers once the head is complete. False: close the connection. */
static bool conn_read(MetricsHttp *s, Conn *c)
{
    uint8_t tmp[2048];
    for (int round = 0; round < 8 && !c->answering; round++) {
        ssize_t n = recv(c->fd, tmp, sizeof tmp, 0);
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        if (n == 0) {
            /* the peer stopped sending before the empty line: answer what it sent, if any */
            if (c->in.len == 0) return false;
            conn_dispatch(s, c);
            return true;
        }
        size_t room = METRICS_HTTP_MAX_REQUEST - c->in.len;
        buf_append(&c->in, tmp, (size_t)n < room ? (size_t)n : room);
        const char *h = (const char *)c->in.data;
        if (memmem(h, c->in.len, "\r\n\r\n", 4) || memmem(h, c->in.len, "\n\n", 2)) {
            conn_dispatch(s, c);
        } else if ((size_t)n >= room) {
            conn_answer_text(c, 431, "request head over 8 KiB");
        }
    }
    return true;
}

/* Writes what the socket takes. False: done (or failed): close the connection. */
static bool conn_write(Conn *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        c->out_off += (size_t)n;
    }
    shutdown(c->fd, SHUT_WR);
    return false;
}

static void accept_new(MetricsHttp *s)
{
    while (s->nconns < METRICS_HTTP_MAX_CONNS) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return; /* EAGAIN, or an aborted connection: nothing to do */
        Conn *c = &s->conns[s->nconns++];
        memset(c, 0, sizeof *c);
        c->fd = fd;
        c->deadline = dip_now_s() + METRICS_HTTP_CONN_TIMEOUT_S;
        buf_init(&c->in);
        buf_init(&c->out);
    }
}

static void *server_main(void *arg)
{
    MetricsHttp *s = arg;
    struct pollfd pf[METRICS_HTTP_MAX_CONNS + 2];
    while (!atomic_load(&s->stop)) {
        nfds_t n = 0;
        pf[n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        bool listening = s->nconns < METRICS_HTTP_MAX_CONNS;
        if (listening) pf[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
        nfds_t first = n;
        for (size_t i = 0; i < s->nconns; i++)
            pf[n++] = (struct pollfd){.fd = s->conns[i].fd,
                                      .events = s->conns[i].answering ? POLLOUT : POLLIN};
        if (poll(pf, n, 250) < 0 && errno != EINTR) break;
        if (listening && (pf[1].revents & POLLIN)) accept_new(s);
        /* backwards: conn_close moves the last connection into the closed one's place */
        double now = dip_now_s();
        for (size_t k = n - first; k-- > 0;) {
            Conn *c = &s->conns[k];
            short ev = pf[first + k].revents;
            bool keep = true;
            if (ev & (POLLERR | POLLNVAL))
                keep = false;
            else if (!c->answering && (ev & (POLLIN | POLLHUP)))
                keep = conn_read(s, c);
            if (keep && c->answering && (ev & (POLLOUT | POLLHUP))) keep = conn_write(c);
            if (keep && now > c->deadline) keep = false;
            if (!keep) conn_close(s, k);
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- start, stop */

bool metrics_http_parse_addr(const char *addr, char *host, size_t host_cap, int *port,
                             const char *what, DipError *err)
{
    const char *colon = strrchr(addr, ':');
    const char *h = addr;
    size_t hlen = colon ? (size_t)(colon - addr) : 0;
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    } else if (colon && memchr(addr, ':', hlen)) {
        hlen = (size_t)-1; /* a bare IPv6 address: its port is ambiguous */
    }
    int64_t p;
    if (colon == NULL || hlen >= host_cap || !dip_parse_i64(colon + 1, &p) || p < 0 || p > 65535)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "%s %s: expected HOST:PORT (e.g. 127.0.0.1:9187, 0.0.0.0:9187, "
                             "[::1]:9187) or off",
                             what, addr);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return true;
}

static bool bind_listen(MetricsHttp *s, const char *addr, const char *what, DipError *err)
{
    char host[256], service[8];
    int port;
    if (!metrics_http_parse_addr(addr, host, sizeof host, &port, what, err)) return false;
    dip_snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, service, &hints, &res);
    if (rc != 0)
        return dip_error_set(err, DIP_ERR_CONFIG, "%s %s: cannot resolve %s: %s", what, addr, host,
                             gai_strerror(rc));
    int last_errno = 0;
    for (struct addrinfo *ai = res; ai && s->lfd < 0; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0) {
            s->lfd = fd;
        } else {
            last_errno = errno;
            close(fd);
        }
    }
    freeaddrinfo(res);
    if (s->lfd < 0)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "%s %s: cannot listen: %s (%s); choose another HOST:PORT, or "
                             "`off`",
                             what, addr, strerror(last_errno),
                             last_errno == EADDRINUSE ? "another process holds that port"
                                                      : "is the address one of this machine's?");
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(s->lfd, (struct sockaddr *)&ss, &sl) == 0)
        s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return true;
}

bool metrics_http_start(const char *addr, const char *what, MetricsHttpHandler handler, void *ctx,
                        MetricsHttp **out, DipError *err)
{
    MetricsHttp *s = dip_calloc(1, sizeof *s);
    s->lfd = s->wake[0] = s->wake[1] = -1;
    s->handler = handler;
    s->ctx = ctx;
    atomic_init(&s->stop, false);
    *out = NULL;
    if (!bind_listen(s, addr, what, err)) {
        metrics_http_stop(s);
        return false;
    }
    if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        dip_error_set(err, DIP_ERR_INTERNAL, "%s: pipe: %s", what, strerror(errno));
        metrics_http_stop(s);
        return false;
    }
    /* the thread takes no signal: they belong to the thread that drains the stream */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, server_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        dip_error_set(err, DIP_ERR_INTERNAL, "%s: cannot start the server thread: %s", what,
                      strerror(rc));
        metrics_http_stop(s);
        return false;
    }
    s->thread_started = true;
    *out = s;
    return true;
}

int metrics_http_port(const MetricsHttp *s)
{
    return s->port;
}

void metrics_http_stop(MetricsHttp *s)
{
    if (s == NULL) return;
    atomic_store(&s->stop, true);
    if (s->wake[1] >= 0) {
        char b = 1;
        (void)!write(s->wake[1], &b, 1);
    }
    if (s->thread_started) pthread_join(s->thread, NULL);
    while (s->nconns > 0)
        conn_close(s, s->nconns - 1);
    if (s->lfd >= 0) close(s->lfd);
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0) close(s->wake[i]);
    free(s);
}
