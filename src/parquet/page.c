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
#include <zstd.h>

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
static bool levels_next(RleDecoder *d, int max_level, int16_t *out, int64_t n, int64_t *at_max,
                        DipError *err)
{
    if (!rle_get_u16(d, (uint16_t *)out, n, err)) return false;
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

static bool decode_levels(const uint8_t *p, size_t len, int max_level, int16_t *out, int64_t n,
                          int64_t *at_max, DipError *err)
{
    RleDecoder d;
    rle_init(&d, p, len, bit_width(max_level));
    return levels_next(&d, max_level, out, n, at_max, err);
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

static bool decode_page(const PqLeaf *lf, const PqChunkMeta *cm, const PageHdr *h,
                        const uint8_t *body, bool first, PqScratch *s, PqColumnData *cd,
                        DipError *err)
{
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
    if (lf->max_rep > 0 && n > 0 && first && cd->rep[at] != 0)
        return dip_error_set(err, DIP_ERR_DATA, "first repetition level of the chunk is not 0");
    int64_t before = cd->vals.n;
    if (!decode_values(lf, h->encoding, page + pos, plen - pos, nn, cd, s, err)) return false;
    if (cd->vals.n - before != nn)
        return dip_error_set(err, DIP_ERR_INTERNAL, "decoded %lld values, expected %lld",
                             (long long)(cd->vals.n - before), (long long)nn);
    cd->nlevels += n;
    return true;
}

/* Opening a stream: the column chunk's metadata agrees with the schema, and the
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

bool pq_stream_open(PqChunkStream *cs, PqFile *f, int rg, int leaf, DipError *err)
{
    memset(cs, 0, sizeof *cs);
    int64_t v = 0;
    DipError e = {0};
    /* tests stream small pages piece by piece too */
    if (config_env_int("DIP_PARQUET_STREAM_MIN_PAGE", -1, &v, &e) && v >= 0)
        pq_stream_min_page_bytes = (size_t)v;
    cs->f = f;
    cs->rg = rg;
    cs->leaf = leaf;
    cs->lf = &f->leaves[leaf];
    cs->g = &f->meta.rgs[rg];
    bool empty = false;
    if (!chunk_locate(f, cs->g, cs->lf, leaf, &cs->cm, &cs->start, &cs->len, &empty, err)) {
        dip_error_prefix(err, "%s: row group %d, column %s", f->name, rg, cs->lf->path);
        return false;
    }
    cs->ended = empty;
    return true;
}

void pq_stream_close(PqChunkStream *cs)
{
    pq_column_data_free(&cs->cd);
    free(cs->buf);
    free(cs->run.win);
    free(cs->run.lv[0]);
    free(cs->run.lv[1]);
    if (cs->run.zstd) ZSTD_freeDCtx(cs->run.zstd);
    memset(cs, 0, sizeof *cs);
}

/* Chunk bytes [off, off + need) (inside the chunk), read in pieces of PQ_READ_PIECE: a piece
 * starts at the first byte wanted and keeps what the previous one already holds from there. */
static bool stream_bytes(PqChunkStream *cs, PqScratch *s, size_t off, size_t need,
                         const uint8_t **out, DipError *err)
{
    PqFile *f = cs->f;
    if (f->mem) {
        *out = f->mem + cs->start + off;
        return true;
    }
    if (off >= cs->buf_at && off + need <= cs->buf_at + cs->buf_len) {
        *out = cs->buf + (off - cs->buf_at);
        return true;
    }
    if (need == 0) { /* an empty page body: nothing to read */
        static const uint8_t none[1];
        *out = none;
        return true;
    }
    size_t want = need > PQ_READ_PIECE ? need : PQ_READ_PIECE;
    if (want > (size_t)cs->len - off) want = (size_t)cs->len - off;
    pq_grow((void **)&cs->buf, &cs->buf_cap, want + 1);
    size_t keep = 0;
    if (off >= cs->buf_at && off < cs->buf_at + cs->buf_len) {
        keep = cs->buf_at + cs->buf_len - off;
        memmove(cs->buf, cs->buf + (off - cs->buf_at), keep);
    }
    cs->buf_at = off;
    cs->buf_len = keep;
    uint64_t at = (uint64_t)cs->start + off + keep;
    bool ok;
    if (s->own_store) { /* this thread's own handle: reads run in parallel */
        ok = store_read_range(s->own_store, f->name, at, want - keep, cs->buf + keep, err);
    } else {
        pthread_mutex_lock(&f->read_lock);
        ok = store_read_range(f->st, f->name, at, want - keep, cs->buf + keep, err);
        pthread_mutex_unlock(&f->read_lock);
    }
    if (!ok) return false;
    cs->buf_len = want;
    *out = cs->buf;
    return true;
}

/* Moves what is not taken yet to the front of the buffers, once the taken part is at least as
 * large as the rest (so each entry moves O(1) times on average). */
static void stream_compact(PqChunkStream *cs)
{
    PqColumnData *cd = &cs->cd;
    int64_t rl = cd->nlevels - cs->lpos, rv = cd->vals.n - cs->vpos;
    if (cs->lpos == 0 || rl > cs->lpos) return;
    if (rl > 0 && cd->def) memmove(cd->def, cd->def + cs->lpos, (size_t)rl * sizeof(int16_t));
    if (rl > 0 && cd->rep) memmove(cd->rep, cd->rep + cs->lpos, (size_t)rl * sizeof(int16_t));
    size_t w = (size_t)cs->lf->width;
    if (w) {
        if (rv > 0) memmove(cd->vals.fixed, cd->vals.fixed + (size_t)cs->vpos * w, (size_t)rv * w);
    } else if (cd->vals.offsets) {
        int64_t base = cd->vals.offsets[cs->vpos];
        size_t dl = cd->vals.data_len - (size_t)base;
        if (dl > 0) memmove(cd->vals.data, cd->vals.data + base, dl);
        for (int64_t i = 0; i <= rv; i++)
            cd->vals.offsets[i] = cd->vals.offsets[cs->vpos + i] - base;
        cd->vals.data_len = dl;
    }
    cd->vals.n = rv;
    cd->nlevels = rl;
    cs->lpos = cs->vpos = 0;
}

/* The chunk's end: its pages agree with the metadata and the row group. */
static bool stream_finish(PqChunkStream *cs, DipError *err)
{
    const PqLeaf *lf = cs->lf;
    cs->ended = true;
    if (cs->cm->num_values >= 0 && cs->total_values != cs->cm->num_values)
        return dip_error_set(err, DIP_ERR_DATA, "pages hold %lld values, column metadata says %lld",
                             (long long)cs->total_values, (long long)cs->cm->num_values);
    if (lf->max_rep == 0 && cs->total_values != cs->g->num_rows)
        return dip_error_set(err, DIP_ERR_DATA, "column has %lld values, row group has %lld rows",
                             (long long)cs->total_values, (long long)cs->g->num_rows);
    if (lf->max_rep > 0 && cs->total_rows != cs->g->num_rows)
        return dip_error_set(err, DIP_ERR_DATA, "column has %lld rows, row group has %lld",
                             (long long)cs->total_rows, (long long)cs->g->num_rows);
    return true;
}

/* The next page header at cs->pos, read from as few bytes as it needs. */
static bool stream_header(PqChunkStream *cs, PqScratch *s, PageHdr *h, DipError *err)
{
    size_t left = (size_t)cs->len - cs->pos;
    size_t avail = left < 4096 ? left : 4096;
    for (;;) {
        const uint8_t *p;
        if (!stream_bytes(cs, s, cs->pos, avail, &p, err)) return false;
        ThriftReader r;
        thrift_init(&r, p, avail, (uint64_t)cs->start + cs->pos, err);
        if (parse_page_header(&r, h)) {
            h->offset = (uint64_t)cs->start + cs->pos;
            h->body = cs->pos + (size_t)(r.p - r.start);
            return true;
        }
        if (avail == left) break;
        /* a header with large statistics: try again on more bytes */
        dip_error_clear(err);
        avail = avail > left / 16 ? left : avail * 16;
    }
    dip_error_prefix(err, "page header at offset %llu",
                     (unsigned long long)(cs->start + (int64_t)cs->pos));
    return false;
}

/* ------------------------------------------------------------ large pages, piece by piece */

size_t pq_stream_min_page_bytes = (size_t)8 << 20;

#define SNAPPY_HISTORY ((size_t)64 << 10)

static bool run_eligible(const PqChunkStream *cs, const PageHdr *h)
{
    const PqLeaf *lf = cs->lf;
    /* large: in bytes, or in level entries (a few bytes of RLE levels can stand for
     * millions of entries of 2 bytes each): one entry per 8 bytes of the threshold */
    if (h->has_crc || !h->has_body ||
        ((size_t)h->uncompressed < pq_stream_min_page_bytes &&
         (size_t)h->num_values < pq_stream_min_page_bytes / 8))
        return false;
    if (h->type != PQP_DATA_PAGE && h->type != PQP_DATA_PAGE_V2) return false;
    int codec = cs->cm->codec;
    if (codec != PQC_UNCOMPRESSED && codec != PQC_SNAPPY && codec != PQC_ZSTD) return false;
    if (h->type == PQP_DATA_PAGE &&
        ((lf->max_rep > 0 && h->rep_enc != PQE_RLE) || (lf->max_def > 0 && h->def_enc != PQE_RLE)))
        return false;
    if (h->encoding == PQE_PLAIN_DICTIONARY || h->encoding == PQE_RLE_DICTIONARY) return true;
    return h->encoding == PQE_PLAIN && lf->phys != PQT_BOOLEAN &&
           (lf->phys == PQT_BYTE_ARRAY || pq_phys_width(lf) > 0);
}

/* Bytes the page still holds for the decoder (decompressed or stored). */
static size_t run_remaining(const PqPageRun *r)
{
    return r->compressed ? (r->end - r->beg) + r->ulen_left : r->cend - r->cpos;
}

/* Snappy (raw block format) decoded element by element until `target` bytes are in the
 * window or the page's bytes are all out. */
static bool snappy_more(PqChunkStream *cs, PqScratch *s, size_t target, DipError *err)
{
    PqPageRun *r = &cs->run;
    while (r->end < target && r->ulen_left > 0) {
        size_t in_left = r->cend - r->cpos;
        if (in_left == 0)
            return dip_error_set(err, DIP_ERR_DATA, "SNAPPY stream ends %zu bytes early",
                                 r->ulen_left);
        size_t avail = in_left < 5 ? in_left : 5;
        const uint8_t *p;
        if (!stream_bytes(cs, s, r->cpos, avail, &p, err)) return false;
        uint8_t tag = p[0];
        size_t len, off = 0, hdr;
        if ((tag & 3) == 0) {
            len = tag >> 2;
            hdr = 1;
            if (len >= 60) {
                size_t nb = len - 59;
                if (avail < 1 + nb)
                    return dip_error_set(err, DIP_ERR_DATA, "SNAPPY literal header truncated");
                len = 0;
                for (size_t i = 0; i < nb; i++)
                    len |= (size_t)p[1 + i] << (8 * i);
                hdr += nb;
            }
            len += 1;
            if (len > r->ulen_left || len > in_left - hdr)
                return dip_error_set(err, DIP_ERR_DATA,
                                     "SNAPPY literal of %zu bytes runs past the page", len);
            pq_grow((void **)&r->win, &r->win_cap, r->end + len + 1);
            const uint8_t *q;
            if (!stream_bytes(cs, s, r->cpos + hdr, len, &q, err)) return false;
            memcpy(r->win + r->end, q, len);
            r->cpos += hdr + len;
        } else {
            if ((tag & 3) == 1) {
                hdr = 2;
                len = 4 + ((tag >> 2) & 7);
                if (avail >= 2) off = ((size_t)(tag >> 5) << 8) | p[1];
            } else {
                hdr = (tag & 3) == 2 ? 3 : 5;
                len = 1 + (size_t)(tag >> 2);
                for (size_t i = 1; i < hdr && i < avail; i++)
                    off |= (size_t)p[i] << (8 * (i - 1));
            }
            if (avail < hdr)
                return dip_error_set(err, DIP_ERR_DATA, "SNAPPY copy header truncated");
            if (off == 0 || off > r->vlen - r->ulen_left)
                return dip_error_set(err, DIP_ERR_DATA,
                                     "SNAPPY back-reference of %zu bytes before the start", off);
            if (off > r->end)
                return dip_error_set(err, DIP_ERR_UNSUPPORTED,
                                     "SNAPPY back-reference of %zu bytes beyond the %zu bytes "
                                     "of history dip keeps while streaming a large page",
                                     off, r->end);
            if (len > r->ulen_left)
                return dip_error_set(err, DIP_ERR_DATA, "SNAPPY copy runs past the page");
            pq_grow((void **)&r->win, &r->win_cap, r->end + len + 1);
            uint8_t *d = r->win + r->end;
            if (off >= len) {
                memcpy(d, d - off, len);
            } else {
                for (size_t i = 0; i < len; i++)
                    d[i] = d[i - off];
            }
            r->cpos += hdr;
        }
        r->end += len;
        r->ulen_left -= len;
    }
    return true;
}

static bool zstd_more(PqChunkStream *cs, PqScratch *s, size_t target, DipError *err)
{
    PqPageRun *r = &cs->run;
    while (r->end < target && r->ulen_left > 0) {
        size_t in_left = r->cend - r->cpos;
        size_t chunk = in_left < PQ_READ_PIECE ? in_left : PQ_READ_PIECE;
        const uint8_t *p = NULL;
        if (chunk > 0 && !stream_bytes(cs, s, r->cpos, chunk, &p, err)) return false;
        size_t room = target - r->end;
        if (room < ((size_t)128 << 10)) room = (size_t)128 << 10;
        if (room > r->ulen_left) room = r->ulen_left;
        pq_grow((void **)&r->win, &r->win_cap, r->end + room + 1);
        ZSTD_inBuffer in = {p, chunk, 0};
        ZSTD_outBuffer out = {r->win + r->end, room, 0};
        size_t rc = ZSTD_decompressStream(r->zstd, &out, &in);
        if (ZSTD_isError(rc))
            return dip_error_set(err, DIP_ERR_DATA, "ZSTD decompression failed: %s",
                                 ZSTD_getErrorName(rc));
        if (in.pos == 0 && out.pos == 0)
            return dip_error_set(err, DIP_ERR_DATA, "ZSTD stream ends %zu bytes early",
                                 r->ulen_left);
        r->cpos += in.pos;
        r->end += out.pos;
        r->ulen_left -= out.pos;
    }
    return true;
}

/* The next `n` bytes of the page's (decompressed) stream, contiguous, at *p; not consumed. */
static bool run_need(PqChunkStream *cs, PqScratch *s, size_t n, const uint8_t **p, DipError *err)
{
    PqPageRun *r = &cs->run;
    if (n > run_remaining(r))
        return dip_error_set(err, DIP_ERR_DATA, "page values need %zu more bytes, the page has %zu",
                             n, run_remaining(r));
    if (!r->compressed) return stream_bytes(cs, s, r->cpos, n, p, err);
    if (r->end - r->beg < n) {
        /* slide: keep what is not consumed (and snappy's history) at the front */
        size_t keep =
            r->codec == PQC_SNAPPY ? (r->beg < SNAPPY_HISTORY ? r->beg : SNAPPY_HISTORY) : 0;
        size_t from = r->beg - keep;
        if (from > 0) {
            memmove(r->win, r->win + from, r->end - from);
            r->beg -= from;
            r->end -= from;
        }
        bool ok = r->codec == PQC_SNAPPY ? snappy_more(cs, s, r->beg + n, err)
                                         : zstd_more(cs, s, r->beg + n, err);
        if (!ok) return false;
        if (r->end - r->beg < n)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "page decompresses to fewer bytes than it says");
    }
    *p = r->win + r->beg;
    return true;
}

