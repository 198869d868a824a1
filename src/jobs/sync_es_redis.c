/*
 * sync_es_redis.c: REDIS_CHECKPOINT=true (PGSync's switch) keeps sync-es's checkpoint and its
 * one-active-consumer lock in Redis or Valkey (src/redis) instead of PostgreSQL.
 *
 * - Lock: key dip:sync-es:<index>:lock, SET NX PX 8000 with a token naming this process; a
 *   thread with its own connection renews it every 2 s (compare-and-pexpire). A second
 *   --daemon of the index polls it every second as a hot standby, so it takes over within
 *   about 9 s of the holder's death. A renewal that finds the key gone (Redis restarted
 *   without persistence, or it expired while Redis was unreachable) takes it again; one that
 *   finds another holder stops the stream with exit 4: an orchestrator starts the process
 *   again and it queues behind that holder. The slot itself admits
 *   one consumer at a time, so two daemons never apply changes together.
 * - Checkpoint: key dip:sync-es:<slot>:checkpoint, the LSN through which every change is in
 *   the index, written after the engine acknowledged a batch and before the slot is confirmed
 *   there; a stream starts from the greater of it and the slot's confirmed position.
 * dip's state table still holds what bootstrap made (index versions, slot names, load ranges).
 */
#include "jobs/sync_es_internal.h"
#include "pg/pgrepl.h"
#include "redis/redis.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOCK_TTL_MS 8000
#define RENEW_EVERY_S 2.0

struct SyncEsRedis {
    RedisConfig cfg;
    RedisConn *conn;  /* checkpoint and lock acquisition */
    RedisConn *renew; /* the renewal thread's own */
    char lock_key[400];
    char token[160];
    char index[256];
    pthread_t thread;
    bool thread_on;
    bool locked;
    atomic_bool stop;
    atomic_bool lost;
};

bool sync_es_redis_open(const char *index, SyncEsRedis **out, DipError *err)
{
    *out = NULL;
    RedisConfig cfg;
    bool on;
    if (!redis_config_from_env(&cfg, &on, err)) return false;
    if (!on) return true;
    SyncEsRedis *r = dip_calloc(1, sizeof *r);
    r->cfg = cfg;
    dip_strlcpy(r->index, index, sizeof r->index);
    dip_snprintf(r->lock_key, sizeof r->lock_key, "dip:sync-es:%s:lock", index);
    char host[128] = "";
    if (gethostname(host, sizeof host - 1) != 0) dip_strlcpy(host, "?", sizeof host);
    uint64_t rng = dip_rng_seed();
    dip_snprintf(r->token, sizeof r->token, "%s:%d:%016llx", host, (int)getpid(),
                 (unsigned long long)dip_rng_next(&rng));
    char where[400];
    redis_config_describe(&cfg, where, sizeof where);
    if (!redis_open(&cfg, &r->conn, err)) {
        dip_error_prefix(err, "REDIS_CHECKPOINT=true");
        free(r);
        return false;
    }
    dip_info("index %s: checkpoint and lock in %s", index, where);
    *out = r;
    return true;
}

static void *renew_main(void *arg)
{
    SyncEsRedis *r = arg;
    double next = dip_now_s() + RENEW_EVERY_S;
    while (!atomic_load(&r->stop)) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (dip_now_s() < next) continue;
        next = dip_now_s() + RENEW_EVERY_S;
        DipError e = {0};
        bool held = false;
        if (!redis_lock_renew(r->renew, r->lock_key, r->token, LOCK_TTL_MS, &held, &e)) {
            dip_warn("index %s: renewing the Redis lock %s: %s", r->index, r->lock_key, e.msg);
            continue; /* the TTL runs on: the next renewal may still be in time */
        }
        if (!held) {
            /* gone without another holder (Redis restarted without persistence, or the key
             * expired while Redis was unreachable): take it again; held by another: lost */
            bool got = false;
            if (redis_lock_try(r->renew, r->lock_key, r->token, LOCK_TTL_MS, &got, &e) && got) {
                dip_warn("index %s: the Redis lock %s had vanished; taken again", r->index,
                         r->lock_key);
                continue;
            }
            dip_errorf("index %s: the Redis lock %s is no longer this process's (it expired or "
                       "was taken): stopping",
                       r->index, r->lock_key);
            atomic_store(&r->lost, true);
            return NULL;
        }
    }
    return NULL;
}

