/*
 * pg.h: the public face of dip's PostgreSQL module (libpq).
 *
 * - Connections with a connect timeout (POSTGRES_CONNECTION_TIMEOUT), libpq's PG* variables
 *   respected (an optional conninfo string overrides them), errors classified by SQLSTATE
 *   class into transient (retry: 08*, 57P01-57P03, 40001, 40P01, 53*, connection loss) and
 *   data errors (everything else).
 * - Binary COPY encoding (PostgreSQL docs, "COPY ... Binary Format", and the send functions
 *   of each type: int2/4/8send, float4/8send, numeric_send, textsend, byteasend, boolsend,
 *   date_send, timestamp_send, jsonb_send) straight from ColumnVectors.
 * - The SQL file runner (the seed's SchemaManager) and SQL templates from embedded sql/ files.
 * - The run metadata table (sql/run_*.sql).
 */
#ifndef DIP_PG_H
#define DIP_PG_H

#include "core/column.h"
#include "core/core.h"

#include <libpq-fe.h>

/* ---------------------------------------------------------------- connections */

typedef struct PgSettings {
    const char *conninfo;  /* NULL or "" = libpq defaults + PG* environment */
    int connect_timeout_s; /* POSTGRES_CONNECTION_TIMEOUT, default 10 */
    int max_retries;       /* POSTGRES_MAX_RETRIES, default 10 */
    double retry_delay_s;  /* POSTGRES_RETRY_DELAY, default 1.0 (backoff base) */
    int batch_size;        /* POSTGRES_CLIENT_BATCH_SIZE, default 10000 */
} PgSettings;

/* Reads POSTGRES_* variables (defaults as in the seed). */
bool pg_settings_from_env(PgSettings *s, DipError *err) DIP_MUST_CHECK;

typedef struct PgConn {
    PGconn *conn;
    char host[256]; /* as connected, for logs and run metadata */
    char port[16];
    char user[128];
    char dbname[128];
} PgConn;

/* One connection attempt; a failure to connect is transient (the server may be starting). */
bool pg_connect(PgConn *c, const PgSettings *s, DipError *err) DIP_MUST_CHECK;
/* Retries of the first connection of a process (no server has answered yet): a missing or
 * misaddressed server is reported within seconds, not after the whole budget. */
#define PG_FIRST_CONTACT_RETRIES 3
/* Connects with retries (backoff + jitter), giving up after s->max_retries, or after
 * PG_FIRST_CONTACT_RETRIES while no connection of this process has succeeded yet. */
bool pg_connect_retry(PgConn *c, const PgSettings *s, DipError *err) DIP_MUST_CHECK;
void pg_close(PgConn *c);
bool pg_is_alive(const PgConn *c);

/* True for SQLSTATEs worth a retry (connection class, admin shutdown, serialization
 * failure, deadlock, insufficient resources). */
bool pg_sqlstate_is_transient(const char *sqlstate);
/* Records the error of `res` (or of the connection when res is NULL or has no SQLSTATE)
 * with `what` as context, classified transient or data. Returns false. */
bool pg_error_from_result(DipError *err, const PgConn *c, const PGresult *res, const char *what);

/* Runs a statement that returns no rows (or whose rows are ignored). */
bool pg_exec(PgConn *c, const char *sql, DipError *err) DIP_MUST_CHECK;
/* Runs a statement with text parameters; *res must be PQclear'ed by the caller. */
bool pg_query(PgConn *c, const char *sql, int nparams, const char *const *params, PGresult **res,
              DipError *err) DIP_MUST_CHECK;
/* The operation a statement performs, in words, for error messages: the first clause of
 * an sql/ file's header comment ("a new run row (run_start.sql)"), else the statement's
 * leading keywords ("BEGIN statement"); never a cut slice of the text. */
void pg_sql_operation(const char *sql, char *out, size_t cap);
/* SQLSTATE of the last error recorded by this module on this thread ("" when none). */
const char *pg_last_sqlstate(void);

