// mapping.mjs: mappings the way the engines keep them: explicit mappings checked when an index
// is created or a mapping is put, dynamic mapping of new fields (long / float / boolean /
// text+keyword / date by date_detection / object), and the per-value checks that make the
// engines refuse a document (a string in a long field, an object where a value was mapped,
// strict dynamic mapping ...) with their exception types and reason texts.
import { EsError, cause } from './errors.mjs';

const FIELD_TYPES = new Set([
  'text', 'keyword', 'long', 'integer', 'short', 'byte', 'double', 'float', 'half_float',
  'scaled_float', 'unsigned_long', 'boolean', 'date', 'date_nanos', 'object', 'nested', 'ip',
  'geo_point', 'geo_shape', 'binary', 'alias', 'constant_keyword', 'wildcard', 'match_only_text',
  'search_as_you_type', 'completion', 'token_count', 'join', 'percolator', 'rank_feature',
  'rank_features', 'integer_range', 'long_range', 'float_range', 'double_range', 'date_range',
  'ip_range', 'version', 'histogram',
]);
const FLAVOUR_TYPES = { es7: ['flattened', 'dense_vector'], es8: ['flattened', 'dense_vector', 'sparse_vector', 'semantic_text'], os2: ['flat_object', 'knn_vector'] };
const ROOT_PARAMS = new Set([
  'properties', 'dynamic', 'date_detection', 'dynamic_date_formats', 'numeric_detection',
  'dynamic_templates', '_source', '_routing', '_meta', 'enabled', 'runtime', '_field_names',
]);
const INTEGER_RANGE = { integer: [-2147483648, 2147483647], short: [-32768, 32767], byte: [-128, 127] };
const NUMERIC = new Set(['long', 'integer', 'short', 'byte', 'double', 'float', 'half_float', 'scaled_float', 'unsigned_long']);
const METADATA_FIELDS = new Set(['_id', '_index', '_routing', '_source', '_version', '_seq_no', '_primary_term', '_type', '_field_names', '_ignored', '_doc_count', '_tier', '_data_stream_timestamp', '_feature', '_nested_path', '_tsid']);

function mappingError(flavour, reason, loc, causedBy) {
  // ES 8.8+ calls a document refusal document_parsing_exception and prefixes the parser
  // position; ES 7 and OpenSearch say mapper_parsing_exception without a position.
  if (flavour === 'es8') return new EsError(400, 'document_parsing_exception', `[1:${loc}] ${reason}`, {}, causedBy);
  return new EsError(400, 'mapper_parsing_exception', reason, {}, causedBy);
}

// Java's Map.toString / List.toString rendering of a JSON value (the engines' "preview").
export function javaString(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return '[' + v.map(javaString).join(', ') + ']';
  if (typeof v === 'object') return '{' + Object.entries(v).map(([k, x]) => `${k}=${javaString(x)}`).join(', ') + '}';
  return String(v);
}

// Position (1-based column) of the value at `path` in a one-line JSON source: only computed
// on the error path, for ES 8's "[1:N]" prefix.
export function locateValue(src, path) {
  let i = 0;
  const n = src.length;
  const ws = () => { while (i < n && (src[i] === ' ' || src[i] === '\t' || src[i] === '\r' || src[i] === '\n')) i++; };
  const str = () => { const s = i; i++; while (i < n && src[i] !== '"') { if (src[i] === '\\') i++; i++; } i++; return JSON.parse(src.slice(s, i)); };
  const skip = () => {
    ws();
    if (src[i] === '{' || src[i] === '[') {
      let depth = 0;
      do {
        if (src[i] === '"') { str(); continue; }
        if (src[i] === '{' || src[i] === '[') depth++;
        else if (src[i] === '}' || src[i] === ']') depth--;
        i++;
      } while (i < n && depth > 0);
    } else if (src[i] === '"') str();
    else while (i < n && !',}] \t\r\n'.includes(src[i])) i++;
  };
  const find = (depth) => {
    ws();
    if (depth === path.length) return i + 1;
    if (src[i] === '[') {
      i++;
      for (;;) { ws(); if (src[i] === ']' || i >= n) return 0; const r = find(depth); if (r) return r; ws(); if (src[i] === ',') i++; else return 0; }
    }
    if (src[i] !== '{') return 0;
    i++;
    for (;;) {
      ws();
      if (src[i] !== '"') return 0;
      const k = str();
      ws(); i++; // colon
      const parts = k.split('.');
      let match = true;
      for (let p = 0; p < parts.length; p++) if (path[depth + p] !== parts[p]) { match = false; break; }
      if (match) { const r = find(depth + parts.length); if (r) return r; } else skip();
      ws();
      if (src[i] === ',') i++; else return 0;
    }
  };
  try { return find(0) || 1; } catch { return 1; }
}

