// duck_scan.mjs: DuckDB's scan of FILE (every column), the baseline `make bench-memory` prints
// beside dip's peak RSS. Run under /usr/bin/time; the figure includes node itself (printed by
// the script as "node alone").
//   node bench/memory/duck_scan.mjs FILE THREADS   (FILE empty: only start node)
import { DuckDBInstance } from '@duckdb/node-api';

const [file, threads] = process.argv.slice(2);
const inst = await DuckDBInstance.create(':memory:', { threads: String(threads || 1) });
const con = await inst.connect();
if (file) {
  const r = await con.runAndReadAll(
    `SELECT count(*), sum(hash(t)) FROM read_parquet('${file.replace(/'/g, "''")}') t`);
  console.log(String(r.getRows()[0][0]));
}