static void run_consume(PqPageRun *r, size_t n)
{
    if (r->compressed)
        r->beg += n;
    else
        r->cpos += n;
}

/* Opens a large data page: sizes checked, decompression started, level sections and (for
 * dictionary indices) the value section read. */
static bool run_open(PqChunkStream *cs, PqScratch *s, const PageHdr *h, DipError *err)
{
    const PqLeaf *lf = cs->lf;
    PqPageRun *r = &cs->run;
    PqColumnData *cd = &cs->cd;
    size_t clen = (size_t)h->compressed, ulen = (size_t)h->uncompressed;
    r->codec = cs->cm->codec;
    r->enc = h->encoding;
    r->left = h->num_values;
    r->offset = h->offset;
    r->cpos = h->body;
    r->cend = h->body + clen;
    r->beg = r->end = 0;
    cd->pages++;
    cd->compressed_bytes += clen;
    cd->uncompressed_bytes += ulen;
    size_t vlen = ulen; /* bytes of the (decompressed) stream */
    const int lvmax[2] = {lf->max_rep, lf->max_def};
    RleDecoder *dec[2] = {&r->rep, &r->def};
    if (h->type == PQP_DATA_PAGE_V2) {
        const int32_t lens[2] = {h->rep_len, h->def_len};
        if (h->def_len < 0 || h->rep_len < 0 ||
            (uint64_t)h->def_len + (uint64_t)h->rep_len > clen ||
            (uint64_t)h->def_len + (uint64_t)h->rep_len > ulen)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "v2 page: level lengths %d + %d exceed the page size", h->rep_len,
                                 h->def_len);
        for (int k = 0; k < 2; k++) {
            const uint8_t *p;
            size_t l = (size_t)lens[k];
            if (!stream_bytes(cs, s, r->cpos, l, &p, err)) return false;
            pq_grow((void **)&r->lv[k], &r->lv_cap[k], l + 1);
            if (l) memcpy(r->lv[k], p, l);
            rle_init(dec[k], r->lv[k], l, bit_width(lvmax[k]));
            r->cpos += l;
        }
        vlen = ulen - (size_t)(h->rep_len + h->def_len);
        r->compressed = r->codec != PQC_UNCOMPRESSED && h->is_compressed;
        if (!r->compressed && r->cend - r->cpos != vlen)
            return dip_error_set(err, DIP_ERR_DATA, "uncompressed page: sizes %zu and %zu differ",
                                 r->cend - r->cpos, vlen);
    } else {
        r->compressed = r->codec != PQC_UNCOMPRESSED;
        if (!r->compressed && clen != ulen)
            return dip_error_set(err, DIP_ERR_DATA, "uncompressed page: sizes %zu and %zu differ",
                                 clen, ulen);
    }
    r->ulen_left = r->compressed ? vlen : 0;
    r->vlen = vlen;
    if (r->compressed && r->codec == PQC_ZSTD) {
        if (!r->zstd) r->zstd = ZSTD_createDCtx();
        if (!r->zstd) return dip_error_set(err, DIP_ERR_INTERNAL, "ZSTD: out of memory");
        ZSTD_DCtx_reset(r->zstd, ZSTD_reset_session_only);
    } else if (r->compressed) { /* snappy: the uncompressed length comes first */
        const uint8_t *p;
        size_t avail = r->cend - r->cpos < 10 ? r->cend - r->cpos : 10;
        uint64_t n = 0;
        if (!stream_bytes(cs, s, r->cpos, avail, &p, err)) return false;
        const uint8_t *q = p;
        if (!uleb_read(&q, p + avail, &n) || n != vlen)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "SNAPPY length %llu differs from the page header's %zu",
                                 (unsigned long long)n, vlen);
        r->cpos += (size_t)(q - p);
    }
    r->open = true;
    if (h->type == PQP_DATA_PAGE) {
        for (int k = 0; k < 2; k++) {
            if (lvmax[k] == 0) continue;
            const uint8_t *p;
            uint32_t l;
            if (!run_need(cs, s, 4, &p, err)) return false;
            memcpy(&l, p, 4);
            if (l > run_remaining(r) - 4)
                return dip_error_set(err, DIP_ERR_DATA, "level length %u runs past the page", l);
            if (!run_need(cs, s, 4 + (size_t)l, &p, err)) return false;
            pq_grow((void **)&r->lv[k], &r->lv_cap[k], (size_t)l + 1);
            memcpy(r->lv[k], p + 4, l);
            rle_init(dec[k], r->lv[k], l, bit_width(lvmax[k]));
            run_consume(r, 4 + (size_t)l);
        }
    }
    if (r->enc == PQE_PLAIN_DICTIONARY || r->enc == PQE_RLE_DICTIONARY) {
        if (!cd->has_dict)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "dictionary-encoded page without a dictionary page");
        /* the indices stream like values: a bit width, then RLE/bit-packed runs */
        const uint8_t *p;
        if (run_remaining(r) == 0) {
            if (r->left > 0)
                return dip_error_set(err, DIP_ERR_DATA, "dictionary-encoded page has no bit width");
            static const uint8_t none[1];
            rle_init(&r->ids, none, 0, 0);
            r->ids_base = none;
            return true;
        }
        if (!run_need(cs, s, 1, &p, err)) return false;
        if (p[0] > 32)
            return dip_error_set(err, DIP_ERR_DATA, "dictionary index bit width %d > 32", p[0]);
        int bw = p[0];
        run_consume(r, 1);
        r->ids_base = p + 1;
        rle_init(&r->ids, r->ids_base, 0, bw);
    }
    return true;
}

