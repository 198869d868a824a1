/*
 * test_parquet.c: unit tests of the Parquet reader's pieces, from byte vectors built by hand
 * after parquet-format's Encodings.md and the Thrift compact protocol spec: Thrift decoding
 * (well-formed and malformed), RLE/bit-packing, each value encoding, the schema tree's
 * backward-compatibility rules and level assembly (null vs empty lists).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "parquet/pq_internal.h"

#include <lz4.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <zstd.h>
#include <string.h>
#include <zlib.h>

/* ------------------------------------------------------------ thrift */

static void test_thrift_fields(void **state)
{
    (void)state;
    /* struct { 1: i32 = -3 (zigzag 5), 3: binary "ab", 20 (long form): i64 = 300, bool true
     * at 21 } */
    const uint8_t b[] = {0x15, 0x05, 0x28, 0x02, 'a', 'b', 0x06, 0x28, 0xd8, 0x04, 0x11, 0x00};
    DipError err = {0};
    ThriftReader r;
    thrift_init(&r, b, sizeof b, 100, &err);
    assert_true(thrift_struct_begin(&r));
    int16_t last = 0, id;
    int t;
    int32_t v32;
    int64_t v64;
    const uint8_t *p;
    uint32_t n;
    bool bv;
    assert_true(thrift_field(&r, &last, &id, &t));
    assert_int_equal(id, 1);
    assert_int_equal(t, TT_I32);
    assert_true(thrift_read_i32(&r, t, &v32));
    assert_int_equal(v32, -3);
    assert_true(thrift_field(&r, &last, &id, &t));
    assert_int_equal(id, 3);
    assert_true(thrift_read_binary(&r, t, &p, &n));
    assert_int_equal(n, 2);
    assert_memory_equal(p, "ab", 2);
    assert_true(thrift_field(&r, &last, &id, &t));
    assert_int_equal(id, 20);
    assert_true(thrift_read_i64(&r, t, &v64));
    assert_int_equal(v64, 300);
    assert_true(thrift_field(&r, &last, &id, &t));
    assert_int_equal(id, 21);
    assert_true(thrift_read_bool(&r, t, &bv));
    assert_true(bv);
    assert_true(thrift_field(&r, &last, &id, &t));
    assert_int_equal(t, TT_STOP);
}

static void test_thrift_skip(void **state)
{
    (void)state;
    /* list<i32> with long count 16, map<binary,i32> of 1, nested struct, double */
    uint8_t b[64];
    size_t k = 0;
    b[k++] = 0xf5; /* count 15 => varint follows, element type i32 */
    b[k++] = 16;
    for (int i = 0; i < 16; i++)
        b[k++] = 0x02;
    DipError err = {0};
    ThriftReader r;
    thrift_init(&r, b, k, 0, &err);
    assert_true(thrift_skip(&r, TT_LIST));
    assert_ptr_equal(r.p, b + k);
    const uint8_t m[] = {0x01, 0x85, 0x01, 'k', 0x04, /* nested struct: */ 0x1c,
                         0x15, 0x02, 0x00, 0x00};
    thrift_init(&r, m, 5, 0, &err);
    assert_true(thrift_skip(&r, TT_MAP));
    thrift_init(&r, m + 5, 5, 0, &err);
    assert_true(thrift_skip(&r, TT_STRUCT));
    assert_ptr_equal(r.p, m + 10);
}

static void test_thrift_malformed(void **state)
{
    (void)state;
    DipError err = {0};
    ThriftReader r;
    /* truncated varint */
    const uint8_t v[] = {0x15, 0x80, 0x80};
    int16_t last = 0, id;
    int t;
    int32_t x;
    thrift_init(&r, v, sizeof v, 0, &err);
    assert_true(thrift_field(&r, &last, &id, &t));
    assert_false(thrift_read_i32(&r, t, &x));
    assert_int_equal(err.kind, DIP_ERR_DATA);
    assert_non_null(strstr(err.msg, "offset"));
    /* list claiming 1000 elements in 3 bytes */
    const uint8_t l[] = {0xf5, 0xe8, 0x07, 0x02, 0x02};
    dip_error_clear(&err);
    thrift_init(&r, l, sizeof l, 0, &err);
    assert_false(thrift_skip(&r, TT_LIST));
    assert_non_null(strstr(err.msg, "list count"));
    /* string longer than the buffer */
    const uint8_t s[] = {0xff, 0xff, 0x03, 'a'};
    const uint8_t *p;
    uint32_t n;
    dip_error_clear(&err);
    thrift_init(&r, s, sizeof s, 0, &err);
    assert_false(thrift_read_binary(&r, TT_BINARY, &p, &n));
    /* structs nested beyond the depth limit */
    uint8_t deep[200];
    for (int i = 0; i < 200; i++)
        deep[i] = 0x1c; /* field +1, type struct */
    dip_error_clear(&err);
    thrift_init(&r, deep, sizeof deep, 0, &err);
    assert_false(thrift_skip(&r, TT_STRUCT));
    assert_non_null(strstr(err.msg, "nested"));
    /* missing stop field */
    const uint8_t ns[] = {0x15, 0x02};
    dip_error_clear(&err);
    thrift_init(&r, ns, sizeof ns, 0, &err);
    assert_false(thrift_skip(&r, TT_STRUCT));
    /* a footer that is not a struct at all: pq_parse_file_meta must fail cleanly */
    Arena a;
    arena_init(&a, 4096);
    PqFileMeta fm;
    const uint8_t junk[] = {0x19, 0xfc, 0xff, 0xff, 0xff, 0x0f};
    dip_error_clear(&err);
    assert_false(pq_parse_file_meta(junk, sizeof junk, 0, &a, &fm, &err));
    arena_free(&a);
}

/* ------------------------------------------------------------ RLE / bit packing */

static void test_rle_spec_example(void **state)
{
    (void)state;
    /* Encodings.md: values 0..7 bit-packed with width 3: header 0x03, bytes 88 C6 FA;
     * followed by an RLE run of 5 x value 4 (header 5<<1 = 0x0a, one value byte) */
    const uint8_t b[] = {0x03, 0x88, 0xc6, 0xfa, 0x0a, 0x04};
    uint32_t out[13];
    DipError err = {0};
    RleDecoder d;
    rle_init(&d, b, sizeof b, 3);
    assert_true(rle_get_u32(&d, out, 13, &err));
    for (int i = 0; i < 8; i++)
        assert_int_equal(out[i], i);
    for (int i = 8; i < 13; i++)
        assert_int_equal(out[i], 4);
    /* asking for more than the data holds is an error, not garbage */
    uint32_t more;
    assert_false(rle_get_u32(&d, &more, 1, &err));
    /* same data through the 16-bit (levels) path, in odd-sized pieces */
    uint16_t lv[13];
    rle_init(&d, b, sizeof b, 3);
    assert_true(rle_get_u16(&d, lv, 3, &err));
    assert_true(rle_get_u16(&d, lv + 3, 10, &err));
    for (int i = 0; i < 8; i++)
        assert_int_equal(lv[i], i);
    assert_int_equal(lv[12], 4);
}

