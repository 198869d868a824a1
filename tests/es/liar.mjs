// liar.mjs: a tiny misbehaving HTTP server on node:net for the es client's bad-input tests.
// It answers GET / like Elasticsearch 8 (unless the mode breaks that) and every other
// request per MODE: notjson, cutjson (a complete HTTP answer holding half a JSON body),
// short (Content-Length larger than the bytes sent, then the connection closes), fewer (a
// bulk answer with one item less than sent), wrongid (the items answer other _ids),
// rootbad (GET / is not JSON), noproduct (ES 8 without X-Elastic-Product), es6 (version 6.8).
//   node liar.mjs MODE      prints "listening PORT"
import net from 'node:net';
import zlib from 'node:zlib';

const mode = process.argv[2];
const ROOT = { name: 'liar', cluster_name: 'liar', version: { number: mode === 'es6' ? '6.8.23' : '8.13.4', build_flavor: 'default' }, tagline: 'You Know, for Search' };

function answer(sock, status, body, headers = {}) {
  const b = Buffer.from(body);
  const h = { 'content-type': 'application/json', 'content-length': String(b.length), ...headers };
  let head = `HTTP/1.1 ${status} X\r\n`;
  for (const [k, v] of Object.entries(h)) head += `${k}: ${v}\r\n`;
  sock.write(head + '\r\n');
  sock.write(b);
}

function handle(sock, method, path, headers, body) {
  if (method === 'GET' && path === '/') {
    if (mode === 'rootbad') return answer(sock, 200, 'this is not json', { 'x-elastic-product': 'Elasticsearch' });
    return answer(sock, 200, JSON.stringify(ROOT), mode === 'noproduct' ? {} : { 'x-elastic-product': 'Elasticsearch' });
  }
  if ((headers['content-encoding'] || '') === 'gzip') body = zlib.gunzipSync(body);
  const lines = body.toString().split('\n').filter((l) => l.length);
  const acts = [];
  for (let i = 0; i < lines.length; i++) {
    const a = JSON.parse(lines[i]);
    const op = Object.keys(a)[0];
    acts.push({ op, id: a[op]._id });
    if (op !== 'delete') i++;
  }
  let items = acts.map((a) => ({ [a.op]: { _index: 'x', _id: a.id, status: 201 } }));
  if (mode === 'fewer') items = items.slice(1);
  if (mode === 'wrongid') items = items.map((it) => ({ index: { ...it.index, _id: 'other' } }));
  const json = JSON.stringify({ took: 1, errors: false, items });
  const ph = { 'x-elastic-product': 'Elasticsearch' };
  if (mode === 'notjson') return answer(sock, 200, '<html>gateway says hello</html>', ph);
  if (mode === 'cutjson') return answer(sock, 200, json.slice(0, Math.floor(json.length / 2)), ph);
  if (mode === 'short') {
    sock.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-elastic-product: Elasticsearch\r\ncontent-length: ${json.length + 500}\r\n\r\n`);
    sock.end(json);
    return;
  }
  return answer(sock, 200, json, ph);
}

const server = net.createServer((sock) => {
  let buf = Buffer.alloc(0);
  sock.on('error', () => {});
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString().split('\r\n');
      const [method, path] = head[0].split(' ');
      const headers = {};
      for (const l of head.slice(1)) {
        const c = l.indexOf(':');
        headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
      }
      const len = Number(headers['content-length'] || 0);
      if (buf.length < end + 4 + len) return;
      const body = buf.subarray(end + 4, end + 4 + len);
      buf = buf.subarray(end + 4 + len);
      handle(sock, method, path, headers, body);
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
