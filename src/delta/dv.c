/*
 * dv.c: deletion vectors (PROTOCOL.md "Deletion Vectors", appendix "Deletion Vector
 * Format" and "Deletion Vector File Storage Format"; RoaringFormatSpec for the 32-bit
 * bitmaps and its 64-bit "portable" extension).
 *
 * Layout we decode, all ours (no libroaring):
 *   DV file:   version byte (1), then per DV at `offset`: dataSize (u32 BE), bitmapData,
 *              CRC-32 of bitmapData (u32 BE).
 *   bitmap:    magic 1681511377 (u32 LE), numBuckets (u64 LE), per bucket: key (u32 LE,
 *              high 32 bits of the row index) + a 32-bit portable Roaring bitmap.
 *   32-bit:    cookie 12346 + container count, or 12347 | (count-1) << 16 + run-flag bitset;
 *              per container key and cardinality-1 (u16 LE each); offsets (u32 LE) unless a
 *              run cookie with fewer than 4 containers; then array (u16 values), bitmap
 *              (1024 u64 LE words) or run (count u16, then start/length-1 u16 pairs)
 *              containers.
 * Inline DVs are the bitmap Z85-encoded (padded to a multiple of 4 bytes).
 * Every count read from input is checked against the bytes left and against max_values.
 */
#include "delta/delta_internal.h"

#include <stdlib.h>
#include <string.h>

#define DV_MAGIC 1681511377u        /* portable 64-bit format, little-endian */
#define DV_MAGIC_NATIVE 1681511376u /* Delta's older "native" RoaringBitmapArray layout */
#define ROARING_COOKIE_NORUN 12346u
#define ROARING_COOKIE_RUN 12347u

static const char Z85_CHARS[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

bool delta_z85_decode(const char *s, size_t len, uint8_t *out)
{
    int8_t rev[256]; /* built per call (cheap, and no shared state between threads) */
    memset(rev, -1, sizeof rev);
    for (int i = 0; i < 85; i++)
        rev[(unsigned char)Z85_CHARS[i]] = (int8_t)i;
    if (len % 5 != 0) return false;
    for (size_t i = 0; i < len; i += 5) {
        uint64_t v = 0;
        for (int k = 0; k < 5; k++) {
            int d = rev[(unsigned char)s[i + (size_t)k]];
            if (d < 0) return false;
            v = v * 85 + (uint64_t)d;
        }
        if (v > UINT32_MAX) return false;
        size_t o = i / 5 * 4;
        out[o] = (uint8_t)(v >> 24);
        out[o + 1] = (uint8_t)(v >> 16);
        out[o + 2] = (uint8_t)(v >> 8);
        out[o + 3] = (uint8_t)v;
    }
    return true;
}

bool delta_dv_relative_path(const DeltaDeletionVector *dv, Buf *out, DipError *err)
{
    const char *p = dv->path_or_inline ? dv->path_or_inline : "";
    size_t n = strlen(p);
    if (n < 20)
        return dip_error_set(err, DIP_ERR_DATA,
                             "deletion vector \"%s\": pathOrInlineDv shorter than the 20 "
                             "characters of an encoded UUID",
                             p);
    uint8_t u[16];
    if (!delta_z85_decode(p + n - 20, 20, u))
        return dip_error_set(err, DIP_ERR_DATA, "deletion vector \"%s\": UUID is not valid Z85", p);
    char uuid[40];
    dip_format_uuid(u, uuid);
    if (n > 20) {
        buf_append(out, p, n - 20);
        buf_append_byte(out, '/');
    }
    buf_printf(out, "deletion_vector_%s.bin", uuid);
    return true;
}

typedef struct RowSink {
    uint64_t *rows;
    size_t n;
    size_t cap;
    uint64_t max;
} RowSink;

static bool sink_push(RowSink *s, uint64_t v)
{
    if (s->n >= s->max) return false;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->rows = dip_realloc(s->rows, s->cap * sizeof *s->rows);
    }
    s->rows[s->n++] = v;
    return true;
}

#define BAD(...) dip_error_set(err, DIP_ERR_DATA, "deletion vector bitmap: " __VA_ARGS__)

