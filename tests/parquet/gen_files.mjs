// gen_files.mjs: writes the small Parquet files the parquet tests need (self-contained; the
// full conformance generator lives in tests/fixtures/). Usage: node gen_files.mjs OUTDIR
// ROWS (default 3000) sets the arrow-rs table size (small for the fuzz seed corpus).
// Writes arrow-rs (parquet-wasm) files across codecs, page versions and encodings, DuckDB
// files with logical types and nesting, and OUTDIR/expected.ndjson: the canonical rows of the
// arrow-rs table, computed from the input values (never by reading a file back).
import * as arrow from 'apache-arrow';
import * as pw from 'parquet-wasm';
import { DuckDBInstance } from '@duckdb/node-api';
import { writeFileSync, mkdirSync } from 'node:fs';

const out = process.argv[2];
mkdirSync(out, { recursive: true });
const N = Number(process.argv[3] || 3000);
const ids = [], i32 = [], dbl = [], flt = [], bools = [], strs = [], dictS = [], lists = [];
for (let i = 0; i < N; i++) {
  ids.push(i % 11 === 0 ? null : BigInt(i) * 1000003n - 500000n);
  i32.push(i % 7 === 0 ? null : (i * 7919) % 100000 - 50000);
  dbl.push(i % 13 === 0 ? null : i * 0.25 - 100.5);
  flt.push(i % 17 === 0 ? null : (i % 100) * 0.5);
  bools.push(i % 5 === 0 ? null : i % 3 === 0);
  strs.push(i % 9 === 0 ? null : `s${i}-${'x'.repeat(i % 20)}`);
  dictS.push(i % 4 === 0 ? null : `cat${i % 10}`);
  lists.push(i % 6 === 0 ? null : i % 6 === 1 ? [] : [i, i + 1, i % 4 === 0 ? null : i + 2]);
}
const table = arrow.tableFromArrays({
  id: arrow.vectorFromArray(ids, new arrow.Int64()),
  i32: arrow.vectorFromArray(i32, new arrow.Int32()),
  dbl: arrow.vectorFromArray(dbl, new arrow.Float64()),
  flt: arrow.vectorFromArray(flt, new arrow.Float32()),
  b: arrow.vectorFromArray(bools, new arrow.Bool()),
  s: arrow.vectorFromArray(strs, new arrow.Utf8()),
  ds: arrow.vectorFromArray(dictS, new arrow.Utf8()),
  l: arrow.vectorFromArray(lists, new arrow.List(new arrow.Field('item', new arrow.Int32(), true))),
});
const exp = [];
for (let i = 0; i < N; i++) {
  exp.push(JSON.stringify({ id: ids[i] === null ? null : Number(ids[i]), i32: i32[i], dbl: dbl[i],
    flt: flt[i], b: bools[i], s: strs[i], ds: dictS[i], l: lists[i] }));
}
writeFileSync(`${out}/expected.ndjson`, exp.join('\n') + '\n');

const ipc = arrow.tableToIPC(table, 'stream');
const E = pw.Encoding;
const variants = [];
for (const [cn, c] of [['none', pw.Compression.UNCOMPRESSED], ['snappy', pw.Compression.SNAPPY],
  ['gzip', pw.Compression.GZIP], ['zstd', pw.Compression.ZSTD], ['lz4raw', pw.Compression.LZ4_RAW],
  ['lz4', pw.Compression.LZ4], ['brotli', pw.Compression.BROTLI]]) {
  for (const [vn, v] of [['v1', pw.WriterVersion.V1], ['v2', pw.WriterVersion.V2]]) {
    variants.push([`arrow_${cn}_${vn}_dict`, c, v, null]);
  }
}
variants.push(['arrow_zstd_v2_delta', pw.Compression.ZSTD, pw.WriterVersion.V2,
  { id: E.DELTA_BINARY_PACKED, i32: E.DELTA_BINARY_PACKED, s: E.DELTA_LENGTH_BYTE_ARRAY,
    ds: E.DELTA_BYTE_ARRAY, l: E.DELTA_BINARY_PACKED, dbl: E.BYTE_STREAM_SPLIT,
    flt: E.BYTE_STREAM_SPLIT, b: E.RLE }]);
