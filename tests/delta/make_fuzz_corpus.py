#!/usr/bin/env python3
"""make_fuzz_corpus.py UNPACKED_GOLDEN_DIR OUT_DIR: writes the seed corpus of fuzz/fuzz_delta.c
(fuzz/corpus/delta/) from unpacked delta-golden tables. The first byte of each seed selects
the parser (see fuzz_delta.c): 0 commit JSON, 1 DV bitmap, 2 inline DV, 3 partition value,
4 _delta_log names, 5 checkpoint Parquet."""
import hashlib, os, struct, sys

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
count = 0

def seed(mode, data):
    global count
    blob = bytes([mode]) + data
    if len(blob) > 200000:
        return
    name = '%d-%s' % (mode, hashlib.sha1(blob).hexdigest()[:16])
    with open(os.path.join(out, name), 'wb') as f:
        f.write(blob)
    count += 1

seen_commit = 0
seen_parquet = 0
for table in sorted(os.listdir(src)):
    log = os.path.join(src, table, 'delta', '_delta_log')
    if not os.path.isdir(log):
        continue
    names = sorted(os.listdir(log))
    seed(4, '\n'.join(names).encode())
    for n in names:
        p = os.path.join(log, n)
        if n.endswith('.json') and os.path.getsize(p) < 30000 and seen_commit < 80:
            seed(0, open(p, 'rb').read())
            seen_commit += 1
        elif n.endswith('.parquet') and os.path.getsize(p) < 40000 and seen_parquet < 16:
            seed(5, open(p, 'rb').read())
            seen_parquet += 1
    tdir = os.path.join(src, table, 'delta')
    for n in os.listdir(tdir):
        if n.startswith('deletion_vector_') and n.endswith('.bin'):
            b = open(os.path.join(tdir, n), 'rb').read()
            pos = 1
            while pos + 4 <= len(b):
                (size,) = struct.unpack('>I', b[pos:pos + 4])
                if pos + 8 + size > len(b):
                    break
                seed(1, b[pos + 4:pos + 4 + size])
                pos += 8 + size

# PROTOCOL.md inline example (native layout) and a padded variant
ex = b'wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L'
seed(2, struct.pack('<HB', 40, 6) + ex)
seed(2, struct.pack('<HB', 20, 0) + b'ab^-aqEH.-t@S}K{vb[*k^')
for t, s in [(0, 'hello'), (1, '-9223372036854775808'), (2, '2147483647'), (4, '-128'),
             (6, '1.5e300'), (6, 'NaN'), (7, 'true'), (8, '\u0001\u0002'), (9, '2021-09-08'),
             (10, '2021-09-08 11:11:11.123456'), (10, '1970-01-01T00:00:00.123456Z'),
             (10, '2020-01-01T08:09:10+05:30'), (11, '2021-09-08 11:11:11'),
             (12, '-2342342.23423'), (12, '1.0E-7'), (13, '999.99'), (14, '9')]:
    seed(3, bytes([t]) + s.encode())
print('%d seeds in %s' % (count, out))
