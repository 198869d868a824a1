#!/usr/bin/env node
// gen_bench.mjs: writes the two 10-million-row files `make bench-parquet` decodes, with the
// arrow-rs Parquet writer (parquet-wasm), streaming record batches of BATCH rows through
// transformParquetStream so memory stays bounded:
//   a.parquet  snappy, data page v1, writer defaults (dictionary on, 1Mi-row row groups)
//   b.parquet  the same rows; zstd, data page v2, dictionary off, DELTA_BINARY_PACKED for
//              id/ts/amount, BYTE_STREAM_SPLIT for dbl, DELTA_BYTE_ARRAY for category,
//              DELTA_LENGTH_BYTE_ARRAY for note
// Columns: id int64, dbl double, flag bool, ts timestamp(us, UTC), amount decimal(18,2),
// category string (40 distinct values), note string (unique per row).
//   node bench/parquet/gen_bench.mjs OUTDIR [ROWS]     (skips files that already exist)
import fs from 'node:fs';
import path from 'node:path';
import * as arrow from 'apache-arrow';
import * as pw from 'parquet-wasm';

const outDir = process.argv[2];
const ROWS = Number(process.argv[3] || 10_000_000);
const BATCH = 250_000;
if (!outDir) { console.error('usage: gen_bench.mjs OUTDIR [ROWS]'); process.exit(2); }
fs.mkdirSync(outDir, { recursive: true });

const CATEGORIES = Array.from({ length: 40 }, (_, i) => `category-${String(i).padStart(2, '0')}-${'abcdefgh'.slice(0, i % 8 + 1)}`);
const enc = new TextEncoder();
const CAT_BYTES = CATEGORIES.map(c => enc.encode(c));

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const fields = [
  new arrow.Field('id', new arrow.Int64(), false),
  new arrow.Field('dbl', new arrow.Float64(), true),
  new arrow.Field('flag', new arrow.Bool(), true),
  new arrow.Field('ts', new arrow.Timestamp(arrow.TimeUnit.MICROSECOND, 'UTC'), true),
  new arrow.Field('amount', new arrow.Decimal(2, 18, 128), true),
  new arrow.Field('category', new arrow.Utf8(), true),
  new arrow.Field('note', new arrow.Utf8(), true),
];
const schema = new arrow.Schema(fields);

// Batch `b` of the data set: deterministic, so a.parquet and b.parquet hold the same rows.
function makeBatch(b, n) {
  const r = rng(1234567 + b);
  const start = b * BATCH;
  const id = new BigInt64Array(n), dbl = new Float64Array(n), ts = new BigInt64Array(n);
  const flag = new Uint8Array(Math.ceil(n / 8)), amount = new Uint32Array(n * 4);
  const valid = new Uint8Array(Math.ceil(n / 8)); // 1 % nulls in the nullable columns
  const catOff = new Int32Array(n + 1), noteOff = new Int32Array(n + 1);
  const catData = new Uint8Array(n * 20), noteData = new Uint8Array(n * 40);
  let co = 0, no = 0, nulls = 0;
  for (let i = 0; i < n; i++) {
    const row = start + i;
    const isValid = r() >= 0.01;
    if (isValid) valid[i >> 3] |= 1 << (i & 7); else nulls++;
    id[i] = BigInt(row * 3 + Math.floor(r() * 3));
    dbl[i] = (r() - 0.5) * 1e6;
    if (r() < 0.5) flag[i >> 3] |= 1 << (i & 7);
    ts[i] = 1600000000000000n + BigInt(row) * 1000003n + BigInt(Math.floor(r() * 1000));
    const cents = Math.floor((r() - 0.3) * 1e9); // |x| < 2^31: one low word + sign extension
    amount[i * 4] = cents >>> 0;
    const ext = cents < 0 ? 0xffffffff : 0;
    amount[i * 4 + 1] = ext; amount[i * 4 + 2] = ext; amount[i * 4 + 3] = ext;
    if (isValid) {
      const c = CAT_BYTES[Math.floor(r() * r() * CAT_BYTES.length)];
      catData.set(c, co); co += c.length;
      const note = enc.encode(`note ${row.toString(36)} ${Math.floor(r() * 2 ** 32).toString(16)}`);
      noteData.set(note, no); no += note.length;
    }
    catOff[i + 1] = co; noteOff[i + 1] = no;
  }
  const nb = { nullCount: nulls, nullBitmap: valid };
  const children = [
    arrow.makeData({ type: fields[0].type, length: n, nullCount: 0, data: id }),
    arrow.makeData({ type: fields[1].type, length: n, ...nb, data: dbl }),
    arrow.makeData({ type: fields[2].type, length: n, ...nb, data: flag }),
    arrow.makeData({ type: fields[3].type, length: n, ...nb, data: ts }),
    arrow.makeData({ type: fields[4].type, length: n, ...nb, data: amount }),
    arrow.makeData({ type: fields[5].type, length: n, ...nb, valueOffsets: catOff, data: catData.subarray(0, co) }),
    arrow.makeData({ type: fields[6].type, length: n, ...nb, valueOffsets: noteOff, data: noteData.subarray(0, no) }),
  ];
  const sd = arrow.makeData({ type: new arrow.Struct(fields), length: n, nullCount: 0, children });
  const ipc = arrow.tableToIPC(new arrow.Table([new arrow.RecordBatch(schema, sd)]), 'stream');
  return pw.Table.fromIPCStream(ipc).recordBatches()[0];
}

async function writeFile(file, props) {
  if (fs.existsSync(file)) { console.log(`gen_bench: ${file} exists, kept`); return; }
  const t0 = Date.now();
  const nb = Math.ceil(ROWS / BATCH);
  let b = 0;
  const input = new ReadableStream({
    pull(controller) {
      if (b >= nb) { controller.close(); return; }
      controller.enqueue(makeBatch(b, Math.min(BATCH, ROWS - b * BATCH)));
      b++;
    },
  }, { highWaterMark: 1 });
  const out = await pw.transformParquetStream(input, props);
  const tmp = file + '.tmp';
  const fd = fs.openSync(tmp, 'w');
  for await (const chunk of out) fs.writeSync(fd, chunk);
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
  console.log(`gen_bench: ${file}: ${ROWS} rows, ${(fs.statSync(file).size / 1048576).toFixed(1)} MiB in ` +
    `${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

const a = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.SNAPPY)
  .setWriterVersion(pw.WriterVersion.V1).build();
const bp = new pw.WriterPropertiesBuilder().setCompression(pw.Compression.ZSTD)
  .setWriterVersion(pw.WriterVersion.V2).setDictionaryEnabled(false)
  .setColumnEncoding('id', pw.Encoding.DELTA_BINARY_PACKED)
  .setColumnEncoding('ts', pw.Encoding.DELTA_BINARY_PACKED)
  .setColumnEncoding('amount', pw.Encoding.DELTA_BINARY_PACKED)
  .setColumnEncoding('dbl', pw.Encoding.BYTE_STREAM_SPLIT)
  .setColumnEncoding('category', pw.Encoding.DELTA_BYTE_ARRAY)
  .setColumnEncoding('note', pw.Encoding.DELTA_LENGTH_BYTE_ARRAY)
  .build();
await writeFile(path.join(outDir, `a_${ROWS}.parquet`), a);
await writeFile(path.join(outDir, `b_${ROWS}.parquet`), bp);
