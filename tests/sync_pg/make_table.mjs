#!/usr/bin/env node
// make_table.mjs: an independent Delta Lake writer for sync-pg tests, the demo and the
// benchmark. The Delta log (PROTOCOL.md: commitInfo, protocol, metaData, add, remove with
// deletion vectors) is written here as JSON lines; the Parquet data files by DuckDB
// (@duckdb/node-api). Rows of the "integrated records" silver table are a pure function of
// (id, rev), so the expected gold content is known without reading the table back:
//
//   node make_table.mjs create DIR --rows N --files F [--dv] [--void-column]
//                                                              version 0 (partitioned by source_system)
//   node make_table.mjs update DIR --update N --insert M [--dv-update]
//                                                              copy-on-write (or DV) update + inserts
//   node make_table.mjs dv-delete DIR --rows K                 delete K rows of the first file by DV
//   node make_table.mjs remove-file DIR                        remove the last file (rows leave)
//   node make_table.mjs rewrite DIR                            compaction: same rows, new files
//   node make_table.mjs corrupt DIR                            garbage in the first data file
//   node make_table.mjs corrupt-middle DIR                     garbage in the middle of the first
//                                                              data file (a middle row group)
//   (create --row-group-size N: Parquet row groups of about N rows, default 20000)
//   node make_table.mjs expect DIR                             gold rows as TSV (see gold_tsv.sql)
//   node make_table.mjs info DIR                               version, files, live rows (JSON)
//
// State (ids and revs per file, DV rows) lives in DIR/_dip_test_state.json, outside the log.
import { DuckDBInstance } from '@duckdb/node-api';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const PARTS = ['crm', 'erp', 'web', 'pos'];
let ROW_GROUP_SIZE = 20000;
const ENTITIES = ['customer', 'supplier', 'product'];

function usage() {
  console.error('usage: make_table.mjs create|update|dv-delete|remove-file|rewrite|corrupt|expect|info DIR [options]');
  process.exit(2);
}

const [cmd, dir, ...rest] = process.argv.slice(2);
if (!cmd || !dir) usage();
const opts = {};
for (let i = 0; i < rest.length; i++) {
  if (rest[i].startsWith('--')) {
    const k = rest[i].slice(2);
    if (i + 1 < rest.length && !rest[i + 1].startsWith('--')) opts[k] = rest[++i];
    else opts[k] = true;
  }
}
const statePath = path.join(dir, '_dip_test_state.json');
const logDir = path.join(dir, '_delta_log');

// ------------------------------------------------------------------ schema

const schema = {
  type: 'struct',
  fields: [
    ['record_id', 'string'], ['source_system', 'string'], ['entity_type', 'string'],
    ['business_key', 'string'], ['name', 'string'],
    ['attributes', { type: 'struct', fields: [
      { name: 'category', type: 'string', nullable: true, metadata: {} },
      { name: 'rank', type: 'integer', nullable: true, metadata: {} },
      { name: 'tags', type: { type: 'array', elementType: 'string', containsNull: true }, nullable: true, metadata: {} },
    ] }],
    ['amount', 'decimal(18,2)'], ['currency', 'string'], ['quantity', 'integer'],
    ['is_active', 'boolean'], ['valid_from', 'date'], ['updated_at', 'timestamp'],
    ['ingest_date', 'date'],
  ].map(([name, type]) => ({ name, type, nullable: true, metadata: {} })),
};

