/*
 * test_delta.c: unit tests of the Delta log reader pieces that need no data files: log file
 * naming, log segment selection, action reconciliation, path decoding, partition values,
 * Z85 and deletion-vector bitmaps (examples from PROTOCOL.md), schema parsing and the
 * reader-feature check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "delta/delta_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void test_classify(void **state)
{
    (void)state;
    DeltaLogFileKind k;
    int64_t v;
    int part, np;
    assert_true(delta_log_classify("00000000000000000010.json", &k, &v, &part, &np));
    assert_int_equal(k, DLF_COMMIT);
    assert_int_equal(v, 10);
    assert_true(delta_log_classify("00000000000000000010.checkpoint.parquet", &k, &v, &part, &np));
    assert_int_equal(k, DLF_CLASSIC);
    assert_true(delta_log_classify("00000000000000000001.checkpoint.0000000002.0000000003.parquet",
                                   &k, &v, &part, &np));
    assert_int_equal(k, DLF_MULTIPART);
    assert_int_equal(part, 2);
    assert_int_equal(np, 3);
    assert_true(delta_log_classify(
        "00000000000000000002.checkpoint.6374b053-df23-479b-b2cf-c9c550132b49.json", &k, &v, &part,
        &np));
    assert_int_equal(k, DLF_V2_JSON);
    assert_true(delta_log_classify(
        "00000000000000000002.checkpoint.e8fa2696-9728-4e9c-b285-634743fdd4fb.parquet", &k, &v,
        &part, &np));
    assert_int_equal(k, DLF_V2_PARQUET);
    assert_false(delta_log_classify("00000000000000000002.crc", &k, &v, &part, &np));
    assert_false(delta_log_classify("_last_checkpoint", &k, &v, &part, &np));
    assert_false(delta_log_classify("00000000000000000001.00000000000000000003.compacted.json", &k,
                                    &v, &part, &np));
    assert_false(delta_log_classify("0000000000000000001.json", &k, &v, &part, &np));
    assert_false(delta_log_classify("00000000000000000001.checkpoint.0000000003.0000000002.parquet",
                                    &k, &v, &part, &np));
}

/* Builds a listing from names (sizes/mtimes zero). */
static void make_listing(DeltaLogListing *l, const char *const *names, size_t n)
{
    memset(l, 0, sizeof *l);
    arena_init(&l->arena, 4096);
    l->files = arena_calloc(&l->arena, n, sizeof *l->files);
    for (size_t i = 0; i < n; i++) {
        DeltaLogFile *f = &l->files[l->n];
        assert_true(delta_log_classify(names[i], &f->kind, &f->version, &f->part, &f->nparts));
        Buf b;
        buf_init(&b);
        buf_printf(&b, "_delta_log/%s", names[i]);
        f->name = arena_strdup(&l->arena, buf_cstr(&b));
        buf_free(&b);
        l->n++;
    }
}

