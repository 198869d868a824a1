/*
 * rle.c: the RLE / bit-packing hybrid of parquet-format Encodings.md ("Run Length Encoding
 * / Bit-Packing Hybrid (RLE = 3)"), used for definition and repetition levels, booleans
 * (RLE-encoded in v2 pages) and dictionary indices, plus the bit unpacking that
 * DELTA_BINARY_PACKED shares.
 *
 * Unpacking loads 64 bits at the byte holding a value's first bit and shifts: with a bit
 * width <= 32 and a shift <= 7 the value always sits inside that word. The width is turned
 * into a compile-time constant by a switch over an always-inline body, so each width gets a
 * loop with constant shifts and masks (the "fast unpack"); only the last few values of a
 * buffer, where an 8-byte load would overrun, take the bit-by-bit path.
 */
#include "parquet/pq_internal.h"

#include <string.h>

bool uleb_read(const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end) return false;
        uint8_t b = *p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            *pp = p;
            return true;
        }
    }
    return false;
}

static uint64_t slow_bits(const uint8_t *p, size_t avail, uint64_t bit, int bw)
{
    uint64_t v = 0;
    for (int b = 0; b < bw; b++) {
        uint64_t bi = bit + (uint64_t)b;
        if ((bi >> 3) < avail) v |= (uint64_t)((p[bi >> 3] >> (bi & 7)) & 1) << b;
    }
    return v;
}

static inline __attribute__((always_inline)) void
unpack32_body(const uint8_t *p, size_t avail, const int bw, uint32_t *out, int64_t n)
{
    const uint64_t mask = bw >= 64 ? ~0ull : ((1ull << bw) - 1);
    int64_t i = 0;
    /* values whose 8-byte window fits in the buffer */
    int64_t fast = avail >= 8 ? (int64_t)(((avail - 8) * 8) / (unsigned)bw) + 1 : 0;
    if (fast > n) fast = n;
    for (; i + 8 <= fast; i += 8) {
        /* 8 values span exactly bw bytes: base advances by bw bytes per group */
        const uint8_t *g = p + (size_t)(i / 8) * (size_t)bw;
        for (int k = 0; k < 8; k++) {
            uint64_t w;
            memcpy(&w, g + (k * bw) / 8, 8);
            out[i + k] = (uint32_t)((w >> ((k * bw) & 7)) & mask);
        }
    }
    for (; i < fast; i++) {
        uint64_t bit = (uint64_t)i * (uint64_t)bw;
        uint64_t w;
        memcpy(&w, p + (bit >> 3), 8);
        out[i] = (uint32_t)((w >> (bit & 7)) & mask);
    }
    for (; i < n; i++)
        out[i] = (uint32_t)slow_bits(p, avail, (uint64_t)i * (uint64_t)bw, bw);
}

void bit_unpack_u32(const uint8_t *p, size_t avail, int bw, uint32_t *out, int64_t n)
{
    if (n <= 0) return;
    switch (bw) {
    case 0:
        memset(out, 0, (size_t)n * 4);
        return;
        // clang-format off
#define C(k)                                                                                       \
    case k:                                                                                        \
        unpack32_body(p, avail, k, out, n);                                                        \
        return;
        C(1)
        C(2) C(3) C(4) C(5) C(6) C(7) C(8) C(9) C(10) C(11) C(12) C(13) C(14) C(15) C(16) C(17)
            C(18) C(19) C(20) C(21) C(22) C(23) C(24) C(25) C(26) C(27) C(28) C(29) C(30) C(31)
                C(32)
#undef C
            // clang-format on
            default : memset(out, 0, (size_t)n * 4);
        return; /* callers reject bw > 32 */
    }
}

static inline __attribute__((always_inline)) void
unpack64_body(const uint8_t *p, size_t avail, const int bw, uint64_t *out, int64_t n)
{
    /* bw <= 56: a value plus its shift (<= 7) fits one 64-bit window */
    const uint64_t mask = (1ull << bw) - 1;
    int64_t i = 0;
    int64_t fast = avail >= 8 ? (int64_t)(((avail - 8) * 8) / (unsigned)bw) + 1 : 0;
    if (fast > n) fast = n;
    for (; i + 8 <= fast; i += 8) {
        const uint8_t *g = p + (size_t)(i / 8) * (size_t)bw;
        for (int k = 0; k < 8; k++) {
            uint64_t w;
            memcpy(&w, g + (k * bw) / 8, 8);
            out[i + k] = (w >> ((k * bw) & 7)) & mask;
        }
    }
    for (; i < fast; i++) {
        uint64_t bit = (uint64_t)i * (uint64_t)bw;
        uint64_t w;
        memcpy(&w, p + (bit >> 3), 8);
        out[i] = (w >> (bit & 7)) & mask;
    }
    for (; i < n; i++)
        out[i] = slow_bits(p, avail, (uint64_t)i * (uint64_t)bw, bw);
}

