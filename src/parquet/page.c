/*
 * page.c: column chunks and their pages (parquet.thrift PageHeader, DataPageHeader,
 * DataPageHeaderV2, DictionaryPageHeader; parquet-format README "Data Pages").
 *
 * A chunk is read whole (one ranged read), its page headers are scanned first so every
 * count is validated and the level/value buffers are sized once, then each page is
 * CRC-checked (CRC-32 of the page body as stored, when the header carries one),
 * decompressed and decoded. v1 pages compress levels and values together and prefix each
 * RLE level run with its 4-byte length; v2 pages store the levels uncompressed, without
 * prefixes, before the (optionally) compressed values.
 *
 * A page may claim many values in few bytes (an RLE run of nulls: old parquet-mr writes a
 * whole all-null column chunk as one page of a few bytes), so counts are bounded by what
 * the metadata can vouch for: in a flat column every value is a row, so the pages together
 * may hold exactly the row group's rows; in a nested column a page holds at most 8 values
 * per uncompressed byte plus the row group's rows plus 2^20. Every chunk is further capped at
 * pq_limit_chunk_values entries, which bounds the level buffers whatever the footer says.
 */
#include "parquet/pq_internal.h"

#include <stdlib.h>
#include <string.h>

#define PAGE_VALUE_ALLOWANCE (1 << 20)

typedef struct PageHdr {
    int type;
    int32_t uncompressed, compressed;
    bool has_crc;
    uint32_t crc;
    int32_t num_values;
    int encoding;
    int def_enc, rep_enc;
    int32_t num_nulls, num_rows, def_len, rep_len;
    bool is_compressed;
    bool has_body;   /* the page-type specific header was present */
    uint64_t offset; /* file offset of the header */
    size_t body;     /* chunk offset of the page body */
} PageHdr;

void pq_column_data_free(PqColumnData *cd)
{
    free(cd->def);
    free(cd->rep);
    pq_values_free(&cd->vals);
    pq_values_free(&cd->dict);
    memset(cd, 0, sizeof *cd);
}

static bool read_data_header(ThriftReader *r, int tt, PageHdr *h, bool v2)
{
    if (tt != TT_STRUCT) return thrift_skip(r, tt);
    h->has_body = true;
    int16_t last = 0, id;
    int t;
    if (!thrift_struct_begin(r)) return false;
    for (;;) {
        if (!thrift_field(r, &last, &id, &t)) return false;
        if (t == TT_STOP) break;
        bool ok;
        if (!v2) {
            switch (id) {
            case 1:
                ok = thrift_read_i32(r, t, &h->num_values);
                break;
            case 2:
                ok = thrift_read_i32(r, t, &h->encoding);
                break;
            case 3:
                ok = thrift_read_i32(r, t, &h->def_enc);
                break;
            case 4:
                ok = thrift_read_i32(r, t, &h->rep_enc);
                break;
            default:
                ok = thrift_skip(r, t);
            }
        } else {
            switch (id) {
            case 1:
                ok = thrift_read_i32(r, t, &h->num_values);
                break;
            case 2:
                ok = thrift_read_i32(r, t, &h->num_nulls);
                break;
            case 3:
                ok = thrift_read_i32(r, t, &h->num_rows);
                break;
            case 4:
                ok = thrift_read_i32(r, t, &h->encoding);
                break;
            case 5:
                ok = thrift_read_i32(r, t, &h->def_len);
                break;
            case 6:
                ok = thrift_read_i32(r, t, &h->rep_len);
                break;
            case 7:
                ok = thrift_read_bool(r, t, &h->is_compressed);
                break;
            default:
                ok = thrift_skip(r, t);
            }
        }
        if (!ok) return false;
    }
    thrift_struct_end(r);
    return true;
}

static bool read_dict_header(ThriftReader *r, int tt, PageHdr *h)
{
    if (tt != TT_STRUCT) return thrift_skip(r, tt);
    h->has_body = true;
    int16_t last = 0, id;
    int t;
    if (!thrift_struct_begin(r)) return false;
    for (;;) {
        if (!thrift_field(r, &last, &id, &t)) return false;
        if (t == TT_STOP) break;
        bool ok;
        switch (id) {
        case 1:
            ok = thrift_read_i32(r, t, &h->num_values);
            break;
        case 2:
            ok = thrift_read_i32(r, t, &h->encoding);
            break;
        default:
            ok = thrift_skip(r, t);
        }
        if (!ok) return false;
    }
    thrift_struct_end(r);
    return true;
}

