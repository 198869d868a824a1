import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:');
const c = await inst.connect();
const out = process.argv[2];
await c.run(`SET threads=2`);
await c.run(`COPY (SELECT i::BIGINT AS id, random()*1000 AS d, (i%3=0) AS b, TIMESTAMP '2020-01-01' + INTERVAL (i) SECOND AS ts,
   ((i%100000)*1.25)::DECIMAL(12,2) AS dec, 'cat'||(i%50) AS dict_s, md5(i::VARCHAR) AS plain_s
   FROM range(10000000) t(i)) TO '${out}' (FORMAT parquet, COMPRESSION snappy)`);
const t0=Date.now();
await c.run(`SET threads=1`);
const r = await c.runAndReadAll(`SELECT sum(id), sum(d), count(*) FILTER (WHERE b), max(ts), sum(dec), max(length(dict_s)), max(length(plain_s)) FROM '${out}'`);
console.log('duckdb 1 thread ms', Date.now()-t0, JSON.stringify(r.getRows().map(x=>x.map(String))));
const t1=Date.now();
await c.run(`SET threads=2`);
await c.runAndReadAll(`SELECT sum(id), sum(d), count(*) FILTER (WHERE b), max(ts), sum(dec), max(length(dict_s)), max(length(plain_s)) FROM '${out}'`);
console.log('duckdb 2 threads ms', Date.now()-t1);