/* One 32-bit portable Roaring bitmap; values get `high` as their upper 32 bits. */
static bool decode_roaring32(ByteReader *r, uint64_t high, RowSink *sink, DipError *err)
{
    uint32_t cookie;
    if (!br_read_le32(r, &cookie))
        return BAD("truncated at byte %zu (32-bit bitmap cookie)", r->pos);
    uint32_t size;
    bool has_run = (cookie & 0xFFFF) == ROARING_COOKIE_RUN;
    const uint8_t *run_flags = NULL;
    if (has_run) {
        size = (cookie >> 16) + 1;
        size_t fb = (size + 7) / 8;
        if (r->n - r->pos < fb) return BAD("truncated at byte %zu (run flags)", r->pos);
        run_flags = r->p + r->pos;
        r->pos += fb;
    } else if (cookie == ROARING_COOKIE_NORUN) {
        if (!br_read_le32(r, &size)) return BAD("truncated at byte %zu (container count)", r->pos);
    } else {
        return BAD("unknown cookie %u at byte %zu", cookie, r->pos - 4);
    }
    if (size > 65536) return BAD("%u containers (at most 65536)", size);
    if (r->n - r->pos < (size_t)size * 4)
        return BAD("truncated at byte %zu (container headers)", r->pos);
    const uint8_t *hdr = r->p + r->pos;
    r->pos += (size_t)size * 4;
    bool has_offsets = !has_run || size >= 4;
    if (has_offsets) {
        if (r->n - r->pos < (size_t)size * 4) return BAD("truncated at byte %zu (offsets)", r->pos);
        r->pos += (size_t)size * 4; /* containers follow in order; offsets are redundant */
    }
    int64_t prev_key = -1;
    for (uint32_t c = 0; c < size; c++) {
        uint32_t key = (uint32_t)hdr[c * 4] | (uint32_t)hdr[c * 4 + 1] << 8;
        uint32_t card = ((uint32_t)hdr[c * 4 + 2] | (uint32_t)hdr[c * 4 + 3] << 8) + 1;
        if ((int64_t)key <= prev_key)
            return BAD("container keys not ascending (%u after %lld)", key, (long long)prev_key);
        prev_key = key;
        uint64_t base = high << 32 | (uint64_t)key << 16;
        bool is_run = run_flags && (run_flags[c / 8] >> (c % 8)) & 1;
        if (is_run) {
            uint16_t nruns;
            if (!br_read_le16(r, &nruns)) return BAD("truncated at byte %zu (run count)", r->pos);
            if (r->n - r->pos < (size_t)nruns * 4)
                return BAD("truncated at byte %zu (runs)", r->pos);
            uint64_t got = 0;
            int64_t last = -1;
            for (uint32_t k = 0; k < nruns; k++) {
                uint16_t start, lenm1;
                if (!br_read_le16(r, &start) || !br_read_le16(r, &lenm1))
                    return BAD("truncated run");
                if ((int64_t)start <= last || start + lenm1 > 65535)
                    return BAD("run %u of container %u out of order or past 65535", k, c);
                for (uint32_t v = start; v <= start + lenm1; v++)
                    if (!sink_push(sink, base | v))
                        return BAD("more rows than the deletion vector declares");
                got += lenm1 + 1;
                last = start + lenm1;
            }
            if (got != card)
                return BAD("run container %u holds %llu values, header says %u", c,
                           (unsigned long long)got, card);
        } else if (card <= 4096) {
            if (r->n - r->pos < (size_t)card * 2)
                return BAD("truncated at byte %zu (array container)", r->pos);
            int64_t last = -1;
            for (uint32_t k = 0; k < card; k++) {
                uint16_t v;
                if (!br_read_le16(r, &v)) return BAD("truncated array container");
                if ((int64_t)v <= last) return BAD("array container %u not strictly ascending", c);
                last = v;
                if (!sink_push(sink, base | v))
                    return BAD("more rows than the deletion vector declares");
            }
        } else {
            if (r->n - r->pos < 8192)
                return BAD("truncated at byte %zu (bitmap container)", r->pos);
            uint64_t got = 0;
            for (uint32_t w = 0; w < 1024; w++) {
                ByteReader wr = {r->p, r->n, r->pos + (size_t)w * 8, false};
                uint64_t word;
                if (!br_read_le64(&wr, &word)) return BAD("truncated bitmap word");
                while (word) {
                    int bit = __builtin_ctzll(word);
                    if (!sink_push(sink, base | (uint64_t)(w * 64 + (uint32_t)bit)))
                        return BAD("more rows than the deletion vector declares");
                    word &= word - 1;
                    got++;
                }
            }
            r->pos += 8192;
            if (got != card)
                return BAD("bitmap container %u holds %llu values, header says %u", c,
                           (unsigned long long)got, card);
        }
    }
    return true;
}

