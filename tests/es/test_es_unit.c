/*
 * test_es_unit.c: unit tests for the pure parts of the es module: the NDJSON builder and
 * action checks, the bulk response parser (well formed, lying, truncated), item
 * classification (the outcome table), the same-_id key set, engine detection from
 * `GET /` answers of each engine, and configuration from PGSync's environment names with
 * no secret in what may be shown.
 */
#include "es/es_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_ndjson_actions(void **state)
{
    (void)state;
    Buf b;
    buf_init(&b);
    EsAction a = {
        .op = ES_OP_INDEX, .index = "books", .id = "1", .source = "{\"t\":\"a\"}", .source_len = 9};
    DipError err = {0};
    assert_true(es_action_check(&a, &err));
    es_ndjson_append(&b, &a);
    assert_string_equal(buf_cstr(&b), "{\"index\":{\"_index\":\"books\",\"_id\":\"1\"}}\n"
                                      "{\"t\":\"a\"}\n");
    buf_clear(&b);
    EsAction d = {.op = ES_OP_DELETE,
                  .index = "b\"x",
                  .id = "k\n1",
                  .routing = "r1",
                  .version_type = ES_VERSION_EXTERNAL_GTE,
                  .version = 42};
    assert_true(es_action_check(&d, &err));
    es_ndjson_append(&b, &d);
    assert_string_equal(buf_cstr(&b),
                        "{\"delete\":{\"_index\":\"b\\\"x\",\"_id\":\"k\\n1\",\"routing\":\"r1\","
                        "\"version\":42,\"version_type\":\"external_gte\"}}\n");
    buf_clear(&b);
    const char *pretty = "{\n  \"a\": 1,\n  \"b\": \"x y\"\n}";
    EsAction u = {.op = ES_OP_CREATE,
                  .index = "i",
                  .id = "2",
                  .pipeline = "p",
                  .if_seq_no = 0,
                  .if_primary_term = 0,
                  .source = pretty,
                  .source_len = strlen(pretty)};
    assert_true(es_action_check(&u, &err));
    es_ndjson_append(&b, &u);
    assert_string_equal(buf_cstr(&b), "{\"create\":{\"_index\":\"i\",\"_id\":\"2\",\"pipeline\":"
                                      "\"p\"}}\n{   \"a\": 1,   \"b\": \"x y\" }\n");
    buf_clear(&b);
    EsAction up = {.op = ES_OP_UPDATE,
                   .index = "i",
                   .id = "3",
                   .if_seq_no = 7,
                   .if_primary_term = 2,
                   .source = "{\"doc\":{}}",
                   .source_len = 10};
    assert_true(es_action_check(&up, &err));
    es_ndjson_append(&b, &up);
    assert_string_equal(buf_cstr(&b), "{\"update\":{\"_index\":\"i\",\"_id\":\"3\",\"if_seq_no\":7,"
                                      "\"if_primary_term\":2}}\n{\"doc\":{}}\n");
    buf_free(&b);
}

static void test_action_check_refuses(void **state)
{
    (void)state;
    DipError err = {0};
    EsAction noid = {.op = ES_OP_DELETE, .index = "i"};
    assert_false(es_action_check(&noid, &err));
    assert_non_null(strstr(err.msg, "no _id"));
    dip_error_clear(&err);
    EsAction nosrc = {.op = ES_OP_INDEX, .index = "i", .id = "1", .source = "[1]", .source_len = 3};
    assert_false(es_action_check(&nosrc, &err));
    assert_non_null(strstr(err.msg, "JSON object"));
    dip_error_clear(&err);
    EsAction upv = {.op = ES_OP_UPDATE,
                    .index = "i",
                    .id = "1",
                    .source = "{}",
                    .source_len = 2,
                    .version_type = ES_VERSION_EXTERNAL,
                    .version = 1};
    assert_false(es_action_check(&upv, &err));
    dip_error_clear(&err);
    EsAction noidx = {.op = ES_OP_INDEX, .index = "", .source = "{}", .source_len = 2};
    assert_false(es_action_check(&noidx, &err));
    assert_non_null(strstr(err.msg, "no index"));
}

static const char *RESP_OK =
    "{\"took\":3,\"errors\":true,\"items\":["
    "{\"index\":{\"_index\":\"b\",\"_id\":\"1\",\"status\":201}},"
    "{\"delete\":{\"_index\":\"b\",\"_id\":\"2\",\"status\":404}},"
    "{\"create\":{\"_index\":\"b\",\"_id\":\"3\",\"status\":400,\"error\":{\"type\":"
    "\"mapper_parsing_exception\",\"reason\":\"failed to parse field [n]\"}}},"
    "{\"update\":{\"_index\":\"b\",\"_id\":\"4\",\"status\":429,\"error\":{\"type\":"
    "\"es_rejected_execution_exception\",\"reason\":\"rejected\"}}}]}";

