// query.mjs: the query DSL subset dip and the official clients use (match_all, match_none,
// ids, term, terms, match, exists, range, prefix, bool with must / filter / must_not / should
// and minimum_should_match), evaluated over parsed _source against the index mapping, plus
// sort keys (field asc/desc with min/max of multi-values, missing _last/_first, _doc, _id,
// _score, _shard_doc) and the engines' refusals (unknown query, sort on text or unmapped).
import { EsError, searchPhaseFailure } from './errors.mjs';
import { parseDate } from './mapping.mjs';
import { Raw } from './json.mjs';

const TOKEN_RE = /[\p{L}\p{N}_]+(?:['.][\p{L}\p{N}_]+)*/gu;
function analyze(s) {
  return String(s).toLowerCase().match(TOKEN_RE) || [];
}

// Values of a dotted path in a source object (arrays flattened, objects descended).
export function values(src, path) {
  let cur = [src];
  const parts = path.split('.');
  for (let i = 0; i < parts.length; i++) {
    const next = [];
    for (const c of cur) {
      if (c === null || typeof c !== 'object') continue;
      if (Array.isArray(c)) { for (const x of c) if (x && typeof x === 'object') pushVal(next, x[parts[i]]); continue; }
      // dotted keys in the source ("a.b": 1) address the same field as {"a":{"b":1}}
      pushVal(next, c[parts[i]]);
      if (i < parts.length - 1) {
        for (let j = parts.length; j > i + 1; j--) {
          const k = parts.slice(i, j).join('.');
          if (k in c) { pushVal(next, ...valuesFrom(c[k], parts.slice(j))); }
        }
      }
    }
    cur = next;
  }
  const out = [];
  for (const c of cur) if (Array.isArray(c)) flat(c, out); else if (c !== null && c !== undefined) out.push(c);
  return out;
}
function valuesFrom(v, rest) {
  return rest.length ? values(v, rest.join('.')) : [v];
}
function pushVal(arr, ...vs) {
  for (const v of vs) if (v !== undefined) arr.push(v);
}
function flat(a, out) {
  for (const x of a) if (Array.isArray(x)) flat(x, out); else if (x !== null && x !== undefined) out.push(x);
}

export class QueryCompiler {
  constructor(flavour, indices) {
    this.flavour = flavour;
    this.indices = indices;
  }

  fieldDef(field) {
    for (const idx of this.indices) {
      const d = idx.flat.get(field);
      if (d) return d;
    }
    return null;
  }

  // Values of a field for matching: a multi-field ("title.keyword") reads its parent's value.
  fieldValues(src, field) {
    const def = this.fieldDef(field);
    if (def && def.multiOf) {
      const vs = values(src, def.multiOf);
      if (def.type === 'keyword' && def.ignore_above) return vs.filter((v) => String(v).length <= def.ignore_above);
      return vs;
    }
    return values(src, field);
  }

  bad(reason, type = 'parsing_exception', extra = {}) {
    return new EsError(400, type, reason, extra);
  }

  // Returns a predicate (src object, doc) => bool. needsSource tells the caller whether the
  // predicate reads _source (match_all and ids do not).
  compile(q) {
    if (q == null) return { fn: () => true, needsSource: false };
    if (typeof q !== 'object' || Array.isArray(q)) throw this.bad('query malformed, must start with start_object', 'parsing_exception');
    const keys = Object.keys(q);
    if (keys.length !== 1) {
      if (keys.length === 0) return { fn: () => true, needsSource: false };
      throw this.bad(`[${keys[0]}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]`);
    }
    const kind = keys[0];
    const body = q[kind];
    switch (kind) {
      case 'match_all': return { fn: () => true, needsSource: false };
      case 'match_none': return { fn: () => false, needsSource: false };
      case 'ids': {
        const ids = new Set((body.values || []).map(String));
        return { fn: (s, d) => ids.has(d.id), needsSource: false };
      }
      case 'term': {
        const [field, spec] = this.single(kind, body);
        const value = spec !== null && typeof spec === 'object' ? spec.value : spec;
        if (field === '_id') return { fn: (s, d) => d.id === String(value), needsSource: false };
        const eq = this.equality(field, [value], spec && spec.case_insensitive);
        return { fn: (s) => eq(s), needsSource: true };
      }
      case 'terms': {
        const entries = Object.entries(body).filter(([k]) => k !== 'boost' && k !== '_name');
        if (entries.length !== 1) throw this.bad('[terms] query does not support multiple fields');
        const [field, list] = entries[0];
        if (!Array.isArray(list)) throw this.bad(`[terms] query does not support [${field}]`);
        if (field === '_id') { const ids = new Set(list.map(String)); return { fn: (s, d) => ids.has(d.id), needsSource: false }; }
        const eq = this.equality(field, list, false);
        return { fn: (s) => eq(s), needsSource: true };
      }
      case 'match': {
        const [field, spec] = this.single(kind, body);
        const query = spec !== null && typeof spec === 'object' ? spec.query : spec;
        const operator = (spec && spec.operator) || 'or';
        const def = this.fieldDef(field);
        if (!def || def.type === 'text' || def.type === 'match_only_text') {
          const qt = analyze(query);
          return {
            fn: (s) => {
              const toks = new Set(this.fieldValues(s, field).flatMap(analyze));
              return operator.toLowerCase() === 'and' ? qt.every((t) => toks.has(t)) : qt.some((t) => toks.has(t));
            },
            needsSource: true,
          };
        }
        const eq = this.equality(field, [query], false);
        return { fn: (s) => eq(s), needsSource: true };
      }
      case 'exists': {
        const field = body.field;
        if (typeof field !== 'string') throw this.bad('[exists] must be provided with a [field]');
        return { fn: (s) => this.fieldValues(s, field).length > 0, needsSource: true };
      }
      case 'prefix': {
        const [field, spec] = this.single(kind, body);
        const value = String(spec !== null && typeof spec === 'object' ? spec.value : spec);
        if (field === '_id') return { fn: (s, d) => d.id.startsWith(value), needsSource: false };
        return { fn: (s) => this.fieldValues(s, field).some((v) => this.termsOf(field, v).some((t) => t.startsWith(value))), needsSource: true };
      }
      case 'range': {
        const [field, spec] = this.single(kind, body);
        const def = this.fieldDef(field);
        const conv = this.converter(def);
        const bounds = {};
        for (const op of ['gt', 'gte', 'lt', 'lte', 'from', 'to']) if (spec[op] != null) bounds[op] = conv(spec[op]);
        if (bounds.from !== undefined) bounds[spec.include_lower === false ? 'gt' : 'gte'] = bounds.from;
        if (bounds.to !== undefined) bounds[spec.include_upper === false ? 'lt' : 'lte'] = bounds.to;
        return {
          fn: (s) => this.fieldValues(s, field).some((raw) => {
            const v = conv(raw);
            if (v === null || v === undefined || Number.isNaN(v)) return false;
            if (bounds.gt !== undefined && !(v > bounds.gt)) return false;
            if (bounds.gte !== undefined && !(v >= bounds.gte)) return false;
            if (bounds.lt !== undefined && !(v < bounds.lt)) return false;
            if (bounds.lte !== undefined && !(v <= bounds.lte)) return false;
            return true;
          }),
          needsSource: true,
        };
      }
      case 'bool': {
        const part = (k) => {
          const v = body[k];
          if (v == null) return [];
          return (Array.isArray(v) ? v : [v]).map((x) => this.compile(x));
        };
        for (const k of Object.keys(body)) {
          if (!['must', 'filter', 'must_not', 'should', 'minimum_should_match', 'boost', '_name', 'adjust_pure_negative'].includes(k)) {
            throw this.bad(`[bool] query does not support [${k}]`);
          }
        }
        const must = [...part('must'), ...part('filter')];
        const not = part('must_not');
        const should = part('should');
        let msm = body.minimum_should_match;
        let need;
        if (msm == null) need = must.length || not.length ? 0 : should.length ? 1 : 0;
        else if (typeof msm === 'number' || /^-?\d+$/.test(String(msm))) {
          const n = Number(msm);
          need = n < 0 ? should.length + n : n;
        } else if (/^-?\d+%$/.test(String(msm))) {
          const p = Number(String(msm).slice(0, -1));
          need = p < 0 ? should.length - Math.floor((should.length * -p) / 100) : Math.floor((should.length * p) / 100);
        } else throw this.bad(`Invalid minimum_should_match [${msm}]`, 'illegal_argument_exception');
        const needsSource = [...must, ...not, ...should].some((c) => c.needsSource);
        return {
          fn: (s, d) => {
            for (const c of must) if (!c.fn(s, d)) return false;
            for (const c of not) if (c.fn(s, d)) return false;
            if (need > 0) {
              let n = 0;
              for (const c of should) if (c.fn(s, d) && ++n >= need) break;
              if (n < need) return false;
            }
            return true;
          },
          needsSource,
        };
      }
      case 'constant_score': return this.compile(body.filter);
      default:
        throw this.bad(`unknown query [${kind}]`, 'parsing_exception', { line: 1, col: 1 });
    }
  }

  single(kind, body) {
    if (body === null || typeof body !== 'object') throw this.bad(`[${kind}] query malformed, no start_object after query name`);
    const entries = Object.entries(body).filter(([k]) => k !== 'boost' && k !== '_name');
    if (entries.length !== 1) throw this.bad(`[${kind}] query doesn't support multiple fields, found [${entries.map((e) => e[0]).join('] and [')}]`);
    return entries[0];
  }

  converter(def) {
    const t = def && def.type;
    if (t === 'date' || t === 'date_nanos') return (v) => parseDate(typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v, def.format);
    if (t && /long|integer|short|byte|double|float|unsigned/.test(t)) return (v) => (typeof v === 'boolean' ? NaN : Number(v));
    if (t === 'boolean') return (v) => (v === true || v === 'true' ? 1 : 0);
    return (v) => String(v);
  }

  // Indexed terms of one value for term-level queries: text fields hold analyzed tokens.
  termsOf(field, v) {
    const def = this.fieldDef(field);
    if (!def || def.type === 'text' || def.type === 'match_only_text') {
      if (!def) return typeof v === 'string' ? analyze(v) : [String(v)];
      return analyze(v);
    }
    return [String(v)];
  }

  equality(field, wanted, caseInsensitive) {
    const def = this.fieldDef(field);
    const t = def && def.type;
    if (!def || t === 'text' || t === 'match_only_text') {
      const set = new Set(wanted.map((w) => String(w)));
      // an unmapped field matches nothing in the engines; dynamic text holds tokens
      if (!def) return () => false;
      return (s) => this.fieldValues(s, field).some((v) => analyze(v).some((tok) => set.has(tok)));
    }
    const conv = this.converter(def);
    if (t === 'keyword' || t === 'constant_keyword' || t === 'wildcard' || t === 'ip' || t === 'version') {
      const norm = caseInsensitive ? (x) => String(x).toLowerCase() : (x) => String(x);
      const set = new Set(wanted.map(norm));
      return (s) => this.fieldValues(s, field).some((v) => set.has(norm(v)));
    }
    const set = new Set(wanted.map((w) => conv(w)));
    return (s) => this.fieldValues(s, field).some((v) => set.has(conv(v)));
  }

  // ---- sort ------------------------------------------------------------------------------

  // Normalizes the sort spec into [{field, desc, missing, kind}] and checks it like the engines.
  sortSpec(sort, indexName) {
    if (sort == null) return null;
    const list = Array.isArray(sort) ? sort : [sort];
    const out = [];
    for (const s of list) {
      let field, order, missing, unmappedType, mode;
      if (typeof s === 'string') { field = s; order = null; }
      else if (s && typeof s === 'object') {
        [field] = Object.keys(s);
        const v = s[field];
        if (typeof v === 'string') order = v;
        else if (v && typeof v === 'object') { order = v.order; missing = v.missing; unmappedType = v.unmapped_type; mode = v.mode; }
      } else throw this.bad('malformed sort format, within the sort array, an object, or an actual string are allowed');
      if (order != null && order !== 'asc' && order !== 'desc') throw new EsError(400, 'illegal_argument_exception', `Unknown SortOrder [${order}]`);
      const desc = order ? order === 'desc' : field === '_score';
      // _shard_doc came to Elasticsearch in 7.12, after OpenSearch forked: there it is a field
      if (field === '_doc' || field === '_score' || (field === '_shard_doc' && this.flavour !== 'os2')) { out.push({ field, desc, kind: field }); continue; }
      if (field === '_id') {
        if (this.flavour === 'es8') {
          throw searchPhaseFailure(400, new EsError(400, 'illegal_argument_exception', 'Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic cluster setting: indices.id_field_data.enabled'), indexName);
        }
        out.push({ field, desc, kind: 'id', missing: '_last' });
        continue;
      }
      const def = this.fieldDef(field);
      if (!def && !unmappedType) {
        throw searchPhaseFailure(400, new EsError(400, 'query_shard_exception', `No mapping found for [${field}] in order to sort on`, { index_uuid: this.indices[0] ? this.indices[0].uuid : '_na_', index: indexName }), indexName);
      }
      const type = def ? def.type : unmappedType;
      if ((type === 'text' || type === 'match_only_text') && !(def && def.fielddata)) {
        throw searchPhaseFailure(400, new EsError(400, 'illegal_argument_exception', `Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [${field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory.`), indexName);
      }
      if (type === 'object' || type === 'nested' || (def && !def.type)) {
        throw searchPhaseFailure(400, new EsError(400, 'illegal_argument_exception', `Field [${field}] of type [${type || 'object'}] is not supported for sorting`), indexName);
      }
      out.push({ field, desc, kind: 'field', type, missing: missing ?? '_last', mode: mode || (desc ? 'max' : 'min'), conv: this.converter(def || { type }) });
    }
    return out;
  }

  // The sort values of a hit, as the engines print them.
  sortValues(spec, src, doc, ordinal) {
    return spec.map((s) => {
      switch (s.kind) {
        case '_doc': return ordinal;
        case '_shard_doc': return doc.shard * 4294967296 + ordinal;
        case '_score': return 1.0;
        case 'id': return doc.id;
        default: {
          const vs = this.fieldValues(src, s.field).map(s.conv).filter((v) => v !== null && v !== undefined && !Number.isNaN(v));
          if (!vs.length) return null;
          let best = vs[0];
          for (const v of vs) if (s.mode === 'max' ? v > best : v < best) best = v;
          if (s.type === 'boolean') return best ? 1 : 0;
          return best;
        }
      }
    });
  }
}

// Compare two sort-value tuples under a spec; null (missing) goes last (or first when
// missing is _first), whatever the order, like the engines.
export function compareSort(spec, a, b) {
  for (let i = 0; i < spec.length; i++) {
    const s = spec[i];
    const x = a[i], y = b[i];
    if (x === y) continue;
    if (x === null || y === null) {
      const first = s.missing === '_first';
      if (x === null) return first ? -1 : 1;
      return first ? 1 : -1;
    }
    let c = x < y ? -1 : x > y ? 1 : 0;
    if (s.desc) c = -c;
    if (c) return c;
  }
  return 0;
}

// The value printed in "sort" for missing values: Long.MAX/MIN for numbers, null otherwise.
export function printedSortValue(s, v) {
  if (v !== null) return v;
  if (s.kind !== 'field') return v;
  if (s.type === 'keyword' || s.type === 'text') return null;
  const last = s.missing !== '_first';
  // the engines print the sentinel they sorted with: Long.MAX_VALUE / MIN_VALUE for longs
  // and dates; +-Infinity for doubles (as JSON strings "Infinity" / "-Infinity")
  if (s.type === 'double' || s.type === 'float' || s.type === 'half_float' || s.type === 'scaled_float') {
    return (last !== s.desc) ? 'Infinity' : '-Infinity';
  }
  return new Raw(last !== s.desc ? '9223372036854775807' : '-9223372036854775808');
}