static uint32_t bswap32(uint32_t v)
{
    return __builtin_bswap32(v);
}

/* The "native" RoaringBitmapArray layout (PROTOCOL.md's inline example uses it): magic, the
 * number of 32-bit bitmaps, then per bitmap its byte size and the bitmap; bitmap i holds
 * the rows whose upper 32 bits are i. The example stores these integers big-endian; we take
 * the byte order from how the magic number reads. */
static bool decode_native(ByteReader *r, bool little, uint64_t max_values, uint64_t **rows,
                          size_t *nrows, DipError *err)
{
    uint32_t count;
    if (!br_read_le32(r, &count)) return BAD("truncated bitmap count");
    if (!little) count = bswap32(count);
    if (count > (r->n - r->pos) / 4) return BAD("%u bitmaps in %zu bytes", count, r->n);
    RowSink sink = {0};
    sink.max = max_values;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t size;
        if (!br_read_le32(r, &size)) {
            free(sink.rows);
            return BAD("truncated bitmap size");
        }
        if (!little) size = bswap32(size);
        if (size > r->n - r->pos) {
            free(sink.rows);
            return BAD("bitmap %u: %u bytes, only %zu left", i, size, r->n - r->pos);
        }
        ByteReader sub = {r->p + r->pos, size, 0, false};
        if (!decode_roaring32(&sub, i, &sink, err)) {
            free(sink.rows);
            return false;
        }
        r->pos += size;
    }
    if (r->pos != r->n) {
        free(sink.rows);
        return BAD("%zu trailing bytes after the bitmap", r->n - r->pos);
    }
    *rows = sink.rows;
    *nrows = sink.n;
    return true;
}

bool delta_dv_decode_bitmap(const uint8_t *p, size_t n, uint64_t max_values, uint64_t **rows,
                            size_t *nrows, DipError *err)
{
    *rows = NULL;
    *nrows = 0;
    ByteReader r = {p, n, 0, false};
    uint32_t magic;
    if (!br_read_le32(&r, &magic)) return BAD("%zu bytes, too short for the magic number", n);
    if (magic == DV_MAGIC_NATIVE || magic == bswap32(DV_MAGIC_NATIVE))
        return decode_native(&r, magic == DV_MAGIC_NATIVE, max_values, rows, nrows, err);
    if (magic != DV_MAGIC) return BAD("magic number %u, expected %u", magic, DV_MAGIC);
    uint64_t nbuckets;
    if (!br_read_le64(&r, &nbuckets)) return BAD("truncated bucket count");
    if (nbuckets > (n - r.pos) / 8)
        return BAD("%llu buckets in %zu bytes", (unsigned long long)nbuckets, n);
    RowSink sink = {0};
    sink.max = max_values;
    int64_t prev = -1;
    for (uint64_t b = 0; b < nbuckets; b++) {
        uint32_t key;
        if (!br_read_le32(&r, &key)) {
            free(sink.rows);
            return BAD("truncated bucket key");
        }
        /* Delta requires the most significant bit of every key to be 0 */
        if (key & 0x80000000u || (int64_t)key <= prev) {
            free(sink.rows);
            return BAD("bucket key %u negative or not ascending", key);
        }
        prev = key;
        if (!decode_roaring32(&r, key, &sink, err)) {
            free(sink.rows);
            return false;
        }
    }
    if (r.pos != n) {
        free(sink.rows);
        return BAD("%zu trailing bytes after the bitmap", n - r.pos);
    }
    *rows = sink.rows;
    *nrows = sink.n;
    return true;
}