static void test_response_parse(void **state)
{
    (void)state;
    EsBulkResponse r;
    DipError err = {0};
    assert_true(es_bulk_response_parse(RESP_OK, strlen(RESP_OK), 4, &r, &err));
    assert_true(r.errors);
    assert_int_equal(r.n_items, 4);
    assert_int_equal(r.items[0].op, ES_OP_INDEX);
    assert_int_equal(r.items[0].status, 201);
    assert_string_equal(r.items[0].id, "1");
    assert_int_equal(r.items[1].op, ES_OP_DELETE);
    assert_int_equal(r.items[2].status, 400);
    assert_string_equal(r.items[2].error_type, "mapper_parsing_exception");
    assert_string_equal(r.items[2].reason, "failed to parse field [n]");
    assert_int_equal(r.items[3].op, ES_OP_UPDATE);
    es_bulk_response_free(&r);

    /* lies about the count */
    assert_false(es_bulk_response_parse(RESP_OK, strlen(RESP_OK), 5, &r, &err));
    assert_non_null(strstr(err.msg, "5 items"));
    assert_non_null(strstr(err.msg, "got 4"));
    dip_error_clear(&err);
    /* truncated */
    assert_false(es_bulk_response_parse(RESP_OK, strlen(RESP_OK) - 7, 4, &r, &err));
    assert_non_null(strstr(err.msg, "invalid JSON"));
    dip_error_clear(&err);
    /* not JSON at all */
    assert_false(es_bulk_response_parse("<html>", 6, 1, &r, &err));
    dip_error_clear(&err);
    /* no items */
    assert_false(es_bulk_response_parse("{\"took\":1}", 10, 1, &r, &err));
    assert_non_null(strstr(err.msg, "items"));
    dip_error_clear(&err);
    /* an item without a status */
    const char *nost = "{\"errors\":false,\"items\":[{\"index\":{\"_id\":\"1\"}}]}";
    assert_false(es_bulk_response_parse(nost, strlen(nost), 1, &r, &err));
    assert_non_null(strstr(err.msg, "status"));
    dip_error_clear(&err);
    /* a status out of range (the fuzzer found the message read the freed tree) */
    const char *big = "{\"errors\":true,\"items\":[{\"index\":{\"status\":2000}}]}";
    assert_false(es_bulk_response_parse(big, strlen(big), 1, &r, &err));
    assert_non_null(strstr(err.msg, "another number"));
    dip_error_clear(&err);
    /* an unknown op key */
    const char *badop = "{\"errors\":false,\"items\":[{\"upsert\":{\"status\":200}}]}";
    assert_false(es_bulk_response_parse(badop, strlen(badop), 1, &r, &err));
    dip_error_clear(&err);
    /* errors:false with a failed item */
    const char *liar = "{\"errors\":false,\"items\":[{\"index\":{\"status\":500}}]}";
    assert_false(es_bulk_response_parse(liar, strlen(liar), 1, &r, &err));
    dip_error_clear(&err);
    /* empty body */
    assert_false(es_bulk_response_parse("", 0, 1, &r, &err));
    assert_non_null(strstr(err.msg, "empty body"));
}

static void test_item_classify(void **state)
{
    (void)state;
    assert_int_equal(es_item_classify(ES_OP_INDEX, ES_VERSION_NONE, 200), ES_ITEM_DONE);
    assert_int_equal(es_item_classify(ES_OP_CREATE, ES_VERSION_NONE, 201), ES_ITEM_DONE);
    assert_int_equal(es_item_classify(ES_OP_INDEX, ES_VERSION_EXTERNAL, 409), ES_ITEM_STALE);
    assert_int_equal(es_item_classify(ES_OP_DELETE, ES_VERSION_EXTERNAL_GTE, 409), ES_ITEM_STALE);
    assert_int_equal(es_item_classify(ES_OP_CREATE, ES_VERSION_NONE, 409), ES_ITEM_DEAD);
    assert_int_equal(es_item_classify(ES_OP_DELETE, ES_VERSION_NONE, 404), ES_ITEM_ABSENT);
    assert_int_equal(es_item_classify(ES_OP_UPDATE, ES_VERSION_NONE, 404), ES_ITEM_DEAD);
    assert_int_equal(es_item_classify(ES_OP_INDEX, ES_VERSION_NONE, 429), ES_ITEM_RETRY);
    assert_int_equal(es_item_classify(ES_OP_INDEX, ES_VERSION_NONE, 500), ES_ITEM_RETRY);
    assert_int_equal(es_item_classify(ES_OP_INDEX, ES_VERSION_NONE, 503), ES_ITEM_RETRY);
    assert_int_equal(es_item_classify(ES_OP_INDEX, ES_VERSION_NONE, 400), ES_ITEM_DEAD);
    assert_int_equal(es_item_classify(ES_OP_INDEX, ES_VERSION_NONE, 403), ES_ITEM_FATAL);
    assert_int_equal(es_item_classify(ES_OP_INDEX, ES_VERSION_NONE, 302), ES_ITEM_FATAL);
}