void bit_unpack_u64(const uint8_t *p, size_t avail, int bw, uint64_t *out, int64_t n)
{
    if (n <= 0) return;
    switch (bw) {
    case 0:
        memset(out, 0, (size_t)n * 8);
        return;
        // clang-format off
#define C(k)                                                                                       \
    case k:                                                                                        \
        unpack64_body(p, avail, k, out, n);                                                        \
        return;
        C(1)
        C(2) C(3) C(4) C(5) C(6) C(7) C(8) C(9) C(10) C(11) C(12) C(13) C(14) C(15) C(16) C(17)
            C(18) C(19) C(20) C(21) C(22) C(23) C(24) C(25) C(26) C(27) C(28) C(29) C(30) C(31)
                C(32) C(33) C(34) C(35) C(36) C(37) C(38) C(39) C(40) C(41) C(42) C(43) C(44) C(45)
                    C(46) C(47) C(48) C(49) C(50) C(51) C(52) C(53) C(54) C(55) C(56)
#undef C
            // clang-format on
            default : break;
    }
    const uint64_t mask = bw >= 64 ? ~0ull : ((1ull << bw) - 1);
    for (int64_t i = 0; i < n; i++) {
        uint64_t bit = (uint64_t)i * (uint64_t)bw;
        size_t byte = bit >> 3;
        unsigned sh = bit & 7;
        if (byte + 16 <= avail) {
            unsigned __int128 w;
            memcpy(&w, p + byte, 16);
            out[i] = (uint64_t)(w >> sh) & mask;
        } else {
            out[i] = slow_bits(p, avail, bit, bw);
        }
    }
}

void rle_init(RleDecoder *d, const uint8_t *p, size_t n, int bw)
{
    memset(d, 0, sizeof *d);
    d->p = p;
    d->end = p + n;
    d->bw = bw;
}

/* Starts the next run. */
static bool next_run(RleDecoder *d, DipError *err)
{
    uint64_t h;
    if (!uleb_read(&d->p, d->end, &h))
        return dip_error_set(err, DIP_ERR_DATA,
                             "RLE/bit-packed data ends before all values "
                             "were read");
    if (h & 1) {
        uint64_t groups = h >> 1;
        size_t avail = (size_t)(d->end - d->p);
        uint64_t bytes = groups * (uint64_t)d->bw;
        if (groups > ((uint64_t)1 << 40))
            return dip_error_set(err, DIP_ERR_DATA, "bit-packed run too long");
        uint64_t vals = groups * 8;
        if (bytes > avail) {
            /* a truncated final run: only the values whose bits are present */
            vals = d->bw ? (uint64_t)avail * 8 / (unsigned)d->bw : vals;
            bytes = avail;
        }
        if (vals == 0) return dip_error_set(err, DIP_ERR_DATA, "empty bit-packed run");
        if (vals > UINT32_MAX) vals = UINT32_MAX;
        d->bp = d->p;
        d->bp_left = (uint32_t)vals;
        d->bp_pos = 0;
        d->p += bytes;
    } else {
        uint64_t cnt = h >> 1;
        if (cnt == 0) return dip_error_set(err, DIP_ERR_DATA, "empty RLE run");
        if (cnt > UINT32_MAX)
            return dip_error_set(err, DIP_ERR_DATA, "RLE run longer than 2^32 values");
        int nb = (d->bw + 7) / 8;
        if (d->end - d->p < nb) return dip_error_set(err, DIP_ERR_DATA, "truncated RLE run value");
        uint32_t v = 0;
        for (int i = 0; i < nb; i++)
            v |= (uint32_t)d->p[i] << (8 * i);
        d->p += nb;
        d->rle_value = v;
        d->rle_left = (uint32_t)cnt;
    }
    return true;
}

#define RLE_GET(NAME, T)                                                                           \
    bool NAME(RleDecoder *d, T *out, int64_t n, DipError *err)                                     \
    {                                                                                              \
        uint32_t tmp[256];                                                                         \
        while (n > 0) {                                                                            \
            if (d->rle_left) {                                                                     \
                int64_t k = d->rle_left < n ? d->rle_left : n;                                     \
                T v = (T)d->rle_value;                                                             \
                for (int64_t i = 0; i < k; i++)                                                    \
                    out[i] = v;                                                                    \
                out += k;                                                                          \
                n -= k;                                                                            \
                d->rle_left -= (uint32_t)k;                                                        \
            } else if (d->bp_left) {                                                               \
                int64_t k = d->bp_left < n ? d->bp_left : n;                                       \
                size_t avail = (size_t)(d->p - d->bp);                                             \
                /* unpack from a byte-aligned position: groups of 8 values */                      \
                while (k > 0) {                                                                    \
                    int64_t m = k > 256 ? 256 : k;                                                 \
                    uint32_t pos = d->bp_pos;                                                      \
                    size_t byte = ((size_t)(pos / 8)) * (size_t)d->bw;                             \
                    uint32_t skip = pos % 8;                                                       \
                    int64_t want = m + skip;                                                       \
                    if (want > 256) {                                                              \
                        want = 256;                                                                \
                        m = want - skip;                                                           \
                    }                                                                              \
                    if (sizeof(T) == 4 && skip == 0) {                                             \
                        bit_unpack_u32(d->bp + byte, avail - byte, d->bw, (uint32_t *)out, m);     \
                    } else {                                                                       \
                        bit_unpack_u32(d->bp + byte, avail - byte, d->bw, tmp, want);              \
                        for (int64_t i = 0; i < m; i++)                                            \
                            out[i] = (T)tmp[skip + i];                                             \
                    }                                                                              \
                    out += m;                                                                      \
                    n -= m;                                                                        \
                    k -= m;                                                                        \
                    d->bp_pos += (uint32_t)m;                                                      \
                    d->bp_left -= (uint32_t)m;                                                     \
                }                                                                                  \
            } else if (!next_run(d, err)) {                                                        \
                return false;                                                                      \
            }                                                                                      \
        }                                                                                          \
        return true;                                                                               \
    }

RLE_GET(rle_get_u32, uint32_t)
RLE_GET(rle_get_u16, uint16_t)
RLE_GET(rle_get_u8, uint8_t)