static bool parse_page_header(ThriftReader *r, PageHdr *h)
{
    memset(h, 0, sizeof *h);
    h->type = -1;
    h->uncompressed = h->compressed = -1;
    h->is_compressed = true;
    int16_t last = 0, id;
    int t;
    if (!thrift_struct_begin(r)) return false;
    for (;;) {
        if (!thrift_field(r, &last, &id, &t)) return false;
        if (t == TT_STOP) break;
        bool ok;
        int32_t crc;
        switch (id) {
        case 1:
            ok = thrift_read_i32(r, t, &h->type);
            break;
        case 2:
            ok = thrift_read_i32(r, t, &h->uncompressed);
            break;
        case 3:
            ok = thrift_read_i32(r, t, &h->compressed);
            break;
        case 4:
            ok = thrift_read_i32(r, t, &crc);
            h->crc = (uint32_t)crc;
            h->has_crc = true;
            break;
        case 5:
            ok = read_data_header(r, t, h, false);
            break;
        case 7:
            ok = read_dict_header(r, t, h);
            break;
        case 8:
            ok = read_data_header(r, t, h, true);
            break;
        default:
            ok = thrift_skip(r, t);
        }
        if (!ok) return false;
    }
    thrift_struct_end(r);
    return true;
}

static int bit_width(int v)
{
    return v <= 0 ? 0 : 32 - __builtin_clz((unsigned)v);
}

/* Decodes n levels; *at_max receives how many equal max_level (the non-null values, for
 * definition levels), counted in the same pass as the range check. */
static bool decode_levels(const uint8_t *p, size_t len, int max_level, int16_t *out, int64_t n,
                          int64_t *at_max, DipError *err)
{
    RleDecoder d;
    rle_init(&d, p, len, bit_width(max_level));
    if (!rle_get_u16(&d, (uint16_t *)out, n, err)) return false;
    uint16_t mx = 0;
    int64_t cnt = 0;
    const uint16_t *u = (const uint16_t *)out;
    const uint16_t ml = (uint16_t)max_level;
    for (int64_t i = 0; i < n; i++) {
        mx = u[i] > mx ? u[i] : mx;
        cnt += u[i] == ml;
    }
    *at_max = cnt;
    if (mx > max_level)
        return dip_error_set(err, DIP_ERR_DATA, "level %u exceeds the maximum %d", mx, max_level);
    return true;
}

/* The deprecated BIT_PACKED level encoding (Encodings.md, "Bit-packed (Deprecated)"):
 * no length prefix, ceil(n * width / 8) bytes, values packed from the most significant bit
 * of each byte. Old parquet-mr files use it. */
static bool decode_levels_bit_packed(const uint8_t *p, size_t avail, int max_level, int16_t *out,
                                     int64_t n, int64_t *at_max, size_t *pos, DipError *err)
{
    int bw = bit_width(max_level);
    uint64_t bytes = ((uint64_t)n * (uint64_t)bw + 7) / 8;
    if (bytes > avail)
        return dip_error_set(err, DIP_ERR_DATA, "BIT_PACKED levels need %llu bytes, page has %zu",
                             (unsigned long long)bytes, avail);
    int64_t cnt = 0;
    uint64_t bit = 0;
    for (int64_t i = 0; i < n; i++) {
        int v = 0;
        for (int b = 0; b < bw; b++, bit++)
            v = (v << 1) | ((p[bit >> 3] >> (7 - (bit & 7))) & 1);
        if (v > max_level)
            return dip_error_set(err, DIP_ERR_DATA, "level %d exceeds the maximum %d", v,
                                 max_level);
        out[i] = (int16_t)v;
        cnt += v == max_level;
    }
    *at_max = cnt;
    *pos += (size_t)bytes;
    return true;
}

