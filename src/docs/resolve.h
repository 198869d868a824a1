/*
 * resolve.h: the change resolver of the docs module (issue 11): from rows changed in
 * PostgreSQL (pgoutput Insert / Update / Delete / Truncate) to the roots whose documents
 * change, through the foreign-key paths of a resolved document tree.
 *
 * A batch of changes is added first (no database access: old and new values as the stream
 * carries them), then docs_resolver_run() finds what the values alone do not say with one
 * set-based query per tree level (never one per row) on the caller's connection, inside the
 * transaction the documents are then built in. The result is a set of root keys to rebuild
 * (a root that no longer exists is a delete: the caller builds the set and deletes every key
 * the builder did not emit), or "everything" (TRUNCATE, a view's base table, a value the
 * stream did not carry): rebuild every root and delete what the index has beyond them.
 *
 * Rules (docs/sync-es.md, "The change stream"):
 * - a root row inserted, updated or deleted: its key (old and new: a key change is a delete
 *   of the old _id and an index of the new one);
 * - a child, grandchild or link-table row: its old and new join values, walked up to the
 *   roots (a row moved to another parent reaches the old root and the new one);
 * - an update whose old row is known (REPLICA IDENTITY FULL) and that changes no column the
 *   node uses (outputs, keys, joins) is skipped;
 * - TRUNCATE of any table of the tree, a change of a view's base table: everything.
 */
#ifndef DIP_DOCS_RESOLVE_H
#define DIP_DOCS_RESOLVE_H

#include "core/core.h"
#include "docs/docs.h"
#include "pg/pg.h"
#include "pg/pgrepl.h"

typedef struct DocsResolver DocsResolver;

typedef struct DocsResolveStats {
    int64_t changes;   /* row changes added */
    int64_t skipped;   /* updates that changed no column a document uses */
    int64_t ignored;   /* changes of tables outside the tree */
    int64_t queries;   /* lookup statements run */
    int64_t full;      /* batches that needed every root */
    int64_t roots_out; /* root keys resolved */
} DocsResolveStats;

/* Reads the column types of the tree's tables on c (used to cast lookup parameters). With c
 * NULL the resolver only collects changes, to be merged into one that runs (a streamed
 * transaction's changes, kept apart until its Stream Commit). */
bool docs_resolver_open(const DocsDocument *d, PgConn *c, DocsResolver **out,
                        DipError *err) DIP_MUST_CHECK;
void docs_resolver_close(DocsResolver *r);

/* Adds one pgoutput Insert, Update or Delete message (values are copied). */
void docs_resolver_add(DocsResolver *r, const PgoMessage *m);
/* A TRUNCATE of rel: every root is rebuilt (a truncated root table empties the index). */
void docs_resolver_truncate(DocsResolver *r, const PgoRelation *rel);
/* A Relation message of a table of the tree, against what the resolver and the document were
 * resolved with (pgoutput sends one before the first change of a table in a session and
 * after every ALTER of it; the ALTER itself and any rewrite it does are not in the stream):
 *   SAME       nothing the documents use changed (a column added or dropped elsewhere);
 *   REPREPARE  a key or join column changed type, or a used column is gone: re-resolve the
 *              document (docs_schema_resolve) and reopen the builder and the resolver;
 *   REBUILD    a column of the documents changed type, or a node taking every column saw
 *              columns added or dropped: every document may differ without any row change,
 *              so also rebuild every root (docs_resolver_rebuild_all).
 * why (may be NULL) receives "schema.table: what", for logs and errors. Tables outside the
 * tree are SAME. */
typedef enum { DOCS_REL_SAME = 0, DOCS_REL_REPREPARE, DOCS_REL_REBUILD } DocsRelChange;
DocsRelChange docs_resolver_relation_change(const DocsResolver *r, const PgoRelation *rel,
                                            Buf *why);
/* Makes the batch rebuild every root (as a TRUNCATE does). */
void docs_resolver_rebuild_all(DocsResolver *r);
/* Distinct keys collected since the last reset: root keys plus the distinct join values of
 * changed child and link rows (each reaches at least one root). What a batch counts toward
 * its root limit before the lookups say how many roots there are. */
size_t docs_resolver_keys(const DocsResolver *r);
/* Whether anything was added since the last reset. */
bool docs_resolver_pending(const DocsResolver *r);
/* True when the batch needs every root (see the header comment). */
bool docs_resolver_full(const DocsResolver *r);

/* Walks the batch's join values up to root keys with set-based lookups on c (or, when the
 * batch needs every root, reads every root key). */
bool docs_resolver_run(DocsResolver *r, PgConn *c, DipError *err) DIP_MUST_CHECK;
/* Root keys resolved by docs_resolver_run. */
size_t docs_resolver_nroots(const DocsResolver *r);
/* Key arrays of roots [from, from + n) for docs_builder_run_keys: arrays[k] receives the
 * array literal of key column k (rel.key order); arrays holds rel.nkey Bufs. */
void docs_resolver_key_arrays(const DocsResolver *r, size_t from, size_t n, Buf *arrays);
/* PGSync's _id of root i (key values in key-name order joined by '|'). */
void docs_resolver_root_id(const DocsResolver *r, size_t i, Buf *out);
/* Adds what src collected to dst (a committed streamed transaction joining the batch). */
void docs_resolver_merge(DocsResolver *dst, const DocsResolver *src);
/* Records that the builder emitted the document _id (see docs_resolver_was_built). */
void docs_resolver_built(DocsResolver *r, const char *id, size_t len);
bool docs_resolver_was_built(const DocsResolver *r, const char *id, size_t len);
/* Forgets the batch (keeps the allocations). */
void docs_resolver_reset(DocsResolver *r);
const DocsResolveStats *docs_resolver_stats(const DocsResolver *r);

#endif /* DIP_DOCS_RESOLVE_H */
