// gen_memory.mjs: writes the files of `make bench-memory` with DuckDB (@duckdb/node-api), each
// ONE row group of ROWS rows: flat 4 columns, flat 12 columns, nested (a list of structs), each
// in snappy and zstd. Files already present are kept (delete them to regenerate).
//   node bench/memory/gen_memory.mjs OUTDIR ROWS
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';

const [out, rowsArg] = process.argv.slice(2);
const rows = Number(rowsArg || 8000000);
if (!out || !(rows > 0)) {
  console.error('usage: gen_memory.mjs OUTDIR ROWS');
  process.exit(2);
}
fs.mkdirSync(out, { recursive: true });

const SHAPES = {
  flat4: `i::BIGINT AS id, i * 1.5 AS dbl, 'name_' || (i % 1000) AS s,
          TIMESTAMP '2020-01-01' + INTERVAL (i) SECOND AS ts`,
  flat12: `i::BIGINT AS id, i * 1.5 AS dbl, 'name_' || (i % 1000) AS s,
           TIMESTAMP '2020-01-01' + INTERVAL (i) SECOND AS ts, (i % 7 = 0) AS flag,
           (i % 100000)::INTEGER AS i32, (i * 0.25)::DECIMAL(18, 2) AS amount,
           CASE WHEN i % 10 = 0 THEN NULL ELSE 'note ' || (i % 12345) END AS note,
           DATE '2000-01-01' + (i % 9000)::INTEGER AS dt, (i % 250)::SMALLINT AS i16,
           (i * 3)::DOUBLE / 7 AS ratio, md5((i % 5000)::VARCHAR) AS digest`,
  nested: `i::BIGINT AS id,
           list_transform(range(i % 4), x -> {'a': i + x, 'b': 'v' || x}) AS items`,
};

const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
for (const [shape, select] of Object.entries(SHAPES)) {
  for (const codec of ['snappy', 'zstd']) {
    const file = `${out}/${shape}_${codec}_${rows}.parquet`;
    if (fs.existsSync(file)) continue;
    const tmp = `${file}.tmp`;
    await con.run(`COPY (SELECT ${select} FROM range(${rows}) t(i)) TO '${tmp}'
                   (FORMAT parquet, ROW_GROUP_SIZE ${rows}, COMPRESSION ${codec})`);
    fs.renameSync(tmp, file);
    console.log(`wrote ${file} (${(fs.statSync(file).size / 1048576).toFixed(1)} MiB)`);
  }
}