// ---- explicit mappings -------------------------------------------------------------------

export function normalizeMappings(flavour, m, { includeTypeName = false } = {}) {
  if (m == null) return { properties: {} };
  if (typeof m !== 'object' || Array.isArray(m)) throw new EsError(400, 'mapper_parsing_exception', 'Failed to parse mapping: mapping must be an object', {});
  // ES 7 with include_type_name=true takes the mapping nested under its type name
  if (includeTypeName) {
    const keys = Object.keys(m);
    if (keys.length === 1) m = m[keys[0]];
  }
  const out = {};
  const bad = [];
  for (const [k, v] of Object.entries(m)) {
    if (ROOT_PARAMS.has(k)) out[k] = v;
    else bad.push(` [${k} : ${javaString(v)}]`);
  }
  if (bad.length) {
    const inner = new EsError(400, 'mapper_parsing_exception', `Root mapping definition has unsupported parameters: ${bad.join('')}`, {});
    const prefix = flavour === 'es8' ? 'Failed to parse mapping: ' : 'Failed to parse mapping [_doc]: ';
    throw new EsError(400, 'mapper_parsing_exception', prefix + inner.reason, {}, inner);
  }
  if (out.dynamic !== undefined) {
    const d = String(out.dynamic);
    if (!['true', 'false', 'strict', 'runtime'].includes(d)) {
      throw new EsError(400, 'mapper_parsing_exception', `Failed to parse mapping: Could not convert [dynamic] to boolean`, {});
    }
  }
  out.properties = out.properties || {};
  checkProperties(flavour, out.properties, '');
  return out;
}

function checkProperties(flavour, props, prefix) {
  if (typeof props !== 'object' || props === null || Array.isArray(props)) {
    throw new EsError(400, 'mapper_parsing_exception', `Failed to parse mapping: Expected map for property [properties] on field [${prefix || '_doc'}] but got a class java.lang.String`, {});
  }
  for (const [name, def] of Object.entries(props)) {
    const full = prefix ? `${prefix}.${name}` : name;
    if (!def || typeof def !== 'object') {
      throw new EsError(400, 'mapper_parsing_exception', `Failed to parse mapping: Expected map for property [fields] on field [${full}] but got a class java.lang.String`, {});
    }
    const type = def.type || (def.properties ? 'object' : 'object');
    if (!FIELD_TYPES.has(type) && !(FLAVOUR_TYPES[flavour] || []).includes(type)) {
      const inner = new EsError(400, 'mapper_parsing_exception', `No handler for type [${type}] declared on field [${name}]`, {});
      const prefixText = flavour === 'es8' ? 'Failed to parse mapping: ' : 'Failed to parse mapping [_doc]: ';
      throw new EsError(400, 'mapper_parsing_exception', prefixText + inner.reason, {}, inner);
    }
    if (def.properties) checkProperties(flavour, def.properties, full);
    if (def.fields) for (const [sub, sd] of Object.entries(def.fields)) {
      const st = sd && sd.type;
      if (st && !FIELD_TYPES.has(st) && !(FLAVOUR_TYPES[flavour] || []).includes(st)) {
        const inner = new EsError(400, 'mapper_parsing_exception', `No handler for type [${st}] declared on field [${sub}]`, {});
        throw new EsError(400, 'mapper_parsing_exception', (flavour === 'es8' ? 'Failed to parse mapping: ' : 'Failed to parse mapping [_doc]: ') + inner.reason, {}, inner);
      }
    }
  }
}

function typeOf(def) {
  if (def.type) return def.type;
  return 'object';
}

// Merge `update` (normalized) into `current` (normalized), in place, refusing type changes
// like the engines' MappingMerge does.
export function mergeMappings(current, update) {
  for (const [k, v] of Object.entries(update)) {
    if (k !== 'properties') current[k] = v;
  }
  mergeProps(current.properties, update.properties || {}, '');
}

