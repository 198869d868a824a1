/*
 * encodings.c: value encodings of parquet-format Encodings.md: PLAIN (0), dictionary
 * indices (PLAIN_DICTIONARY 2 / RLE_DICTIONARY 8), RLE booleans (3), DELTA_BINARY_PACKED
 * (5), DELTA_LENGTH_BYTE_ARRAY (6), DELTA_BYTE_ARRAY (7) and BYTE_STREAM_SPLIT (9).
 *
 * Values land directly in their target representation (PqConv): fixed-width PLAIN that
 * needs no conversion is one memcpy, conversions are one tight loop per physical/target
 * pair chosen outside the loop, dictionary pages are decoded once into the target
 * representation and data pages gather from them by index. Nothing here allocates per value.
 */
#include "parquet/pq_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_SLACK 32

/* Copies a short value with one fixed-size move when both sides have room past its end
 * (a libc call per 20-byte string costs more than the copy); the caller guarantees dst
 * has VALUE_SLACK spare bytes and says whether src may be over-read by that much. */
static inline void copy_value(uint8_t *dst, const uint8_t *src, size_t l, bool src_slack)
{
    if (src_slack && l <= 16)
        memcpy(dst, src, 16);
    else if (src_slack && l <= 32)
        memcpy(dst, src, 32);
    else
        memcpy(dst, src, l);
}

size_t pq_limit_chunk_bytes = (size_t)2 << 30;  /* 2 GiB of variable-length bytes */
size_t pq_limit_page_bytes = (size_t)1 << 30;   /* 1 GiB per uncompressed page */
size_t pq_limit_chunk_values = (size_t)1 << 28; /* level entries per column chunk */

void *pq_grow(void **p, size_t *cap, size_t need)
{
    if (need > *cap) {
        size_t c = *cap ? *cap : 64;
        while (c < need)
            c = c > SIZE_MAX / 2 ? need : c * 2;
        *p = dip_realloc(*p, c);
        *cap = c;
    }
    return *p;
}

void pq_values_free(PqValues *v)
{
    free(v->fixed);
    free(v->offsets);
    free(v->data);
    memset(v, 0, sizeof *v);
}

void pq_values_reset(PqValues *v)
{
    v->n = 0;
    v->data_len = 0;
    if (v->offsets) v->offsets[0] = 0;
}

void pq_scratch_free(PqScratch *s)
{
    free(s->chunk);
    free(s->page);
    free(s->idx);
    free(s->tmp);
    free(s->tmpb);
    memset(s, 0, sizeof *s);
}

bool pq_values_reserve(PqValues *v, const PqLeaf *lf, int64_t more, size_t more_data, DipError *err)
{
    size_t need = (size_t)(v->n + more);
    if (lf->width) {
        pq_grow((void **)&v->fixed, &v->fixed_cap, need * (size_t)lf->width + 16);
    } else {
        size_t cap_bytes = v->offsets_cap * sizeof(int64_t);
        pq_grow((void **)&v->offsets, &cap_bytes, (need + 1) * sizeof(int64_t));
        v->offsets_cap = cap_bytes / sizeof(int64_t);
        if (v->n == 0) v->offsets[0] = 0;
        size_t dn;
        if (!dip_add_ok(v->data_len, more_data, &dn) || dn > pq_limit_chunk_bytes)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "decoded variable-length data exceeds %zu bytes in one chunk",
                                 pq_limit_chunk_bytes);
        /* VALUE_SLACK spare bytes let short values be copied with fixed-size moves */
        pq_grow((void **)&v->data, &v->data_cap, dn + VALUE_SLACK);
    }
    return true;
}

/* ------------------------------------------------------------ conversions */

static __int128 be_to_i128(const uint8_t *p, size_t n)
{
    if (n == 0) return 0;
    /* sign-extend from the first byte; bytes beyond 16 must be sign extension (checked by
     * the caller) so only the last 16 matter */
    if (n > 16) {
        p += n - 16;
        n = 16;
    }
    unsigned __int128 v = (p[0] & 0x80) ? ~(unsigned __int128)0 : 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return (__int128)v;
}

