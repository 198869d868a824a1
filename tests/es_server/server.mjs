// server.mjs: an Elasticsearch / OpenSearch compatible test server (a test double: no real
// engine can be installed on the build machines). It answers as Elasticsearch 7.17, 8.x or
// OpenSearch 2.x on everything dip and the official clients touch: GET /, index management,
// _bulk with the engines' per-item semantics, documents, _mget, _count, _search with scroll
// and point in time, _cat/indices, _cluster/health, auth (basic, API key, bearer, SigV4),
// TLS, gzip, and injected faults. See tests/es_server/README.md.
//
//   node tests/es_server/server.mjs --port PORT --data DIR [--flavour es7|es8|os2]
//        [--tls-cert F --tls-key F] [--auth-basic user:pass] [--auth-apikey id:key]
//        [--auth-bearer TOKEN] [--sigv4 REGION:SERVICE:ACCESS_KEY:SECRET] [--max-body BYTES]
//        [--faults JSON]
//
// Prints "listening PORT" on stdout when ready (PORT 0 picks a free port); SIGTERM stops it
// after compacting DIR. Test-only admin endpoints (never auth-checked): PUT/DELETE
// /_test/faults, GET /_test/stats.
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import fs from 'node:fs';
import { EsError, err, searchPhaseFailure } from './errors.mjs';
import { Engine, autoId, validateIndexName, validateAliasName, aliasDef, nestSettings, shardFor, srcOf, srcText, similarity } from './engine.mjs';
import { DocParser } from './mapping.mjs';
import { QueryCompiler, compareSort, printedSortValue } from './query.mjs';
import { Raw, render, filterPath } from './json.mjs';
import { SigV4Verifier } from './sigv4.mjs';
import { FLAVOURS } from './flavours.mjs';
import { Pipelines } from './pipelines.mjs';

// ---- command line ------------------------------------------------------------------------

