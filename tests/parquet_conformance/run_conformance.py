#!/usr/bin/env python3
"""Parquet conformance: `dip parquet` against files written by independent writers.

  run_conformance.py --dip build/dip --fixtures DIR [--shared DIR] [--known FILE] [--only REGEX]

DIR holds what tests/fixtures/gen_parquet.mjs wrote: cases.tsv, NAME.parquet and NAME.jsonl
(expected rows from the generator's input, canonical row format). For every case:
  cat       `dip parquet cat FILE` equals NAME.jsonl (compare.py: multiset, float tolerance)
  columns   `dip parquet cat FILE --columns B,A` equals NAME.jsonl projected on B and A
  limit     `dip parquet cat FILE --limit N` equals the first N expected rows
  row-group `dip parquet cat FILE --row-group K` (first, middle, last of files with several)
            equals that row group's slice of the expected rows (sizes from `dip parquet meta`)
  check     `dip parquet check FILE` exits 0
Prints one line per file and `N passed, M failed`; exits 1 if any case failed that is not
listed in the known-failures file (those print as "known failure" and are counted apart;
a listed case that passes is reported so the list can shrink).
compare.py comes from the shared folder ($DIP_SHARED, else --shared, else REPO/../shared).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

TIMEOUT = 120  # seconds per dip command: the biggest fixture decodes in well under a second


def run(cmd, out_path=None):
    """Run cmd; returns (rc, stderr tail). stdout goes to out_path when given."""
    out = open(out_path, 'wb') if out_path else subprocess.DEVNULL
    try:
        p = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                           timeout=TIMEOUT)
        err = p.stderr.decode('utf-8', 'replace').strip().replace('\n', ' | ')
        rc = p.returncode
        if rc < 0:
            err = 'killed by signal %d; %s' % (-rc, err)
        return rc, err[-300:]
    except subprocess.TimeoutExpired:
        return -1, 'timed out after %ds' % TIMEOUT
    finally:
        if out_path:
            out.close()


def load_compare_module(compare_py):
    """compare.py's values_equal, for per-column diagnosis (the verdict stays compare.py's)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('dip_compare', compare_py)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.values_equal


def column_diagnosis(values_equal, expected, actual):
    """Rows are in file order on both sides: name the columns that differ, with an example."""
    try:
        with open(expected, encoding='utf-8') as f:
            exp = [json.loads(l) for l in f if l.strip()]
        with open(actual, encoding='utf-8') as f:
            act = [json.loads(l) for l in f if l.strip()]
    except (ValueError, UnicodeDecodeError) as e:
        return ['(no column diagnosis: %s)' % e]
    if len(exp) != len(act):
        return ['row count: expected %d, got %d' % (len(exp), len(act))]
    bad = {}
    for i, (e, a) in enumerate(zip(exp, act)):
        if not isinstance(a, dict):
            return ['row %d is not an object' % i]
        for k in set(e) | set(a):
            if k not in a or k not in e or not values_equal(e[k], a[k]):
                if k not in bad:
                    bad[k] = [0, i, e.get(k, '<missing>'), a.get(k, '<missing>')]
                bad[k][0] += 1
    out = []
    for k, (n, i, ev, av) in sorted(bad.items()):
        out.append('column %s: %d rows differ; first at row %d: expected %s got %s'
                   % (k, n, i, clip(json.dumps(ev, ensure_ascii=False)), clip(json.dumps(av, ensure_ascii=False))))
    return out


def clip(s, n=160):
    return s if len(s) <= n else s[:n] + '...'


def compare(compare_py, expected, actual, values_equal=None):
    p = subprocess.run([sys.executable, compare_py, expected, actual], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=TIMEOUT)
    lines = [clip(l, 300) for l in p.stdout.decode('utf-8', 'replace').strip().splitlines()]
    if p.returncode != 0 and values_equal:
        lines = lines[:1] + column_diagnosis(values_equal, expected, actual) or lines
    return p.returncode == 0, lines


def read_known(path):
    known = set()
    if path and os.path.exists(path):
        with open(path, encoding='utf-8') as f:
            for line in f:
                line = line.split('#', 1)[0].strip()
                if line:
                    known.add(line.split()[0])
    return known


