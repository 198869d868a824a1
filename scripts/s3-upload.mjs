// s3-upload.mjs: uploads a local directory tree into s3://bucket/prefix with plain PUT
// requests signed with AWS SigV4 (node:crypto only, no SDK), so tests can populate s3rver
// through its real API. Keys are the relative paths under the directory.
//
//   node scripts/s3-upload.mjs LOCAL_DIR s3://bucket/prefix
//
// Environment: AWS_ENDPOINT_URL (http://127.0.0.1:PORT), AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_REGION (default us-east-1). Path-style addressing.
import { createHash, createHmac } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';

const [localDir, target] = process.argv.slice(2);
if (!localDir || !target || !target.startsWith('s3://')) {
  console.error('usage: s3-upload.mjs LOCAL_DIR s3://bucket/prefix');
  process.exit(2);
}
const endpoint = new URL(process.env.AWS_ENDPOINT_URL || 'http://127.0.0.1:4568');
const accessKey = process.env.AWS_ACCESS_KEY_ID || 'S3RVER';
const secretKey = process.env.AWS_SECRET_ACCESS_KEY || 'S3RVER';
const region = process.env.AWS_REGION || 'us-east-1';
const [bucket, ...rest] = target.slice(5).split('/');
const prefix = rest.filter(Boolean).join('/');

// RFC 3986 unreserved characters stay, everything else is %XX (SigV4's UriEncode)
const enc = (s) =>
  Array.from(Buffer.from(s, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9\-._~]/.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
    })
    .join('');
const hmac = (k, s) => createHmac('sha256', k).update(s).digest();
const sha256hex = (b) => createHash('sha256').update(b).digest('hex');

function walk(dir, rel = '') {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    const r = rel ? rel + '/' + name : name;
    const st = statSync(full);
    if (st.isDirectory()) out.push(...walk(full, r));
    else if (st.isFile()) out.push([full, r]);
  }
  return out;
}

function put(key, body) {
  const now = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const date = now.slice(0, 8);
  const uri = '/' + enc(bucket) + '/' + key.split('/').map(enc).join('/');
  const host = endpoint.host;
  const payloadHash = sha256hex(body);
  const headers = {
    host,
    'x-amz-content-sha256': payloadHash,
    'x-amz-date': now,
  };
  const signed = Object.keys(headers).sort();
  const creq = ['PUT', uri, '', signed.map((h) => `${h}:${headers[h]}\n`).join(''),
    signed.join(';'), payloadHash].join('\n');
  const scope = `${date}/${region}/s3/aws4_request`;
  const sts = ['AWS4-HMAC-SHA256', now, scope, sha256hex(creq)].join('\n');
  const key4 = hmac(hmac(hmac(hmac('AWS4' + secretKey, date), region), 's3'), 'aws4_request');
  const sig = createHmac('sha256', key4).update(sts).digest('hex');
  const auth = `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope},SignedHeaders=${signed.join(';')},Signature=${sig}`;
  const mod = endpoint.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      {
        method: 'PUT',
        hostname: endpoint.hostname,
        port: endpoint.port,
        path: endpoint.pathname.replace(/\/$/, '') + uri,
        headers: { ...headers, authorization: auth, 'content-length': body.length },
        timeout: 30000,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve()
            : reject(new Error(`PUT ${key}: HTTP ${res.statusCode} ${Buffer.concat(chunks)}`)),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error(`PUT ${key}: timeout`)));
    req.on('error', reject);
    req.end(body);
  });
}

const files = walk(localDir);
let next = 0;
async function worker() {
  while (next < files.length) {
    const [full, rel] = files[next++];
    await put(prefix ? prefix + '/' + rel : rel, readFileSync(full));
  }
}
try {
  await Promise.all(Array.from({ length: 8 }, worker));
  console.error(`uploaded ${files.length} files to ${target}`);
} catch (e) {
  console.error(String(e.message || e));
  process.exit(1);
}