static void test_keyset(void **state)
{
    (void)state;
    EsKeySet s;
    es_keyset_init(&s);
    assert_false(es_keyset_contains(&s, 5));
    uint64_t keys[5000];
    for (int i = 0; i < 5000; i++) {
        char id[16];
        dip_snprintf(id, sizeof id, "%d", i);
        keys[i] = es_action_key("idx", id);
        es_keyset_add(&s, keys[i]);
    }
    es_keyset_add(&s, keys[7]); /* held twice */
    for (int i = 0; i < 5000; i++)
        assert_true(es_keyset_contains(&s, keys[i]));
    assert_int_equal(s.used, 5000);
    for (int i = 0; i < 5000; i += 2)
        es_keyset_remove(&s, keys[i]);
    for (int i = 0; i < 5000; i++)
        assert_int_equal(es_keyset_contains(&s, keys[i]), (i % 2) == 1 || i == 7);
    es_keyset_remove(&s, keys[7]);
    assert_true(es_keyset_contains(&s, keys[7])); /* one of two holds left */
    es_keyset_remove(&s, keys[7]);
    assert_false(es_keyset_contains(&s, keys[7]));
    assert_int_not_equal(es_action_key("ab", "c"), es_action_key("a", "bc"));
    es_keyset_free(&s);
}

static void test_engine_parse(void **state)
{
    (void)state;
    EsEngine e;
    DipError err = {0};
    const char *es8 = "{\"name\":\"n\",\"cluster_name\":\"c1\",\"version\":{\"number\":\"8.13.4\","
                      "\"build_flavor\":\"default\"},\"tagline\":\"You Know, for Search\"}";
    assert_true(es_engine_parse("h", es8, strlen(es8), "Elasticsearch", &e, &err));
    assert_int_equal(e.kind, ES_ENGINE_ELASTICSEARCH);
    assert_int_equal(e.major, 8);
    assert_true(e.compat_headers);
    assert_string_equal(e.cluster_name, "c1");
    /* no product header: refused like the official clients do */
    assert_false(es_engine_parse("h", es8, strlen(es8), NULL, &e, &err));
    assert_int_equal(err.kind, DIP_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "X-Elastic-Product"));
    dip_error_clear(&err);
    const char *es7 = "{\"version\":{\"number\":\"7.17.21\"}}";
    assert_true(es_engine_parse("h", es7, strlen(es7), "Elasticsearch", &e, &err));
    assert_false(e.compat_headers);
    const char *es716 = "{\"version\":{\"number\":\"7.16.3\"}}";
    assert_false(es_engine_parse("h", es716, strlen(es716), "Elasticsearch", &e, &err));
    assert_non_null(strstr(err.msg, "7.16.3 is not supported"));
    dip_error_clear(&err);
    const char *os2 = "{\"version\":{\"distribution\":\"opensearch\",\"number\":\"2.11.1\"}}";
    assert_true(es_engine_parse("h", os2, strlen(os2), NULL, &e, &err));
    assert_int_equal(e.kind, ES_ENGINE_OPENSEARCH);
    const char *os4 = "{\"version\":{\"distribution\":\"opensearch\",\"number\":\"4.0.0\"}}";
    assert_false(es_engine_parse("h", os4, strlen(os4), NULL, &e, &err));
    dip_error_clear(&err);
    const char *es9 = "{\"version\":{\"number\":\"9.0.0\"}}";
    assert_false(es_engine_parse("h", es9, strlen(es9), "Elasticsearch", &e, &err));
    dip_error_clear(&err);
    assert_false(es_engine_parse("myhost", "oops", 4, NULL, &e, &err));
    assert_non_null(strstr(err.msg, "myhost"));
}

static void clear_env(void)
{
    const char *names[] = {"ELASTICSEARCH_URL",
                           "ELASTICSEARCH_HOST",
                           "ELASTICSEARCH_PORT",
                           "ELASTICSEARCH_SCHEME",
                           "ELASTICSEARCH",
                           "OPENSEARCH",
                           "ELASTICSEARCH_USER",
                           "ELASTICSEARCH_PASSWORD",
                           "ELASTICSEARCH_API_KEY",
                           "ELASTICSEARCH_API_KEY_ID",
                           "ELASTICSEARCH_BEARER_AUTH",
                           "OPENSEARCH_AWS_HOSTED",
                           "OPENSEARCH_AWS_SERVERLESS",
                           "ELASTICSEARCH_AWS_REGION",
                           "AWS_ACCESS_KEY_ID",
                           "AWS_SECRET_ACCESS_KEY",
                           "ELASTICSEARCH_CHUNK_SIZE",
                           "ELASTICSEARCH_BASIC_AUTH",
                           "ELASTICSEARCH_USE_SSL"};
    for (size_t i = 0; i < DIP_ARRAY_LEN(names); i++)
        unsetenv(names[i]);
}

