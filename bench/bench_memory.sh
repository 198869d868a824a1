#!/usr/bin/env bash
# bench_memory.sh (`make bench-memory`): peak RSS (/usr/bin/time -f %M) of `dip parquet check`
# and `dip parquet cat > /dev/null` (each --threads 1 and the default) on files of ONE row group of
# BENCH_ROWS rows written by DuckDB (bench/memory/gen_memory.mjs): flat 4 and 12 columns and a
# list of structs, snappy and zstd; DuckDB's scan of the same file (1 thread, in node: its
# figure includes node, whose own RSS is printed too) beside them. Target (issue 14): check and
# cat under 128 MiB whatever the row-group size. Then the peak RSS of `dip sync-pg` (a full
# sync into a private PostgreSQL, fsync off: memory is the figure) of a Delta table made of
# each snappy file (bench/memory/delta_of.py; target under 256 MiB); BENCH_MEMORY_SYNC_PG=0
# skips it. Files cached in build/bench-data/memory/.
# A benchmark, not a test: it prints figures and asserts nothing about them.
#   BENCH_ROWS=8000000 BUILD=build bench/bench_memory.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${BUILD:-$repo/build}" && pwd)
rows=${BENCH_ROWS:-8000000}
data=$build/bench-data/memory
dip=$build/dip
if [ ! -x "$dip" ]; then
  echo "bench_memory: $dip not built (run make)" >&2
  exit 1
fi
if [ ! -x /usr/bin/time ]; then
  echo "bench_memory: /usr/bin/time missing (apt-get install time)" >&2
  exit 1
fi
cd "$repo"
node bench/memory/gen_memory.mjs "$data" "$rows"

# peak RSS in MiB of a command (stdout discarded); "fail(rc)" if it failed
peak() {
  local f rc kib
  f=$(mktemp)
  rc=0
  /usr/bin/time -o "$f" -f %M "$@" >/dev/null 2>"$f.err" || rc=$?
  kib=$(tail -n 1 "$f")
  rm -f "$f" "$f.err"
  if [ "$rc" -ne 0 ]; then
    echo "fail($rc)"
  else
    echo $((kib / 1024))
  fi
}

echo "load average before: $(cat /proc/loadavg)"
node_alone=$(peak node bench/memory/duck_scan.mjs "" 1)
echo
echo "Peak RSS in MiB, files of one row group of $rows rows (target: check and cat < 128 MiB)"
printf '%-34s %8s %10s %10s %10s %10s %12s\n' file 'file MiB' 'check -t1' check 'cat -t1' cat \
  'DuckDB -t1'
for shape in flat4 flat12 nested; do
  for codec in snappy zstd; do
    f=$data/${shape}_${codec}_${rows}.parquet
    mib=$(($(stat -c %s "$f") / 1048576))
    c1=$(peak "$dip" parquet check "$f" --threads 1)
    cn=$(peak "$dip" parquet check "$f")
    a1=$(peak "$dip" parquet cat "$f" --threads 1)
    ca=$(peak "$dip" parquet cat "$f")
    dd=$(peak node bench/memory/duck_scan.mjs "$f" 1)
    printf '%-34s %8s %10s %10s %10s %10s %12s\n' "$(basename "$f")" "$mib" "$c1" "$cn" "$a1" "$ca" \
      "$dd"
  done
done
if [ "${BENCH_MEMORY_SYNC_PG:-1}" != 0 ]; then
  echo
  echo "Peak RSS in MiB of dip sync-pg (full sync, empty gold) of a Delta table of one such file"
  echo "(target < 256 MiB; rows/s on the shared machine for scale)"
  work=$(mktemp -d "${TMPDIR:-/tmp}/dip-bench-memory.XXXXXXXX")
  eval "$("$repo/scripts/pg-cluster.sh" start --no-fsync)"
  trap '"$repo/scripts/pg-cluster.sh" stop "$DIP_PG_DIR" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  printf '%-34s %10s %12s\n' table 'sync-pg' 'rows/s'
  for shape in flat4 flat12 nested; do
    f=$data/${shape}_snappy_${rows}.parquet
    t=$work/$shape.delta
    python3 bench/memory/delta_of.py "$f" "$shape" "$t"
    t0=$(date +%s.%N)
    mib=$(peak "$dip" sync-pg --source "$t" --model "$t/model")
    secs=$(python3 -c "print($(date +%s.%N) - $t0)")
    n=$(psql -XAtq -c "SELECT count(*) FROM mem_$shape" 2>/dev/null || echo 0)
    [ "$n" = "$rows" ] || mib="$mib (loaded $n rows, not $rows)"
    printf '%-34s %10s %12.0f\n' "$shape (snappy)" "$mib" "$(python3 -c "print($rows / $secs)")"
    rm -rf "$t"
  done
fi
echo
echo "node alone (no scan): $node_alone MiB, included in the DuckDB column"
echo "dip check and cat default threads: $(nproc) CPUs (DIP_THREADS overrides); sync-pg decodes"
echo "on ${DIP_DECODE_THREADS:-2} threads per loader (DIP_DECODE_THREADS)"
echo "load average after: $(cat /proc/loadavg)"
