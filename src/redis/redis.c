/*
 * redis.c: the Redis / Valkey client of redis.h. Every command goes through command_retry:
 * one attempt runs the command on the open connection (opening it first when needed); a
 * transient failure closes the connection and retry_run tries again after a backoff.
 */
#include "redis/redis.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct RedisConn {
    RedisConfig cfg;
    redisContext *ctx;
};

/* ---------------------------------------------------------------- configuration */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Copies [s, s+n) percent-decoded into out; false when it does not fit or is malformed. */
static bool pct_copy(char *out, size_t cap, const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n) return false;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0) return false;
            c = h * 16 + l;
            i += 2;
        }
        if (w + 1 >= cap) return false;
        out[w++] = (char)c;
    }
    out[w] = '\0';
    return true;
}

bool redis_config_parse_url(RedisConfig *c, const char *url, DipError *err)
{
    const char *p = url;
    if (strncmp(p, "rediss://", 9) == 0)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "REDIS_URL: rediss:// (TLS) is not supported: Debian's hiredis 0.14 "
                             "has no TLS; reach Redis over a TLS tunnel (stunnel) or a private "
                             "network with redis://");
    if (strncmp(p, "redis://", 8) != 0)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "REDIS_URL: expected redis://[user[:password]@]host[:port][/db]");
    p += 8;
    const char *end = p + strcspn(p, "/?#");
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@') at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *uend = colon ? colon : at;
        if (!pct_copy(c->user, sizeof c->user, p, (size_t)(uend - p)) ||
            (colon &&
             !pct_copy(c->password, sizeof c->password, colon + 1, (size_t)(at - colon - 1))))
            return dip_error_set(err, DIP_ERR_CONFIG, "REDIS_URL: bad user or password part");
        p = at + 1;
    }
    const char *colon = memchr(p, ':', (size_t)(end - p));
    const char *hend = colon ? colon : end;
    if (hend == p) return dip_error_set(err, DIP_ERR_CONFIG, "REDIS_URL: no host");
    if (!pct_copy(c->host, sizeof c->host, p, (size_t)(hend - p)))
        return dip_error_set(err, DIP_ERR_CONFIG, "REDIS_URL: host too long");
    if (colon) {
        char num[16];
        int64_t port;
        if ((size_t)(end - colon - 1) >= sizeof num || end == colon + 1)
            return dip_error_set(err, DIP_ERR_CONFIG, "REDIS_URL: bad port");
        memcpy(num, colon + 1, (size_t)(end - colon - 1));
        num[end - colon - 1] = '\0';
        if (!dip_parse_i64(num, &port) || port < 1 || port > 65535)
            return dip_error_set(err, DIP_ERR_CONFIG, "REDIS_URL: port \"%s\": expected 1..65535",
                                 num);
        c->port = (int)port;
    }
    if (*end == '/' && end[1] && end[1] != '?' && end[1] != '#') {
        char num[16];
        size_t n = strcspn(end + 1, "?#");
        int64_t db;
        if (n >= sizeof num) return dip_error_set(err, DIP_ERR_CONFIG, "REDIS_URL: bad database");
        memcpy(num, end + 1, n);
        num[n] = '\0';
        if (!dip_parse_i64(num, &db) || db < 0 || db > 1000000)
            return dip_error_set(err, DIP_ERR_CONFIG,
                                 "REDIS_URL: database \"%s\": expected a number", num);
        c->db = (int)db;
    }
    return true;
}

bool redis_config_from_env(RedisConfig *c, bool *enabled, DipError *err)
{
    memset(c, 0, sizeof *c);
    if (!config_env_bool("REDIS_CHECKPOINT", false, enabled, err)) return false;
    dip_strlcpy(c->host, "localhost", sizeof c->host);
    c->port = 6379;
    double timeout;
    int64_t retries;
    if (!config_env_double("REDIS_SOCKET_TIMEOUT", 5.0, &timeout, err) ||
        !config_env_int("REDIS_MAX_RETRIES", 10, &retries, err))
        return false;
    if (!(timeout > 0 && timeout <= 3600))
        return dip_error_set(err, DIP_ERR_CONFIG, "REDIS_SOCKET_TIMEOUT=%g: expected 0..3600 s",
                             timeout);
    if (retries < 0 || retries > 1000)
        return dip_error_set(err, DIP_ERR_CONFIG, "REDIS_MAX_RETRIES=%lld: expected 0..1000",
                             (long long)retries);
    c->timeout_s = timeout;
    c->max_retries = (int)retries;
    const char *url = config_env_str("REDIS_URL", NULL);
    if (url && url[0]) return redis_config_parse_url(c, url, err);
    const char *scheme = config_env_str("REDIS_SCHEME", "redis");
    if (strcmp(scheme, "redis") != 0)
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "REDIS_SCHEME=%s: only redis is supported (Debian's hiredis 0.14 has "
                             "no TLS)",
                             scheme);
    dip_strlcpy(c->host, config_env_str("REDIS_HOST", "localhost"), sizeof c->host);
    int64_t port, db;
    if (!config_env_int("REDIS_PORT", 6379, &port, err) || !config_env_int("REDIS_DB", 0, &db, err))
        return false;
    if (port < 1 || port > 65535)
        return dip_error_set(err, DIP_ERR_CONFIG, "REDIS_PORT=%lld: expected 1..65535",
                             (long long)port);
    if (db < 0 || db > 1000000)
        return dip_error_set(err, DIP_ERR_CONFIG, "REDIS_DB=%lld: expected a database number",
                             (long long)db);
    c->port = (int)port;
    c->db = (int)db;
    dip_strlcpy(c->user, config_env_str("REDIS_USER", ""), sizeof c->user);
    dip_strlcpy(c->password, config_env_str("REDIS_AUTH", ""), sizeof c->password);
    return true;
}

