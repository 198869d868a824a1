#!/usr/bin/env bash
# bench_es.sh: bulk-load BENCH_DOCS (1,000,000) one-KB documents into the test server
# (scripts/es-test-server, flavour es7 so both clients speak their native dialect) with
# `dip es load` and, in the same run, with the official Python client's
# elasticsearch.helpers.parallel_bulk (python3-elasticsearch 7.17, 4 threads, its default
# chunk of 500), same server, same documents. dip runs twice: with its defaults (gzip request
# bodies) and without gzip (as the Python client sends by default). Prints docs/s and MB/s
# (document bytes) for each, the ratios, and dip's peak RSS. A benchmark, not a test: it asserts only that both
# indices hold every document. Targets (issue 9): dip >= 5x Python's docs/s, < 64 MiB.
#
#   bench/bench_es.sh                 # or: make bench-es
#   BENCH_DOCS=100000 bench/bench_es.sh
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
DIP=${DIP:-$SRC/build/dip}
N=${BENCH_DOCS:-1000000}
PY=/usr/bin/python3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dip-bench-es.XXXXXXXX")
ES_PID=
cleanup() {
  [ -n "$ES_PID" ] && { kill "$ES_PID"; wait "$ES_PID"; } 2> /dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
[ -x "$DIP" ] || { echo "bench_es: $DIP missing: make build" >&2; exit 2; }

echo "generating $N one-KB documents ..."
$PY - "$N" > "$WORK/docs.ndjson" <<'PY'
import json, random, sys
n = int(sys.argv[1]); rnd = random.Random(42)
words = ["%s%d" % (w, k) for k in range(40) for w in
         ("alpha", "beta", "gamma", "delta", "omega", "lake", "gold", "silver", "stream", "index")]
w = sys.stdout.write
for i in range(n):
    doc = {"id": i, "title": " ".join(rnd.choice(words) for _ in range(8)),
           "price": round(rnd.random() * 1000, 2), "qty": rnd.randrange(1000),
           "tags": [rnd.choice(words) for _ in range(5)], "active": i % 3 == 0,
           "updated": "2026-12-%02dT%02d:%02d:00Z" % (1 + i % 28, i % 24, i % 60)}
    base = len(json.dumps(doc))
    doc["body"] = " ".join(rnd.choice(words) for _ in range(200))[: max(0, 1024 - base - 12)]
    w(json.dumps({"_id": str(i), "_source": doc}) + "\n")
PY
bytes=$(stat -c %s "$WORK/docs.ndjson")
echo "documents: $N, $((bytes / 1048576)) MiB of NDJSON"

. "$SRC/bench/es_server.sh"
es_server_start bench-es "$WORK/data" --flavour es7
count() { curl -s "$ELASTICSEARCH_URL/$1/_count" | $PY -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }

# wall seconds, user + system CPU seconds and peak RSS (KiB) of each client process
TIME="/usr/bin/time -f %e,%U,%S,%M"

# dip: defaults (4 in flight, 5,000 per bulk, gzip), then without gzip (as the Python
# client sends by default: on loopback compression only costs CPU on both sides)
ELASTICSEARCH_HTTP_COMPRESS=true $TIME -o "$WORK/dip.time" "$DIP" es load bench_dip < "$WORK/docs.ndjson" 2> "$WORK/dip.log"
dip_n=$(count bench_dip)
curl -s -X DELETE "$ELASTICSEARCH_URL/bench_dip" > /dev/null   # keep the server's memory flat
ELASTICSEARCH_HTTP_COMPRESS=false $TIME -o "$WORK/dipraw.time" "$DIP" es load bench_dip < "$WORK/docs.ndjson" 2> "$WORK/dip.log"
dipraw_n=$(count bench_dip)
curl -s -X DELETE "$ELASTICSEARCH_URL/bench_dip" > /dev/null

# Python: parallel_bulk, 4 threads, reading and parsing the same lines
$TIME -o "$WORK/py.time" $PY - "$WORK/docs.ndjson" "$ELASTICSEARCH_URL" <<'PY'
import json, sys
from elasticsearch import Elasticsearch
from elasticsearch.helpers import parallel_bulk
es = Elasticsearch([sys.argv[2]], timeout=60)
def actions():
    with open(sys.argv[1]) as f:
        for line in f:
            o = json.loads(line)
            yield {"_index": "bench_py", "_id": o["_id"], "_source": o["_source"]}
for ok, item in parallel_bulk(es, actions(), thread_count=4):
    if not ok:
        raise SystemExit("python bulk item failed: %r" % (item,))
es.indices.refresh(index="bench_py")
PY
py_n=$(count bench_py)

$PY - "$N" "$bytes" "$WORK/dip.time" "$WORK/py.time" "$dip_n" "$py_n" "$WORK/dipraw.time" "$dipraw_n" <<'PY'
import sys
n, b = int(sys.argv[1]), int(sys.argv[2])
def t(path):
    wall, user, sys_, rss = open(path).read().strip().splitlines()[-1].split(",")
    return float(wall), float(user) + float(sys_), int(rss) / 1024.0
(dw, dc, dr), (pw, pc, pr), (rw, rc, rr) = t(sys.argv[3]), t(sys.argv[4]), t(sys.argv[7])
dn, pn, rn = sys.argv[5], sys.argv[6], sys.argv[8]
print("%-34s %10s %8s %8s %9s %13s %9s" % ("client", "docs/s", "MB/s", "wall s", "client", "docs per", "peak RSS"))
print("%-34s %10s %8s %8s %9s %13s %9s" % ("", "(wall)", "", "", "CPU s", "client CPU s", "MiB"))
for name, w, c, r in (("dip es load (defaults: gzip)", dw, dc, dr), ("dip es load (no gzip)", rw, rc, rr),
                      ("python parallel_bulk (4 threads)", pw, pc, pr)):
    print("%-34s %10.0f %8.1f %8.2f %9.2f %13.0f %9.1f" % (name, n / w, b / w / 1e6, w, c, n / c, r))
print("ratio dip / python, docs/s (wall): %.2fx with gzip, %.2fx without (target >= 5x)" % (pw / dw, pw / rw))
print("ratio dip / python, documents per client CPU-second: %.1fx with gzip, %.1fx without" % (pc / dc, pc / rc))
print("dip peak RSS: %.1f MiB with gzip, %.1f MiB without (target < 64 MiB)" % (dr, rr))
print("(wall figures are capped by the test server's ingest rate when it is the slower side)")
print("documents indexed: dip %s and %s, python %s, expected %d" % (dn, rn, pn, n))
if int(dn) != n or int(rn) != n or int(pn) != n:
    sys.exit("bench_es: an index does not hold every document")
PY