function mergeProps(cur, upd, prefix) {
  for (const [name, def] of Object.entries(upd)) {
    const full = prefix ? `${prefix}.${name}` : name;
    const old = cur[name];
    if (!old) { cur[name] = structuredClone(def); continue; }
    const ot = typeOf(old), nt = typeOf(def);
    if ((ot === 'object' || ot === 'nested') !== (nt === 'object' || nt === 'nested')) {
      if (ot === 'object' || ot === 'nested') throw new EsError(400, 'illegal_argument_exception', `can't merge a non object mapping [${full}] with an object mapping`, {});
      throw new EsError(400, 'illegal_argument_exception', `can't merge a non object mapping [${full}] with an object mapping`, {});
    }
    if (ot !== nt) throw new EsError(400, 'illegal_argument_exception', `mapper [${full}] cannot be changed from type [${ot}] to [${nt}]`, {});
    if (ot === 'object' || ot === 'nested') {
      old.properties = old.properties || {};
      mergeProps(old.properties, def.properties || {}, full);
      for (const [k, v] of Object.entries(def)) if (k !== 'properties') old[k] = v;
    } else {
      if (def.fields) { old.fields = old.fields || {}; for (const [s, sd] of Object.entries(def.fields)) old.fields[s] = sd; }
      for (const [k, v] of Object.entries(def)) if (k !== 'fields' && k !== 'type') old[k] = v;
    }
  }
}

// Flat view: full dotted path -> field definition (objects included), for lookups while
// parsing documents and evaluating queries.
export function flatten(mappings) {
  const flat = new Map();
  const walk = (props, prefix) => {
    for (const [name, def] of Object.entries(props)) {
      const full = prefix ? `${prefix}.${name}` : name;
      flat.set(full, def);
      if (def.properties) walk(def.properties, full);
      if (def.fields) for (const [s, sd] of Object.entries(def.fields)) flat.set(`${full}.${s}`, { ...sd, multiOf: full });
    }
  };
  walk(mappings.properties || {}, '');
  return flat;
}

// ---- document parsing -------------------------------------------------------------------

const DATE_RE = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?$/;
const SLASH_DATE_RE = /^(\d{4})\/(\d{2})\/(\d{2})(?: (\d{2}):(\d{2}):(\d{2}))?( [+-]\d{4}|Z)?$/;

// strict_date_optional_time (and epoch_millis for numbers) to epoch millis, or null.
export function parseDate(v, format) {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : null;
  if (typeof v !== 'string') return null;
  if (v.length >= 10 && v.length <= 35) {
    const t = v.length === 10 ? ymd(v) : isoDateTime(v);
    if (t !== undefined) return t;
  }
  let m = DATE_RE.exec(v);
  if (m) {
    const [, y, mo = '01', d = '01', h = '00', mi = '00', s = '00', frac = '', tz] = m;
    if (+mo < 1 || +mo > 12 || +d < 1 || +d > 31 || +h > 23 || +mi > 59 || +s > 59) return null;
    const ms = Number((frac + '000').slice(0, 3));
    let t = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, ms);
    if (tz && tz !== 'Z') {
      const sign = tz[0] === '-' ? -1 : 1;
      const digits = tz.slice(1).replace(':', '');
      t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0)) * 60000;
    }
    return t;
  }
  if (format && format.includes('yyyy/MM/dd') && (m = SLASH_DATE_RE.exec(v))) {
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0));
  }
  if ((!format || format.includes('epoch_millis')) && /^-?\d+(\.\d+)?$/.test(v)) return Math.trunc(Number(v));
  return null;
}

// "yyyy-MM-dd", the commonest date, read without the regular expression: the same result
// as DATE_RE's path (null out of range), or undefined when `v` has another shape.
function ymd(v) {
  if (v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45) return undefined;
  const y = digits(v, 0, 4), mo = digits(v, 5, 7), d = digits(v, 8, 10);
  if (y < 0 || mo < 0 || d < 0) return undefined;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return null;
  return Date.UTC(y, mo - 1, d, 0, 0, 0, 0);
}

