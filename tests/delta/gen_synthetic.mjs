// gen_synthetic.mjs OUT_DIR: small Delta tables for what the golden tables do not cover,
// each with the rows a correct reader returns (OUT_DIR/<name>/expected.jsonl):
//   widening     typeWidening: a file written before int->long, float->double,
//                decimal(5,2)->decimal(10,4), date->timestamp_ntz, byte->double,
//                int->decimal(12,2), plus a column added later (null in the old file)
//   dv-kinds     deletion vectors of all three storage types on one table: inline (the
//                PROTOCOL.md example, rows 3,4,7,11,18,29), a relative 'u' file under a
//                random prefix directory, an absolute 'p' file; our own DV file writer
//                (portable Roaring, CRC-32 big-endian) so the reader is checked against the
//                spec, not against itself
//   id-mode      column mapping id mode where the physical names in the file are wrong on
//                purpose: only field_id can match; a field id missing from the file -> null
// Parquet files are written by DuckDB (@duckdb/node-api).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';

const out = process.argv[2];
if (!out) { console.error('usage: gen_synthetic.mjs OUT_DIR'); process.exit(2); }
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const sq = (s) => "'" + s.replace(/'/g, "''") + "'";
const pad = (v) => String(v).padStart(20, '0');
const field = (name, type, md = {}) => ({ name, type, nullable: true, metadata: md });
const schemaString = (fields) => JSON.stringify({ type: 'struct', fields });

function writeLog(dir, commits) {
  fs.mkdirSync(path.join(dir, '_delta_log'), { recursive: true });
  commits.forEach((actions, v) => {
    const lines = [{ commitInfo: { timestamp: 1700000000000 + v * 1000, operation: 'WRITE' } }, ...actions];
    fs.writeFileSync(path.join(dir, '_delta_log', pad(v) + '.json'), lines.map((a) => JSON.stringify(a)).join('\n') + '\n');
  });
}
const meta = (fields, extra = {}) => ({ metaData: { id: 'synthetic', format: { provider: 'parquet', options: {} }, schemaString: schemaString(fields), partitionColumns: [], configuration: extra, createdTime: 1700000000000 } });
const add = (dir, name, rows, dv) => ({ add: { path: name, partitionValues: {}, size: fs.statSync(path.join(dir, name)).size, modificationTime: 1700000000000, dataChange: true, stats: JSON.stringify({ numRecords: rows }), ...(dv ? { deletionVector: dv } : {}) } });
async function parquet(dir, name, select, opts = '') {
  await con.run(`COPY (${select}) TO ${sq(path.join(dir, name))} (FORMAT parquet${opts})`);
}
const expect = (dir, rows) => fs.writeFileSync(path.join(dir, 'expected.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');

// ---------------------------------------------------------------- widening
{
  const dir = path.join(out, 'widening');
  fs.mkdirSync(dir, { recursive: true });
  await parquet(dir, 'old.parquet', `SELECT 1::INTEGER AS a, 1.5::FLOAT AS f, 1.25::DECIMAL(5,2) AS d, DATE '2024-01-02' AS dt, 7::TINYINT AS b, 5::INTEGER AS i2d
    UNION ALL SELECT 2147483647, NULL, -999.99, NULL, -128, -3`);
  await parquet(dir, 'new.parquet', `SELECT 3000000000::BIGINT AS a, 2.5::DOUBLE AS f, 12.3456::DECIMAL(10,4) AS d, TIMESTAMP '2024-01-03 04:05:06' AS dt, 8.5::DOUBLE AS b, 12.34::DECIMAL(12,2) AS i2d, 'x' AS n`);
  const tw = (from, to) => ({ 'delta.typeChanges': JSON.stringify([{ fromType: from, toType: to }]) });
  const proto = { protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['typeWidening', 'timestampNtz'], writerFeatures: ['typeWidening', 'timestampNtz'] } };
  const v0 = [field('a', 'integer'), field('f', 'float'), field('d', 'decimal(5,2)'), field('dt', 'date'), field('b', 'byte'), field('i2d', 'integer')];
  const v1 = [field('a', 'long', tw('integer', 'long')), field('f', 'double', tw('float', 'double')), field('d', 'decimal(10,4)', tw('decimal(5,2)', 'decimal(10,4)')),
    field('dt', 'timestamp_ntz', tw('date', 'timestamp_ntz')), field('b', 'double', tw('byte', 'double')), field('i2d', 'decimal(12,2)', tw('integer', 'decimal(12,2)')), field('n', 'string')];
  writeLog(dir, [[proto, meta(v0), add(dir, 'old.parquet', 2)], [meta(v1), add(dir, 'new.parquet', 1)]]);
  expect(dir, [
    { a: 1, f: 1.5, d: '1.2500', dt: '2024-01-02T00:00:00.000000', b: 7, i2d: '5.00', n: null },
    { a: 2147483647, f: null, d: '-999.9900', dt: null, b: -128, i2d: '-3.00', n: null },
    { a: 3000000000, f: 2.5, d: '12.3456', dt: '2024-01-03T04:05:06.000000', b: 8.5, i2d: '12.34', n: 'x' },
  ]);
}

// ---------------------------------------------------------------- dv-kinds
const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
function z85(buf) {
  let s = '';
  for (let i = 0; i < buf.length; i += 4) {
    let v = buf.readUInt32BE(i);
    let chunk = '';
    for (let k = 0; k < 5; k++) { chunk = Z85[v % 85] + chunk; v = Math.floor(v / 85); }
    s += chunk;
  }
  return s;
}
// portable 64-bit Roaring with one bucket (rows < 2^32), array containers only, + Delta magic
function dvBitmap(rows) {
  const byKey = new Map();
  for (const r of rows) { const k = r >> 16; if (!byKey.has(k)) byKey.set(k, []); byKey.get(k).push(r & 0xffff); }
  const keys = [...byKey.keys()].sort((x, y) => x - y);
  const parts = [];
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
  const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
  parts.push(u32(1681511377), u32(1), u32(0), u32(0)); // magic, numBuckets (u64), key 0
  parts.push(u32(12346), u32(keys.length));
  for (const k of keys) parts.push(u16(k), u16(byKey.get(k).length - 1));
  let off = 8 + keys.length * 8;
  for (const k of keys) { parts.push(u32(off)); off += byKey.get(k).length * 2; }
  for (const k of keys) for (const v of byKey.get(k).sort((x, y) => x - y)) parts.push(u16(v));
  return Buffer.concat(parts);
}
function dvFile(bitmap) {
  const size = Buffer.alloc(4); size.writeUInt32BE(bitmap.length);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(zlib.crc32(bitmap) >>> 0);
  return Buffer.concat([Buffer.from([1]), size, bitmap, crc]);
}
{
  const dir = path.join(out, 'dv-kinds');
  fs.mkdirSync(dir, { recursive: true });
  for (const f of ['a', 'b', 'c']) await parquet(dir, `${f}.parquet`, `SELECT '${f}' AS f, i::BIGINT AS id FROM range(30) t(i)`, ', ROW_GROUP_SIZE 10');
  // inline: PROTOCOL.md example 3 (deletes 3, 4, 7, 11, 18, 29)
  const inl = { storageType: 'i', pathOrInlineDv: 'wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L', sizeInBytes: 40, cardinality: 6 };
  // 'u': random prefix "q7" + Z85 of the UUID -> q7/deletion_vector_<uuid>.bin
  const uuid = '0b3a7f2e-6c1d-4e5f-8a9b-0c1d2e3f4a5b';
  const ubytes = Buffer.from(uuid.replace(/-/g, ''), 'hex');
  const bmU = dvBitmap([0, 9, 10, 19, 20]);          // across row groups of 10 rows
  const fileU = Buffer.concat([dvFile(bmU)]);
  fs.mkdirSync(path.join(dir, 'q7'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'q7', `deletion_vector_${uuid}.bin`), fileU);
  const dvU = { storageType: 'u', pathOrInlineDv: 'q7' + z85(ubytes), offset: 1, sizeInBytes: bmU.length, cardinality: 5 };
  // 'p': absolute path, two DVs in one file, ours is the second
  const bmP1 = dvBitmap([1]);
  const bmP2 = dvBitmap([...Array(10).keys()].map((i) => i + 10)); // a whole row group: 10..19
  const f1 = dvFile(bmP1), f2 = dvFile(bmP2);
  const pfile = path.resolve(dir, 'abs-dvs.bin');
  fs.writeFileSync(pfile, Buffer.concat([f1, f2.subarray(1)])); // one version byte for both
  const dvP = { storageType: 'p', pathOrInlineDv: 'file://' + pfile.split('/').map(encodeURIComponent).join('/'), offset: f1.length, sizeInBytes: bmP2.length, cardinality: 10 };
  const proto = { protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'], writerFeatures: ['deletionVectors'] } };
  const fields = [field('f', 'string'), field('id', 'long')];
  writeLog(dir, [[proto, meta(fields), add(dir, 'a.parquet', 30), add(dir, 'b.parquet', 30), add(dir, 'c.parquet', 30)],
    [{ remove: { path: 'a.parquet', dataChange: true } }, add(dir, 'a.parquet', 30, inl),
     { remove: { path: 'b.parquet', dataChange: true } }, add(dir, 'b.parquet', 30, dvU),
     { remove: { path: 'c.parquet', dataChange: true } }, add(dir, 'c.parquet', 30, dvP)]]);
  const rows = [];
  const del = { a: [3, 4, 7, 11, 18, 29], b: [0, 9, 10, 19, 20], c: [...Array(10).keys()].map((i) => i + 10) };
  for (const f of ['a', 'b', 'c']) for (let i = 0; i < 30; i++) if (!del[f].includes(i)) rows.push({ f, id: i });
  expect(dir, rows);
}

// ---------------------------------------------------------------- id-mode
{
  const dir = path.join(out, 'id-mode');
  fs.mkdirSync(dir, { recursive: true });
  // physical names in the file do not match the schema's: only field ids can resolve them
  await parquet(dir, 'p.parquet', `SELECT 10::INTEGER AS wrong1, 'hello' AS wrong2, {'x': 1::INTEGER} AS wrong3`,
    `, FIELD_IDS {wrong1: 1, wrong2: 2, wrong3: {__duckdb_field_id: 3, x: 4}}`);
  const cm = (id, phys) => ({ 'delta.columnMapping.id': id, 'delta.columnMapping.physicalName': phys });
  const fields = [field('num', 'integer', cm(1, 'col-1')), field('txt', 'string', cm(2, 'col-2')),
    field('st', { type: 'struct', fields: [field('x', 'integer', cm(4, 'col-4')), field('y', 'long', cm(6, 'col-6'))] }, cm(3, 'col-3')),
    field('gone', 'long', cm(5, 'col-5'))];
  const proto = { protocol: { minReaderVersion: 2, minWriterVersion: 5 } };
  writeLog(dir, [[proto, meta(fields, { 'delta.columnMapping.mode': 'id', 'delta.columnMapping.maxColumnId': '6' }), add(dir, 'p.parquet', 1)]]);
  expect(dir, [{ num: 10, txt: 'hello', st: { x: 1, y: null }, gone: null }]);
}

// ---------------------------------------------------------------- dv-nested
// a DV over nested columns (list, map, struct, list of structs with nulls), so deleted rows
// are compacted out of child vectors too
{
  const dir = path.join(out, 'dv-nested');
  fs.mkdirSync(dir, { recursive: true });
  await parquet(dir, 'n.parquet', `SELECT i::BIGINT AS id, [i, i + 1]::BIGINT[] AS l, MAP {'k' || i::VARCHAR: i::INTEGER} AS m,
      {'a': i::INTEGER, 'b': 's' || i::VARCHAR} AS st,
      CASE WHEN i % 3 = 0 THEN NULL ELSE [{'x': i::INTEGER}, NULL] END AS ls
    FROM range(20) t(i)`, ', ROW_GROUP_SIZE 8');
  const uuid = 'a1b2c3d4-e5f6-4a0b-8c1d-2e3f4a5b6c7d';
  const del = [0, 5, 6, 7, 19];
  const bm = dvBitmap(del);
  fs.writeFileSync(path.join(dir, `deletion_vector_${uuid}.bin`), dvFile(bm));
  const dv = { storageType: 'u', pathOrInlineDv: z85(Buffer.from(uuid.replace(/-/g, ''), 'hex')), offset: 1, sizeInBytes: bm.length, cardinality: del.length };
  const fields = [field('id', 'long'), field('l', { type: 'array', elementType: 'long', containsNull: true }),
    field('m', { type: 'map', keyType: 'string', valueType: 'integer', valueContainsNull: true }),
    field('st', { type: 'struct', fields: [field('a', 'integer'), field('b', 'string')] }),
    field('ls', { type: 'array', elementType: { type: 'struct', fields: [field('x', 'integer')] }, containsNull: true })];
  const proto = { protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'], writerFeatures: ['deletionVectors'] } };
  writeLog(dir, [[proto, meta(fields), add(dir, 'n.parquet', 20, dv)]]);
  const rows = [];
  for (let i = 0; i < 20; i++) {
    if (del.includes(i)) continue;
    rows.push({ id: i, l: [i, i + 1], m: [{ key: 'k' + i, value: i }], st: { a: i, b: 's' + i }, ls: i % 3 === 0 ? null : [{ x: i }, null] });
  }
  expect(dir, rows);
}
console.log('synthetic tables in ' + out);