/* run_need for the index decoder: its pointers (relative to r->ids_base, the first byte not
 * consumed) move with the bytes. */
static bool ids_need(PqChunkStream *cs, PqScratch *s, size_t n, DipError *err)
{
    PqPageRun *r = &cs->run;
    RleDecoder *d = &r->ids;
    size_t op = (size_t)(d->p - r->ids_base), oe = (size_t)(d->end - r->ids_base);
    size_t ob = d->bp ? (size_t)(d->bp - r->ids_base) : 0;
    const uint8_t *p;
    if (!run_need(cs, s, n, &p, err)) return false;
    r->ids_base = p;
    d->p = p + op;
    d->end = p + oe;
    if (d->bp) d->bp = p + ob;
    return true;
}

/* The next n dictionary indices, gathered: the run headers ahead are read first so exactly
 * the bytes of the runs these values touch are in memory. */
static bool ids_next(PqChunkStream *cs, PqScratch *s, int64_t n, DipError *err)
{
    PqPageRun *r = &cs->run;
    RleDecoder *d = &r->ids;
    if (n == 0) return true;
    int64_t more = n - (int64_t)d->rle_left - (int64_t)d->bp_left;
    size_t ext = (size_t)(d->p - r->ids_base);
    size_t rem = run_remaining(r);
    while (more > 0 && ext < rem) {
        size_t h = rem - ext < 10 ? rem - ext : 10;
        if (!ids_need(cs, s, ext + h, err)) return false;
        const uint8_t *q = r->ids_base + ext, *qe = q + h;
        uint64_t hv;
        if (!uleb_read(&q, qe, &hv)) break; /* the decoder reports it */
        uint64_t bytes, vals;
        if (hv & 1) {
            bytes = (hv >> 1) * (uint64_t)d->bw;
            vals = (hv >> 1) * 8;
        } else {
            bytes = (uint64_t)(d->bw + 7) / 8;
            vals = hv >> 1;
        }
        if (vals == 0) break;
        size_t hl = (size_t)(q - (r->ids_base + ext));
        ext += hl;
        ext = bytes > rem - ext ? rem : ext + (size_t)bytes;
        more -= vals > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)vals;
    }
    if (ext > rem) ext = rem;
    if (!ids_need(cs, s, ext, err)) return false;
    d->end = r->ids_base + ext;
    if (!pq_decode_dict_rle(cs->lf, d, n, &cs->cd.dict, &cs->cd.vals, s, err)) return false;
    /* consume up to the current run (a bit-packed run's bytes stay until it is used up) */
    const uint8_t *keep = d->bp_left ? d->bp : d->p;
    size_t c = (size_t)(keep - r->ids_base);
    run_consume(r, c);
    r->ids_base += c;
    return true;
}

