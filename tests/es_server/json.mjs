// json.mjs: JSON rendering with raw pieces spliced in (stored _source bytes, 64-bit sort
// sentinels) without re-parsing them, and the engines' filter_path response filtering.

// A value rendered verbatim (bytes of stored JSON, or a JSON number text). JSON.stringify
// calls toJSON only on these objects, which is much cheaper than a replacer on every key.
let collecting = null;
export class Raw {
  constructor(bytes) {
    this.bytes = bytes; // Buffer or string, valid JSON
  }

  toJSON() {
    if (!collecting) return JSON.parse(this.bytes.toString());
    collecting.push(this.bytes);
    return MARK + (collecting.length - 1) + MARK;
  }
}

const MARK = '\u0000R';

// Stringify `obj`, splicing in the bytes of Raw values; returns a Buffer.
export function render(obj, pretty = false) {
  const raws = [];
  collecting = raws;
  let text;
  try {
    text = JSON.stringify(obj, null, pretty ? 2 : undefined);
  } finally {
    collecting = null;
  }
  if (!raws.length) return Buffer.from(text);
  const parts = [];
  const re = /"\\u0000R(\d+)\\u0000R"/g;
  let last = 0;
  let m;
  while ((m = re.exec(text))) {
    parts.push(Buffer.from(text.slice(last, m.index)));
    const r = raws[Number(m[1])];
    parts.push(typeof r === 'string' ? Buffer.from(r) : r);
    last = m.index + m[0].length;
  }
  parts.push(Buffer.from(text.slice(last)));
  return Buffer.concat(parts);
}

// filter_path: comma-separated dotted patterns with * (one level) and ** (any depth);
// a leading '-' excludes. Raw values are parsed when a pattern reaches into them.
export function filterPath(obj, spec) {
  const pats = spec.split(',').map((s) => s.trim()).filter(Boolean);
  const inc = pats.filter((p) => !p.startsWith('-')).map((p) => p.split('.'));
  const exc = pats.filter((p) => p.startsWith('-')).map((p) => p.slice(1).split('.'));
  let out = obj;
  if (inc.length) out = include(obj, inc);
  if (exc.length && out !== undefined) out = exclude(out, exc);
  return out === undefined ? {} : out;
}

function segMatch(seg, key) {
  if (seg === '*' || seg === '**') return true;
  if (!seg.includes('*')) return seg === key;
  return new RegExp('^' + seg.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$').test(key);
}

function materialize(v) {
  if (v instanceof Raw) return JSON.parse(v.bytes.toString());
  return v;
}

function include(v, pats) {
  if (pats.some((p) => p.length === 0)) return v;
  v = materialize(v);
  if (Array.isArray(v)) {
    const arr = v.map((x) => include(x, pats)).filter((x) => x !== undefined);
    return arr.length ? arr : undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const o = {};
  let any = false;
  for (const [k, x] of Object.entries(v)) {
    const next = [];
    for (const p of pats) {
      if (p[0] === '**') { next.push(p); if (p.length > 1 && segMatch(p[1], k)) next.push(p.slice(2)); if (p.length === 1) next.push([]); }
      else if (segMatch(p[0], k)) next.push(p.slice(1));
    }
    if (!next.length) continue;
    const r = include(x, next);
    if (r !== undefined) { o[k] = r; any = true; }
  }
  return any ? o : undefined;
}

function exclude(v, pats) {
  v = materialize(v);
  if (Array.isArray(v)) return v.map((x) => exclude(x, pats));
  if (v === null || typeof v !== 'object') return v;
  const o = {};
  for (const [k, x] of Object.entries(v)) {
    const next = [];
    let drop = false;
    for (const p of pats) {
      if (segMatch(p[0], k)) { if (p.length === 1) drop = true; else next.push(p.slice(1)); }
    }
    if (drop) continue;
    o[k] = next.length ? exclude(x, next) : x;
  }
  return o;
}
