/*
 * test_store_s3.c: unit tests for the pure parts of the S3 backend: the ListObjectsV2 /
 * Error XML readers on hand-written documents, well formed and malformed. (SigV4 and the
 * transport are http's: tests/http/test_http.c.)
 */
#include "store/s3_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char LIST_OK[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<!-- a comment -->"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>bucket</Name><Prefix>t/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>"
    "<IsTruncated>true</IsTruncated>"
    "<Contents><Key>t/a&amp;b &lt;1&gt; &#x41;&#66;&quot;&apos;</Key>"
    "<LastModified>2009-10-12T17:50:30.000Z</LastModified>"
    "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
    "<StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Size>0</Size><Key><![CDATA[t/c<d>]]></Key><Owner><ID>x</ID></Owner>"
    "</Contents>"
    "<CommonPrefixes><Prefix>t/sub/</Prefix></CommonPrefixes>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
    "<Empty/>"
    "</ListBucketResult>\n";

static void test_xml_list_ok(void **state)
{
    (void)state;
    StoreList l = {0};
    S3ListPage page = {&l, false, {0}};
    buf_init(&page.next_token);
    DipError err;
    dip_error_clear(&err);
    assert_true(s3_xml_parse_list(LIST_OK, strlen(LIST_OK), &page, &err));
    assert_int_equal(l.n, 2);
    assert_string_equal(l.entries[0].name, "t/a&b <1> AB\"'");
    assert_int_equal(l.entries[0].size, 434234);
    assert_int_equal(l.entries[0].mtime_ms, 1255369830000LL);
    assert_string_equal(l.entries[1].name, "t/c<d>");
    assert_int_equal(l.entries[1].size, 0);
    assert_int_equal(l.entries[1].mtime_ms, 0);
    assert_true(page.is_truncated);
    assert_string_equal(buf_cstr(&page.next_token),
                        "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    store_list_free(&l);
    buf_free(&page.next_token);
}

static void expect_list_error(const char *xml, const char *needle)
{
    StoreList l = {0};
    S3ListPage page = {&l, false, {0}};
    buf_init(&page.next_token);
    DipError err;
    dip_error_clear(&err);
    bool ok = s3_xml_parse_list(xml, strlen(xml), &page, &err);
    if (ok || strstr(err.msg, needle) == NULL)
        fail_msg("xml %s: ok=%d err='%s', expected '%s'", xml, ok, err.msg, needle);
    assert_int_equal(err.kind, DIP_ERR_DATA);
    assert_int_equal(l.n, 0); /* nothing from a failed page */
    store_list_free(&l);
    buf_free(&page.next_token);
}

#define HEAD "<ListBucketResult>"
#define C1 "<Contents><Key>a</Key><Size>1</Size></Contents>"

static void test_xml_list_malformed(void **state)
{
    (void)state;
    /* truncated in the middle of the listing: must not pass as a shorter listing */
    expect_list_error(HEAD "<IsTruncated>false</IsTruncated>" C1 "<Contents><Key>b</Key>",
                      "truncated");
    expect_list_error(HEAD "<IsTruncated>false</IsTruncated>" C1, "truncated");
    expect_list_error(HEAD "<IsTruncated>false</IsTruncated>" C1 "<Contents><Key>b</Ke",
                      "unterminated tag");
    expect_list_error(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a</Size>"
                           "</Contents></ListBucketResult>",
                      "does not match");
    expect_list_error(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a</Key></Contents>"
                           "</ListBucketResult>",
                      "without <Size>");
    expect_list_error(HEAD "<IsTruncated>false</IsTruncated><Contents><Size>3</Size></Contents>"
                           "</ListBucketResult>",
                      "without <Key>");
    expect_list_error(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a</Key>"
                           "<Size>12x</Size></Contents></ListBucketResult>",
                      "is not a size");
    expect_list_error(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a</Key>"
                           "<Size>-1</Size></Contents></ListBucketResult>",
                      "is not a size");
    expect_list_error(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a</Key><Size>1"
                           "</Size><LastModified>yesterday</LastModified></Contents>"
                           "</ListBucketResult>",
                      "ISO 8601");
    expect_list_error(HEAD "<IsTruncated>true</IsTruncated>" C1 "</ListBucketResult>",
                      "no NextContinuationToken");
    expect_list_error(HEAD C1 "</ListBucketResult>", "without <IsTruncated>");
    expect_list_error(HEAD "<IsTruncated>maybe</IsTruncated></ListBucketResult>", "maybe");
    expect_list_error(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a&nbsp;</Key>"
                           "<Size>1</Size></Contents></ListBucketResult>",
                      "unknown entity");
    expect_list_error(HEAD "<IsTruncated>false</IsTruncated><Contents><Key>a&#xD800;</Key>"
                           "<Size>1</Size></Contents></ListBucketResult>",
                      "invalid character reference");
    expect_list_error("<Error><Code>AccessDenied</Code></Error>", "expected <ListBucketResult>");
    expect_list_error("", "no root element");
    expect_list_error("garbage", "text outside the root");
    expect_list_error(HEAD "<IsTruncated>false</IsTruncated></ListBucketResult><X/>",
                      "second root");
    expect_list_error(HEAD "<IsTruncated>false</IsTruncated><!-- x </ListBucketResult>",
                      "unterminated comment");
    /* 40 nested elements */
    Buf deep;
    buf_init(&deep);
    buf_append_str(&deep, HEAD);
    for (int i = 0; i < 40; i++)
        buf_append_str(&deep, "<a>");
    expect_list_error(buf_cstr(&deep), "nested deeper");
    buf_free(&deep);
}

static void test_xml_error_body(void **state)
{
    (void)state;
    char code[64], msg[256];
    const char *x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>"
                    "<Message>Please reduce your request rate &amp; retry.</Message>"
                    "<RequestId>1</RequestId></Error>";
    s3_xml_parse_error(x, strlen(x), code, sizeof code, msg, sizeof msg);
    assert_string_equal(code, "SlowDown");
    assert_string_equal(msg, "Please reduce your request rate & retry.");
    s3_xml_parse_error("<html>bad gateway", 17, code, sizeof code, msg, sizeof msg);
    assert_string_equal(code, "");
    /* truncated body: what came before the cut is kept */
    const char *t = "<Error><Code>InternalError</Code><Message>We encou";
    s3_xml_parse_error(t, strlen(t), code, sizeof code, msg, sizeof msg);
    assert_string_equal(code, "InternalError");
    s3_xml_parse_error("", 0, code, sizeof code, msg, sizeof msg);
    assert_string_equal(code, "");
    assert_string_equal(msg, "");
}

static void test_iso8601(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(s3_parse_iso8601_ms("1970-01-01T00:00:00Z", 20, &ms));
    assert_int_equal(ms, 0);
    assert_true(s3_parse_iso8601_ms("2009-10-12T17:50:30.5Z", 22, &ms));
    assert_int_equal(ms, 1255369830500LL);
    assert_true(s3_parse_iso8601_ms("2009-10-12T17:50:30.123456Z", 27, &ms));
    assert_int_equal(ms, 1255369830123LL);
    assert_true(s3_parse_iso8601_ms("2009-10-12T17:50:30+00:00", 25, &ms));
    assert_int_equal(ms, 1255369830000LL);
    assert_false(s3_parse_iso8601_ms("2009-10-12 17:50:30Z", 20, &ms));
    assert_false(s3_parse_iso8601_ms("2009-13-12T17:50:30Z", 20, &ms));
    assert_false(s3_parse_iso8601_ms("2009-10-12T17:50:30.Z", 21, &ms));
    assert_false(s3_parse_iso8601_ms("2009-10-12T17:50:30+02:00", 25, &ms));
    assert_false(s3_parse_iso8601_ms("2009-10-12T17:50:30", 19, &ms));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_list_ok),
        cmocka_unit_test(test_xml_list_malformed),
        cmocka_unit_test(test_xml_error_body),
        cmocka_unit_test(test_iso8601),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