static void test_bit_unpack_all_widths(void **state)
{
    (void)state;
    uint8_t buf[8 * 64 + 16];
    uint64_t rng = 12345;
    for (int bw = 1; bw <= 32; bw++) {
        uint32_t want[300], got[300];
        memset(buf, 0, sizeof buf);
        uint64_t mask = bw == 32 ? 0xffffffffu : ((1u << bw) - 1);
        for (int i = 0; i < 300 && (size_t)(i + 1) * (size_t)bw <= 8 * 300; i++) {
            want[i] = (uint32_t)(dip_rng_next(&rng) & mask);
        }
        /* pack LSB first */
        uint8_t packed[300 * 4 + 16];
        memset(packed, 0, sizeof packed);
        for (int i = 0; i < 300; i++)
            for (int k = 0; k < bw; k++)
                if (want[i] >> k & 1) {
                    size_t bit = (size_t)i * (size_t)bw + (size_t)k;
                    packed[bit / 8] |= (uint8_t)(1u << (bit % 8));
                }
        size_t bytes = (300 * (size_t)bw + 7) / 8;
        bit_unpack_u32(packed, bytes, bw, got, 300);
        assert_memory_equal(want, got, sizeof want);
        uint64_t g64[300];
        bit_unpack_u64(packed, bytes, bw, g64, 300);
        for (int i = 0; i < 300; i++)
            assert_int_equal(g64[i], want[i]);
    }
}

/* ------------------------------------------------------------ encodings */

static PqLeaf leaf_of(int phys, PqConv conv, int width)
{
    PqLeaf lf;
    memset(&lf, 0, sizeof lf);
    lf.phys = phys;
    lf.conv = conv;
    lf.width = width;
    lf.path = (char *)"c";
    return lf;
}

static void test_plain(void **state)
{
    (void)state;
    DipError err = {0};
    PqValues v = {0};
    size_t used;
    PqLeaf i32 = leaf_of(PQT_INT32, PQV_I32, 4);
    const uint8_t p[] = {1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff};
    assert_true(pq_decode_plain(&i32, p, sizeof p, 2, &v, &used, &err));
    assert_int_equal(((int32_t *)v.fixed)[1], -2);
    /* one value too many */
    assert_false(pq_decode_plain(&i32, p, sizeof p, 3, &v, &used, &err));
    pq_values_free(&v);
    /* byte arrays, and a length that runs past the end */
    PqLeaf ba = leaf_of(PQT_BYTE_ARRAY, PQV_BYTES, 0);
    const uint8_t s[] = {2, 0, 0, 0, 'h', 'i', 0, 0, 0, 0, 3, 0, 0, 0, 'a', 'b', 'c'};
    assert_true(pq_decode_plain(&ba, s, sizeof s, 3, &v, &used, &err));
    assert_int_equal(v.n, 3);
    assert_int_equal(v.offsets[1], 2);
    assert_int_equal(v.offsets[2], 2);
    assert_int_equal(v.offsets[3], 5);
    assert_memory_equal(v.data, "hiabc", 5);
    const uint8_t bad[] = {9, 0, 0, 0, 'x'};
    pq_values_reset(&v);
    dip_error_clear(&err);
    assert_false(pq_decode_plain(&ba, bad, sizeof bad, 1, &v, &used, &err));
    pq_values_free(&v);
    /* booleans are bit-packed LSB first */
    PqLeaf bl = leaf_of(PQT_BOOLEAN, PQV_BOOL, 1);
    const uint8_t bb[] = {0x05};
    assert_true(pq_decode_plain(&bl, bb, 1, 4, &v, &used, &err));
    assert_int_equal(v.fixed[0], 1);
    assert_int_equal(v.fixed[1], 0);
    assert_int_equal(v.fixed[2], 1);
    pq_values_free(&v);
    /* decimal in a 3-byte fixed_len_byte_array, big-endian two's complement */
    PqLeaf dec = leaf_of(PQT_FIXED_LEN_BYTE_ARRAY, PQV_BYTES_TO_DEC, 16);
    dec.type_length = 3;
    const uint8_t d[] = {0xff, 0xff, 0x85, 0x00, 0x01, 0x00};
    assert_true(pq_decode_plain(&dec, d, sizeof d, 2, &v, &used, &err));
    __int128 x;
    memcpy(&x, v.fixed, 16);
    assert_true(x == -123);
    memcpy(&x, v.fixed + 16, 16);
    assert_true(x == 256);
    pq_values_free(&v);
    /* INT96: Julian day 2440589 (1970-01-02) + 1 ns */
    PqLeaf i96 = leaf_of(PQT_INT96, PQV_INT96_TO_NS, 8);
    uint8_t t[12] = {1, 0, 0, 0, 0, 0, 0, 0};
    int32_t jd = 2440589;
    memcpy(t + 8, &jd, 4);
    assert_true(pq_decode_plain(&i96, t, 12, 1, &v, &used, &err));
    assert_int_equal(((int64_t *)v.fixed)[0], 86400000000000LL + 1);
    pq_values_free(&v);
}

static void test_dictionary(void **state)
{
    (void)state;
    DipError err = {0};
    PqScratch s = {0};
    PqValues dict = {0}, v = {0};
    size_t used;
    PqLeaf ba = leaf_of(PQT_BYTE_ARRAY, PQV_BYTES, 0);
    const uint8_t dp[] = {1, 0, 0, 0, 'a', 2, 0, 0, 0, 'b', 'c'};
    assert_true(pq_decode_plain(&ba, dp, sizeof dp, 2, &dict, &used, &err));
    /* bit width 1, bit-packed run of one group: indices 1,0,1,1,0,0,0,0 */
    const uint8_t ids[] = {1, 0x03, 0x0d};
    assert_true(pq_decode_dict_ids(&ba, ids, sizeof ids, 5, &dict, &v, &s, &err));
    assert_int_equal(v.offsets[5], 8);
    assert_memory_equal(v.data, "bcabcbca", 8);
    /* an index past the dictionary */
    const uint8_t bad[] = {2, 0x02, 0x03};
    dip_error_clear(&err);
    assert_false(pq_decode_dict_ids(&ba, bad, sizeof bad, 1, &dict, &v, &s, &err));
    assert_non_null(strstr(err.msg, "out of range"));
    pq_values_free(&dict);
    pq_values_free(&v);
    pq_scratch_free(&s);
}

