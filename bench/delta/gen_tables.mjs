// gen_tables.mjs: synthetic Delta tables for bench/bench_delta.sh.
//
//   node bench/delta/gen_tables.mjs big-log DIR [FILES] [COMMITS] [bare|extended]
//     A table whose log is a classic checkpoint (version 100) of FILES add actions
//     (default 100,000) plus 1,000 remove tombstones, written by DuckDB as the nested
//     add/remove/metaData/protocol struct columns of PROTOCOL.md "Checkpoint Schema", then
//     COMMITS JSON commits (default 10,000) after it, each with commitInfo and one add, every
//     second one also removing a checkpointed file. Commits 0..100 are absent (as after
//     metadata cleanup). Data files are not written: the benchmark times the snapshot only.
//     The removes carry the path alone (bare, the default: as Delta before 1.0 wrote them) or
//     also extendedFileMetadata, partitionValues and size (extended: Delta 1.0 and later,
//     delta-rs).
//   node bench/delta/gen_tables.mjs scan DIR [FILES] [ROWS_PER_FILE]
//     A one-commit table with FILES real Parquet data files (default 8 x 250,000 rows:
//     id bigint, s string, d double, ts timestamp, dec decimal(12,2)) for scan throughput.
import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

const [mode, dir, a1, a2, a3] = process.argv.slice(2);
if (!mode || !dir) {
  console.error('usage: gen_tables.mjs big-log|scan DIR [N] [M]');
  process.exit(2);
}
const log = path.join(dir, '_delta_log');
fs.mkdirSync(log, { recursive: true });
const pad = (v) => String(v).padStart(20, '0');
const sq = (s) => "'" + s.replace(/'/g, "''") + "'";

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();

const DV_T = 'STRUCT(storageType VARCHAR, pathOrInlineDv VARCHAR, "offset" INTEGER, sizeInBytes INTEGER, cardinality BIGINT)';
const ADD_T = `STRUCT(path VARCHAR, partitionValues MAP(VARCHAR, VARCHAR), size BIGINT, modificationTime BIGINT, dataChange BOOLEAN, stats VARCHAR, tags MAP(VARCHAR, VARCHAR), deletionVector ${DV_T})`;
const REMOVE_T = 'STRUCT(path VARCHAR, deletionTimestamp BIGINT, dataChange BOOLEAN)';
const META_T = 'STRUCT(id VARCHAR, name VARCHAR, description VARCHAR, format STRUCT(provider VARCHAR, options MAP(VARCHAR, VARCHAR)), schemaString VARCHAR, partitionColumns VARCHAR[], configuration MAP(VARCHAR, VARCHAR), createdTime BIGINT)';
const PROTO_T = 'STRUCT(minReaderVersion INTEGER, minWriterVersion INTEGER)';
const TXN_T = 'STRUCT(appId VARCHAR, version BIGINT, lastUpdated BIGINT)';

if (mode === 'big-log') {
  const nfiles = Number(a1 || 100000);
  const ncommits = Number(a2 || 10000);
  const cpv = 100;
  const schema = JSON.stringify({
    type: 'struct',
    fields: [
      { name: 'id', type: 'long', nullable: true, metadata: {} },
      { name: 'value', type: 'string', nullable: true, metadata: {} },
      { name: 'part', type: 'integer', nullable: true, metadata: {} },
    ],
  });
  const fpath = (i) => `part=${i % 100}/f-${String(i).padStart(8, '0')}.snappy.parquet`;
  const cols = (k) => ['txn', 'add', 'remove', 'metaData', 'protocol'].map((c) => (c === k ? '' : `NULL::${{ txn: TXN_T, add: ADD_T, remove: REMOVE_T, metaData: META_T, protocol: PROTO_T }[c]} AS ${c}`));
  const sel = (k, expr, from) => {
    const parts = cols(k).map((x) => (x === '' ? `${expr} AS ${k}` : x));
    return `SELECT ${parts.join(', ')}${from ? ' ' + from : ''}`;
  };
  const addExpr = `{'path': 'part=' || (i % 100)::VARCHAR || '/f-' || lpad(i::VARCHAR, 8, '0') || '.snappy.parquet',
    'partitionValues': MAP {'part': (i % 100)::VARCHAR}, 'size': 1000 + i % 97,
    'modificationTime': 1700000000000 + i, 'dataChange': false,
    'stats': '{"numRecords":' || (100 + i % 7)::VARCHAR || ',"minValues":{"id":0,"value":"a"},"maxValues":{"id":99,"value":"z"},"nullCount":{"id":0,"value":0}}',
    'tags': NULL::MAP(VARCHAR, VARCHAR), 'deletionVector': NULL::${DV_T}}::${ADD_T}`;
  const removeExpr = `{'path': 'old/gone-' || i::VARCHAR || '.parquet', 'deletionTimestamp': 1690000000000 + i, 'dataChange': true}::${REMOVE_T}`;
  const metaExpr = `{'id': 'bench-0000', 'name': NULL, 'description': NULL, 'format': {'provider': 'parquet', 'options': MAP {}::MAP(VARCHAR, VARCHAR)},
    'schemaString': ${sq(schema)}, 'partitionColumns': ['part'], 'configuration': MAP {'delta.checkpointInterval': '1000000'}, 'createdTime': 1700000000000}::${META_T}`;
  const protoExpr = `{'minReaderVersion': 1, 'minWriterVersion': 2}::${PROTO_T}`;
  const cp = path.join(log, `${pad(cpv)}.checkpoint.parquet`);
  const q = [
    sel('protocol', protoExpr),
    sel('metaData', metaExpr),
    sel('add', addExpr, `FROM range(${nfiles}) t(i)`),
    sel('remove', removeExpr, 'FROM range(1000) t(i)'),
  ].join('\nUNION ALL\n');
  await con.run(`COPY (${q}) TO ${sq(cp)} (FORMAT parquet, COMPRESSION snappy)`);
  fs.writeFileSync(path.join(log, '_last_checkpoint'), JSON.stringify({ version: cpv, size: nfiles + 1002 }) + '\n');
  // a commit file at the checkpoint version too, as writers leave it (for the LDTS)
  fs.writeFileSync(path.join(log, `${pad(cpv)}.json`), JSON.stringify({ commitInfo: { timestamp: 1700000000000, operation: 'WRITE' } }) + '\n');
  for (let c = 1; c <= ncommits; c++) {
    const v = cpv + c;
    const lines = [JSON.stringify({ commitInfo: { timestamp: 1700000000000 + c * 1000, operation: 'WRITE', operationParameters: { mode: 'Append' }, isBlindAppend: true } })];
    const np = `part=${c % 100}/new-${String(c).padStart(8, '0')}.snappy.parquet`;
    lines.push(JSON.stringify({ add: { path: np, partitionValues: { part: String(c % 100) }, size: 2000, modificationTime: 1700000000000 + c * 1000, dataChange: true, stats: '{"numRecords":50}' } }));
    if (c % 2 === 0) {
      const rm = { path: fpath(c), deletionTimestamp: 1700000000000 + c * 1000, dataChange: true };
      if (a3 === 'extended') Object.assign(rm, { extendedFileMetadata: true, partitionValues: { part: String(c % 100) }, size: 1000 + (c % 97) });
      lines.push(JSON.stringify({ remove: rm }));
    }
    fs.writeFileSync(path.join(log, `${pad(v)}.json`), lines.join('\n') + '\n');
  }
  console.log(JSON.stringify({ version: cpv + ncommits, checkpoint_files: nfiles, commits: ncommits, live_files: nfiles + ncommits - Math.floor(ncommits / 2) }));
} else if (mode === 'scan') {
  const nfiles = Number(a1 || 8);
  const rows = Number(a2 || 250000);
  const schema = JSON.stringify({
    type: 'struct',
    fields: [
      { name: 'id', type: 'long', nullable: true, metadata: {} },
      { name: 's', type: 'string', nullable: true, metadata: {} },
      { name: 'd', type: 'double', nullable: true, metadata: {} },
      { name: 'ts', type: 'timestamp', nullable: true, metadata: {} },
      { name: 'dec', type: 'decimal(12,2)', nullable: true, metadata: {} },
    ],
  });
  const lines = [
    JSON.stringify({ commitInfo: { timestamp: 1700000000000, operation: 'WRITE' } }),
    JSON.stringify({ protocol: { minReaderVersion: 1, minWriterVersion: 2 } }),
    JSON.stringify({ metaData: { id: 'bench-scan', format: { provider: 'parquet', options: {} }, schemaString: schema, partitionColumns: [], configuration: {}, createdTime: 1700000000000 } }),
  ];
  for (let f = 0; f < nfiles; f++) {
    const name = `part-${String(f).padStart(5, '0')}.snappy.parquet`;
    const p = path.join(dir, name);
    const base = f * rows;
    await con.run(`COPY (SELECT (${base} + i)::BIGINT AS id, 'name-' || ((${base} + i) % 100000)::VARCHAR AS s,
        ((${base} + i) * 0.25)::DOUBLE AS d,
        (TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds((${base} + i) * 1000))::TIMESTAMPTZ AS ts,
        (((${base} + i) % 1000000) / 100)::DECIMAL(12,2) AS dec
      FROM range(${rows}) t(i)) TO ${sq(p)} (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 100000)`);
    const size = fs.statSync(p).size;
    lines.push(JSON.stringify({ add: { path: name, partitionValues: {}, size, modificationTime: 1700000000000, dataChange: true, stats: `{"numRecords":${rows}}` } }));
  }
  fs.writeFileSync(path.join(log, `${pad(0)}.json`), lines.join('\n') + '\n');
  console.log(JSON.stringify({ files: nfiles, rows: nfiles * rows }));
} else {
  console.error('unknown mode ' + mode);
  process.exit(2);
}
