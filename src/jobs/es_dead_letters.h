/*
 * es_dead_letters.h: the PostgreSQL dead-letter sink of the bulk writer (table
 * dip_es_dead_letters). The es module only knows an EsDeadLetterFn; this is the one jobs and
 * the CLI plug in, so es depends on core and http alone (DESIGN).
 */
#ifndef DIP_JOBS_ES_DEAD_LETTERS_H
#define DIP_JOBS_ES_DEAD_LETTERS_H

#include "es/es.h"
#include "pg/pg.h"

/* Creates dip_es_dead_letters if missing (sql/es_dead_letters_create.sql). */
bool es_dead_letters_init(PgConn *pg, DipError *err) DIP_MUST_CHECK;
/* An EsDeadLetterFn whose ctx is a PgConn *: one INSERT per letter (committed). */
bool es_dead_letters_store(void *pg_conn, const EsDeadLetter *dl, DipError *err) DIP_MUST_CHECK;

typedef struct EsDeadLetterRow {
    int64_t id;
    const char *created_at, *index, *doc_id, *op, *reason, *error_type;
    int status;
    int attempts;
} EsDeadLetterRow;
typedef bool (*EsDeadLetterRowFn)(void *ctx, const EsDeadLetterRow *row, DipError *err);
/* Lists the letters (oldest first). */
bool es_dead_letters_list(PgConn *pg, EsDeadLetterRowFn fn, void *ctx,
                          DipError *err) DIP_MUST_CHECK;

typedef struct EsRetryResult {
    int64_t resent;  /* accepted by the engine now: removed from the table */
    int64_t refused; /* refused again: kept, attempts and reason updated */
} EsRetryResult;
/* Re-sends every letter through a bulk writer; accepted ones are deleted from the table,
 * refused ones stay with the new reason. */
bool es_dead_letters_retry(PgConn *pg, EsClient *c, EsRetryResult *res,
                           DipError *err) DIP_MUST_CHECK;

#endif /* DIP_JOBS_ES_DEAD_LETTERS_H */
