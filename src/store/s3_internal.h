/*
 * s3_internal.h: the pieces of the S3 backend that are pure functions of their input, kept
 * apart from the libcurl transport so unit tests can check them without a server:
 * AWS Signature Version 4 (sigv4.c), the URI encoding and canonical query string SigV4
 * demands, and the minimal XML reader for ListObjectsV2 results and S3 error bodies
 * (s3_xml.c).
 *
 * References: AWS "Authenticating Requests (AWS Signature Version 4)" for S3 (canonical
 * request, string to sign, signing key); S3 API reference for ListObjectsV2 and the Error
 * response body.
 */
#ifndef DIP_S3_INTERNAL_H
#define DIP_S3_INTERNAL_H

#include "store/store_internal.h"

/* The SHA-256 of an empty payload: the x-amz-content-sha256 value for GET/HEAD. */
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---------------------------------------------------------------- encoding */

/* Appends `s[0..n)` percent-encoded per RFC 3986 the way SigV4 wants it: every byte except
 * the unreserved set A-Z a-z 0-9 - . _ ~ becomes %XX (uppercase hex). With keep_slash, '/'
 * is kept (object key paths are encoded per segment). */
void s3_uri_encode(Buf *out, const char *s, size_t n, bool keep_slash);

typedef struct S3QueryParam {
    const char *name;
    const char *value; /* "" for a parameter without a value (still rendered "name=") */
} S3QueryParam;

/* Builds the canonical query string: names and values encoded with s3_uri_encode, sorted by
 * encoded name then encoded value, joined with '&'. libcurl sends a URL's query as written,
 * so the same string goes into the request URL and the canonical request. */
void s3_canonical_query(Buf *out, const S3QueryParam *params, size_t n);

/* ---------------------------------------------------------------- SigV4 */

typedef struct S3Header {
    const char *name;  /* lowercase */
    const char *value; /* trimmed; sequential spaces are collapsed by the signer */
} S3Header;

typedef struct SigV4Request {
    const char *method;          /* "GET", "HEAD" */
    const char *canonical_uri;   /* already encoded path, e.g. "/bucket/a%20b/c.parquet" */
    const char *canonical_query; /* from s3_canonical_query, "" when none */
    const S3Header *headers;     /* every header to sign (host, x-amz-*, range ...) */
    size_t n_headers;
    const char *payload_hash; /* hex SHA-256 or "UNSIGNED-PAYLOAD" */
    const char *amz_date;     /* "YYYYMMDDTHHMMSSZ" (UTC) */
    const char *region;
    const char *service; /* "s3" */
    const char *access_key;
    const char *secret_key;
} SigV4Request;

/* Computes the Authorization header value ("AWS4-HMAC-SHA256 Credential=...,
 * SignedHeaders=...,Signature=...") into `auth`. When `canonical` is not NULL the canonical
 * request text is stored there too (for tests and debug logs; it holds no secret). */
void sigv4_authorization(const SigV4Request *rq, Buf *auth, Buf *canonical);

/* Formats a Unix time as the x-amz-date form "YYYYMMDDTHHMMSSZ". */
void sigv4_format_date(int64_t unix_s, char out[17]);

/* ---------------------------------------------------------------- XML */

typedef struct S3ListPage {
    StoreList *entries; /* keys are appended here, as found (full keys, decoded) */
    bool is_truncated;
    Buf next_token; /* NextContinuationToken, decoded; empty when absent */
} S3ListPage;

/* Parses a ListObjectsV2 result. Every <Contents> must carry Key and Size (LastModified is
 * optional, 0 when absent). CommonPrefixes are skipped. A document that is not well formed
 * enough to be sure of its entries (unterminated tag, mismatched end tag, bad number or date,
 * IsTruncated true without a token) is a DIP_ERR_DATA error naming what was wrong. */
bool s3_xml_parse_list(const char *xml, size_t n, S3ListPage *page, DipError *err) DIP_MUST_CHECK;

/* Extracts Code and Message from an S3 <Error> body; leaves them empty when the body is not
 * such a document. Never fails: an error body is only a hint for the message. */
void s3_xml_parse_error(const char *xml, size_t n, char *code, size_t code_cap, char *message,
                        size_t message_cap);

/* ISO 8601 "2013-09-17T18:07:53.000Z" (fraction optional, 'Z' or +00:00) to ms since epoch. */
bool s3_parse_iso8601_ms(const char *s, size_t n, int64_t *out);

#endif /* DIP_S3_INTERNAL_H */