void redis_config_describe(const RedisConfig *c, char *out, size_t cap)
{
    dip_snprintf(out, cap, "redis %s:%d db %d%s%s%s", c->host, c->port, c->db,
                 c->user[0] ? " user " : "", c->user, c->password[0] ? " (with a password)" : "");
}

/* ---------------------------------------------------------------- commands */

static void drop_ctx(RedisConn *r)
{
    if (r->ctx) redisFree(r->ctx);
    r->ctx = NULL;
}

static bool reply_error(RedisConn *r, const redisReply *rep, const char *what, DipError *err)
{
    char where[400];
    redis_config_describe(&r->cfg, where, sizeof where);
    const char *m = rep->str ? rep->str : "";
    static const char *const transient[] = {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN",
                                            "READONLY"};
    for (size_t i = 0; i < DIP_ARRAY_LEN(transient); i++)
        if (strncmp(m, transient[i], strlen(transient[i])) == 0) {
            drop_ctx(r);
            return dip_error_set(err, DIP_ERR_TRANSIENT, "%s: %s: %s", where, what, m);
        }
    bool auth = strncmp(m, "WRONGPASS", 9) == 0 || strncmp(m, "NOAUTH", 6) == 0 ||
                strstr(m, "invalid password") || strstr(m, "invalid username");
    return dip_error_set(err, auth ? DIP_ERR_CONFIG : DIP_ERR_DATA, "%s: %s: %s%s", where, what, m,
                         auth ? " (check REDIS_AUTH / REDIS_USER or the URL's user:password)" : "");
}

/* Runs one command on the open connection; *out gets the reply (caller frees). */
static bool run_argv(RedisConn *r, int argc, const char **argv, const char *what, redisReply **out,
                     DipError *err)
{
    char where[400];
    redis_config_describe(&r->cfg, where, sizeof where);
    redisReply *rep = redisCommandArgv(r->ctx, argc, argv, NULL);
    if (!rep) {
        dip_error_set(err, DIP_ERR_TRANSIENT, "%s: %s: %s", where, what,
                      r->ctx->errstr[0] ? r->ctx->errstr : "connection lost");
        drop_ctx(r);
        return false;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        bool ok = reply_error(r, rep, what, err);
        freeReplyObject(rep);
        return ok;
    }
    *out = rep;
    return true;
}

static bool connect_once(RedisConn *r, DipError *err)
{
    char where[400];
    redis_config_describe(&r->cfg, where, sizeof where);
    struct timeval tv = {
        .tv_sec = (time_t)r->cfg.timeout_s,
        .tv_usec = (suseconds_t)((r->cfg.timeout_s - (double)(time_t)r->cfg.timeout_s) * 1e6)};
    r->ctx = redisConnectWithTimeout(r->cfg.host, r->cfg.port, tv);
    if (!r->ctx) return dip_error_set(err, DIP_ERR_INTERNAL, "%s: out of memory", where);
    if (r->ctx->err) {
        dip_error_set(err, DIP_ERR_TRANSIENT,
                      "%s: connect: %s [set REDIS_URL, or REDIS_HOST / REDIS_PORT / REDIS_DB / "
                      "REDIS_AUTH]",
                      where, r->ctx->errstr);
        drop_ctx(r);
        return false;
    }
    if (redisSetTimeout(r->ctx, tv) != REDIS_OK) {
        drop_ctx(r);
        return dip_error_set(err, DIP_ERR_TRANSIENT, "%s: cannot set the socket timeout", where);
    }
    redisReply *rep = NULL;
    if (r->cfg.password[0]) {
        const char *a2[] = {"AUTH", r->cfg.password};
        const char *a3[] = {"AUTH", r->cfg.user, r->cfg.password};
        bool ok = r->cfg.user[0] ? run_argv(r, 3, a3, "AUTH", &rep, err)
                                 : run_argv(r, 2, a2, "AUTH", &rep, err);
        if (!ok) {
            drop_ctx(r);
            return false;
        }
        freeReplyObject(rep);
    }
    if (r->cfg.db) {
        char db[16];
        dip_snprintf(db, sizeof db, "%d", r->cfg.db);
        const char *a[] = {"SELECT", db};
        if (!run_argv(r, 2, a, "SELECT", &rep, err)) {
            drop_ctx(r);
            return false;
        }
        freeReplyObject(rep);
    }
    return true;
}