function parseArgs(argv) {
  const o = { port: 9200, flavour: 'es8', maxBody: 100 * 1024 * 1024 };
  const need = (i) => {
    if (i + 1 >= argv.length) usage(`${argv[i]} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--port': o.port = Number(need(i)); i++; break;
      case '--data': o.data = need(i); i++; break;
      case '--flavour': case '--flavor': o.flavour = need(i); i++; break;
      case '--tls-cert': o.tlsCert = need(i); i++; break;
      case '--tls-key': o.tlsKey = need(i); i++; break;
      case '--auth-basic': o.basic = need(i); i++; break;
      case '--auth-apikey': o.apikey = need(i); i++; break;
      case '--auth-bearer': o.bearer = need(i); i++; break;
      case '--sigv4': o.sigv4 = need(i); i++; break;
      case '--max-body': o.maxBody = Number(need(i)); i++; break;
      case '--faults': o.faults = need(i); i++; break;
      case '--host': o.host = need(i); i++; break;
      case '-h': case '--help': usage(null); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  if (!o.data) usage('--data DIR is required');
  if (!FLAVOURS[o.flavour]) usage(`--flavour must be es7, es8 or os2 (got ${o.flavour})`);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) usage('--port must be 0..65535');
  if (!(o.maxBody > 0)) usage('--max-body must be a positive number of bytes');
  if (!!o.tlsCert !== !!o.tlsKey) usage('--tls-cert and --tls-key go together');
  return o;
}

function usage(msg) {
  if (msg) process.stderr.write(`es-test-server: ${msg}\n`);
  process.stderr.write('usage: es-test-server --port PORT --data DIR [--flavour es7|es8|os2] [--tls-cert F --tls-key F]\n' +
    '       [--auth-basic user:pass] [--auth-apikey id:key] [--auth-bearer TOKEN]\n' +
    '       [--sigv4 REGION:SERVICE:ACCESS_KEY:SECRET] [--max-body BYTES] [--faults JSON]\n');
  process.exit(msg ? 2 : 0);
}

const opts = parseArgs(process.argv.slice(2));
const F = FLAVOURS[opts.flavour];
const flavour = opts.flavour;
const engine = new Engine({ flavour, dataDir: opts.data, versionCreated: F.versionCreated });
engine.open();
const pipelines = new Pipelines(engine);
const sigv4 = opts.sigv4 ? new SigV4Verifier(opts.sigv4) : null;
const NODE_NAME = flavour === 'os2' ? 'opensearch-node1' : 'dip-es-node';
const NODE_ID = 'dIpTeStNoDe0000000000w';

// ---- stats and faults ----------------------------------------------------------------------

const stats = { requests: 0, bulk_requests: 0, bulk_items: 0, max_concurrent_requests: 0, same_id_overlaps: 0, faults_injected: 0 };
let inflight = 0;
const heldIds = new Map(); // "index\0id" -> number of unanswered bulks holding it
let faults = null;
let itemFaultAcc = 0;

function setFaults(f) {
  const allowed = ['request_status', 'request_count', 'item_status', 'item_fraction', 'reset_after_bytes', 'delay_ms', 'stall_ms', 'path'];
  for (const k of Object.keys(f)) if (!allowed.includes(k)) throw err.illegalArg(`unknown fault [${k}], expected one of ${allowed.join(', ')}`);
  if (f.request_status != null && ![429, 503, 500, 502, 504].includes(f.request_status)) throw err.illegalArg('request_status must be 429, 500, 502, 503 or 504');
  if (f.item_status != null && ![429, 500, 503].includes(f.item_status)) throw err.illegalArg('item_status must be 429, 500 or 503');
  if (f.item_fraction != null && !(f.item_fraction >= 0 && f.item_fraction <= 1)) throw err.illegalArg('item_fraction must be within 0..1');
  faults = { ...f, remaining: f.request_count ?? Infinity };
  if (faults.item_status != null && faults.item_fraction == null) faults.item_fraction = 1;
  itemFaultAcc = 0;
}
if (opts.faults) setFaults(JSON.parse(opts.faults));

// The fault that applies to this request (and uses up one of request_count), or null.
function takeFault(pathname) {
  if (!faults || faults.remaining <= 0) return null;
  if (faults.path && !pathname.includes(faults.path)) return null;
  faults.remaining--;
  const f = faults;
  if (faults.remaining <= 0) faults = null;
  return f;
}

// ---- responses -----------------------------------------------------------------------------

function jsonType(ctx) {
  if (ctx && ctx.compat) return `application/vnd.elasticsearch+json;compatible-with=${ctx.compat}`;
  return F.jsonContentType;
}

function baseHeaders() {
  const h = {};
  if (F.productHeader) h['X-elastic-product'] = F.product;
  return h;
}

function send(ctx, status, body, extraHeaders = {}) {  // eslint-disable-line max-statements
  const { res } = ctx;
  if (ctx.sent) return;
  ctx.sent = true;
  const headers = { ...baseHeaders(), ...extraHeaders };
  let buf;
  if (body === null || body === undefined) buf = Buffer.alloc(0);
  else if (Buffer.isBuffer(body)) buf = body;
  else if (typeof body === 'string') buf = Buffer.from(body);
  else {
    let obj = body;
    const fp = ctx.params && ctx.params.get('filter_path');
    if (fp && status < 300) obj = filterPath(obj, fp);
    const pretty = ctx.params && (ctx.params.get('pretty') === '' || ctx.params.get('pretty') === 'true');
    buf = render(obj, pretty);
    if (pretty) buf = Buffer.concat([buf, Buffer.from('\n')]);
    if (!headers['content-type']) headers['content-type'] = jsonType(ctx);
  }
  if (ctx.req.method === 'HEAD') {
    headers['content-length'] = String(buf.length);
    buf = Buffer.alloc(0);
  } else {
    const ae = ctx.req.headers['accept-encoding'] || '';
    // http.compression: on, except over HTTPS for Elasticsearch (its default since BREACH)
    const compress = !(opts.tlsCert && flavour !== 'os2');
    if (compress && buf.length > 0 && /\bgzip\b/.test(ae)) {
      buf = zlib.gzipSync(buf, { level: 1 });
      headers['content-encoding'] = 'gzip';
      headers['vary'] = 'Accept-Encoding';
    }
    headers['content-length'] = String(buf.length);
  }
  const f = ctx.fault;
  const finish = () => {
    if (res.destroyed) return;
    if (f && f.reset_after_bytes != null) {
      stats.faults_injected++;
      const n = Math.min(f.reset_after_bytes, buf.length);
      if (n === 0) { if (res.socket) res.socket.resetAndDestroy(); return; }
      res.writeHead(status, headers);
      res.write(buf.subarray(0, n), () => res.socket && res.socket.resetAndDestroy());
      return;
    }
    res.writeHead(status, headers);
    if (f && f.stall_ms && buf.length > 1) {
      stats.faults_injected++;
      const half = buf.length >> 1;
      res.write(buf.subarray(0, half));
      setTimeout(() => res.end(buf.subarray(half)), f.stall_ms);
      return;
    }
    res.end(buf);
  };
  // persisted before answered: wait for the log write holding this request's records
  const p = engine.logSeq !== ctx.logSeqAtStart ? engine.flushLog() : null;
  ctx.logWritten = p;
  if (!p) return finish();
  const guarded = () => {
    try {
      finish();
    } catch (e) {
      process.stderr.write(`es-test-server: answering ${ctx.req.method} ${ctx.req.url} failed: ${e.message}\n`);
    }
  };
  p.then(guarded, (e) => {
    process.stderr.write(`es-test-server: writing the operations log failed: ${e.message}\n`);
    const eb = new EsError(500, 'translog_exception', `failed to write the operations log: ${e.message}`).toJSON();
    buf = render(eb);
    status = 500;
    headers['content-length'] = String(buf.length);
    delete headers['content-encoding'];
    guarded();
  });
}

function sendError(ctx, e) {
  if (!(e instanceof EsError)) {
    process.stderr.write(`es-test-server: internal error on ${ctx.req.method} ${ctx.req.url}: ${e && e.stack}\n`);
    e = new EsError(500, 'exception', String(e && e.message));
  }
  send(ctx, e.status, e.toJSON(), e.headers || {});
}

// ---- request plumbing ------------------------------------------------------------------------

const MEDIA_RE = /^\s*application\/vnd\.elasticsearch\+(json|x-ndjson)\s*;\s*compatible-with\s*=\s*(\d+)\s*$/i;

function mediaHeaderError(reason) {
  const e = new EsError(400, 'media_type_header_exception', 'Invalid media-type value on headers [Accept, Content-Type]', {}, new EsError(400, 'status_exception', reason));
  e.rootOverride = [{ type: 'media_type_header_exception', reason: 'Invalid media-type value on headers [Accept, Content-Type]' }];
  return e;
}

// ES 8's REST compatibility: application/vnd.elasticsearch+json;compatible-with=N on Accept
// and/or Content-Type. Returns the compat version or null; throws the engines' refusal.
function negotiate(req, hasBody) {
  const ct = req.headers['content-type'];
  const accept = req.headers.accept;
  const acceptParts = (accept || '').split(',').map((s) => s.trim());
  const accM = acceptParts.map((p) => MEDIA_RE.exec(p)).find(Boolean);
  const ctM = ct ? MEDIA_RE.exec(ct) : null;
  if (hasBody) {
    if (!ct) throw Object.assign(new EsError(406, 'x', ''), { plain: { error: 'Content-Type header is missing', status: 406 } });
    const base = ct.split(';')[0].trim().toLowerCase();
    const okBase = ['application/json', 'application/x-ndjson', 'application/smile', 'application/cbor', 'application/yaml'];
    if (!ctM && !okBase.includes(base)) throw Object.assign(new EsError(406, 'x', ''), { plain: { error: `Content-Type header [${ct}] is not supported`, status: 406 } });
  }
  if (!accM && !ctM) return null;
  if (flavour === 'os2') {
    if (ctM) throw Object.assign(new EsError(406, 'x', ''), { plain: { error: `Content-Type header [${ct}] is not supported`, status: 406 } });
    return null;
  }
  const vs = F.compatVersions;
  const describe = `Accept=${accept || 'null'}, Content-Type=${ct || 'null'}`;
  if (accM && !vs.includes(Number(accM[2]))) throw mediaHeaderError(`Accept version must be either version ${vs.join(' or ')}, but found ${accM[2]}. ${describe}`);
  if (ctM && !vs.includes(Number(ctM[2]))) throw mediaHeaderError(`Content-Type version must be either version ${vs.join(' or ')}, but found ${ctM[2]}. ${describe}`);
  if (hasBody && ctM && accM && ctM[2] !== accM[2]) throw mediaHeaderError(`A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version and the compatible versions must match. ${describe}`);
  if (hasBody && (!!ctM !== !!accM) && accept && accept !== '*/*') throw mediaHeaderError(`A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version. ${describe}`);
  return Number((accM || ctM)[2]);
}

function authError(ctx, reason) {
  if (flavour === 'os2') {
    const e = new EsError(401, 'x', '');
    e.plainText = 'Unauthorized';
    e.headers = { 'WWW-Authenticate': 'Basic realm="OpenSearch Security"' };
    return e;
  }
  const challenge = ['Basic realm="security" charset="UTF-8"', 'Bearer realm="security"', 'ApiKey'];
  const e = new EsError(401, 'security_exception', reason, { header: { 'WWW-Authenticate': challenge } });
  e.headers = { 'WWW-Authenticate': challenge };
  return e;
}

function checkAuth(ctx) {
  if (sigv4) {
    const msg = sigv4.verify(ctx.req, ctx.rawBody);
    if (msg) {
      const e = new EsError(403, 'x', '');
      e.plain = { message: msg };
      throw e;
    }
    return;
  }
  if (!opts.basic && !opts.apikey && !opts.bearer) return;
  const h = ctx.req.headers.authorization;
  const uri = ctx.req.url;
  if (!h) throw authError(ctx, `missing authentication credentials for REST request [${uri}]`);
  const sp = h.indexOf(' ');
  const scheme = (sp < 0 ? h : h.slice(0, sp)).toLowerCase();
  const cred = sp < 0 ? '' : h.slice(sp + 1).trim();
  if (scheme === 'basic' && opts.basic) {
    const dec = Buffer.from(cred, 'base64').toString('utf8');
    if (dec === opts.basic) return;
    throw authError(ctx, `unable to authenticate user [${dec.split(':')[0]}] for REST request [${uri}]`);
  }
  if (scheme === 'apikey' && opts.apikey) {
    const dec = Buffer.from(cred, 'base64').toString('utf8');
    if (dec === opts.apikey) return;
    throw authError(ctx, `unable to authenticate with provided credentials and anonymous access is not allowed for this request`);
  }
  if (scheme === 'bearer' && opts.bearer) {
    if (cred === opts.bearer) return;
    throw authError(ctx, `unable to authenticate with provided credentials and anonymous access is not allowed for this request`);
  }
  throw authError(ctx, `unable to authenticate with provided credentials and anonymous access is not allowed for this request`);
}

function boolParam(ctx, name, def = false) {
  const v = ctx.params.get(name);
  if (v === null) return def;
  if (v === '' || v === 'true') return true;
  if (v === 'false') return false;
  throw err.illegalArg(`Failed to parse value [${v}] as only [true] or [false] are allowed.`);
}

function intParam(ctx, name, def) {
  const v = ctx.params.get(name);
  if (v === null || v === '') return def;
  if (!/^-?\d+$/.test(v)) throw err.illegalArg(`Failed to parse int parameter [${name}] with value [${v}]`);
  return Number(v);
}

function parseTime(s, setting) {
  const m = /^(\d+)(d|h|m|s|ms|micros|nanos)$/.exec(String(s));
  if (!m) throw new EsError(400, 'illegal_argument_exception', `failed to parse setting [${setting}] with value [${s}] as a time value: unit is missing or unrecognized`);
  const mult = { d: 86400000, h: 3600000, m: 60000, s: 1000, ms: 1, micros: 0.001, nanos: 0.000001 }[m[2]];
  return Number(m[1]) * mult;
}

// A scroll / PIT keep-alive, bounded by search.max_keep_alive (24h by default).
function keepAlive(s, setting) {
  const ms = parseTime(s, setting);
  if (ms > 86400000) throw err.illegalArg(`Keep alive for [${s}] is too large. It must be less than [1d]. This limit can be set by changing the [search.max_keep_alive] cluster level setting.`);
  return ms;
}

function bodyJson(ctx, required = false) {
  const b = ctx.body;
  if (!b || b.length === 0 || /^\s*$/.test(b.toString('utf8', 0, Math.min(b.length, 64))) && b.toString().trim() === '') {
    if (required) throw new EsError(400, 'parse_exception', 'request body is required');
    return null;
  }
  try {
    return JSON.parse(b.toString('utf8'));
  } catch (e) {
    throw jsonParseError(e.message);
  }
}

// A JSON syntax error in the body: ES 8 wraps Jackson's error as x_content_parse_exception
// "[line:col] ..."; ES 7 and OpenSearch pass Jackson's json_parse_exception through.
function jsonParseError(msg, text = '') {
  const m = /position (\d+)/.exec(msg);
  const eof = /end of JSON input|Unterminated/.test(msg);
  const col = m ? Number(m[1]) + 1 : eof ? text.length + 1 : 1;
  if (flavour === 'es8') return new EsError(400, 'x_content_parse_exception', `[1:${col}] ${eof ? 'Unexpected end of file' : msg.replace(/ in JSON at position \d+.*$/, '')}`);
  const e = new EsError(400, 'json_parse_exception', `${msg}\n at [Source: (org.elasticsearch.transport.netty4.ByteBufStreamInput); line: 1, column: ${col}]`);
  return e;
}

// ---- GET / and cluster ---------------------------------------------------------------------

function rootInfo() {
  return {
    name: NODE_NAME,
    cluster_name: F.clusterName,
    cluster_uuid: engine.clusterUuid,
    version: F.version,
    tagline: F.tagline,
  };
}

// A double as Java prints it (50.0, not 50).
function javaDouble(v) {
  return new Raw(Number.isInteger(v) ? `${v}.0` : String(v));
}

function healthOf(list) {
  let status = 'green';
  let active = 0, primaries = 0, unassigned = 0;
  for (const idx of list) {
    primaries += idx.numShards;
    active += idx.numShards;
    unassigned += idx.numShards * idx.replicas;
    if (idx.replicas > 0) status = 'yellow';
  }
  return { status, active, primaries, unassigned };
}

async function clusterHealth(ctx, expr) {
  let list;
  const timeout = parseTime(ctx.params.get('timeout') || '30s', 'timeout');
  const want = ctx.params.get('wait_for_status');
  const deadline = Date.now() + timeout;
  for (;;) {
    let missing = false;
    try {
      list = expr ? engine.resolve(expr) : [...engine.indices.values()];
    } catch (e) {
      if (!(e instanceof EsError) || e.status !== 404) throw e;
      missing = true;
      list = [];
    }
    const h = healthOf(list);
    const rank = { green: 0, yellow: 1, red: 2 };
    if (missing) h.status = 'red';
    const ok = !missing && (!want || rank[h.status] <= rank[want]);
    if (ok || Date.now() >= deadline) {
      const body = {
        cluster_name: F.clusterName,
        status: h.status,
        timed_out: !ok,
        number_of_nodes: 1,
        number_of_data_nodes: 1,
      };
      if (flavour === 'os2') { body.discovered_master = true; body.discovered_cluster_manager = true; }
      Object.assign(body, {
        active_primary_shards: h.primaries,
        active_shards: h.active,
        relocating_shards: 0,
        initializing_shards: 0,
        unassigned_shards: h.unassigned,
      });
      if (flavour === 'es8') body.unassigned_primary_shards = 0;
      Object.assign(body, {
        delayed_unassigned_shards: 0,
        number_of_pending_tasks: 0,
        number_of_in_flight_fetch: 0,
        task_max_waiting_in_queue_millis: 0,
        active_shards_percent_as_number: javaDouble(h.active + h.unassigned === 0 ? 100 : (100 * h.active) / (h.active + h.unassigned)),
      });
      if (ctx.params.get('level') === 'indices') {
        body.indices = {};
        for (const idx of list) {
          const ih = healthOf([idx]);
          body.indices[idx.name] = { status: ih.status, number_of_shards: idx.numShards, number_of_replicas: idx.replicas, active_primary_shards: idx.numShards, active_shards: idx.numShards, relocating_shards: 0, initializing_shards: 0, unassigned_shards: ih.unassigned };
        }
      }
      send(ctx, ok ? 200 : 408, body);
      return;
    }
    await new Promise((r) => setTimeout(r, Math.min(200, deadline - Date.now())));
  }
}

// ---- index management ----------------------------------------------------------------------

function indexSettingsView(idx) {
  return nestSettings(idx.settings);
}

function aliasesView(idx) {
  const o = {};
  for (const [a, d] of idx.aliases) o[a] = d;
  return o;
}

function createIndex(ctx, name) {
  const body = bodyJson(ctx) || {};
  const includeTypeName = flavour === 'es7' && boolParam(ctx, 'include_type_name', false);
  const idx = engine.createIndex(name, body, { includeTypeName });
  send(ctx, 200, { acknowledged: true, shards_acknowledged: true, index: idx.name });
}

function deleteIndex(ctx, expr) {
  const parts = expr.split(',');
  if (F.destructiveRequiresName && parts.some((p) => p.includes('*') || p === '_all')) {
    throw err.illegalArg('Wildcard expressions or all indices are not allowed');
  }
  const targets = [];
  for (const p of parts) {
    if (p.includes('*') || p === '_all') {
      targets.push(...engine.resolve(p));
      continue;
    }
    const idx = engine.indices.get(p);
    if (idx) { targets.push(idx); continue; }
    if (engine.isAlias(p)) {
      throw err.illegalArg(`The provided expression [${p}] matches an alias, specify the corresponding concrete indices instead.`);
    }
    if (!boolParam(ctx, 'ignore_unavailable', false)) throw err.indexNotFound(p);
  }
  for (const idx of new Set(targets)) engine.deleteIndex(idx);
  send(ctx, 200, { acknowledged: true });
}

function getIndex(ctx, expr) {
  const list = engine.resolve(expr, { ignoreUnavailable: boolParam(ctx, 'ignore_unavailable', false) });
  const out = {};
  for (const idx of list) {
    out[idx.name] = { aliases: aliasesView(idx), mappings: mappingView(idx), settings: indexSettingsView(idx) };
  }
  send(ctx, 200, out);
}

// Mappings as the engines print them: properties sorted by field name at every level.
function mappingView(idx) {
  const m = {};
  for (const [k, v] of Object.entries(idx.mappings)) {
    if (k === 'properties' && Object.keys(v).length === 0) continue;
    m[k] = k === 'properties' ? sortedProps(v) : v;
  }
  return m;
}

function sortedProps(props) {
  const out = {};
  for (const name of Object.keys(props).sort()) {
    const d = props[name];
    if (d.properties && Object.keys(d.properties).length === 0 && !d.type) {
      // an object mapper without sub-fields prints its type
      const { properties, ...rest } = d;
      out[name] = { type: 'object', ...rest };
    } else out[name] = d.properties ? { ...d, properties: sortedProps(d.properties) } : d;
  }
  return out;
}

function putMapping(ctx, expr) {
  const body = bodyJson(ctx, true);
  const list = engine.resolve(expr);
  for (const idx of list) engine.putMapping(idx, body);
  send(ctx, 200, { acknowledged: true });
}

// GET /_alias, /_alias/{name}, /{index}/_alias, /{index}/_alias/{name}
function getAliases(ctx, expr, names) {
  const list = expr ? engine.resolve(expr) : [...engine.indices.values()];
  const wanted = names ? names.split(',') : null;
  const match = (a) => !wanted || wanted.some((w) => w === '_all' || w === '*' || (w.includes('*') ? new RegExp('^' + w.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$').test(a) : w === a));
  const out = {};
  const found = new Set();
  for (const idx of list) {
    const al = {};
    for (const [a, d] of idx.aliases) if (match(a)) { al[a] = d; found.add(a); }
    if (!wanted || Object.keys(al).length) out[idx.name] = { aliases: al };
  }
  if (wanted) {
    const missing = wanted.filter((w) => !w.includes('*') && w !== '_all' && !found.has(w));
    if (missing.length) {
      const body = { error: `alias [${missing.join(',')}] missing`, status: 404, ...out };
      if (ctx.req.method === 'HEAD') return send(ctx, 404, null);
      return send(ctx, 404, body);
    }
    if (!Object.keys(out).length && ctx.req.method === 'HEAD') return send(ctx, 404, null);
  }
  send(ctx, 200, out);
}

function updateAliases(ctx) {
  const body = bodyJson(ctx, true);
  if (!Array.isArray(body.actions)) throw err.validation(['no alias actions']);
  // plan every action against a copy so that either all apply or none
  const plan = new Map(); // index name -> Map of aliases (copy)
  const removeIndices = new Set();
  const getMap = (idx) => {
    if (!plan.has(idx.name)) plan.set(idx.name, new Map(idx.aliases));
    return plan.get(idx.name);
  };
  for (const action of body.actions) {
    const [kind] = Object.keys(action);
    const a = action[kind] || {};
    if (!['add', 'remove', 'remove_index'].includes(kind)) {
      throw new EsError(400, 'x_content_parse_exception', `[1:${ctx.body.indexOf(kind) + 1}] [alias_action] unknown field [${kind}]`);
    }
    const idxExprs = a.indices || (a.index != null ? [a.index] : null);
    if (!idxExprs) throw err.validation(['One of [index] or [indices] is required']);
    const indices = [];
    for (const e of idxExprs) indices.push(...engine.resolve(e, { allowNoIndices: false }));
    if (kind === 'remove_index') {
      for (const idx of indices) {
        if (!engine.indices.has(idx.name) || (idxExprs.includes(idx.name) === false && !idxExprs.some((x) => x.includes('*')))) {
          throw err.illegalArg(`The provided expression [${idxExprs[0]}] matches an alias, specify the corresponding concrete indices instead.`);
        }
        removeIndices.add(idx.name);
      }
      continue;
    }
    const aliases = a.aliases || (a.alias != null ? [a.alias] : null);
    if (!aliases) throw err.validation(['One of [alias] or [aliases] is required']);
    for (const idx of indices) {
      const m = getMap(idx);
      for (const al of aliases) {
        if (kind === 'add') {
          validateAliasName(al);
          if (engine.indices.has(al) && !removeIndices.has(al)) throw new EsError(400, 'invalid_alias_name_exception', `Invalid alias name [${al}]: an index or data stream exists with the same name as the alias`, { index_uuid: '_na_', index: al });
          m.set(al, aliasDef(a));
        } else {
          const names = al.includes('*') ? [...m.keys()].filter((x) => new RegExp('^' + al.split('*').join('.*') + '$').test(x)) : [al];
          let any = false;
          for (const n of names) if (m.delete(n)) any = true;
          if (!any && a.must_exist !== false) {
            if (al.includes('*') && a.must_exist == null) continue;
            throw new EsError(404, 'aliases_not_found_exception', `aliases [${al}] missing`, { 'resource.type': 'aliases', 'resource.id': al });
          }
        }
      }
    }
  }
  // write index uniqueness: at most one is_write_index=true per alias
  const after = new Map();
  for (const idx of engine.indices.values()) if (!removeIndices.has(idx.name)) after.set(idx.name, plan.get(idx.name) || idx.aliases);
  const writers = new Map();
  for (const [name, m] of after) for (const [al, d] of m) if (d.is_write_index === true) {
    if (writers.has(al)) throw err.illegalArg(`alias [${al}] has more than one write index [${writers.get(al)},${name}]`);
    writers.set(al, name);
  }
  for (const [name, m] of plan) {
    const idx = engine.indices.get(name);
    if (idx && !removeIndices.has(name)) idx.aliases = m;
  }
  engine.logAliases([...plan.keys()].filter((n) => !removeIndices.has(n)));
  for (const n of removeIndices) engine.deleteIndex(engine.indices.get(n));
  send(ctx, 200, { acknowledged: true });
}

function putAlias(ctx, expr, name) {
  const body = bodyJson(ctx) || {};
  validateAliasName(name);
  const list = engine.resolve(expr, { allowNoIndices: false });
  for (const idx of list) idx.aliases.set(name, aliasDef(body));
  engine.logAliases(list.map((i) => i.name));
  send(ctx, 200, { acknowledged: true });
}

function deleteAlias(ctx, expr, name) {
  const list = engine.resolve(expr);
  let any = false;
  for (const idx of list) for (const n of name.split(',')) if (idx.aliases.delete(n)) any = true;
  if (!any) throw new EsError(404, 'aliases_not_found_exception', `aliases [${name}] missing`, { 'resource.type': 'aliases', 'resource.id': name });
  engine.logAliases(list.map((i) => i.name));
  send(ctx, 200, { acknowledged: true });
}

// ---- documents -----------------------------------------------------------------------------

// One shared {_shards} object per replica count: a bulk answer holds thousands of them.
const shardsHeaders = new Map();
function shardsHeader(idx) {
  const total = idx.replicas + 1;
  let h = shardsHeaders.get(total);
  if (!h) { h = Object.freeze({ total, successful: 1, failed: 0 }); shardsHeaders.set(total, h); }
  return h;
}

// Whether document answers carry "_type": "_doc": ES 7, and ES 8 answering a request made with
// compatible-with=7 (REST API compatibility restores the field).
function typed(ctx) {
  return F.typeField || ctx.compat === 7;
}

function writeResult(idx, id, r, routing, forced, withType) {
  const o = { _index: idx.name };
  if (withType) o._type = '_doc';
  o._id = id;
  o._version = r.v;
  o.result = r.result;
  if (forced) o.forced_refresh = true;
  o._shards = r.result === 'noop' ? { total: 0, successful: 0, failed: 0 } : shardsHeader(idx);
  o._seq_no = r.seq;
  o._primary_term = 1;
  return o;
}

function getResult(idx, id, d, srcFilter, withType) {
  const o = { _index: idx.name };
  if (withType) o._type = '_doc';
  o._id = id;
  if (!d) { o.found = false; return o; }
  o._version = d.v;
  o._seq_no = d.seq;
  o._primary_term = 1;
  if (d.routing != null) o._routing = d.routing;
  o.found = true;
  if (srcFilter !== false) o._source = srcFilter ? applySourceFilter(srcOf(d), srcFilter) : new Raw(srcOf(d));
  return o;
}

// _source filtering (includes/excludes with wildcards); null = whole source.
function applySourceFilter(src, f) {
  const obj = JSON.parse(src.toString('utf8'));
  const match = (p, path) => new RegExp('^' + p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '(\\..*)?$').test(path);
  const walk = (o, prefix) => {
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return o;
    const out = {};
    for (const [k, v] of Object.entries(o)) {
      const p = prefix ? `${prefix}.${k}` : k;
      if (f.excludes && f.excludes.some((e) => match(e, p))) continue;
      if (f.includes && f.includes.length) {
        const inc = f.includes.some((i) => match(i, p));
        const partial = f.includes.some((i) => i.startsWith(p + '.') || i.startsWith(p + '*'));
        if (!inc && !partial) continue;
        if (!inc) { const sub = walk(v, p); if (sub && typeof sub === 'object' && Object.keys(sub).length) out[k] = sub; continue; }
      }
      out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? walk(v, p) : v;
    }
    return out;
  };
  return walk(obj, '');
}

function sourceFilterFromParams(ctx) {
  const s = ctx.params.get('_source');
  const inc = ctx.params.get('_source_includes') || ctx.params.get('_source_include');
  const exc = ctx.params.get('_source_excludes') || ctx.params.get('_source_exclude');
  if (s === 'false') return false;
  if (s && s !== 'true') return { includes: s.split(',') };
  if (inc || exc) return { includes: inc ? inc.split(',') : [], excludes: exc ? exc.split(',') : [] };
  return null;
}

function sourceFilterFromBody(v) {
  if (v === undefined || v === null || v === true) return null;
  if (v === false) return false;
  if (typeof v === 'string') return { includes: [v] };
  if (Array.isArray(v)) return { includes: v };
  return { includes: v.includes || v.include || [], excludes: v.excludes || v.exclude || [] };
}

function docRouting(ctx) {
  return ctx.params.get('routing');
}

function getDoc(ctx, name, id) {
  const idx = engine.writeIndex(name) || (engine.indices.get(name) ?? null);
  if (!idx) throw err.indexNotFound(name);
  const d = engine.getDoc(idx, id, docRouting(ctx));
  const body = getResult(idx, id, d, sourceFilterFromParams(ctx), typed(ctx));
  send(ctx, d ? 200 : 404, body);
}

function getSource(ctx, name, id) {
  const idx = engine.writeIndex(name);
  if (!idx) throw err.indexNotFound(name);
  const d = engine.getDoc(idx, id, docRouting(ctx));
  if (!d) throw new EsError(404, 'resource_not_found_exception', `Document not found [${name}]/[${id}]`);
  const f = sourceFilterFromParams(ctx);
  send(ctx, 200, f ? applySourceFilter(srcOf(d), f) : new Raw(srcOf(d)));
}

// Common option block of a single write or a bulk item.
function writeOpts(o) {
  return {
    routing: o.routing ?? null,
    version: o.version ?? null,
    versionType: o.version_type ?? null,
    ifSeqNo: o.if_seq_no ?? null,
    ifPrimaryTerm: o.if_primary_term ?? null,
    opType: o.op_type ?? null,
    pipeline: o.pipeline ?? null,
    retryOnConflict: o.retry_on_conflict ?? 0,
    requireAlias: o.require_alias ?? false,
  };
}

function validateWrite(kind, op, idxName, id, problems) {
  if (!idxName) problems.push('index is missing');
  // the common case (no versioning options) needs only the checks above and below
  if (op.versionType == null && op.version == null && op.ifSeqNo == null && op.ifPrimaryTerm == null && kind !== 'update') {
    if (id != null && id.length > 128 && Buffer.byteLength(id) > 512) problems.push(`id [${id}] is too long, must be no longer than 512 bytes but was: ${Buffer.byteLength(id)}`);
    if (kind === 'delete' && id == null) problems.push('id is missing');
    return;
  }
  if (op.versionType === 'force') problems.push('version type [force] may no longer be used');
  else if (op.versionType && !['internal', 'external', 'external_gte', 'external_gt'].includes(op.versionType)) {
    throw err.illegalArg(`No version type match [${op.versionType}]`);
  }
  const vt = op.versionType || 'internal';
  if (kind === 'create' && vt !== 'internal') problems.push('create operations only support internal versioning. use index instead');
  if (kind === 'update' && vt !== 'internal') problems.push(`version type [${vt}] is not supported by the update API`);
  if (kind === 'update' && op.version != null) problems.push("can't provide version in upsert request");
  if (vt === 'internal' && op.version != null && kind !== 'update') problems.push('internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead');
  if ((vt === 'external' || vt === 'external_gte') && (op.version == null || op.version < 0)) problems.push(`illegal version value [${op.version ?? -3}] for version type [${vt.toUpperCase()}]`);
  if (op.ifSeqNo != null && (op.version != null || vt !== 'internal')) problems.push('compare and write operations can not use versioning');
  if (op.ifSeqNo != null && op.ifSeqNo < 0) problems.push(`ifSeqNo [${op.ifSeqNo}] must be non negative`);
  if (op.ifSeqNo != null && !(op.ifPrimaryTerm > 0)) problems.push(`ifSeqNo is set, but primary term is [${op.ifPrimaryTerm ?? 0}]`);
  if (op.ifSeqNo == null && op.ifPrimaryTerm != null && op.ifPrimaryTerm !== 0) problems.push(`ifSeqNo is unassigned, but primary term is [${op.ifPrimaryTerm}]`);
  if (id != null && Buffer.byteLength(id) > 512) problems.push(`id [${id}] is too long, must be no longer than 512 bytes but was: ${Buffer.byteLength(id)}`);
  if (kind === 'update' && id == null) problems.push('id is missing');
  if (kind === 'delete' && id == null) problems.push('id is missing');
}

// Resolve (and auto-create) the target index of a write; returns the Index or throws.
function targetIndex(name, op, kind) {
  const idx = engine.writeIndex(name);
  if (idx) return idx;
  if (op.requireAlias) {
    throw new EsError(404, 'index_not_found_exception', `no such index [${name}] and [require_alias] request flag is [true] and [${name}] is not an alias`, { 'resource.type': 'index_or_alias', 'resource.id': name, index_uuid: '_na_', index: name });
  }
  if (kind === 'delete' && (op.versionType !== 'external' && op.versionType !== 'external_gte')) throw err.indexNotFound(name);
  return engine.createIndex(name, {});
}

// One write applied to an index: the core shared by _doc, _create, _update and _bulk.
// The source of an index/create is bytes off..off+len of `body` (a bulk's body, or the
// document's own buffer: off 0, len -1 for all of it); `text` is the same source already
// decoded (from a bulk's all-ASCII body), or null.
function applyWrite(kind, idx, op, id, body, updateBody, bulkLog = null, text = null, off = 0, len = -1) {
  if (len < 0 && body) len = body.length - off;
  const parser = idx.parser || (idx.parser = new DocParser(flavour, idx));
  if (kind === 'delete') return engine.deleteDoc(idx, op, id, bulkLog);
  if (kind === 'index' || kind === 'create') {
    const pipe = op.pipeline ?? idx.settings['index.default_pipeline'];
    if (pipe && pipe !== '_none') {
      body = pipelines.run(pipe, body.subarray(off, off + len), idx, id);
      off = 0;
      len = body.length;
      text = null;
    }
    const obj = parseSource(body, id, text, off, len);
    return engine.indexDoc(idx, kind === 'create' ? { ...op, opType: 'create' } : op, id, body, off, len, obj, parser, bulkLog);
  }
  // update
  const st = engine.currentState(idx, id);
  const u = updateBody;
  if (u.script) {
    throw new EsError(400, 'illegal_argument_exception', 'script updates are not supported by the dip ES test server (no Painless); use doc / doc_as_upsert / upsert');
  }
  if (st.deleted) {
    let up = null;
    if (u.doc_as_upsert && u.doc) up = u.doc;
    else if (u.upsert) up = u.upsert;
    if (!up) {
      const reason = flavour === 'es7' ? `[_doc][${id}]: document missing` : `[${id}]: document missing`;
      throw new EsError(404, 'document_missing_exception', reason, { index_uuid: idx.uuid, shard: String(shardFor(idx, id, op.routing)), index: idx.name });
    }
    if (op.ifSeqNo != null) engine.planVersion(idx, op, id, st, false);
    const buf = Buffer.from(JSON.stringify(up));
    const r = engine.indexDoc(idx, { ...op, opType: 'create', ifSeqNo: null, ifPrimaryTerm: null }, id, buf, 0, buf.length, up, parser, bulkLog);
    return r;
  }
  if (op.ifSeqNo != null) engine.planVersion(idx, op, id, st, false);
  if (!u.doc) throw err.validation(['script or doc is missing']);
  const current = JSON.parse(srcText(st.doc));
  const changed = deepMerge(current, u.doc);
  if (!changed && u.detect_noop !== false) {
    return { result: 'noop', status: 200, v: st.version, seq: st.seq, shard: st.doc.shard };
  }
  const buf = Buffer.from(JSON.stringify(current));
  const r = engine.indexDoc(idx, { ...op, routing: op.routing ?? st.doc.routing, opType: null, ifSeqNo: null, ifPrimaryTerm: null, version: null, versionType: null }, id, buf, 0, buf.length, current, parser, bulkLog);
  return { ...r, result: 'updated', status: 200 };
}

function deepMerge(target, changes) {
  let changed = false;
  for (const [k, v] of Object.entries(changes)) {
    const old = target[k];
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && old !== null && typeof old === 'object' && !Array.isArray(old)) {
      if (deepMerge(old, v)) changed = true;
    } else {
      if (!(k in target) || JSON.stringify(old) !== JSON.stringify(v)) changed = true;
      target[k] = v;
    }
  }
  return changed;
}

function parseSource(body, id, text = null, off = 0, len = body.length) {
  if (len === 0 || (len < 64 && body.toString('utf8', off, off + len).trim() === '')) {
    if (flavour === 'es8') throw new EsError(400, 'document_parsing_exception', '[1:1] failed to parse: document is empty');
    throw new EsError(400, 'mapper_parsing_exception', 'failed to parse, document is empty');
  }
  try {
    return JSON.parse(text ?? body.toString('utf8', off, off + len));
  } catch (e) {
    const whole = text ?? body.toString('utf8', off, off + len);
    const inner = jsonParseError(e.message, whole);
    if (flavour === 'es8') {
      const col = /^\[1:(\d+)\]/.exec(inner.reason);
      throw new EsError(400, 'document_parsing_exception', `[1:${col ? col[1] : 1}] failed to parse: ${e.message}`, {}, inner);
    }
    throw new EsError(400, 'mapper_parsing_exception', 'failed to parse', {}, inner);
  }
}

function refreshMode(ctx) {
  const r = ctx.params.get('refresh');
  if (r === null || r === 'false') return null;
  if (r === '' || r === 'true') return 'true';
  if (r === 'wait_for') return 'wait_for';
  throw err.illegalArg(`Unknown value for refresh: [${r}].`);
}

function singleWrite(ctx, kind, name, id) {
  const refresh = refreshMode(ctx);
  const p = Object.fromEntries(ctx.params);
  const op = writeOpts({
    routing: p.routing, version: p.version != null ? Number(p.version) : null, version_type: p.version_type,
    if_seq_no: p.if_seq_no != null ? Number(p.if_seq_no) : null, if_primary_term: p.if_primary_term != null ? Number(p.if_primary_term) : null,
    op_type: p.op_type, pipeline: p.pipeline, require_alias: p.require_alias === 'true',
  });
  if (kind === 'index' && op.opType === 'create') kind = 'create';
  if (op.opType && !['create', 'index'].includes(op.opType)) throw err.illegalArg(`opType must be 'create' or 'index', found: [${op.opType}]`);
  if (id == null && kind === 'index') { id = autoId(); if (!op.opType) op.opType = 'create'; }
  const problems = [];
  validateWrite(kind, op, name, id, problems);
  if (problems.length) throw err.validation(problems);
  if (kind !== 'delete') validateIndexName(engine.writeIndex(name) ? engine.writeIndex(name).name : name);
  let src = null, upd = null;
  if (kind === 'update') {
    upd = bodyJson(ctx, true);
    checkUpdateBody(upd, 1);
    if (upd.doc == null && upd.script == null) throw err.validation(['script or doc is missing']);
  } else if (kind !== 'delete') {
    if (!ctx.body || ctx.body.length === 0) throw new EsError(400, 'parse_exception', 'request body is required');
    src = normalizeSource(ctx.body);
  }
  if (op.pipeline && op.pipeline !== '_none' && !pipelines.has(op.pipeline)) throw err.illegalArg(`pipeline with id [${op.pipeline}] does not exist`);
  const idx = targetIndex(name, op, kind);
  const r = applyWrite(kind, idx, op, id, src, upd);
  if (refresh) engine.refreshIndex(idx);
  const body = writeResult(idx, id, r, op.routing, refresh === 'true', typed(ctx));
  if (kind === 'update') addUpdateGet(body, idx, id, upd._source ?? (ctx.params.get('_source') ?? undefined));
  const headers = {};
  if (r.status === 201) headers.Location = `/${idx.name}/_doc/${encodeURIComponent(id)}${op.routing ? `?routing=${encodeURIComponent(op.routing)}` : ''}`;
  send(ctx, r.status, body, headers);
}

// Sources are kept as sent; a source spanning several lines (pretty printed) is compacted so
// the operations log stays one line per change.
function normalizeSource(buf) {
  if (buf.indexOf(10) < 0 && buf.indexOf(13) < 0) return buf;
  try { return Buffer.from(JSON.stringify(JSON.parse(buf.toString('utf8')))); } catch { return buf; }
}

const UPDATE_FIELDS = new Set(['doc', 'upsert', 'doc_as_upsert', 'scripted_upsert', 'script', 'detect_noop', '_source', 'lang', 'params']);
function checkUpdateBody(u, line) {
  if (u === null || typeof u !== 'object' || Array.isArray(u)) throw new EsError(400, 'x_content_parse_exception', `[${line}:1] [UpdateRequest] Expected START_OBJECT but was: VALUE_STRING`);
  for (const k of Object.keys(u)) {
    if (!UPDATE_FIELDS.has(k)) throw new EsError(400, 'x_content_parse_exception', `[${line}:2] [UpdateRequest] unknown field [${k}]`);
  }
  if (u.doc !== undefined && (u.doc === null || typeof u.doc !== 'object' || Array.isArray(u.doc))) throw new EsError(400, 'x_content_parse_exception', `[${line}:8] [UpdateRequest] failed to parse field [doc]`);
}

// ---- _bulk ----------------------------------------------------------------------------------

const ACTIONS = new Set(['index', 'create', 'update', 'delete']);
// {"index":{"_index":"x","_id":"y"}} and its variants (either order, either field alone, or
// none), string values without escapes; anything else goes through JSON.parse.
const FAST_ACTION = /^\{"(index|create|update|delete)":\{(?:"(_index|_id)":"([^"\\\x00-\x1f]*)"(?:,"(_index|_id)":"([^"\\\x00-\x1f]*)")?)?\}\}\r?$/;
const ACTION_FIELDS = new Set(['_index', '_id', 'routing', 'op_type', 'version', 'version_type', 'if_seq_no', 'if_primary_term', 'retry_on_conflict', 'pipeline', '_source', 'require_alias', 'dynamic_templates', 'require_data_stream', 'list_executed_pipelines']);

function tokenName(v) {
  if (v === null) return 'VALUE_NULL';
  if (Array.isArray(v)) return 'START_ARRAY';
  switch (typeof v) {
    case 'string': return 'VALUE_STRING';
    case 'number': return 'VALUE_NUMBER';
    case 'boolean': return 'VALUE_BOOLEAN';
    default: return 'START_OBJECT';
  }
}

// True when a JSON object in `text` closes before the end of the line (ES 8's "unexpected data
// after the closing brace").
function closesEarly(text) {
  let depth = 0;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) { if (c === '\\') i++; else if (c === '"') inStr = false; continue; }
    if (c === '"') inStr = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return text.slice(i + 1).trim() !== '' && (() => { try { JSON.parse(text.slice(0, i + 1)); return true; } catch { return false; } })();
    }
  }
  return false;
}

// One action line through JSON.parse (or the FAST_ACTION match `fast`), validated as the
// engines do; returns the action without its source.
function parseAction(text, fast, actionLine, defaults, defaultOp) {
  let meta;
  if (fast) {
    // the shape nearly every client sends, without escapes: same result as JSON.parse
    const m = {};
    if (fast[2] !== undefined) m[fast[2]] = fast[3];
    if (fast[4] !== undefined) m[fast[4]] = fast[5];
    meta = { [fast[1]]: m };
  } else try {
    meta = JSON.parse(text);
  } catch (e) {
    if (flavour === 'es8' && /^\s*\{/.test(text) && closesEarly(text)) throw err.illegalArg(`Malformed action/metadata line [${actionLine}], unexpected data after the closing brace`);
    throw jsonParseError(e.message, text);
  }
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw err.illegalArg(`Malformed action/metadata line [${actionLine}], expected START_OBJECT but found [${tokenName(meta)}]`);
  }
  const keys = Object.keys(meta);
  if (keys.length === 0) throw err.illegalArg(`Malformed action/metadata line [${actionLine}], expected FIELD_NAME but found [END_OBJECT]`);
  const kind = keys[0];
  if (!ACTIONS.has(kind)) {
    // Elasticsearch (7.17, 8.x) and OpenSearch word this differently
    throw err.illegalArg(flavour === 'os2'
      ? `Malformed action/metadata line [${actionLine}], expected one of [create, delete, index, update] but found [${kind}]`
      : `Malformed action/metadata line [${actionLine}], expected field [create], [delete], [index] or [update] but found [${kind}]`);
  }
  const m = meta[kind];
  if (m === null || typeof m !== 'object' || Array.isArray(m)) {
    throw err.illegalArg(`Malformed action/metadata line [${actionLine}], expected START_OBJECT or END_OBJECT but found [${tokenName(m)}]`);
  }
  // ES 8 refuses anything after the action object; 7.17 and OpenSearch ignore it
  if (keys.length > 1 && flavour === 'es8') throw err.illegalArg(`Malformed action/metadata line [${actionLine}], expected END_OBJECT but found [FIELD_NAME]`);
  if (!fast) {
    for (const [k, v] of Object.entries(m)) {
      if (k === '_type' && flavour === 'es7') continue;
      if (!ACTION_FIELDS.has(k)) throw err.illegalArg(`Action/metadata line [${actionLine}] contains an unknown parameter [${k}]`);
      if (v !== null && typeof v === 'object' && k !== '_source' && k !== 'dynamic_templates') {
        throw err.illegalArg(`Malformed action/metadata line [${actionLine}], expected a simple value for field [${k}] but found [${tokenName(v)}]`);
      }
    }
  }
  // the fast-path line carries no options: one shared option block (never mutated)
  const op = fast && defaultOp ? defaultOp : writeOpts({
    routing: m.routing != null ? String(m.routing) : defaults.routing,
    version: m.version != null ? Number(m.version) : null,
    version_type: m.version_type,
    if_seq_no: m.if_seq_no != null ? Number(m.if_seq_no) : null,
    if_primary_term: m.if_primary_term != null ? Number(m.if_primary_term) : null,
    op_type: m.op_type,
    pipeline: m.pipeline ?? defaults.pipeline,
    retry_on_conflict: m.retry_on_conflict,
    require_alias: m.require_alias ?? defaults.requireAlias,
  });
  if (kind === 'update' && (op.version != null || (op.versionType != null && op.versionType !== 'internal'))) {
    throw err.illegalArg('Update requests do not support versioning. Please use `if_seq_no` and `if_primary_term` instead');
  }
  const a = { kind, index: m._index != null ? String(m._index) : defaults.index, id: m._id != null ? String(m._id) : null, op, line: actionLine };
  if (kind === 'update' && m._source !== undefined) a.fetch = m._source;
  if (kind === 'index' && op.opType === 'create') a.kind = 'create';
  return a;
}

// Action lines that differ only in their _id (dip writes every action of a bulk with the same
// index, version and version_type): the line with its _id value cut out, when the _id is the
// only "_id" of the line and no escape is anywhere in it (the value is then the text as is).
// parseBulk keeps, per request, what the first line of each shape parsed to.
function actionShape(text) {
  const at = text.indexOf('"_id":"');
  if (at < 0 || text.indexOf('\\') >= 0) return null;
  const s = at + 7;
  const e = text.indexOf('"', s);
  if (e < 0 || text.indexOf('"_id"') !== at || text.indexOf('"_id"', e) >= 0) return null;
  for (let i = s; i < e; i++) if (text.charCodeAt(i) < 32) return null;
  return { key: text.slice(0, s) + '\u0000' + text.slice(e), id: text.slice(s, e) };
}

// Parse the NDJSON body into actions, refusing the whole request exactly where the engines do.
// Returns {actions, text}: text is the whole body decoded, when it is all ASCII (else null).
function parseBulk(ctx, buf, defaults) {
  if (buf.length === 0) throw new EsError(400, 'parse_exception', 'request body is required');
  if (buf[buf.length - 1] !== 10) throw err.illegalArg('The bulk request must be terminated by a newline [\\n]');
  const actions = [];
  let pos = 0;
  let line = 0;
  const defaultOp = defaults.routing == null && defaults.pipeline == null && !defaults.requireAlias ? Object.freeze(writeOpts({})) : null;
  const shapes = new Map(); // action line shape (see actionShape) -> {kind, index, op}
  // One decode of the whole body; when it is ASCII (string and byte offsets agree) the lines
  // are slices of it, cheaper than decoding each line on its own.
  const str = buf.length < 256 * 1024 * 1024 ? buf.toString('utf8') : null;
  const ascii = str !== null && str.length === buf.length;
  while (pos < buf.length) {
    const nl = buf.indexOf(10, pos);
    if (nl < 0) break;
    line++;
    const text = ascii ? str.slice(pos, nl) : buf.toString('utf8', pos, nl);
    const actionLine = line;
    pos = nl + 1;
    if (text.trim() === '') continue;
    const fast = FAST_ACTION.exec(text);
    let a = null;
    let shape = null;
    if (!fast) {
      shape = actionShape(text);
      const t = shape && shapes.get(shape.key);
      if (t) a = { kind: t.kind, index: t.index, id: shape.id, op: t.op, line: actionLine };
    }
    if (a === null) {
      a = parseAction(text, fast, actionLine, defaults, defaultOp);
      // the _id is the only thing this line's shape lets vary: what else it parsed to holds
      // for every line of the shape (updates keep their own parse: their source is checked)
      if (shape && a.id === shape.id && a.kind !== 'update' && shapes.size < 256) {
        shapes.set(shape.key, { kind: a.kind, index: a.index, op: Object.freeze(a.op) });
      }
    }
    const kind = a.kind;
    if (kind !== 'delete') {
      const snl = buf.indexOf(10, pos);
      if (snl < 0) break; // an action without its source line is dropped, as the engines do
      line++;
      let end = snl;
      if (end > pos && buf[end - 1] === 13) end--;
      a.off = pos;
      a.len = end - pos;
      a.text = ascii ? str.slice(pos, end) : null;
      pos = snl + 1;
      if (kind === 'update') {
        let u;
        try {
          u = JSON.parse(a.text ?? buf.toString('utf8', a.off, a.off + a.len));
        } catch (e) {
          throw jsonParseError(e.message);
        }
        checkUpdateBody(u, line);
        a.update = u;
        if (u._source !== undefined) a.fetch = u._source;
        if (u.doc == null && u.script == null) a.noDoc = true;
      }
    }
    actions.push(a);
  }
  if (actions.length === 0) throw err.validation(['no requests added']);
  const problems = [];
  for (const a of actions) {
    validateWrite(a.kind, a.op, a.index, a.id, problems);
    if (a.noDoc) problems.push('script or doc is missing');
  }
  if (problems.length) throw err.validation(problems);
  return { actions, text: ascii ? str : null };
}

async function bulk(ctx, pathIndex) {
  const t0 = process.hrtime.bigint();
  const refresh = refreshMode(ctx);
  const defaults = {
    index: pathIndex || null,
    routing: ctx.params.get('routing'),
    pipeline: ctx.params.get('pipeline'),
    requireAlias: boolParam(ctx, 'require_alias', false),
  };
  const { actions, text } = parseBulk(ctx, ctx.body, defaults);
  // the documents keep the decoded text, not the body's bytes: its buffer can serve again
  const kept = ctx.plainBuf || ctx.bodyBuf;
  if (kept && text !== null) kept.reusable = true;
  stats.bulk_requests++;
  stats.bulk_items += actions.length;
  // same-_id overlap accounting: the keys this bulk holds until its answer is sent
  const keys = [];
  for (const a of actions) {
    if (a.id == null) continue;
    const k = `${a.index}\u0000${a.id}`;
    const n = heldIds.get(k) || 0;
    if (n > 0) stats.same_id_overlaps++;
    heldIds.set(k, n + 1);
    keys.push(k);
  }
  const release = () => {
    for (const k of keys) {
      const n = heldIds.get(k) - 1;
      if (n <= 0) heldIds.delete(k); else heldIds.set(k, n);
    }
    keys.length = 0;
  };
  ctx.res.once('close', release);
  if (ctx.fault && ctx.fault.delay_ms) await sleep(ctx.fault.delay_ms);
  const itemFault = faults && faults.item_status != null && (!faults.path || ctx.pathname.includes(faults.path)) ? faults : (ctx.fault && ctx.fault.item_status != null ? ctx.fault : null);
  const items = new Array(actions.length);
  const bulkLog = { body: ctx.body, text, ops: [], maps: [], fetch: ctx.params.get('_source') ?? undefined };
  let errors = false;
  const touched = new Set();
  try {
    for (let i = 0; i < actions.length; i++) {
      const a = actions[i];
      if (itemFault) {
        itemFaultAcc += itemFault.item_fraction;
        if (itemFaultAcc >= 1) {
          itemFaultAcc -= 1;
          stats.faults_injected++;
          errors = true;
          items[i] = { [a.kind]: injectedItem(a, itemFault.item_status, typed(ctx)) };
          continue;
        }
      }
      items[i] = bulkItem(a, touched, refresh === 'true', bulkLog, typed(ctx));
      if (items[i].failed) { errors = true; delete items[i].failed; }
    }
  } finally {
    // whatever was applied is logged, even if an unexpected error stops the loop
    if (bulkLog.ops.length) engine.logBulk(bulkLog.ops, bulkLog.maps, ctx.body);
  }
  if (refresh) for (const idx of touched) engine.refreshIndex(idx);
  const took = Number((process.hrtime.bigint() - t0) / 1000000n);
  // ES 8's chunked answer starts with errors; ES 7 and OpenSearch with took. ingest_took is
  // there when a pipeline ran.
  const ingest = actions.some((x) => (x.op.pipeline && x.op.pipeline !== '_none') || (x.idxRef && x.idxRef.settings['index.default_pipeline']));
  const resp = flavour === 'es8' ? { errors, took } : { took };
  if (ingest) resp.ingest_took = 0;
  if (flavour !== 'es8') resp.errors = errors;
  resp.items = items;
  send(ctx, 200, resp);
}

// An update asked for its source (`_source` in the action, the body or the URL) answers with a
// "get" block holding the document as written.
function addUpdateGet(o, idx, id, fetch) {
  if (fetch === undefined || fetch === false || fetch === 'false') return;
  const d = idx.docs.get(id);
  if (!d) return;
  const f = fetch === true || fetch === 'true' || fetch === '' ? null : sourceFilterFromBody(typeof fetch === 'string' ? fetch.split(',') : fetch);
  const g = { _seq_no: d.seq, _primary_term: 1 };
  if (d.routing != null) g._routing = d.routing;
  g.found = true;
  g._source = f ? applySourceFilter(srcOf(d), f) : new Raw(srcOf(d));
  o.get = g;
}

function injectedItem(a, status, withType) {
  const o = { _index: a.index };
  if (withType) o._type = '_doc';
  o._id = a.id;
  o.status = status;
  if (status === 429) o.error = { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1024, max_coordinating_and_primary_bytes=0] (injected by the dip ES test server)' };
  else if (status === 503) o.error = { type: 'unavailable_shards_exception', reason: `[${a.index}][0] primary shard is not active Timeout: [1m] (injected by the dip ES test server)` };
  else o.error = { type: 'exception', reason: 'internal error (injected by the dip ES test server)' };
  return o;
}

const validIndexNames = new Set();
function bulkItem(a, touched, forced, bulkLog, withType) {
  const kindName = a.kind;
  let idx = null;
  let id = a.id;
  const out = (o) => ({ [kindName]: o });
  try {
    if (!validIndexNames.has(a.index)) {
      validateIndexName(a.index);
      if (validIndexNames.size < 10000) validIndexNames.add(a.index);
    }
    idx = targetIndex(a.index, a.op, a.kind);
    a.idxRef = idx;
    touched.add(idx);
    if (id === '' && a.kind !== 'delete' && a.kind !== 'update') throw err.illegalArg('if _id is specified it must not be empty');
    if (id == null) id = autoId();
    if (a.op.pipeline && a.op.pipeline !== '_none' && !pipelines.has(a.op.pipeline)) throw err.illegalArg(`pipeline with id [${a.op.pipeline}] does not exist`);
    const r = applyWrite(a.kind, idx, a.op, id, a.kind === 'delete' || a.kind === 'update' ? null : bulkLog.body, a.update, bulkLog, a.text, a.off, a.len);
    const o = writeResult(idx, id, r, a.op.routing, forced && r.result !== 'noop', withType);
    if (a.kind === 'update') addUpdateGet(o, idx, id, a.fetch ?? (bulkLog.fetch || undefined));
    o.status = r.status;
    return out(o);
  } catch (e) {
    if (!(e instanceof EsError)) throw e;
    const o = { _index: idx ? idx.name : a.index };
    if (withType) o._type = '_doc';
    o._id = id;
    o.status = e.status;
    o.error = e.item();
    const res = out(o);
    res.failed = true;
    return res;
  }
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// ---- _mget ----------------------------------------------------------------------------------

function mget(ctx, pathIndex) {
  const body = bodyJson(ctx, true);
  let specs;
  if (Array.isArray(body.docs)) specs = body.docs;
  else if (Array.isArray(body.ids)) specs = body.ids.map((id) => ({ _id: id }));
  else throw err.validation(['no documents to get']);
  const problems = [];
  specs.forEach((s, i) => {
    if (!(s._index || pathIndex)) problems.push(`index is missing for doc ${i}`);
    if (s._id == null) problems.push(`id is missing for doc ${i}`);
  });
  if (problems.length) throw err.validation(problems);
  const qf = sourceFilterFromParams(ctx);
  const docs = specs.map((s) => {
    const name = s._index || pathIndex;
    const id = String(s._id);
    let idx;
    try {
      idx = engine.writeIndex(name);
    } catch (e) {
      idx = null;
    }
    if (!idx) {
      const e = err.indexNotFound(name);
      const o = { _index: name };
      if (typed(ctx)) o._type = null;
      o._id = id;
      o.error = { root_cause: e.rootCauses(), ...e.body() };
      return o;
    }
    const d = engine.getDoc(idx, id, s.routing ?? s._routing ?? ctx.params.get('routing'));
    const f = s._source !== undefined ? sourceFilterFromBody(s._source) : qf;
    return getResult(idx, id, d, f, typed(ctx));
  });
  send(ctx, 200, { docs });
}

// ---- search, count, scroll, point in time --------------------------------------------------

const scrolls = new Map(); // id -> {hits: [...], pos, size, keepAlive, expires, total, ...}
const pits = new Map(); // id -> {views: [{idx, docs}], keepAlive, expires, created}
let contextSeq = 1;

function sweepContexts() {
  const now = Date.now();
  for (const [id, s] of scrolls) if (s.expires < now) scrolls.delete(id);
  for (const [id, p] of pits) if (p.expires < now) pits.delete(id);
}
setInterval(sweepContexts, 1000).unref();

// Automatic refresh every index.refresh_interval (1s default) for indices searched lately.
setInterval(() => {
  const now = Date.now();
  for (const idx of engine.indices.values()) {
    if (!engine.pendingRefresh(idx)) continue;
    const ri = idx.settings['index.refresh_interval'];
    if (ri === '-1') continue;
    const every = ri ? parseTime(ri, 'index.refresh_interval') : 1000;
    if (now - (idx.lastRefresh || 0) < every) continue;
    if (!ri && now - idx.lastSearch > 30000) continue; // search idle: refreshed on next search
    idx.lastRefresh = now;
    engine.refreshIndex(idx);
  }
}, 250).unref();

function searchContextMissing(id) {
  const inner = new EsError(404, 'search_context_missing_exception', `No search context found for id [${id}]`);
  return searchPhaseFailure(404, inner, null, 'query');
}

function shardsBlock(n) {
  return { total: n, successful: n, skipped: 0, failed: 0 };
}

// Collect matching docs from the views, in engine order; returns [{idx, doc, src, ordinal, shardIndex}]
function collect(views, compiled) {
  const out = [];
  let shardBase = 0;
  for (const v of views) {
    const { idx, docs } = v;
    const af = v.aliasFilter;
    const needs = compiled.needsSource || (af && af.needsSource);
    for (let i = 0; i < docs.length; i++) {
      const d = docs[i];
      let src = null;
      if (needs) src = JSON.parse(srcText(d));
      if (af && !af.fn(src, d)) continue;
      if (compiled.fn(src, d)) out.push({ idx, doc: d, src, ordinal: i, shardIndex: shardBase + d.shard });
    }
    shardBase += idx.numShards;
  }
  return out;
}

function checkSearchParams(body) {
  const known = new Set(['query', 'size', 'from', 'sort', 'search_after', 'track_total_hits', '_source', 'pit', 'seq_no_primary_term', 'version', 'timeout', 'stored_fields', 'docvalue_fields', 'fields', 'track_scores', 'aggs', 'aggregations', 'highlight', 'explain', 'min_score', 'post_filter', 'terminate_after', 'slice', 'runtime_mappings', 'collapse', 'indices_boost', 'profile', 'rescore', 'script_fields', 'stats', 'suggest', 'ext']);
  for (const k of Object.keys(body)) {
    if (!known.has(k)) throw new EsError(400, 'parsing_exception', `Unknown key for a ${tokenName(body[k]) === 'START_OBJECT' ? 'START_OBJECT' : tokenName(body[k])} in [${k}].`, { line: 1, col: 1 });
  }
  for (const k of ['aggs', 'aggregations', 'highlight', 'suggest', 'collapse', 'rescore', 'script_fields', 'slice']) {
    if (body[k] !== undefined) throw err.illegalArg(`[${k}] is not supported by the dip ES test server`);
  }
}

function search(ctx, pathIndex) {
  const body = bodyJson(ctx) || {};
  checkSearchParams(body);
  const p = ctx.params;
  const scrollParam = p.get('scroll');
  let size = body.size ?? intParam(ctx, 'size', 10);
  let from = body.from ?? intParam(ctx, 'from', 0);
  let sort = body.sort;
  if (sort === undefined && p.get('sort')) sort = p.get('sort').split(',').map((s) => { const [f, o] = s.split(':'); return o ? { [f]: o } : f; });
  let query = body.query;
  const q = p.get('q');
  if (query === undefined && q) query = queryString(q);
  let views;
  let pit = null;
  if (body.pit) {
    if (pathIndex) throw err.validation(['[indices] cannot be used with point in time. Do not specify any index with point in time.']);
    if (scrollParam) throw err.validation(['using [point in time] is not allowed in a scroll context']);
    pit = pits.get(body.pit.id);
    if (!pit || pit.expires < Date.now()) throw searchContextMissing(contextSeq);
    if (body.pit.keep_alive) { pit.keepAlive = keepAlive(body.pit.keep_alive, 'keep_alive'); pit.expires = Date.now() + pit.keepAlive; }
    views = pit.views;
  } else {
    views = filteredViews(ctx, pathIndex);
  }
  if (size < 0) throw err.illegalArg(`[size] parameter cannot be negative, found [${size}]`);
  if (from < 0) throw err.illegalArg(`[from] parameter cannot be negative but was [${from}]`);
  const indexName = views.length ? views[0].idx.name : pathIndex;
  const maxWindow = views.length ? Math.min(...views.map((v) => Number(v.idx.settings['index.max_result_window'] || 10000))) : 10000;
  if (!scrollParam && from + size > maxWindow) {
    throw searchPhaseFailure(400, err.illegalArg(`Result window is too large, from + size must be less than or equal to: [${maxWindow}] but was [${from + size}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting.`), indexName);
  }
  if (scrollParam && size > maxWindow) {
    throw searchPhaseFailure(400, err.illegalArg(`Batch size is too large, size must be less than or equal to: [${maxWindow}] but was [${size}]. Scroll batch sizes cost as much memory as result windows so they are controlled by the [index.max_result_window] index level setting.`), indexName);
  }
  if (body.search_after && from > 0) throw err.validation(['[from] parameter must be set to 0 when [search_after] is used']);
  if (body.search_after && scrollParam) throw err.validation(['`search_after` cannot be used in a scroll context.']);
  const compiler = new QueryCompiler(flavour, views.map((v) => v.idx));
  const compiled = compiler.compile(query);
  let spec = compiler.sortSpec(sort, indexName);
  if (spec && !pit && spec.some((x) => x.kind === '_shard_doc')) {
    throw err.validation(['[_shard_doc] sort field cannot be used without [point in time]']);
  }
  if (pit && spec && F.pit === 'es' && !spec.some((s) => s.kind === '_shard_doc')) spec = [...spec, { field: '_shard_doc', desc: false, kind: '_shard_doc' }];
  let matches = collect(views, compiled);
  const total = matches.length;
  const pureFilter = isPureFilter(query);
  if (spec) {
    if (body.search_after && (!Array.isArray(body.search_after) || body.search_after.length !== spec.length)) {
      throw err.illegalArg(`search_after has ${Array.isArray(body.search_after) ? body.search_after.length : 0} value(s) but sort has ${spec.length}.`);
    }
    const after = body.search_after ? body.search_after.map((v, i) => (spec[i].conv && v !== null ? spec[i].conv(v) : v)) : null;
    const values = (m) => compiler.sortValues(spec, m.src || (spec.some((s) => s.kind === 'field') ? (m.src = JSON.parse(srcText(m.doc))) : null), m.doc, m.ordinal);
    if (naturalOrder(spec, views)) {
      // the matches are already in this order (a PIT dump by _shard_doc, one index by _doc):
      // no sort, search_after by binary search, sort values only for the page
      if (after) {
        let lo = 0, hi = matches.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (compareSort(spec, values(matches[mid]), after) > 0) hi = mid; else lo = mid + 1;
        }
        matches = matches.slice(lo);
      }
      for (const m of matches.slice(from, from + size)) m.sort = values(m);
      if (scrollParam) for (const m of matches) if (!m.sort) m.sort = values(m);
    } else {
      for (const m of matches) m.sort = values(m);
      const tie = (a, b) => a.shardIndex - b.shardIndex || a.ordinal - b.ordinal;
      matches.sort((a, b) => compareSort(spec, a.sort, b.sort) || tie(a, b));
      if (after) matches = matches.filter((m) => compareSort(spec, m.sort, after) > 0);
    }
  } else if (body.search_after) {
    throw err.illegalArg('Sort must contain at least one field.');
  }
  // scores are floats to the engines: printed 1.0 / 0.0, not 1 / 0
  const score = new Raw(pureFilter ? '0.0' : '1.0');
  const trackScores = !spec || spec.some((s) => s.kind === '_score') || body.track_scores;
  const opts = { spec, score: trackScores ? score : null, seqNo: body.seq_no_primary_term || p.get('seq_no_primary_term') === 'true', version: body.version || p.get('version') === 'true', source: body._source !== undefined ? sourceFilterFromBody(body._source) : sourceFilterFromParams(ctx) };
  const resp = {};
  if (pit) resp.pit_id = body.pit.id;
  if (scrollParam) {
    const ka = keepAlive(scrollParam, 'scroll');
    const id = Buffer.from(`dip-scroll:${contextSeq++}:${Math.random().toString(36).slice(2)}`).toString('base64url');
    const sc = { hits: matches, pos: size, size, keepAlive: ka, expires: Date.now() + ka, total, opts, shards: views.reduce((n, v) => n + v.idx.numShards, 0), trackTotal: body.track_total_hits };
    scrolls.set(id, sc);
    resp._scroll_id = id;
    from = 0;
  }
  // the engines print _scroll_id and pit_id before took
  resp.took = 1;
  resp.timed_out = false;
  resp._shards = shardsBlock(views.reduce((n, v) => n + v.idx.numShards, 0));
  resp.hits = hitsBlock(ctx, total, matches.slice(from, from + size), opts, body.track_total_hits);
  if (ctx.capture) return resp; // one search of an _msearch
  send(ctx, 200, resp);
}

// _msearch: header / body line pairs, each search run as on its own; a failed one answers its
// error in its place. Header keys the engines take per search become that search's params.
const MSEARCH_HEADER = new Set(['index', 'search_type', 'preference', 'routing', 'request_cache', 'ignore_unavailable', 'allow_no_indices', 'expand_wildcards', 'ccs_minimize_roundtrips', 'allow_partial_search_results', 'ignore_throttled']);
function msearch(ctx, pathIndex) {
  const buf = ctx.body;
  if (!buf || buf.length === 0) throw err.validation(['no requests added']);
  if (buf[buf.length - 1] !== 10) throw err.illegalArg('The msearch request must be terminated by a newline [\\n]');
  const lines = buf.toString('utf8').split('\n');
  lines.pop();
  const responses = [];
  const t0 = Date.now();
  for (let i = 0; i < lines.length; i += 2) {
    let header;
    try {
      header = lines[i].trim() === '' ? {} : JSON.parse(lines[i]);
    } catch (e) {
      throw jsonParseError(e.message, lines[i]);
    }
    if (header === null || typeof header !== 'object' || Array.isArray(header)) throw err.illegalArg(`msearch action metadata line [${i + 1}] is malformed: expected an object`);
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(header)) {
      if (!MSEARCH_HEADER.has(k)) throw err.illegalArg(`key [${k}] is not supported in the metadata section`);
      if (k !== 'index') params.set(k, String(v));
    }
    const index = header.index !== undefined ? [].concat(header.index).join(',') : pathIndex;
    if (i + 1 >= lines.length) throw err.validation(['no requests added']);
    const sub = { ...ctx, params, body: Buffer.from(lines[i + 1]), capture: true };
    try {
      const r = search(sub, index);
      r.status = 200;
      responses.push(r);
    } catch (e) {
      if (!(e instanceof EsError)) throw e;
      responses.push(e.toJSON());
    }
  }
  if (!responses.length) throw err.validation(['no requests added']);
  send(ctx, 200, { took: Date.now() - t0, responses });
}


// APIs of the real engines this double does not have: refused with a clear reason rather than
// routed as an index name (which is what the engines do with an unknown "_foo").
const UNSUPPORTED = new Set(['_reindex', '_delete_by_query', '_update_by_query', '_stats', '_analyze', '_close', '_open', '_termvectors', '_mtermvectors', '_explain', '_field_caps', '_validate', '_rank_eval', '_search_shards', '_shrink', '_split', '_clone', '_rollover', '_template', '_index_template', '_component_template', '_data_stream', '_resolve', '_snapshot', '_tasks', '_security', '_license', '_xpack', '_ilm', '_ism', '_plugins', '_opendistro', '_sql', '_eql', '_scripts', '_render', '_segments', '_recovery', '_shard_stores', '_upgrade', '_cache', '_disk_usage', '_field_usage_stats', '_async_search', '_ccr', '_transform', '_ml', '_rollup', '_graph', '_watcher', '_enrich', '_fleet', '_features', '_migration', '_autoscaling', '_searchable_snapshots', '_text_structure', '_knn_search', '_terms_enum', '_count_by_query']);
function unsupported(ctx, name) {
  send(ctx, 400, new EsError(400, 'illegal_argument_exception', `[${name}] (${ctx.req.method} ${ctx.pathname}) is not supported by the dip ES test server`).toJSON());
}

// The searchable views of an index expression, each with the filters of the aliases that
// reached it (an index reached by name or through an unfiltered alias has none).
function filteredViews(ctx, expr) {
  const filters = new Map();
  const list = engine.resolve(expr, { ignoreUnavailable: boolParam(ctx, 'ignore_unavailable', false), allowNoIndices: boolParam(ctx, 'allow_no_indices', true), filters });
  return list.map((idx) => {
    const f = filters.get(idx.name);
    const v = { idx, docs: engine.visibleDocs(idx) };
    if (f) v.aliasFilter = new QueryCompiler(flavour, [idx]).compile(f.length === 1 ? f[0] : { bool: { should: f } });
    return v;
  });
}

// True when a sort spec is the order the matches are collected in: ascending _shard_doc (with
// _doc before it, or alone), or ascending _doc over a single index.
function naturalOrder(spec, views) {
  if (!spec.every((s) => !s.desc && (s.kind === '_doc' || s.kind === '_shard_doc'))) return false;
  if (spec[0].kind === '_shard_doc') return true;
  return views.length === 1;
}

function isPureFilter(q) {
  if (!q) return false;
  if (q.bool) return !q.bool.must && !q.bool.should;
  return false;
}

// A minimal Lucene query string: "*", "field:value", "_id:value", "value".
function queryString(q) {
  if (q === '*' || q === '*:*') return { match_all: {} };
  const m = /^([^:]+):(.*)$/.exec(q);
  if (m) {
    const v = m[2].replace(/^"(.*)"$/, '$1');
    return m[1] === '_id' ? { ids: { values: [v] } } : { match: { [m[1]]: v } };
  }
  throw err.illegalArg(`the dip ES test server understands q=* and q=field:value only, not [${q}]`);
}

function hitsBlock(ctx, total, page, opts, trackTotal) {
  const hits = {};
  const restInt = ctx.params.get('rest_total_hits_as_int') === 'true' || ctx.params.get('rest_total_hits_as_int') === '';
  if (trackTotal !== false) {
    const limit = trackTotal === true ? Infinity : typeof trackTotal === 'number' ? trackTotal : 10000;
    const t = total > limit ? { value: limit, relation: 'gte' } : { value: total, relation: 'eq' };
    hits.total = restInt ? total : t;
  } else if (restInt) hits.total = -1;
  hits.max_score = opts.score === null || page.length === 0 ? (opts.score === null ? null : page.length ? opts.score : null) : opts.score;
  hits.hits = page.map((m) => {
    const h = { _index: m.idx.name };
    if (typed(ctx)) h._type = '_doc';
    h._id = m.doc.id;
    if (opts.version) h._version = m.doc.v;
    if (opts.seqNo) { h._seq_no = m.doc.seq; h._primary_term = 1; }
    h._score = opts.score;
    if (m.doc.routing != null) h._routing = m.doc.routing;
    if (opts.source !== false) h._source = opts.source ? applySourceFilter(srcOf(m.doc), opts.source) : new Raw(srcOf(m.doc));
    if (opts.spec) h.sort = m.sort.map((v, i) => printedSortValue(opts.spec[i], v));
    return h;
  });
  return hits;
}

function scrollNext(ctx, pathId) {
  const body = bodyJson(ctx) || {};
  const id = pathId || body.scroll_id || ctx.params.get('scroll_id');
  if (!id) throw err.validation(['scrollId is missing']);
  let valid = false;
  try { valid = Buffer.from(id, 'base64url').toString().startsWith('dip-scroll:'); } catch { valid = false; }
  if (!valid) throw err.illegalArg('Cannot parse scroll id');
  const sc = scrolls.get(id);
  if (!sc || sc.expires < Date.now()) throw searchContextMissing(Buffer.from(id, 'base64url').toString().split(':')[1]);
  const ka = body.scroll || ctx.params.get('scroll');
  if (ka) sc.keepAlive = keepAlive(ka, 'scroll');
  sc.expires = Date.now() + sc.keepAlive;
  const page = sc.hits.slice(sc.pos, sc.pos + sc.size);
  sc.pos += sc.size;
  const resp = { _scroll_id: id, took: 1, timed_out: false, _shards: shardsBlock(sc.shards), hits: hitsBlock(ctx, sc.total, page, sc.opts, sc.trackTotal) };
  send(ctx, 200, resp);
}

function clearScroll(ctx, pathId) {
  const body = bodyJson(ctx) || {};
  // the body's scroll_id wins over the path / query string (scroll/11_clear.yml)
  let ids = body.scroll_id ?? (pathId ? pathId.split(',') : ctx.params.get('scroll_id') ? ctx.params.get('scroll_id').split(',') : []);
  if (!Array.isArray(ids)) ids = [ids];
  let freed = 0;
  if (ids.includes('_all')) { freed = scrolls.size; scrolls.clear(); }
  else {
    for (const id of ids) {
      let valid = false;
      try { valid = Buffer.from(id, 'base64url').toString().startsWith('dip-scroll:'); } catch { valid = false; }
      if (!valid) throw err.illegalArg('Cannot parse scroll id');
      if (scrolls.delete(id)) freed++;
    }
  }
  send(ctx, freed === 0 && ids.length ? 404 : 200, { succeeded: true, num_freed: freed });
}

function openPit(ctx, expr, keepAliveParam) {
  if (!keepAliveParam) throw err.validation(['[keep_alive] is not specified']);
  const ka = keepAlive(keepAliveParam, 'keep_alive');
  const views = filteredViews(ctx, expr);
  const list = views.map((v) => v.idx);
  const n = contextSeq++;
  const id = Buffer.from(`dip-pit:${n}:${Math.random().toString(36).slice(2)}:${list.map((i) => i.name).join(',')}`).toString('base64');
  const created = Date.now();
  pits.set(id, { views, keepAlive: ka, expires: created + ka, created });
  const shards = shardsBlock(list.reduce((s, i) => s + i.numShards, 0));
  if (F.pit === 'os') send(ctx, 200, { pit_id: id, _shards: shards, creation_time: created });
  else if (flavour === 'es7') send(ctx, 200, { id });
  else send(ctx, 200, { id, _shards: shards });
}

function closePitEs(ctx) {
  const body = bodyJson(ctx, true);
  if (!body.id) throw err.validation(['point in time id is not specified']);
  const ok = pits.delete(body.id);
  send(ctx, ok ? 200 : 404, { succeeded: true, num_freed: ok ? 1 : 0 });
}

function closePitOs(ctx, all) {
  let ids;
  if (all) ids = [...pits.keys()];
  else {
    const body = bodyJson(ctx, true);
    ids = Array.isArray(body.pit_id) ? body.pit_id : [body.pit_id];
  }
  const out = ids.map((id) => ({ successful: pits.delete(id), pit_id: id }));
  if (!all && out.every((o) => !o.successful)) throw new EsError(404, 'illegal_argument_exception', 'pit_id is not found');
  send(ctx, 200, { pits: out });
}

function listPitsOs(ctx) {
  send(ctx, 200, { pits: [...pits.entries()].map(([id, p]) => ({ pit_id: id, creation_time: p.created, keep_alive: p.keepAlive })) });
}

function count(ctx, pathIndex) {
  const body = bodyJson(ctx) || {};
  for (const k of Object.keys(body)) if (k !== 'query') throw new EsError(400, 'parsing_exception', `request does not support [${k}]`, { line: 1, col: 3 });
  const views = filteredViews(ctx, pathIndex);
  const list = views.map((v) => v.idx);
  let query = body.query;
  if (query === undefined && ctx.params.get('q')) query = queryString(ctx.params.get('q'));
  let n = 0;
  if ((!query || query.match_all) && !views.some((v) => v.aliasFilter)) {
    for (const idx of list) { engine.searched(idx); n += engine.visibleCount(idx); }
  } else {
    const compiler = new QueryCompiler(flavour, list);
    n = collect(views, compiler.compile(query)).length;
  }
  send(ctx, 200, { count: n, _shards: shardsBlock(list.reduce((s, i) => s + i.numShards, 0)) });
}

// _refresh, and _flush / _forcemerge (nothing to do in memory: `refreshes` false): the
// engines' answer counts the shards of the indices named.
function refresh(ctx, expr, refreshes = true) {
  const list = engine.resolve(expr, { ignoreUnavailable: boolParam(ctx, 'ignore_unavailable', false) });
  let shards = 0, total = 0;
  for (const idx of list) {
    if (refreshes) engine.refreshIndex(idx);
    shards += idx.numShards;
    total += idx.numShards * (1 + idx.replicas);
  }
  send(ctx, 200, { _shards: { total, successful: shards, failed: 0 } });
}

// ---- _cat/indices ----------------------------------------------------------------------------

function storeBytes(idx) {
  // Lucene stores roughly the source plus per-document overhead; the figure only needs to grow
  // with the data like the real one does.
  return idx.sourceBytes + idx.docs.size * 24 + idx.numShards * 225;
}

function humanBytes(n) {
  const units = [['pb', 2 ** 50], ['tb', 2 ** 40], ['gb', 2 ** 30], ['mb', 2 ** 20], ['kb', 2 ** 10]];
  for (const [u, m] of units) if (n >= m) return `${+(n / m).toFixed(1)}${u}`;
  return `${n}b`;
}

function catIndices(ctx, expr) {
  const list = expr ? engine.resolve(expr) : [...engine.indices.values()];
  const bytesUnit = ctx.params.get('bytes');
  const fmt = (n) => {
    if (!bytesUnit) return humanBytes(n);
    const div = { b: 1, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30, tb: 2 ** 40, pb: 2 ** 50 }[bytesUnit] || 1;
    return String(Math.floor(n / div));
  };
  const cols = ['health', 'status', 'index', 'uuid', 'pri', 'rep', 'docs.count', 'docs.deleted', 'store.size', 'pri.store.size'];
  if (flavour === 'es8') cols.push('dataset.size');
  let rows = list.map((idx) => {
    const h = healthOf([idx]);
    const sz = storeBytes(idx);
    const r = { health: h.status, status: 'open', index: idx.name, uuid: idx.uuid, pri: String(idx.numShards), rep: String(idx.replicas), 'docs.count': String(engine.visibleCount(idx)), 'docs.deleted': String(engine.deletedCount(idx)), 'store.size': fmt(sz), 'pri.store.size': fmt(sz) };
    if (flavour === 'es8') r['dataset.size'] = fmt(sz);
    return r;
  });
  let shown = cols;
  const h = ctx.params.get('h');
  if (h) shown = h.split(',').filter((c) => cols.includes(c));
  const s = ctx.params.get('s');
  if (s) {
    const [field, order] = s.split(':');
    rows.sort((a, b) => {
      const x = a[field], y = b[field];
      const c = /^\d+$/.test(x) && /^\d+$/.test(y) ? Number(x) - Number(y) : x < y ? -1 : x > y ? 1 : 0;
      return order === 'desc' ? -c : c;
    });
  }
  catTable(ctx, shown, rows, new Set(['pri', 'rep', 'docs.count', 'docs.deleted', 'store.size', 'pri.store.size', 'dataset.size']));
}

// A _cat answer: JSON rows with format=json, else aligned text (numbers right-aligned, a
// header line with ?v).
function catTable(ctx, shown, rows, numeric) {
  rows = rows.map((r) => Object.fromEntries(shown.map((c) => [c, r[c]])));
  if (ctx.params.get('format') === 'json') return send(ctx, 200, rows);
  const header = ctx.params.get('v') === '' || ctx.params.get('v') === 'true';
  const table = header ? [Object.fromEntries(shown.map((c) => [c, c])), ...rows] : rows;
  const width = shown.map((c) => Math.max(...table.map((r) => String(r[c]).length), 0));
  const text = table.map((r, ri) => shown.map((c, i) => {
    const v = String(r[c]);
    return numeric.has(c) && !(header && ri === 0) ? v.padStart(width[i]) : v.padEnd(width[i]);
  }).join(' ').replace(/\s+$/, '') + '\n').join('');
  return send(ctx, 200, text, { 'content-type': 'text/plain; charset=UTF-8' });
}

function catAliases(ctx, names) {
  const wanted = names ? names.split(',') : null;
  const rows = [];
  for (const idx of engine.indices.values()) {
    for (const [a, d] of idx.aliases) {
      if (wanted && !wanted.includes(a)) continue;
      rows.push({ alias: a, index: idx.name, filter: d.filter ? '*' : '-', 'routing.index': d.index_routing ?? '-', 'routing.search': d.search_routing ?? '-', is_write_index: d.is_write_index === undefined ? '-' : String(d.is_write_index) });
    }
  }
  const cols = ['alias', 'index', 'filter', 'routing.index', 'routing.search', 'is_write_index'];
  const h = ctx.params.get('h');
  return catTable(ctx, h ? h.split(',').filter((c) => cols.includes(c)) : cols, rows, new Set());
}

function catCount(ctx, expr) {
  const list = engine.resolve(expr);
  let n = 0;
  for (const idx of list) { engine.searched(idx); n += engine.visibleCount(idx); }
  const now = Date.now();
  const d = new Date(now);
  const hms = [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()].map((x) => String(x).padStart(2, '0')).join(':');
  return catTable(ctx, ['epoch', 'timestamp', 'count'], [{ epoch: String(Math.floor(now / 1000)), timestamp: hms, count: String(n) }], new Set(['epoch', 'count']));
}

// ---- URL parameters ------------------------------------------------------------------------------

// The engines refuse URL parameters a handler does not consume (BaseRestHandler), suggesting
// close names. Checked for the write and get APIs, whose lists come from rest-api-spec.
const GLOBAL_PARAMS = ['pretty', 'human', 'error_trace', 'filter_path', 'source', 'source_content_type'];
const WRITE_COMMON = ['wait_for_active_shards', 'refresh', 'routing', 'timeout'];
const API_PARAMS = {
  bulk: [...WRITE_COMMON, 'type', '_source', '_source_excludes', '_source_includes', 'pipeline', 'require_alias', 'require_data_stream', 'list_executed_pipelines', 'include_source_on_error'],
  index: [...WRITE_COMMON, 'op_type', 'version', 'version_type', 'if_seq_no', 'if_primary_term', 'pipeline', 'require_alias', 'require_data_stream', 'list_executed_pipelines', 'include_source_on_error'],
  create: [...WRITE_COMMON, 'version', 'version_type', 'pipeline', 'require_alias', 'require_data_stream', 'include_source_on_error'],
  delete: [...WRITE_COMMON, 'if_seq_no', 'if_primary_term', 'version', 'version_type'],
  update: [...WRITE_COMMON, '_source', '_source_excludes', '_source_includes', 'lang', 'retry_on_conflict', 'if_seq_no', 'if_primary_term', 'require_alias', 'include_source_on_error'],
  get: ['stored_fields', 'preference', 'realtime', 'refresh', 'routing', '_source', '_source_excludes', '_source_includes', 'version', 'version_type'],
};


function checkParams(ctx, api) {
  const known = new Set([...GLOBAL_PARAMS, ...API_PARAMS[api]]);
  const bad = [...new Set([...ctx.params.keys()].filter((k) => !known.has(k)))];
  if (!bad.length) return;
  const parts = bad.map((p) => {
    const cands = [...known].map((k) => [k, similarity(p, k)]).filter(([, d]) => d > 0.5).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([k]) => k);
    if (!cands.length) return `[${p}]`;
    return cands.length === 1 ? `[${p}] -> did you mean [${cands[0]}]?` : `[${p}] -> did you mean any of [${cands.join(', ')}]?`;
  });
  throw err.illegalArg(`request [${ctx.pathname}] contains unrecognized parameter${bad.length > 1 ? 's' : ''}: ${parts.join(', ')}`);
}

// ---- routing ---------------------------------------------------------------------------------

function methodNotAllowed(ctx, allowed) {
  send(ctx, 405, { error: `Incorrect HTTP method for uri [${ctx.req.url}] and method [${ctx.req.method}], allowed: [${allowed.join(', ')}]`, status: 405 }, { Allow: allowed.join(',') });
}

async function route(ctx) {
  const m = ctx.req.method;
  const segs = ctx.segs;
  const [a, b, c, d] = segs;
  const n = segs.length;
  const is = (...methods) => methods.includes(m);
  if (n === 0) {
    if (is('GET', 'HEAD')) return send(ctx, 200, rootInfo());
    return methodNotAllowed(ctx, ['GET', 'HEAD']);
  }
  if (a === '_bulk' && n === 1) return is('POST', 'PUT') ? (checkParams(ctx, 'bulk'), bulk(ctx, null)) : methodNotAllowed(ctx, ['POST', 'PUT']);
  if (a === '_cluster' && b === 'health') return is('GET') ? clusterHealth(ctx, c) : methodNotAllowed(ctx, ['GET']);
  if (a === '_cat' && b === 'indices') return is('GET') ? catIndices(ctx, c) : methodNotAllowed(ctx, ['GET']);
  if (a === '_cat' && b === 'aliases') return is('GET') ? catAliases(ctx, c) : methodNotAllowed(ctx, ['GET']);
  if (a === '_cat' && b === 'count') return is('GET') ? catCount(ctx, c) : methodNotAllowed(ctx, ['GET']);
  if (a === '_cat' && b === 'health' && is('GET')) {
    const h = healthOf([...engine.indices.values()]);
    const row = ctx.params.get('format') === 'json' ? [{ epoch: String(Math.floor(Date.now() / 1000)), cluster: F.clusterName, status: h.status }] : `${Math.floor(Date.now() / 1000)} ${F.clusterName} ${h.status}\n`;
    return send(ctx, 200, row, typeof row === 'string' ? { 'content-type': 'text/plain; charset=UTF-8' } : {});
  }
  if (a === '_aliases' && n === 1) {
    if (is('POST')) return updateAliases(ctx);
    if (is('GET')) return getAliases(ctx, null, null);
    return methodNotAllowed(ctx, ['GET', 'POST']);
  }
  if (a === '_alias') {
    if (is('GET', 'HEAD')) return getAliases(ctx, null, b || null);
    return methodNotAllowed(ctx, ['GET', 'HEAD']);
  }
  if (a === '_mapping' && n === 1 && is('GET')) return send(ctx, 200, Object.fromEntries([...engine.indices.values()].map((i) => [i.name, { mappings: mappingView(i) }])));
  if (a === '_settings' && n === 1 && is('GET')) return send(ctx, 200, Object.fromEntries([...engine.indices.values()].map((i) => [i.name, { settings: indexSettingsView(i) }])));
  if (a === '_mget' && n === 1) return is('GET', 'POST') ? mget(ctx, null) : methodNotAllowed(ctx, ['GET', 'POST']);
  if (a === '_count' && n === 1) return is('GET', 'POST') ? count(ctx, null) : methodNotAllowed(ctx, ['GET', 'POST']);
  if (a === '_refresh' && n === 1) return is('GET', 'POST') ? refresh(ctx, null) : methodNotAllowed(ctx, ['GET', 'POST']);
  if (a === '_search') {
    if (n === 1) return is('GET', 'POST') ? search(ctx, null) : methodNotAllowed(ctx, ['GET', 'POST']);
    if (b === 'scroll') {
      if (is('GET', 'POST')) return scrollNext(ctx, c);
      if (is('DELETE')) return clearScroll(ctx, c);
      return methodNotAllowed(ctx, ['GET', 'POST', 'DELETE']);
    }
    if (b === 'point_in_time' && F.pit === 'os') {
      if (c === '_all' && is('GET')) return listPitsOs(ctx);
      if (is('DELETE')) return closePitOs(ctx, c === '_all');
    }
  }
  if (a === '_pit' && n === 1 && F.pit === 'es') return is('DELETE') ? closePitEs(ctx) : methodNotAllowed(ctx, ['DELETE']);
  if (a === '_ingest' && b === 'pipeline') {
    if (is('PUT') && c) { pipelines.put(c, bodyJson(ctx, true)); return send(ctx, 200, { acknowledged: true }); }
    if (is('GET')) { const r = pipelines.get(c); return send(ctx, r ? 200 : 404, r || {}); }
    if (is('DELETE') && c) { pipelines.delete(c); return send(ctx, 200, { acknowledged: true }); }
  }
  if (a === '_msearch' && n === 1) return is('GET', 'POST') ? msearch(ctx, null) : methodNotAllowed(ctx, ['GET', 'POST']);
  if ((a === '_flush' || a === '_forcemerge') && n === 1) return is('POST', 'GET') ? refresh(ctx, null, false) : methodNotAllowed(ctx, ['GET', 'POST']);
  if (UNSUPPORTED.has(a) || (a === '_cluster' && b !== 'health')) return unsupported(ctx, a);
  if (a === '_nodes' && is('GET')) {
    return send(ctx, 200, { _nodes: { total: 1, successful: 1, failed: 0 }, cluster_name: F.clusterName, nodes: { [NODE_ID]: { name: NODE_NAME, transport_address: '127.0.0.1:9300', host: '127.0.0.1', ip: '127.0.0.1', version: F.version.number, roles: ['data', 'ingest', 'master'], http: { publish_address: `127.0.0.1:${ctx.port}` } } } });
  }
  // any other first segment is an index name (the engines' /{index} routes take "_foo" too
  // and refuse it as an invalid index name)
  // /{index}...
  const index = a;
  if (n === 1) {
    if (is('PUT')) return createIndex(ctx, index);
    if (is('DELETE')) return deleteIndex(ctx, index);
    if (is('HEAD')) {
      try {
        const l = engine.resolve(index, { allowNoIndices: false });
        return send(ctx, l.length ? 200 : 404, null);
      } catch (e) {
        return send(ctx, 404, null);
      }
    }
    if (is('GET')) return getIndex(ctx, index);
    return methodNotAllowed(ctx, ['PUT', 'DELETE', 'HEAD', 'GET']);
  }
  switch (b) {
    case '_bulk': return is('POST', 'PUT') ? (checkParams(ctx, 'bulk'), bulk(ctx, index)) : methodNotAllowed(ctx, ['POST', 'PUT']);
    case '_doc':
      if (n === 2) return is('POST') ? (checkParams(ctx, 'index'), singleWrite(ctx, 'index', index, null)) : methodNotAllowed(ctx, ['POST']);
      if (is('PUT', 'POST')) return checkParams(ctx, 'index'), singleWrite(ctx, 'index', index, c);
      if (is('GET', 'HEAD')) return checkParams(ctx, 'get'), getDoc(ctx, index, c);
      if (is('DELETE')) return checkParams(ctx, 'delete'), singleWrite(ctx, 'delete', index, c);
      return methodNotAllowed(ctx, ['GET', 'HEAD', 'PUT', 'POST', 'DELETE']);
    case '_create':
      if (n === 3 && is('PUT', 'POST')) return checkParams(ctx, 'create'), singleWrite(ctx, 'create', index, c);
      return methodNotAllowed(ctx, ['PUT', 'POST']);
    case '_update':
      if (n === 3 && is('POST')) return checkParams(ctx, 'update'), singleWrite(ctx, 'update', index, c);
      return methodNotAllowed(ctx, ['POST']);
    case '_source':
      if (n === 3 && is('GET', 'HEAD')) return getSource(ctx, index, c);
      return methodNotAllowed(ctx, ['GET', 'HEAD']);
    case '_mget': return is('GET', 'POST') ? mget(ctx, index) : methodNotAllowed(ctx, ['GET', 'POST']);
    case '_msearch': return is('GET', 'POST') ? msearch(ctx, index) : methodNotAllowed(ctx, ['GET', 'POST']);
    case '_flush': case '_forcemerge': return is('GET', 'POST') ? refresh(ctx, index, false) : methodNotAllowed(ctx, ['GET', 'POST']);
    case '_count': return is('GET', 'POST') ? count(ctx, index) : methodNotAllowed(ctx, ['GET', 'POST']);
    case '_refresh': return is('GET', 'POST') ? refresh(ctx, index) : methodNotAllowed(ctx, ['GET', 'POST']);
    case '_search':
      if (n === 2) return is('GET', 'POST') ? search(ctx, index) : methodNotAllowed(ctx, ['GET', 'POST']);
      if (c === 'point_in_time' && F.pit === 'os' && is('POST')) return openPit(ctx, index, ctx.params.get('keep_alive'));
      break;
    case '_pit':
      if (F.pit === 'es') return is('POST') ? openPit(ctx, index, ctx.params.get('keep_alive')) : methodNotAllowed(ctx, ['POST']);
      break;
    case '_mapping': case '_mappings':
      if (is('GET')) return send(ctx, 200, Object.fromEntries(engine.resolve(index).map((i) => [i.name, { mappings: mappingView(i) }])));
      if (is('PUT', 'POST')) return putMapping(ctx, index);
      return methodNotAllowed(ctx, ['GET', 'PUT', 'POST']);
    case '_settings':
      if (is('GET')) return send(ctx, 200, Object.fromEntries(engine.resolve(index).map((i) => [i.name, { settings: indexSettingsView(i) }])));
      if (is('PUT')) { const body = bodyJson(ctx, true); for (const i of engine.resolve(index)) engine.putSettings(i, body); return send(ctx, 200, { acknowledged: true }); }
      return methodNotAllowed(ctx, ['GET', 'PUT']);
    case '_alias': case '_aliases':
      if (is('GET', 'HEAD')) return getAliases(ctx, index, c || null);
      if (is('PUT', 'POST') && c) return putAlias(ctx, index, c);
      if (is('DELETE') && c) return deleteAlias(ctx, index, c);
      return methodNotAllowed(ctx, ['GET', 'HEAD', 'PUT', 'POST', 'DELETE']);
    default:
      if (UNSUPPORTED.has(b)) return unsupported(ctx, b);
      break;
  }
  if (d === undefined && b && !b.startsWith('_')) {
    // ES 7 typed endpoints (/{index}/{type}/{id}) are gone in 8; 7.17 still routes them
    if (flavour === 'es7' && n === 3 && is('PUT', 'POST', 'GET', 'DELETE', 'HEAD')) {
      ctx.segs = [a, '_doc', c];
      return route(ctx);
    }
  }
  send(ctx, 400, { error: `no handler found for uri [${ctx.req.url}] and method [${m}]`, status: 400 });
}

// ---- admin ----------------------------------------------------------------------------------

function admin(ctx) {
  const m = ctx.req.method;
  if (ctx.segs[1] === 'faults') {
    if (m === 'PUT' || m === 'POST') { setFaults(bodyJson(ctx) || {}); return send(ctx, 200, { acknowledged: true }); }
    if (m === 'DELETE') { faults = null; return send(ctx, 200, { acknowledged: true }); }
    if (m === 'GET') return send(ctx, 200, faults ? { ...faults, remaining: faults.remaining === Infinity ? null : faults.remaining } : {});
  }
  if (ctx.segs[1] === 'stats') {
    if (m === 'GET') return send(ctx, 200, { ...stats, in_flight: inflight - 1, memory: process.memoryUsage() });
    if (m === 'DELETE') { for (const k of Object.keys(stats)) stats[k] = 0; return send(ctx, 200, { acknowledged: true }); }
  }
  send(ctx, 400, { error: `no handler found for uri [${ctx.req.url}] and method [${m}]`, status: 400 });
}

// ---- server ---------------------------------------------------------------------------------

function decodePath(p) {
  return p.split('/').filter((s) => s !== '').map((s) => {
    try { return decodeURIComponent(s); } catch { return s; }
  });
}

// Bulk bodies are read into buffers kept for the next requests. A fresh buffer per request
// lives through the request, so it is promoted to V8's old generation, and V8 runs a full
// garbage collection about every 64 MB of such external memory: 36 of them for 1,000,000
// books, each marking every stored document (a third of the server's CPU at that size). A
// buffer (ctx.bodyBuf as received, ctx.plainBuf decompressed) is only reused when nothing
// kept it (.reusable: the documents keep the decoded text) and after the log write holding it.
const bodyPool = { free: [], bytes: 0 };
const BODY_POOL_BYTES = 256 << 20;

function takeBodyBuf(n) {
  let best = -1;
  for (let i = 0; i < bodyPool.free.length; i++) {
    const b = bodyPool.free[i];
    if (b.length >= n && (best < 0 || b.length < bodyPool.free[best].length)) best = i;
  }
  if (best < 0) return Buffer.allocUnsafeSlow(Math.ceil(n / (1 << 20)) * (1 << 20));
  const b = bodyPool.free.splice(best, 1)[0];
  bodyPool.bytes -= b.length;
  b.reusable = false;
  return b;
}

function giveBodyBuf(b, logWritten) {
  if (!b.reusable) return;
  const back = () => {
    if (bodyPool.bytes + b.length > BODY_POOL_BYTES || bodyPool.free.length >= 16) return;
    bodyPool.free.push(b);
    bodyPool.bytes += b.length;
  };
  if (logWritten) logWritten.then(back, () => {}); else back();
}

// The request body, or null as soon as it exceeds --max-body (the rest is then read and
// discarded, so the client sees the 413 rather than a reset in the middle of its upload).
// `into` (a buffer of at least the declared length) receives the bytes instead of new ones.
function readBody(req, into) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let got = 0;
    let over = false;
    req.on('data', (c) => {
      if (over) return;
      if (got + c.length > (into ? into.length : opts.maxBody)) { over = true; resolve(null); return; }
      if (into) c.copy(into, got); else chunks.push(c);
      got += c.length;
    });
    req.on('end', () => {
      if (over) return;
      if (into) resolve(into.subarray(0, got));
      else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

// 413 like http.max_content_length: answered at once, the connection kept (its remaining
// upload is read and discarded by node before the next request).
function tooLarge(req, res) {
  res.writeHead(413, { ...baseHeaders(), 'content-length': '0' });
  res.end();
  req.resume();
}

async function handle(req, res) {
  const ctx = { req, res, sent: false, port: server.address().port, logSeqAtStart: engine.logSeq };
  const q = req.url.indexOf('?');
  ctx.pathname = q < 0 ? req.url : req.url.slice(0, q);
  ctx.params = new URLSearchParams(q < 0 ? '' : req.url.slice(q + 1));
  ctx.segs = decodePath(ctx.pathname);
  const isAdmin = ctx.segs[0] === '_test';
  inflight++;
  if (!isAdmin) {
    stats.requests++;
    if (inflight > stats.max_concurrent_requests) stats.max_concurrent_requests = inflight;
  }
  res.once('close', () => { inflight--; });
  try {
    // body, with the size limit the engines apply (http.max_content_length) on both the
    // bytes received and the decompressed content
    const declared = Number(req.headers['content-length'] || 0);
    if (declared > opts.maxBody) {
      tooLarge(req, res);
      return;
    }
    if (declared > 0 && ctx.pathname.endsWith('/_bulk')) ctx.bodyBuf = takeBodyBuf(declared);
    ctx.rawBody = await readBody(req, ctx.bodyBuf);
    if (ctx.rawBody === null) {
      tooLarge(req, res);
      return;
    }
    ctx.body = ctx.rawBody;
    const enc = (req.headers['content-encoding'] || '').toLowerCase();
    if (ctx.body.length && (enc === 'gzip' || enc === 'deflate')) {
      try {
        ctx.body = enc === 'gzip' ? zlib.gunzipSync(ctx.body, { maxOutputLength: opts.maxBody + 1 }) : zlib.inflateSync(ctx.body, { maxOutputLength: opts.maxBody + 1 });
      } catch (e) {
        if (e.code === 'ERR_BUFFER_TOO_LARGE' || /Cannot create a Buffer larger/.test(e.message)) {
          tooLarge(req, res);
          return;
        }
        throw new EsError(400, 'illegal_argument_exception', `failed to decompress the request body (${enc}): ${e.message}`);
      }
      if (ctx.body.length > opts.maxBody) {
        tooLarge(req, res);
        return;
      }
      if (ctx.bodyBuf && ctx.body.length) {
        // nothing keeps the compressed bytes; the decompressed ones go to a reused buffer too
        // (the fresh one gunzip made dies young, before it counts as external memory)
        ctx.bodyBuf.reusable = true;
        ctx.plainBuf = takeBodyBuf(ctx.body.length);
        ctx.body = ctx.plainBuf.subarray(0, ctx.body.copy(ctx.plainBuf));
      }
    }
    if (isAdmin) return admin(ctx);
    checkAuth(ctx);
    ctx.compat = negotiate(req, ctx.body.length > 0);
    const f = takeFault(ctx.pathname);
    if (f) {
      ctx.fault = f;
      if (f.delay_ms) stats.faults_injected++;
      if (f.delay_ms && !(ctx.segs[0] === '_bulk' || ctx.segs[1] === '_bulk')) await sleep(f.delay_ms);
      if (f.request_status) {
        stats.faults_injected++;
        return send(ctx, f.request_status, faultBody(f.request_status));
      }
    }
    await route(ctx);
  } catch (e) {
    if (e && e.plain) return send(ctx, e.status, e.plain);
    if (e && e.plainText) return send(ctx, e.status, e.plainText, { 'content-type': 'text/plain; charset=UTF-8', ...e.headers });
    sendError(ctx, e);
  } finally {
    if (ctx.bodyBuf) giveBodyBuf(ctx.bodyBuf, ctx.logWritten);
    if (ctx.plainBuf) giveBodyBuf(ctx.plainBuf, ctx.logWritten);
  }
}

function faultBody(status) {
  if (status === 429) {
    const e = new EsError(429, 'es_rejected_execution_exception', 'rejected execution of coordinating operation [coordinating_and_primary_bytes=104857600, replica_bytes=0, all_bytes=104857600, coordinating_operation_bytes=1048576, max_coordinating_and_primary_bytes=107374182] (injected by the dip ES test server)');
    return e.toJSON();
  }
  if (status === 503) {
    return new EsError(503, 'cluster_block_exception', 'blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized]; (injected by the dip ES test server)').toJSON();
  }
  return new EsError(status, 'exception', `injected fault, status ${status} (dip ES test server)`).toJSON();
}

const server = opts.tlsCert
  ? https.createServer({ cert: fs.readFileSync(opts.tlsCert), key: fs.readFileSync(opts.tlsKey) }, handle)
  : http.createServer(handle);
server.keepAliveTimeout = 60000;
server.headersTimeout = 65000;
server.requestTimeout = 0;
server.on('clientError', (e, socket) => {
  if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
});
server.listen(opts.port, opts.host || '127.0.0.1', () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  server.close();
  try {
    await engine.drain();
    if (engine.worthCompacting() || process.env.ES_TEST_SERVER_COMPACT === '1') engine.compact();
  } catch (e) {
    process.stderr.write(`es-test-server: compaction failed (the operations log stays): ${e.message}\n`);
  }
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