bool delta_dv_read(Store *table, const DeltaDeletionVector *dv, uint64_t **rows, size_t *n,
                   DipError *err)
{
    *rows = NULL;
    *n = 0;
    if (dv->size_in_bytes < 0 || dv->cardinality < 0)
        return dip_error_set(err, DIP_ERR_DATA, "deletion vector: negative size or cardinality");
    /* never allocate more rows than the descriptor promises */
    uint64_t max_values = (uint64_t)dv->cardinality;
    if (dv->storage_type == 'i') {
        const char *s = dv->path_or_inline ? dv->path_or_inline : "";
        size_t len = strlen(s);
        if (len % 5 != 0 || (size_t)dv->size_in_bytes > len / 5 * 4)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "inline deletion vector: %zu Z85 characters cannot hold "
                                 "sizeInBytes %d",
                                 len, (int)dv->size_in_bytes);
        uint8_t *raw = dip_malloc(len / 5 * 4 + 1);
        bool ok = delta_z85_decode(s, len, raw);
        if (!ok)
            dip_error_set(err, DIP_ERR_DATA, "inline deletion vector: not valid Z85");
        else
            ok = delta_dv_decode_bitmap(raw, (size_t)dv->size_in_bytes, max_values, rows, n, err);
        free(raw);
        if (ok && *n != (size_t)dv->cardinality) {
            free(*rows);
            *rows = NULL;
            return dip_error_set(err, DIP_ERR_DATA,
                                 "inline deletion vector: %zu rows, cardinality says %lld", *n,
                                 (long long)dv->cardinality);
        }
        return ok;
    }
    Buf name;
    buf_init(&name);
    if (dv->storage_type == 'u') {
        if (!delta_dv_relative_path(dv, &name, err)) {
            buf_free(&name);
            return false;
        }
    } else if (dv->storage_type == 'p') {
        Arena a;
        arena_init(&a, 4096);
        buf_append_str(&name, delta_path_decode(&a, dv->path_or_inline ? dv->path_or_inline : ""));
        arena_free(&a);
    } else {
        buf_free(&name);
        return dip_error_set(err, DIP_ERR_DATA, "deletion vector: storageType '%c' unknown",
                             dv->storage_type);
    }
    const char *fname = buf_cstr(&name);
    uint64_t off = dv->offset >= 0 ? (uint64_t)dv->offset : 0;
    size_t size = (size_t)dv->size_in_bytes;
    uint8_t *buf = dip_malloc(size + 8 + 1);
    uint8_t ver;
    bool ok = store_read_range(table, fname, 0, 1, &ver, err) &&
              store_read_range(table, fname, off, (uint64_t)size + 8, buf, err);
    /* dataSize, the bitmap, CRC-32 of the bitmap: big-endian around it (PROTOCOL.md) */
    ByteReader frame;
    br_init(&frame, buf, size + 8);
    uint32_t data_size = 0, want = 0;
    const uint8_t *bitmap = NULL;
    if (ok && !(br_read_be32(&frame, &data_size) && br_read_bytes(&frame, size, &bitmap) &&
                br_read_be32(&frame, &want)))
        ok = dip_error_set(err, DIP_ERR_INTERNAL, "%s: deletion vector frame", fname);
    if (!ok) {
        dip_error_prefix(err, "deletion vector %s", fname);
    } else if (ver != 1) {
        ok = dip_error_set(err, DIP_ERR_DATA,
                           "%s: deletion vector file format version %u, "
                           "expected 1",
                           fname, ver);
    } else if (data_size != (uint32_t)size) {
        ok = dip_error_set(err, DIP_ERR_DATA,
                           "%s: offset %llu: deletion vector dataSize %u, the log says "
                           "sizeInBytes %zu",
                           fname, (unsigned long long)off, data_size, size);
    } else {
        uint32_t got = dip_crc32(0, bitmap, size);
        if (want != got)
            ok = dip_error_set(err, DIP_ERR_DATA,
                               "%s: offset %llu: deletion vector checksum mismatch (stored "
                               "CRC-32 %08x, computed %08x)",
                               fname, (unsigned long long)off, want, got);
        else if (!delta_dv_decode_bitmap(buf + 4, size, max_values, rows, n, err)) {
            dip_error_prefix(err, "%s: offset %llu", fname, (unsigned long long)off);
            ok = false;
        } else if (*n != (size_t)dv->cardinality) {
            free(*rows);
            *rows = NULL;
            ok = dip_error_set(err, DIP_ERR_DATA,
                               "%s: offset %llu: deletion vector holds %zu rows, cardinality "
                               "says %lld",
                               fname, (unsigned long long)off, *n, (long long)dv->cardinality);
        }
    }
    free(buf);
    buf_free(&name);
    return ok;
}