/* Decodes n dense values with `enc` from the values section of a page. */
static bool decode_values(const PqLeaf *lf, int enc, const uint8_t *p, size_t len, int64_t n,
                          PqColumnData *cd, PqScratch *s, DipError *err)
{
    size_t used;
    switch (enc) {
    case PQE_PLAIN:
        return pq_decode_plain(lf, p, len, n, &cd->vals, &used, err);
    case PQE_PLAIN_DICTIONARY:
    case PQE_RLE_DICTIONARY:
        if (!cd->has_dict)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "dictionary-encoded page without a "
                                 "dictionary page");
        return pq_decode_dict_ids(lf, p, len, n, &cd->dict, &cd->vals, s, err);
    case PQE_RLE:
        if (lf->phys != PQT_BOOLEAN)
            return dip_error_set(err, DIP_ERR_DATA, "RLE value encoding on %s",
                                 pq_type_name(lf->phys));
        return pq_decode_bool_rle(p, len, n, &cd->vals, err);
    case PQE_DELTA_BINARY_PACKED:
        return pq_decode_delta_binary(lf, p, len, n, &cd->vals, s, err);
    case PQE_DELTA_LENGTH_BYTE_ARRAY:
        return pq_decode_delta_length(lf, p, len, n, &cd->vals, s, err);
    case PQE_DELTA_BYTE_ARRAY:
        return pq_decode_delta_byte_array(lf, p, len, n, &cd->vals, s, err);
    case PQE_BYTE_STREAM_SPLIT:
        return pq_decode_byte_stream_split(lf, p, len, n, &cd->vals, s, err);
    default:
        return dip_error_set(err, DIP_ERR_UNSUPPORTED, "value encoding %s (%d) is not supported",
                             pq_encoding_name(enc), enc);
    }
}

static bool read_chunk_bytes(PqFile *f, uint64_t off, uint64_t len, PqScratch *s,
                             const uint8_t **out, DipError *err)
{
    if (f->mem) {
        *out = f->mem + off;
        return true;
    }
    pq_grow((void **)&s->chunk, &s->chunk_cap, (size_t)len + 1);
    if (s->own_store) /* this thread's own handle: reads run in parallel */
        return *out = s->chunk, store_read_range(s->own_store, f->name, off, len, s->chunk, err);
    pthread_mutex_lock(&f->read_lock);
    bool ok = store_read_range(f->st, f->name, off, len, s->chunk, err);
    pthread_mutex_unlock(&f->read_lock);
    *out = s->chunk;
    return ok;
}

