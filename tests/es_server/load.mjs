// load.mjs: ingest rate of the ES test server through _bulk: N one-KB documents in batches of
// B over C keep-alive connections, bodies built before the clock starts (so the figure is
// the server's, not this script's JSON work). Prints docs/s and MB/s.
//
//   node tests/es_server/load.mjs --url http://127.0.0.1:PORT [--docs 200000] [--batch 5000]
//        [--conns 4] [--index load] [--gzip] [--dump FILE] [--external-version N]
//
// --dump FILE sends the documents of FILE instead (NDJSON, one {"_id":..., "_source":...} a
// line, as `dip es dump` writes them), the first --docs of them, over again with "-K" added
// to the _id when --docs is more than the file holds: real documents (nested objects,
// dates ...) for profiling the server.
import http from 'node:http';
import zlib from 'node:zlib';
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? def : args[i + 1];
};
const url = new URL(opt('url', 'http://127.0.0.1:9200'));
const total = Number(opt('docs', 200000));
const batch = Number(opt('batch', 5000));
const conns = Number(opt('conns', 4));
const index = opt('index', 'load');
const gzip = args.includes('--gzip');
// --external-version N: action lines as dip sync-es writes them (version N, external_gte)
const extVersion = opt('external-version', null);
const actionTail = extVersion === null ? '}}' : `,"version":${Number(extVersion)},"version_type":"external_gte"}}`;
const serverPid = opt('server-pid', null); // report the server's CPU time too (Linux /proc)
const dump = opt('dump', null);

function cpuSeconds(pid) {
  if (!pid) return 0;
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
}

// ~1 KB documents: a few typed fields and a text payload
const filler = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor '.repeat(11);
function doc(i) {
  return JSON.stringify({ id: i, name: `document ${i}`, price: (i % 1000) / 10, active: i % 2 === 0, created: '2024-05-01T10:00:00Z', tags: ['a', 'b'], body: filler.slice(0, 850) });
}

// [_id, source text] of document i
let source = (i) => [String(i), doc(i)];
if (dump) {
  const rows = readFileSync(dump, 'utf8').split('\n').filter((l) => l !== '').slice(0, total).map((l) => JSON.parse(l));
  if (rows.length === 0) {
    console.error(`${dump} holds no document`);
    process.exit(2);
  }
  const n = rows.length;
  source = (i) => [i < n ? rows[i]._id : `${rows[i % n]._id}-${Math.floor(i / n)}`, JSON.stringify(rows[i % n]._source)];
}

const bodies = [];
let bytes = 0;
for (let start = 0; start < total; start += batch) {
  const lines = [];
  for (let i = start; i < Math.min(total, start + batch); i++) {
    const [id, text] = source(i);
    lines.push(`{"index":{"_index":"${index}","_id":${JSON.stringify(id)}${actionTail}`, text);
  }
  let b = Buffer.from(lines.join('\n') + '\n');
  bytes += b.length;
  if (gzip) b = zlib.gzipSync(b, { level: 1 });
  bodies.push(b);
}

const agent = new http.Agent({ keepAlive: true, maxSockets: conns });
function post(body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: '/_bulk', method: 'POST', agent,
      headers: { 'content-type': 'application/x-ndjson', 'content-length': body.length, ...(gzip ? { 'content-encoding': 'gzip' } : {}) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        // the answer is checked without a full parse, to keep this client's CPU out of the
        // figure: errors must be false and every item must carry a 201/200 status
        const text = Buffer.concat(chunks).toString();
        if (!/^\{("took":\d+,)?"errors":false,/.test(text)) return reject(new Error(`bulk item errors: ${text.slice(0, 300)}`));
        let n = 0;
        for (let i = text.indexOf('"status":20'); i >= 0; i = text.indexOf('"status":20', i + 11)) n++;
        resolve(n);
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const cpu0 = cpuSeconds(serverPid);
const t0 = process.hrtime.bigint();
let next = 0;
let done = 0;
async function worker() {
  while (next < bodies.length) {
    const b = bodies[next++];
    const n = await post(b);
    done += n;
  }
}
await Promise.all(Array.from({ length: conns }, worker));
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = cpuSeconds(serverPid) - cpu0;
agent.destroy();
if (done !== total) {
  console.error(`only ${done} of ${total} documents acknowledged`);
  process.exit(1);
}
console.log(`${total} docs (${(bytes / total).toFixed(0)} B each with action line) in ${secs.toFixed(2)} s: ${Math.round(total / secs)} docs/s, ${(bytes / 1048576 / secs).toFixed(1)} MB/s (batch ${batch}, ${conns} connections${gzip ? ', gzip' : ''})`);
if (serverPid) console.log(`server CPU ${cpu.toFixed(2)} s (user+sys, all its threads): ${Math.round(total / cpu)} docs per server CPU-second`);
// Calibration for a shared machine: the same bodies through JSON.parse alone, line by line,
// in this process right now (a lower bound of the work any faithful server must do).
{
  const p0 = process.hrtime.bigint();
  let n = 0;
  for (const b of bodies) {
    const text = (gzip ? zlib.gunzipSync(b) : b).toString();
    let pos = 0;
    while (pos < text.length) {
      const nl = text.indexOf('\n', pos);
      JSON.parse(text.slice(pos, nl));
      pos = nl + 1;
      n++;
    }
  }
  const ps = Number(process.hrtime.bigint() - p0) / 1e9;
  console.log(`calibration: JSON.parse alone of the same ${n} lines here and now: ${Math.round(n / 2 / ps)} docs/s`);
}
