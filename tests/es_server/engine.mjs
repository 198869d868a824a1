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

export class Index {
  constructor(name, uuid, created, settings, mappings) {
    this.name = name;
    this.uuid = uuid;
    this.created = created;
    this.settings = settings; // flat, strings
    this.mappings = mappings; // normalized
    this.flat = flatten(mappings);
    this.aliases = new Map(); // alias -> {filter, index_routing, search_routing, is_write_index}
    this.docs = new Map(); // id -> Doc {id, v, seq, shard, routing, src: Buffer|string}
    this.tomb = new Map(); // id -> {v, seq, shard, t}
    this.prev = new Map(); // id -> state at the last refresh (Doc or null) for ids changed since
    this.numShards = Number(settings['index.number_of_shards'] || 1);
    this.routingShards = routingNumShards(this.numShards);
    this.maxSeq = new Array(this.numShards).fill(-1);
    this.sourceBytes = 0;
    this.deletedSinceRefresh = 0;
    this.lastSearch = Date.now();
    this.generation = 0; // bumped on refresh
    this.visibleCount = 0;
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
    for (const f of ['snapshot.log', 'ops.log']) {
      const p = path.join(this.dataDir, f);
      if (fs.existsSync(p)) this.replay(fs.readFileSync(p));
    }
    this.logFd = fs.openSync(path.join(this.dataDir, 'ops.log'), 'a');
  }