/* COPY FROM STDIN: begin with the COPY statement, put bytes, end (returns rows copied). */
bool pg_copy_begin(PgConn *c, const char *sql, DipError *err) DIP_MUST_CHECK;
bool pg_copy_put(PgConn *c, const void *p, size_t n, DipError *err) DIP_MUST_CHECK;
bool pg_copy_end(PgConn *c, int64_t *rows, DipError *err) DIP_MUST_CHECK;
/* COPY TO STDOUT: calls `on_chunk` for each data row message (binary: one tuple each). */
typedef bool (*PgCopyOutFn)(void *ctx, const uint8_t *p, size_t n, DipError *err);
bool pg_copy_out(PgConn *c, const char *sql, PgCopyOutFn on_chunk, void *ctx,
                 DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- names (names.c)
 * One rule for the names dip writes and looks up: taken literally (case kept, any UTF-8),
 * always quoted; a table name is TABLE or SCHEMA.TABLE, split at its one dot. */

#define PG_NAME_MAX_BYTES 63 /* NAMEDATALEN - 1: PostgreSQL cuts longer names silently */

/* A table name under the rule: not empty, at most one dot, each part 1..63 bytes of valid
 * UTF-8 without control characters. A config error naming `what` (e.g. "--table"). */
bool pg_table_name_check(const char *name, const char *what, DipError *err) DIP_MUST_CHECK;
/* The table part of TABLE or SCHEMA.TABLE. */
const char *pg_table_name_base(const char *name);
/* Quotes a table name: "a.b" is split into schema and table, each quoted. */
void pg_quote_ident(const char *name, Buf *out);
/* Quotes one identifier as a whole (a column, an index: a dot is part of the name). */
void pg_quote_name(const char *name, Buf *out);
/* base + suffix when it fits in 63 bytes, else a cut base + "_" + 16 hex digits of the
 * whole base + suffix: derived names of different bases stay distinct (unquoted). */
void pg_derived_name(const char *base, const char *suffix, Buf *out);
/* Quotes a literal (standard_conforming_strings on). */
void pg_quote_literal(const char *s, Buf *out);

/* ---------------------------------------------------------------- results (tx.c)
 * Row accessors: callers read results through these, not through libpq. */

int pg_nrows(const PGresult *r);
/* The text of a field; "" for NULL (ask pg_is_null when it matters). */
const char *pg_value(const PGresult *r, int row, int col);
size_t pg_value_len(const PGresult *r, int row, int col);
bool pg_is_null(const PGresult *r, int row, int col);
/* A boolean field is true ('t'); NULL is false. */
bool pg_value_bool(const PGresult *r, int row, int col);
/* A bigint field; false when NULL or not an integer. */
bool pg_value_i64(const PGresult *r, int row, int col, int64_t *out);
/* Rows a command touched (PQcmdTuples), 0 when it does not say. */
int64_t pg_cmd_rows(const PGresult *r);
void pg_result_free(PGresult *r);

/* ---------------------------------------------------------------- transactions and locks (tx.c) */

/* The one RetryPolicy of POSTGRES_MAX_RETRIES / POSTGRES_RETRY_DELAY (backoff base, capped
 * at 60 s per wait): connecting, transactions and lookups all use it. */
RetryPolicy pg_retry_policy(const PgSettings *s);

/* A transaction body or a (re)connect step on c. */
typedef bool (*PgTxFn)(PgConn *c, void *ctx, DipError *err);

typedef struct PgTxRetry {
    const RetryPolicy *policy;  /* NULL = one attempt */
    const PgSettings *settings; /* reconnect with pg_connect when reconnect is NULL */
    PgTxFn reconnect;           /* opens c again with the caller's session state (locks,
                                 * temporary tables); NULL = pg_connect(settings) */
    void *ctx;                  /* reconnect's */
    const bool *abandon;        /* set by the caller (e.g. in reconnect: its lock went to
                                 * another session): stop retrying, return that error */
} PgTxRetry;

/* BEGIN, body, COMMIT on c. Any failure rolls back (pg_rollback_or_close); a transient one
 * (conn.c's classes: connection loss, 40001, 40P01, ...) closes the connection, reconnects
 * and runs the whole transaction again under retry->policy (core's retry_run; `what` names
 * it in the warnings). The body must be safe to run again. NULL retry = one attempt, on an
 * open connection. */
bool pg_tx_run(PgConn *c, const PgTxRetry *retry, PgTxFn body, void *ctx, const char *what,
               DipError *err) DIP_MUST_CHECK;
/* Rolls back an open transaction; closes the connection when even that fails (a session
 * mid-COPY or broken is not reused). A no-op on an idle or closed connection. */
void pg_rollback_or_close(PgConn *c);
/* A transaction is open (or failed and not yet rolled back) on c. */
bool pg_in_transaction(const PgConn *c);

/* A session-level advisory lock on a 64-bit key derived from `name` (xxh64), held until the
 * session ends or pg_advisory_unlock. Polls every 0.1 s for up to wait_s seconds; *got
 * false when another session kept it, with that session described in holder ("PostgreSQL
 * backend pid N (application 'a', client c, connected since t)"). False only on an error. */
bool pg_advisory_lock(PgConn *c, const char *name, double wait_s, bool *got, char *holder,
                      size_t holder_cap, DipError *err) DIP_MUST_CHECK;
/* The shared form of the same lock (pg_try_advisory_lock_shared): any number of sessions hold
 * it together, none while one holds it exclusively (pg_advisory_lock), and the other way
 * round. Same waiting and holder report. */
bool pg_advisory_lock_shared(PgConn *c, const char *name, double wait_s, bool *got, char *holder,
                             size_t holder_cap, DipError *err) DIP_MUST_CHECK;
bool pg_advisory_unlock(PgConn *c, const char *name, DipError *err) DIP_MUST_CHECK;
bool pg_advisory_unlock_shared(PgConn *c, const char *name, DipError *err) DIP_MUST_CHECK;

/* ---------------------------------------------------------------- types and binary COPY */

typedef enum {
    PGT_NONE = 0,
    PGT_BOOL,
    PGT_INT2,
    PGT_INT4,
    PGT_INT8,
    PGT_FLOAT4,
    PGT_FLOAT8,
    PGT_NUMERIC,
    PGT_TEXT,
    PGT_BYTEA,
    PGT_DATE,
    PGT_TIMESTAMP,
    PGT_TIMESTAMPTZ,
    PGT_JSONB,
} PgTypeId;

typedef struct PgType {
    PgTypeId id;
    int precision; /* numeric(p, s); 0 = unconstrained */
    int scale;
} PgType;

/* SQL spelling as format_type() prints it ("numeric(12,2)", "timestamp with time zone"). */
void pg_type_sql(const PgType *t, Buf *out);
/* The exact PostgreSQL type for a silver (Delta/Parquet) type; false (with a reason in
 * why) when dip maps no type to it. */
bool pg_type_for(const DipType *src, PgType *out, char *why, size_t whylen);

/* Binary COPY framing: the 19-byte header, the tuple field count, the trailer. */
void pg_copy_header(Buf *b);
void pg_copy_trailer(Buf *b);
static inline void pg_copy_tuple_begin(Buf *b, int nfields)
{
    buf_append_be16(b, (uint16_t)nfields);
}
static inline void pg_copy_null(Buf *b)
{
    buf_append_be32(b, 0xFFFFFFFFu);
}
void pg_copy_text(Buf *b, const char *s, size_t n);
void pg_copy_timestamp_us(Buf *b, int64_t unix_us);
/* Numeric in the binary wire form: base-10000 digits, weight, sign, display scale. */
void pg_copy_numeric(Buf *b, __int128 unscaled, int scale);
/* Value `row` of vector `c` encoded as PostgreSQL type `t` (NULL handled). `scratch` is a
 * reusable buffer for JSON rendering. False when the value cannot be represented (e.g. an
 * out-of-range unsigned value): a data error naming the column. */
bool pg_copy_value(Buf *b, const PgType *t, const ColumnVector *c, int64_t row, Buf *scratch,
                   DipError *err) DIP_MUST_CHECK;

/* Decoding of binary COPY OUT tuples: returns the field count (-1 = trailer) and fills the
 * field pointers/lengths (len -1 = NULL) up to max. */
int pg_copy_tuple_parse(const uint8_t *p, size_t n, const uint8_t **fields, int32_t *lens, int max);

/* ---------------------------------------------------------------- SQL files */

/* An embedded sql/ file by name ("sql/run_start.sql"); aborts the statement with a config
 * error when missing (a build problem). */
bool pg_sql_get(const char *name, const char **text, DipError *err) DIP_MUST_CHECK;
/* Expands {{key}} placeholders from kv (NULL-terminated key, value list) into out. An
 * unknown placeholder is an internal error. */
bool pg_sql_render(const char *tmpl, const char *const *kv, Buf *out, DipError *err) DIP_MUST_CHECK;

/* The SchemaManager: runs each *.sql of `dir` (sorted by name; NULL = the embedded
 * schemas/ files) whose objects (CREATE TABLE/INDEX/VIEW/SEQUENCE/SCHEMA names) do not all
 * exist yet, each file in one transaction under an advisory lock. Safe to run twice.
 * *ran counts files executed. */
bool pg_schema_apply(PgConn *c, const char *dir, int *ran, DipError *err) DIP_MUST_CHECK;
/* Same for one SQL text (name used in messages). */
bool pg_schema_apply_text(PgConn *c, const char *name, const char *sql, bool *ran,
                          DipError *err) DIP_MUST_CHECK;
/* Object names a schema file creates, as "kind name" lines (for tests and --plan). */
void pg_schema_objects(const char *sql, Buf *out);

/* ---------------------------------------------------------------- run metadata */

/* One row of dip_sync_runs. Ownership: every string belongs to the PgRun (heap copies,
 * NULL or set with dip_strdup, never borrowed or literal); pg_run_free frees them all and
 * pg_run_copy makes an independent deep copy. */
typedef struct PgRun {
    int64_t run_id;
    char *input;          /* input_delta_table */
    char *output;         /* output_postgres_table */
    char *mode;           /* "full" | "incremental" */
    int64_t base_version; /* incremental: version synced before; -1 for full */
    int64_t version;      /* table version this run syncs */
    char *last_file;      /* path of the last fully loaded file, NULL = none yet */
    char *partial_file;   /* file whose first rows are committed, its end not yet; NULL = none */
    int64_t partial_rows; /* rows of partial_file committed (its input rows) */
    int64_t ldts_us;      /* table LDTS at `version` */
    int64_t n_input_records;
    int64_t n_output_records;
    int64_t n_inserted, n_updated, n_unchanged, n_deleted;
    bool sync_finished;
    char *model_sha256;    /* the model the run used (a changed model forces full) */
    int64_t parent_run_id; /* a shard's row: its sharded run; 0 = not a shard */
    int shard;             /* a shard's row: its id (meaningful when parent_run_id > 0) */
    int shards;            /* a sharded run and its shards: the shard count; 0 = not sharded */
} PgRun;

void pg_run_free(PgRun *r);
void pg_run_copy(PgRun *dst, const PgRun *src);
bool pg_run_ensure_table(PgConn *c, DipError *err) DIP_MUST_CHECK;
/* The latest run for (input, output), finished or not; *found false when none. A shard's own
 * row is never the latest run (its sharded run's row stands for it). */
bool pg_run_latest(PgConn *c, const char *input, const char *output, bool finished_only, PgRun *out,
                   bool *found, DipError *err) DIP_MUST_CHECK;
/* The run with this id; *found false when none. */
bool pg_run_get(PgConn *c, int64_t run_id, PgRun *out, bool *found, DipError *err) DIP_MUST_CHECK;
/* The latest row of shard `shard` of sharded run `parent`; *found false when none. */
bool pg_run_shard_latest(PgConn *c, int64_t parent, int shard, PgRun *out, bool *found,
                         DipError *err) DIP_MUST_CHECK;
/* Inserts a new run row; backend_json holds host, port, user, database, batch size (never
 * a password). Sets r->run_id. A shard's row (parent_run_id > 0) is linked to its run. */
bool pg_run_start(PgConn *c, PgRun *r, const char *backend_json, DipError *err) DIP_MUST_CHECK;
/* Persists counters and the resume point (last_file) of r; inside the caller's transaction
 * when one is open. */
bool pg_run_checkpoint(PgConn *c, const PgRun *r, DipError *err) DIP_MUST_CHECK;
/* Marks the run finished (or not) with its end time. */
bool pg_run_finish(PgConn *c, const PgRun *r, bool finished, const char *error_text,
                   DipError *err) DIP_MUST_CHECK;

#endif /* DIP_PG_H */
