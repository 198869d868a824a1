/*
 * sigv4.c: AWS Signature Version 4 for S3 requests, written from the AWS documentation
 * ("Authenticating Requests: Using the Authorization Header", "Create a canonical request",
 * "Create a string to sign", "Calculate the signature").
 *
 *   CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n
 *                      CanonicalHeaders (name:value\n each, sorted) \n SignedHeaders \n
 *                      HashedPayload
 *   StringToSign     = "AWS4-HMAC-SHA256" \n amz-date \n scope \n hex(SHA256(CanonicalRequest))
 *   SigningKey       = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service),
 *                           "aws4_request")
 *
 * S3 differs from other services in one point that matters here: the canonical URI is the
 * path encoded once (not twice), so the encoded path we send is also the canonical URI.
 */
#include "store/s3_internal.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char HEX_UPPER[] = "0123456789ABCDEF";

static bool is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void s3_uri_encode(Buf *out, const char *s, size_t n, bool keep_slash)
{
    buf_reserve(out, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            buf_append_byte(out, c);
        } else {
            uint8_t esc[3] = {'%', (uint8_t)HEX_UPPER[c >> 4], (uint8_t)HEX_UPPER[c & 15]};
            buf_append(out, esc, 3);
        }
    }
}

typedef struct EncodedParam {
    char *name;
    char *value;
} EncodedParam;

static int cmp_param(const void *a, const void *b)
{
    const EncodedParam *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

void s3_canonical_query(Buf *out, const S3QueryParam *params, size_t n)
{
    if (n == 0) return;
    EncodedParam *enc = dip_calloc(n, sizeof *enc);
    Buf tmp;
    buf_init(&tmp);
    for (size_t i = 0; i < n; i++) {
        buf_clear(&tmp);
        s3_uri_encode(&tmp, params[i].name, strlen(params[i].name), false);
        enc[i].name = dip_strdup(buf_cstr(&tmp));
        buf_clear(&tmp);
        const char *v = params[i].value ? params[i].value : "";
        s3_uri_encode(&tmp, v, strlen(v), false);
        enc[i].value = dip_strdup(buf_cstr(&tmp));
    }
    buf_free(&tmp);
    /* SigV4 sorts by the encoded names (byte order), then by value for repeated names */
    qsort(enc, n, sizeof *enc, cmp_param);
    for (size_t i = 0; i < n; i++) {
        if (i) buf_append_byte(out, '&');
        buf_append_str(out, enc[i].name);
        buf_append_byte(out, '=');
        buf_append_str(out, enc[i].value);
        free(enc[i].name);
        free(enc[i].value);
    }
    free(enc);
}

static int cmp_header(const void *a, const void *b)
{
    return strcmp(((const S3Header *)a)->name, ((const S3Header *)b)->name);
}

/* Header values are trimmed and inner runs of spaces collapse to one (SigV4 "Trimall"). */
static void append_trimmed(Buf *out, const char *v)
{
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    bool in_space = false;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (c == ' ' || c == '\t') {
            if (!in_space) buf_append_byte(out, ' ');
            in_space = true;
        } else {
            buf_append_byte(out, (uint8_t)c);
            in_space = false;
        }
    }
}

static void hmac_sha256(const void *key, size_t keylen, const void *msg, size_t n, uint8_t out[32])
{
    unsigned int outlen = 32;
    /* HMAC() is OpenSSL's one-shot API (not deprecated in 3.0, unlike HMAC_CTX) */
    HMAC(EVP_sha256(), key, (int)keylen, msg, n, out, &outlen);
}

void sigv4_format_date(int64_t unix_s, char out[17])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

void sigv4_authorization(const SigV4Request *rq, Buf *auth, Buf *canonical)
{
    S3Header *hs = dip_calloc(rq->n_headers ? rq->n_headers : 1, sizeof *hs);
    memcpy(hs, rq->headers, rq->n_headers * sizeof *hs);
    qsort(hs, rq->n_headers, sizeof *hs, cmp_header);

    Buf signed_headers;
    buf_init(&signed_headers);
    for (size_t i = 0; i < rq->n_headers; i++) {
        if (i) buf_append_byte(&signed_headers, ';');
        buf_append_str(&signed_headers, hs[i].name);
    }

    Buf creq;
    buf_init(&creq);
    buf_printf(&creq, "%s\n%s\n%s\n", rq->method, rq->canonical_uri, rq->canonical_query);
    for (size_t i = 0; i < rq->n_headers; i++) {
        buf_append_str(&creq, hs[i].name);
        buf_append_byte(&creq, ':');
        append_trimmed(&creq, hs[i].value);
        buf_append_byte(&creq, '\n');
    }
    buf_printf(&creq, "\n%s\n%s", buf_cstr(&signed_headers), rq->payload_hash);
    free(hs);

    uint8_t digest[32];
    char creq_hex[65];
    dip_sha256(creq.data, creq.len, digest);
    dip_hex(digest, 32, creq_hex);

    char date[9];
    memcpy(date, rq->amz_date, 8);
    date[8] = '\0';

    Buf sts;
    buf_init(&sts);
    buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", rq->amz_date, date,
               rq->region, rq->service, creq_hex);

    Buf k0;
    buf_init(&k0);
    buf_printf(&k0, "AWS4%s", rq->secret_key);
    uint8_t k_date[32], k_region[32], k_service[32], k_signing[32], sig[32];
    hmac_sha256(k0.data, k0.len, date, 8, k_date);
    hmac_sha256(k_date, 32, rq->region, strlen(rq->region), k_region);
    hmac_sha256(k_region, 32, rq->service, strlen(rq->service), k_service);
    hmac_sha256(k_service, 32, "aws4_request", 12, k_signing);
    hmac_sha256(k_signing, 32, sts.data, sts.len, sig);
    /* the secret-derived key material does not outlive this call */
    memset(k0.data, 0, k0.len);
    memset(k_signing, 0, sizeof k_signing);
    buf_free(&k0);

    char sig_hex[65];
    dip_hex(sig, 32, sig_hex);
    buf_clear(auth);
    buf_printf(auth,
               "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request,SignedHeaders=%s,"
               "Signature=%s",
               rq->access_key, date, rq->region, rq->service, buf_cstr(&signed_headers), sig_hex);
    if (canonical) {
        buf_clear(canonical);
        buf_append(canonical, creq.data, creq.len);
    }
    buf_free(&sts);
    buf_free(&creq);
    buf_free(&signed_headers);
}
