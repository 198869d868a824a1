// compare_ndjson.mjs EXPECTED ACTUAL: row-by-row equality of canonical NDJSON (numbers with a
// relative tolerance of 1e-12, everything else exact). Exit 1 with the first difference.
import { readFileSync } from 'node:fs';
const [exp, act] = process.argv.slice(2).map((f) => readFileSync(f, 'utf8').split('\n').filter((l) => l.length));
function eq(a, b) {
  if (typeof a === 'number' && typeof b === 'number')
    return a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => eq(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && eq(a[k], b[k]));
  }
  return a === b;
}
if (exp.length !== act.length) { console.error(`row count: expected ${exp.length}, got ${act.length}`); process.exit(1); }
for (let i = 0; i < exp.length; i++) {
  if (!eq(JSON.parse(exp[i]), JSON.parse(act[i]))) {
    console.error(`row ${i} differs:\n expected ${exp[i]}\n actual   ${act[i]}`); process.exit(1);
  }
}
console.log(`ok: ${exp.length} rows equal`);
