/*
 * column.c: column batch helpers and the canonical row format of ../shared/ROW_FORMAT.md
 * (one JSON object per row; decimals as exact strings, timestamps with 6 or 9 fraction
 * digits, binary as base64, maps as key/value object arrays).
 */
#include "core/column.h"

#include <stdio.h>
#include <string.h>

size_t dip_type_value_width(DipTypeId id)
{
    switch (id) {
    case DT_BOOL:
    case DT_INT8:
    case DT_UINT8:
        return 1;
    case DT_INT16:
    case DT_UINT16:
        return 2;
    case DT_INT32:
    case DT_UINT32:
    case DT_FLOAT:
    case DT_DATE:
        return 4;
    case DT_INT64:
    case DT_UINT64:
    case DT_DOUBLE:
    case DT_TIME:
    case DT_TIMESTAMP:
        return 8;
    case DT_DECIMAL:
        return 16;
    default:
        return 0;
    }
}

bool dip_type_is_varlen(DipTypeId id)
{
    switch (id) {
    case DT_STRING:
    case DT_BINARY:
    case DT_FIXED:
    case DT_UUID:
    case DT_JSON:
    case DT_ENUM:
        return true;
    default:
        return false;
    }
}

const char *dip_type_name(DipTypeId id)
{
    static const char *names[] = {
        [DT_NULL] = "null",       [DT_BOOL] = "boolean",
        [DT_INT8] = "int8",       [DT_INT16] = "int16",
        [DT_INT32] = "int32",     [DT_INT64] = "int64",
        [DT_UINT8] = "uint8",     [DT_UINT16] = "uint16",
        [DT_UINT32] = "uint32",   [DT_UINT64] = "uint64",
        [DT_FLOAT] = "float",     [DT_DOUBLE] = "double",
        [DT_DECIMAL] = "decimal", [DT_STRING] = "string",
        [DT_BINARY] = "binary",   [DT_FIXED] = "fixed",
        [DT_UUID] = "uuid",       [DT_JSON] = "json",
        [DT_ENUM] = "enum",       [DT_DATE] = "date",
        [DT_TIME] = "time",       [DT_TIMESTAMP] = "timestamp",
        [DT_STRUCT] = "struct",   [DT_LIST] = "list",
        [DT_MAP] = "map",
    };
    return (unsigned)id < DIP_ARRAY_LEN(names) && names[id] ? names[id] : "?";
}

void dip_type_format(const DipType *t, Buf *out)
{
    static const char *units[] = {"ms", "us", "ns"};
    switch (t->id) {
    case DT_DECIMAL:
        buf_printf(out, "decimal(%d,%d)", t->precision, t->scale);
        break;
    case DT_FIXED:
        buf_printf(out, "fixed(%d)", t->width);
        break;
    case DT_TIMESTAMP:
        buf_printf(out, "timestamp(%s%s)", units[t->unit], t->utc ? ", utc" : "");
        break;
    case DT_TIME:
        buf_printf(out, "time(%s)", units[t->unit]);
        break;
    case DT_STRUCT:
        buf_append_str(out, "struct<");
        for (int i = 0; i < t->nchildren; i++) {
            if (i) buf_append_byte(out, ',');
            buf_printf(out, "%s:", t->children[i].name);
            dip_type_format(&t->children[i].type, out);
        }
        buf_append_byte(out, '>');
        break;
    case DT_LIST:
        buf_append_str(out, "list<");
        if (t->nchildren > 0) dip_type_format(&t->children[0].type, out);
        buf_append_byte(out, '>');
        break;
    case DT_MAP:
        buf_append_str(out, "map<");
        if (t->nchildren > 1) {
            dip_type_format(&t->children[0].type, out);
            buf_append_byte(out, ',');
            dip_type_format(&t->children[1].type, out);
        }
        buf_append_byte(out, '>');
        break;
    default:
        buf_append_str(out, dip_type_name(t->id));
    }
}

void dip_field_copy(Arena *a, DipField *dst, const DipField *src)
{
    *dst = *src;
    dst->name = arena_strdup(a, src->name ? src->name : "");
    if (src->type.nchildren > 0) {
        dst->type.children = arena_calloc(a, (size_t)src->type.nchildren, sizeof(DipField));
        for (int i = 0; i < src->type.nchildren; i++)
            dip_field_copy(a, &dst->type.children[i], &src->type.children[i]);
    } else {
        dst->type.children = NULL;
    }
}

DipSchema *dip_schema_copy(Arena *a, const DipSchema *src)
{
    DipSchema *s = arena_calloc(a, 1, sizeof *s);
    s->nfields = src->nfields;
    s->fields = arena_calloc(a, (size_t)(src->nfields > 0 ? src->nfields : 1), sizeof(DipField));
    for (int i = 0; i < src->nfields; i++)
        dip_field_copy(a, &s->fields[i], &src->fields[i]);
    return s;
}