// The silver row of (id, rev), as DuckDB SQL over a relation with columns id, rev.
const ROW_SQL = `
  'R' || id AS record_id,
  ['customer','supplier','product'][((id // 4) % 3) + 1] AS entity_type,
  CASE WHEN id % 5 = 0 THEN ' k-' || id || ' ' ELSE 'K-' || id END AS business_key,
  CASE WHEN id % 17 = 0 THEN NULL
       ELSE 'name ' || id || ' r' || rev || CASE WHEN id % 7 = 0 THEN ' ünï' ELSE '' END END AS name,
  CASE WHEN id % 23 = 0 THEN NULL
       ELSE {'category': 'cat' || (id % 11), 'rank': CAST((id * 7 + rev) % 1000 AS INTEGER),
             'tags': ['t' || (id % 3), 't' || rev]} END AS attributes,
  CAST(CAST((id * 37 + rev * 1001) % 10000000 - 2000000 AS DECIMAL(18,0)) * 0.01 AS DECIMAL(18,2)) AS amount,
  CASE WHEN id % 2 = 0 THEN 'EUR' ELSE 'USD' END AS currency,
  CAST(id % 1000 + rev AS INTEGER) AS quantity,
  CASE WHEN id % 19 = 0 THEN NULL ELSE (id + rev) % 2 = 0 END AS is_active,
  CAST(DATE '2020-01-01' + CAST(id % 2000 AS INTEGER) AS DATE) AS valid_from,
  make_timestamp(CAST(1700000000000000 + id * 1000003 + rev * 86400000000 AS BIGINT))::TIMESTAMPTZ AS updated_at,
  CAST(DATE '2024-01-01' + CAST(rev AS INTEGER) AS DATE) AS ingest_date`;