/* Decodes the next piece of the open page into cs->cd. */
static bool run_piece(PqChunkStream *cs, PqScratch *s, bool first, DipError *err)
{
    const PqLeaf *lf = cs->lf;
    PqPageRun *r = &cs->run;
    PqColumnData *cd = &cs->cd;
    int64_t k = r->left < PQ_PAGE_PIECE_LEVELS ? r->left : PQ_PAGE_PIECE_LEVELS;
    stream_compact(cs);
    int64_t at = cd->nlevels;
    size_t need = ((size_t)at + (size_t)k) * sizeof(int16_t) + 16;
    if (lf->max_def > 0) pq_grow((void **)&cd->def, &cd->def_cap, need);
    if (lf->max_rep > 0) pq_grow((void **)&cd->rep, &cd->rep_cap, need);
    int64_t nn = k, unused;
    if (lf->max_rep > 0 && !levels_next(&r->rep, lf->max_rep, cd->rep + at, k, &unused, err))
        return false;
    if (lf->max_def > 0 && !levels_next(&r->def, lf->max_def, cd->def + at, k, &nn, err))
        return false;
    if (lf->max_rep > 0 && k > 0 && first && cd->rep[at] != 0)
        return dip_error_set(err, DIP_ERR_DATA, "first repetition level of the chunk is not 0");
    int64_t before = cd->vals.n;
    size_t used;
    const uint8_t *p;
    if (r->enc == PQE_PLAIN_DICTIONARY || r->enc == PQE_RLE_DICTIONARY) {
        if (!ids_next(cs, s, nn, err)) return false;
    } else if (lf->phys != PQT_BYTE_ARRAY) {
        size_t n = (size_t)nn * (size_t)pq_phys_width(lf);
        if (!run_need(cs, s, n, &p, err) || !pq_decode_plain(lf, p, n, nn, &cd->vals, &used, err))
            return false;
        run_consume(r, used);
    } else {
        /* the byte extent of nn length-prefixed values */
        size_t ext = 0;
        for (int64_t i = 0; i < nn; i++) {
            uint32_t l;
            if (!run_need(cs, s, ext + 4, &p, err)) return false;
            memcpy(&l, p + ext, 4);
            ext += 4 + (size_t)l;
        }
        if (!run_need(cs, s, ext, &p, err) ||
            !pq_decode_plain(lf, p, ext, nn, &cd->vals, &used, err))
            return false;
        run_consume(r, used);
    }
    if (cd->vals.n - before != nn)
        return dip_error_set(err, DIP_ERR_INTERNAL, "decoded %lld values, expected %lld",
                             (long long)(cd->vals.n - before), (long long)nn);
    cd->nlevels += k;
    r->left -= k;
    if (r->left == 0) {
        r->open = false;
        cs->pos = r->cend;
    }
    return true;
}

