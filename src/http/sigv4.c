/*
 * sigv4.c: AWS Signature Version 4, written from the AWS documentation ("Authenticating
 * Requests: Using the Authorization Header", "Create a canonical request", "Create a string
 * to sign", "Calculate the signature"), for S3 and Amazon OpenSearch (services "es", "aoss").
 *
 *   CanonicalRequest = Method \n CanonicalURI \n CanonicalQuery \n
 *                      CanonicalHeaders (name:value\n each, sorted) \n SignedHeaders \n
 *                      HashedPayload
 *   StringToSign     = "AWS4-HMAC-SHA256" \n amz-date \n scope \n hex(SHA256(CanonicalRequest))
 *   SigningKey       = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service),
 *                           "aws4_request")
 *
 * S3 differs from other services in one point that matters here: its canonical URI is the
 * path encoded once, as sent; every other service encodes the sent path once more.
 * OpenSearch Serverless ("aoss") also demands x-amz-content-sha256, so it is always signed.
 */
#include "http/http.h"

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

void http_uri_encode(Buf *out, const char *s, size_t n, bool keep_slash)
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

void http_canonical_query(Buf *out, const HttpQueryParam *params, size_t n)
{
    if (n == 0) return;
    EncodedParam *enc = dip_calloc(n, sizeof *enc);
    Buf tmp;
    buf_init(&tmp);
    for (size_t i = 0; i < n; i++) {
        buf_clear(&tmp);
        http_uri_encode(&tmp, params[i].name, strlen(params[i].name), false);
        enc[i].name = dip_strdup(buf_cstr(&tmp));
        buf_clear(&tmp);
        const char *v = params[i].value ? params[i].value : "";
        http_uri_encode(&tmp, v, strlen(v), false);
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
    return strcmp(((const HttpHeader *)a)->name, ((const HttpHeader *)b)->name);
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

void http_sigv4_format_date(int64_t unix_s, char out[17])
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

void http_sigv4_authorization(const HttpSigV4Request *rq, Buf *auth, Buf *canonical)
{
    HttpHeader *hs = dip_calloc(rq->n_headers ? rq->n_headers : 1, sizeof *hs);
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

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into a new string; a '%' not followed by two hex digits stays. */
static char *percent_decode(const char *s, size_t n)
{
    Buf b;
    buf_init(&b);
    buf_reserve(&b, n);
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hex_value(s[i + 1])) >= 0 &&
            (lo = hex_value(s[i + 2])) >= 0) {
            buf_append_byte(&b, (uint8_t)(hi << 4 | lo));
            i += 2;
        } else {
            buf_append_byte(&b, (uint8_t)s[i]);
        }
    }
    char *out = dip_strdup(buf_cstr(&b));
    buf_free(&b);
    return out;
}

/* The canonical query of a query string as sent ("b=2&a=1&c"): decoded, re-encoded, sorted. */
static void canonical_query_of(Buf *out, const char *q, size_t qn)
{
    size_t n = 0, cap = 8;
    HttpQueryParam *ps = dip_calloc(cap, sizeof *ps);
    size_t i = 0;
    while (i < qn) {
        const char *amp = memchr(q + i, '&', qn - i);
        size_t end = amp ? (size_t)(amp - q) : qn;
        if (end > i) {
            const char *eq = memchr(q + i, '=', end - i);
            size_t name_end = eq ? (size_t)(eq - q) : end;
            if (n == cap) {
                cap *= 2;
                ps = dip_realloc(ps, cap * sizeof *ps);
            }
            ps[n].name = percent_decode(q + i, name_end - i);
            ps[n].value = eq ? percent_decode(eq + 1, end - name_end - 1) : dip_strdup("");
            n++;
        }
        i = end + 1;
    }
    http_canonical_query(out, ps, n);
    for (size_t k = 0; k < n; k++) {
        free((char *)ps[k].name);
        free((char *)ps[k].value);
    }
    free(ps);
}

static struct curl_slist *append_header(struct curl_slist *l, Buf *tmp, const char *name,
                                        const char *value)
{
    buf_clear(tmp);
    buf_printf(tmp, "%s: %s", name, value);
    return curl_slist_append(l, buf_cstr(tmp));
}

bool http_sigv4_sign(const HttpAwsAuth *auth, const char *method, const char *url,
                     const HttpHeader *extra, size_t n_extra, const void *payload,
                     size_t payload_len, int64_t now_s, struct curl_slist **headers, DipError *err)
{
    const char *sep = strstr(url, "://");
    if (!sep || sep == url)
        return dip_error_set(err, DIP_ERR_CONFIG, "%s: expected scheme://host/path to sign", url);
    const char *authority = sep + 3;
    size_t al = strcspn(authority, "/?#");
    if (al == 0) return dip_error_set(err, DIP_ERR_CONFIG, "%s: no host in the URL to sign", url);
    const char *path = authority + al;
    size_t pl = strcspn(path, "?#");
    const char *query = path[pl] == '?' ? path + pl + 1 : "";
    size_t ql = strcspn(query, "#");

    char *host = dip_strndup(authority, al);
    Buf canon_uri, canon_query, tmp, authz;
    buf_init(&canon_uri);
    buf_init(&canon_query);
    buf_init(&tmp);
    buf_init(&authz);
    if (pl == 0)
        buf_append_byte(&canon_uri, '/');
    else if (strcmp(auth->service, "s3") == 0)
        buf_append(&canon_uri, path, pl);
    else
        http_uri_encode(&canon_uri, path, pl, true);
    canonical_query_of(&canon_query, query, ql);

    uint8_t digest[32];
    char payload_hash[65], amz_date[17];
    dip_sha256(payload ? payload : "", payload ? payload_len : 0, digest);
    dip_hex(digest, 32, payload_hash);
    http_sigv4_format_date(now_s, amz_date);

    size_t nh = 0;
    HttpHeader *hs = dip_calloc(n_extra + 4, sizeof *hs);
    hs[nh++] = (HttpHeader){"host", host};
    for (size_t i = 0; i < n_extra; i++)
        hs[nh++] = extra[i];
    hs[nh++] = (HttpHeader){"x-amz-content-sha256", payload_hash};
    hs[nh++] = (HttpHeader){"x-amz-date", amz_date};
    if (auth->session_token && *auth->session_token)
        hs[nh++] = (HttpHeader){"x-amz-security-token", auth->session_token};

    HttpSigV4Request rq = {method,
                           buf_cstr(&canon_uri),
                           buf_cstr(&canon_query),
                           hs,
                           nh,
                           payload_hash,
                           amz_date,
                           auth->region,
                           auth->service,
                           auth->access_key,
                           auth->secret_key};
    http_sigv4_authorization(&rq, &authz, NULL);

    struct curl_slist *l = *headers;
    for (size_t i = 0; i < nh; i++)
        l = append_header(l, &tmp, hs[i].name, hs[i].value);
    l = append_header(l, &tmp, "authorization", buf_cstr(&authz));
    *headers = l;

    free(hs);
    free(host);
    buf_free(&canon_uri);
    buf_free(&canon_query);
    buf_free(&tmp);
    buf_free(&authz);
    return true;
}