typedef struct CmdCtx {
    RedisConn *r;
    int argc;
    const char **argv;
    const char *what;
    redisReply *rep;
} CmdCtx;

static bool cmd_attempt(void *arg, int attempt, DipError *err)
{
    (void)attempt;
    CmdCtx *c = arg;
    if (!c->r->ctx && !connect_once(c->r, err)) return false;
    return c->argc == 0 || run_argv(c->r, c->argc, c->argv, c->what, &c->rep, err);
}

static RetryPolicy policy(const RedisConn *r)
{
    RetryPolicy p = {.max_retries = r->cfg.max_retries, .base_delay_s = 0.5, .max_delay_s = 5.0};
    return p;
}

static bool command_retry(RedisConn *r, int argc, const char **argv, const char *what,
                          redisReply **out, DipError *err)
{
    CmdCtx c = {r, argc, argv, what, NULL};
    RetryPolicy p = policy(r);
    if (!retry_run(&p, cmd_attempt, &c, what, err)) return false;
    *out = c.rep;
    return true;
}

bool redis_open(const RedisConfig *cfg, RedisConn **out, DipError *err)
{
    RedisConn *r = dip_calloc(1, sizeof *r);
    r->cfg = *cfg;
    CmdCtx c = {r, 0, NULL, "connecting to Redis", NULL};
    RetryPolicy p = policy(r);
    if (!retry_run(&p, cmd_attempt, &c, "connecting to Redis", err)) {
        redis_close(r);
        *out = NULL;
        return false;
    }
    *out = r;
    return true;
}

void redis_close(RedisConn *r)
{
    if (!r) return;
    drop_ctx(r);
    free(r);
}

bool redis_get(RedisConn *r, const char *key, char *out, size_t cap, bool *found, DipError *err)
{
    const char *a[] = {"GET", key};
    redisReply *rep;
    char what[600];
    dip_snprintf(what, sizeof what, "GET %s", key);
    if (!command_retry(r, 2, a, what, &rep, err)) return false;
    *found = rep->type == REDIS_REPLY_STRING;
    bool ok = true;
    if (*found) {
        if (rep->len >= cap)
            ok = dip_error_set(err, DIP_ERR_DATA, "redis GET %s: value of %zu bytes is too long",
                               key, rep->len);
        else
            dip_strlcpy(out, rep->str, cap);
    } else if (rep->type != REDIS_REPLY_NIL) {
        ok = dip_error_set(err, DIP_ERR_DATA, "redis GET %s: not a string (reply type %d)", key,
                           rep->type);
    }
    freeReplyObject(rep);
    return ok;
}

bool redis_set(RedisConn *r, const char *key, const char *value, DipError *err)
{
    const char *a[] = {"SET", key, value};
    redisReply *rep;
    char what[600];
    dip_snprintf(what, sizeof what, "SET %s", key);
    if (!command_retry(r, 3, a, what, &rep, err)) return false;
    freeReplyObject(rep);
    return true;
}

bool redis_lock_try(RedisConn *r, const char *key, const char *token, int ttl_ms, bool *got,
                    DipError *err)
{
    char ttl[16];
    dip_snprintf(ttl, sizeof ttl, "%d", ttl_ms);
    const char *a[] = {"SET", key, token, "NX", "PX", ttl};
    redisReply *rep;
    if (!command_retry(r, 6, a, "SET NX (lock)", &rep, err)) return false;
    *got = rep->type == REDIS_REPLY_STATUS;
    freeReplyObject(rep);
    return true;
}

/* compare-and-act scripts: only the holder's token extends or releases the lock */
static const char RENEW_LUA[] = "if redis.call('get', KEYS[1]) == ARGV[1] then "
                                "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
static const char RELEASE_LUA[] = "if redis.call('get', KEYS[1]) == ARGV[1] then "
                                  "return redis.call('del', KEYS[1]) else return 0 end";

bool redis_lock_renew(RedisConn *r, const char *key, const char *token, int ttl_ms, bool *held,
                      DipError *err)
{
    char ttl[16];
    dip_snprintf(ttl, sizeof ttl, "%d", ttl_ms);
    const char *a[] = {"EVAL", RENEW_LUA, "1", key, token, ttl};
    redisReply *rep;
    if (!command_retry(r, 6, a, "EVAL (lock renewal)", &rep, err)) return false;
    *held = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    freeReplyObject(rep);
    return true;
}

bool redis_lock_release(RedisConn *r, const char *key, const char *token, DipError *err)
{
    const char *a[] = {"EVAL", RELEASE_LUA, "1", key, token};
    redisReply *rep;
    if (!command_retry(r, 5, a, "EVAL (lock release)", &rep, err)) return false;
    freeReplyObject(rep);
    return true;
}