/* After a page larger than the read piece (a dictionary page, a page below
 * pq_stream_min_page_bytes): buffers sized for it are let go, so N streams of a cursor do not
 * each keep their largest page's size. */
static void stream_trim(PqChunkStream *cs, PqScratch *s)
{
    if (cs->buf_cap > 2 * PQ_READ_PIECE) {
        free(cs->buf);
        cs->buf = NULL;
        cs->buf_cap = cs->buf_len = cs->buf_at = 0;
    }
    if (s->page_cap > 2 * PQ_READ_PIECE) {
        free(s->page);
        s->page = NULL;
        s->page_cap = 0;
    }
}

/* Nested: counts the rows (repetition level 0) among the entries decoded from `at` on. */
static void stream_count_rows(PqChunkStream *cs, int64_t at)
{
    if (cs->lf->max_rep == 0) return;
    const PqColumnData *cd = &cs->cd;
    int64_t r = 0;
    for (int64_t i = at; i < cd->nlevels; i++)
        r += cd->rep[i] == 0;
    cs->rows_avail += r;
    cs->total_rows += r;
}

static bool stream_next_page(PqChunkStream *cs, PqScratch *s, bool *got, DipError *err)
{
    const PqLeaf *lf = cs->lf;
    PqColumnData *cd = &cs->cd;
    *got = false;
    while (!cs->ended) {
        if (cs->run.open) {
            stream_compact(cs);
            int64_t at = cs->cd.nlevels;
            if (!run_piece(cs, s, cs->levels_decoded == 0, err)) {
                cs->run.open = false;
                dip_error_prefix(err, "page at offset %llu", (unsigned long long)cs->run.offset);
                return false;
            }
            cs->levels_decoded += cd->nlevels - at;
            stream_count_rows(cs, at);
            *got = true;
            return true;
        }
        if (cs->pos >= (size_t)cs->len ||
            (cs->cm->num_values > 0 && cs->total_values >= cs->cm->num_values))
            return stream_finish(cs, err);
        PageHdr h;
        if (!stream_header(cs, s, &h, err) ||
            !chunk_check_page(lf, cs->g, &h, cs->len, cs->total_values, cs->cm->codec, err))
            return false;
        bool data = h.type == PQP_DATA_PAGE || h.type == PQP_DATA_PAGE_V2;
        if (data) {
            cs->total_values += h.num_values;
            if ((uint64_t)cs->total_values > pq_limit_chunk_values)
                return dip_error_set(err, DIP_ERR_DATA,
                                     "column chunk claims %lld values, more than the %zu dip "
                                     "accepts per chunk",
                                     (long long)cs->total_values, pq_limit_chunk_values);
        }
        if (data && run_eligible(cs, &h)) {
            if (!run_open(cs, s, &h, err)) {
                cs->run.open = false;
                dip_error_prefix(err, "page at offset %llu", (unsigned long long)h.offset);
                return false;
            }
            continue; /* its first piece */
        }
        const uint8_t *body;
        if (!stream_bytes(cs, s, h.body, (size_t)h.compressed, &body, err)) return false;
        int64_t at = 0;
        if (data) {
            stream_compact(cs);
            at = cd->nlevels;
            size_t need = ((size_t)at + (size_t)h.num_values) * sizeof(int16_t) + 16;
            if (lf->max_def > 0) pq_grow((void **)&cd->def, &cd->def_cap, need);
            if (lf->max_rep > 0) pq_grow((void **)&cd->rep, &cd->rep_cap, need);
        }
        if (!decode_page(lf, cs->cm, &h, body, cs->levels_decoded == 0, s, cd, err)) {
            dip_error_prefix(err, "page at offset %llu", (unsigned long long)h.offset);
            return false;
        }
        cs->pos = h.body + (size_t)h.compressed;
        stream_trim(cs, s);
        if (data) {
            cs->levels_decoded += cd->nlevels - at;
            stream_count_rows(cs, at);
            *got = true;
            return true;
        }
    }
    return true;
}