// "yyyy-MM-ddTHH:mm:ss" with an optional fraction (1-9 digits) and zone (Z, +HH, +HHmm,
// +HH:mm), read without the regular expression: DATE_RE's result for those, undefined for any
// other shape (the caller falls back to DATE_RE).
function isoDateTime(v) {
  const n = v.length;
  if (n < 19 || v.charCodeAt(10) !== 84 /* T */ || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) return undefined;
  const date = ymd(v);
  const h = digits(v, 11, 13), mi = digits(v, 14, 16), sec = digits(v, 17, 19);
  if (date === undefined || h < 0 || mi < 0 || sec < 0) return undefined;
  let i = 19;
  let ms = 0;
  if (i < n && (v.charCodeAt(i) === 46 || v.charCodeAt(i) === 44)) {
    const from = ++i;
    while (i < n && i - from < 10 && v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57) i++;
    const len = i - from;
    if (len < 1 || len > 9) return undefined;
    for (let k = 0; k < 3; k++) ms = ms * 10 + (k < len ? v.charCodeAt(from + k) - 48 : 0);
  }
  let off = 0;
  if (i < n) {
    const c = v.charCodeAt(i);
    if (c === 90 /* Z */) i++;
    else if (c === 43 || c === 45) {
      const oh = digits(v, i + 1, i + 3);
      if (i + 3 > n || oh < 0) return undefined;
      let om = 0;
      let j = i + 3;
      if (j < n && v.charCodeAt(j) === 58) j++;
      if (j < n) {
        om = digits(v, j, j + 2);
        if (j + 2 > n || om < 0) return undefined;
        j += 2;
      } else if (j !== i + 3) return undefined; // "+05:" has no minutes
      off = (c === 45 ? -1 : 1) * (oh * 60 + om) * 60000;
      i = j;
    } else return undefined;
  }
  if (i !== n) return undefined;
  if (date === null || h > 23 || mi > 59 || sec > 59) return null;
  return date + ((h * 60 + mi) * 60 + sec) * 1000 + ms - off;
}

function digits(v, from, to) {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

function detectDate(s) {
  if (!(s.includes(':') || s.includes('-') || s.includes('/'))) return null;
  if (DATE_RE.test(s) && parseDate(s) !== null) return { type: 'date' };
  if (SLASH_DATE_RE.test(s)) return { type: 'date', format: 'yyyy/MM/dd HH:mm:ss||yyyy/MM/dd||epoch_millis' };
  return null;
}

function dynamicFor(value, root) {
  switch (typeof value) {
    case 'number': return Number.isInteger(value) && !String(value).includes('e') ? { type: 'long' } : { type: 'float' };
    case 'boolean': return { type: 'boolean' };
    case 'string': {
      if (root.date_detection !== false) {
        const d = detectDate(value);
        if (d) return d;
      }
      if (root.numeric_detection === true && /^-?\d+(\.\d+)?$/.test(value)) return value.includes('.') ? { type: 'float' } : { type: 'long' };
      return { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } };
    }
    default: return null;
  }
}

// Check one document against the index's mapping, adding dynamic fields. Returns the list of
// [fullPath, definition] additions (to apply once the write is accepted) or throws the
// engines' error. `flat` is the index's flattened mapping.
export class DocParser {
  constructor(flavour, idx) {
    this.flavour = flavour;
    this.idx = idx;
  }

