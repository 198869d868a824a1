// s3rver-run.cjs: runs @20minutes/s3rver (from the repo's node_modules) on 127.0.0.1 with a
// port chosen by the kernel (port 0, so parallel test runs never collide), a data directory
// and buckets created at start. Writes the bound port to --port-file once listening.
// SigV4 signatures are verified (allowMismatchedSignatures stays false); the only account is
// s3rver's built-in S3RVER / S3RVER key pair. Used by scripts/s3rver.sh; see docs/dev-s3.md.
'use strict';
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
function opt(name, def) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}
const dir = opt('--directory');
const portFile = opt('--port-file');
const buckets = (opt('--buckets', 'dip-test') || '').split(',').filter(Boolean);
if (!dir || !portFile) {
  console.error('usage: s3rver-run.cjs --directory DIR --port-file FILE [--buckets a,b]');
  process.exit(2);
}
const repo = path.resolve(__dirname, '..');
const S3rver = require(path.join(repo, 'node_modules', '@20minutes', 's3rver'));

fs.mkdirSync(dir, { recursive: true });
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(opt('--port', '0')),
  silent: process.env.S3RVER_VERBOSE ? false : true,
  directory: dir,
  configureBuckets: buckets.map((name) => ({ name })),
  // s3rver 4 checks SigV4 of virtual-host requests against "/bucket/key" where AWS signs
  // "/key", so virtual-host addressing cannot be verified here: path-style only.
  vhostBuckets: false,
});
server
  .run()
  .then(({ address, port }) => {
    fs.writeFileSync(portFile + '.tmp', String(port) + '\n');
    fs.renameSync(portFile + '.tmp', portFile);
    console.error(`s3rver listening on ${address}:${port} (data in ${dir})`);
  })
  .catch((e) => {
    console.error('s3rver failed to start:', e);
    process.exit(1);
  });
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