bool sync_es_redis_lock(SyncEsRedis *r, bool standby, double wait_s, SyncEsMetrics *m,
                        DipError *err)
{
    double until = dip_now_s() + wait_s;
    bool got = false, said = false;
    while (!got) {
        if (!redis_lock_try(r->conn, r->lock_key, r->token, LOCK_TTL_MS, &got, err)) return false;
        if (got) break;
        if (standby) {
            if (!said) {
                dip_info("index %s: another dip sync-es holds it (Redis lock %s); waiting as a "
                         "hot standby",
                         r->index, r->lock_key);
                sync_es_metrics_phase(m, SYNC_ES_PHASE_STANDBY);
                said = true;
            }
        } else if (dip_now_s() >= until) {
            return dip_error_set(err, DIP_ERR_TRANSIENT,
                                 "index %s: another dip sync-es run is working on it (Redis lock "
                                 "%s)",
                                 r->index, r->lock_key);
        }
        if (!dip_sleep_interruptible(standby ? 1.0 : 0.2))
            return dip_error_set(err, DIP_ERR_INTERRUPTED, "index %s: interrupted", r->index);
    }
    if (said) {
        dip_info("index %s: lock acquired; this daemon takes over", r->index);
        sync_es_metrics_phase(m, SYNC_ES_PHASE_STARTING);
    }
    r->locked = true;
    if (!redis_open(&r->cfg, &r->renew, err)) return false;
    atomic_store(&r->stop, false);
    if (pthread_create(&r->thread, NULL, renew_main, r) != 0)
        return dip_error_set(err, DIP_ERR_INTERNAL, "cannot start the Redis lock renewal thread");
    r->thread_on = true;
    return true;
}

bool sync_es_redis_lock_lost(const SyncEsRedis *r)
{
    return r && atomic_load(&r->lost);
}

static void checkpoint_key(const char *slot, char *out, size_t cap)
{
    dip_snprintf(out, cap, "dip:sync-es:%s:checkpoint", slot);
}

bool sync_es_redis_checkpoint_get(SyncEsRedis *r, const char *slot, PgLsn *lsn, DipError *err)
{
    *lsn = 0;
    char key[400], val[64];
    checkpoint_key(slot, key, sizeof key);
    bool found = false;
    if (!redis_get(r->conn, key, val, sizeof val, &found, err)) return false;
    if (found && !pgrepl_lsn_parse(val, lsn))
        return dip_error_set(err, DIP_ERR_DATA, "redis key %s: \"%s\" is not an LSN", key, val);
    return true;
}

bool sync_es_redis_checkpoint_set(SyncEsRedis *r, const char *slot, PgLsn lsn, DipError *err)
{
    char key[400], val[32];
    checkpoint_key(slot, key, sizeof key);
    pgrepl_lsn_format(lsn, val);
    return redis_set(r->conn, key, val, err);
}

bool sync_es_redis_origin_get(SyncEsRedis *r, const char *slot, char sysid[32], int *tli,
                              bool *found, DipError *err)
{
    char key[400], val[96];
    dip_snprintf(key, sizeof key, "dip:sync-es:%s:origin", slot);
    *tli = 0;
    sysid[0] = '\0';
    if (!redis_get(r->conn, key, val, sizeof val, found, err)) return false;
    if (!*found) return true;
    char *sp = strchr(val, ' ');
    int64_t t = 0;
    if (!sp || sp == val || (size_t)(sp - val) >= 32 || !dip_parse_i64(sp + 1, &t) || t < 1 ||
        t > INT32_MAX)
        return dip_error_set(err, DIP_ERR_DATA,
                             "redis key %s: \"%s\" is not \"<system identifier> <timeline>\"", key,
                             val);
    memcpy(sysid, val, (size_t)(sp - val));
    sysid[sp - val] = '\0';
    *tli = (int)t;
    return true;
}

bool sync_es_redis_origin_set(SyncEsRedis *r, const char *slot, const char *sysid, int tli,
                              DipError *err)
{
    char key[400], val[96];
    dip_snprintf(key, sizeof key, "dip:sync-es:%s:origin", slot);
    dip_snprintf(val, sizeof val, "%s %d", sysid, tli);
    return redis_set(r->conn, key, val, err);
}

void sync_es_redis_close(SyncEsRedis *r)
{
    if (!r) return;
    if (r->thread_on) {
        atomic_store(&r->stop, true);
        pthread_join(r->thread, NULL);
    }
    if (r->locked && !atomic_load(&r->lost)) {
        DipError e = {0};
        if (!redis_lock_release(r->conn, r->lock_key, r->token, &e))
            dip_warn("index %s: releasing the Redis lock: %s", r->index, e.msg);
    }
    redis_close(r->renew);
    redis_close(r->conn);
    free(r);
}