static bool dec_bytes_ok(const uint8_t *p, size_t n)
{
    if (n <= 16) return true;
    uint8_t sign = (p[n - 16] & 0x80) ? 0xff : 0x00;
    for (size_t i = 0; i < n - 16; i++)
        if (p[i] != sign) return false;
    return true;
}

static float half_to_float(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v;
    if (e == 0)
        v = ldexpf((float)m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexpf((float)(m | 0x400), e - 25);
    return s ? -v : v;
}

int pq_phys_width(const PqLeaf *lf)
{
    switch (lf->phys) {
    case PQT_INT32:
    case PQT_FLOAT:
        return 4;
    case PQT_INT64:
    case PQT_DOUBLE:
        return 8;
    case PQT_INT96:
        return 12;
    case PQT_FIXED_LEN_BYTE_ARRAY:
        return lf->type_length;
    default:
        return 0;
    }
}

/* Converts n fixed-width physical values at src into the target at dst. */
static void convert_fixed(const PqLeaf *lf, const uint8_t *src, int64_t n, uint8_t *dst)
{
    switch (lf->conv) {
    case PQV_I32:
    case PQV_F32:
    case PQV_I64:
    case PQV_F64:
        memcpy(dst, src, (size_t)n * (size_t)lf->width);
        break;
    case PQV_I32_TO_I8:
        for (int64_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, src + 4 * i, 4);
            dst[i] = (uint8_t)v;
        }
        break;
    case PQV_I32_TO_I16:
        for (int64_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, src + 4 * i, 4);
            uint16_t w = (uint16_t)v;
            memcpy(dst + 2 * i, &w, 2);
        }
        break;
    case PQV_I32_TO_I64:
        for (int64_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, src + 4 * i, 4);
            int64_t w = v;
            memcpy(dst + 8 * i, &w, 8);
        }
        break;
    case PQV_I32_TO_DEC:
        for (int64_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, src + 4 * i, 4);
            __int128 w = v;
            memcpy(dst + 16 * i, &w, 16);
        }
        break;
    case PQV_I64_TO_DEC:
        for (int64_t i = 0; i < n; i++) {
            int64_t v;
            memcpy(&v, src + 8 * i, 8);
            __int128 w = v;
            memcpy(dst + 16 * i, &w, 16);
        }
        break;
    case PQV_INT96_TO_NS:
        /* nanoseconds of the day, then the Julian day number; 2440588 is 1970-01-01 */
        for (int64_t i = 0; i < n; i++) {
            uint64_t nanos;
            int32_t jd;
            memcpy(&nanos, src + 12 * i, 8);
            memcpy(&jd, src + 12 * i + 8, 4);
            uint64_t v = (uint64_t)((int64_t)jd - 2440588) * 86400000000000ull + nanos;
            memcpy(dst + 8 * i, &v, 8);
        }
        break;
    case PQV_F16_TO_F32:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(src[2 * i] | src[2 * i + 1] << 8);
            float f = half_to_float(h);
            memcpy(dst + 4 * i, &f, 4);
        }
        break;
    case PQV_BYTES_TO_DEC: {
        size_t w = (size_t)lf->type_length;
        for (int64_t i = 0; i < n; i++) {
            __int128 v = be_to_i128(src + w * (size_t)i, w);
            memcpy(dst + 16 * i, &v, 16);
        }
        break;
    }
    default:
        break;
    }
}

/* ------------------------------------------------------------ PLAIN */

