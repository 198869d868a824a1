/*
 * row.c: per-row gold values: hk (a silver value, or the Data Vault 2.0 hash key of the
 * business keys) and hdiff (hash of the canonical JSON of the payload). Both are documented
 * in gold.h and docs/sync-pg.md ("hk and hdiff"); changing either changes every stored hash,
 * so the rules here are part of dip's contract with existing gold tables.
 */
#include "gold/gold.h"

#include <string.h>

#define DV2_DELIMITER "||"

void gold_value_text(const ColumnVector *c, int64_t row, Buf *out)
{
    if (!col_is_valid(c, row))
        return;
    switch (c->type->id) {
    case DT_STRING:
    case DT_ENUM:
    case DT_JSON:
        buf_append(out, c->data + c->offsets[row],
                   (size_t)(c->offsets[row + 1] - c->offsets[row]));
        return;
    default: break;
    }
    /* numbers, dates, decimals, base64 binary: ROW_FORMAT text without JSON quotes */
    size_t start = out->len;
    JsonWriter w;
    json_init(&w, out);
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
            return dip_error_set(err, DIP_ERR_DATA, "hk column '%s' is %s",
                                 p->model->hk_columns[0],
                                 col_is_valid(c, row) ? "empty" : "null");
        return true;
    }
    buf_clear(scratch);
    for (int k = 0; k < p->n_hk; k++) {
        if (k > 0)
            buf_append_str(scratch, DV2_DELIMITER);
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
            if (ch >= 'a' && ch <= 'z')
                scratch->data[i] = (uint8_t)(ch - 32);
        }
    }
    uint8_t h[32];
    char hex[65];
    dip_sha256(scratch->data ? scratch->data : (const uint8_t *)"", scratch->len, h);
    dip_hex(h, 32, hex);
    buf_append(out, hex, 64);
    return true;
}

void gold_row_hdiff(const GoldPlan *p, const ColumnBatch *b, int64_t row, Buf *scratch,
                    char out[65])
{
    buf_clear(scratch);
    JsonWriter w;
    json_init(&w, scratch);
    json_arr_begin(&w);
    for (int i = 0; i < p->ncols; i++)
        if (p->cols[i].in_hdiff)
            column_value_write_json(&w, &b->cols[p->cols[i].bi], row);
    json_arr_end(&w);
    uint8_t h[32];
    dip_sha256(scratch->data, scratch->len, h);
    dip_hex(h, 32, out);
}