static void test_delta_binary_packed(void **state)
{
    (void)state;
    DipError err = {0};
    PqScratch s = {0};
    PqValues v = {0};
    /* Encodings.md example 1: 1..5; block 128, 4 miniblocks, 5 values, first 1, min delta 1,
     * all widths 0 */
    const uint8_t e1[] = {0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0};
    PqLeaf i64 = leaf_of(PQT_INT64, PQV_I64, 8);
    assert_true(pq_decode_delta_binary(&i64, e1, sizeof e1, 5, &v, &s, &err));
    for (int i = 0; i < 5; i++)
        assert_int_equal(((int64_t *)v.fixed)[i], i + 1);
    pq_values_free(&v);
    /* example 2: 7,5,3,1,2,3,4,5: min delta -2, relative deltas 0,0,0,3,3,3,3 in 2 bits */
    uint8_t e2[32] = {0x80, 0x01, 0x04, 0x08, 0x0e, 0x03, 2, 0, 0, 0, 0xc0, 0x3f};
    size_t n2 = 6 + 4 + 8;
    PqLeaf i32 = leaf_of(PQT_INT32, PQV_I32, 4);
    assert_true(pq_decode_delta_binary(&i32, e2, n2, 8, &v, &s, &err));
    const int32_t want[] = {7, 5, 3, 1, 2, 3, 4, 5};
    assert_memory_equal(v.fixed, want, sizeof want);
    pq_values_free(&v);
    /* truncated miniblock */
    dip_error_clear(&err);
    assert_false(pq_decode_delta_binary(&i32, e2, n2 - 3, 8, &v, &s, &err));
    /* header promising fewer values than the page needs */
    dip_error_clear(&err);
    assert_false(pq_decode_delta_binary(&i64, e1, sizeof e1, 6, &v, &s, &err));
    pq_values_free(&v);
    pq_scratch_free(&s);
}

static void test_delta_byte_arrays(void **state)
{
    (void)state;
    DipError err = {0};
    PqScratch s = {0};
    PqValues v = {0};
    PqLeaf ba = leaf_of(PQT_BYTE_ARRAY, PQV_BYTES, 0);
    /* DELTA_LENGTH_BYTE_ARRAY: lengths 5,5,6,6 (first 5, deltas 0,1,0, min 0, width 1) */
    uint8_t dl[64] = {0x80, 0x01, 0x04, 0x04, 0x0a, 0x00, 1, 0, 0, 0, 0x02, 0, 0, 0};
    memcpy(dl + 14, "HelloWorldFoobarABCDEF", 22);
    assert_true(pq_decode_delta_length(&ba, dl, 36, 4, &v, &s, &err));
    assert_int_equal(v.n, 4);
    assert_int_equal(v.offsets[2], 10);
    assert_memory_equal(v.data + 10, "Foobar", 6);
    pq_values_free(&v);
    /* DELTA_BYTE_ARRAY: axis, axle, babble, babyhood: prefixes 0,2,0,3 (first 0, min -2,
     * relative 4,0,5 in 3 bits), suffixes 4,2,6,5 (first 4, min -2, relative 0,6,1) */
    uint8_t db[128];
    size_t k = 0;
    const uint8_t pre[] = {0x80, 0x01, 0x04, 0x04, 0x00, 0x03, 3, 0, 0, 0, 0x44,
                           0x01, 0,    0,    0,    0,    0,    0, 0, 0, 0, 0};
    const uint8_t suf[] = {0x80, 0x01, 0x04, 0x04, 0x08, 0x03, 3, 0, 0, 0, 0x70,
                           0,    0,    0,    0,    0,    0,    0, 0, 0, 0, 0};
    memcpy(db + k, pre, sizeof pre);
    k += sizeof pre;
    memcpy(db + k, suf, sizeof suf);
    k += sizeof suf;
    memcpy(db + k, "axislebabbleyhood", 17);
    k += 17;
    bool ok = pq_decode_delta_byte_array(&ba, db, k, 4, &v, &s, &err);
    if (!ok) print_message("%s\n", err.msg);
    assert_true(ok);
    assert_int_equal(v.n, 4);
    assert_int_equal(v.offsets[4], 4 + 4 + 6 + 8);
    assert_memory_equal(v.data, "axisaxlebabblebabyhood", 22);
    pq_values_free(&v);
    /* a prefix longer than the previous value is corruption */
    db[10] = 0x47; /* second prefix becomes 5, longer than "axis" */
    dip_error_clear(&err);
    assert_false(pq_decode_delta_byte_array(&ba, db, k, 4, &v, &s, &err));
    pq_values_free(&v);
    pq_scratch_free(&s);
}

static void test_byte_stream_split(void **state)
{
    (void)state;
    DipError err = {0};
    PqScratch s = {0};
    PqValues v = {0};
    PqLeaf fl = leaf_of(PQT_FLOAT, PQV_F32, 4);
    float in[3] = {1.5f, -2.25f, 1e10f};
    uint8_t raw[12], split[12];
    memcpy(raw, in, 12);
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 4; b++)
            split[b * 3 + i] = raw[i * 4 + b];
    assert_true(pq_decode_byte_stream_split(&fl, split, 12, 3, &v, &s, &err));
    assert_memory_equal(v.fixed, in, 12);
    assert_false(pq_decode_byte_stream_split(&fl, split, 11, 3, &v, &s, &err));
    pq_values_free(&v);
    pq_scratch_free(&s);
}

/* ------------------------------------------------------------ schema and assembly */

static PqSchemaElem el(const char *name, int type, int rep, int nchildren, int converted)
{
    PqSchemaElem e;
    memset(&e, 0, sizeof e);
    e.name = (char *)name;
    e.type = type;
    e.repetition = rep;
    e.num_children = nchildren;
    e.converted = converted;
    e.field_id = -1;
    return e;
}

