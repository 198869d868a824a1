// s3-fault-proxy.mjs: an HTTP proxy on loopback between dip and s3rver that injects the
// failures S3 clients meet in production, by rule, for the first K matching requests, and
// passes everything else through unchanged. No dependencies (node:http, node:net).
//
//   node scripts/s3-fault-proxy.mjs --upstream 127.0.0.1:PORT --port-file FILE [--rules JSON]
//
// The Host header is forwarded as received: dip signs its requests for the proxy's
// host:port and s3rver checks the signature against the Host it receives, so signatures
// still verify through the proxy.
//
// Rules (a JSON array; set at start with --rules or FAULT_RULES, or at run time with
// `PUT /__fault/rules` and a JSON body, which also resets the counters):
//   { "fault": KIND, "method": "GET", "path": "regex on the request URL", "count": K, ... }
// The first rule whose method and path match and whose count is not used up applies.
// KIND:
//   slowdown  503 with the S3 <Error><Code>SlowDown</Code> body (request not forwarded)
//   status    "status" (default 500) with "code" (default InternalError) in an S3 error body
//   drop      the connection is reset before any response byte
//   reset     forwarded; headers and "fraction" (default 0.5) of the body, then a TCP reset
//   short     forwarded; headers with the full Content-Length, "fraction" of the body,
//             then a clean close (FIN): a body shorter than its Content-Length
//   stall     forwarded; headers and "fraction" (default 0.5) of the body, then nothing for
//             "stall_s" seconds (default 30), then a reset
// GET /__fault/stats returns {"requests": n, "applied": [per-rule counts], "log": [faults],
// "seen": [the last 2000 requests as "METHOD host url range"]}.
import http from 'node:http';
import { writeFileSync, renameSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const upstream = opt('--upstream');
const portFile = opt('--port-file');
if (!upstream || !portFile) {
  console.error('usage: s3-fault-proxy.mjs --upstream HOST:PORT --port-file FILE [--rules JSON]');
  process.exit(2);
}
const [upHost, upPortStr] = upstream.split(':');
const upPort = Number(upPortStr);
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

let rules = [];
let applied = [];
let requests = 0;
let log = [];
let seen = []; // the last 2000 requests: "METHOD host url range", for tests and debugging
function setRules(text) {
  const r = JSON.parse(text || '[]');
  if (!Array.isArray(r)) throw new Error('rules must be a JSON array');
  for (const x of r) {
    if (!['slowdown', 'status', 'drop', 'reset', 'short', 'stall'].includes(x.fault))
      throw new Error(`unknown fault ${x.fault}`);
    x._re = x.path ? new RegExp(x.path) : null;
  }
  rules = r;
  applied = r.map(() => 0);
  requests = 0;
  log = [];
  seen = [];
}
setRules(opt('--rules', process.env.FAULT_RULES || '[]'));

function pickRule(req) {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (r.method && r.method !== req.method) continue;
    if (r._re && !r._re.test(req.url)) continue;
    if (applied[i] >= (r.count ?? 1)) continue;
    applied[i]++;
    return r;
  }
  return null;
}

function s3ErrorBody(code, message) {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${code}</Code><Message>${message}</Message>` +
    '<RequestId>FAULTPROXY</RequestId></Error>'
  );
}

// Forwards the request and collects the whole upstream response.
function forward(req, body) {
  return new Promise((resolve, reject) => {
    const up = http.request(
      { host: upHost, port: upPort, method: req.method, path: req.url, headers: req.headers, agent },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    up.on('error', reject);
    up.end(body);
  });
}

// The response head as raw bytes, with our Content-Length, so we can then break the body.
function rawHead(res, contentLength) {
  let head = `HTTP/1.1 ${res.statusCode} ${res.statusMessage || ''}\r\n`;
  const h = res.rawHeaders;
  for (let i = 0; i < h.length; i += 2) {
    const n = h[i].toLowerCase();
    if (n === 'content-length' || n === 'transfer-encoding' || n === 'connection') continue;
    head += `${h[i]}: ${h[i + 1]}\r\n`;
  }
  head += `Content-Length: ${contentLength}\r\nConnection: keep-alive\r\n\r\n`;
  return Buffer.from(head, 'latin1');
}

async function handle(req, res, reqBody) {
  requests++;
  if (req.url.startsWith('/__fault/')) {
    requests--;
    if (req.url === '/__fault/rules' && (req.method === 'PUT' || req.method === 'POST')) {
      try {
        setRules(reqBody.toString());
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}\n');
      } catch (e) {
        res.writeHead(400).end(String(e.message) + '\n');
      }
      return;
    }
    if (req.url === '/__fault/stats') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ requests, applied, log, seen }) + '\n');
      return;
    }
    res.writeHead(404).end();
    return;
  }
  seen.push(`${req.method} ${req.headers.host} ${req.url}${req.headers.range ? ' ' + req.headers.range : ''}`);
  if (seen.length > 2000) seen.shift();
  const rule = pickRule(req);
  if (rule) log.push(`${rule.fault} ${req.method} ${req.url}`);
  const sock = req.socket;
  if (rule && (rule.fault === 'slowdown' || rule.fault === 'status')) {
    const status = rule.fault === 'slowdown' ? 503 : rule.status ?? 500;
    const code = rule.fault === 'slowdown' ? 'SlowDown' : rule.code ?? 'InternalError';
    const msg = rule.fault === 'slowdown' ? 'Please reduce your request rate.' : `Injected ${code}.`;
    const body = s3ErrorBody(code, msg);
    res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
    return;
  }
  if (rule && rule.fault === 'drop') {
    sock.resetAndDestroy();
    return;
  }
  let up;
  try {
    up = await forward(req, reqBody);
  } catch (e) {
    res.writeHead(502).end(String(e.message));
    return;
  }
  if (!rule) {
    const headers = {};
    const h = up.res.rawHeaders;
    for (let i = 0; i < h.length; i += 2) {
      const n = h[i].toLowerCase();
      if (n === 'transfer-encoding' || n === 'connection' || n === 'keep-alive') continue;
      headers[h[i]] = h[i + 1];
    }
    if (req.method !== 'HEAD') headers['Content-Length'] = String(up.body.length);
    res.writeHead(up.res.statusCode, up.res.statusMessage, headers);
    res.end(req.method === 'HEAD' ? undefined : up.body);
    return;
  }
  // reset / short / stall: write the response ourselves and break it
  const full = up.body;
  const declared = req.method === 'HEAD' ? Number(up.res.headers['content-length'] || 0) : full.length;
  const part = full.subarray(0, Math.floor(full.length * (rule.fraction ?? 0.5)));
  sock.write(Buffer.concat([rawHead(up.res, declared), req.method === 'HEAD' ? Buffer.alloc(0) : part]));
  if (rule.fault === 'short') {
    sock.end();
  } else if (rule.fault === 'reset') {
    setTimeout(() => sock.resetAndDestroy(), 50);
  } else {
    const t = setTimeout(() => sock.resetAndDestroy(), 1000 * (rule.stall_s ?? 30));
    sock.on('close', () => clearTimeout(t));
  }
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    handle(req, res, Buffer.concat(chunks)).catch((e) => {
      console.error('fault proxy:', e);
      try {
        res.writeHead(500).end();
      } catch {
        req.socket.destroy();
      }
    });
  });
});
server.keepAliveTimeout = 30000;
server.on('clientError', (err, socket) => socket.destroy());
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  writeFileSync(portFile + '.tmp', `${port}\n`);
  renameSync(portFile + '.tmp', portFile);
  console.error(`s3-fault-proxy on 127.0.0.1:${port} -> ${upstream}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