  replay(buf) {
    let pos = 0;
    while (pos < buf.length) {
      let nl = buf.indexOf(10, pos);
      if (nl < 0) break; // a torn last line (crash mid-write) is ignored: it was never answered
      const tab = buf.indexOf(9, pos);
      const headEnd = tab >= 0 && tab < nl ? tab : nl;
      let op;
      try {
        op = JSON.parse(buf.toString('utf8', pos, headEnd));
      } catch {
        pos = nl + 1;
        continue;
      }
      const src = headEnd < nl ? buf.subarray(headEnd + 1, nl) : null;
      this.applyLogged(op, src);
      pos = nl + 1;
    }
    for (const idx of this.indices.values()) this.refreshIndex(idx);
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
        const doc = { id: op.id, v: op.v, seq: op.s, shard: op.sh, routing: op.r ?? null, src };
        const old = idx.docs.get(op.id);
        if (old) idx.sourceBytes -= old.src.length;
        idx.docs.delete(op.id);
        idx.docs.set(op.id, doc);
        idx.tomb.delete(op.id);
        idx.sourceBytes += src.length;
        if (op.s > idx.maxSeq[op.sh]) idx.maxSeq[op.sh] = op.s;
        if (op.m) applyAdditions(idx, new Map(op.m));
        break;
      }
      case 'd': {
        const idx = this.indices.get(op.x);
        if (!idx) break;
        const old = idx.docs.get(op.id);
        if (old) { idx.sourceBytes -= old.src.length; idx.docs.delete(op.id); }
        idx.tomb.set(op.id, { v: op.v, seq: op.s, shard: op.sh, t: op.t });
        if (op.s > idx.maxSeq[op.sh]) idx.maxSeq[op.sh] = op.s;
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

  // Queue a log record (head object + optional raw source); flushLog writes them all at once.
  log(head, src) {
    const h = JSON.stringify(head);
    if (src == null) this.pendingLog.push(h + '\n');
    else {
      this.pendingLog.push(h + '\t');
      this.pendingLog.push(src);
      this.pendingLog.push('\n');
    }
  }

  flushLog() {
    if (this.pendingLog.length === 0) return;
    const parts = this.pendingLog.map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
    this.pendingLog = [];
    const b = Buffer.concat(parts);
    let off = 0;
    while (off < b.length) off += fs.writeSync(this.logFd, b, off);
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
    for (const [id, def] of this.pipelines) put(JSON.stringify({ o: 'pipe', id, def }) + '\n');
    for (const idx of this.indices.values()) {
      put(JSON.stringify({ o: 'ci', name: idx.name, uuid: idx.uuid, created: idx.created, settings: idx.settings, mappings: idx.mappings, aliases: Object.fromEntries(idx.aliases) }) + '\n');
      for (let s = 0; s < idx.numShards; s++) if (idx.maxSeq[s] >= 0) put(JSON.stringify({ o: 'seq', x: idx.name, s: idx.maxSeq[s], sh: s }) + '\n');
      for (const [id, t] of idx.tomb) put(JSON.stringify({ o: 'd', x: idx.name, id, v: t.v, s: t.seq, sh: t.shard, t: t.t }) + '\n');
      for (const d of idx.docs.values()) {
        put(JSON.stringify({ o: 'i', x: idx.name, id: d.id, v: d.v, s: d.seq, sh: d.shard, r: d.routing ?? undefined }) + '\t');
        put(d.src);
        put('\n');
      }
    }
    flush();
    fs.closeSync(fd);
    fs.renameSync(tmp, path.join(this.dataDir, 'snapshot.log'));
    fs.closeSync(this.logFd);
    fs.writeFileSync(path.join(this.dataDir, 'ops.log'), '');
    this.logFd = fs.openSync(path.join(this.dataDir, 'ops.log'), 'a');
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
  resolve(expr, { ignoreUnavailable = false, allowNoIndices = true } = {}) {
    const out = new Map();
    if (expr == null || expr === '' || expr === '_all' || expr === '*') {
      for (const idx of this.indices.values()) out.set(idx.name, idx);
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
          if (re.test(idx.name)) { any = true; exclude ? out.delete(idx.name) : out.set(idx.name, idx); }
          for (const a of idx.aliases.keys()) if (re.test(a)) { any = true; exclude ? out.delete(idx.name) : out.set(idx.name, idx); }
        }
        if (!any && !allowNoIndices) throw err.indexNotFound(part);
        continue;
      }
      const idx = this.indices.get(part);
      if (idx) { exclude ? out.delete(part) : out.set(part, idx); continue; }
      let any = false;
      for (const i of this.indices.values()) if (i.aliases.has(part)) { any = true; exclude ? out.delete(i.name) : out.set(i.name, i); }
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

  rememberPrev(idx, id, old) {
    if (!idx.prev.has(id)) idx.prev.set(id, old || null);
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
  indexDoc(idx, op, id, srcBuf, obj, parser) {
    const st = this.currentState(idx, id);
    if (op.opType === 'create' && !st.deleted) {
      throw new EsError(409, 'version_conflict_engine_exception', `[${id}]: version conflict, document already exists (current version [${st.version}])`, { index_uuid: idx.uuid, shard: String(st.doc.shard), index: idx.name });
    }
    const v = this.planVersion(idx, op, id, st, false);
    const added = parser.parse(id, typeof srcBuf === 'string' ? srcBuf : srcBuf.toString('utf8'), obj);
    if (added) applyAdditions(idx, added);
    const shard = shardFor(idx, id, op.routing);
    const seq = this.nextSeq(idx, shard);
    const doc = { id, v, seq, shard, routing: op.routing ?? null, src: srcBuf };
    this.rememberPrev(idx, id, st.doc);
    if (st.doc) { idx.sourceBytes -= st.doc.src.length; idx.docs.delete(id); }
    idx.docs.set(id, doc);
    idx.tomb.delete(id);
    idx.sourceBytes += srcBuf.length;
    this.log({ o: 'i', x: idx.name, id, v, s: seq, sh: shard, r: op.routing ?? undefined, m: added ? [...added] : undefined }, srcBuf);
    const created = st.deleted;
    return { result: created ? 'created' : 'updated', status: created ? 201 : 200, v, seq, shard };
  }

  deleteDoc(idx, op, id) {
    const st = this.currentState(idx, id);
    const v = this.planVersion(idx, op, id, st, true);
    const shard = shardFor(idx, id, op.routing);
    const seq = this.nextSeq(idx, shard);
    const t = Date.now();
    if (st.doc) {
      this.rememberPrev(idx, id, st.doc);
      idx.sourceBytes -= st.doc.src.length;
      idx.docs.delete(id);
      idx.deletedSinceRefresh++;
    }
    idx.tomb.set(id, { v, seq, shard, t });
    this.log({ o: 'd', x: idx.name, id, v, s: seq, sh: shard, t });
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

  refreshIndex(idx) {
    idx.prev.clear();
    idx.deletedSinceRefresh = 0;
    idx.generation++;
  }

  // The documents search sees (as of the last refresh), in _doc order (shard, then seq).
  visibleDocs(idx) {
    if (Date.now() - idx.lastSearch > 30000 && idx.prev.size) this.refreshIndex(idx); // search-idle shards refresh on the first search
    idx.lastSearch = Date.now();
    const out = [];
    if (idx.prev.size === 0) {
      for (const d of idx.docs.values()) out.push(d);
    } else {
      for (const d of idx.docs.values()) {
        if (idx.prev.has(d.id)) { const p = idx.prev.get(d.id); if (p) out.push(p); } else out.push(d);
      }
      for (const [id, p] of idx.prev) if (p && !idx.docs.has(id)) out.push(p);
    }
    if (idx.numShards > 1 || idx.prev.size) out.sort((a, b) => a.shard - b.shard || a.seq - b.seq);
    return out;
  }

  visibleCount(idx) {
    if (idx.prev.size === 0) return idx.docs.size;
    return this.visibleDocs(idx).length;
  }
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