static void test_config_env(void **state)
{
    (void)state;
    clear_env();
    EsConfig c;
    DipError err = {0};
    assert_true(es_config_from_env(&c, &err));
    assert_string_equal(c.url, "http://localhost:9200");
    assert_int_equal(c.chunk_size, 5000);
    assert_int_equal(c.max_in_flight, 4);
    assert_true(c.compress);
    assert_true(c.verify_certs);
    assert_int_equal(c.auth, ES_AUTH_NONE);
    es_config_free(&c);

    setenv("ELASTICSEARCH_URL", "https://elastic:s3cr3t-pw@search.example:9243/prefix/", 1);
    assert_true(es_config_from_env(&c, &err));
    assert_string_equal(c.url, "https://search.example:9243/prefix");
    assert_string_equal(c.host, "search.example");
    assert_int_equal(c.auth, ES_AUTH_BASIC);
    Buf d;
    buf_init(&d);
    es_config_auth_describe(&c, &d);
    assert_string_equal(buf_cstr(&d), "basic (user elastic)");
    assert_null(strstr(buf_cstr(&d), "s3cr3t"));
    Buf h;
    buf_init(&h);
    es_auth_header(&c, &h);
    assert_string_equal(buf_cstr(&h), "Authorization: Basic ZWxhc3RpYzpzM2NyM3QtcHc=");
    es_config_free(&c);
    clear_env();

    setenv("ELASTICSEARCH_HOST", "10.0.0.5", 1);
    setenv("ELASTICSEARCH_SCHEME", "https", 1);
    setenv("ELASTICSEARCH_API_KEY_ID", "kid", 1);
    setenv("ELASTICSEARCH_API_KEY", "topsecretkey", 1);
    assert_true(es_config_from_env(&c, &err));
    assert_string_equal(c.url, "https://10.0.0.5:9200");
    buf_clear(&d);
    es_config_auth_describe(&c, &d);
    assert_string_equal(buf_cstr(&d), "api key (id kid)");
    buf_clear(&h);
    es_auth_header(&c, &h);
    assert_string_equal(buf_cstr(&h), "Authorization: ApiKey a2lkOnRvcHNlY3JldGtleQ==");
    es_config_free(&c);
    clear_env();

    setenv("OPENSEARCH_AWS_SERVERLESS", "true", 1);
    setenv("ELASTICSEARCH_AWS_REGION", "eu-west-1", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE1234", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/SECRET", 1);
    assert_true(es_config_from_env(&c, &err));
    assert_int_equal(c.auth, ES_AUTH_SIGV4);
    assert_string_equal(c.aws_service, "aoss");
    assert_true(c.want_opensearch);
    buf_clear(&d);
    es_config_auth_describe(&c, &d);
    assert_null(strstr(buf_cstr(&d), "SECRET"));
    assert_null(strstr(buf_cstr(&d), "AKIDEXAMPLE"));
    es_config_free(&c);
    clear_env();

    setenv("ELASTICSEARCH", "true", 1);
    setenv("OPENSEARCH", "true", 1);
    assert_false(es_config_from_env(&c, &err));
    assert_int_equal(err.kind, DIP_ERR_CONFIG);
    es_config_free(&c);
    dip_error_clear(&err);
    clear_env();

    setenv("ELASTICSEARCH_CHUNK_SIZE", "0", 1);
    assert_false(es_config_from_env(&c, &err));
    assert_non_null(strstr(err.msg, "ELASTICSEARCH_CHUNK_SIZE"));
    es_config_free(&c);
    dip_error_clear(&err);
    clear_env();

    setenv("ELASTICSEARCH_URL", "ftp://x", 1);
    assert_false(es_config_from_env(&c, &err));
    assert_non_null(strstr(err.msg, "ELASTICSEARCH_URL"));
    es_config_free(&c);
    clear_env();
    buf_free(&d);
    buf_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ndjson_actions), cmocka_unit_test(test_action_check_refuses),
        cmocka_unit_test(test_response_parse), cmocka_unit_test(test_item_classify),
        cmocka_unit_test(test_keyset),         cmocka_unit_test(test_engine_parse),
        cmocka_unit_test(test_config_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
