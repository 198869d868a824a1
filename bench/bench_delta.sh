#!/usr/bin/env bash
# bench_delta.sh: Delta reader benchmarks (make bench-delta).
#
# 1. Snapshot of a big log: a classic checkpoint of 100,000 files plus 10,000 JSON commits
#    after it (bench/delta/gen_tables.mjs big-log; data files are not needed). Prints the
#    wall time of `dip delta info` (median of 5 runs, whole process), its peak RSS, and the
#    snapshot phases from dip's debug log. Goal: under 1 s.
# 2. Incremental diff (issue 14): `dip delta diff` over the last 10 commits of that table,
#    the diff step timed from dip's debug log (the snapshot at the newer version is open
#    already, as in an incremental sync), median of 5, beside the full diff (the snapshot
#    at the older version, then a comparison: DIP_DELTA_DIFF=full) measured in the same run.
#    Twice: on the table above, whose removes carry the path alone (Delta < 1.0; the table is
#    partitioned, so the removed files' partition values must come from the older snapshot)
#    and on a copy whose removes carry extendedFileMetadata (Delta >= 1.0, delta-rs). Goal:
#    under 50 ms. The whole process (which also opens the newer snapshot) is printed too.
# 3. Scan throughput: a table of 8 Parquet files x 250,000 rows, read with
#    `dip delta cat --count` (decode only) from local files and from s3rver (scripts/s3rver.sh,
#    SigV4, loopback) in the same run; prints rows/s, MB/s and the S3/local time ratio.
#
# Environment: BENCH_DIR (default build/bench-delta; tables are generated once and reused),
# BENCH_FILES / BENCH_COMMITS (big log), BENCH_SCAN_FILES / BENCH_SCAN_ROWS, DIP (binary).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
DIP=${DIP:-$REPO/build/dip}
BENCH_DIR=${BENCH_DIR:-$REPO/build/bench-delta}
FILES=${BENCH_FILES:-100000}
COMMITS=${BENCH_COMMITS:-10000}
SCAN_FILES=${BENCH_SCAN_FILES:-8}
SCAN_ROWS=${BENCH_SCAN_ROWS:-250000}
[ -x "$DIP" ] || { echo "bench_delta: $DIP not built (make build)"; exit 1; }
[ -d node_modules/@duckdb/node-api ] || { echo "bench_delta: node_modules missing (npm ci)"; exit 1; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy || true
mkdir -p "$BENCH_DIR"

BIG=$BENCH_DIR/big-log-$FILES-$COMMITS
if [ ! -f "$BIG/.done" ]; then
  rm -rf "$BIG"
  echo "generating $BIG (checkpoint of $FILES files + $COMMITS commits) ..."
  node bench/delta/gen_tables.mjs big-log "$BIG" "$FILES" "$COMMITS"
  touch "$BIG/.done"
fi
BIG_EXT=$BENCH_DIR/big-log-ext-$FILES-$COMMITS
if [ ! -f "$BIG_EXT/.done" ]; then
  rm -rf "$BIG_EXT"
  echo "generating $BIG_EXT (the same with extended removes) ..."
  node bench/delta/gen_tables.mjs big-log "$BIG_EXT" "$FILES" "$COMMITS" extended
  touch "$BIG_EXT/.done"
fi
SCAN=$BENCH_DIR/scan-$SCAN_FILES-$SCAN_ROWS
if [ ! -f "$SCAN/.done" ]; then
  rm -rf "$SCAN"
  echo "generating $SCAN ($SCAN_FILES files x $SCAN_ROWS rows) ..."
  node bench/delta/gen_tables.mjs scan "$SCAN" "$SCAN_FILES" "$SCAN_ROWS"
  touch "$SCAN/.done"
fi

# run CMD... -> prints "wall_s peak_rss_kb cpu_s" of the child (python: wall clock +
# RUSAGE_CHILDREN); CPU time is reported too because the dev box is shared and wall time
# moves with other people's load
measure() {
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
w = time.perf_counter() - t
if p.returncode != 0:
    sys.stderr.write(p.stderr.decode(errors='replace'))
    sys.exit(p.returncode)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print('%.4f %d %.4f' % (w, ru.ru_maxrss, ru.ru_utime + ru.ru_stime))
PY
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo
echo "== snapshot: checkpoint of $FILES files + $COMMITS commits"
"$DIP" delta info "$BIG" | sed -n '2p;4p;10,12p'
times=()
cpus=()
rss=0
for i in 1 2 3 4 5; do
  read -r w r c < <(measure "$DIP" delta info "$BIG")
  times+=("$w")
  cpus+=("$c")
  [ "$r" -gt "$rss" ] && rss=$r
done
snap=$(printf '%s\n' "${times[@]}" | median)
echo "dip delta info wall time: median ${snap} s of 5 (runs: ${times[*]})"
echo "dip delta info CPU time (user+sys): median $(printf '%s\n' "${cpus[@]}" | median) s"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "peak RSS: $((rss / 1024)) MiB"
"$DIP" --log-level debug delta info "$BIG" 2>&1 >/dev/null | grep -o 'snapshot v.*' || true
python3 -c "import sys; sys.exit(0 if float('$snap') < 1.0 else 1)" &&
  echo "goal (< 1 s): met" || echo "goal (< 1 s): NOT met"

echo
echo "== incremental diff: the last 10 commits of $COMMITS (checkpoint of $FILES files)"
TO=$((100 + COMMITS))
FROM=$((TO - 10))
# diff_step MODE TABLE -> "step_s wall_s how" of one run (step from the debug log)
diff_step() {
  local t0 t1 line
  t0=$(date +%s.%N)
  line=$(DIP_DELTA_DIFF=$1 "$DIP" --log-level debug delta diff "$2" --from "$FROM" --to "$TO" 2>&1 >/dev/null |
    grep -o 'diff v[0-9]*\.\.v[0-9]*: .*')
  t1=$(date +%s.%N)
  [ -n "$line" ] || { echo "bench_delta: no diff line in dip's debug log" >&2; exit 1; }
  local step how
  step=$(sed -n 's/.* \([0-9.]*\) s$/\1/p' <<<"$line")
  how=$(cut -d: -f2 <<<"$line" | cut -c2- | cut -d' ' -f1)
  echo "$step $(python3 -c "print('%.4f' % ($t1 - $t0))") $how"
}
diff_bench() { # LABEL TABLE
  local label=$1 table=$2 mode steps walls how
  declare -A med
  for mode in auto full; do
    steps=() walls=()
    for i in 1 2 3 4 5; do
      read -r s w how < <(diff_step "$mode" "$table")
      steps+=("$s")
      walls+=("$w")
    done
    med[$mode]=$(printf '%s\n' "${steps[@]}" | median)
    med[$mode-wall]=$(printf '%s\n' "${walls[@]}" | median)
    med[$mode-how]=$how
  done
  python3 -c "
a=float('${med[auto]}'); f=float('${med[full]}')
print('%-34s diff step %8.1f ms (%s)   full diff step %8.1f ms   ratio %6.1fx' % ('$label', a*1e3, '${med[auto-how]}', f*1e3, f/a if a > 0 else 0))
print('%-34s whole dip delta diff: %.3f s (full: %.3f s; both open the newer snapshot)' % ('', float('${med[auto-wall]}'), float('${med[full-wall]}')))
print('%-34s goal (< 50 ms): %s' % ('', 'met' if a < 0.05 else 'NOT met'))"
}
diff_bench "removes with extendedFileMetadata" "$BIG_EXT"
diff_bench "bare removes (Delta < 1.0)" "$BIG"
DIP_DELTA_DIFF=auto "$DIP" --log-level debug delta diff "$BIG" --from "$FROM" --to "$TO" 2>&1 >/dev/null |
  grep -o 'diff v.*' | sed 's/^/  bare removes: /'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

echo
echo "== scan throughput: $SCAN_FILES files x $SCAN_ROWS rows"
bytes=$(du -cb "$SCAN"/*.parquet | tail -1 | cut -f1)
rows=$((SCAN_FILES * SCAN_ROWS))
got=$("$DIP" delta cat "$SCAN" --count)
[ "$got" -eq "$rows" ] || { echo "local scan returned $got rows, expected $rows"; exit 1; }
report() { # label wall
  python3 -c "
w=float('$2'); r=$rows; b=$bytes
print('%-22s %7.3f s  %10.0f rows/s  %7.1f MB/s (parquet bytes)' % ('$1', w, r/w, b/w/1e6))"
}
best() { # best of 3 wall times of CMD...
  local b=""
  for i in 1 2 3; do
    read -r w _ < <(measure "$@")
    if [ -z "$b" ] || python3 -c "import sys; sys.exit(0 if $w < $b else 1)"; then b=$w; fi
  done
  echo "$b"
}
local_t=$(best "$DIP" delta cat "$SCAN" --count)
report "local (decode only)" "$local_t"
local_json_t=$(best "$DIP" delta cat "$SCAN")
report "local (NDJSON out)" "$local_json_t"

if [ ! -x scripts/s3rver.sh ]; then
  echo "s3: pending (scripts/s3rver.sh is not in this checkout)"
  exit 0
fi
S3DIR=$(mktemp -d "${TMPDIR:-/tmp}/dip-bench-s3.XXXXXX")
cleanup() { scripts/s3rver.sh stop "$S3DIR" >/dev/null 2>&1 || true; rm -rf "$S3DIR"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
eval "$(scripts/s3rver.sh start "$S3DIR" dip-bench)"
scripts/s3rver.sh upload "$S3DIR" "$SCAN" s3://dip-bench/scan >/dev/null
got=$("$DIP" delta cat s3://dip-bench/scan --count)
[ "$got" -eq "$rows" ] || { echo "s3 scan returned $got rows, expected $rows"; exit 1; }
s3_t=$(best "$DIP" delta cat s3://dip-bench/scan --count)
report "s3rver (decode only)" "$s3_t"
s3_json_t=$(best "$DIP" delta cat s3://dip-bench/scan)
report "s3rver (NDJSON out)" "$s3_json_t"
python3 -c "print('s3rver / local time ratio: %.2fx (decode only), %.2fx (NDJSON)' % ($s3_t/$local_t, $s3_json_t/$local_json_t))"
s3_snap=$(measure "$DIP" delta info s3://dip-bench/scan | cut -d' ' -f1)
echo "snapshot of the scan table over s3rver: ${s3_snap} s"