static void test_schema_legacy_lists(void **state)
{
    (void)state;
    PqFile f;
    memset(&f, 0, sizeof f);
    arena_init(&f.arena, 4096);
    f.name = (char *)"t.parquet";
    PqSchemaElem s[] = {
        el("schema", -1, -1, 4, -1),
        /* 3-level standard list */
        el("a", -1, PQR_OPTIONAL, 1, PQCT_LIST),
        el("list", -1, PQR_REPEATED, 1, -1),
        el("element", PQT_INT32, PQR_OPTIONAL, 0, -1),
        /* 2-level: repeated primitive inside LIST */
        el("b", -1, PQR_OPTIONAL, 1, PQCT_LIST),
        el("el", PQT_INT32, PQR_REPEATED, 0, -1),
        /* 2-level: repeated group named "array" is the element (a struct) */
        el("c", -1, PQR_REQUIRED, 1, PQCT_LIST),
        el("array", -1, PQR_REPEATED, 1, -1),
        el("x", PQT_INT64, PQR_REQUIRED, 0, -1),
        /* bare repeated field: required list of required elements */
        el("d", PQT_BYTE_ARRAY, PQR_REPEATED, 0, PQCT_UTF8),
    };
    f.meta.schema = s;
    f.meta.nschema = (int)DIP_ARRAY_LEN(s);
    DipError err = {0};
    assert_true(pq_build_schema(&f, &err));
    assert_int_equal(f.schema.nfields, 4);
    assert_int_equal(f.nleaves, 4);
    const DipField *a = &f.schema.fields[0], *b = &f.schema.fields[1], *c = &f.schema.fields[2],
                   *d = &f.schema.fields[3];
    assert_int_equal(a->type.id, DT_LIST);
    assert_true(a->nullable);
    assert_int_equal(a->type.children[0].type.id, DT_INT32);
    assert_true(a->type.children[0].nullable);
    assert_int_equal(b->type.id, DT_LIST);
    assert_int_equal(b->type.children[0].type.id, DT_INT32);
    assert_false(b->type.children[0].nullable);
    assert_int_equal(c->type.id, DT_LIST);
    assert_false(c->nullable);
    assert_int_equal(c->type.children[0].type.id, DT_STRUCT);
    assert_int_equal(d->type.id, DT_LIST);
    assert_false(d->nullable);
    assert_int_equal(d->type.children[0].type.id, DT_STRING);
    /* levels */
    assert_int_equal(f.leaves[0].max_def, 3);
    assert_int_equal(f.leaves[0].max_rep, 1);
    assert_int_equal(f.leaves[1].max_def, 2);
    assert_int_equal(f.leaves[2].max_def, 1);
    assert_int_equal(f.leaves[3].max_def, 1);
    assert_int_equal(f.roots[0].def, 1);
    assert_int_equal(f.roots[0].elem_def, 2);
    assert_int_equal(f.roots[3].def, 0);
    assert_int_equal(f.roots[3].elem_def, 1);
    /* malformed: num_children past the end */
    s[0].num_children = 9;
    PqFile g;
    memset(&g, 0, sizeof g);
    arena_init(&g.arena, 4096);
    g.name = (char *)"t";
    g.meta = f.meta;
    assert_false(pq_build_schema(&g, &err));
    arena_free(&g.arena);
    arena_free(&f.arena);
}

static void test_assemble_null_vs_empty(void **state)
{
    (void)state;
    /* optional list of optional int32: rows [1,2], null, [], [null], [3] */
    PqFile f;
    memset(&f, 0, sizeof f);
    arena_init(&f.arena, 4096);
    f.name = (char *)"t";
    PqSchemaElem s[] = {el("schema", -1, -1, 1, -1), el("a", -1, PQR_OPTIONAL, 1, PQCT_LIST),
                        el("list", -1, PQR_REPEATED, 1, -1),
                        el("element", PQT_INT32, PQR_OPTIONAL, 0, -1)};
    f.meta.schema = s;
    f.meta.nschema = 4;
    DipError err = {0};
    assert_true(pq_build_schema(&f, &err));
    int16_t def[] = {3, 3, 0, 1, 2, 3};
    int16_t rep[] = {0, 1, 0, 0, 0, 0};
    int32_t vals[] = {1, 2, 3};
    PqColumnData cd;
    memset(&cd, 0, sizeof cd);
    cd.nlevels = 6;
    cd.def = def;
    cd.rep = rep;
    cd.vals.n = 3;
    cd.vals.fixed = (uint8_t *)vals;
    Arena a;
    arena_init(&a, 4096);
    ColumnVector v;
    assert_true(pq_assemble(&f, &f.roots[0], &f.schema.fields[0].type, &cd, 0, 5, &a, &v, &err));
    assert_int_equal(v.length, 5);
    const int64_t off[] = {0, 2, 2, 2, 3, 4};
    assert_memory_equal(v.offsets, off, sizeof off);
    assert_true(col_is_valid(&v, 0));
    assert_false(col_is_valid(&v, 1)); /* null list */
    assert_true(col_is_valid(&v, 2));  /* empty list */
    assert_true(col_is_valid(&v, 3));
    const ColumnVector *e = &v.children[0];
    assert_int_equal(e->length, 4);
    assert_true(col_is_valid(e, 1));
    assert_false(col_is_valid(e, 2)); /* [null] */
    assert_int_equal(((int32_t *)e->values)[3], 3);
    /* canonical JSON of the rows */
    Buf out;
    buf_init(&out);
    ColumnBatch b;
    memset(&b, 0, sizeof b);
    b.schema = &f.schema;
    b.ncols = 1;
    b.cols = &v;
    b.num_rows = 5;
    JsonWriter w;
    for (int r = 0; r < 5; r++) {
        jw_init(&w, &out);
        column_batch_write_row_json(&w, &b, r);
        buf_append_byte(&out, '\n');
    }
    assert_string_equal(buf_cstr(&out),
                        "{\"a\":[1,2]}\n{\"a\":null}\n{\"a\":[]}\n{\"a\":[null]}\n{\"a\":[3]}\n");
    /* wrong row count is a data error */
    assert_false(pq_assemble(&f, &f.roots[0], &f.schema.fields[0].type, &cd, 0, 4, &a, &v, &err));
    buf_free(&out);
    arena_free(&a);
    arena_free(&f.arena);
}

/* ------------------------------------------------------------ a whole file, by hand */

/* A minimal Thrift compact writer, enough to build a footer and a page header. */
typedef struct TW {
    uint8_t b[1024];
    size_t n;
    int16_t last[8];
    int depth;
} TW;