// The same row in JS: gold TSV line (hk, hdiff, columns as psql COPY prints them).
function pad(n, w) { return String(n).padStart(w, '0'); }
function dateText(days) {
  const d = new Date(days * 86400000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
}
function tsText(us) {
  const ms = Number(us / 1000n);
  const d = new Date(ms);
  const frac = pad(Number(us % 1000000n), 6);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T` +
    `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${frac}`;
}
function decText(cents) {
  const neg = cents < 0n;
  const a = neg ? -cents : cents;
  return `${neg ? '-' : ''}${a / 100n}.${pad(Number(a % 100n), 2)}`;
}
const DAY_2020 = Date.UTC(2020, 0, 1) / 86400000;
const DAY_2024 = Date.UTC(2024, 0, 1) / 86400000;
function trimUpper(s) { return s.replace(/^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g, '').toUpperCase(); }
function sha(s) { return crypto.createHash('sha256').update(s, 'utf8').digest('hex'); }

function goldRow(id, rev) {
  const src = PARTS[id % 4];
  const ent = ENTITIES[Math.floor(id / 4) % 3];
  const key = id % 5 === 0 ? ` k-${id} ` : `K-${id}`;
  const name = id % 17 === 0 ? null : `name ${id} r${rev}${id % 7 === 0 ? ' ünï' : ''}`;
  const attrs = id % 23 === 0 ? null
    : { category: `cat${id % 11}`, rank: (id * 7 + rev) % 1000, tags: [`t${id % 3}`, `t${rev}`] };
  const cents = BigInt((id * 37 + rev * 1001) % 10000000 - 2000000);
  const cur = id % 2 === 0 ? 'EUR' : 'USD';
  const qty = (id % 1000) + rev;
  const active = id % 19 === 0 ? null : (id + rev) % 2 === 0;
  const valid = DAY_2020 + (id % 2000);
  const upd = 1700000000000000n + BigInt(id) * 1000003n + BigInt(rev) * 86400000000n;
  const ingest = DAY_2024 + rev;
  const hk = sha([src, ent, key].map(trimUpper).join('||'));
  const payload = [`R${id}`, src, ent, key, name, attrs, decText(cents), cur, qty, active,
    dateText(valid), tsText(upd) + 'Z'];
  const hdiff = sha(JSON.stringify(payload));
  // jsonb::text: keys ordered by length, then bytes; ", " and ": " separators
  const jsonb = attrs === null ? '\\N'
    : `{"rank": ${attrs.rank}, "tags": ["${attrs.tags[0]}", "${attrs.tags[1]}"], "category": "${attrs.category}"}`;
  const f = (v) => (v === null ? '\\N' : String(v));
  return [hk, hdiff, `R${id}`, src, ent, key, f(name), jsonb, decText(cents), cur, qty,
    active === null ? '\\N' : active ? 't' : 'f', dateText(valid), tsText(upd),
    dateText(ingest)].join('\t');
}

// ------------------------------------------------------------------ state and log

function loadState() { return JSON.parse(fs.readFileSync(statePath, 'utf8')); }
function saveState(st) { fs.writeFileSync(statePath, JSON.stringify(st)); }

function commit(st, actions, operation) {
  const ts = Math.max(Date.now(), (st.lastTs || 0) + 1000);
  st.lastTs = ts;
  const v = st.version === undefined ? 0 : st.version + 1;
  const lines = [{ commitInfo: { timestamp: ts, operation, operationParameters: {}, engineInfo: 'dip-test-writer' } },
    ...actions];
  fs.mkdirSync(logDir, { recursive: true });
  const file = path.join(logDir, `${pad(v, 20)}.json`);
  // create-only, like a real Delta writer's put-if-absent
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n', { flag: 'wx' });
  st.version = v;
}

let instance;
async function duck() {
  if (!instance) instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const con = await instance.connect();
  await con.run("SET TimeZone = 'UTC'");
  return con;
}

async function writeFile(st, part, ids, revs) {
  const con = await duck();
  const name = `part-${pad(st.nextFile++, 5)}-${crypto.randomUUID()}.c000.snappy.parquet`;
  const rel = `source_system=${PARTS[part]}/${name}`;
  fs.mkdirSync(path.join(dir, `source_system=${PARTS[part]}`), { recursive: true });
  const csv = path.join(dir, `.tmp-${process.pid}.csv`);
  let text = 'seq,id,rev\n';
  for (let i = 0; i < ids.length; i++) text += `${i},${ids[i]},${revs[i]}\n`;
  fs.writeFileSync(csv, text);
  const out = path.join(dir, rel);
  await con.run(`COPY (SELECT ${ROW_SQL} FROM read_csv('${csv}', header = true,
      columns = {'seq': 'BIGINT', 'id': 'BIGINT', 'rev': 'BIGINT'}) ORDER BY seq)
    TO '${out}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`);
  fs.unlinkSync(csv);
  const size = fs.statSync(out).size;
  const f = { path: rel, part, ids, revs, dv: [], size, rows: ids.length };
  return f;
}

function addAction(f, dataChange = true) {
  const a = {
    path: f.path.split('/').map(encodeURIComponent).join('/').replace(/%3D/g, '%3D'),
    partitionValues: { source_system: PARTS[f.part] },
    size: f.size, modificationTime: Date.now(), dataChange,
    stats: JSON.stringify({ numRecords: f.rows }),
  };
  if (f.dv.length) a.deletionVector = dvDescriptor(f.dv);
  return { add: a };
}
function removeAction(f, dataChange = true) {
  const r = {
    path: f.path.split('/').map(encodeURIComponent).join('/'),
    deletionTimestamp: Date.now(), dataChange, extendedFileMetadata: true,
    partitionValues: { source_system: PARTS[f.part] }, size: f.size,
  };
  if (f.dv.length) r.deletionVector = dvDescriptor(f.dv);
  return { remove: r };
}

// Deletion vector: RoaringTreemap portable serialization (magic 1681511377 LE, bucket count
// u64 LE, per bucket: high key u32 LE + 32-bit portable Roaring with array containers), Z85.
function dvBytes(rows) {
  const sorted = [...rows].sort((a, b) => a - b);
  const containers = new Map();
  for (const r of sorted) {
    const k = r >>> 16;
    if (!containers.has(k)) containers.set(k, []);
    containers.get(k).push(r & 0xffff);
  }
  const keys = [...containers.keys()];
  const parts = [];
  const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
  const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
  const u64 = (v) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
  parts.push(u32(1681511377), u64(1), u32(0));
  parts.push(u32(12346), u32(keys.length));
  for (const k of keys) parts.push(u16(k), u16(containers.get(k).length - 1));
  // more than 4096 values: a bitmap container (1024 little-endian 64-bit words)
  const bytesOf = (vals) => (vals.length > 4096 ? 8192 : vals.length * 2);
  let off = 8 + keys.length * 4 + keys.length * 4;
  for (const k of keys) { parts.push(u32(off)); off += bytesOf(containers.get(k)); }
  for (const k of keys) {
    const vals = containers.get(k);
    if (vals.length > 4096) {
      const bits = Buffer.alloc(8192);
      for (const v of vals) bits[v >> 3] |= 1 << (v & 7);
      parts.push(bits);
    } else {
      for (const v of vals) parts.push(u16(v));
    }
  }
  return Buffer.concat(parts);
}
const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
function z85(buf) {
  const padded = Buffer.concat([buf, Buffer.alloc((4 - (buf.length % 4)) % 4)]);
  let s = '';
  for (let i = 0; i < padded.length; i += 4) {
    let v = padded.readUInt32BE(i);
    let chunk = '';
    for (let k = 0; k < 5; k++) { chunk = Z85[v % 85] + chunk; v = Math.floor(v / 85); }
    s += chunk;
  }
  return s;
}
function dvDescriptor(rows) {
  const b = dvBytes(rows);
  return { storageType: 'i', pathOrInlineDv: z85(b), sizeInBytes: b.length, cardinality: rows.length };
}

function liveFiles(st) { return st.files; }

// ------------------------------------------------------------------ commands

async function create() {
  const rows = Number(opts.rows || 1000);
  const nfiles = Math.max(4, Number(opts.files || 8));
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const st = { nextFile: 0, nextId: rows, files: [], dv: !!opts.dv };
  const per = Math.ceil(nfiles / 4);
  for (let p = 0; p < 4; p++) {
    const ids = [];
    for (let id = p; id < rows; id += 4) ids.push(id);
    const chunk = Math.ceil(ids.length / per);
    for (let c = 0; c < per; c++) {
      const part = ids.slice(c * chunk, (c + 1) * chunk);
      if (part.length) st.files.push(await writeFile(st, p, part, part.map(() => 0)));
    }
  }
  const protocol = st.dv
    ? { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'], writerFeatures: ['deletionVectors'] }
    : { minReaderVersion: 1, minWriterVersion: 2 };
  const meta = {
    id: crypto.randomUUID(), format: { provider: 'parquet', options: {} },
    // --void-column: a Delta "void" column (never in the data files), which dip cannot map
    schemaString: JSON.stringify(opts['void-column']
      ? { ...schema, fields: [...schema.fields, { name: 'legacy_flag', type: 'void', nullable: true, metadata: {} }] }
      : schema),
    partitionColumns: ['source_system'],
    configuration: st.dv ? { 'delta.enableDeletionVectors': 'true' } : {}, createdTime: Date.now(),
  };
  commit(st, [{ protocol }, { metaData: meta }, ...st.files.map((f) => addAction(f))], 'WRITE');
  saveState(st);
}

async function update() {
  const st = loadState();
  let nupd = Number(opts.update || 0);
  const nins = Number(opts.insert || 0);
  const actions = [];
  const replaced = [];
  if (opts['dv-update']) {
    // merge-on-read (deletion vectors): the old versions of the updated rows are marked
    // deleted in their files, the new versions go to new files
    if (!st.dv) { console.error('table was created without --dv'); process.exit(2); }
    const upd = [[], [], [], []], updRev = [[], [], [], []];
    for (let i = 0; i < st.files.length && nupd > 0; i++) {
      const f = st.files[i];
      const deleted = new Set(f.dv);
      const before = f.dv.length;
      for (let r = 0; r < f.ids.length && nupd > 0; r++) {
        if (deleted.has(r)) continue;
        deleted.add(r);
        upd[f.part].push(f.ids[r]);
        updRev[f.part].push(f.revs[r] + 1);
        nupd--;
      }
      if (deleted.size !== before) {
        actions.push(removeAction(f));
        f.dv = [...deleted].sort((a, b) => a - b);
        actions.push(addAction(f));
      }
    }
    for (let p = 0; p < 4; p++) {
      if (!upd[p].length) continue;
      const f = await writeFile(st, p, upd[p], updRev[p]);
      st.files.push(f);
      actions.push(addAction(f));
    }
  }
  // copy-on-write: updated rows are taken from the first files, each such file rewritten
  for (let i = 0; i < st.files.length && nupd > 0; i++) {
    const f = st.files[i];
    const deleted = new Set(f.dv);
    const ids = [], revs = [];
    for (let r = 0; r < f.ids.length; r++) {
      if (deleted.has(r)) continue;
      let rev = f.revs[r];
      if (nupd > 0) { rev += 1; nupd--; }
      ids.push(f.ids[r]);
      revs.push(rev);
    }
    actions.push(removeAction(f));
    replaced.push(i);
    st.files[i] = await writeFile(st, f.part, ids, revs);
    actions.push(addAction(st.files[i]));
  }
  const byPart = [[], [], [], []];
  for (let k = 0; k < nins; k++) { const id = st.nextId++; byPart[id % 4].push(id); }
  for (let p = 0; p < 4; p++) {
    if (!byPart[p].length) continue;
    const f = await writeFile(st, p, byPart[p], byPart[p].map(() => 0));
    st.files.push(f);
    actions.push(addAction(f));
  }
  commit(st, actions, 'MERGE');
  saveState(st);
}

async function dvDelete() {
  const st = loadState();
  if (!st.dv) { console.error('table was created without --dv'); process.exit(2); }
  const k = Number(opts.rows || 1);
  const f = st.files[0];
  const actions = [removeAction(f)];
  const have = new Set(f.dv);
  for (let r = 0; r < f.ids.length && have.size < f.dv.length + k; r += 3) have.add(r);
  f.dv = [...have].sort((a, b) => a - b);
  actions.push(addAction(f));
  commit(st, actions, 'DELETE');
  saveState(st);
}

async function removeFile() {
  const st = loadState();
  const f = st.files.pop();
  commit(st, [removeAction(f)], 'DELETE');
  saveState(st);
}

async function rewrite() {
  const st = loadState();
  const actions = [];
  const next = [];
  for (const f of st.files) {
    actions.push(removeAction(f, false));
    const deleted = new Set(f.dv);
    const ids = [], revs = [];
    for (let r = 0; r < f.ids.length; r++) if (!deleted.has(r)) { ids.push(f.ids[r]); revs.push(f.revs[r]); }
    const nf = await writeFile(st, f.part, ids, revs);
    next.push(nf);
    actions.push(addAction(nf, false));
  }
  st.files = next;
  commit(st, actions, 'OPTIMIZE');
  saveState(st);
}

function corrupt() {
  const st = loadState();
  const p = path.join(dir, st.files[0].path);
  const size = fs.statSync(p).size;
  fs.writeFileSync(p, Buffer.alloc(size, 0x5a));
}

// 4 KiB of garbage at the middle of the first data file: the row groups before it decode,
// the one there does not (its footer, at the end, stays intact).
function corruptMiddle() {
  const st = loadState();
  const p = path.join(dir, st.files[0].path);
  const b = fs.readFileSync(p);
  const at = Math.floor(b.length / 2) - 2048;
  b.fill(0x5a, at, at + 4096);
  fs.writeFileSync(p, b);
}

function expectRows() {
  const st = loadState();
  const lines = [];
  for (const f of st.files) {
    const deleted = new Set(f.dv);
    for (let r = 0; r < f.ids.length; r++) if (!deleted.has(r)) lines.push(goldRow(f.ids[r], f.revs[r]));
  }
  lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  process.stdout.write(lines.join('\n') + (lines.length ? '\n' : ''));
}

function info() {
  const st = loadState();
  let rows = 0;
  for (const f of st.files) rows += f.ids.length - f.dv.length;
  console.log(JSON.stringify({ version: st.version, files: st.files.length, rows,
    paths: st.files.map((f) => f.path),
    file_rows: Object.fromEntries(st.files.map((f) => [f.path, f.ids.length - f.dv.length])) }));
}

const cmds = { create, update, 'dv-delete': dvDelete, 'remove-file': removeFile, rewrite, corrupt,
  'corrupt-middle': corruptMiddle, expect: expectRows, info };
if (opts['row-group-size']) ROW_GROUP_SIZE = Number(opts['row-group-size']);
if (!cmds[cmd]) usage();
await cmds[cmd]();