static bool decode_page(PqFile *f, const PqLeaf *lf, const PqChunkMeta *cm, const PageHdr *h,
                        const uint8_t *chunk, PqScratch *s, PqColumnData *cd, DipError *err)
{
    const uint8_t *body = chunk + h->body;
    size_t clen = (size_t)h->compressed, ulen = (size_t)h->uncompressed;
    if (h->has_crc) {
        uint32_t c = dip_crc32(0, body, clen);
        if (c != h->crc)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "page CRC mismatch (stored %08x, computed "
                                 "%08x)",
                                 h->crc, c);
        cd->crc_checked++;
    }
    cd->pages++;
    cd->compressed_bytes += clen;
    cd->uncompressed_bytes += ulen;
    if (h->type == PQP_INDEX_PAGE ||
        (h->type != PQP_DICTIONARY_PAGE && h->type != PQP_DATA_PAGE && h->type != PQP_DATA_PAGE_V2))
        return true; /* unknown page types are skipped, as the format allows */
    if (!h->has_body)
        return dip_error_set(err, DIP_ERR_DATA, "page header lacks its %s header",
                             h->type == PQP_DICTIONARY_PAGE ? "dictionary page" : "data page");
    const uint8_t *page;
    size_t plen;
    size_t lvl_len = 0; /* v2: uncompressed level bytes before the values */
    if (h->type == PQP_DATA_PAGE_V2) {
        if (h->def_len < 0 || h->rep_len < 0 ||
            (uint64_t)h->def_len + (uint64_t)h->rep_len > clen ||
            (uint64_t)h->def_len + (uint64_t)h->rep_len > ulen)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "v2 page: level lengths %d + %d exceed the "
                                 "page size",
                                 h->rep_len, h->def_len);
        lvl_len = (size_t)h->def_len + (size_t)h->rep_len;
    }
    bool compressed =
        cm->codec != PQC_UNCOMPRESSED && (h->type != PQP_DATA_PAGE_V2 || h->is_compressed);
    if (!compressed) {
        if (clen != ulen)
            return dip_error_set(err, DIP_ERR_DATA, "uncompressed page: sizes %zu and %zu differ",
                                 clen, ulen);
        page = body;
        plen = ulen;
    } else {
        pq_grow((void **)&s->page, &s->page_cap, ulen + 16);
        memcpy(s->page, body, lvl_len);
        if (!pq_decompress(cm->codec, body + lvl_len, clen - lvl_len, s->page + lvl_len,
                           ulen - lvl_len, err))
            return false;
        page = s->page;
        plen = ulen;
    }
    if (h->type == PQP_DICTIONARY_PAGE) {
        if (h->encoding != PQE_PLAIN && h->encoding != PQE_PLAIN_DICTIONARY)
            return dip_error_set(err, DIP_ERR_DATA, "dictionary page encoding %s",
                                 pq_encoding_name(h->encoding));
        if (h->num_values < 0 || (uint64_t)h->num_values > (uint64_t)plen * 8 + 8)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "dictionary page claims %d values in %zu "
                                 "bytes",
                                 h->num_values, plen);
        pq_values_reset(&cd->dict);
        size_t used;
        if (!pq_decode_plain(lf, page, plen, h->num_values, &cd->dict, &used, err)) return false;
        cd->has_dict = true;
        return true;
    }
    int64_t n = h->num_values;
    int64_t at = cd->nlevels;
    int64_t nn = n; /* non-null values: entries whose definition level is the maximum */
    size_t pos = 0;
    if (h->type == PQP_DATA_PAGE) {
        const int lv[2] = {lf->max_rep, lf->max_def};
        int16_t *dst[2] = {cd->rep ? cd->rep + at : NULL, cd->def ? cd->def + at : NULL};
        const int enc[2] = {h->rep_enc, h->def_enc};
        int64_t cnt[2] = {n, n};
        for (int k = 0; k < 2; k++) {
            if (lv[k] == 0) continue;
            if (enc[k] == PQE_BIT_PACKED) {
                if (!decode_levels_bit_packed(page + pos, plen - pos, lv[k], dst[k], n, &cnt[k],
                                              &pos, err))
                    return false;
                continue;
            }
            if (enc[k] != PQE_RLE)
                return dip_error_set(err, DIP_ERR_UNSUPPORTED, "%s levels encoded with %s",
                                     k ? "definition" : "repetition", pq_encoding_name(enc[k]));
            if (plen - pos < 4) return dip_error_set(err, DIP_ERR_DATA, "truncated level length");
            uint32_t l;
            memcpy(&l, page + pos, 4);
            pos += 4;
            if (l > plen - pos)
                return dip_error_set(err, DIP_ERR_DATA, "level length %u runs past the page", l);
            if (!decode_levels(page + pos, l, lv[k], dst[k], n, &cnt[k], err)) return false;
            pos += l;
        }
        nn = cnt[1];
    } else {
        int64_t unused;
        if (lf->max_rep > 0) {
            if (!decode_levels(page, (size_t)h->rep_len, lf->max_rep, cd->rep + at, n, &unused,
                               err))
                return false;
        }
        if (lf->max_def > 0) {
            if (!decode_levels(page + h->rep_len, (size_t)h->def_len, lf->max_def, cd->def + at, n,
                               &nn, err))
                return false;
        }
        pos = lvl_len;
    }
    if (lf->max_rep > 0 && n > 0 && at == 0 && cd->rep[0] != 0)
        return dip_error_set(err, DIP_ERR_DATA, "first repetition level of the chunk is not 0");
    int64_t before = cd->vals.n;
    if (!decode_values(lf, h->encoding, page + pos, plen - pos, nn, cd, s, err)) return false;
    if (cd->vals.n - before != nn)
        return dip_error_set(err, DIP_ERR_INTERNAL, "decoded %lld values, expected %lld",
                             (long long)(cd->vals.n - before), (long long)nn);
    cd->nlevels += n;
    return true;
}

/* Step 1 of pq_decode_chunk: the column chunk's metadata agrees with the schema, and the
 * byte range it names lies inside the file. *empty: an empty row group, nothing stored. */
static bool chunk_locate(const PqFile *f, const PqRowGroupMeta *g, const PqLeaf *lf, int leaf,
                         const PqChunkMeta **cmp, int64_t *start, int64_t *len, bool *empty,
                         DipError *err)
{
    *empty = false;
    if (leaf >= g->ncols)
        return dip_error_set(err, DIP_ERR_DATA,
                             "row group has %d column chunks, schema has %d leaves", g->ncols,
                             f->nleaves);
    const PqChunkMeta *cm = &g->cols[leaf];
    *cmp = cm;
    if (!cm->has_meta_data)
        return dip_error_set(err, DIP_ERR_DATA, "column chunk has no meta_data");
    if (cm->file_path)
        return dip_error_set(err, DIP_ERR_UNSUPPORTED, "column chunk stored in another file (%s)",
                             cm->file_path);
    if (cm->type != lf->phys)
        return dip_error_set(err, DIP_ERR_DATA, "column chunk type %s differs from the schema's %s",
                             pq_type_name(cm->type), pq_type_name(lf->phys));
    if (cm->codec < 0 || cm->codec > PQC_LZ4_RAW)
        return dip_error_set(err, DIP_ERR_DATA, "unknown compression codec %d", cm->codec);
    *start = cm->data_page_offset;
    if (cm->dictionary_page_offset > 0 && cm->dictionary_page_offset < *start)
        *start = cm->dictionary_page_offset;
    *len = cm->total_compressed_size;
    if (*len == 0 && cm->num_values == 0 && g->num_rows == 0) {
        *empty = true;
        return true;
    }
    if (*start < 4 || *len <= 0 || (uint64_t)*start > f->size ||
        (uint64_t)*len > f->size - (uint64_t)*start)
        return dip_error_set(err, DIP_ERR_DATA,
                             "column chunk range [%lld, +%lld) lies outside the file "
                             "(%llu bytes)",
                             (long long)*start, (long long)*len, (unsigned long long)f->size);
    return true;
}