bool pq_stream_next_page(PqChunkStream *cs, PqScratch *s, bool *got, DipError *err)
{
    if (stream_next_page(cs, s, got, err)) return true;
    dip_error_prefix(err, "%s: row group %d, column %s", cs->f->name, cs->rg, cs->lf->path);
    return false;
}

void pq_stream_drop(PqChunkStream *cs)
{
    cs->lpos = cs->cd.nlevels;
    cs->vpos = cs->cd.vals.n;
    cs->rows_avail = 0;
}

static bool stream_take(PqChunkStream *cs, PqScratch *s, int64_t rows, bool last,
                        PqColumnData *view, DipError *err)
{
    const PqLeaf *lf = cs->lf;
    PqColumnData *cd = &cs->cd;
    bool got;
    if (last) {
        /* the row group's final rows: the chunk must end with them */
        while (!cs->ended)
            if (!stream_next_page(cs, s, &got, err)) return false;
    } else if (lf->max_rep == 0) {
        while (cd->nlevels - cs->lpos < rows && !cs->ended)
            if (!stream_next_page(cs, s, &got, err)) return false;
    } else {
        /* a row is complete once the next one has started */
        while (cs->rows_avail <= rows && !cs->ended)
            if (!stream_next_page(cs, s, &got, err)) return false;
    }
    int64_t avail = cd->nlevels - cs->lpos;
    int64_t take;
    if (lf->max_rep == 0) {
        if (avail < rows || (last && avail != rows))
            return dip_error_set(err, DIP_ERR_DATA,
                                 "column has %lld values, row group has %lld rows",
                                 (long long)cs->total_values, (long long)cs->g->num_rows);
        take = rows;
    } else {
        if (cs->rows_avail < rows || (last && cs->rows_avail != rows))
            return dip_error_set(err, DIP_ERR_DATA, "column has %lld rows, row group has %lld",
                                 (long long)cs->total_rows, (long long)cs->g->num_rows);
        take = avail;
        if (cs->rows_avail > rows) {
            /* up to the start of row rows + 1 */
            const int16_t *rep = cd->rep + cs->lpos;
            int64_t seen = 0;
            for (take = 0; take < avail; take++)
                if (rep[take] == 0 && seen++ == rows) break;
        }
        cs->rows_avail -= rows;
    }
    int64_t nv = take;
    if (lf->max_def > 0) {
        const int16_t *def = cd->def + cs->lpos;
        const int16_t md = lf->max_def;
        nv = 0;
        for (int64_t i = 0; i < take; i++)
            nv += def[i] == md;
    }
    if (nv > cd->vals.n - cs->vpos)
        return dip_error_set(err, DIP_ERR_INTERNAL, "levels promise %lld values, %lld decoded",
                             (long long)nv, (long long)(cd->vals.n - cs->vpos));
    memset(view, 0, sizeof *view);
    view->nlevels = take;
    view->def = cd->def ? cd->def + cs->lpos : NULL;
    view->rep = cd->rep ? cd->rep + cs->lpos : NULL;
    view->vals.n = nv;
    size_t w = (size_t)lf->width;
    if (w)
        view->vals.fixed = cd->vals.fixed ? cd->vals.fixed + (size_t)cs->vpos * w : NULL;
    else
        view->vals.offsets = cd->vals.offsets ? cd->vals.offsets + cs->vpos : NULL;
    view->vals.data = cd->vals.data;
    view->vals.data_len = cd->vals.data_len;
    cs->lpos += take;
    cs->vpos += nv;
    return true;
}

bool pq_stream_take(PqChunkStream *cs, PqScratch *s, int64_t rows, bool last, PqColumnData *view,
                    DipError *err)
{
    if (stream_take(cs, s, rows, last, view, err)) return true;
    dip_error_prefix(err, "%s: row group %d, column %s", cs->f->name, cs->rg, cs->lf->path);
    return false;
}
