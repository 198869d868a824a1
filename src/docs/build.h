/*
 * build.h: the document-building face of the docs module (wt-build): PostgreSQL values
 * rendered as to_json renders them, the set-based SQL of a document tree, and the batch
 * builder that turns key ranges of roots into PGSync-shaped JSON documents.
 *
 * The schema side (schema.json parsing, the node tree, validation, transforms, plugins) is
 * docs.h. This header only adds what the builder exposes to jobs and tests.
 */
#ifndef DIP_DOCS_BUILD_H
#define DIP_DOCS_BUILD_H

#include "core/core.h"
#include "pg/pg.h"

#include <stdint.h>

/* ---------------------------------------------------------------- value rendering */

/* How to_json renders a value of a (domain-resolved) type, given its text output under the
 * session settings dip fixes (docs_session_settings): PostgreSQL's json.c categorizes every
 * type into bool, numeric, date, timestamp, timestamptz, json/jsonb, array, composite, cast
 * and "other" (the output text as a JSON string). Composites and types with a cast to json
 * are selected as to_json(col) in SQL and copied (DOCS_VAL_JSON). */
typedef enum {
    DOCS_VAL_STRING = 0, /* output text, escaped (text, uuid, char(n), time, interval, bytea...) */
    DOCS_VAL_NUMBER,     /* int2/4/8, float4/8, numeric: a number unless NaN/Infinity */
    DOCS_VAL_BOOL,       /* "t"/"f" */
    DOCS_VAL_JSON,       /* json, jsonb, to_json(col): the text is JSON already */
    DOCS_VAL_DATE,       /* ISO date text is already to_json's XSD form */
    DOCS_VAL_TIMESTAMP,  /* "2024-02-29 13:45:00.5" -> "2024-02-29T13:45:00.5" */
    DOCS_VAL_TIMESTAMPTZ /* and "+HH" -> "+HH:00" (XSD offsets always carry minutes) */
} DocsValKind;

typedef struct DocsValType {
    DocsValKind kind; /* of the value, or of each element when array */
    bool array;       /* the text is an array literal ({...}, maybe [l:u]= bounds first) */
    char delim;       /* array element delimiter (pg_type.typdelim; ',' except box) */
} DocsValType;

/* The session settings under which docs_render_value's text inputs are produced, so that
 * the output equals to_json's: DateStyle ISO (dates/timestamps in ISO order), IntervalStyle
 * postgres, bytea_output hex, extra_float_digits 1 (shortest exact floats), and TimeZone =
 * `tz` (timestamptz offsets are rendered in the session zone, as to_json does). */
void docs_session_settings(const char *tz, Buf *sql_out);

/* The render type of a column: base_oid is the type after looking through domains,
 * elem_base_oid the element type of an array (0 when not an array). Returns false when
 * to_json needs the server (composite, a user type, or an array of those): the caller then
 * selects to_json(expr) and renders it as DOCS_VAL_JSON. */
bool docs_valtype_for_oid(uint32_t base_oid, uint32_t elem_base_oid, char delim, DocsValType *out);

/* Appends the JSON rendering of one non-NULL value in text form. False (DIP_ERR_DATA) only for
 * text that PostgreSQL never produces for the type (a malformed array literal). */
bool docs_render_value(Buf *out, const DocsValType *t, const char *s, size_t n,
                       DipError *err) DIP_MUST_CHECK;

/* The render types of n result column types (PQftype values), looked up in the catalog
 * (sql/docs_types.sql). server_json[i] is set when column i must be selected as
 * to_json(expr) (see docs_valtype_for_oid); out[i] is then DOCS_VAL_JSON. */
bool docs_types_lookup(PgConn *c, const uint32_t *oids, int n, DocsValType *out, bool *server_json,
                       DipError *err) DIP_MUST_CHECK;

/* True when s[0..n) is a JSON number as RFC 8259 writes one (PostgreSQL's IsValidJsonNumber
 * accepts the same strings for what numeric/float output can produce). */
bool docs_is_json_number(const char *s, size_t n);

#endif /* DIP_DOCS_BUILD_H */

/* ---------------------------------------------------------------- the builder */

struct DocsDocument;
struct DocsPlugins;

/* One built document, valid during the emit callback only. */
typedef struct DocsBuiltDoc {
    const char *id; /* PGSync's _id: root key values joined by '|' in key-name order */
    size_t id_len;
    const char *routing; /* NULL when the document has no routing (or its value is null) */
    const char *source;  /* the _source JSON */
    size_t source_len;
} DocsBuiltDoc;

typedef bool (*DocsEmitFn)(void *ctx, const DocsBuiltDoc *doc, DipError *err);

typedef struct DocsBuildStats {
    int64_t roots;      /* root rows read */
    int64_t docs;       /* documents emitted (plugins may drop some) */
    int64_t rows;       /* rows read over all nodes */
    int64_t json_bytes; /* _source bytes emitted */
    double sql_s;       /* wall time waiting for PostgreSQL */
    double render_s;    /* wall time assembling and rendering */
} DocsBuildStats;

typedef struct DocsBuilder DocsBuilder;

/* Prepares the statements of resolved document d on connection c (one builder per
 * connection and thread; c must stay open). Sets the session settings of
 * docs_session_settings(tz). plugins may be NULL; transforms run when d has any. */
bool docs_builder_open(const struct DocsDocument *d, PgConn *c, const char *tz,
                       struct DocsPlugins *plugins, DocsBuilder **out,
                       DipError *err) DIP_MUST_CHECK;
/* From now on every document gets PGSync's "_meta" (--pgsync-meta): per table (link tables
 * included) and key column, the sorted distinct key values of every row it uses. */
void docs_builder_pgsync_meta(DocsBuilder *b);
/* Work to drive while a statement runs on the server (a bulk writer's transfers): called
 * every few milliseconds until the result is there. Returning false (err set) stops the
 * build with that error. */
typedef bool (*DocsIdleFn)(void *ctx, DipError *err);
void docs_builder_set_idle(DocsBuilder *b, DocsIdleFn fn, void *ctx);
/* Builds the documents of the roots whose key is in (lo, hi] (key columns in primary-key
 * order, as text; lo or hi NULL = unbounded) and calls emit for each. Memory is bounded by the
 * range's rows; everything is released before returning. */
bool docs_builder_run(DocsBuilder *b, const char *const *lo, const char *const *hi, DocsEmitFn emit,
                      void *ctx, DipError *err) DIP_MUST_CHECK;
/* A builder of given roots (the change stream): the root statement takes one array
 * parameter per key column (rel.key order) instead of a key range. */
bool docs_builder_open_keys(const struct DocsDocument *d, PgConn *c, const char *tz,
                            struct DocsPlugins *plugins, DocsBuilder **out,
                            DipError *err) DIP_MUST_CHECK;
/* Builds the documents of the roots whose keys are in key_arrays: one PostgreSQL array literal
 * per key column ("{1,2,3}"), element i of each array together being one key. Roots that do
 * not exist emit nothing. */
bool docs_builder_run_keys(DocsBuilder *b, const char *const *key_arrays, DocsEmitFn emit,
                           void *ctx, DipError *err) DIP_MUST_CHECK;
const DocsBuildStats *docs_builder_stats(const DocsBuilder *b);
/* The SQL of every node statement, for --validate and tests. */
void docs_builder_describe(const DocsBuilder *b, Buf *out);
void docs_builder_close(DocsBuilder *b);