  // `src` (Buffer or string) is only read on the error path, for ES 8's position prefix.
  parse(id, src, obj, off = 0, len = -1) {
    const idx = this.idx;
    this.id = id;
    this.srcRaw = src;
    this.srcOff = off;
    this.srcLen = len;
    this.added = null; // Map path -> def
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      const inner = new EsError(400, 'mapper_parsing_exception', 'Malformed content, must start with an object', {});
      if (this.flavour === 'es8') throw new EsError(400, 'document_parsing_exception', '[1:1] failed to parse: Malformed content, must start with an object', {}, inner);
      throw new EsError(400, 'mapper_parsing_exception', 'failed to parse', {}, inner);
    }
    this.walkObject(obj, '', idx.mappings.dynamic, mappingTree(idx));
    this.srcRaw = null; // a bulk body's buffer is reused once its request is done
    return this.added;
  }

  // Paths are dotted strings ("a.b.c"); lookups go to the flat mapping, then to the fields
  // this document added so far.
  get src() {
    const s = this.srcRaw;
    if (typeof s === 'string') return s;
    return this.srcLen < 0 ? s.toString('utf8') : s.toString('utf8', this.srcOff, this.srcOff + this.srcLen);
  }

  lookup(key) {
    const d = this.idx.flat.get(key);
    if (d !== undefined) return d;
    return this.added ? this.added.get(key) : undefined;
  }

  // The mapping node of `key` under `node` (the tree of the flat mapping, see mappingTree):
  // JSON.parse's keys carry their hash, a dotted path built for every field would not.
  // Without a node (below a field this document added, or a dotted name) the path decides.
  child(node, key) {
    return node?.kids?.get(key) ?? null;
  }

  fail(path, reason, causedBy) {
    const loc = this.flavour === 'es8' ? locateValue(this.src, typeof path === 'string' ? (path ? path.split('.') : []) : path) : 0;
    throw mappingError(this.flavour, reason, loc, causedBy);
  }

  walkObject(obj, prefix, dynamic, node) {
    for (const key in obj) {
      const value = obj[key];
      if (key === '') this.fail(prefix, 'field name cannot be an empty string');
      let full = prefix ? prefix + '.' + key : key;
      let dyn = dynamic;
      let kid = null;
      if (key.includes('.')) {
        // dotted names are objects along the way
        const parts = key.split('.');
        if (parts.some((p) => p.trim() === '')) this.fail(prefix, `field name cannot contain only whitespace: ['${key}']`);
        let p = prefix;
        let skip = false;
        for (let i = 0; i < parts.length - 1; i++) {
          p = p ? p + '.' + parts[i] : parts[i];
          const d = this.lookup(p);
          if (d === undefined) {
            if (!this.mayAdd(p, dyn)) { skip = true; break; }
            this.add(p, { properties: {} });
          } else if (d.type && d.type !== 'object' && d.type !== 'nested') {
            this.fail(p, `Could not dynamically add mapping for field [${p}]. Existing mapping for [${p}] must be of type object but found [${d.type}].`);
          } else if (d.dynamic !== undefined) dyn = d.dynamic;
        }
        if (skip) continue;
        if (!prefix && METADATA_FIELDS.has(parts[0])) this.fail(key, `Field [${parts[0]}] is a metadata field and cannot be added inside a document. Use the index API request parameters.`);
      } else {
        if (!prefix && key.charCodeAt(0) === 95 /* _ */ && METADATA_FIELDS.has(key)) {
          this.fail(key, `Field [${key}] is a metadata field and cannot be added inside a document. Use the index API request parameters.`);
        }
        kid = this.child(node, key);
      }
      this.walkValue(value, full, dyn, kid);
    }
  }

  mayAdd(path, dynamic) {
    const d = dynamic === undefined ? 'true' : String(dynamic);
    if (d === 'true') return true;
    if (d === 'strict') {
      const dot = path.lastIndexOf('.');
      const leaf = path.slice(dot + 1);
      const parent = dot < 0 ? '_doc' : path.slice(0, dot).split('.').pop();
      const reason = `mapping set to strict, dynamic introduction of [${leaf}] within [${parent}] is not allowed`;
      const loc = this.flavour === 'es8' ? locateValue(this.src, path.split('.')) : 0;
      throw new EsError(400, 'strict_dynamic_mapping_exception', this.flavour === 'es8' ? `[1:${loc}] ${reason}` : reason, {});
    }
    return false; // false / runtime: kept in _source, not mapped
  }

  isFloatToken(path) {
    const src = this.src;
    let i = locateValue(src, path.split('.')) - 1;
    if (i < 0 || i >= src.length) return false;
    const start = i;
    while (i < src.length && '+-0123456789.eE'.includes(src[i])) i++;
    return /[.eE]/.test(src.slice(start, i));
  }

  add(path, def) {
    if (!this.added) this.added = new Map();
    this.added.set(path, def);
  }

  // `node` is the path's node in the mapping tree, or null (then the path is looked up)
  walkValue(value, path, dynamic, node) {
    if (value === null) return;
    if (Array.isArray(value)) {
      for (const v of value) this.walkValue(v, path, dynamic, node);
      return;
    }
    let def = node !== null && node.def !== undefined ? node.def : this.lookup(path);
    if (def === undefined) {
      if (typeof value === 'object') {
        if (!this.mayAdd(path, dynamic)) return;
        this.add(path, { properties: {} });
        this.walkObject(value, path, dynamic, null);
        return;
      }
      if (!this.mayAdd(path, dynamic)) return;
      def = dynamicFor(value, this.idx.mappings);
      // 1.0 is a float to the engines (Jackson sees the token), an integer to JSON.parse: the
      // source text decides, read only when a numeric field is first seen
      if (def.type === 'long' && this.isFloatToken(path)) def = { type: 'float' };
      this.add(path, def);
      return;
    }
    const type = def.type || 'object';
    if (type === 'object' || type === 'nested') {
      if (typeof value !== 'object') {
        this.fail(path, `object mapping for [${path}] tried to parse field [${path.slice(path.lastIndexOf('.') + 1)}] as object, but found a concrete value`);
      }
      if (def.enabled === false) return;
      this.walkObject(value, path, def.dynamic !== undefined ? def.dynamic : dynamic, node);
      return;
    }
    // the common cases first: a string in a text/keyword field, a number in a numeric one
    if (typeof value === 'string' && (type === 'text' || type === 'keyword')) return;
    if (typeof value === 'number' && (type === 'long' || type === 'float' || type === 'double') ) return;
    this.checkValue(def, type, value, path);
  }

  refuse(path, type, value, causedBy) {
    const full = path;
    this.fail(path, `failed to parse field [${full}] of type [${type}] in document with id '${this.id}'. Preview of field's value: '${javaString(value)}'`, causedBy);
  }

  checkValue(def, type, value, path) {
    const col = () => locateValue(this.src, path.split('.'));
    if (NUMERIC.has(type)) {
      if (typeof value === 'number') {
        if (INTEGER_RANGE[type] && (value < INTEGER_RANGE[type][0] || value > INTEGER_RANGE[type][1])) {
          this.refuse(path, type, value, cause('illegal_argument_exception', `Value [${value}] is out of range for ${type === 'integer' ? 'an integer' : 'a ' + type}`));
        }
        return;
      }
      if (typeof value === 'string') {
        const t = value.trim();
        if (t !== '' && Number.isFinite(Number(t)) && def.coerce !== false) return;
        const javaType = type === 'long' || INTEGER_RANGE[type] ? 'illegal_argument_exception' : 'number_format_exception';
        this.refuse(path, type, value, cause(javaType, t === '' && javaType === 'number_format_exception' ? 'empty String' : `For input string: "${value}"`));
      }
      const tok = typeof value === 'boolean' ? (value ? 'VALUE_TRUE' : 'VALUE_FALSE') : 'START_OBJECT';
      this.refuse(path, type, value, cause('json_parse_exception', `Current token (${tok}) not numeric, can not use numeric value accessors\n at [Source: (byte[])"${this.src.length > 500 ? this.src.slice(0, 500) + '"[truncated ' + (this.src.length - 500) + ' bytes]' : this.src + '"'}; line: 1, column: ${col() + 1}]`));
    }
    if (type === 'boolean') {
      if (typeof value === 'boolean' || value === 'true' || value === 'false' || value === '') return;
      if (typeof value === 'object') this.refuse(path, type, value, cause('illegal_state_exception', `Can't get text on a START_OBJECT at 1:${col()}`));
      this.refuse(path, type, value, cause('illegal_argument_exception', `Failed to parse value [${javaString(value)}] as only [true] or [false] are allowed.`));
    }
    if (type === 'date' || type === 'date_nanos') {
      if (typeof value === 'object') this.refuse(path, type, value, cause('illegal_state_exception', `Can't get text on a START_OBJECT at 1:${col()}`));
      if (typeof value === 'boolean' || parseDate(value, def.format) === null) {
        const fmt = def.format || 'strict_date_optional_time||epoch_millis';
        this.refuse(path, type, value, cause('illegal_argument_exception', `failed to parse date field [${javaString(value)}] with format [${fmt}]`));
      }
      return;
    }
    // text, keyword and the rest take any scalar
    if (typeof value === 'object') this.refuse(path, type, value, cause('illegal_state_exception', `Can't get text on a START_OBJECT at 1:${col()}`));
  }
}

