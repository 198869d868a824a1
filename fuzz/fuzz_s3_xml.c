/*
 * fuzz_s3_xml.c: libFuzzer target for the S3 response parsers (src/store/s3_xml.c): the
 * ListObjectsV2 result reader and the <Error> body reader get arbitrary bytes from the
 * network. Checks: no crash, no leak, and a failed listing page contributes no entries.
 */
#include "store/s3_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    StoreList l = {0};
    S3ListPage page = {&l, false, {0}};
    buf_init(&page.next_token);
    DipError err;
    dip_error_clear(&err);
    bool ok = s3_xml_parse_list((const char *)data, size, &page, &err);
    if (!ok && l.n != 0) abort(); /* a page that failed must not leave entries behind */
    if (ok && page.is_truncated && page.next_token.len == 0)
        abort(); /* a truncated page always carries its continuation token */
    store_list_free(&l);
    buf_free(&page.next_token);
    char code[128], msg[512];
    s3_xml_parse_error((const char *)data, size, code, sizeof code, msg, sizeof msg);
    int64_t ms;
    (void)s3_parse_iso8601_ms((const char *)data, size, &ms);
    return 0;
}
