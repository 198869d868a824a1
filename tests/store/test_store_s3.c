/*
 * test_store_s3.c: unit tests for the pure parts of the S3 backend: SigV4 against the
 * examples AWS publishes (S3 "GET Object" example of the SigV4 header-auth page, the
 * ListObjects example of the same page, and the get-vanilla-query-order-key-case case of the
 * SigV4 test suite), URI and canonical query encoding, and the ListObjectsV2 / Error XML
 * readers on hand-written documents, well formed and malformed.
 */
#include "store/s3_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define S3_DOC_KEY "AKIAIOSFODNN7EXAMPLE"
#define S3_DOC_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static void test_sigv4_get_object_example(void **state)
{
    (void)state;
    S3Header h[] = {
        {"x-amz-date", "20130524T000000Z"},
        {"range", "bytes=0-9"},
        {"host", "examplebucket.s3.amazonaws.com"},
        {"x-amz-content-sha256", S3_EMPTY_SHA256},
    };
    SigV4Request rq = {"GET",           "/test.txt",        "",          h,    4,
                       S3_EMPTY_SHA256, "20130524T000000Z", "us-east-1", "s3", S3_DOC_KEY,
                       S3_DOC_SECRET};
    Buf auth, creq;
    buf_init(&auth);
    buf_init(&creq);
    sigv4_authorization(&rq, &auth, &creq);
    assert_string_equal(buf_cstr(&creq),
                        "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
                        "range:bytes=0-9\nx-amz-content-sha256:" S3_EMPTY_SHA256 "\n"
                        "x-amz-date:20130524T000000Z\n\n"
                        "host;range;x-amz-content-sha256;x-amz-date\n" S3_EMPTY_SHA256);
    assert_string_equal(
        buf_cstr(&auth),
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    buf_free(&auth);
    buf_free(&creq);
}

static void test_sigv4_list_objects_example(void **state)
{
    (void)state;
    /* parameters given out of order: the canonical query must sort them */
    S3QueryParam qp[] = {{"prefix", "J"}, {"max-keys", "2"}};
    Buf q;
    buf_init(&q);
    s3_canonical_query(&q, qp, 2);
    assert_string_equal(buf_cstr(&q), "max-keys=2&prefix=J");
    S3Header h[] = {
        {"host", "examplebucket.s3.amazonaws.com"},
        {"x-amz-content-sha256", S3_EMPTY_SHA256},
        {"x-amz-date", "20130524T000000Z"},
    };
    SigV4Request rq = {
        "GET", "/",        buf_cstr(&q), h, 3, S3_EMPTY_SHA256, "20130524T000000Z", "us-east-1",
        "s3",  S3_DOC_KEY, S3_DOC_SECRET};
    Buf auth;
    buf_init(&auth);
    sigv4_authorization(&rq, &auth, NULL);
    assert_non_null(
        strstr(buf_cstr(&auth),
               "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
    buf_free(&auth);
    buf_free(&q);
}

static void test_sigv4_suite_query_order(void **state)
{
    (void)state;
    S3QueryParam qp[] = {{"Param2", "value2"}, {"Param1", "value1"}};
    Buf q, auth;
    buf_init(&q);
    buf_init(&auth);
    s3_canonical_query(&q, qp, 2);
    assert_string_equal(buf_cstr(&q), "Param1=value1&Param2=value2");
    S3Header h[] = {{"host", "example.amazonaws.com"}, {"x-amz-date", "20150830T123600Z"}};
    SigV4Request rq = {"GET",
                       "/",
                       buf_cstr(&q),
                       h,
                       2,
                       S3_EMPTY_SHA256,
                       "20150830T123600Z",
                       "us-east-1",
                       "service",
                       "AKIDEXAMPLE",
                       "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
    sigv4_authorization(&rq, &auth, NULL);
    assert_string_equal(
        buf_cstr(&auth),
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request,"
        "SignedHeaders=host;x-amz-date,"
        "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
    buf_free(&q);
    buf_free(&auth);
}

static void test_sigv4_header_trim_and_date(void **state)
{
    (void)state;
    S3Header h[] = {{"x-amz-meta-a", "  two   spaces  "}, {"host", "h"}};
    SigV4Request rq = {"HEAD",      "/k", "",   h,   2, "UNSIGNED-PAYLOAD", "20240101T000000Z",
                       "eu-west-1", "s3", "AK", "SK"};
    Buf auth, creq;
    buf_init(&auth);
    buf_init(&creq);
    sigv4_authorization(&rq, &auth, &creq);
    assert_string_equal(buf_cstr(&creq), "HEAD\n/k\n\nhost:h\nx-amz-meta-a:two spaces\n\n"
                                         "host;x-amz-meta-a\nUNSIGNED-PAYLOAD");
    assert_non_null(strstr(buf_cstr(&auth), "Credential=AK/20240101/eu-west-1/s3/aws4_request"));
    char d[17];
    sigv4_format_date(1369353600, d); /* 2013-05-24T00:00:00Z */
    assert_string_equal(d, "20130524T000000Z");
    buf_free(&auth);
    buf_free(&creq);
}

static void test_uri_encode(void **state)
{
    (void)state;
    Buf b;
    buf_init(&b);
    const char *k = "dir/a b+c=d%e~f_g.h-i\xc3\xa9*(x)!'";
    s3_uri_encode(&b, k, strlen(k), true);
    assert_string_equal(buf_cstr(&b), "dir/a%20b%2Bc%3Dd%25e~f_g.h-i%C3%A9%2A%28x%29%21%27");
    buf_clear(&b);
    s3_uri_encode(&b, "a/b", 3, false);
    assert_string_equal(buf_cstr(&b), "a%2Fb");
    buf_free(&b);
}

static void test_canonical_query(void **state)
{
    (void)state;
    S3QueryParam qp[] = {
        {"prefix", "tables/a b/_delta_log/"},
        {"list-type", "2"},
        {"continuation-token", "1/x+y=="},
        {"delimiter", "/"},
        {"max-keys", ""},
    };
    Buf q;
    buf_init(&q);
    s3_canonical_query(&q, qp, 5);
    assert_string_equal(buf_cstr(&q), "continuation-token=1%2Fx%2By%3D%3D&delimiter=%2F&"
                                      "list-type=2&max-keys=&"
                                      "prefix=tables%2Fa%20b%2F_delta_log%2F");
    buf_clear(&q);
    /* sorting is on the encoded names (byte order: uppercase before lowercase) */
    S3QueryParam qp2[] = {{"b", "1"}, {"B", "2"}, {"a", "2"}, {"a", "1"}};
    s3_canonical_query(&q, qp2, 4);
    assert_string_equal(buf_cstr(&q), "B=2&a=1&a=2&b=1");
    buf_free(&q);
}

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
        cmocka_unit_test(test_sigv4_get_object_example),
        cmocka_unit_test(test_sigv4_list_objects_example),
        cmocka_unit_test(test_sigv4_suite_query_order),
        cmocka_unit_test(test_sigv4_header_trim_and_date),
        cmocka_unit_test(test_uri_encode),
        cmocka_unit_test(test_canonical_query),
        cmocka_unit_test(test_xml_list_ok),
        cmocka_unit_test(test_xml_list_malformed),
        cmocka_unit_test(test_xml_error_body),
        cmocka_unit_test(test_iso8601),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
