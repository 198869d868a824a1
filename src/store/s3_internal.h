/*
 * s3_internal.h: the pieces of the S3 backend that are pure functions of their input, kept
 * apart from the transport so unit tests can check them without a server: the minimal XML
 * reader for ListObjectsV2 results and S3 error bodies (s3_xml.c). Signing (SigV4) and the
 * transport are http's (src/http/http.h).
 *
 * References: S3 API reference for ListObjectsV2 and the Error response body.
 */
#ifndef DIP_S3_INTERNAL_H
#define DIP_S3_INTERNAL_H

#include "http/http.h"
#include "store/store_internal.h"

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