bool pq_decode_plain(const PqLeaf *lf, const uint8_t *p, size_t len, int64_t n, PqValues *out,
                     size_t *used, DipError *err)
{
    if (n == 0) {
        *used = 0;
        return true;
    }
    if (lf->phys == PQT_BOOLEAN) {
        if ((size_t)((n + 7) / 8) > len)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "PLAIN booleans: %lld values need %lld "
                                 "bytes, page has %zu",
                                 (long long)n, (long long)((n + 7) / 8), len);
        if (!pq_values_reserve(out, lf, n, 0, err)) return false;
        uint8_t *d = out->fixed + out->n;
        for (int64_t i = 0; i < n; i++)
            d[i] = (p[i >> 3] >> (i & 7)) & 1;
        out->n += n;
        *used = (size_t)((n + 7) / 8);
        return true;
    }
    if (lf->phys == PQT_BYTE_ARRAY && lf->conv == PQV_BYTES) {
        /* one pass: the values' bytes cannot exceed the page, so reserve that much once */
        if (!pq_values_reserve(out, lf, n, len, err)) return false;
        const uint8_t *q = p, *end = p + len;
        int64_t *off = out->offsets + out->n;
        uint8_t *data = out->data;
        int64_t pos = (int64_t)out->data_len;
        for (int64_t i = 0; i < n; i++) {
            uint32_t l;
            if (end - q < 4)
                return dip_error_set(err, DIP_ERR_DATA,
                                     "PLAIN byte array %lld of %lld: "
                                     "truncated length",
                                     (long long)i, (long long)n);
            memcpy(&l, q, 4);
            q += 4;
            if (l > (size_t)(end - q))
                return dip_error_set(err, DIP_ERR_DATA,
                                     "PLAIN byte array %lld: length %u runs "
                                     "past the page end",
                                     (long long)i, l);
            copy_value(data + pos, q, l, end - q >= 32);
            q += l;
            pos += l;
            off[i + 1] = pos;
        }
        out->data_len = (size_t)pos;
        out->n += n;
        *used = (size_t)(q - p);
        return true;
    }
    if (lf->phys == PQT_BYTE_ARRAY) { /* decimals stored as byte arrays */
        const uint8_t *q = p, *end = p + len;
        if (!pq_values_reserve(out, lf, n, 0, err)) return false;
        uint8_t *d = out->fixed + 16 * out->n;
        for (int64_t i = 0; i < n; i++) {
            uint32_t l;
            if (end - q < 4)
                return dip_error_set(err, DIP_ERR_DATA,
                                     "PLAIN byte array %lld of %lld: "
                                     "truncated length",
                                     (long long)i, (long long)n);
            memcpy(&l, q, 4);
            q += 4;
            if (l > (size_t)(end - q))
                return dip_error_set(err, DIP_ERR_DATA,
                                     "PLAIN byte array %lld: length %u runs "
                                     "past the page end",
                                     (long long)i, l);
            if (!dec_bytes_ok(q, l))
                return dip_error_set(err, DIP_ERR_DATA, "decimal value wider than 128 bits");
            __int128 v = be_to_i128(q, l);
            memcpy(d + 16 * i, &v, 16);
            q += l;
        }
        out->n += n;
        *used = (size_t)(q - p);
        return true;
    }
    int w = pq_phys_width(lf);
    size_t need;
    if (w <= 0 || !dip_mul_ok((size_t)n, (size_t)w, &need) || need > len)
        return dip_error_set(err, DIP_ERR_DATA,
                             "PLAIN %s: %lld values need %lld bytes, page "
                             "has %zu",
                             pq_type_name(lf->phys), (long long)n, (long long)n * (long long)w,
                             len);
    *used = need;
    if (lf->conv == PQV_BYTES) { /* fixed_len_byte_array to offsets + data */
        if (!pq_values_reserve(out, lf, n, need, err)) return false;
        memcpy(out->data + out->data_len, p, need);
        int64_t *off = out->offsets + out->n;
        int64_t base = (int64_t)out->data_len;
        for (int64_t i = 0; i < n; i++)
            off[i + 1] = base + (int64_t)w * (i + 1);
        out->data_len += need;
        out->n += n;
        return true;
    }
    if (lf->conv == PQV_BYTES_TO_DEC && !dec_bytes_ok(p, (size_t)w)) {
        for (int64_t i = 0; i < n; i++)
            if (!dec_bytes_ok(p + (size_t)w * (size_t)i, (size_t)w))
                return dip_error_set(err, DIP_ERR_DATA, "decimal value wider than 128 bits");
    }
    if (!pq_values_reserve(out, lf, n, 0, err)) return false;
    convert_fixed(lf, p, n, out->fixed + (size_t)out->n * (size_t)lf->width);
    out->n += n;
    return true;
}

/* ------------------------------------------------------------ dictionary ids */

bool pq_decode_dict_ids(const PqLeaf *lf, const uint8_t *p, size_t len, int64_t n,
                        const PqValues *dict, PqValues *out, PqScratch *s, DipError *err)
{
    if (n == 0) return true;
    if (len < 1)
        return dip_error_set(err, DIP_ERR_DATA, "dictionary-encoded page has no bit width");
    int bw = p[0];
    if (bw > 32) return dip_error_set(err, DIP_ERR_DATA, "dictionary index bit width %d > 32", bw);
    RleDecoder d;
    rle_init(&d, p + 1, len - 1, bw);
    return pq_decode_dict_rle(lf, &d, n, dict, out, s, err);
}

