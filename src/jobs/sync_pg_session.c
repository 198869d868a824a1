/*
 * sync_pg_session.c: the loader's PostgreSQL session of a sync-pg job: connecting (with
 * POSTGRES_* retries), the run lock (one run per gold table, taken again after every
 * reconnect), the session state every transaction relies on (the temporary staging and
 * delete tables), and transactions on it (pg_tx_run, with a reconnect that restores all of
 * that). Below the job (sync_pg.c) and its load and delete steps; calls nothing above it.
 */
#include "jobs/sync_pg_internal.h"

#include <stdio.h>
#include <string.h>

bool sync_pg_session_setup(SyncJob *j, DipError *err)
{
    const char *t;
    Buf sql;
    buf_init(&sql);
    const char *kv[] = {"table", buf_cstr(&j->q_table), "columns", buf_cstr(&j->q_columns), NULL};
    bool ok = pg_sql_get("sql/gold_stage_create.sql", &t, err) && pg_sql_render(t, kv, &sql, err) &&
              pg_exec(&j->conn, buf_cstr(&sql), err) &&
              pg_sql_get("sql/gold_delete_stage.sql", &t, err) && pg_exec(&j->conn, t, err);
    buf_free(&sql);
    return ok;
}

bool sync_pg_lock(SyncJob *j, DipError *err)
{
    Buf name;
    buf_init(&name);
    buf_printf(&name, "dip sync-pg %s", buf_cstr(&j->q_table));
    /* A run killed a moment ago (SIGKILL, a lost client) leaves its backend holding the
     * lock until the server notices the client is gone, at the end of the statement it is
     * running: wait for that, up to POSTGRES_CONNECTION_TIMEOUT, before calling the other
     * run alive. */
    double wait_s = j->opt->pg.connect_timeout_s > 0 ? j->opt->pg.connect_timeout_s : 10;
    bool got = false;
    char who[256];
    bool ok =
        j->lock_shared
            ? pg_advisory_lock_shared(&j->conn, buf_cstr(&name), wait_s, &got, who, sizeof who, err)
            : pg_advisory_lock(&j->conn, buf_cstr(&name), wait_s, &got, who, sizeof who, err);
    buf_free(&name);
    if (!ok) return false;
    /* transient: the other run will end; an orchestrator may try again later */
    if (!got && j->lock_shared)
        return dip_error_set(err, DIP_ERR_TRANSIENT,
                             "a dip sync-pg without shards (or a new sharded run being planned) "
                             "holds %s (run lock held by %s): %s not started",
                             j->gold_table, who, j->shard_what);
    if (!got)
        return dip_error_set(err, DIP_ERR_TRANSIENT,
                             "another dip sync-pg is syncing into %s (run lock held by %s): not "
                             "starting a second one",
                             j->gold_table, who);
    if (j->shard_lock == NULL) return true;
    /* a shard's own lock: the same shard never runs twice at once */
    if (!pg_advisory_lock(&j->conn, j->shard_lock, wait_s, &got, who, sizeof who, err))
        return false;
    if (!got)
        return dip_error_set(err, DIP_ERR_TRANSIENT,
                             "%s is already running (its lock held by %s): not starting it twice",
                             j->shard_what, who);
    return true;
}

bool sync_pg_connect(SyncJob *j, DipError *err)
{
    return pg_connect_retry(&j->conn, &j->opt->pg, err);
}

/* pg_tx_run's reconnect: a new session with the run lock and the session's tables. */
static bool session_reconnect(PgConn *c, void *ctx, DipError *err)
{
    SyncJob *j = ctx;
    if (!pg_connect(c, &j->opt->pg, err)) return false;
    /* the run lock went with the old session: a run that started meanwhile wins */
    if (!sync_pg_lock(j, err)) {
        j->lock_lost = true;
        dip_error_prefix(err, "after reconnecting");
        return false;
    }
    return sync_pg_session_setup(j, err);
}

typedef struct JobTx {
    SyncJob *j;
    SyncTxFn fn;
    void *ctx;
} JobTx;

static bool job_tx_body(PgConn *c, void *arg, DipError *err)
{
    (void)c; /* the job's own connection: fn reaches it as j->conn */
    JobTx *t = arg;
    return t->fn(t->j, t->ctx, err);
}

bool sync_pg_tx(SyncJob *j, SyncTxFn fn, void *ctx, const char *what, DipError *err)
{
    RetryPolicy p = pg_retry_policy(&j->opt->pg);
    PgTxRetry retry = {.policy = &p,
                       .settings = &j->opt->pg,
                       .reconnect = session_reconnect,
                       .ctx = j,
                       .abandon = &j->lock_lost};
    JobTx t = {j, fn, ctx};
    return pg_tx_run(&j->conn, &retry, job_tx_body, &t, what, err);
}

typedef struct RunEnd {
    SyncJob *j;
    bool finished;
    const char *cause;
} RunEnd;

static bool run_end_attempt(void *arg, int attempt, DipError *err)
{
    (void)attempt;
    RunEnd *e = arg;
    SyncJob *j = e->j;
    if (pg_is_alive(&j->conn) || pg_connect(&j->conn, &j->opt->pg, err)) {
        if (pg_run_checkpoint(&j->conn, &j->run, err) &&
            pg_run_finish(&j->conn, &j->run, e->finished, e->cause, err))
            return true;
    }
    pg_close(&j->conn);
    return false;
}

bool sync_pg_record_end(SyncJob *j, bool finished, const char *cause, DipError *err)
{
    /* the loader's transaction, if one is still open, is abandoned first; a fresh
     * connection when the loader's is gone (PostgreSQL restarted, error mid-COPY) */
    pg_rollback_or_close(&j->conn);
    RetryPolicy p = pg_retry_policy(&j->opt->pg);
    RunEnd e = {j, finished, cause};
    return retry_run(&p, run_end_attempt, &e, "recording the end of the run", err);
}