static void test_segment(void **state)
{
    (void)state;
    static const char *const names[] = {
        "00000000000000000000.json",
        "00000000000000000001.json",
        "00000000000000000002.json",
        "00000000000000000002.checkpoint.parquet",
        "00000000000000000003.json",
        "00000000000000000004.json",
        "00000000000000000004.checkpoint.0000000001.0000000002.parquet", /* part 2 missing */
        "00000000000000000005.json",
    };
    DeltaLogListing l;
    make_listing(&l, names, DIP_ARRAY_LEN(names));
    Arena a;
    arena_init(&a, 4096);
    DipError err = {0};
    DeltaLogSegment seg;
    /* latest: the incomplete multi-part checkpoint at 4 is ignored, classic at 2 used */
    assert_true(delta_log_segment(&l, -1, &seg, &a, &err));
    assert_int_equal(seg.version, 5);
    assert_int_equal(seg.checkpoint_version, 2);
    assert_int_equal(seg.ncommits, 3);
    assert_int_equal(seg.commits[0]->version, 3);
    /* time travel before the checkpoint replays from 0 */
    assert_true(delta_log_segment(&l, 1, &seg, &a, &err));
    assert_int_equal(seg.checkpoint_version, -1);
    assert_int_equal(seg.ncommits, 2);
    /* version beyond the end */
    assert_false(delta_log_segment(&l, 9, &seg, &a, &err));
    assert_int_equal(err.kind, DIP_ERR_NOT_FOUND);
    delta_log_listing_free(&l);

    /* a gap after the checkpoint is an error naming the missing commit */
    static const char *const gap[] = {
        "00000000000000000000.json",
        "00000000000000000002.json",
    };
    make_listing(&l, gap, DIP_ARRAY_LEN(gap));
    dip_error_clear(&err);
    assert_false(delta_log_segment(&l, -1, &seg, &a, &err));
    assert_non_null(strstr(err.msg, "00000000000000000001.json"));
    assert_non_null(strstr(err.msg, "contiguous"));
    delta_log_listing_free(&l);

    /* no commit 0 and only an incomplete checkpoint: error names the missing part */
    static const char *const noparts[] = {
        "00000000000000000001.json",
        "00000000000000000001.checkpoint.0000000001.0000000002.parquet",
    };
    make_listing(&l, noparts, DIP_ARRAY_LEN(noparts));
    dip_error_clear(&err);
    assert_false(delta_log_segment(&l, -1, &seg, &a, &err));
    assert_non_null(strstr(err.msg, "00000000000000000000.json"));
    assert_non_null(strstr(err.msg, "part 0000000002 of 2 missing"));
    delta_log_listing_free(&l);
    arena_free(&a);
}

static const char *P = "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
                       "\"readerFeatures\":[\"deletionVectors\"],\"writerFeatures\":[]}}\n";
static const char *M =
    "{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
    "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"a\\\","
    "\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","
    "\"partitionColumns\":[],\"configuration\":{}}}\n";

static void apply(DeltaReplay *r, const char *text)
{
    DipError err = {0};
    assert_true(delta_replay_commit_json(r, "test.json", (const uint8_t *)text, strlen(text),
                                         &r->commit_info, &err));
}

static size_t live_count(const DeltaReplay *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nfiles; i++)
        n += r->files[i].live;
    return n;
}

static void test_replay(void **state)
{
    (void)state;
    DeltaReplay r;
    delta_replay_init(&r);
    apply(&r, P);
    apply(&r, M);
    apply(&r, "{\"commitInfo\":{\"timestamp\":1000,\"operation\":\"WRITE\"}}\n"
              "{\"add\":{\"path\":\"a%20b.parquet\",\"partitionValues\":{},\"size\":10,"
              "\"modificationTime\":1,\"dataChange\":true}}\n"
              "{\"add\":{\"path\":\"c.parquet\",\"partitionValues\":{},\"size\":10,"
              "\"modificationTime\":1,\"dataChange\":true}}\n");
    assert_int_equal(live_count(&r), 2);
    assert_true(r.commit_info.has_timestamp);
    assert_int_equal(r.commit_info.timestamp_ms, 1000);
    /* path decoded once: the add of "a%20b" is the file "a b" */
    bool found = false;
    for (size_t i = 0; i < r.nfiles; i++)
        if (strcmp(r.files[i].f.path, "a b.parquet") == 0) found = true;
    assert_true(found);
    /* remove with the same encoded path deletes; c gets a DV: (c, NULL) removed, (c, dv)
     * added: a different logical file */
    apply(&r, "{\"remove\":{\"path\":\"a%20b.parquet\",\"dataChange\":true}}\n"
              "{\"remove\":{\"path\":\"c.parquet\",\"dataChange\":true}}\n"
              "{\"add\":{\"path\":\"c.parquet\",\"partitionValues\":{},\"size\":10,"
              "\"modificationTime\":2,\"dataChange\":true,\"deletionVector\":{\"storageType\":"
              "\"u\",\"pathOrInlineDv\":\"ab^-aqEH.-t@S}K{vb[*k^\",\"offset\":4,\"sizeInBytes\":"
              "40,\"cardinality\":6}}}\n");
    assert_int_equal(live_count(&r), 1);
    /* removing (c, NULL) again must not touch (c, dv) */
    apply(&r, "{\"remove\":{\"path\":\"c.parquet\",\"dataChange\":true}}\n");
    assert_int_equal(live_count(&r), 1);
    /* re-adding a removed key revives it */
    apply(&r, "{\"add\":{\"path\":\"a b.parquet\",\"partitionValues\":{},\"size\":11,"
              "\"modificationTime\":3,\"dataChange\":true}}\n");
    assert_int_equal(live_count(&r), 2);
    /* canonical absolute paths: file:/x, file:///x and /x are one file */
    apply(&r, "{\"add\":{\"path\":\"/abs/with%20space/p@%23h\",\"partitionValues\":{},"
              "\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n");
    assert_int_equal(live_count(&r), 3);
    apply(&r, "{\"remove\":{\"path\":\"file:///abs/with%20space/p@%23h\",\"dataChange\":true}}\n");
    assert_int_equal(live_count(&r), 2);

    /* malformed JSON: error names the file and line */
    DipError err = {0};
    const char *bad = "{\"add\":{\"path\":\"x\"\n";
    assert_false(delta_replay_commit_json(&r, "_delta_log/00000000000000000007.json",
                                          (const uint8_t *)bad, strlen(bad), NULL, &err));
    assert_non_null(strstr(err.msg, "00000000000000000007.json"));
    assert_non_null(strstr(err.msg, "line 1"));
    assert_int_equal(err.kind, DIP_ERR_DATA);
    delta_replay_free(&r);
}

