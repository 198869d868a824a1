// pipelines.mjs: ingest pipelines, enough for dip's `pipeline` option to be exercised against
// real semantics: PUT/GET/DELETE /_ingest/pipeline/{id}, the processors set, remove, rename,
// lowercase, uppercase and trim (others are refused when the pipeline is stored, as the
// engines refuse an unknown processor type), run on index/create before mapping.
import { EsError } from './errors.mjs';

const PROCESSORS = new Set(['set', 'remove', 'rename', 'lowercase', 'uppercase', 'trim']);

function getPath(o, path) {
  let cur = o;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = cur[p];
  }
  return cur;
}

function setPath(o, path, v) {
  const parts = path.split('.');
  let cur = o;
  for (let i = 0; i < parts.length - 1; i++) {
    if (cur[parts[i]] === null || typeof cur[parts[i]] !== 'object') cur[parts[i]] = {};
    cur = cur[parts[i]];
  }
  cur[parts[parts.length - 1]] = v;
}

function removePath(o, path) {
  const parts = path.split('.');
  let cur = o;
  for (let i = 0; i < parts.length - 1; i++) {
    cur = cur && cur[parts[i]];
  }
  if (!cur || typeof cur !== 'object' || !(parts[parts.length - 1] in cur)) return false;
  delete cur[parts[parts.length - 1]];
  return true;
}

export class Pipelines {
  constructor(engine) {
    this.engine = engine;
  }

  has(id) {
    return this.engine.pipelines.has(id);
  }

  put(id, def) {
    if (!def || !Array.isArray(def.processors)) {
      throw new EsError(400, 'parse_exception', '[processors] required property is missing', { property_name: 'processors' });
    }
    for (const p of def.processors) {
      const [type] = Object.keys(p || {});
      if (!PROCESSORS.has(type)) {
        throw new EsError(400, 'parse_exception', `No processor type exists with name [${type}]`, { processor_type: type });
      }
      if (!p[type] || typeof p[type].field !== 'string') {
        throw new EsError(400, 'parse_exception', '[field] required property is missing', { processor_type: type, property_name: 'field' });
      }
    }
    this.engine.pipelines.set(id, def);
    this.engine.log({ o: 'pipe', id, def });
  }

  get(id) {
    if (!id || id === '*') return Object.fromEntries(this.engine.pipelines);
    const d = this.engine.pipelines.get(id);
    return d ? { [id]: d } : null;
  }

  delete(id) {
    if (!this.engine.pipelines.has(id)) throw new EsError(404, 'resource_not_found_exception', `pipeline [${id}] is missing`);
    this.engine.pipelines.delete(id);
    this.engine.log({ o: 'pipe', id, def: null });
  }

  // Run pipeline `id` over a source buffer; returns the new source buffer or throws the item
  // error the engines report for a failed processor.
  run(id, srcBuf, idx, docId) {
    const def = this.engine.pipelines.get(id);
    if (!def) throw new EsError(400, 'illegal_argument_exception', `pipeline with id [${id}] does not exist`);
    let doc;
    try {
      doc = JSON.parse(srcBuf.toString('utf8'));
    } catch {
      return srcBuf; // the mapping step reports the parse error
    }
    for (const p of def.processors) {
      const [type] = Object.keys(p);
      const c = p[type];
      const v = getPath(doc, c.field);
      const missing = () => {
        if (c.ignore_missing) return false;
        throw new EsError(400, 'illegal_argument_exception', `field [${c.field}] not present as part of path [${c.field}]`);
      };
      switch (type) {
        case 'set':
          if (c.override === false && v !== undefined && v !== null) break;
          setPath(doc, c.field, c.value);
          break;
        case 'remove':
          for (const f of Array.isArray(c.field) ? c.field : [c.field]) if (!removePath(doc, f) && !c.ignore_missing) missing();
          break;
        case 'rename':
          if (v === undefined) { missing(); break; }
          if (getPath(doc, c.target_field) !== undefined) throw new EsError(400, 'illegal_argument_exception', `field [${c.target_field}] already exists`);
          removePath(doc, c.field);
          setPath(doc, c.target_field, v);
          break;
        default: {
          if (v === undefined || v === null) { missing(); break; }
          if (typeof v !== 'string') throw new EsError(400, 'illegal_argument_exception', `field [${c.field}] of type [${typeof v === 'number' ? 'java.lang.Integer' : 'java.util.LinkedHashMap'}] cannot be cast to [java.lang.String]`);
          const out = type === 'lowercase' ? v.toLowerCase() : type === 'uppercase' ? v.toUpperCase() : v.trim();
          setPath(doc, c.target_field || c.field, out);
        }
      }
    }
    return Buffer.from(JSON.stringify(doc));
  }
}
