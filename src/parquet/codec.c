/*
 * codec.c: page decompression for every CompressionCodec of parquet.thrift except LZO.
 *
 * Each codec must produce exactly the uncompressed_page_size the page header promised;
 * more or fewer bytes is corruption. GZIP pages may hold several concatenated members
 * (some writers emit one per flush), so inflate restarts after each member. "LZ4" is the
 * Hadoop framing (big-endian uncompressed and compressed block sizes before each raw LZ4
 * block); some writers (old parquet-cpp) wrote raw LZ4 blocks under that codec, so when
 * the framing does not parse we fall back to one raw block, then to the LZ4 frame format,
 * as Arrow does.
 */
#include "parquet/pq_internal.h"

#include <brotli/decode.h>
#include <lz4.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static bool bad(DipError *err, const char *codec, const char *what)
{
    return dip_error_set(err, DIP_ERR_DATA, "%s decompression failed: %s", codec, what);
}

static bool gzip_all(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len,
                     DipError *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK) /* 32: accept gzip and zlib headers */
        return dip_error_set(err, DIP_ERR_INTERNAL, "zlib inflateInit2 failed");
    zs.next_in = (Bytef *)src;
    zs.next_out = dst;
    size_t in_left = src_len, out_left = dst_len;
    bool ok = true;
    /* each iteration makes progress or ends: bounded by the input size */
    for (int iter = 0; ok; iter++) {
        uInt in_chunk = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
        uInt out_chunk = out_left > (1u << 30) ? (1u << 30) : (uInt)out_left;
        zs.avail_in = in_chunk;
        zs.avail_out = out_chunk;
        int rc = inflate(&zs, Z_NO_FLUSH);
        in_left -= in_chunk - zs.avail_in;
        out_left -= out_chunk - zs.avail_out;
        if (rc == Z_STREAM_END) {
            /* another member may follow (trailing zero padding is tolerated) */
            size_t k = 0;
            const uint8_t *rest = zs.next_in;
            while (k < in_left && rest[k] == 0)
                k++;
            if (k == in_left) break;
            if (inflateReset(&zs) != Z_OK) {
                ok = bad(err, "GZIP", "cannot reset for the next member");
                break;
            }
            continue;
        }
        if (rc == Z_BUF_ERROR && out_left == 0) {
            ok = bad(err, "GZIP", "more data than the page header's uncompressed size");
            break;
        }
        if (rc != Z_OK) {
            ok = bad(err, "GZIP", zs.msg ? zs.msg : "corrupt stream");
            break;
        }
        if (in_left == 0 && zs.avail_in == 0 && out_left > 0 && rc == Z_OK &&
            (in_chunk - zs.avail_in) == 0 && (out_chunk - zs.avail_out) == 0) {
            ok = bad(err, "GZIP", "truncated stream");
            break;
        }
        if (iter > (1 << 26)) {
            ok = bad(err, "GZIP", "no progress");
            break;
        }
    }
    inflateEnd(&zs);
    if (ok && out_left != 0)
        ok = bad(err, "GZIP", "fewer bytes than the page header's uncompressed size");
    return ok;
}

static bool lz4_hadoop(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len)
{
    size_t in = 0, out = 0;
    while (in < src_len) {
        if (src_len - in < 8) return false;
        uint32_t ulen = (uint32_t)src[in] << 24 | (uint32_t)src[in + 1] << 16 |
                        (uint32_t)src[in + 2] << 8 | src[in + 3];
        uint32_t clen = (uint32_t)src[in + 4] << 24 | (uint32_t)src[in + 5] << 16 |
                        (uint32_t)src[in + 6] << 8 | src[in + 7];
        in += 8;
        if (clen > src_len - in || ulen > dst_len - out || clen > INT32_MAX || ulen > INT32_MAX)
            return false;
        int n =
            LZ4_decompress_safe((const char *)src + in, (char *)dst + out, (int)clen, (int)ulen);
        if (n < 0 || (uint32_t)n != ulen) return false;
        in += clen;
        out += ulen;
    }
    return out == dst_len;
}