static void test_replay_many(void **state)
{
    (void)state;
    /* 200,000 adds then removes of half: the hash table keeps this linear */
    DeltaReplay r;
    delta_replay_init(&r);
    DipError err = {0};
    char path[64];
    for (int i = 0; i < 200000; i++) {
        dip_snprintf(path, sizeof path, "part-%06d.parquet", i);
        DeltaFileAction a = {.is_add = true, .path = path, .size = i};
        assert_true(delta_replay_file_action(&r, &a, &err));
    }
    for (int i = 0; i < 200000; i += 2) {
        dip_snprintf(path, sizeof path, "part-%06d.parquet", i);
        DeltaFileAction a = {.is_add = false, .path = path};
        assert_true(delta_replay_file_action(&r, &a, &err));
    }
    assert_int_equal(live_count(&r), 100000);
    delta_replay_free(&r);
}

static void test_partition_values(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 4096);
    DipError err = {0};
    DeltaValue v;
    DipType t = {0};

    t.id = DT_INT32;
    assert_true(delta_partition_value_parse(&t, "-42", &v, &a, &err));
    assert_int_equal(v.i, -42);
    assert_true(delta_partition_value_parse(&t, "", &v, &a, &err));
    assert_true(v.is_null);
    assert_true(delta_partition_value_parse(&t, NULL, &v, &a, &err));
    assert_true(v.is_null);
    assert_false(delta_partition_value_parse(&t, "3000000000", &v, &a, &err));
    dip_error_clear(&err);

    t.id = DT_INT8;
    assert_false(delta_partition_value_parse(&t, "200", &v, &a, &err));
    dip_error_clear(&err);

    t.id = DT_BOOL;
    assert_true(delta_partition_value_parse(&t, "true", &v, &a, &err));
    assert_int_equal(v.i, 1);

    t.id = DT_DATE;
    assert_true(delta_partition_value_parse(&t, "2021-09-08", &v, &a, &err));
    assert_int_equal(v.i, 18878);

    t = (DipType){.id = DT_TIMESTAMP, .unit = TU_MICROS, .utc = true};
    /* without a zone: UTC */
    assert_true(delta_partition_value_parse(&t, "2021-09-08 11:11:11", &v, &a, &err));
    assert_int_equal(v.i, 1631099471000000LL);
    assert_true(delta_partition_value_parse(&t, "2020-01-01 08:09:10.001", &v, &a, &err));
    assert_int_equal(v.i % 1000000, 1000);
    assert_true(delta_partition_value_parse(&t, "1970-01-01T00:00:00.123456Z", &v, &a, &err));
    assert_int_equal(v.i, 123456);
    assert_true(delta_partition_value_parse(&t, "1970-01-01T01:00:00+01:00", &v, &a, &err));
    assert_int_equal(v.i, 0);
    assert_true(delta_partition_value_parse(&t, "1969-01-01 00:00:00", &v, &a, &err));
    assert_int_equal(v.i, -31536000000000LL);
    assert_false(delta_partition_value_parse(&t, "2021-13-01 00:00:00", &v, &a, &err));
    dip_error_clear(&err);

    t = (DipType){.id = DT_DECIMAL, .precision = 12, .scale = 5};
    assert_true(delta_partition_value_parse(&t, "-2342342.23423", &v, &a, &err));
    assert_true(v.dec == -(__int128)234234223423LL);
    assert_true(delta_partition_value_parse(&t, "0.00004", &v, &a, &err));
    assert_true(v.dec == 4);
    assert_true(delta_partition_value_parse(&t, "1.5E-4", &v, &a, &err));
    assert_true(v.dec == 15);
    assert_false(delta_partition_value_parse(&t, "0.000001", &v, &a, &err)); /* scale 6 > 5 */
    dip_error_clear(&err);
    t.precision = 3;
    assert_false(delta_partition_value_parse(&t, "1234", &v, &a, &err)); /* precision */
    dip_error_clear(&err);

    t = (DipType){.id = DT_DOUBLE};
    assert_true(delta_partition_value_parse(&t, "NaN", &v, &a, &err));
    assert_true(isnan(v.d));
    assert_true(delta_partition_value_parse(&t, "-1.5", &v, &a, &err));
    assert_true(v.d == -1.5);

    t = (DipType){.id = DT_STRING};
    assert_true(delta_partition_value_parse(&t, "null", &v, &a, &err));
    assert_false(v.is_null); /* the string "null" is a value */
    assert_int_equal(v.slen, 4);
    arena_free(&a);
}