variants.push(['arrow_snappy_v1_plain', pw.Compression.SNAPPY, pw.WriterVersion.V1, {}]);
variants.push(['arrow_none_v1_bss', pw.Compression.UNCOMPRESSED, pw.WriterVersion.V1,
  { id: E.BYTE_STREAM_SPLIT, i32: E.BYTE_STREAM_SPLIT, dbl: E.BYTE_STREAM_SPLIT, flt: E.BYTE_STREAM_SPLIT }]);
variants.push(['arrow_snappy_v1_delta_v1', pw.Compression.SNAPPY, pw.WriterVersion.V1,
  { id: E.DELTA_BINARY_PACKED, s: E.DELTA_BYTE_ARRAY, ds: E.DELTA_LENGTH_BYTE_ARRAY }]);
for (const [name, c, v, enc] of variants) {
  let b = new pw.WriterPropertiesBuilder().setCompression(c).setWriterVersion(v)
    .setMaxRowGroupSize(1000).setDataPageSizeLimit(2048);
  if (enc) {
    b = b.setDictionaryEnabled(false);
    for (const [col, e] of Object.entries(enc)) {
      const path = col === 'l' ? 'l.list.item' : col;
      b = b.setColumnEncoding(path, e);
    }
  }
  writeFileSync(`${out}/${name}.parquet`, pw.writeParquet(pw.Table.fromIPCStream(ipc), b.build()));
}

// DuckDB: logical types and nesting (checked for decoding, and by value where stable)
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
for (const codec of ['snappy', 'zstd', 'gzip', 'lz4', 'brotli', 'uncompressed']) {
  await con.run(`COPY (SELECT i::BIGINT AS id, i*1.5 AS d, (i%3=0) AS b,
     CASE WHEN i%5=0 THEN NULL ELSE 'str'||(i%7) END AS s,
     TIMESTAMP '2020-01-01' + INTERVAL (i) SECOND AS ts, TIMESTAMPTZ '2020-01-01 00:00:00+00' + INTERVAL (i) SECOND AS tstz,
     (i*1.25)::DECIMAL(10,2) AS dec4, (i*1.25)::DECIMAL(18,3) AS dec8, (i*1.25 - 400)::DECIMAL(30,4) AS dec16,
     CASE WHEN i%4=0 THEN NULL WHEN i%4=1 THEN [] ELSE [i, NULL, i+1] END AS l,
     {'a': i, 'b': 'x'||i, 'c': [i]} AS st, [{'x': i}, NULL] AS los,
     MAP {'k'||i: i} AS m, (i%100)::TINYINT AS i8, (i%200)::UTINYINT AS u8, (i*3)::SMALLINT AS i16,
     (i*5)::USMALLINT AS u16, (i*7)::UINTEGER AS u32, (i*11)::UBIGINT AS u64,
     DATE '2021-01-01' + i::INT AS dt, TIME '01:02:03.456789' AS tm, 'hello'::BLOB AS bl,
     '5b6e0c2e-4f0a-4e5e-9c1e-0123456789ab'::UUID AS uu, '{"a":1}'::JSON AS js
     FROM range(${Math.min(N, 700)}) t(i)) TO '${out}/duck_${codec}.parquet' (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 256)`);
}
await con.run(`COPY (SELECT i AS id FROM range(0) t(i)) TO '${out}/duck_empty.parquet' (FORMAT parquet)`);
// an all-null column: DuckDB writes its 300000 values as one page of a few bytes
if (N >= 3000)
  await con.run(`COPY (SELECT i AS id, NULL::INT AS n FROM range(300000) t(i)) TO '${out}/duck_allnull.parquet' (FORMAT parquet, ROW_GROUP_SIZE 300000)`);
// zstd crushes a page of periodic repetition levels to ~1/8000 of its size (a valid page
// dip once rejected as implausible): 4,000,000 rows, lists of 0..3 strings, one row group
if (N >= 3000)
  await con.run(`COPY (SELECT list_transform(range(i % 4), x -> 'v' || x) AS items FROM range(4000000) t(i))
     TO '${out}/duck_zstd_ratio.parquet' (FORMAT parquet, ROW_GROUP_SIZE 4000000, COMPRESSION zstd)`);
console.log(`wrote ${variants.length} arrow-rs files and 8 DuckDB files to ${out}`);