static void tw_byte(TW *w, uint8_t x)
{
    w->b[w->n++] = x;
}
static void tw_varint(TW *w, uint64_t v)
{
    while (v >= 0x80) {
        tw_byte(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    tw_byte(w, (uint8_t)v);
}
static void tw_field(TW *w, int16_t id, int type)
{
    tw_byte(w, (uint8_t)(((id - w->last[w->depth]) << 4) | type));
    w->last[w->depth] = id;
}
static void tw_i(TW *w, int16_t id, int type, int64_t v)
{
    tw_field(w, id, type);
    tw_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}
static void tw_str(TW *w, int16_t id, const char *s)
{
    tw_field(w, id, TT_BINARY);
    tw_varint(w, strlen(s));
    memcpy(w->b + w->n, s, strlen(s));
    w->n += strlen(s);
}
static void tw_begin(TW *w, int16_t id) /* id 0: a list element */
{
    if (id) tw_field(w, id, TT_STRUCT);
    w->last[++w->depth] = 0;
}
static void tw_end(TW *w)
{
    tw_byte(w, 0);
    w->depth--;
}
static void tw_list(TW *w, int16_t id, int elem_type, int count)
{
    tw_field(w, id, TT_LIST);
    tw_byte(w, (uint8_t)((count << 4) | elem_type));
}

/* "PAR1", one PLAIN uncompressed INT32 page of 4 values with a CRC, the footer. */
static size_t build_file(uint8_t *out, bool with_crc, bool bitpacked)
{
    const int32_t vals[4] = {10, -20, 30, 40};
    /* bitpacked: an optional column whose definition levels 1,0,1,1 use the deprecated
     * BIT_PACKED encoding (MSB first, no length prefix): 0b1011_0000 */
    uint8_t body[32];
    size_t blen = 16;
    memcpy(body, vals, 16);
    if (bitpacked) {
        body[0] = 0xb0;
        memcpy(body + 1, &vals[0], 4);
        memcpy(body + 5, &vals[2], 8);
        blen = 13;
    }
    size_t n = 0;
    memcpy(out, "PAR1", 4);
    n = 4;
    TW ph = {0};
    tw_begin(&ph, 0);
    tw_i(&ph, 1, TT_I32, PQP_DATA_PAGE);
    tw_i(&ph, 2, TT_I32, (int64_t)blen);
    tw_i(&ph, 3, TT_I32, (int64_t)blen);
    if (with_crc) tw_i(&ph, 4, TT_I32, (int32_t)dip_crc32(0, body, blen));
    tw_begin(&ph, 5);
    tw_i(&ph, 1, TT_I32, 4);
    tw_i(&ph, 2, TT_I32, PQE_PLAIN);
    tw_i(&ph, 3, TT_I32, bitpacked ? PQE_BIT_PACKED : PQE_RLE);
    tw_i(&ph, 4, TT_I32, PQE_RLE);
    tw_end(&ph);
    tw_end(&ph);
    memcpy(out + n, ph.b, ph.n);
    n += ph.n;
    memcpy(out + n, body, blen);
    n += blen;
    int64_t chunk = (int64_t)(ph.n + blen);
    TW fm = {0};
    tw_begin(&fm, 0);
    tw_i(&fm, 1, TT_I32, 1);
    tw_list(&fm, 2, TT_STRUCT, 2);
    tw_begin(&fm, 0);
    tw_str(&fm, 4, "schema");
    tw_i(&fm, 5, TT_I32, 1);
    tw_end(&fm);
    tw_begin(&fm, 0);
    tw_i(&fm, 1, TT_I32, PQT_INT32);
    tw_i(&fm, 3, TT_I32, bitpacked ? PQR_OPTIONAL : PQR_REQUIRED);
    tw_str(&fm, 4, "x");
    tw_end(&fm);
    tw_i(&fm, 3, TT_I64, 4);
    tw_list(&fm, 4, TT_STRUCT, 1);
    tw_begin(&fm, 0);
    tw_list(&fm, 1, TT_STRUCT, 1);
    tw_begin(&fm, 0);
    tw_i(&fm, 2, TT_I64, 4);
    tw_begin(&fm, 3);
    tw_i(&fm, 1, TT_I32, PQT_INT32);
    tw_list(&fm, 2, TT_I32, 1);
    tw_varint(&fm, 0);
    tw_list(&fm, 3, TT_BINARY, 1);
    tw_varint(&fm, 1);
    tw_byte(&fm, 'x');
    tw_i(&fm, 4, TT_I32, PQC_UNCOMPRESSED);
    tw_i(&fm, 5, TT_I64, 4);
    tw_i(&fm, 6, TT_I64, chunk);
    tw_i(&fm, 7, TT_I64, chunk);
    tw_i(&fm, 9, TT_I64, 4);
    tw_end(&fm); /* ColumnMetaData */
    tw_end(&fm); /* ColumnChunk */
    tw_i(&fm, 2, TT_I64, chunk);
    tw_i(&fm, 3, TT_I64, 4);
    tw_end(&fm); /* RowGroup */
    tw_end(&fm); /* FileMetaData */
    memcpy(out + n, fm.b, fm.n);
    n += fm.n;
    uint32_t fl = (uint32_t)fm.n;
    memcpy(out + n, &fl, 4);
    memcpy(out + n + 4, "PAR1", 4);
    return n + 8;
}

static void test_file_crc(void **state)
{
    (void)state;
    uint8_t buf[2048];
    size_t n = build_file(buf, true, false);
    DipError err = {0};
    PqFile *f;
    assert_true(pq_file_open_mem(&f, buf, n, "crc.parquet", &err));
    PqCheckStats st;
    assert_true(pq_check(f, -1, &st, &err));
    assert_int_equal(st.rows, 4);
    assert_int_equal(st.pages, 1);
    assert_int_equal(st.crc_checked, 1);
    ColumnBatch b;
    assert_true(pq_read_row_group(f, 0, NULL, 0, &b, &err));
    assert_int_equal(b.num_rows, 4);
    assert_int_equal(((int32_t *)b.cols[0].values)[1], -20);
    column_batch_free(&b);
    pq_file_close(f);
    /* a flipped value byte: the CRC catches it, with the file, row group, column, offset */
    size_t data_at = 4;
    while (memcmp(buf + data_at, "\x0a\x00\x00\x00", 4) != 0)
        data_at++;
    buf[data_at + 1] ^= 0x01;
    assert_true(pq_file_open_mem(&f, buf, n, "crc.parquet", &err));
    assert_false(pq_check(f, -1, &st, &err));
    assert_non_null(strstr(err.msg, "CRC mismatch"));
    assert_non_null(strstr(err.msg, "crc.parquet: row group 0, column x"));
    assert_non_null(strstr(err.msg, "page at offset 4"));
    pq_file_close(f);
    /* the same file without a CRC decodes the flipped value without complaint */
    n = build_file(buf, false, false);
    assert_true(pq_file_open_mem(&f, buf, n, "nocrc.parquet", &err));
    dip_error_clear(&err);
    assert_true(pq_check(f, -1, &st, &err));
    assert_int_equal(st.crc_checked, 0);
    pq_file_close(f);
    /* deprecated BIT_PACKED definition levels: 10, null, 30, 40 */
    n = build_file(buf, true, true);
    assert_true(pq_file_open_mem(&f, buf, n, "bp.parquet", &err));
    ColumnBatch bb;
    dip_error_clear(&err);
    bool ok = pq_read_row_group(f, 0, NULL, 0, &bb, &err);
    if (!ok) print_message("%s\n", err.msg);
    assert_true(ok);
    assert_int_equal(bb.cols[0].null_count, 1);
    assert_false(col_is_valid(&bb.cols[0], 1));
    assert_int_equal(((int32_t *)bb.cols[0].values)[0], 10);
    assert_int_equal(((int32_t *)bb.cols[0].values)[2], 30);
    assert_int_equal(((int32_t *)bb.cols[0].values)[3], 40);
    column_batch_free(&bb);
    pq_file_close(f);
}

/* ------------------------------------------------------------ row windows */

typedef struct FB {
    uint8_t b[4096];
    size_t n;
} FB;

static void fb_put(FB *f, const void *p, size_t n)
{
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

/* How build_window_file writes its pages: with CRCs or not, and the codec. */
static bool g_win_crc = true;
static int g_win_codec = PQC_UNCOMPRESSED;

/* A page: header (type, sizes, and a data page header v1 of `nvals` values or a dictionary
 * page header) then the body, compressed with g_win_codec. */
static void put_page(FB *f, int type, int nvals, int enc, const uint8_t *raw, size_t rlen)
{
    uint8_t comp[1024];
    const uint8_t *body = raw;
    size_t blen = rlen;
    if (g_win_codec == PQC_SNAPPY) {
        blen = sizeof comp;
        assert_int_equal(snappy_compress((const char *)raw, rlen, (char *)comp, &blen), SNAPPY_OK);
        body = comp;
    } else if (g_win_codec == PQC_ZSTD) {
        blen = ZSTD_compress(comp, sizeof comp, raw, rlen, 1);
        assert_false(ZSTD_isError(blen));
        body = comp;
    }
    TW ph = {0};
    tw_begin(&ph, 0);
    tw_i(&ph, 1, TT_I32, type);
    tw_i(&ph, 2, TT_I32, (int64_t)rlen);
    tw_i(&ph, 3, TT_I32, (int64_t)blen);
    if (g_win_crc) tw_i(&ph, 4, TT_I32, (int32_t)dip_crc32(0, body, blen));
    tw_begin(&ph, type == PQP_DICTIONARY_PAGE ? 7 : 5);
    tw_i(&ph, 1, TT_I32, nvals);
    tw_i(&ph, 2, TT_I32, enc);
    if (type == PQP_DATA_PAGE) {
        tw_i(&ph, 3, TT_I32, PQE_RLE);
        tw_i(&ph, 4, TT_I32, PQE_RLE);
    }
    tw_end(&ph);
    tw_end(&ph);
    fb_put(f, ph.b, ph.n);
    fb_put(f, body, blen);
}

/* RLE-hybrid levels, each as a run of one (header 2, one value byte), with the v1 length. */
static size_t put_levels(uint8_t *out, const int *lv, int n)
{
    uint32_t len = (uint32_t)n * 2;
    memcpy(out, &len, 4);
    for (int i = 0; i < n; i++) {
        out[4 + 2 * i] = 2;
        out[5 + 2 * i] = (uint8_t)lv[i];
    }
    return 4 + len;
}

static void chunk_meta(TW *fm, int phys, int enc2, const char *path1, const char *path2,
                       int64_t nvals, int64_t start, int64_t len, int64_t data_at, bool dict)
{
    tw_begin(fm, 0);
    tw_i(fm, 2, TT_I64, start);
    tw_begin(fm, 3);
    tw_i(fm, 1, TT_I32, phys);
    tw_list(fm, 2, TT_I32, 2);
    tw_varint(fm, (uint64_t)PQE_PLAIN << 1);
    tw_varint(fm, (uint64_t)enc2 << 1);
    tw_list(fm, 3, TT_BINARY, path2 ? 3 : 1);
    tw_varint(fm, strlen(path1));
    memcpy(fm->b + fm->n, path1, strlen(path1));
    fm->n += strlen(path1);
    if (path2) {
        const char *parts[2] = {"list", path2};
        for (int i = 0; i < 2; i++) {
            tw_varint(fm, strlen(parts[i]));
            memcpy(fm->b + fm->n, parts[i], strlen(parts[i]));
            fm->n += strlen(parts[i]);
        }
    }
    tw_i(fm, 4, TT_I32, g_win_codec);
    tw_i(fm, 5, TT_I64, nvals);
    tw_i(fm, 6, TT_I64, len);
    tw_i(fm, 7, TT_I64, len);
    tw_i(fm, 9, TT_I64, data_at);
    if (dict) tw_i(fm, 11, TT_I64, start);
    tw_end(fm); /* ColumnMetaData */
    tw_end(fm); /* ColumnChunk */
}

/* Six rows, three columns, each chunk of two data pages:
 *   a INT32 required: a dictionary page, then 3 dictionary-encoded values, then 3 PLAIN
 *     values (the writer's fallback): a window boundary after row 3 is at the encoding change;
 *   b list<int32> (optional list, optional elements): page 1 ends inside row 1's list
 *     [3, null | 4], which page 2 finishes (repetition level 1 first), then [], null, [5],
 *     [null];
 *   s BYTE_ARRAY required strings "a","bb","ccc" | "dddd","","f". */
static size_t build_window_file(uint8_t *out)
{
    FB f = {0};
    fb_put(&f, "PAR1", 4);
    uint8_t body[256];
    size_t bl;
    /* column a */
    int64_t a_start = (int64_t)f.n;
    const int32_t dict[3] = {100, 200, 300};
    put_page(&f, PQP_DICTIONARY_PAGE, 3, PQE_PLAIN, (const uint8_t *)dict, sizeof dict);
    int64_t a_data = (int64_t)f.n;
    const uint8_t ids[] = {2, 2, 2, 2, 0, 2, 1}; /* bit width 2, then runs of one: 2, 0, 1 */
    put_page(&f, PQP_DATA_PAGE, 3, PQE_RLE_DICTIONARY, ids, sizeof ids);
    const int32_t plain[3] = {7, 8, 9};
    put_page(&f, PQP_DATA_PAGE, 3, PQE_PLAIN, (const uint8_t *)plain, sizeof plain);
    int64_t a_len = (int64_t)f.n - a_start;
    /* column b */
    int64_t b_start = (int64_t)f.n;
    const int rep1[4] = {0, 1, 0, 1}, def1[4] = {3, 3, 3, 2};
    bl = put_levels(body, rep1, 4);
    bl += put_levels(body + bl, def1, 4);
    const int32_t v1[3] = {1, 2, 3};
    memcpy(body + bl, v1, sizeof v1);
    put_page(&f, PQP_DATA_PAGE, 4, PQE_PLAIN, body, bl + sizeof v1);
    const int rep2[5] = {1, 0, 0, 0, 0}, def2[5] = {3, 1, 0, 3, 2};
    bl = put_levels(body, rep2, 5);
    bl += put_levels(body + bl, def2, 5);
    const int32_t v2[2] = {4, 5};
    memcpy(body + bl, v2, sizeof v2);
    put_page(&f, PQP_DATA_PAGE, 5, PQE_PLAIN, body, bl + sizeof v2);
    int64_t b_len = (int64_t)f.n - b_start;
    /* column s */
    int64_t s_start = (int64_t)f.n;
    const char *strs[6] = {"a", "bb", "ccc", "dddd", "", "f"};
    for (int pg = 0; pg < 2; pg++) {
        bl = 0;
        for (int i = 3 * pg; i < 3 * pg + 3; i++) {
            uint32_t l = (uint32_t)strlen(strs[i]);
            memcpy(body + bl, &l, 4);
            memcpy(body + bl + 4, strs[i], l);
            bl += 4 + l;
        }
        put_page(&f, PQP_DATA_PAGE, 3, PQE_PLAIN, body, bl);
    }
    int64_t s_len = (int64_t)f.n - s_start;
    TW fm = {0};
    tw_begin(&fm, 0);
    tw_i(&fm, 1, TT_I32, 1);
    tw_list(&fm, 2, TT_STRUCT, 6);
    tw_begin(&fm, 0);
    tw_str(&fm, 4, "schema");
    tw_i(&fm, 5, TT_I32, 3);
    tw_end(&fm);
    tw_begin(&fm, 0);
    tw_i(&fm, 1, TT_I32, PQT_INT32);
    tw_i(&fm, 3, TT_I32, PQR_REQUIRED);
    tw_str(&fm, 4, "a");
    tw_end(&fm);
    tw_begin(&fm, 0);
    tw_i(&fm, 3, TT_I32, PQR_OPTIONAL);
    tw_str(&fm, 4, "b");
    tw_i(&fm, 5, TT_I32, 1);
    tw_i(&fm, 6, TT_I32, PQCT_LIST);
    tw_end(&fm);
    tw_begin(&fm, 0);
    tw_i(&fm, 3, TT_I32, PQR_REPEATED);
    tw_str(&fm, 4, "list");
    tw_i(&fm, 5, TT_I32, 1);
    tw_end(&fm);
    tw_begin(&fm, 0);
    tw_i(&fm, 1, TT_I32, PQT_INT32);
    tw_i(&fm, 3, TT_I32, PQR_OPTIONAL);
    tw_str(&fm, 4, "element");
    tw_end(&fm);
    tw_begin(&fm, 0);
    tw_i(&fm, 1, TT_I32, PQT_BYTE_ARRAY);
    tw_i(&fm, 3, TT_I32, PQR_REQUIRED);
    tw_str(&fm, 4, "s");
    tw_i(&fm, 6, TT_I32, PQCT_UTF8);
    tw_end(&fm);
    tw_i(&fm, 3, TT_I64, 6);
    tw_list(&fm, 4, TT_STRUCT, 1);
    tw_begin(&fm, 0);
    tw_list(&fm, 1, TT_STRUCT, 3);
    chunk_meta(&fm, PQT_INT32, PQE_RLE_DICTIONARY, "a", NULL, 6, a_start, a_len, a_data, true);
    chunk_meta(&fm, PQT_INT32, PQE_RLE, "b", "element", 9, b_start, b_len, b_start, false);
    chunk_meta(&fm, PQT_BYTE_ARRAY, PQE_PLAIN, "s", NULL, 6, s_start, s_len, s_start, false);
    tw_i(&fm, 2, TT_I64, (int64_t)f.n);
    tw_i(&fm, 3, TT_I64, 6);
    tw_end(&fm); /* RowGroup */
    tw_end(&fm); /* FileMetaData */
    fb_put(&f, fm.b, fm.n);
    uint32_t fl = (uint32_t)fm.n;
    fb_put(&f, &fl, 4);
    fb_put(&f, "PAR1", 4);
    memcpy(out, f.b, f.n);
    return f.n;
}

static void batch_rows(const ColumnBatch *b, Buf *out)
{
    JsonWriter w;
    for (int64_t r = 0; r < b->num_rows; r++) {
        jw_init(&w, out);
        column_batch_write_row_json(&w, b, r);
        buf_append_byte(out, '\n');
    }
}

static void row_windows_case(void);

/* The same file with CRCs (pages decoded whole) and without, uncompressed, snappy and zstd,
 * with large-page streaming forced on every page (pq_stream_min_page_bytes 0): pieces of a
 * page decoded one at a time give the same rows. */
static void test_row_windows(void **state)
{
    (void)state;
    size_t saved = pq_stream_min_page_bytes;
    const int codecs[3] = {PQC_UNCOMPRESSED, PQC_SNAPPY, PQC_ZSTD};
    for (int crc = 0; crc < 2; crc++) {
        for (int c = 0; c < 3; c++) {
            for (int stream = 0; stream < 2; stream++) {
                g_win_crc = crc;
                g_win_codec = codecs[c];
                pq_stream_min_page_bytes = stream ? 0 : saved;
                row_windows_case();
            }
        }
    }
    pq_stream_min_page_bytes = saved;
    g_win_crc = true;
    g_win_codec = PQC_UNCOMPRESSED;
}

static void row_windows_case(void)
{
    static const char want[] = "{\"a\":300,\"b\":[1,2],\"s\":\"a\"}\n"
                               "{\"a\":100,\"b\":[3,null,4],\"s\":\"bb\"}\n"
                               "{\"a\":200,\"b\":[],\"s\":\"ccc\"}\n"
                               "{\"a\":7,\"b\":null,\"s\":\"dddd\"}\n"
                               "{\"a\":8,\"b\":[5],\"s\":\"\"}\n"
                               "{\"a\":9,\"b\":[null],\"s\":\"f\"}\n";
    uint8_t buf[4096];
    size_t n = build_window_file(buf);
    DipError err = {0};
    PqFile *f;
    bool ok = pq_file_open_mem(&f, buf, n, "win.parquet", &err);
    if (!ok) print_message("%s\n", err.msg);
    assert_true(ok);
    ColumnBatch whole;
    ok = pq_read_row_group(f, 0, NULL, 0, &whole, &err);
    if (!ok) print_message("%s\n", err.msg);
    assert_true(ok);
    Buf ref;
    buf_init(&ref);
    batch_rows(&whole, &ref);
    column_batch_free(&whole);
    assert_string_equal(buf_cstr(&ref), want);
    PqCheckStats st;
    assert_true(pq_check(f, -1, &st, &err));
    assert_int_equal(st.pages, 7);
    assert_int_equal(st.crc_checked, g_win_crc ? 7 : 0);
    /* every window size: boundaries inside pages, inside row 1's list (window 1: rows 1 and
     * 2 are separate windows while the list spans pages), at the dictionary-to-PLAIN change
     * (window 3); projections in another order too; on the caller's thread and with a pool
     * of 3 decoding the next window while this one is read */
    const int proj[2] = {2, 1};
    for (int th = 1; th <= 3; th += 2) {
        pq_file_set_threads(f, th);
        for (int pj = 0; pj < 2; pj++) {
            for (int64_t win = 1; win <= 7; win++) {
                PqRowGroupCursor *c;
                assert_true(pq_rg_cursor_open(&c, f, 0, pj ? proj : NULL, pj ? 2 : 0, win, &err));
                Buf got;
                buf_init(&got);
                int batches = 0;
                for (int guard = 0; guard < 20; guard++) {
                    ColumnBatch b;
                    bool done;
                    ok = pq_rg_cursor_next(c, &b, &done, &err);
                    if (!ok) print_message("window %lld: %s\n", (long long)win, err.msg);
                    assert_true(ok);
                    if (done) break;
                    assert_true(b.num_rows >= 1 && b.num_rows <= win);
                    batch_rows(&b, &got);
                    column_batch_free(&b);
                    batches++;
                }
                pq_rg_cursor_close(c);
                assert_int_equal(batches, (int)((6 + win - 1) / win));
                if (!pj) {
                    assert_string_equal(buf_cstr(&got), want);
                } else {
                    const char *p = buf_cstr(&got);
                    assert_non_null(strstr(p, "{\"s\":\"bb\",\"b\":[3,null,4]}\n"));
                    assert_non_null(strstr(p, "{\"s\":\"f\",\"b\":[null]}\n"));
                }
                buf_free(&got);
            }
        }
        /* closed with the next window in flight (the pool waits for it, frees it) */
        PqRowGroupCursor *c;
        assert_true(pq_rg_cursor_open(&c, f, 0, NULL, 0, 2, &err));
        ColumnBatch b;
        bool done;
        assert_true(pq_rg_cursor_next(c, &b, &done, &err));
        assert_false(done);
        assert_int_equal(b.num_rows, 2);
        column_batch_free(&b);
        pq_rg_cursor_close(c);
    }
    pq_file_set_threads(f, 1);
    buf_free(&ref);
    pq_file_close(f);
}

/* ------------------------------------------------------------ codecs */

static size_t gzip_member(const uint8_t *src, size_t n, uint8_t *dst, size_t cap)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)n;
    zs.next_out = dst;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    size_t out = cap - zs.avail_out;
    deflateEnd(&zs);
    return out;
}

static void test_codecs(void **state)
{
    (void)state;
    uint8_t plain[600], comp[2048], out[600];
    for (int i = 0; i < 600; i++)
        plain[i] = (uint8_t)(i * 7 % 13);
    DipError err = {0};
    /* GZIP: two members (writers may flush one per chunk) decode as one page */
    size_t a = gzip_member(plain, 200, comp, sizeof comp);
    size_t b = gzip_member(plain + 200, 400, comp + a, sizeof comp - a);
    assert_true(pq_decompress(PQC_GZIP, comp, a + b, out, 600, &err));
    assert_memory_equal(out, plain, 600);
    /* one byte short of the promised size is an error */
    assert_false(pq_decompress(PQC_GZIP, comp, a + b, out, 599, &err));
    /* LZ4 with Hadoop framing: [BE uncompressed][BE compressed][raw block] x 2 */
    size_t n = 0;
    for (int k = 0; k < 2; k++) {
        int c = LZ4_compress_default((const char *)plain + 300 * k, (char *)comp + n + 8, 300,
                                     (int)(sizeof comp - n - 8));
        assert_true(c > 0);
        const uint32_t u = 300, cc = (uint32_t)c;
        const uint8_t hdr[8] = {u >> 24,  u >> 16 & 0xff,  u >> 8 & 0xff,  u & 0xff,
                                cc >> 24, cc >> 16 & 0xff, cc >> 8 & 0xff, cc & 0xff};
        memcpy(comp + n, hdr, 8);
        n += 8 + (size_t)c;
    }
    memset(out, 0, sizeof out);
    assert_true(pq_decompress(PQC_LZ4, comp, n, out, 600, &err));
    assert_memory_equal(out, plain, 600);
    /* LZ4 codec holding a raw block (old parquet-cpp): the fallback reads it */
    int c = LZ4_compress_default((const char *)plain, (char *)comp, 600, (int)sizeof comp);
    memset(out, 0, sizeof out);
    assert_true(pq_decompress(PQC_LZ4, comp, (size_t)c, out, 600, &err));
    assert_memory_equal(out, plain, 600);
    assert_true(pq_decompress(PQC_LZ4_RAW, comp, (size_t)c, out, 600, &err));
    /* unknown codec and LZO */
    dip_error_clear(&err);
    assert_false(pq_decompress(9, comp, 10, out, 10, &err));
    assert_int_equal(err.kind, DIP_ERR_DATA);
    dip_error_clear(&err);
    assert_false(pq_decompress(PQC_LZO, comp, 10, out, 10, &err));
    assert_int_equal(err.kind, DIP_ERR_UNSUPPORTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thrift_fields),
        cmocka_unit_test(test_thrift_skip),
        cmocka_unit_test(test_thrift_malformed),
        cmocka_unit_test(test_rle_spec_example),
        cmocka_unit_test(test_bit_unpack_all_widths),
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_dictionary),
        cmocka_unit_test(test_delta_binary_packed),
        cmocka_unit_test(test_delta_byte_arrays),
        cmocka_unit_test(test_byte_stream_split),
        cmocka_unit_test(test_schema_legacy_lists),
        cmocka_unit_test(test_assemble_null_vs_empty),
        cmocka_unit_test(test_file_crc),
        cmocka_unit_test(test_row_windows),
        cmocka_unit_test(test_codecs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