/* The largest uncompressed/compressed ratio a page header may claim: deflate tops out near
 * 1032:1, snappy and LZ4 lower; zstd (RLE blocks) and brotli go far beyond 4096:1 on valid
 * pages (DuckDB writes periodic repetition levels at ~9500:1). pq_limit_page_bytes still caps
 * the allocation. */
static uint64_t codec_max_ratio(int codec)
{
    return codec == PQC_ZSTD || codec == PQC_BROTLI ? 65536 : 4096;
}

/* A page header's sizes and value count are plausible for its chunk and row group, before
 * any byte of its body is trusted. */
static bool chunk_check_page(const PqLeaf *lf, const PqRowGroupMeta *g, const PageHdr *h,
                             int64_t len, int64_t total_values, int codec, DipError *err)
{
    if (h->compressed < 0 || h->uncompressed < 0 || (size_t)h->compressed > (size_t)len - h->body)
        return dip_error_set(err, DIP_ERR_DATA,
                             "page at offset %llu: compressed size %d runs past the "
                             "column chunk end",
                             (unsigned long long)h->offset, h->compressed);
    if ((size_t)h->uncompressed > pq_limit_page_bytes ||
        (uint64_t)h->uncompressed > (uint64_t)h->compressed * codec_max_ratio(codec) + (1u << 20))
        return dip_error_set(err, DIP_ERR_DATA,
                             "page at offset %llu: implausible uncompressed size %d "
                             "for %d compressed bytes",
                             (unsigned long long)h->offset, h->uncompressed, h->compressed);
    if (h->type == PQP_DATA_PAGE || h->type == PQP_DATA_PAGE_V2) {
        /* nested: a row takes at least one entry (all-null rows exactly one), more entries
         * need bytes */
        bool dense_ok = lf->max_rep == 0 ? total_values + h->num_values <= g->num_rows
                                         : (uint64_t)h->num_values <=
                                               (uint64_t)h->uncompressed * 8 +
                                                   PAGE_VALUE_ALLOWANCE + (uint64_t)g->num_rows;
        if (h->num_values < 0 || !dense_ok)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "page at offset %llu claims %d values in %d bytes (row group "
                                 "has %lld rows)",
                                 (unsigned long long)h->offset, h->num_values, h->uncompressed,
                                 (long long)g->num_rows);
    }
    return true;
}

/* Step 2: pass 1 over the page headers, each checked, until the chunk's values are all
 * accounted for. *hs (grown here) receives them; the caller frees it. */
static bool chunk_scan_headers(const PqLeaf *lf, const PqRowGroupMeta *g, const PqChunkMeta *cm,
                               const uint8_t *chunk, int64_t start, int64_t len, PageHdr **hs,
                               size_t *nh_out, int64_t *total_out, DipError *err)
{
    size_t nh = 0, hcap = 0;
    int64_t total_values = 0;
    size_t pos = 0;
    while (pos < (size_t)len) {
        if (cm->num_values > 0 && total_values >= cm->num_values) break;
        pq_grow((void **)hs, &hcap, (nh + 1) * sizeof(PageHdr));
        PageHdr *h = &(*hs)[nh];
        ThriftReader r;
        thrift_init(&r, chunk + pos, (size_t)len - pos, (uint64_t)start + pos, err);
        if (!parse_page_header(&r, h)) {
            dip_error_prefix(err, "page header at offset %llu",
                             (unsigned long long)(start + (int64_t)pos));
            return false;
        }
        h->offset = (uint64_t)start + pos;
        h->body = pos + (size_t)(r.p - r.start);
        if (!chunk_check_page(lf, g, h, len, total_values, cm->codec, err)) return false;
        if (h->type == PQP_DATA_PAGE || h->type == PQP_DATA_PAGE_V2) total_values += h->num_values;
        pos = h->body + (size_t)h->compressed;
        nh++;
    }
    *nh_out = nh;
    *total_out = total_values;
    return true;
}