bool pq_decode_dict_rle(const PqLeaf *lf, RleDecoder *d, int64_t n, const PqValues *dict,
                        PqValues *out, PqScratch *s, DipError *err)
{
    if (n == 0) return true;
    pq_grow((void **)&s->idx, &s->idx_cap, (size_t)n * 4);
    if (!rle_get_u32(d, s->idx, n, err)) return false;
    const uint32_t *ix = s->idx;
    uint32_t dn = (uint32_t)dict->n;
    uint32_t maxi = 0;
    for (int64_t i = 0; i < n; i++)
        maxi = ix[i] > maxi ? ix[i] : maxi;
    if (maxi >= dn || dict->n == 0)
        return dip_error_set(err, DIP_ERR_DATA,
                             "dictionary index %u out of range (dictionary "
                             "has %lld entries)",
                             maxi, (long long)dict->n);
    if (lf->width) {
        if (!pq_values_reserve(out, lf, n, 0, err)) return false;
        uint8_t *dst = out->fixed + (size_t)out->n * (size_t)lf->width;
        switch (lf->width) {
        case 1:
            for (int64_t i = 0; i < n; i++)
                dst[i] = dict->fixed[ix[i]];
            break;
        case 2: {
            const uint16_t *dv = (const uint16_t *)dict->fixed;
            uint16_t *o = (uint16_t *)dst;
            for (int64_t i = 0; i < n; i++)
                o[i] = dv[ix[i]];
            break;
        }
        case 4: {
            const uint32_t *dv = (const uint32_t *)dict->fixed;
            uint32_t *o = (uint32_t *)dst;
            for (int64_t i = 0; i < n; i++)
                o[i] = dv[ix[i]];
            break;
        }
        case 8: {
            const uint64_t *dv = (const uint64_t *)dict->fixed;
            uint64_t *o = (uint64_t *)dst;
            for (int64_t i = 0; i < n; i++)
                o[i] = dv[ix[i]];
            break;
        }
        default:
            for (int64_t i = 0; i < n; i++)
                memcpy(dst + 16 * i, dict->fixed + 16 * (size_t)ix[i], 16);
        }
        out->n += n;
        return true;
    }
    /* variable length: size first so the data buffer grows once */
    size_t total = 0;
    const int64_t *doff = dict->offsets;
    for (int64_t i = 0; i < n; i++)
        total += (size_t)(doff[ix[i] + 1] - doff[ix[i]]);
    if (!pq_values_reserve(out, lf, n, total, err)) return false;
    int64_t *off = out->offsets + out->n;
    uint8_t *data = out->data;
    int64_t pos = (int64_t)out->data_len;
    for (int64_t i = 0; i < n; i++) {
        int64_t a = doff[ix[i]], l = doff[ix[i] + 1] - a;
        /* the dictionary's own buffer has VALUE_SLACK spare bytes too */
        copy_value(data + pos, dict->data + a, (size_t)l, true);
        pos += l;
        off[i + 1] = pos;
    }
    out->data_len = (size_t)pos;
    out->n += n;
    return true;
}

bool pq_decode_bool_rle(const uint8_t *p, size_t len, int64_t n, PqValues *out, DipError *err)
{
    if (n == 0) return true;
    if (len < 4) return dip_error_set(err, DIP_ERR_DATA, "RLE booleans: missing length prefix");
    uint32_t l;
    memcpy(&l, p, 4);
    if (l > len - 4)
        return dip_error_set(err, DIP_ERR_DATA, "RLE booleans: length %u runs past the page", l);
    size_t need = (size_t)(out->n + n) + 16;
    pq_grow((void **)&out->fixed, &out->fixed_cap, need);
    RleDecoder d;
    rle_init(&d, p + 4, l, 1);
    if (!rle_get_u8(&d, out->fixed + out->n, n, err)) return false;
    for (int64_t i = 0; i < n; i++)
        out->fixed[out->n + i] &= 1;
    out->n += n;
    return true;
}

