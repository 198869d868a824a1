/*
 * row.c: per-row gold values: hk (a silver value, or the Data Vault 2.0 hash key of the
 * business keys) and hdiff (hash of the canonical JSON of the payload). Both are documented
 * in gold.h and docs/sync-pg.md ("hk and hdiff"); changing either changes every stored hash,
 * so the rules here are part of dip's contract with existing gold tables.
 */
#include "gold/gold.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#define DV2_DELIMITER "||"

/* SHA-256 for two hashes per row: EVP_Digest() with EVP_sha256() looks the algorithm up
 * under a lock on every call (OpenSSL 3), a measurable share of the decoder thread, so the
 * algorithm is fetched once and each thread keeps its own context. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static pthread_key_t sha256_key; /* per-thread EVP_MD_CTX, freed when the thread ends */

static void sha256_ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (pthread_key_create(&sha256_key, sha256_ctx_free) != 0) {
        EVP_MD_free(sha256_md);
        sha256_md = NULL;
    }
}

static void row_sha256(const void *p, size_t n, uint8_t out[32])
{
    pthread_once(&sha256_once, sha256_fetch);
    EVP_MD_CTX *ctx = sha256_md ? pthread_getspecific(sha256_key) : NULL;
    if (sha256_md && ctx == NULL && (ctx = EVP_MD_CTX_new()) != NULL &&
        pthread_setspecific(sha256_key, ctx) != 0) {
        EVP_MD_CTX_free(ctx);
        ctx = NULL;
    }
    unsigned int len = 32;
    if (ctx == NULL || !EVP_DigestInit_ex2(ctx, sha256_md, NULL) || !EVP_DigestUpdate(ctx, p, n) ||
        !EVP_DigestFinal_ex(ctx, out, &len))
        dip_sha256(p, n, out); /* the slow path still gives the same digest */
}

void gold_value_text(const ColumnVector *c, int64_t row, Buf *out)
{
    if (!col_is_valid(c, row)) return;
    switch (c->type->id) {
    case DT_STRING:
    case DT_ENUM:
    case DT_JSON:
        buf_append(out, c->data + c->offsets[row], (size_t)(c->offsets[row + 1] - c->offsets[row]));
        return;
    default:
        break;
    }
    /* numbers, dates, decimals, base64 binary: ROW_FORMAT text without JSON quotes */
    size_t start = out->len;
    JsonWriter w;
    jw_init(&w, out);
    column_value_write_json(&w, c, row);
    if (out->len - start >= 2 && out->data[start] == '"' && out->data[out->len - 1] == '"') {
        /* these renderings never contain escapes (digits, '-', ':', 'T', base64) */
        memmove(out->data + start, out->data + start + 1, out->len - start - 2);
        out->len -= 2;
        out->data[out->len] = '\0';
    }
}

static bool is_ws(uint8_t ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

bool gold_row_hk(const GoldPlan *p, const ColumnBatch *b, int64_t row, Buf *out, Buf *scratch,
                 DipError *err)
{
    buf_clear(out);
    if (p->model->hk_kind == GOLD_HK_COLUMN) {
        const ColumnVector *c = &b->cols[p->hk_bi[0]];
        gold_value_text(c, row, out);
        if (!col_is_valid(c, row) || out->len == 0)
            return dip_error_set(err, DIP_ERR_DATA, "hk column '%s' is %s", p->model->hk_columns[0],
                                 col_is_valid(c, row) ? "empty" : "null");
        return true;
    }
    buf_clear(scratch);
    for (int k = 0; k < p->n_hk; k++) {
        if (k > 0) buf_append_str(scratch, DV2_DELIMITER);
        size_t start = scratch->len;
        gold_value_text(&b->cols[p->hk_bi[k]], row, scratch);
        /* trim, then upper-case ASCII in place */
        size_t s = start, e = scratch->len;
        while (s < e && is_ws(scratch->data[s]))
            s++;
        while (e > s && is_ws(scratch->data[e - 1]))
            e--;
        memmove(scratch->data + start, scratch->data + s, e - s);
        scratch->len = start + (e - s);
        for (size_t i = start; i < scratch->len; i++) {
            uint8_t ch = scratch->data[i];
            if (ch >= 'a' && ch <= 'z') scratch->data[i] = (uint8_t)(ch - 32);
        }
    }
    uint8_t h[32];
    char hex[65];
    row_sha256(scratch->data ? scratch->data : (const uint8_t *)"", scratch->len, h);
    dip_hex(h, 32, hex);
    buf_append(out, hex, 64);
    return true;
}

/* Digits of v (>= 0) right-aligned in out[0..w), zero-padded. */
static void put_digits(char *out, int w, int64_t v)
{
    for (int i = w - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

static void put_int(Buf *b, int64_t v)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) tmp[sizeof tmp - 1 - n++] = '-';
    buf_append(b, tmp + sizeof tmp - n, (size_t)n);
}

/* "YYYY-MM-DD" into out[0..10) for years 1..9999; false otherwise (the caller falls back). */
static bool put_date(char *out, int64_t days)
{
    int64_t y;
    unsigned m, d;
    dip_civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999) return false;
    put_digits(out, 4, y);
    out[4] = '-';
    put_digits(out + 5, 2, m);
    out[7] = '-';
    put_digits(out + 8, 2, d);
    return true;
}