def check_case(args, compare_py, values_equal, tmp, name, rows, projection):
    """Returns a list of failure descriptions (empty = pass)."""
    fx = args.fixtures
    pq = os.path.join(fx, name + '.parquet')
    exp = os.path.join(fx, name + '.jsonl')
    fails = []

    act = os.path.join(tmp, name + '.cat.jsonl')
    rc, err = run([args.dip, 'parquet', 'cat', pq], act)
    if rc != 0:
        fails.append('cat: exit %d: %s' % (rc, err))
    else:
        ok, diff = compare(compare_py, exp, act, values_equal)
        if not ok:
            fails.append('cat: ' + '\n      '.join(diff[:8]))

    with open(exp, encoding='utf-8') as f:
        exp_lines = [l for l in f.read().split('\n') if l.strip()]

    cols = projection.split(',')
    pexp = os.path.join(tmp, name + '.cols.expected.jsonl')
    with open(pexp, 'w', encoding='utf-8') as f:
        for l in exp_lines:
            row = json.loads(l)
            f.write(json.dumps({c: row[c] for c in cols}, ensure_ascii=False) + '\n')
    pact = os.path.join(tmp, name + '.cols.jsonl')
    rc, err = run([args.dip, 'parquet', 'cat', pq, '--columns', projection], pact)
    if rc != 0:
        fails.append('columns %s: exit %d: %s' % (projection, rc, err))
    else:
        ok, diff = compare(compare_py, pexp, pact, values_equal)
        if not ok:
            fails.append('columns %s: ' % projection + '\n      '.join(diff[:8]))

    n = min(len(exp_lines), max(1, rows // 3 + 1))
    lexp = os.path.join(tmp, name + '.limit.expected.jsonl')
    with open(lexp, 'w', encoding='utf-8') as f:
        f.write(''.join(l + '\n' for l in exp_lines[:n]))
    lact = os.path.join(tmp, name + '.limit.jsonl')
    rc, err = run([args.dip, 'parquet', 'cat', pq, '--limit', str(n)], lact)
    if rc != 0:
        fails.append('limit %d: exit %d: %s' % (n, rc, err))
    else:
        ok, diff = compare(compare_py, lexp, lact, values_equal)
        if not ok:
            fails.append('limit %d: ' % n + '\n      '.join(diff[:8]))

    # row-group selection: first, middle and last row group against the matching slice of
    # the expected rows (row-group sizes come from `dip parquet meta`: counts, not values)
    meta = os.path.join(tmp, name + '.meta.json')
    rc, err = run([args.dip, 'parquet', 'meta', pq], meta)
    sizes = None
    if rc != 0:
        fails.append('meta: exit %d: %s' % (rc, err))
    else:
        try:
            with open(meta, encoding='utf-8') as f:
                sizes = [int(r['num_rows']) for r in json.load(f)['row_groups']]
        except (ValueError, KeyError, TypeError) as e:
            fails.append('meta: not the expected JSON (%s)' % e)
    if sizes is not None and sum(sizes) != len(exp_lines):
        fails.append('meta: row groups hold %d rows, expected %d' % (sum(sizes), len(exp_lines)))
    elif sizes and len(sizes) > 1:
        starts = [sum(sizes[:i]) for i in range(len(sizes))]
        for rg in sorted({0, len(sizes) // 2, len(sizes) - 1}):
            gexp = os.path.join(tmp, '%s.rg%d.expected.jsonl' % (name, rg))
            with open(gexp, 'w', encoding='utf-8') as f:
                f.write(''.join(l + '\n' for l in exp_lines[starts[rg]:starts[rg] + sizes[rg]]))
            gact = os.path.join(tmp, '%s.rg%d.jsonl' % (name, rg))
            rc, err = run([args.dip, 'parquet', 'cat', pq, '--row-group', str(rg)], gact)
            if rc != 0:
                fails.append('row-group %d: exit %d: %s' % (rg, rc, err))
                continue
            ok, diff = compare(compare_py, gexp, gact, values_equal)
            if not ok:
                fails.append('row-group %d: ' % rg + '\n      '.join(diff[:8]))

    rc, err = run([args.dip, 'parquet', 'check', pq])
    if rc != 0:
        fails.append('check: exit %d: %s' % (rc, err))
    return fails


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dip', required=True)
    ap.add_argument('--fixtures', required=True)
    ap.add_argument('--shared')
    ap.add_argument('--known', help='known-failures file (one case name per line)')
    ap.add_argument('--only', help='run only cases whose name matches REGEX')
    ap.add_argument('--min-cases', type=int, default=1,
                    help='fail when fewer cases ran (a generator that wrote nothing, a filter '
                         'that matched nothing must not pass)')
    args = ap.parse_args()

    shared = os.environ.get('DIP_SHARED') or args.shared
    compare_py = os.path.join(shared or '', 'delta-golden', 'compare.py')
    if not os.path.exists(compare_py):
        print('cannot find delta-golden/compare.py under %r (set DIP_SHARED)' % shared)
        return 2
    cases_tsv = os.path.join(args.fixtures, 'cases.tsv')
    if not os.path.exists(cases_tsv):
        print('no %s: run tests/fixtures/gen_parquet.mjs first' % cases_tsv)
        return 2
    known = read_known(args.known)
    values_equal = load_compare_module(compare_py)

    passed = failed = known_failed = 0
    fixed = []
    with open(cases_tsv, encoding='utf-8') as f, tempfile.TemporaryDirectory(prefix='dip-pqconf-') as tmp:
        for line in f:
            if line.startswith('#') or not line.strip():
                continue
            name, writer, rows, projection, desc = (line.rstrip('\n').split('\t') + [''] * 5)[:5]
            if args.only and not re.search(args.only, name):
                continue
            try:
                fails = check_case(args, compare_py, values_equal, tmp, name, int(rows), projection)
            except (OSError, ValueError, KeyError, subprocess.SubprocessError) as e:
                fails = ['runner: %s: %s' % (type(e).__name__, e)]
            label = '%s [%s, %s rows, %s]' % (name, writer, rows, desc)
            if not fails:
                passed += 1
                print('pass %s' % label)
                if name in known:
                    fixed.append(name)
            else:
                if name in known:
                    known_failed += 1
                    print('known failure %s' % label)
                else:
                    failed += 1
                    print('FAIL %s' % label)
                for x in fails:
                    print('   ' + x)
            sys.stdout.flush()
    for name in fixed:
        print('note: %s passes now; remove it from the known-failures list' % name)
    tail = ', %d known failures' % known_failed if known_failed else ''
    print('%d passed, %d failed%s' % (passed, failed, tail))
    ran = passed + failed + known_failed
    if ran < args.min_cases:
        print('FAIL only %d cases ran, expected at least %d (see --min-cases)' % (ran, args.min_cases))
        return 1
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