/* ------------------------------------------------------------ DELTA_BINARY_PACKED */

bool pq_delta_decode_i64(const uint8_t *p, size_t len, int64_t n, uint64_t *out, size_t *used,
                         bool is32, DipError *err)
{
    const uint8_t *q = p, *end = p + len;
    uint64_t block, nmini, total, first_z;
    if (!uleb_read(&q, end, &block) || !uleb_read(&q, end, &nmini) || !uleb_read(&q, end, &total) ||
        !uleb_read(&q, end, &first_z))
        return dip_error_set(err, DIP_ERR_DATA, "DELTA_BINARY_PACKED: truncated header");
    if (block == 0 || block % 128 || nmini == 0 || block % nmini || (block / nmini) % 32 ||
        block > (1u << 20))
        return dip_error_set(err, DIP_ERR_DATA,
                             "DELTA_BINARY_PACKED: bad block size %llu / "
                             "%llu miniblocks",
                             (unsigned long long)block, (unsigned long long)nmini);
    if (total < (uint64_t)n)
        return dip_error_set(err, DIP_ERR_DATA,
                             "DELTA_BINARY_PACKED: header holds %llu values, "
                             "page needs %lld",
                             (unsigned long long)total, (long long)n);
    uint64_t per_mini = block / nmini;
    uint64_t v = (first_z >> 1) ^ -(first_z & 1);
    int64_t got = 0;
    if (total > 0 && n > 0) out[got++] = v;
    /* decode exactly the values the header announces, so *used points past the stream */
    uint64_t left = total > 0 ? total - 1 : 0;
    while (left > 0) {
        uint64_t mz;
        if (!uleb_read(&q, end, &mz))
            return dip_error_set(err, DIP_ERR_DATA, "DELTA_BINARY_PACKED: truncated block");
        uint64_t min_delta = (mz >> 1) ^ -(mz & 1);
        if ((uint64_t)(end - q) < nmini)
            return dip_error_set(err, DIP_ERR_DATA, "DELTA_BINARY_PACKED: truncated bit widths");
        const uint8_t *widths = q;
        q += nmini;
        for (uint64_t m = 0; m < nmini && left > 0; m++) {
            int bw = widths[m];
            /* INT32 deltas may need 33 bits (PARQUET-2435: DuckDB writes them); the sum
             * wraps to the physical width below, so any width up to 64 is decodable */
            if (bw > 64)
                return dip_error_set(err, DIP_ERR_DATA, "DELTA_BINARY_PACKED: bit width %d", bw);
            size_t bytes = (size_t)(per_mini * (uint64_t)bw / 8);
            if ((size_t)(end - q) < bytes)
                return dip_error_set(err, DIP_ERR_DATA,
                                     "DELTA_BINARY_PACKED: truncated "
                                     "miniblock");
            uint64_t take = left < per_mini ? left : per_mini;
            int64_t want = got + (int64_t)take <= n ? (int64_t)take : n - got;
            if (want > 0) {
                bit_unpack_u64(q, bytes, bw, out + got, want);
                for (int64_t i = 0; i < want; i++) {
                    v += min_delta + out[got + i];
                    if (is32) v = (uint64_t)(int64_t)(int32_t)(uint32_t)v;
                    out[got + i] = v;
                }
                got += want;
            }
            q += bytes;
            left -= take;
        }
    }
    *used = (size_t)(q - p);
    return true;
}

bool pq_decode_delta_binary(const PqLeaf *lf, const uint8_t *p, size_t len, int64_t n,
                            PqValues *out, PqScratch *s, DipError *err)
{
    if (lf->phys != PQT_INT32 && lf->phys != PQT_INT64)
        return dip_error_set(err, DIP_ERR_DATA, "DELTA_BINARY_PACKED on %s",
                             pq_type_name(lf->phys));
    if (n == 0) return true;
    pq_grow((void **)&s->tmp, &s->tmp_cap, (size_t)n * 8 + 8);
    size_t used;
    if (!pq_delta_decode_i64(p, len, n, s->tmp, &used, lf->phys == PQT_INT32, err)) return false;
    if (!pq_values_reserve(out, lf, n, 0, err)) return false;
    uint8_t *dst = out->fixed + (size_t)out->n * (size_t)lf->width;
    if (lf->phys == PQT_INT64) {
        convert_fixed(lf, (const uint8_t *)s->tmp, n, dst);
    } else {
        /* narrow to int32 in place, then convert */
        int32_t *t32 = (int32_t *)s->tmp;
        for (int64_t i = 0; i < n; i++)
            t32[i] = (int32_t)(uint32_t)s->tmp[i];
        convert_fixed(lf, (const uint8_t *)t32, n, dst);
    }
    out->n += n;
    return true;
}