static void test_dv(void **state)
{
    (void)state;
    DipError err = {0};
    /* PROTOCOL.md "JSON Example 3 — Inline": rows 3, 4, 7, 11, 18, 29 */
    DeltaDeletionVector dv = {.storage_type = 'i',
                              .path_or_inline =
                                  "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L",
                              .offset = -1,
                              .size_in_bytes = 40,
                              .cardinality = 6};
    uint64_t *rows;
    size_t n;
    assert_true(delta_dv_read(NULL, &dv, &rows, &n, &err));
    assert_int_equal(n, 6);
    static const uint64_t want[] = {3, 4, 7, 11, 18, 29};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(rows[i], want[i]);
    free(rows);
    /* a wrong cardinality is refused */
    dv.cardinality = 5;
    assert_false(delta_dv_read(NULL, &dv, &rows, &n, &err));
    dip_error_clear(&err);
    /* a corrupted character changes the magic or the containers: refused, no crash */
    dv.cardinality = 6;
    dv.path_or_inline = "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{M";
    if (delta_dv_read(NULL, &dv, &rows, &n, &err)) free(rows);
    dip_error_clear(&err);

    /* PROTOCOL.md "JSON Example 1": relative path with a random prefix */
    DeltaDeletionVector u = {.storage_type = 'u',
                             .path_or_inline = "ab^-aqEH.-t@S}K{vb[*k^",
                             .offset = 4,
                             .size_in_bytes = 40,
                             .cardinality = 6};
    Buf b;
    buf_init(&b);
    assert_true(delta_dv_relative_path(&u, &b, &err));
    assert_string_equal(buf_cstr(&b),
                        "ab/deletion_vector_d2c639aa-8816-431a-aaf6-d3fe2512ff61.bin");
    buf_clear(&b);
    delta_dv_unique_id(&u, &b);
    assert_string_equal(buf_cstr(&b), "uab^-aqEH.-t@S}K{vb[*k^@4");
    buf_free(&b);

    /* a hand-built bitmap: 2 buckets, run container and bitmap container */
    Buf bm;
    buf_init(&bm);
    uint8_t le[8];
#define PUT32(x)                                                                                   \
    do {                                                                                           \
        uint32_t _v = (x);                                                                         \
        for (int _i = 0; _i < 4; _i++)                                                             \
            le[_i] = (uint8_t)(_v >> (8 * _i));                                                    \
        buf_append(&bm, le, 4);                                                                    \
    } while (0)
#define PUT16(x)                                                                                   \
    do {                                                                                           \
        uint16_t _v = (x);                                                                         \
        le[0] = (uint8_t)_v;                                                                       \
        le[1] = (uint8_t)(_v >> 8);                                                                \
        buf_append(&bm, le, 2);                                                                    \
    } while (0)
    PUT32(1681511377u);
    PUT32(2);
    PUT32(0); /* numBuckets = 2 (u64) */
    /* bucket key 0: run cookie, 1 container (run), values 10..14 */
    PUT32(0);
    PUT32(12347u | (0u << 16));
    buf_append_byte(&bm, 1); /* run flags */
    PUT16(0);                /* key */
    PUT16(4);                /* cardinality - 1 */
    PUT16(1);                /* one run */
    PUT16(10);
    PUT16(4);
    /* bucket key 1: no-run cookie, 1 array container with 2 values */
    PUT32(1);
    PUT32(12346u);
    PUT32(1);
    PUT16(3);
    PUT16(1);
    PUT32(0); /* offset (unused) */
    PUT16(5);
    PUT16(7);
    assert_true(delta_dv_decode_bitmap(bm.data, bm.len, 100, &rows, &n, &err));
    assert_int_equal(n, 7);
    assert_int_equal(rows[0], 10);
    assert_int_equal(rows[4], 14);
    assert_int_equal(rows[5], (1ULL << 32) | (3u << 16) | 5);
    free(rows);
    /* bounded: asking for at most 3 values fails cleanly */
    assert_false(delta_dv_decode_bitmap(bm.data, bm.len, 3, &rows, &n, &err));
    dip_error_clear(&err);
    /* every truncation fails cleanly */
    for (size_t cut = 0; cut < bm.len; cut++) {
        if (delta_dv_decode_bitmap(bm.data, cut, 100, &rows, &n, &err))
            fail_msg("truncated bitmap of %zu bytes accepted", cut);
        dip_error_clear(&err);
    }
    buf_free(&bm);
}

