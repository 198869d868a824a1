#!/usr/bin/env node
// run_bench.mjs: times `dip parquet check FILE` (full decode of every column) against DuckDB
// (@duckdb/node-api) computing an aggregate that reads every column of the same file, with
// one thread and with all cores, and prints a table with the ratios from the same run.
// Best of RUNS runs each. dip's peak RSS comes from GNU time (/usr/bin/time -v).
//   node bench/parquet/run_bench.mjs --dip build/dip FILE...   [--runs 3]
import fs from 'node:fs';
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { DuckDBInstance } from '@duckdb/node-api';

const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : dflt; };
const dip = opt('--dip', 'build/dip');
const RUNS = Number(opt('--runs', 3));
const files = args;
const NCPU = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : null;

const help = spawnSync(dip, ['parquet', 'check', '--help'], { encoding: 'utf8' });
const helpText = (help.stdout || '') + (help.stderr || '');
const hasThreads = /--threads/.test(helpText);
if (help.error) console.log(`run_bench: cannot run ${dip}: ${help.error.message}`);

function timeDip(file, threads) {
  const argv = ['parquet', 'check', file];
  if (hasThreads) argv.push('--threads', String(threads));
  let best = Infinity, rss = 0, err = null, cpu = null;
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const p = TIME ? spawnSync(TIME, ['-v', dip, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 })
      : spawnSync(dip, argv, { encoding: 'utf8', maxBuffer: 1 << 26 });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const own = (p.stderr || '').split('\tCommand being timed:')[0].trim();
    if (p.status !== 0) { err = `exit ${p.status}: ${own.split('\n').slice(-2).join(' | ').slice(0, 200)}`; break; }
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(p.stderr || '');
    if (m) rss = Math.max(rss, Number(m[1]) * 1024);
    const u = /User time \(seconds\): ([\d.]+)/.exec(p.stderr || ''), k = /System time \(seconds\): ([\d.]+)/.exec(p.stderr || '');
    if (s < best) { best = s; cpu = u && k ? Number(u[1]) + Number(k[1]) : null; }
  }
  return { secs: err ? null : best, rss, err, cpu };
}

const AGG = (f) => `SELECT count(*), sum(id), sum(dbl), count_if(flag), max(ts), sum(amount), ` +
  `max(length(category)), max(length(note)) FROM read_parquet('${f.replace(/'/g, "''")}')`;

async function timeDuckdb(file, threads) {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  await con.run(`SET threads = ${threads}`);
  let best = Infinity, rows = 0, cpu = null;
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage(); // DuckDB runs in this process: its threads count here
    const r = await con.runAndReadAll(AGG(file));
    const c1 = process.cpuUsage(c0);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (s < best) { best = s; cpu = (c1.user + c1.system) / 1e6; }
    rows = Number(r.getRows()[0][0]);
  }
  con.closeSync?.();
  inst.closeSync?.();
  return { secs: best, rows, cpu };
}

const load0 = os.loadavg();
const fmtRate = (x) => x >= 1e6 ? (x / 1e6).toFixed(1) + 'M' : x >= 1e3 ? (x / 1e3).toFixed(1) + 'k' : x.toFixed(0);
const results = [];
for (const file of files) {
  const bytes = fs.statSync(file).size;
  const mb = bytes / 1048576;
  for (const threads of [1, NCPU]) {
    const dd = await timeDuckdb(file, threads);
    // without a --threads option dip runs its default either way (the row says so)
    const d = timeDip(file, threads);
    results.push({ file: file.split('/').pop(), mb, rows: dd.rows, threads, dip: d, duck: dd });
    const dipTxt = d.secs ? `${d.secs.toFixed(3)} s` : `n/a (${d.err})`;
    console.log(`${file.split('/').pop()} threads=${threads}: dip ${dipTxt}, DuckDB ${dd.secs.toFixed(3)} s`);
  }
}

console.log('\nParquet decode benchmark (best of ' + RUNS + ' runs; MB/s = file bytes / time; ratio = dip speed / DuckDB speed, > 1 means dip is faster)');
console.log(`dip: ${dip} parquet check FILE${hasThreads ? ' --threads N' : ''}   DuckDB: ${AGG('FILE')}`);
const head = ['file', 'MiB', 'rows', 'thr', 'dip s', 'dip cpu s', 'dip rows/s', 'dip MB/s', 'DuckDB s', 'DuckDB cpu s', 'DuckDB rows/s', 'DuckDB MB/s', 'ratio', 'dip peak RSS'];
const lines = [head];
for (const r of results) {
  const ds = r.dip.secs, ks = r.duck.secs;
  lines.push([r.file, r.mb.toFixed(1), fmtRate(r.rows), String(r.threads) + (hasThreads || r.threads === 1 ? '' : ' (dip: default)'),
    ds ? ds.toFixed(3) : 'n/a', r.dip.cpu != null ? r.dip.cpu.toFixed(2) : 'n/a', ds ? fmtRate(r.rows / ds) : 'n/a', ds ? (r.mb / ds).toFixed(0) : 'n/a',
    ks.toFixed(3), r.duck.cpu != null ? r.duck.cpu.toFixed(2) : 'n/a', fmtRate(r.rows / ks), (r.mb / ks).toFixed(0), ds ? (ks / ds).toFixed(2) : 'n/a',
    r.dip.rss ? (r.dip.rss / 1048576).toFixed(0) + ' MiB' : 'n/a']);
}
const w = head.map((_, i) => Math.max(...lines.map(l => l[i].length)));
for (const l of lines) console.log(l.map((c, i) => i === 0 ? c.padEnd(w[i]) : c.padStart(w[i])).join('  '));
const la = (a) => a.map(x => x.toFixed(2)).join(' ');
console.log(`cores: ${NCPU}; load average (1/5/15 min) before: ${la(load0)}, after: ${la(os.loadavg())}` +
  ' (a loaded shared machine slows both sides; cpu s = user + system time of the best run)');