/* ------------------------------------------------------------ byte arrays */

/* Appends n byte-array values given lengths and a byte stream. */
static bool append_bytes(const PqLeaf *lf, const uint64_t *lens, const uint8_t *data, size_t avail,
                         int64_t n, PqValues *out, DipError *err)
{
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        if (lens[i] > avail - total)
            return dip_error_set(err, DIP_ERR_DATA, "byte array lengths run past the page end");
        total += lens[i];
    }
    if (lf->conv == PQV_BYTES_TO_DEC) {
        if (!pq_values_reserve(out, lf, n, 0, err)) return false;
        size_t pos = 0;
        for (int64_t i = 0; i < n; i++) {
            if (!dec_bytes_ok(data + pos, lens[i]))
                return dip_error_set(err, DIP_ERR_DATA, "decimal value wider than 128 bits");
            __int128 v = be_to_i128(data + pos, lens[i]);
            memcpy(out->fixed + 16 * (size_t)(out->n + i), &v, 16);
            pos += lens[i];
        }
        out->n += n;
        return true;
    }
    if (lf->conv != PQV_BYTES)
        return dip_error_set(err, DIP_ERR_DATA, "byte-array encoding on a non-binary column");
    if (!pq_values_reserve(out, lf, n, total, err)) return false;
    memcpy(out->data + out->data_len, data, total);
    int64_t *off = out->offsets + out->n;
    int64_t pos = (int64_t)out->data_len;
    for (int64_t i = 0; i < n; i++) {
        pos += (int64_t)lens[i];
        off[i + 1] = pos;
    }
    out->data_len += total;
    out->n += n;
    return true;
}

bool pq_decode_delta_length(const PqLeaf *lf, const uint8_t *p, size_t len, int64_t n,
                            PqValues *out, PqScratch *s, DipError *err)
{
    if (lf->phys != PQT_BYTE_ARRAY)
        return dip_error_set(err, DIP_ERR_DATA, "DELTA_LENGTH_BYTE_ARRAY on %s",
                             pq_type_name(lf->phys));
    if (n == 0) return true;
    pq_grow((void **)&s->tmp, &s->tmp_cap, (size_t)n * 8 + 8);
    size_t used;
    if (!pq_delta_decode_i64(p, len, n, s->tmp, &used, true, err)) return false;
    for (int64_t i = 0; i < n; i++)
        if ((int64_t)s->tmp[i] < 0)
            return dip_error_set(err, DIP_ERR_DATA, "DELTA_LENGTH_BYTE_ARRAY: negative length");
    return append_bytes(lf, s->tmp, p + used, len - used, n, out, err);
}

