// engine.mjs: the indices and their documents, with the engines' write semantics (versions,
// sequence numbers per shard, tombstones, external versioning, if_seq_no/if_primary_term,
// create/update/delete outcomes), refresh visibility (search sees the last refresh; GET is
// real time), aliases, and persistence: every accepted change is appended to DIR/ops.log with
// one write before the answer leaves (no fsync: the page cache survives a SIGKILL of the
// server, not a machine crash), replayed on start, compacted into DIR/snapshot.log on a clean
// stop.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { EsError, err } from './errors.mjs';
import { normalizeMappings, mergeMappings, flatten, DocParser, applyAdditions } from './mapping.mjs';

const GC_DELETES_MS = 60000; // index.gc_deletes: how long a delete's version is remembered

// A document's source: characters off..off+len of a string (a bulk body that is all ASCII,
// decoded once: offsets in bytes and in characters agree), or bytes off..off+len of a Buffer.
export function srcOf(d) {
  if (d.off === 0 && d.len === d.buf.length) return d.buf;
  return typeof d.buf === 'string' ? d.buf.slice(d.off, d.off + d.len) : d.buf.subarray(d.off, d.off + d.len);
}

// A document's source as a string, for JSON.parse.
export function srcText(d) {
  return typeof d.buf === 'string' ? srcOf(d) : d.buf.toString('utf8', d.off, d.off + d.len);
}

export function newUuid() {
  return crypto.randomBytes(16).toString('base64url').slice(0, 22);
}

// Time-ordered ids like the engines' auto-generated _id: 20 base64url characters.
let idSeq = crypto.randomBytes(3).readUIntBE(0, 3);
const idNode = crypto.randomBytes(6);
export function autoId() {
  const b = Buffer.alloc(15);
  b.writeUIntBE(Date.now(), 0, 6);
  idSeq = (idSeq + 1) & 0xffffff;
  b.writeUIntBE(idSeq, 6, 3);
  idNode.copy(b, 9);
  return b.toString('base64url');
}

