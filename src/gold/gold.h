/*
 * gold.h: the public face of dip's gold module: silver record -> gold record (the seed's
 * IntegratedMetaModel.from_silver_record), driven by a declarative model file
 * (docs/sync-pg.md, "Model files"), so any table syncs with a model file and no C.
 *
 * A gold row is (hk, hdiff, sync_ldts, mapped columns...):
 * - hk: a silver column's value as text, or the Data Vault 2.0 hash key of business-key
 *   columns: each value as canonical text (NULL -> ""), trimmed of ASCII whitespace,
 *   upper-cased (ASCII), joined with "||", SHA-256, lowercase hex.
 * - hdiff: SHA-256 (lowercase hex) of the JSON array of the payload columns' values in the
 *   canonical row format (../shared/ROW_FORMAT.md), e.g. `["ACME",null,"12.50"]`: stable
 *   across runs and machines, NULL (`null`) distinct from the string "null" (`"null"`).
 * - sync_ldts: the Delta table's LDTS (commit timestamp of the synced version).
 * gold depends on core only: the exact type map to PostgreSQL (pg_type_for) is applied by
 * the job right after binding, so a silver column dip cannot map is still an error before
 * anything is written.
 */
#ifndef DIP_GOLD_H
#define DIP_GOLD_H

#include "core/column.h"
#include "core/core.h"

typedef enum { GOLD_HK_COLUMN = 1, GOLD_HK_KEYS } GoldHkKind;

typedef struct GoldModelColumn {
    char *gold;   /* gold column name */
    char *silver; /* silver column it comes from */
    int line;     /* model file line, for messages */
} GoldModelColumn;

typedef struct GoldModel {
    char *source; /* file name (or "embedded:models/...") for messages */
    char *table;  /* gold table, optionally schema-qualified */
    GoldHkKind hk_kind;
    char **hk_columns; /* silver names: one for GOLD_HK_COLUMN, the keys otherwise */
    int n_hk;
    GoldModelColumn *cols;
    int ncols;
    bool all_columns;    /* "columns *": every other silver column, same name */
    int all_columns_pos; /* where in cols the expansion goes */
    char **exclude;      /* silver columns left out of "columns *" */
    int n_exclude;
    char **hdiff_exclude; /* gold columns left out of hdiff */
    int n_hdiff_exclude;
    char sha256[65]; /* of the model text: a changed model forces a full sync */
} GoldModel;

/* Parses model text; errors name the source and line. */
bool gold_model_parse(GoldModel *m, const char *source, const char *text,
                      DipError *err) DIP_MUST_CHECK;
/* Loads a model file, or the embedded models/integrated_records.model when path is NULL. */
bool gold_model_load(GoldModel *m, const char *path, DipError *err) DIP_MUST_CHECK;
void gold_model_free(GoldModel *m);

typedef struct GoldColumn {
    const char *gold;    /* gold column name */
    int src;             /* index in the silver schema */
    int bi;              /* index in the projected batch (GoldPlan.proj order) */
    const DipType *type; /* silver type (into the bound schema); the job maps it to PostgreSQL */
    bool in_hdiff;
} GoldColumn;

typedef struct GoldPlan {
    const GoldModel *model;
    int ncols;
    GoldColumn *cols;
    int n_hk;
    int *hk_bi; /* batch indexes of the hk source columns */
    int nproj;
    int *proj; /* silver column indexes to read, ascending */
} GoldPlan;

/* Binds a model to a silver schema: every column found. The schema must outlive the plan;
 * mapping the columns' types to the target's (pg_type_for) is the caller's step. */
bool gold_plan_bind(GoldPlan *p, const GoldModel *m, const DipSchema *silver,
                    DipError *err) DIP_MUST_CHECK;
void gold_plan_free(GoldPlan *p);

/* hk text of a row into out (cleared first). False (data error) when a GOLD_HK_COLUMN value
 * is NULL or empty. `scratch` is a reusable buffer. */
bool gold_row_hk(const GoldPlan *p, const ColumnBatch *b, int64_t row, Buf *out, Buf *scratch,
                 DipError *err) DIP_MUST_CHECK;
/* hdiff of a row: 64 lowercase hex digits + NUL. */
void gold_row_hdiff(const GoldPlan *p, const ColumnBatch *b, int64_t row, Buf *scratch,
                    char out[65]);
/* One value as canonical row-format JSON (what hdiff hashes); equal to
 * column_value_write_json's output, faster for the common scalars. */
void gold_value_write_canonical(const ColumnVector *c, int64_t row, Buf *out);
/* Canonical text of one scalar value for business keys (strings raw, numbers and dates in
 * ROW_FORMAT text without quotes, NULL -> ""). */
void gold_value_text(const ColumnVector *c, int64_t row, Buf *out);

#endif /* DIP_GOLD_H */