bool pq_decode_delta_byte_array(const PqLeaf *lf, const uint8_t *p, size_t len, int64_t n,
                                PqValues *out, PqScratch *s, DipError *err)
{
    if (lf->phys != PQT_BYTE_ARRAY && lf->phys != PQT_FIXED_LEN_BYTE_ARRAY)
        return dip_error_set(err, DIP_ERR_DATA, "DELTA_BYTE_ARRAY on %s", pq_type_name(lf->phys));
    if (n == 0) return true;
    pq_grow((void **)&s->tmp, &s->tmp_cap, (size_t)n * 16 + 16);
    uint64_t *pre = s->tmp, *suf = s->tmp + n;
    size_t u1, u2;
    if (!pq_delta_decode_i64(p, len, n, pre, &u1, true, err) ||
        !pq_delta_decode_i64(p + u1, len - u1, n, suf, &u2, true, err))
        return false;
    const uint8_t *sd = p + u1 + u2;
    size_t avail = len - u1 - u2;
    /* reconstruct into tmpb: each value is prefix of the previous + suffix */
    size_t total = 0, prev_len = 0, sufpos = 0;
    for (int64_t i = 0; i < n; i++) {
        if ((int64_t)pre[i] < 0 || (int64_t)suf[i] < 0 || pre[i] > prev_len ||
            suf[i] > avail - sufpos)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "DELTA_BYTE_ARRAY: bad prefix/suffix length "
                                 "at value %lld",
                                 (long long)i);
        prev_len = pre[i] + suf[i];
        sufpos += suf[i];
        if (!dip_add_ok(total, prev_len, &total) || total > pq_limit_chunk_bytes)
            return dip_error_set(err, DIP_ERR_DATA, "DELTA_BYTE_ARRAY: values exceed %zu bytes",
                                 pq_limit_chunk_bytes);
    }
    bool direct = lf->conv == PQV_BYTES; /* rebuild straight into the output */
    uint8_t *b;
    if (direct) {
        if (!pq_values_reserve(out, lf, n, total, err)) return false;
        b = out->data + out->data_len;
    } else {
        pq_grow((void **)&s->tmpb, &s->tmpb_cap, total + 1);
        b = s->tmpb;
    }
    size_t pos = 0, prev = 0;
    sufpos = 0;
    for (int64_t i = 0; i < n; i++) {
        size_t pl = pre[i], sl = suf[i];
        /* the previous value ends at or before pos, and pl <= its length: no overlap */
        if (pl) memcpy(b + pos, b + prev, pl);
        memcpy(b + pos + pl, sd + sufpos, sl);
        sufpos += sl;
        prev = pos;
        pos += pl + sl;
        pre[i] = pl + sl; /* becomes the value length */
    }
    if (lf->phys == PQT_FIXED_LEN_BYTE_ARRAY)
        for (int64_t i = 0; i < n; i++)
            if (pre[i] != (uint64_t)lf->type_length)
                return dip_error_set(err, DIP_ERR_DATA,
                                     "DELTA_BYTE_ARRAY: value length %llu "
                                     "!= fixed length %d",
                                     (unsigned long long)pre[i], lf->type_length);
    if (direct) {
        int64_t *off = out->offsets + out->n;
        int64_t at = (int64_t)out->data_len;
        for (int64_t i = 0; i < n; i++) {
            at += (int64_t)pre[i];
            off[i + 1] = at;
        }
        out->data_len += total;
        out->n += n;
        return true;
    }
    if (lf->width && lf->conv != PQV_BYTES_TO_DEC) {
        /* FLBA to a fixed target (float16) */
        if (!pq_values_reserve(out, lf, n, 0, err)) return false;
        convert_fixed(lf, b, n, out->fixed + (size_t)out->n * (size_t)lf->width);
        out->n += n;
        return true;
    }
    return append_bytes(lf, pre, b, total, n, out, err);
}

bool pq_decode_byte_stream_split(const PqLeaf *lf, const uint8_t *p, size_t len, int64_t n,
                                 PqValues *out, PqScratch *s, DipError *err)
{
    int w = pq_phys_width(lf);
    if (lf->phys == PQT_INT96 || w <= 0)
        return dip_error_set(err, DIP_ERR_DATA, "BYTE_STREAM_SPLIT on %s", pq_type_name(lf->phys));
    if (n == 0) return true;
    size_t need;
    if (!dip_mul_ok((size_t)n, (size_t)w, &need) || need > len)
        return dip_error_set(err, DIP_ERR_DATA,
                             "BYTE_STREAM_SPLIT: %lld values need %zu bytes, "
                             "page has %zu",
                             (long long)n, need, len);
    pq_grow((void **)&s->tmpb, &s->tmpb_cap, need + 1);
    uint8_t *b = s->tmpb;
    /* the streams hold byte k of every value; stream length is the value count of the page
     * data, i.e. len / w (writers may not pad, so use n) */
    size_t stride = len / (size_t)w;
    if (stride < (size_t)n) stride = (size_t)n;
    for (int k = 0; k < w; k++) {
        const uint8_t *src = p + (size_t)k * (size_t)n;
        for (int64_t i = 0; i < n; i++)
            b[(size_t)i * (size_t)w + (size_t)k] = src[i];
    }
    (void)stride;
    size_t used;
    return pq_decode_plain(lf, b, need, n, out, &used, err);
}