static void test_schema_and_protocol(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 4096);
    DipError err = {0};
    DipSchema *s;
    DeltaFieldMap *fm;
    const char *ss =
        "{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"decimal(12,5)\","
        "\"nullable\":true,\"metadata\":{\"delta.columnMapping.id\":3,"
        "\"delta.columnMapping.physicalName\":\"col-x\"}},{\"name\":\"m\",\"type\":{\"type\":"
        "\"map\",\"keyType\":\"string\",\"valueType\":{\"type\":\"array\",\"elementType\":"
        "\"timestamp_ntz\",\"containsNull\":true},\"valueContainsNull\":true},\"nullable\":true,"
        "\"metadata\":{}}]}";
    assert_true(delta_schema_parse(&a, ss, &s, &fm, &err));
    assert_int_equal(s->nfields, 2);
    assert_int_equal(s->fields[0].type.id, DT_DECIMAL);
    assert_int_equal(s->fields[0].type.scale, 5);
    assert_string_equal(fm[0].physical, "col-x");
    assert_int_equal(fm[0].id, 3);
    assert_int_equal(s->fields[1].type.id, DT_MAP);
    assert_int_equal(s->fields[1].type.children[1].type.children[0].type.id, DT_TIMESTAMP);
    assert_false(s->fields[1].type.children[1].type.children[0].type.utc);
    assert_false(delta_schema_parse(
        &a, "{\"type\":\"struct\",\"fields\":[{\"name\":\"v\",\"type\":\"variant\"}]}", &s, &fm,
        &err));
    assert_int_equal(err.kind, DIP_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "variant"));
    dip_error_clear(&err);

    char *feats[] = {"deletionVectors", "rowIds"};
    DeltaProtocolRaw p = {
        .min_reader = 3, .min_writer = 7, .reader_features = feats, .n_reader_features = 2};
    assert_false(delta_protocol_check(&p, &err));
    assert_non_null(strstr(err.msg, "rowIds"));
    assert_int_equal(err.kind, DIP_ERR_UNSUPPORTED);
    dip_error_clear(&err);
    p.n_reader_features = 1;
    assert_true(delta_protocol_check(&p, &err));
    p.min_reader = 4;
    assert_false(delta_protocol_check(&p, &err));
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_segment),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_replay_many),
        cmocka_unit_test(test_partition_values),
        cmocka_unit_test(test_dv),
        cmocka_unit_test(test_schema_and_protocol),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