// The flat mapping as a tree of {def, kids: Map name -> node | null}, kept per flat mapping
// object (a replaced flat mapping gets its own; applyAdditions drops the one it changes).
const trees = new WeakMap();
function mappingTree(idx) {
  const known = trees.get(idx.flat);
  if (known) return known;
  const root = { def: undefined, kids: null };
  for (const [path, def] of idx.flat) {
    let n = root;
    for (const part of path.split('.')) {
      if (n.kids === null) n.kids = new Map();
      let k = n.kids.get(part);
      if (k === undefined) { k = { def: undefined, kids: null }; n.kids.set(part, k); }
      n = k;
    }
    n.def = def;
  }
  trees.set(idx.flat, root);
  return root;
}

// Apply the additions of an accepted document to the index's mapping (and its flat view).
export function applyAdditions(idx, added) {
  trees.delete(idx.flat);
  for (const [path, def] of added) {
    const parts = path.split('.');
    let props = idx.mappings.properties;
    for (let i = 0; i < parts.length - 1; i++) {
      const o = props[parts[i]];
      o.properties = o.properties || {};
      props = o.properties;
    }
    if (!props[parts[parts.length - 1]]) props[parts[parts.length - 1]] = def;
    idx.flat.set(path, def);
    if (def.fields) for (const [s, sd] of Object.entries(def.fields)) idx.flat.set(`${path}.${s}`, { ...sd, multiOf: path });
  }
}
