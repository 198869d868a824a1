/*
 * hash.c: SHA-256 and MD5 (OpenSSL EVP) for hk / hdiff, xxHash64 for in-memory hashing,
 * CRC-32 (zlib) for Parquet page CRCs and Delta deletion-vector checksums.
 */
#include "core/core.h"

#include <openssl/evp.h>
#include <xxhash.h>
#include <zlib.h>

void dip_sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

void dip_md5(const void *p, size_t n, uint8_t out[16])
{
    unsigned int len = 16;
    EVP_Digest(p, n, out, &len, EVP_md5(), NULL);
}

uint64_t dip_xxh64(const void *p, size_t n, uint64_t seed)
{
    return XXH64(p, n, seed);
}

void dip_hex(const uint8_t *p, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = '\0';
}

uint32_t dip_crc32(uint32_t crc, const void *p, size_t n)
{
    /* zlib takes uInt lengths: feed large inputs in pieces */
    const uint8_t *b = p;
    uLong c = crc;
    while (n > 0) {
        uInt chunk = n > 0x40000000u ? 0x40000000u : (uInt)n;
        c = crc32(c, b, chunk);
        b += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}
