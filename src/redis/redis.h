/*
 * redis.h: a small Redis / Valkey client for sync-es's checkpoint and its one-consumer lock
 * (REDIS_CHECKPOINT=true), on Debian's hiredis (0.14: plain TCP, no TLS).
 *
 * Configuration takes PGSync's names: REDIS_URL (redis://[user[:password]@]host[:port][/db]),
 * else REDIS_SCHEME, REDIS_HOST, REDIS_PORT, REDIS_DB, REDIS_USER, REDIS_AUTH; and
 * REDIS_SOCKET_TIMEOUT (seconds, 5). The password never appears in a message:
 * redis_config_describe() is how a connection is named.
 *
 * Errors: a lost or refused connection, a timeout, and the replies LOADING, BUSY, TRYAGAIN,
 * MASTERDOWN and READONLY (a failover in progress) are DIP_ERR_TRANSIENT and retried with
 * retry_run (the connection is opened again); a refused password (WRONGPASS, NOAUTH, invalid
 * password) is DIP_ERR_CONFIG; any other error reply is DIP_ERR_DATA.
 */
#ifndef DIP_REDIS_H
#define DIP_REDIS_H

#include "core/core.h"

typedef struct RedisConfig {
    char host[256];
    int port;
    int db;
    char user[128];
    char password[256];
    double timeout_s;
    int max_retries; /* REDIS_MAX_RETRIES, default 10 */
} RedisConfig;

/* REDIS_CHECKPOINT (true/false, default false) into *enabled; when enabled, the connection
 * settings from REDIS_URL or its parts. */
bool redis_config_from_env(RedisConfig *c, bool *enabled, DipError *err) DIP_MUST_CHECK;
/* redis://[user[:password]@]host[:port][/db]; rediss:// is refused (no TLS in this hiredis). */
bool redis_config_parse_url(RedisConfig *c, const char *url, DipError *err) DIP_MUST_CHECK;
/* "host:port db N [user U]" (never the password). */
void redis_config_describe(const RedisConfig *c, char *out, size_t cap);

typedef struct RedisConn RedisConn;

/* Connects (retried on transient failures), authenticates and selects the database. */
bool redis_open(const RedisConfig *c, RedisConn **out, DipError *err) DIP_MUST_CHECK;
void redis_close(RedisConn *r);

/* GET key: *found false when the key does not exist. */
bool redis_get(RedisConn *r, const char *key, char *out, size_t cap, bool *found,
               DipError *err) DIP_MUST_CHECK;
/* SET key value. */
bool redis_set(RedisConn *r, const char *key, const char *value, DipError *err) DIP_MUST_CHECK;
/* SET key token NX PX ttl_ms: *got true when this call took the lock. */
bool redis_lock_try(RedisConn *r, const char *key, const char *token, int ttl_ms, bool *got,
                    DipError *err) DIP_MUST_CHECK;
/* Extends the lock to ttl_ms when token still holds it (*held false otherwise). */
bool redis_lock_renew(RedisConn *r, const char *key, const char *token, int ttl_ms, bool *held,
                      DipError *err) DIP_MUST_CHECK;
/* Deletes the lock when token holds it. */
bool redis_lock_release(RedisConn *r, const char *key, const char *token,
                        DipError *err) DIP_MUST_CHECK;

#endif