/* One value in the canonical row format (ROW_FORMAT.md), as column_value_write_json writes
 * it, without printf for the common scalars: hdiff is computed for every row, and the
 * formatting was the decoder thread's largest cost. tests/gold checks both agree. */
static void write_canonical(Buf *b, const ColumnVector *c, int64_t row)
{
    if (!col_is_valid(c, row)) {
        buf_append(b, "null", 4);
        return;
    }
    const DipType *t = c->type;
    switch (t->id) {
    case DT_BOOL:
        if (((const uint8_t *)c->values)[row])
            buf_append(b, "true", 4);
        else
            buf_append(b, "false", 5);
        return;
    case DT_INT8:
        put_int(b, ((const int8_t *)c->values)[row]);
        return;
    case DT_INT16:
        put_int(b, ((const int16_t *)c->values)[row]);
        return;
    case DT_INT32:
        put_int(b, ((const int32_t *)c->values)[row]);
        return;
    case DT_INT64:
        put_int(b, ((const int64_t *)c->values)[row]);
        return;
    case DT_UINT8:
        put_int(b, ((const uint8_t *)c->values)[row]);
        return;
    case DT_UINT16:
        put_int(b, ((const uint16_t *)c->values)[row]);
        return;
    case DT_UINT32:
        put_int(b, ((const uint32_t *)c->values)[row]);
        return;
    case DT_STRING:
    case DT_ENUM:
    case DT_JSON:
        buf_append_byte(b, '"');
        jw_escape_into(b, (const char *)c->data + c->offsets[row],
                       (size_t)(c->offsets[row + 1] - c->offsets[row]));
        buf_append_byte(b, '"');
        return;
    case DT_DECIMAL: {
        __int128 v;
        char tmp[48];
        memcpy(&v, (const uint8_t *)c->values + 16 * row, 16);
        dip_format_decimal(v, t->scale, tmp);
        buf_append_byte(b, '"');
        buf_append_str(b, tmp);
        buf_append_byte(b, '"');
        return;
    }
    case DT_DATE: {
        char tmp[12];
        tmp[0] = '"';
        if (put_date(tmp + 1, ((const int32_t *)c->values)[row])) {
            tmp[11] = '"';
            buf_append(b, tmp, 12);
            return;
        }
        break;
    }
    case DT_TIMESTAMP: {
        if (t->unit == TU_NANOS) break;
        int64_t v = ((const int64_t *)c->values)[row];
        if (t->unit == TU_MILLIS && (v > INT64_MAX / 1000 || v < INT64_MIN / 1000)) break;
        int64_t us = t->unit == TU_MILLIS ? v * 1000 : v;
        int64_t secs = us / 1000000, frac = us % 1000000;
        if (frac < 0) {
            frac += 1000000;
            secs--;
        }
        int64_t days = secs / 86400, sod = secs % 86400;
        if (sod < 0) {
            sod += 86400;
            days--;
        }
        char tmp[32];
        tmp[0] = '"';
        if (!put_date(tmp + 1, days)) break;
        tmp[11] = 'T';
        put_digits(tmp + 12, 2, sod / 3600);
        tmp[14] = ':';
        put_digits(tmp + 15, 2, sod / 60 % 60);
        tmp[17] = ':';
        put_digits(tmp + 18, 2, sod % 60);
        tmp[20] = '.';
        put_digits(tmp + 21, 6, frac);
        size_t n = 27;
        if (t->utc) tmp[n++] = 'Z';
        tmp[n++] = '"';
        buf_append(b, tmp, n);
        return;
    }
    default:
        break;
    }
    JsonWriter w;
    jw_init(&w, b); /* depth 0: no comma, the value only */
    column_value_write_json(&w, c, row);
}

void gold_value_write_canonical(const ColumnVector *c, int64_t row, Buf *out)
{
    write_canonical(out, c, row);
}

void gold_row_hdiff(const GoldPlan *p, const ColumnBatch *b, int64_t row, Buf *scratch,
                    char out[65])
{
    buf_clear(scratch);
    buf_append_byte(scratch, '[');
    bool first = true;
    for (int i = 0; i < p->ncols; i++) {
        if (!p->cols[i].in_hdiff) continue;
        if (!first) buf_append_byte(scratch, ',');
        first = false;
        write_canonical(scratch, &b->cols[p->cols[i].bi], row);
    }
    buf_append_byte(scratch, ']');
    uint8_t h[32];
    row_sha256(scratch->data, scratch->len, h);
    dip_hex(h, 32, out);
}