void dip_schema_names(const DipSchema *s, Buf *out)
{
    for (int k = 0; k < s->nfields; k++) {
        if (k == 40) {
            buf_printf(out, ", ... (%d in all)", s->nfields);
            return;
        }
        buf_printf(out, "%s%s", k ? ", " : "", s->fields[k].name);
    }
}

int dip_schema_find(const DipSchema *s, const char *name)
{
    for (int i = 0; i < s->nfields; i++)
        if (strcmp(s->fields[i].name, name) == 0) return i;
    return -1;
}

void column_batch_init(ColumnBatch *b)
{
    memset(b, 0, sizeof *b);
    arena_init(&b->arena, 256 * 1024);
}

void column_batch_free(ColumnBatch *b)
{
    arena_free(&b->arena);
    memset(b, 0, sizeof *b);
}

/* Howard Hinnant's civil-from-days algorithms (public domain description). */
int64_t dip_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void dip_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
    return q;
}

void dip_format_date(int32_t days, char out[16])
{
    int64_t y;
    unsigned m, d;
    dip_civil_from_days(days, &y, &m, &d);
    if (y >= 0 && y <= 9999)
        snprintf(out, 16, "%04lld-%02u-%02u", (long long)y, m, d);
    else
        snprintf(out, 16, "%+05lld-%02u-%02u", (long long)y, m, d);
}

void dip_format_timestamp(int64_t v, DipTimeUnit unit, bool utc, char out[48])
{
    int64_t per_s = unit == TU_MILLIS ? 1000 : unit == TU_MICROS ? 1000000 : 1000000000;
    int64_t secs = floor_div(v, per_s);
    int64_t frac = v - secs * per_s;
    int64_t days = floor_div(secs, 86400);
    int64_t sod = secs - days * 86400;
    char date[16];
    dip_format_date((int32_t)days, date);
    int h = (int)(sod / 3600), mi = (int)(sod / 60 % 60), s = (int)(sod % 60);
    if (unit == TU_NANOS)
        snprintf(out, 48, "%sT%02d:%02d:%02d.%09lld%s", date, h, mi, s, (long long)frac,
                 utc ? "Z" : "");
    else
        snprintf(out, 48, "%sT%02d:%02d:%02d.%06lld%s", date, h, mi, s,
                 (long long)(unit == TU_MILLIS ? frac * 1000 : frac), utc ? "Z" : "");
}

void dip_format_time(int64_t v, DipTimeUnit unit, char out[32])
{
    int64_t per_s = unit == TU_MILLIS ? 1000 : unit == TU_MICROS ? 1000000 : 1000000000;
    int64_t secs = floor_div(v, per_s);
    int64_t frac = v - secs * per_s;
    int h = (int)(secs / 3600), mi = (int)(secs / 60 % 60), s = (int)(secs % 60);
    if (unit == TU_NANOS)
        snprintf(out, 32, "%02d:%02d:%02d.%09lld", h, mi, s, (long long)frac);
    else
        snprintf(out, 32, "%02d:%02d:%02d.%06lld", h, mi, s,
                 (long long)(unit == TU_MILLIS ? frac * 1000 : frac));
}

void dip_format_decimal(__int128 unscaled, int scale, char out[48])
{
    char digits[48];
    int n = 0;
    bool neg = unscaled < 0;
    unsigned __int128 u =
        neg ? (unsigned __int128)(-(unscaled + 1)) + 1 : (unsigned __int128)unscaled;
    do {
        digits[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u != 0 && n < 45);
    while (n <= scale && n < 45)
        digits[n++] = '0';
    int o = 0;
    if (neg) out[o++] = '-';
    for (int i = n - 1; i >= 0; i--) {
        out[o++] = digits[i];
        if (i == scale && scale > 0) out[o++] = '.';
    }
    out[o] = '\0';
}

void dip_format_uuid(const uint8_t b[16], char out[40])
{
    static const char hx[] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hx[b[i] >> 4];
        out[o++] = hx[b[i] & 15];
    }
    out[o] = '\0';
}