/* Step 3: the pages' value count agrees with the metadata and the row group, and is within
 * dip's limit; then the level and value buffers are sized once. */
static bool chunk_prepare(const PqLeaf *lf, const PqRowGroupMeta *g, const PqChunkMeta *cm,
                          int64_t total_values, int64_t len, PqColumnData *cd, DipError *err)
{
    if ((uint64_t)total_values > pq_limit_chunk_values)
        return dip_error_set(err, DIP_ERR_DATA,
                             "column chunk claims %lld values, more than the %zu dip "
                             "accepts per chunk",
                             (long long)total_values, pq_limit_chunk_values);
    if (cm->num_values >= 0 && total_values != cm->num_values)
        return dip_error_set(err, DIP_ERR_DATA, "pages hold %lld values, column metadata says %lld",
                             (long long)total_values, (long long)cm->num_values);
    if (lf->max_rep == 0 && total_values != g->num_rows)
        return dip_error_set(err, DIP_ERR_DATA, "column has %lld values, row group has %lld rows",
                             (long long)total_values, (long long)g->num_rows);
    if (lf->max_def > 0) pq_grow((void **)&cd->def, &cd->def_cap, (size_t)total_values * 2 + 16);
    if (lf->max_rep > 0) pq_grow((void **)&cd->rep, &cd->rep_cap, (size_t)total_values * 2 + 16);
    /* size the value buffers once for the common case (few nulls), but never beyond what the
     * chunk's bytes could hold densely: all-null RLE runs cost no bytes */
    int64_t guess = total_values;
    if ((uint64_t)guess > (uint64_t)len * 8 + 65536) guess = len * 8 + 65536;
    return pq_values_reserve(&cd->vals, lf, guess, 0, err);
}

/* Step 5: a nested column's rows (entries with repetition level 0) match the row group. */
static bool chunk_check_rows(const PqLeaf *lf, const PqRowGroupMeta *g, const PqColumnData *cd,
                             DipError *err)
{
    if (lf->max_rep == 0) return true;
    int64_t rows = 0;
    for (int64_t i = 0; i < cd->nlevels; i++)
        rows += cd->rep[i] == 0;
    if (rows != g->num_rows)
        return dip_error_set(err, DIP_ERR_DATA, "column has %lld rows, row group has %lld",
                             (long long)rows, (long long)g->num_rows);
    return true;
}

bool pq_decode_chunk(PqFile *f, int rg, int leaf, PqScratch *s, PqColumnData *cd, DipError *err)
{
    const PqLeaf *lf = &f->leaves[leaf];
    const PqRowGroupMeta *g = &f->meta.rgs[rg];
    cd->nlevels = 0;
    cd->has_dict = false;
    pq_values_reset(&cd->vals);
    pq_values_reset(&cd->dict);
    cd->pages = cd->crc_checked = 0;
    cd->compressed_bytes = cd->uncompressed_bytes = 0;
    const PqChunkMeta *cm = NULL;
    int64_t start = 0, len = 0, total_values = 0;
    bool empty = false;
    PageHdr *hs = NULL;
    size_t nh = 0;
    const uint8_t *chunk = NULL;
    bool ok = chunk_locate(f, g, lf, leaf, &cm, &start, &len, &empty, err);
    if (ok && empty) return true;
    ok = ok && read_chunk_bytes(f, (uint64_t)start, (uint64_t)len, s, &chunk, err) &&
         chunk_scan_headers(lf, g, cm, chunk, start, len, &hs, &nh, &total_values, err) &&
         chunk_prepare(lf, g, cm, total_values, len, cd, err);
    /* Step 4: the pages, in order */
    for (size_t i = 0; ok && i < nh; i++) {
        ok = decode_page(f, lf, cm, &hs[i], chunk, s, cd, err);
        if (!ok) dip_error_prefix(err, "page at offset %llu", (unsigned long long)hs[i].offset);
    }
    ok = ok && chunk_check_rows(lf, g, cd, err);
    free(hs);
    if (!ok) dip_error_prefix(err, "%s: row group %d, column %s", f->name, rg, lf->path);
    return ok;
}