static bool lz4_frame(const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len)
{
    LZ4F_dctx *ctx;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) return false;
    size_t in = 0, out = 0;
    bool ok = false;
    for (int iter = 0; iter < (1 << 24); iter++) {
        size_t isz = src_len - in, osz = dst_len - out;
        size_t rc = LZ4F_decompress(ctx, dst + out, &osz, src + in, &isz, NULL);
        if (LZ4F_isError(rc)) break;
        in += isz;
        out += osz;
        if (rc == 0 && in == src_len) {
            ok = out == dst_len;
            break;
        }
        if (isz == 0 && osz == 0) break;
    }
    LZ4F_freeDecompressionContext(ctx);
    return ok;
}

bool pq_decompress(int codec, const uint8_t *src, size_t src_len, uint8_t *dst, size_t dst_len,
                   DipError *err)
{
    switch (codec) {
    case PQC_UNCOMPRESSED:
        if (src_len != dst_len)
            return dip_error_set(err, DIP_ERR_DATA,
                                 "uncompressed page: compressed size %zu != "
                                 "uncompressed size %zu",
                                 src_len, dst_len);
        memcpy(dst, src, dst_len);
        return true;
    case PQC_SNAPPY: {
        size_t n;
        if (snappy_uncompressed_length((const char *)src, src_len, &n) != SNAPPY_OK)
            return bad(err, "SNAPPY", "bad length header");
        if (n != dst_len) return bad(err, "SNAPPY", "length differs from the page header");
        if (snappy_uncompress((const char *)src, src_len, (char *)dst, &n) != SNAPPY_OK ||
            n != dst_len)
            return bad(err, "SNAPPY", "corrupt stream");
        return true;
    }
    case PQC_GZIP:
        return gzip_all(src, src_len, dst, dst_len, err);
    case PQC_ZSTD: {
        size_t n = ZSTD_decompress(dst, dst_len, src, src_len);
        if (ZSTD_isError(n)) return bad(err, "ZSTD", ZSTD_getErrorName(n));
        if (n != dst_len)
            return bad(err, "ZSTD", "fewer bytes than the page header's uncompressed size");
        return true;
    }
    case PQC_LZ4_RAW: {
        if (src_len > INT32_MAX || dst_len > INT32_MAX)
            return bad(err, "LZ4_RAW", "page too large");
        int n = LZ4_decompress_safe((const char *)src, (char *)dst, (int)src_len, (int)dst_len);
        if (n < 0 || (size_t)n != dst_len)
            return bad(err, "LZ4_RAW", "corrupt block or wrong size");
        return true;
    }
    case PQC_LZ4: {
        if (lz4_hadoop(src, src_len, dst, dst_len)) return true;
        if (src_len <= INT32_MAX && dst_len <= INT32_MAX) {
            int n = LZ4_decompress_safe((const char *)src, (char *)dst, (int)src_len, (int)dst_len);
            if (n >= 0 && (size_t)n == dst_len) return true;
        }
        if (lz4_frame(src, src_len, dst, dst_len)) return true;
        return bad(err, "LZ4", "neither Hadoop-framed, raw nor frame-format LZ4");
    }
    case PQC_BROTLI: {
        size_t n = dst_len;
        if (BrotliDecoderDecompress(src_len, src, &n, dst) != BROTLI_DECODER_RESULT_SUCCESS)
            return bad(err, "BROTLI", "corrupt stream or larger than the page header says");
        if (n != dst_len)
            return bad(err, "BROTLI", "fewer bytes than the page header's uncompressed size");
        return true;
    }
    case PQC_LZO:
        return dip_error_set(err, DIP_ERR_UNSUPPORTED, "codec LZO is not supported");
    default:
        return dip_error_set(err, DIP_ERR_DATA, "unknown compression codec %d", codec);
    }
}