void dip_base64(const uint8_t *p, size_t n, Buf *out)
{
    static const char tb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    buf_reserve(out, (n + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        char q[4] = {tb[v >> 18], tb[(v >> 12) & 63], tb[(v >> 6) & 63], tb[v & 63]};
        buf_append(out, q, 4);
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        char q[4] = {tb[v >> 18], tb[(v >> 12) & 63], i + 1 < n ? tb[(v >> 6) & 63] : '=', '='};
        buf_append(out, q, 4);
    }
}

bool column_value_int64(const ColumnVector *c, int64_t row, int64_t *out)
{
    switch (c->type->id) {
    case DT_INT8:
        *out = ((const int8_t *)c->values)[row];
        return true;
    case DT_INT16:
        *out = ((const int16_t *)c->values)[row];
        return true;
    case DT_INT32:
        *out = ((const int32_t *)c->values)[row];
        return true;
    case DT_INT64:
        *out = ((const int64_t *)c->values)[row];
        return true;
    case DT_UINT8:
        *out = ((const uint8_t *)c->values)[row];
        return true;
    case DT_UINT16:
        *out = ((const uint16_t *)c->values)[row];
        return true;
    case DT_UINT32:
        *out = ((const uint32_t *)c->values)[row];
        return true;
    default:
        return false;
    }
}

void column_value_write_json(JsonWriter *w, const ColumnVector *c, int64_t row)
{
    if (!col_is_valid(c, row)) {
        jw_null(w);
        return;
    }
    const DipType *t = c->type;
    char tmp[64];
    switch (t->id) {
    case DT_NULL:
        jw_null(w);
        break;
    case DT_BOOL:
        jw_bool(w, ((const uint8_t *)c->values)[row] != 0);
        break;
    case DT_INT8:
        jw_int(w, ((const int8_t *)c->values)[row]);
        break;
    case DT_INT16:
        jw_int(w, ((const int16_t *)c->values)[row]);
        break;
    case DT_INT32:
        jw_int(w, ((const int32_t *)c->values)[row]);
        break;
    case DT_INT64:
        jw_int(w, ((const int64_t *)c->values)[row]);
        break;
    case DT_UINT8:
        jw_uint(w, ((const uint8_t *)c->values)[row]);
        break;
    case DT_UINT16:
        jw_uint(w, ((const uint16_t *)c->values)[row]);
        break;
    case DT_UINT32:
        jw_uint(w, ((const uint32_t *)c->values)[row]);
        break;
    case DT_UINT64:
        jw_uint(w, ((const uint64_t *)c->values)[row]);
        break;
    case DT_FLOAT:
        jw_float(w, ((const float *)c->values)[row]);
        break;
    case DT_DOUBLE:
        jw_double(w, ((const double *)c->values)[row]);
        break;
    case DT_DECIMAL: {
        __int128 v;
        memcpy(&v, (const uint8_t *)c->values + 16 * row, 16);
        dip_format_decimal(v, t->scale, tmp);
        jw_str(w, tmp);
        break;
    }
    case DT_STRING:
    case DT_JSON:
    case DT_ENUM:
        jw_str_n(w, (const char *)c->data + c->offsets[row],
                 (size_t)(c->offsets[row + 1] - c->offsets[row]));
        break;
    case DT_BINARY:
    case DT_FIXED: {
        Buf b;
        buf_init(&b);
        dip_base64(c->data + c->offsets[row], (size_t)(c->offsets[row + 1] - c->offsets[row]), &b);
        jw_str_n(w, buf_cstr(&b), b.len);
        buf_free(&b);
        break;
    }
    case DT_UUID:
        if (c->offsets[row + 1] - c->offsets[row] == 16) {
            dip_format_uuid(c->data + c->offsets[row], tmp);
            jw_str(w, tmp);
        } else {
            jw_null(w);
        }
        break;
    case DT_DATE:
        dip_format_date(((const int32_t *)c->values)[row], tmp);
        jw_str(w, tmp);
        break;
    case DT_TIME:
        dip_format_time(((const int64_t *)c->values)[row], t->unit, tmp);
        jw_str(w, tmp);
        break;
    case DT_TIMESTAMP:
        dip_format_timestamp(((const int64_t *)c->values)[row], t->unit, t->utc, tmp);
        jw_str(w, tmp);
        break;
    case DT_STRUCT:
        jw_obj_begin(w);
        for (int i = 0; i < t->nchildren; i++) {
            jw_key(w, t->children[i].name);
            column_value_write_json(w, &c->children[i], row);
        }
        jw_obj_end(w);
        break;
    case DT_LIST:
        jw_arr_begin(w);
        for (int64_t e = c->offsets[row]; e < c->offsets[row + 1]; e++)
            column_value_write_json(w, &c->children[0], e);
        jw_arr_end(w);
        break;
    case DT_MAP:
        jw_arr_begin(w);
        for (int64_t e = c->offsets[row]; e < c->offsets[row + 1]; e++) {
            jw_obj_begin(w);
            jw_key(w, "key");
            column_value_write_json(w, &c->children[0], e);
            jw_key(w, "value");
            column_value_write_json(w, &c->children[1], e);
            jw_obj_end(w);
        }
        jw_arr_end(w);
        break;
    }
}

void column_batch_write_row_json(JsonWriter *w, const ColumnBatch *b, int64_t row)
{
    jw_obj_begin(w);
    for (int i = 0; i < b->ncols; i++) {
        jw_key(w, b->schema->fields[i].name);
        column_value_write_json(w, &b->cols[i], row);
    }
    jw_obj_end(w);
}

void dip_format_ts_us(int64_t us, char out[40])
{
    char t[48];
    dip_format_timestamp(us, TU_MICROS, true, t);
    dip_strlcpy(out, t, 40);
}
