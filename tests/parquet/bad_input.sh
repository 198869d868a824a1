#!/usr/bin/env bash
# bad_input.sh DIP REPO: corrupts real Parquet files (the committed seed corpus: arrow-rs,
# DuckDB and Spark files) and runs `dip parquet cat` and `dip parquet check` on each damaged
# copy. Truncations, wrong magic, absurd footer lengths and Thrift counts, pages claiming more
# values than they hold and unknown codecs must fail: non-zero exit, an error on stderr that
# names the file. Flipped bytes at many deterministic offsets may decode or fail, but never
# with a signal, never silently (non-zero exit => a message), always within the time bound.
set -euo pipefail
dip=$(realpath "$1")
repo=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 - "$dip" "$repo/fuzz/corpus/parquet" "$tmp" <<'PY'
import json, os, subprocess, sys
dip, corpus, tmp = sys.argv[1:4]
files = sorted(f for f in os.listdir(corpus) if f.endswith('.parquet'))
assert len(files) >= 8, files
failures = []
runs = 0
kinds = {}

def run(path, must_fail, what):
    global runs
    k = path.rsplit('_', 1)[-1].rstrip('0123456789.parquet') or 'other'
    kinds[k] = kinds.get(k, 0) + 1
    for sub in (['cat'], ['check', '--threads', '2']):
        runs += 1
        try:
            p = subprocess.run([dip, 'parquet'] + sub + [path], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=20)
        except subprocess.TimeoutExpired:
            failures.append(f'{what} {sub[0]}: hang (> 20 s)')
            continue
        err = p.stderr.decode('utf-8', 'replace')
        if p.returncode < 0 or p.returncode >= 128:
            failures.append(f'{what} {sub[0]}: killed by signal ({p.returncode}) {err[:200]}')
        elif must_fail and p.returncode == 0:
            failures.append(f'{what} {sub[0]}: exit 0 on corrupt input')
        elif p.returncode != 0 and (os.path.basename(path) not in err or 'ERROR' not in err):
            failures.append(f'{what} {sub[0]}: exit {p.returncode} without a clear message: {err[:200]}')

def write(name, data):
    path = os.path.join(tmp, name)
    with open(path, 'wb') as f:
        f.write(data)
    return path

def meta(path):
    return json.loads(subprocess.run([dip, 'parquet', 'meta', path], capture_output=True,
                                     check=True).stdout)

for fn in files:
    src = open(os.path.join(corpus, fn), 'rb').read()
    n = len(src)
    base = fn[:-8]
    flen = int.from_bytes(src[-8:-4], 'little')
    foot = n - 8 - flen
    # truncations: every one must fail (the footer is gone or misplaced)
    for cut in sorted({0, 1, 3, 4, 7, 8, 11, n // 3, n // 2, n - 1, n - 4, n - 9, foot, foot + flen // 2}):
        if 0 <= cut < n:
            run(write(f'{base}_trunc{cut}.parquet', src[:cut]), True, f'{fn} truncated to {cut}')
    run(write(f'{base}_badhead.parquet', b'PAR2' + src[4:]), True, f'{fn} bad leading magic')
    run(write(f'{base}_badtail.parquet', src[:-4] + b'PARX'), True, f'{fn} bad trailing magic')
    for L in (0, 0x7fffffff, n, flen + 1):
        d = src[:-8] + L.to_bytes(4, 'little') + b'PAR1'
        run(write(f'{base}_flen{L}.parquet', d), True, f'{fn} footer length {L}')
    # a footer that is one absurd Thrift list: schema of 2^32-1 elements
    absurd = bytes([0x15, 0x02, 0x19, 0xfc, 0xff, 0xff, 0xff, 0x0f, 0x00])
    d = src[:foot] + absurd + len(absurd).to_bytes(4, 'little') + b'PAR1'
    run(write(f'{base}_absurdlist.parquet', d), True, f'{fn} absurd schema count')
    # a huge string length inside the footer
    absurd = bytes([0x15, 0x02, 0x19, 0x1c, 0x48, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00])
    d = src[:foot] + absurd + len(absurd).to_bytes(4, 'little') + b'PAR1'
    run(write(f'{base}_absurdstr.parquet', d), True, f'{fn} absurd string length')
    # flipped bytes at deterministic offsets across the whole file (decode may succeed)
    step = max(1, n // 64)
    for off in range(0, n, step):
        d = bytearray(src)
        d[off] ^= 0xff
        run(write(f'{base}_flip{off}.parquet', bytes(d)), False, f'{fn} byte {off} flipped')
    # footer bytes one by one for small footers (Thrift structure damage)
    for off in range(foot, n - 8, max(1, flen // 40)):
        d = bytearray(src)
        d[off] = (d[off] + 0x41) & 0xff
        run(write(f'{base}_foot{off}.parquet', bytes(d)), False, f'{fn} footer byte {off} changed')
    m = meta(os.path.join(corpus, fn))
    if m['num_rows'] == 0:
        continue
    c0 = m['row_groups'][0]['columns'][0]
    # first page header of column 0: make num_values absurd and claim more values than held
    off = c0['data_page_offset']
    hdr = bytearray(src[off:off + 64])
    # locate DataPageHeader (field 5 struct, or field 8 for v2) num_values: 0x15 varint
    # right after the struct header byte 0x2c (5 after 3) or 0x5c (8 after 3) / 0x4c (8 after 4)
    for i in range(len(hdr) - 3):
        if hdr[i] in (0x2c, 0x4c, 0x5c) and hdr[i + 1] == 0x15:
            j = i + 2
            k = j
            while hdr[k] & 0x80:
                k += 1
            width = k - j + 1
            big = bytes([0xff] * (width - 1) + [0x7f]) if width > 1 else bytes([0x7e])
            d = bytearray(src)
            d[off + j:off + j + width] = big
            run(write(f'{base}_numvalues.parquet', bytes(d)), True, f'{fn} page claims more values')
            break
    # unknown codec: ColumnMetaData field 4 follows the path_in_schema list (0x19 ...)
    path = c0['path'].split('.')
    if len(path) == 1:
        name = path[0].encode()
        pat = bytes([0x19, 0x18, len(name)]) + name + b'\x15'
        i = src.find(pat, foot)
        if i >= 0:
            d = bytearray(src)
            d[i + len(pat)] = 0x12  # zigzag(9): no such codec
            run(write(f'{base}_codec.parquet', bytes(d)), True, f'{fn} unknown codec')
print(f'bad input: {runs} runs over {len(files)} files, {len(failures)} failures; cases: {kinds}')
assert kinds.get('numvalues', 0) >= 8 and kinds.get('codec', 0) >= 4, kinds
for f in failures[:40]:
    print('FAIL', f)
sys.exit(1 if failures else 0)
PY
