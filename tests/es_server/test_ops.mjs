// test_ops.mjs: the test server's own contract (scripts/es-test-server and the admin
// endpoints), beyond what the official clients exercise: persistence across SIGKILL and
// SIGTERM restarts, every injected fault and the stats that count them, the 413 body limit
// (plain and gzip), gzip both ways, the bulk newline rules, ES 8 compatibility media types,
// basic / API key / bearer auth, TLS with a generated certificate, and SigV4 verification with
// @opensearch-project/opensearch's AwsSigv4Signer (services es and aoss).
// Prints "N passed, M failed".
//
//   node tests/es_server/test_ops.mjs
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@opensearch-project/opensearch';
import { Client as EsClient } from '@elastic/elasticsearch';
import { AwsSigv4Signer } from '@opensearch-project/opensearch/aws';
import { makeChecker } from './check.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const launcher = path.join(here, '..', '..', 'scripts', 'es-test-server');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'esd-ops-'));
const { check, run, done } = makeChecker();
const servers = new Set();

// Start the server through the launcher; resolves {port, proc} once it says "listening PORT".
function start(dir, args = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(launcher, ['--port', '0', '--data', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    servers.add(proc);
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no "listening" within 20 s: ${err}`)), 20000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /^listening (\d+)$/m.exec(out);
      if (m) { clearTimeout(timer); resolve({ port: Number(m[1]), proc }); }
    });
    proc.stderr.on('data', (d) => { err += d; });
    proc.on('exit', (code) => { servers.delete(proc); clearTimeout(timer); if (!/listening/.test(out)) reject(new Error(`server exited ${code}: ${err}`)); });
  });
}

function stop(s, signal = 'SIGTERM') {
  return new Promise((resolve) => {
    if (s.proc.exitCode !== null) return resolve(s.proc.exitCode);
    const t = setTimeout(() => s.proc.kill('SIGKILL'), 30000);
    s.proc.once('exit', (code, sig) => { clearTimeout(t); resolve(code ?? sig); });
    s.proc.kill(signal);
  });
}

// One HTTP(S) request; resolves {status, headers, body (Buffer), json} or {error}.
function req(port, method, p, body, headers = {}, { tls = null, timeout = 20000 } = {}) {
  return new Promise((resolve) => {
    const lib = tls ? https : http;
    let data = body;
    if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) data = JSON.stringify(body);
    const h = { ...headers };
    if (data !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
    if (data !== undefined) h['content-length'] = Buffer.byteLength(data); // node sends DELETE bodies unframed otherwise
    const r = lib.request({ host: '127.0.0.1', port, method, path: p, headers: h, timeout, ...(tls || {}) }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', (e) => resolve({ error: e, status: res.statusCode, partial: Buffer.concat(chunks) }));
      res.on('aborted', () => resolve({ error: new Error('aborted'), status: res.statusCode, partial: Buffer.concat(chunks) }));
      res.on('end', () => {
        let b = Buffer.concat(chunks);
        if (res.headers['content-encoding'] === 'gzip') b = zlib.gunzipSync(b);
        let json = null;
        try { json = JSON.parse(b.toString()); } catch { json = null; }
        resolve({ status: res.statusCode, headers: res.headers, body: b, json, rawLength: Buffer.concat(chunks).length });
      });
    });
    r.on('error', (e) => resolve({ error: e }));
    r.on('timeout', () => { r.destroy(new Error('timeout')); });
    if (data !== undefined) r.end(data); else r.end();
  });
}

const nd = (lines) => lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
const NDJSON = { 'content-type': 'application/x-ndjson' };
function bulkBody(index, from, n, extra = {}) {
  const lines = [];
  for (let i = from; i < from + n; i++) lines.push({ index: { _index: index, _id: String(i) } }, { n: i, ...extra });
  return nd(lines);
}

await run('persistence', async () => {
  const dir = path.join(tmp, 'persist');
  process.env.ES_TEST_SERVER_COMPACT = '1'; // compaction on every clean stop, to test it
  let s = await start(dir, ['--flavour', 'es8']);
  await req(s.port, 'PUT', '/p', { settings: { number_of_shards: 2 }, mappings: { properties: { n: { type: 'long' } } }, aliases: { palias: {} } });
  const b = await req(s.port, 'POST', '/_bulk', bulkBody('p', 0, 1000), NDJSON);
  check('bulk ok', b.status === 200 && b.json.errors === false);
  const d = await req(s.port, 'DELETE', '/p/_doc/7');
  check('delete ok', d.json.result === 'deleted');
  const upd = await req(s.port, 'POST', '/_bulk', nd([{ update: { _index: 'p', _id: '9' } }, { doc: { extra: 'x' } }, { index: { _index: 'p', _id: '8' } }, { n: 8, again: true }]), NDJSON);
  check('bulk update + index ok', upd.json.errors === false, upd.json);
  const last = await req(s.port, 'PUT', '/p/_doc/5', { n: 5 });
  check('re-index v2', last.json._version === 2);
  await stop(s, 'SIGKILL');
  s = await start(dir, ['--flavour', 'es8']);
  const c = await req(s.port, 'GET', '/p/_count');
  check('count after SIGKILL', c.json.count === 999, c.json);
  const g = await req(s.port, 'GET', '/p/_doc/5');
  check('version after SIGKILL', g.json._version === 2 && g.json._seq_no === last.json._seq_no, g.json);
  const again = await req(s.port, 'PUT', '/p/_doc/5', { n: 5 });
  check('seq_no continues after SIGKILL', again.json._version === 3 && again.json._seq_no === last.json._seq_no + 1, again.json);
  const del = await req(s.port, 'PUT', '/p/_doc/7', { n: 7 });
  check('tombstone version kept', del.json._version === 3 && del.json.result === 'created', del.json);
  const g9 = await req(s.port, 'GET', '/p/_doc/9');
  const g8 = await req(s.port, 'GET', '/p/_doc/8');
  check('updated and re-indexed sources after SIGKILL', JSON.stringify(g9.json._source) === '{"n":9,"extra":"x"}' && g8.json._source.again === true && g9.json._version === 2, [g9.json, g8.json]);
  const m = await req(s.port, 'GET', '/p/_mapping');
  check('mapping kept', m.json.p.mappings.properties.n.type === 'long');
  const a = await req(s.port, 'GET', '/_alias/palias');
  check('alias kept', a.status === 200 && a.json.p);
  await stop(s);
  check('ops.log emptied by compaction', /^\{"o":"gen","g":\d+\}\n$/.test(fs.readFileSync(path.join(dir, 'ops.log'), 'utf8')));
  s = await start(dir, ['--flavour', 'es8']);
  const c2 = await req(s.port, 'GET', '/p/_count');
  check('count after clean restart', c2.json.count === 1000, c2.json);
  const g2 = await req(s.port, 'GET', '/p/_doc/5');
  check('version after clean restart', g2.json._version === 3);
  // a torn last record (crash mid-write) is ignored on replay
  await req(s.port, 'PUT', '/p/_doc/x1', { n: 1 });
  await stop(s, 'SIGKILL');
  fs.appendFileSync(path.join(dir, 'ops.log'), '{"o":"i","x":"p","id":"torn","v":1,"s":99,"sh":0}\t{"n":');
  s = await start(dir, ['--flavour', 'es8']);
  const t = await req(s.port, 'GET', '/p/_doc/torn');
  const x1 = await req(s.port, 'GET', '/p/_doc/x1');
  check('torn record ignored, previous kept', t.status === 404 && x1.status === 200);
  await req(s.port, 'PUT', '/p/_doc/x2', { n: 2 });
  await stop(s, 'SIGKILL');
  s = await start(dir, ['--flavour', 'es8']);
  const x2 = await req(s.port, 'GET', '/p/_doc/x2');
  check('a record written after a torn one survives the next restart', x2.status === 200, x2.json);
  await req(s.port, 'DELETE', '/p/_doc/x2');
  await req(s.port, 'DELETE', '/p');
  await req(s.port, 'PUT', '/p/_doc/fresh', { n: 1 });
  // a stop killed after the snapshot was renamed but before the next ops.log was started
  const opsBefore = fs.readFileSync(path.join(dir, 'ops.log'));
  await stop(s);
  fs.writeFileSync(path.join(dir, 'ops.log'), opsBefore);
  s = await start(dir, ['--flavour', 'es8']);
  const fresh = await req(s.port, 'GET', '/p/_doc/fresh');
  const c3 = await req(s.port, 'GET', '/p/_count');
  check('an ops.log the snapshot covers is not replayed twice', fresh.status === 200 && c3.json.count === 1, [fresh.status, c3.json]);
  await stop(s);
});

await run('faults', async () => {
  const s = await start(path.join(tmp, 'faults'), ['--flavour', 'es8']);
  const set = (f) => req(s.port, 'PUT', '/_test/faults', f);
  await set({ request_status: 429, request_count: 2, path: '_bulk' });
  const r1 = await req(s.port, 'POST', '/_bulk', bulkBody('f', 0, 10), NDJSON);
  const other = await req(s.port, 'GET', '/');
  const r2 = await req(s.port, 'POST', '/_bulk', bulkBody('f', 0, 10), NDJSON);
  const r3 = await req(s.port, 'POST', '/_bulk', bulkBody('f', 0, 10), NDJSON);
  check('429 twice then ok', r1.status === 429 && r2.status === 429 && r3.status === 200, [r1.status, r2.status, r3.status]);
  check('429 body', r1.json.error.type === 'es_rejected_execution_exception' && r1.json.status === 429);
  check('path filter', other.status === 200);
  await set({ request_status: 503, request_count: 1 });
  const r4 = await req(s.port, 'GET', '/f/_count');
  check('503', r4.status === 503 && r4.json.status === 503);
  await req(s.port, 'POST', '/f/_refresh');
  await set({ item_status: 429, item_fraction: 0.25 });
  const r5 = await req(s.port, 'POST', '/_bulk', bulkBody('items', 0, 100), NDJSON);
  const st = r5.json.items.map((i) => i.index.status);
  check('a quarter of the items 429', st.filter((x) => x === 429).length === 25 && st.filter((x) => x === 201).length === 75, st.join());
  check('errors flag with item faults', r5.json.errors === true);
  await req(s.port, 'DELETE', '/_test/faults');
  await req(s.port, 'POST', '/items/_refresh');
  const c5 = await req(s.port, 'GET', '/items/_count');
  check('rejected items not applied', c5.json.count === 75, c5.json);
  await set({ item_status: 500, item_fraction: 1, request_count: 1 });
  const r6 = await req(s.port, 'POST', '/_bulk', bulkBody('items', 100, 3), NDJSON);
  check('item 500', r6.json.items.every((i) => i.index.status === 500 && i.index.error.type));
  await set({ reset_after_bytes: 20, request_count: 1, path: '_bulk' });
  const r7 = await req(s.port, 'POST', '/_bulk', bulkBody('reset', 0, 5), NDJSON);
  check('connection reset mid-response', r7.error !== undefined, r7);
  await set({ reset_after_bytes: 0, request_count: 1 });
  const r8 = await req(s.port, 'GET', '/');
  check('reset before any byte', r8.error && r8.status === undefined, r8);
  await set({ delay_ms: 400, request_count: 1 });
  let t0 = Date.now();
  const r9 = await req(s.port, 'GET', '/');
  check('delay', r9.status === 200 && Date.now() - t0 >= 380, Date.now() - t0);
  await set({ stall_ms: 400, request_count: 1 });
  t0 = Date.now();
  const r10 = await req(s.port, 'GET', '/');
  check('stall mid-body, then complete', r10.status === 200 && r10.json && r10.json.tagline && Date.now() - t0 >= 380);
  await set({ stall_ms: 3000, request_count: 1 });
  const r11 = await req(s.port, 'GET', '/', undefined, {}, { timeout: 500 });
  check('stall trips a client timeout', r11.error !== undefined);
  // same-_id overlap: a bulk arrives while an unanswered one holds the same _id
  await req(s.port, 'DELETE', '/_test/stats');
  await set({ delay_ms: 1500, request_count: 1, path: '_bulk' }); // generous: a busy machine may be slow to read the second bulk
  const pa = req(s.port, 'POST', '/_bulk', bulkBody('ov', 0, 3), NDJSON);
  await new Promise((r) => setTimeout(r, 100));
  const pb = req(s.port, 'POST', '/_bulk', bulkBody('ov', 2, 3), NDJSON);
  await Promise.all([pa, pb]);
  const pc = await req(s.port, 'POST', '/_bulk', bulkBody('ov', 2, 1), NDJSON);
  check('later bulk ok', pc.status === 200);
  const stats = (await req(s.port, 'GET', '/_test/stats')).json;
  check('same_id_overlaps counted once', stats.same_id_overlaps === 1, stats);
  check('max_concurrent_requests', stats.max_concurrent_requests >= 2, stats);
  check('bulk stats', stats.bulk_requests === 3 && stats.bulk_items === 7, stats);
  check('faults_injected', stats.faults_injected === 1, stats);
  await set({ request_status: 418 }).then((r) => check('bad fault refused', r.status === 400));
  await stop(s);
});

// Bulk bodies are read into buffers the server reuses (readBody in server.mjs); documents keep
// the decoded text of an ASCII body and the bytes of any other. Every stored source must stay
// what was sent, whatever later requests put in the reused buffers.
await run('reused bulk buffers keep every source', async () => {
  const dir = path.join(tmp, 'reuse');
  let s = await start(dir, ['--flavour', 'os2']);
  const sent = new Map();
  const bulkOf = (tag, from, n, word) => {
    const lines = [];
    for (let i = from; i < from + n; i++) {
      const src = { n: i, tag, word, text: `${word} ${tag} ${i} `.repeat(20) };
      sent.set(String(i), src);
      lines.push({ index: { _index: 'r', _id: String(i) } }, src);
    }
    return nd(lines);
  };
  const batches = [bulkOf('a', 0, 300, 'ascii'), bulkOf('b', 300, 300, 'caf\u00e9 \u00fcber'), bulkOf('c', 600, 300, 'plain'), bulkOf('d', 900, 300, 'words')];
  for (const [i, body] of batches.entries()) {
    const gz = i % 2 === 1; // the non-ASCII batch and the last one gzipped
    const r = await req(s.port, 'POST', '/_bulk', gz ? zlib.gzipSync(body) : body, gz ? { ...NDJSON, 'content-encoding': 'gzip' } : NDJSON);
    check('bulk for reuse ok', r.status === 200 && r.json.errors === false, r.json && r.json.items && r.json.items[0]);
  }
  // an upload cut off midway, then more bulks, which may get the buffers it held
  await new Promise((resolve) => {
    const body = Buffer.from(bulkOf('x', 5000, 200, 'lost'));
    const r = http.request({ host: '127.0.0.1', port: s.port, method: 'POST', path: '/_bulk', headers: { ...NDJSON, 'content-length': body.length } });
    r.on('error', () => resolve());
    r.write(body.subarray(0, body.length >> 1), () => { r.destroy(); setTimeout(resolve, 100); });
  });
  for (let i = 5000; i < 5200; i++) sent.delete(String(i));
  const u = await req(s.port, 'POST', '/_bulk', nd([{ update: { _index: 'r', _id: '5' } }, { doc: { extra: 1 } }]) + bulkOf('e', 1200, 300, 'later'), NDJSON);
  sent.get('5').extra = 1;
  check('update and bulk after the cut upload ok', u.status === 200 && u.json.errors === false, u.json && u.json.items && u.json.items[0]);
  const compare = async (when) => {
    const ids = [...sent.keys()];
    const g = await req(s.port, 'POST', '/r/_mget', { ids });
    const bad = g.json.docs.filter((d) => !d.found || JSON.stringify(d._source) !== JSON.stringify(sent.get(d._id)));
    check(`every source as sent ${when}`, g.status === 200 && g.json.docs.length === ids.length && bad.length === 0, bad.slice(0, 2));
    await req(s.port, 'POST', '/r/_refresh');
    const q = await req(s.port, 'POST', '/r/_search', { size: 3, sort: [{ n: 'desc' }], query: { match_all: {} } });
    const top = q.json && q.json.hits.hits.map((h) => h._source.n).join();
    check(`sorted search reads the stored sources ${when}`, top === '1499,1498,1497', top);
  };
  await compare('(running)');
  await stop(s);
  s = await start(dir, ['--flavour', 'os2']);
  await compare('(after a restart)');
  await stop(s, 'SIGKILL');
});

await run('limits, gzip, newline rules, media types', async () => {
  const s = await start(path.join(tmp, 'limits'), ['--flavour', 'es8', '--max-body', '4000']);
  const small = bulkBody('g', 0, 10);
  const big = bulkBody('g', 0, 200);
  const r1 = await req(s.port, 'POST', '/_bulk', big, NDJSON);
  check('413 above --max-body', r1.status === 413 || (r1.error && /ECONNRESET|EPIPE/.test(r1.error.code)), r1.status || r1.error);
  const gz = zlib.gzipSync(Buffer.from(big));
  check('gzip of big is small', gz.length < 4000);
  const r2 = await req(s.port, 'POST', '/_bulk', gz, { ...NDJSON, 'content-encoding': 'gzip' });
  check('413 on the decompressed size', r2.status === 413, r2.status);
  const r3 = await req(s.port, 'POST', '/_bulk?refresh=true', zlib.gzipSync(Buffer.from(small)), { ...NDJSON, 'content-encoding': 'gzip', 'accept-encoding': 'gzip' });
  check('gzip request accepted', r3.status === 200 && r3.json.items.length === 10);
  check('gzip response', r3.headers['content-encoding'] === 'gzip' && r3.rawLength < r3.body.length);
  const r4 = await req(s.port, 'POST', '/_bulk', small.slice(0, -1), NDJSON);
  check('final newline required', r4.status === 400 && r4.json.error.reason === 'The bulk request must be terminated by a newline [\\n]', r4.json);
  const r5 = await req(s.port, 'POST', '/_bulk', '\n' + nd([{ index: { _index: 'g', _id: 'b1' } }, { a: 1 }]) + '\n\n' + nd([{ delete: { _index: 'g', _id: 'b1' } }]), NDJSON);
  check('blank lines skipped', r5.status === 200 && r5.json.items.length === 2, r5.json);
  const r6 = await req(s.port, 'POST', '/_bulk', '{"index":{"_index":"g"}\n{"a":1}\n', NDJSON);
  check('malformed action line: whole request 400', r6.status === 400 && r6.json.error.type === 'x_content_parse_exception', r6.json);
  const r7 = await req(s.port, 'POST', '/_bulk', '{"index":{"_index":"g","_id":"s1"}}\n{"a":\n', NDJSON);
  check('malformed source: item 400', r7.status === 200 && r7.json.items[0].index.status === 400 && r7.json.items[0].index.error.type === 'document_parsing_exception', r7.json);
  // action lines that differ only in their _id reuse the first one's parse (actionShape):
  // every other line must still come out as JSON.parse reads it
  const shaped = (id, v) => `{"index":{"_index":"g","_id":${id},"version":${v},"version_type":"external"}}\n{"a":1}\n`;
  const rs = await req(s.port, 'POST', '/_bulk', shaped('"v1"', 5) + shaped('"v2"', 5) + shaped('"v1"', 5) +
    '{"index":{"_index":"g","_id":"v3","_id":"v4","version":5,"version_type":"external"}}\n{"a":1}\n' +
    '{"index":{"_index":"g","_id":"v5","_id":"v5","version":5,"version_type":"external"}}\n{"a":1}\n' +
    '{"index":{"_index":"g","_id":"v6","_id":"v5","version":5,"version_type":"external"}}\n{"a":1}\n' +
    shaped('"v\\u0037"', 5) + shaped('""', 5) + shaped('"v8"', 6), NDJSON);
  const got = rs.json && rs.json.items.map((it) => `${it.index._id}:${it.index.status}`).join(' ');
  check('same-shape action lines: ids, versions and conflicts as parsed one by one',
    got === 'v1:201 v2:201 v1:409 v4:201 v5:201 v5:409 v7:201 :400 v8:201', got);
  const r8 = await req(s.port, 'POST', '/_bulk', '{"index":{"_index":"g","_id":"s2"}}\n', NDJSON);
  check('action without source: no requests', r8.status === 400 && r8.json.error.type === 'action_request_validation_exception' && r8.json.error.reason === 'Validation Failed: 1: no requests added;', r8.json);
  const r9 = await req(s.port, 'POST', '/_bulk', nd([{ index: { _id: 'x' } }, { a: 1 }]), NDJSON);
  check('index missing', r9.status === 400 && r9.json.error.reason === 'Validation Failed: 1: index is missing;', r9.json);
  const r10 = await req(s.port, 'POST', '/_bulk', nd([{ index: { _index: 'g', _id: 'x', version: 3 } }, { a: 1 }]), NDJSON);
  check('internal version refused', r10.status === 400 && /internal versioning can not be used for optimistic concurrency control/.test(r10.json.error.reason), r10.json);
  const r10b = await req(s.port, 'POST', '/_bulk', '{ "index":{ }, "something": "unexpected" }\n{}\n', NDJSON);
  check('ES 8: extra keys after the action', r10b.status === 400 && r10b.json.error.reason === 'Malformed action/metadata line [1], expected END_OBJECT but found [FIELD_NAME]', r10b.json);
  const r10c = await req(s.port, 'POST', '/_bulk', '{ "index":{ } } { "something": "unexpected" }\n{}\n', NDJSON);
  check('ES 8: data after the closing brace', r10c.status === 400 && r10c.json.error.reason === 'Malformed action/metadata line [1], unexpected data after the closing brace', r10c.json);
  const r10d = await req(s.port, 'POST', '/_bulk', nd([{ update: { _index: 'g', _id: 'u', version: 2 } }, { doc: {} }]), NDJSON);
  check('update with a version refused', r10d.status === 400 && r10d.json.error.reason === 'Update requests do not support versioning. Please use `if_seq_no` and `if_primary_term` instead', r10d.json);
  const r10e = await req(s.port, 'POST', '/_bulk', nd([{ index: { _index: 'g', _id: '' } }, { f: 1 }, { index: { _index: 'g' } }, { f: 2 }]), NDJSON);
  check('empty _id: item 400, auto id created', r10e.json.items[0].index.error.reason === 'if _id is specified it must not be empty' && r10e.json.items[1].index.result === 'created' && r10e.json.items[1].index._id.length === 20, r10e.json);
  const sc = await req(s.port, 'POST', '/g/_search?scroll=1m', { size: 1 });
  const cl = await req(s.port, 'DELETE', '/_search/scroll/invalid_scroll_id', { scroll_id: sc.json._scroll_id });
  check('clear scroll: the body wins over the path', cl.status === 200 && cl.json.num_freed === 1, cl.json);
  const gone = await req(s.port, 'POST', '/_search/scroll', { scroll_id: sc.json._scroll_id });
  check('cleared scroll is missing', gone.status === 404 && gone.json.error.root_cause[0].type === 'search_context_missing_exception', gone.json);
  const ka = await req(s.port, 'POST', '/g/_search?scroll=2d', {});
  check('keep alive above search.max_keep_alive', ka.status === 400 && /Keep alive for \[2d\] is too large/.test(ka.json.error.reason), ka.json);
  await req(s.port, 'PUT', '/af', { mappings: { properties: { kind: { type: 'keyword' } } }, aliases: { 'af-red': { filter: { term: { kind: 'red' } } }, 'af-all': {} } });
  await req(s.port, 'POST', '/_bulk?refresh=true', nd([{ index: { _index: 'af', _id: '1' } }, { kind: 'red' }, { index: { _index: 'af', _id: '2' } }, { kind: 'blue' }]), NDJSON);
  const fc = await req(s.port, 'GET', '/af-red/_count');
  const fs2 = await req(s.port, 'POST', '/af-red/_search', { query: { match_all: {} } });
  const both = await req(s.port, 'GET', '/af-red,af/_count');
  check('alias filter applied', fc.json.count === 1 && fs2.json.hits.hits.length === 1 && fs2.json.hits.hits[0]._id === '1' && both.json.count === 2, [fc.json, both.json]);
  const pp = await req(s.port, 'PUT', '/_ingest/pipeline/tidy', { processors: [{ set: { field: 'origin', value: 'pipe' } }, { lowercase: { field: 'name' } }, { remove: { field: 'secret', ignore_missing: true } }] });
  check('pipeline stored', pp.status === 200 && pp.json.acknowledged === true);
  const bad = await req(s.port, 'PUT', '/_ingest/pipeline/bad', { processors: [{ nosuch: { field: 'x' } }] });
  check('unknown processor refused', bad.status === 400 && bad.json.error.type === 'parse_exception' && bad.json.error.reason === 'No processor type exists with name [nosuch]', bad.json);
  const pb = await req(s.port, 'POST', '/_bulk?pipeline=tidy&refresh=true', nd([{ index: { _index: 'piped', _id: '1' } }, { name: 'MiXed', secret: 1 }, { index: { _index: 'piped', _id: '2', pipeline: 'missing' } }, { name: 'x' }]), NDJSON);
  const p1 = await req(s.port, 'GET', '/piped/_doc/1');
  check('pipeline applied', JSON.stringify(p1.json._source) === '{"name":"mixed","origin":"pipe"}', p1.json);
  check('unknown pipeline: item 400', pb.json.items[1].index.status === 400 && pb.json.items[1].index.error.reason === 'pipeline with id [missing] does not exist', pb.json.items[1]);
  await req(s.port, 'PUT', '/piped2', { settings: { index: { default_pipeline: 'tidy' } } });
  await req(s.port, 'PUT', '/piped2/_doc/1', { name: 'UP' });
  const p2 = await req(s.port, 'GET', '/piped2/_doc/1');
  check('default_pipeline', p2.json._source.name === 'up' && p2.json._source.origin === 'pipe', p2.json);
  // refresh visibility: search sees the last refresh, GET is real time
  await req(s.port, 'PUT', '/vis', { settings: { index: { refresh_interval: '-1' } } });
  await req(s.port, 'PUT', '/vis/_doc/1', { a: 1 });
  const before = await req(s.port, 'GET', '/vis/_count');
  const rt = await req(s.port, 'GET', '/vis/_doc/1');
  await new Promise((r) => setTimeout(r, 1300));
  const still = await req(s.port, 'POST', '/vis/_search', {});
  await req(s.port, 'POST', '/vis/_refresh');
  const afterRefresh = await req(s.port, 'GET', '/vis/_count');
  check('refresh visibility', before.json.count === 0 && rt.json.found === true && still.json.hits.total.value === 0 && afterRefresh.json.count === 1, [before.json, still.json.hits.total, afterRefresh.json]);
  await req(s.port, 'PUT', '/vis/_settings', { index: { refresh_interval: '1s' } });
  await req(s.port, 'PUT', '/vis/_doc/2', { a: 2 });
  await new Promise((r) => setTimeout(r, 1600));
  const later = await req(s.port, 'GET', '/vis/_count');
  check('scheduled refresh after refresh_interval', later.json.count === 2, later.json);
  // a PIT dump in _shard_doc order over a 3-shard index, page by page with search_after
  await req(s.port, 'PUT', '/dump', { settings: { number_of_shards: 3 } });
  for (let i = 0; i < 1000; i += 25) await req(s.port, 'POST', '/_bulk', bulkBody('dump', i, 25), NDJSON); // --max-body 4000 here
  await req(s.port, 'POST', '/dump/_refresh');
  const dp = await req(s.port, 'POST', '/dump/_pit?keep_alive=1m');
  const seen = [];
  let after;
  for (let i = 0; i < 20; i++) {
    const page = await req(s.port, 'POST', '/_search', { pit: { id: dp.json.id }, size: 300, sort: [{ _shard_doc: 'asc' }], ...(after ? { search_after: after } : {}) });
    const hits = page.json.hits.hits;
    if (!hits.length) break;
    seen.push(...hits.map((h) => h._id));
    after = hits[hits.length - 1].sort;
  }
  check('PIT dump by _shard_doc: every document once', seen.length === 1000 && new Set(seen).size === 1000, seen.length);
  const docOrder = await req(s.port, 'POST', '/dump/_search', { size: 5, sort: ['_doc'], search_after: [2] });
  check('_doc order with search_after', docOrder.json.hits.hits.length === 5 && docOrder.json.hits.hits[0].sort[0] === 3, docOrder.json.hits.hits.map((h) => h.sort));
  const us = await req(s.port, 'PUT', '/settings-typo', { settings: { number_of_shard: 1 } });
  check('unknown index setting refused', us.status === 400 && us.json.error.reason === 'unknown setting [index.number_of_shard] did you mean [index.number_of_shards]?', us.json);
  const ok = await req(s.port, 'PUT', '/settings-ok', { settings: { index: { refresh_interval: '5s', analysis: { analyzer: { folded: { type: 'custom', tokenizer: 'standard', filter: ['lowercase'] } } } } } });
  check('analysis settings accepted', ok.status === 200, ok.json);
  const ug = await req(s.port, 'POST', '/_bulk', nd([{ index: { _index: 'ug', _id: '1' } }, { a: 1, b: 2 }, { update: { _index: 'ug', _id: '1', _source: true } }, { doc: { a: 3 } }, { update: { _index: 'ug', _id: '1' } }, { doc: { b: 4 }, _source: ['b'] }]), NDJSON);
  const g1 = ug.json.items[1].update.get;
  const g2 = ug.json.items[2].update.get;
  check('update get block', g1 && g1.found === true && JSON.stringify(g1._source) === '{"a":3,"b":2}' && JSON.stringify(g2._source) === '{"b":4}' && g2._seq_no === ug.json.items[2].update._seq_no, ug.json.items);
  const up = await req(s.port, 'POST', '/_bulk?refrsh=true&zzz=1', small, NDJSON);
  check('unknown URL parameters refused', up.status === 400 && up.json.error.reason === 'request [/_bulk] contains unrecognized parameters: [refrsh] -> did you mean [refresh]?, [zzz]', up.json);
  const r11 = await req(s.port, 'POST', '/_bulk', small, { 'content-type': 'application/vnd.elasticsearch+x-ndjson; compatible-with=8', accept: 'application/vnd.elasticsearch+json; compatible-with=8' });
  check('compat 8 accepted', r11.status === 200 && r11.headers['content-type'] === 'application/vnd.elasticsearch+json;compatible-with=8', r11.headers);
  const r12 = await req(s.port, 'GET', '/', undefined, { accept: 'application/vnd.elasticsearch+json; compatible-with=7' });
  check('compat 7 answered as 7', r12.status === 200 && r12.headers['content-type'] === 'application/vnd.elasticsearch+json;compatible-with=7');
  const v7 = { 'content-type': 'application/vnd.elasticsearch+json; compatible-with=7', accept: 'application/vnd.elasticsearch+json; compatible-with=7' };
  const t7 = await req(s.port, 'PUT', '/g/_doc/t7', { a: 1 }, v7);
  const t8 = await req(s.port, 'GET', '/g/_doc/t7');
  check('compat 7 restores _type, 8 has none', t7.json._type === '_doc' && t8.json._type === undefined, [t7.json, t8.json]);
  const r13 = await req(s.port, 'GET', '/', undefined, { accept: 'application/vnd.elasticsearch+json; compatible-with=9' });
  check('compat 9 refused', r13.status === 400 && r13.json.error.type === 'media_type_header_exception', r13.json);
  const r14 = await req(s.port, 'POST', '/g/_search', '{}', { 'content-type': 'text/plain' });
  check('unsupported content-type 406', r14.status === 406 && r14.json.error === 'Content-Type header [text/plain] is not supported', r14.json);
  await stop(s);
  const o = await start(path.join(tmp, 'limits-os'), ['--flavour', 'os2']);
  const r15 = await req(o.port, 'POST', '/_bulk', small, { 'content-type': 'application/vnd.elasticsearch+x-ndjson; compatible-with=8' });
  check('OpenSearch refuses ES media types', r15.status === 406, r15.status);
  await stop(o);
});

await run('auth', async () => {
  const s = await start(path.join(tmp, 'auth'), ['--flavour', 'es8', '--auth-basic', 'elastic:s3cret', '--auth-apikey', 'kid:kval', '--auth-bearer', 'tok123']);
  const none = await req(s.port, 'GET', '/');
  check('401 without credentials', none.status === 401 && none.json.error.type === 'security_exception' && none.json.error.reason === 'missing authentication credentials for REST request [/]', none.json);
  check('WWW-Authenticate', String(none.headers['www-authenticate']).includes('Basic realm="security"'), none.headers['www-authenticate']);
  const basic = (u) => ({ authorization: 'Basic ' + Buffer.from(u).toString('base64') });
  check('basic ok', (await req(s.port, 'GET', '/', undefined, basic('elastic:s3cret'))).status === 200);
  const bad = await req(s.port, 'GET', '/', undefined, basic('elastic:nope'));
  check('basic wrong', bad.status === 401 && bad.json.error.reason === 'unable to authenticate user [elastic] for REST request [/]', bad.json);
  check('api key ok', (await req(s.port, 'GET', '/', undefined, { authorization: 'ApiKey ' + Buffer.from('kid:kval').toString('base64') })).status === 200);
  check('api key wrong', (await req(s.port, 'GET', '/', undefined, { authorization: 'ApiKey ' + Buffer.from('kid:x').toString('base64') })).status === 401);
  check('bearer ok', (await req(s.port, 'GET', '/', undefined, { authorization: 'Bearer tok123' })).status === 200);
  check('bearer wrong', (await req(s.port, 'GET', '/', undefined, { authorization: 'Bearer nope' })).status === 401);
  check('admin endpoints not auth-checked', (await req(s.port, 'GET', '/_test/stats')).status === 200);
  await stop(s);
  const o = await start(path.join(tmp, 'auth-os'), ['--flavour', 'os2', '--auth-basic', 'admin:admin']);
  const on = await req(o.port, 'GET', '/');
  check('OpenSearch security plugin 401', on.status === 401 && on.body.toString() === 'Unauthorized' && /OpenSearch Security/.test(on.headers['www-authenticate']), on.headers);
  await stop(o);
});

await run('tls', async () => {
  const key = path.join(tmp, 'key.pem');
  const cert = path.join(tmp, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  const s = await start(path.join(tmp, 'tls'), ['--flavour', 'es7', '--tls-cert', cert, '--tls-key', key]);
  const ok = await req(s.port, 'GET', '/', undefined, {}, { tls: { ca: fs.readFileSync(cert) } });
  check('https with the CA', ok.status === 200 && ok.json.version.number.startsWith('7.17'));
  const unverified = await req(s.port, 'GET', '/', undefined, {}, { tls: {} });
  check('https without the CA fails verification', unverified.error && /self.signed|SELF_SIGNED/i.test(unverified.error.code + unverified.error.message), unverified.error && unverified.error.code);
  const plain = await req(s.port, 'GET', '/');
  check('plain http to TLS port fails', plain.error !== undefined || plain.status === 400);
  await stop(s);
  // the usual production shape: ES 8 over HTTPS with basic auth and an API key, official client
  const s8 = await start(path.join(tmp, 'tls8'), ['--flavour', 'es8', '--tls-cert', cert, '--tls-key', key, '--auth-basic', 'elastic:changeme', '--auth-apikey', 'k1:v1']);
  const ca = fs.readFileSync(cert);
  const good = new EsClient({ node: `https://127.0.0.1:${s8.port}`, auth: { username: 'elastic', password: 'changeme' }, tls: { ca } });
  const info = await good.info();
  check('es8 client over https with basic auth', info.version.number.startsWith('8.'));
  const keyed = new EsClient({ node: `https://127.0.0.1:${s8.port}`, auth: { apiKey: Buffer.from('k1:v1').toString('base64') }, tls: { ca } });
  const made = await keyed.indices.create({ index: 'secured' });
  check('es8 client with an API key', made.acknowledged === true);
  const gz = await req(s8.port, 'GET', '/', undefined, { authorization: 'Basic ' + Buffer.from('elastic:changeme').toString('base64'), 'accept-encoding': 'gzip' }, { tls: { ca } });
  check('no gzip answers over https (http.compression default)', gz.status === 200 && gz.headers['content-encoding'] === undefined, gz.headers);
  const wrong = new EsClient({ node: `https://127.0.0.1:${s8.port}`, auth: { username: 'elastic', password: 'nope' }, tls: { ca } });
  try {
    await wrong.info();
    check('wrong password refused', false);
  } catch (e) {
    check('wrong password: 401 security_exception', e.meta && e.meta.statusCode === 401 && e.meta.body.error.type === 'security_exception', e.meta && e.meta.body);
  }
  await stop(s8);
});

await run('sigv4', async () => {
  const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  for (const service of ['es', 'aoss']) {
    const s = await start(path.join(tmp, `sig-${service}`), ['--flavour', 'os2', '--sigv4', `eu-west-1:${service}:${creds.accessKeyId}:${creds.secretAccessKey}`]);
    const client = new Client({ ...AwsSigv4Signer({ region: 'eu-west-1', service, getCredentials: () => Promise.resolve(creds) }), node: `http://127.0.0.1:${s.port}` });
    const info = await client.info();
    check(`${service}: signed GET /`, info.statusCode === 200);
    const b = await client.bulk({ body: [{ index: { _index: 'signed', _id: 'a b/c' } }, { t: 'x' }], refresh: true });
    check(`${service}: signed bulk`, b.body.errors === false, JSON.stringify(b.body));
    const g = await client.get({ index: 'signed', id: 'a b/c' });
    check(`${service}: signed GET with an escaped id`, g.body.found === true);
    const s2 = await client.search({ index: 'signed', body: { query: { ids: { values: ['a b/c'] } } }, q: undefined, size: 5 });
    check(`${service}: signed search with a query string`, s2.body.hits.total.value === 1);
    const wrong = new Client({ ...AwsSigv4Signer({ region: 'eu-west-1', service, getCredentials: () => Promise.resolve({ ...creds, secretAccessKey: 'wrong' }) }), node: `http://127.0.0.1:${s.port}` });
    try {
      await wrong.info();
      check(`${service}: wrong secret refused`, false);
    } catch (e) {
      check(`${service}: wrong secret 403`, e.meta && e.meta.statusCode === 403 && /signature we calculated does not match/.test(e.meta.body.message), e.meta && e.meta.body);
    }
    const unsigned = await req(s.port, 'GET', '/');
    check(`${service}: unsigned 403`, unsigned.status === 403 && unsigned.json.message === 'Missing Authentication Token', unsigned.json);
    await stop(s);
  }
});

for (const p of servers) p.kill('SIGKILL');
fs.rmSync(tmp, { recursive: true, force: true });
done();