// murmur3 x86 32 over the UTF-16LE code units, as Murmur3HashFunction.hash(String) does.
function murmur3(s) {
  const len = s.length * 2;
  let h = 0;
  const mul = Math.imul;
  const word = (i) => (s.charCodeAt(i) & 0xffff) | ((s.charCodeAt(i + 1) & 0xffff) << 16);
  let i = 0;
  for (; i + 1 < s.length; i += 2) {
    let k = word(i);
    k = mul(k, 0xcc9e2d51); k = (k << 15) | (k >>> 17); k = mul(k, 0x1b873593);
    h ^= k; h = (h << 13) | (h >>> 19); h = (mul(h, 5) + 0xe6546b64) | 0;
  }
  if (i < s.length) {
    let k = s.charCodeAt(i) & 0xffff;
    k = mul(k, 0xcc9e2d51); k = (k << 15) | (k >>> 17); k = mul(k, 0x1b873593);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16; h = mul(h, 0x85ebca6b); h ^= h >>> 13; h = mul(h, 0xc2b2ae35); h ^= h >>> 16;
  return h | 0;
}

function routingNumShards(n) {
  // ES 7+: default number of routing shards allows splitting up to 1024 shards
  const log2Num = 32 - Math.clz32(n - 1);
  const splits = Math.max(1, 10 - log2Num);
  return n * (1 << splits) > 1024 && n > 1 ? n : n * (1 << splits);
}

export function shardFor(idx, id, routing) {
  const n = idx.numShards;
  if (n === 1) return 0;
  const h = murmur3(routing != null ? routing : id);
  const rns = idx.routingShards;
  return Math.floor((((h % rns) + rns) % rns) / (rns / n));
}

const INVALID_CHARS = ['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ','];
export function validateIndexName(name) {
  for (const c of INVALID_CHARS) {
    if (name.includes(c)) throw err.invalidIndexName(name, 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]');
  }
  if (name.includes('#')) throw err.invalidIndexName(name, "must not contain '#'");
  if (name.includes(':')) throw err.invalidIndexName(name, "must not contain ':'");
  if (name[0] === '_' || name[0] === '-' || name[0] === '+') throw err.invalidIndexName(name, "must not start with '_', '-', or '+'");
  if (name !== name.toLowerCase()) throw err.invalidIndexName(name, 'must be lowercase');
  if (name === '.' || name === '..') throw err.invalidIndexName(name, "must not be '.' or '..'");
  const bytes = Buffer.byteLength(name);
  if (bytes > 255) throw err.invalidIndexName(name, `index name is too long, (${bytes} > 255)`);
  if (name === '') throw err.invalidIndexName(name, 'must not be empty');
}

// Settings arrive nested ({"index":{"number_of_shards":1}}), flat ("index.number_of_shards")
// or without the prefix; the engines keep them flat with the index. prefix, as strings.
export function flattenSettings(s, prefix = '', out = {}) {
  if (s == null) return out;
  for (const [k, v] of Object.entries(s)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flattenSettings(v, key, out);
    else out[key.startsWith('index.') ? key : `index.${key}`] = Array.isArray(v) ? v.map(String) : String(v);
  }
  return out;
}

export function nestSettings(flat) {
  const out = {};
  for (const [k, v] of Object.entries(flat)) {
    const parts = k.split('.');
    let o = out;
    for (let i = 0; i < parts.length - 1; i++) o = o[parts[i]] = o[parts[i]] || {};
    o[parts[parts.length - 1]] = v;
  }
  return out;
}

// A copy of `s` that holds no other string alive. A bulk's _id is a slice of its decoded
// request body: kept as it is, every stored document would retain its whole bulk body in the
// heap (V8 slices strings of 13 characters or more instead of copying them).
export function ownString(s) {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

export class Index {
  constructor(name, uuid, created, settings, mappings) {
    this.name = name;
    this.uuid = uuid;
    this.created = created;
    this.settings = settings; // flat, strings
    this.mappings = mappings; // normalized
    this.flat = flatten(mappings);
    this.aliases = new Map(); // alias -> {filter, index_routing, search_routing, is_write_index}
    // id -> Doc {id, v, seq, shard, routing, buf, off, len, gen, prev}: the source is off..
    // off+len of buf (see srcOf), usually the bulk body it came in, shared by its documents
    this.docs = new Map();
    this.tomb = new Map(); // id -> {v, seq, shard, t}
    // Refresh visibility: a Doc written after the last refresh (gen > refreshedGen) is not
    // searchable yet; its `prev` is the version search still sees (null: none). Documents
    // deleted since the last refresh stay searchable through `deletedVisible`.
    this.refreshedGen = 0;
    this.lastWriteGen = 0;
    this.withPrev = [];
    this.deletedVisible = new Map();
    this.numShards = Number(settings['index.number_of_shards'] || 1);
    this.routingShards = routingNumShards(this.numShards);
    this.maxSeq = new Array(this.numShards).fill(-1);
    this.sourceBytes = 0;
    this.lastSearch = Date.now();
    this.lastRefresh = Date.now();
  }

  get replicas() {
    return Number(this.settings['index.number_of_replicas'] ?? 1);
  }
}

export class Engine {
  constructor(opts) {
    this.flavour = opts.flavour;
    this.dataDir = opts.dataDir;
    this.indices = new Map();
    this.pipelines = new Map();
    this.logFd = null;
    this.pendingLog = [];
    this.nextBatch = null; // {promise, resolve, reject} for records not handed to the writer yet
    this.writing = null; // the batch being written
    this.logSeq = 0; // records logged so far (a request waits only if it logged something)
    this.gen = 0; // write generation, for refresh visibility
    this.clusterUuid = null;
    this.versionCreated = opts.versionCreated;
  }

  // ---- persistence ----------------------------------------------------------------------

  open() {
    fs.mkdirSync(this.dataDir, { recursive: true });
    const meta = path.join(this.dataDir, 'cluster.json');
    if (fs.existsSync(meta)) this.clusterUuid = JSON.parse(fs.readFileSync(meta, 'utf8')).cluster_uuid;
    else {
      this.clusterUuid = newUuid();
      fs.writeFileSync(meta, JSON.stringify({ cluster_uuid: this.clusterUuid }));
    }
    // Generations make compaction atomic: ops.log starts with {"o":"gen","g":N}, the snapshot
    // with {"o":"snap","g":N} for the ops.log generation it contains. A stop killed between
    // writing the snapshot and starting the next ops.log leaves an ops.log the snapshot
    // already covers, which is then skipped.
    const snapPath = path.join(this.dataDir, 'snapshot.log');
    const opsPath = path.join(this.dataDir, 'ops.log');
    const snapGen = fs.existsSync(snapPath) ? firstRecord(snapPath, 'snap') : -1;
    if (fs.existsSync(snapPath)) this.replayFile(snapPath);
    let opsGen = fs.existsSync(opsPath) ? firstRecord(opsPath, 'gen') : null;
    if (opsGen !== null && opsGen > snapGen) {
      const good = this.replayFile(opsPath);
      // a torn last record (killed in the middle of a write) was never answered: cut it off so
      // the records appended from now on follow a complete one
      if (good < fs.statSync(opsPath).size) fs.truncateSync(opsPath, good);
    } else {
      opsGen = snapGen + 1;
      writeAtomically(opsPath, JSON.stringify({ o: 'gen', g: opsGen }) + '\n');
    }
    this.opsGen = opsGen;
    this.logBytes = fs.statSync(opsPath).size;
    for (const idx of this.indices.values()) this.refreshIndex(idx);
    this.logFd = fs.openSync(opsPath, 'a');
  }

  // Replay a log file in chunks (files can outgrow a single Buffer); returns the length of its
  // complete records.
  replayFile(p) {
    const fd = fs.openSync(p, 'r');
    const CHUNK = 256 * 1024 * 1024;
    let rest = Buffer.alloc(0);
    let consumed = 0; // file offset of rest[0]
    let eof = false;
    try {
      while (!eof) {
        const chunk = Buffer.allocUnsafe(CHUNK);
        let n = 0;
        while (n < CHUNK) {
          const r = fs.readSync(fd, chunk, n, CHUNK - n, consumed + rest.length + n);
          if (r === 0) { eof = true; break; }
          n += r;
        }
        const buf = rest.length ? Buffer.concat([rest, chunk.subarray(0, n)]) : chunk.subarray(0, n);
        const used = this.replay(buf);
        consumed += used;
        rest = buf.subarray(used);
        if (eof) break;
      }
    } finally {
      fs.closeSync(fd);
    }
    return consumed;
  }

  // Apply the complete records at the start of `buf`; returns how many bytes they span.
  replay(buf) {
    let pos = 0;
    while (pos < buf.length) {
      let nl = buf.indexOf(10, pos);
      if (nl < 0) break; // an incomplete line: the next chunk, or a torn last record
      const tab = buf.indexOf(9, pos);
      const headEnd = tab >= 0 && tab < nl ? tab : nl;
      let op;
      try {
        op = JSON.parse(buf.toString('utf8', pos, headEnd));
      } catch {
        break; // only a torn write leaves an unreadable record, and nothing follows it
      }
      if (op.blob !== undefined) {
        // header line, then `blob` raw bytes and a newline; a torn blob was never answered
        const end = nl + 1 + op.blob;
        if (end + 1 > buf.length) break;
        if (buf[end] !== 10) break;
        this.applyLogged(op, buf.subarray(nl + 1, end));
        pos = end + 1;
        continue;
      }
      const src = headEnd < nl ? buf.subarray(headEnd + 1, nl) : null;
      this.applyLogged(op, src);
      pos = nl + 1;
    }
    return pos;
  }

  applyLogged(op, src) {
    switch (op.o) {
      case 'ci': {
        const idx = new Index(op.name, op.uuid, op.created, op.settings, op.mappings);
        for (const [a, d] of Object.entries(op.aliases || {})) idx.aliases.set(a, d);
        this.indices.set(op.name, idx);
        break;
      }
      case 'di': this.indices.delete(op.name); break;
      case 'map': {
        const idx = this.indices.get(op.x);
        if (idx) { idx.mappings = op.mappings; idx.flat = flatten(idx.mappings); }
        break;
      }
      case 'set': {
        const idx = this.indices.get(op.x);
        if (idx) Object.assign(idx.settings, op.settings);
        break;
      }
      case 'al': {
        for (const [name, aliases] of Object.entries(op.indices)) {
          const idx = this.indices.get(name);
          if (!idx) continue;
          idx.aliases = new Map(Object.entries(aliases));
        }
        break;
      }
      case 'pipe':
        if (op.def) this.pipelines.set(op.id, op.def); else this.pipelines.delete(op.id);
        break;
      case 'i': {
        const idx = this.indices.get(op.x);
        if (!idx) break;
        this.replayIndex(idx, op.id, op.v, op.s, op.sh, op.r ?? null, src, 0, src.length);
        if (op.m) applyAdditions(idx, new Map(op.m));
        break;
      }
      case 'bulk': {
        // one bulk request: the ops refer to byte ranges of the request body logged after
        for (const [kind, x, id, v, s, sh, r, a, b, t] of op.ops) {
          const idx = this.indices.get(x);
          if (!idx) continue;
          if (kind === 'd') this.replayDelete(idx, id, v, s, sh, t);
          else if (kind === 'j') { const jb = Buffer.from(a); this.replayIndex(idx, id, v, s, sh, r, jb, 0, jb.length); }
          else this.replayIndex(idx, id, v, s, sh, r, src, a, b - a);
        }
        for (const [x, m] of op.maps || []) {
          const idx = this.indices.get(x);
          if (idx) applyAdditions(idx, new Map(m));
        }
        break;
      }
      case 'd': {
        const idx = this.indices.get(op.x);
        if (!idx) break;
        this.replayDelete(idx, op.id, op.v, op.s, op.sh, op.t);
        break;
      }
      case 'seq': {
        // a sequence number consumed without a document change (a noop is not logged; a
        // delete of a missing document is logged as 'd')
        const idx = this.indices.get(op.x);
        if (idx && op.s > idx.maxSeq[op.sh]) idx.maxSeq[op.sh] = op.s;
        break;
      }
      default:
        break;
    }
  }

  replayIndex(idx, id, v, seq, shard, routing, buf, off, len) {
    const old = idx.docs.get(id);
    if (old) { idx.sourceBytes -= old.len; idx.docs.delete(id); }
    idx.docs.set(id, { id, v, seq, shard, routing, buf, off, len, gen: 0, prev: null });
    idx.tomb.delete(id);
    idx.sourceBytes += len;
    if (seq > idx.maxSeq[shard]) idx.maxSeq[shard] = seq;
  }

  replayDelete(idx, id, v, seq, shard, t) {
    const old = idx.docs.get(id);
    if (old) { idx.sourceBytes -= old.len; idx.docs.delete(id); }
    idx.tomb.set(id, { v, seq, shard, t });
    if (seq > idx.maxSeq[shard]) idx.maxSeq[shard] = seq;
  }

  // A bulk request's log record: one header with every applied operation (sources as byte
  // ranges of the body) followed by the body itself, so a bulk costs one copy, not one record
  // per document. `ops` entries: ['i'|'d', index, id, version, seq, shard, routing, start, end, t].
  logBulk(ops, maps, body) {
    this.logSeq++;
    const head = JSON.stringify({ o: 'bulk', ops, maps: maps.length ? maps : undefined, blob: body.length });
    this.pendingLog.push(head + '\n');
    this.pendingLog.push(body);
    this.pendingLog.push('\n');
  }

  // Queue a log record (head object + optional raw source); flushLog writes them.
  log(head, src) {
    this.logSeq++;
    const h = JSON.stringify(head);
    if (src == null) this.pendingLog.push(h + '\n');
    else {
      this.pendingLog.push(h + '\t');
      this.pendingLog.push(src);
      this.pendingLog.push('\n');
    }
  }

  // Start writing what was logged (group commit: one writev at a time, in log order, each
  // taking everything queued meanwhile). Returns a promise settled once every record logged so
  // far is in the file (the page cache: no fsync), or null when nothing is outstanding. The
  // server answers a request only after its records are written.
  flushLog() {
    if (this.pendingLog.length) {
      if (!this.nextBatch) {
        let resolve, reject;
        const promise = new Promise((a, b) => { resolve = a; reject = b; });
        this.nextBatch = { promise, resolve, reject };
      }
      const p = this.nextBatch.promise;
      if (!this.writing) this.startWrite();
      return p;
    }
    return this.writing ? this.writing.promise : null;
  }

  startWrite() {
    const bufs = [];
    let text = '';
    for (const p of this.pendingLog) {
      if (typeof p === 'string') text += p;
      else {
        if (text) { bufs.push(Buffer.from(text)); text = ''; }
        if (p.length) bufs.push(p);
      }
    }
    if (text) bufs.push(Buffer.from(text));
    for (const b of bufs) this.logBytes += b.length;
    this.pendingLog = [];
    const batch = this.nextBatch;
    this.nextBatch = null;
    this.writing = batch;
    const done = (e) => {
      this.writing = null;
      if (e) batch.reject(e); else batch.resolve();
      if (this.pendingLog.length) this.startWrite();
    };
    const writeFrom = (list) => {
      fs.writev(this.logFd, list, (e, n) => {
        if (e) return done(e);
        // a short write continues where it stopped
        let rest = n;
        const left = [];
        for (const b of list) {
          if (rest >= b.length) { rest -= b.length; continue; }
          left.push(rest > 0 ? b.subarray(rest) : b);
          rest = 0;
        }
        if (left.length) writeFrom(left); else done(null);
      });
    };
    writeFrom(bufs);
  }

  // Wait for every outstanding write (clean stop).
  async drain() {
    for (;;) {
      const p = this.flushLog();
      if (!p) return;
      await p;
    }
  }

  // Synchronous variant for the replay/compaction paths.
  flushLogSync() {
    if (this.pendingLog.length === 0) return;
    const parts = this.pendingLog.map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
    this.pendingLog = [];
    const b = Buffer.concat(parts);
    let off = 0;
    while (off < b.length) off += fs.writeSync(this.logFd, b, off);
  }

  // Worth compacting: the log holds much more than the live documents (overwrites, deletes,
  // deleted indices). A log of mostly fresh documents replays as fast as a snapshot would, so
  // a clean stop after a bulk load exits at once.
  worthCompacting() {
    let live = 0;
    for (const idx of this.indices.values()) live += idx.sourceBytes;
    return this.logBytes > 2 * live + 64 * 1024 * 1024;
  }

  // Clean stop: write the live state as a snapshot and empty the operations log.
  compact() {
    const tmp = path.join(this.dataDir, 'snapshot.log.tmp');
    const fd = fs.openSync(tmp, 'w');
    const chunks = [];
    let size = 0;
    const flush = () => {
      if (!chunks.length) return;
      const b = Buffer.concat(chunks);
      let off = 0;
      while (off < b.length) off += fs.writeSync(fd, b, off);
      chunks.length = 0;
      size = 0;
    };
    const put = (x) => { const b = typeof x === 'string' ? Buffer.from(x) : x; chunks.push(b); size += b.length; if (size > 8 << 20) flush(); };
    put(JSON.stringify({ o: 'snap', g: this.opsGen }) + '\n');
    for (const [id, def] of this.pipelines) put(JSON.stringify({ o: 'pipe', id, def }) + '\n');
    for (const idx of this.indices.values()) {
      put(JSON.stringify({ o: 'ci', name: idx.name, uuid: idx.uuid, created: idx.created, settings: idx.settings, mappings: idx.mappings, aliases: Object.fromEntries(idx.aliases) }) + '\n');
      for (let s = 0; s < idx.numShards; s++) if (idx.maxSeq[s] >= 0) put(JSON.stringify({ o: 'seq', x: idx.name, s: idx.maxSeq[s], sh: s }) + '\n');
      for (const [id, t] of idx.tomb) put(JSON.stringify({ o: 'd', x: idx.name, id, v: t.v, s: t.seq, sh: t.shard, t: t.t }) + '\n');
      for (const d of idx.docs.values()) {
        put(JSON.stringify({ o: 'i', x: idx.name, id: d.id, v: d.v, s: d.seq, sh: d.shard, r: d.routing ?? undefined }) + '\t');
        put(srcOf(d));
        put('\n');
      }
    }
    flush();
    fs.closeSync(fd);
    fs.renameSync(tmp, path.join(this.dataDir, 'snapshot.log'));
    fs.closeSync(this.logFd);
    this.opsGen++;
    writeAtomically(path.join(this.dataDir, 'ops.log'), JSON.stringify({ o: 'gen', g: this.opsGen }) + '\n');
    this.logFd = fs.openSync(path.join(this.dataDir, 'ops.log'), 'a');
    this.logBytes = 0;
  }

  // ---- indices ---------------------------------------------------------------------------

  createIndex(name, body = {}, { includeTypeName = false } = {}) {
    validateIndexName(name);
    if (this.indices.has(name)) throw err.alreadyExists(this.indices.get(name));
    for (const idx of this.indices.values()) {
      if (idx.aliases.has(name)) throw new EsError(400, 'invalid_index_name_exception', `Invalid index name [${name}], already exists as alias`, { index_uuid: '_na_', index: name });
    }
    const known = new Set(['settings', 'mappings', 'aliases']);
    for (const k of Object.keys(body || {})) {
      if (!known.has(k)) {
        // the engines read unknown top-level keys as settings? no: they refuse them
        throw new EsError(400, 'parse_exception', `unknown key [${k}] for create index`);
      }
    }
    const settings = flattenSettings(body.settings || {});
    checkSettingNames(this.flavour, settings);
    const shards = Number(settings['index.number_of_shards'] || 1);
    if (!Number.isInteger(shards) || shards < 1 || shards > 1024) {
      throw err.illegalArg(`Failed to parse value [${settings['index.number_of_shards']}] for setting [index.number_of_shards] must be >= 1`);
    }
    const reps = Number(settings['index.number_of_replicas'] ?? 1);
    if (!Number.isInteger(reps) || reps < 0) throw err.illegalArg(`Failed to parse value [${settings['index.number_of_replicas']}] for setting [index.number_of_replicas] must be >= 0`);
    settings['index.number_of_shards'] = String(shards);
    settings['index.number_of_replicas'] = String(reps);
    const mappings = normalizeMappings(this.flavour, body.mappings, { includeTypeName });
    const aliases = new Map();
    for (const [a, d] of Object.entries(body.aliases || {})) {
      validateAliasName(a);
      if (this.indices.has(a)) throw new EsError(400, 'invalid_alias_name_exception', `Invalid alias name [${a}]: an index or data stream exists with the same name as the alias`, { index_uuid: '_na_', index: a });
      aliases.set(a, aliasDef(d || {}));
    }
    const created = Date.now();
    const full = {
      'index.creation_date': String(created),
      'index.number_of_shards': settings['index.number_of_shards'],
      'index.number_of_replicas': settings['index.number_of_replicas'],
      'index.uuid': newUuid(),
      'index.version.created': this.versionCreated,
      'index.provided_name': name,
      ...settings,
    };
    if (this.flavour === 'es8') full['index.routing.allocation.include._tier_preference'] = full['index.routing.allocation.include._tier_preference'] || 'data_content';
    const idx = new Index(name, full['index.uuid'], created, full, mappings);
    idx.aliases = aliases;
    this.indices.set(name, idx);
    this.log({ o: 'ci', name, uuid: idx.uuid, created, settings: full, mappings, aliases: Object.fromEntries(aliases) });
    return idx;
  }

  deleteIndex(idx) {
    this.indices.delete(idx.name);
    this.log({ o: 'di', name: idx.name });
  }

  putMapping(idx, body) {
    const upd = normalizeMappings(this.flavour, body);
    const copy = structuredClone(idx.mappings);
    mergeMappings(copy, upd);
    idx.mappings = copy;
    idx.flat = flatten(copy);
    this.log({ o: 'map', x: idx.name, mappings: copy });
  }

  putSettings(idx, body) {
    const s = flattenSettings(body.settings || body);
    checkSettingNames(this.flavour, s);
    for (const k of Object.keys(s)) {
      if (k === 'index.number_of_shards') throw err.illegalArg(`final ${idx.name} setting [index.number_of_shards], not updateable`);
    }
    Object.assign(idx.settings, s);
    this.log({ o: 'set', x: idx.name, settings: s });
  }

  logAliases(names) {
    const indices = {};
    for (const n of names) {
      const idx = this.indices.get(n);
      if (idx) indices[n] = Object.fromEntries(idx.aliases);
    }
    this.log({ o: 'al', indices });
  }

  // Resolve an expression (comma list, wildcards, aliases, _all) to indices.
  // opts: {allowNoIndices, ignoreUnavailable, expandWildcards}
  // `filters` (optional Map): filled with index name -> null when the index was named (or
  // reached through an alias without a filter), else the list of alias filters that reached it.
  resolve(expr, { ignoreUnavailable = false, allowNoIndices = true, filters = null } = {}) {
    const out = new Map();
    const direct = (name) => { if (filters) filters.set(name, null); };
    const viaAlias = (i, a) => {
      if (!filters) return;
      const f = i.aliases.get(a).filter;
      if (!f) { filters.set(i.name, null); return; }
      if (!filters.has(i.name)) filters.set(i.name, [f]);
      else if (filters.get(i.name)) filters.get(i.name).push(f);
    };
    if (expr == null || expr === '' || expr === '_all' || expr === '*') {
      for (const idx of this.indices.values()) { out.set(idx.name, idx); direct(idx.name); }
      if (!out.size && !allowNoIndices) throw err.indexNotFound(expr || '_all');
      return [...out.values()];
    }
    for (let part of expr.split(',')) {
      let exclude = false;
      if (part.startsWith('-') && out.size) { exclude = true; part = part.slice(1); }
      if (part.includes('*')) {
        const re = new RegExp('^' + part.split('*').map(escapeRe).join('.*') + '$');
        let any = false;
        for (const idx of this.indices.values()) {
          if (idx.name.startsWith('.') && !part.startsWith('.')) continue;
          if (re.test(idx.name)) { any = true; if (exclude) out.delete(idx.name); else { out.set(idx.name, idx); direct(idx.name); } }
          for (const a of idx.aliases.keys()) if (re.test(a)) { any = true; if (exclude) out.delete(idx.name); else { out.set(idx.name, idx); viaAlias(idx, a); } }
        }
        if (!any && !allowNoIndices) throw err.indexNotFound(part);
        continue;
      }
      const idx = this.indices.get(part);
      if (idx) { if (exclude) out.delete(part); else { out.set(part, idx); direct(part); } continue; }
      let any = false;
      for (const i of this.indices.values()) if (i.aliases.has(part)) { any = true; if (exclude) out.delete(i.name); else { out.set(i.name, i); viaAlias(i, part); } }
      if (!any && !ignoreUnavailable) throw err.indexNotFound(part);
    }
    return [...out.values()];
  }

  // The single index a write to `name` goes to (an index, or an alias with one write index).
  writeIndex(name) {
    const idx = this.indices.get(name);
    if (idx) return idx;
    const holders = [...this.indices.values()].filter((i) => i.aliases.has(name));
    if (holders.length === 0) return null;
    if (holders.length === 1 && holders[0].aliases.get(name).is_write_index !== false) return holders[0];
    const w = holders.filter((i) => i.aliases.get(name).is_write_index === true);
    if (w.length === 1) return w[0];
    throw err.illegalArg(`no write index is defined for alias [${name}]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index`);
  }

  isAlias(name) {
    for (const i of this.indices.values()) if (i.aliases.has(name)) return true;
    return false;
  }

  // ---- documents -------------------------------------------------------------------------

  currentState(idx, id) {
    const d = idx.docs.get(id);
    if (d) return { doc: d, version: d.v, seq: d.seq, deleted: false };
    const t = idx.tomb.get(id);
    if (t && Date.now() - t.t < GC_DELETES_MS) return { doc: null, version: t.v, seq: t.seq, deleted: true, tomb: t };
    if (t) idx.tomb.delete(id);
    return { doc: null, version: -1, seq: -2, deleted: true };
  }

  nextSeq(idx, shard) {
    return ++idx.maxSeq[shard];
  }

  // Check optimistic concurrency control and external versions; returns the new version or
  // throws version_conflict_engine_exception with the engines' texts.
  planVersion(idx, op, id, st, isDelete) {
    const conflict = (text) => new EsError(409, 'version_conflict_engine_exception', `[${id}]: version conflict, ${text}`, { index_uuid: idx.uuid, shard: String(shardFor(idx, id, op.routing)), index: idx.name });
    if (op.ifSeqNo != null) {
      if (st.deleted) {
        throw conflict(`required seqNo [${op.ifSeqNo}], primary term [${op.ifPrimaryTerm}] but no document was found`);
      }
      if (st.seq !== op.ifSeqNo || op.ifPrimaryTerm !== 1) {
        throw conflict(`required seqNo [${op.ifSeqNo}], primary term [${op.ifPrimaryTerm}]. current document has seqNo [${st.seq}] and primary term [1]`);
      }
    }
    const vt = op.versionType || 'internal';
    if (vt === 'external' || vt === 'external_gt') {
      if (!st.deleted || st.tomb) {
        if (st.version >= op.version) {
          throw conflict(`current version [${st.version}] is higher or the same as provided version [${op.version}]`);
        }
      }
      return op.version;
    }
    if (vt === 'external_gte') {
      if (!st.deleted || st.tomb) {
        if (st.version > op.version) throw conflict(`current version [${st.version}] is higher than provided version [${op.version}]`);
      }
      return op.version;
    }
    if (op.version != null) {
      // internal versioning with an explicit version: only deletes and plain index calls
      // reach here (validation refused the rest)
      if (st.deleted && !isDelete) throw conflict(`current version [${st.version < 0 ? -1 : st.version}] is different than the one provided [${op.version}]`);
      if (st.version !== op.version) throw conflict(`current version [${st.version}] is different than the one provided [${op.version}]`);
    }
    return st.version < 0 ? 1 : st.version + 1;
  }

  // index / create: returns {result, v, seq, shard, status} or throws an item error
  // The source is bytes off..off+len of buf; a bulk passes its body (logged once, the document
  // as a byte range of it), other writes a buffer of their own. The document keeps the bulk's
  // decoded text (bulkLog.text) rather than its bytes when the body is all ASCII: the body's
  // buffer is then free for the next request (see readBody in server.mjs).
  indexDoc(idx, op, id, buf, off, len, obj, parser, bulkLog = null) {
    const st = this.currentState(idx, id);
    if (op.opType === 'create' && !st.deleted) {
      throw new EsError(409, 'version_conflict_engine_exception', `[${id}]: version conflict, document already exists (current version [${st.version}])`, { index_uuid: idx.uuid, shard: String(st.doc.shard), index: idx.name });
    }
    const v = this.planVersion(idx, op, id, st, false);
    const added = parser.parse(id, buf, obj, off, len);
    if (added) applyAdditions(idx, added);
    const shard = shardFor(idx, id, op.routing);
    const seq = this.nextSeq(idx, shard);
    const gen = ++this.gen;
    idx.lastWriteGen = gen;
    const inBody = bulkLog !== null && buf === bulkLog.body;
    const store = inBody && bulkLog.text !== null ? bulkLog.text : buf;
    const doc = { id: ownString(id), v, seq, shard, routing: op.routing ?? null, buf: store, off, len, gen, prev: null };
    const old = st.doc || idx.deletedVisible.get(id) || null;
    if (old) {
      doc.prev = old.gen <= idx.refreshedGen ? old : old.prev;
      if (doc.prev) idx.withPrev.push(doc);
      idx.deletedVisible.delete(id);
    }
    if (st.doc) { idx.sourceBytes -= st.doc.len; idx.docs.delete(id); }
    idx.docs.set(doc.id, doc);
    idx.tomb.delete(id);
    idx.sourceBytes += len;
    if (inBody) {
      bulkLog.ops.push(['i', idx.name, id, v, seq, shard, op.routing ?? null, off, off + len]);
      if (added) bulkLog.maps.push([idx.name, [...added]]);
    } else if (bulkLog) {
      // a source not in the request body (an update's merged document, a pipeline's output)
      bulkLog.ops.push(['j', idx.name, id, v, seq, shard, op.routing ?? null, buf.toString('utf8', off, off + len)]);
      if (added) bulkLog.maps.push([idx.name, [...added]]);
    } else {
      this.log({ o: 'i', x: idx.name, id, v, s: seq, sh: shard, r: op.routing ?? undefined, m: added ? [...added] : undefined }, srcOf(doc));
    }
    const created = st.deleted;
    return { result: created ? 'created' : 'updated', status: created ? 201 : 200, v, seq, shard };
  }

  deleteDoc(idx, op, id, bulkLog = null) {
    const st = this.currentState(idx, id);
    const v = this.planVersion(idx, op, id, st, true);
    const shard = shardFor(idx, id, op.routing);
    const seq = this.nextSeq(idx, shard);
    const t = Date.now();
    idx.lastWriteGen = ++this.gen;
    if (st.doc) {
      const visible = st.doc.gen <= idx.refreshedGen ? st.doc : st.doc.prev;
      if (visible) idx.deletedVisible.set(id, visible);
      idx.sourceBytes -= st.doc.len;
      idx.docs.delete(id);
    }
    idx.tomb.set(ownString(id), { v, seq, shard, t });
    if (bulkLog) bulkLog.ops.push(['d', idx.name, id, v, seq, shard, null, 0, 0, t]);
    else this.log({ o: 'd', x: idx.name, id, v, s: seq, sh: shard, t });
    const found = !st.deleted;
    return { result: found ? 'deleted' : 'not_found', status: found ? 200 : 404, v, seq, shard };
  }

  getDoc(idx, id, routing) {
    const d = idx.docs.get(id);
    if (!d) return null;
    if (routing != null && idx.numShards > 1 && shardFor(idx, id, routing) !== d.shard) return null;
    return d;
  }

  // ---- refresh and the searchable view -----------------------------------------------------

  pendingRefresh(idx) {
    return idx.lastWriteGen > idx.refreshedGen;
  }

  refreshIndex(idx) {
    idx.refreshedGen = this.gen;
    idx.lastWriteGen = this.gen;
    for (const d of idx.withPrev) d.prev = null;
    idx.withPrev = [];
    idx.deletedVisible.clear();
    idx.lastRefresh = Date.now();
  }

  // A search (or count) on a search-idle index (not searched for 30 s, so its scheduled
  // refreshes were skipped) refreshes it first, as the engines do.
  searched(idx) {
    if (Date.now() - idx.lastSearch > 30000 && this.pendingRefresh(idx)) this.refreshIndex(idx);
    idx.lastSearch = Date.now();
  }

  // The documents search sees (as of the last refresh), in _doc order (shard, then seq).
  visibleDocs(idx) {
    this.searched(idx);
    const out = [];
    const g = idx.refreshedGen;
    let reordered = false;
    for (const d of idx.docs.values()) {
      if (d.gen <= g) out.push(d);
      else if (d.prev) { out.push(d.prev); reordered = true; }
    }
    for (const d of idx.deletedVisible.values()) { out.push(d); reordered = true; }
    if (reordered) out.sort((a, b) => a.shard - b.shard || a.seq - b.seq);
    else if (idx.numShards > 1) {
      // the map keeps write order, which is seq order within each shard: group by shard
      const by = Array.from({ length: idx.numShards }, () => []);
      for (const d of out) by[d.shard].push(d);
      return by.flat();
    }
    return out;
  }

  visibleCount(idx) {
    if (!this.pendingRefresh(idx) && idx.deletedVisible.size === 0) return idx.docs.size;
    const g = idx.refreshedGen;
    let n = idx.deletedVisible.size;
    for (const d of idx.docs.values()) if (d.gen <= g || d.prev) n++;
    return n;
  }

  // Deleted documents not merged away yet (docs.deleted of _cat/indices): deletes since the
  // last refresh, an approximation of Lucene's merge policy.
  deletedCount(idx) {
    return idx.deletedVisible.size;
  }
}

// Index settings the engines know (exact keys and prefixes of groups); anything else is
// refused like AbstractScopedSettings.validate does, with its did-you-mean.
const KNOWN_SETTINGS = ['number_of_shards', 'number_of_replicas', 'refresh_interval', 'max_result_window',
  'max_inner_result_window', 'max_rescore_window', 'max_docvalue_fields_search', 'max_script_fields', 'max_ngram_diff',
  'max_shingle_diff', 'max_terms_count', 'max_regex_length', 'max_refresh_listeners', 'max_slices_per_scroll',
  'auto_expand_replicas', 'codec', 'default_pipeline', 'final_pipeline', 'hidden', 'priority', 'gc_deletes',
  'number_of_routing_shards', 'routing_partition_size', 'load_fixed_bitset_filters_eagerly', 'mode',
  'creation_date', 'uuid', 'provided_name', 'version.created', 'format', 'search.idle.after', 'knn',
  'blocks.read_only', 'blocks.read_only_allow_delete', 'blocks.read', 'blocks.write', 'blocks.metadata',
  'mapping.total_fields.limit', 'mapping.depth.limit', 'mapping.nested_fields.limit', 'mapping.nested_objects.limit',
  'mapping.field_name_length.limit', 'mapping.coerce', 'mapping.ignore_malformed', 'shard.check_on_startup',
  'write.wait_for_active_shards', 'unassigned.node_left.delayed_timeout', 'soft_deletes.enabled',
  'soft_deletes.retention_lease.period', 'translog.durability', 'translog.sync_interval', 'translog.flush_threshold_size',
  'query.default_field', 'highlight.max_analyzed_offset', 'requests.cache.enable'];
const KNOWN_PREFIXES = ['analysis.', 'similarity.', 'routing.', 'sort.', 'store.', 'merge.', 'lifecycle.', 'indexing.',
  'search.slowlog.', 'indexing.slowlog.', 'blocks.', 'mapping.', 'translog.', 'query.', 'version.', 'knn.', 'plugins.',
  'replication.', 'remote_store.', 'time_series.', 'look_ahead_time', 'frozen', 'verified_before_close', 'resize.',
  'shrink.', 'allocation.', 'queries.', 'fielddata.'];
const KNOWN_FULL = new Set(KNOWN_SETTINGS.map((k) => `index.${k}`));

// Similarity as Lucene's LevenshteinDistance: 1 - distance / max(length) (the engines'
// did-you-mean suggestions for settings and URL parameters).
export function similarity(a, b) {
  const m = a.length, n = b.length;
  if (!m || !n) return 0;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return 1 - prev[n] / Math.max(m, n);
}

function checkSettingNames(flavour, flat) {
  for (const key of Object.keys(flat)) {
    if (KNOWN_FULL.has(key)) continue;
    const rest = key.slice('index.'.length);
    if (KNOWN_PREFIXES.some((p) => rest.startsWith(p))) continue;
    const close = [...KNOWN_FULL].map((k) => [k, similarity(key, k)]).filter(([, d]) => d > 0.7).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([k]) => k);
    let msg = `unknown setting [${key}]`;
    if (close.length) msg += ` did you mean ${close.length === 1 ? `[${close[0]}]` : `any of [${close.join(', ')}]`}?`;
    else msg += ' please check that any required plugins are installed, or check the breaking changes documentation for removed settings';
    throw err.illegalArg(msg);
  }
}

// The generation in a log's first record ({"o": kind, "g": N}); 0 for a log without one.
function firstRecord(p, kind) {
  const fd = fs.openSync(p, 'r');
  try {
    const b = Buffer.alloc(256);
    const n = fs.readSync(fd, b, 0, 256, 0);
    const nl = b.subarray(0, n).indexOf(10);
    if (nl < 0) return 0;
    const r = JSON.parse(b.toString('utf8', 0, nl));
    return r.o === kind && Number.isInteger(r.g) ? r.g : 0;
  } catch {
    return 0;
  } finally {
    fs.closeSync(fd);
  }
}

function writeAtomically(p, text) {
  fs.writeFileSync(p + '.tmp', text);
  fs.renameSync(p + '.tmp', p);
}

export function validateAliasName(a) {
  try {
    validateIndexName(a);
  } catch (e) {
    e.type = 'invalid_alias_name_exception';
    e.reason = e.reason.replace('Invalid index name', 'Invalid alias name');
    throw e;
  }
}

export function aliasDef(d) {
  const o = {};
  if (d.filter) o.filter = d.filter;
  if (d.routing != null) { o.index_routing = String(d.routing); o.search_routing = String(d.routing); }
  if (d.index_routing != null) o.index_routing = String(d.index_routing);
  if (d.search_routing != null) o.search_routing = String(d.search_routing);
  if (d.is_write_index != null) o.is_write_index = d.is_write_index === true || d.is_write_index === 'true';
  if (d.is_hidden != null) o.is_hidden = !!d.is_hidden;
  return o;
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
