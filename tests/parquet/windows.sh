#!/usr/bin/env bash
# windows.sh DIP REPO: the row-window reader gives the same rows whatever the window. Every
# Parquet file written by tests/parquet/gen_files.mjs (arrow-rs: every codec, page v1/v2,
# dictionary and DELTA encodings; DuckDB: nested lists, structs, maps, all-null pages) and every
# data file of the Spark-written Delta tables in ../shared/delta-golden is printed by
# `dip parquet cat` with DIP_PARQUET_WINDOW_ROWS=1 and =3 (window boundaries inside pages,
# around lists that span pages, at dictionary pages), the second also with
# DIP_PARQUET_STREAM_MIN_PAGE=0 (every eligible page decoded piece by piece, as large pages
# are), and must equal the default output (Spark files: one run with 1 and 0); every golden table's `dip delta cat` likewise with
# windows of 1 and 7 rows. The reference runs with 2 decoding threads (the next window decoded,
# its columns spread over the threads, while one prints), the 1-row windows on one thread and
# the others with 3 threads: the two paths must agree.
set -euo pipefail
dip=$(realpath "$1")
repo=$2
step=${3:-1} # every step-th Spark file and table (the ASan build passes 6)
shared=${DIP_SHARED:-$repo/../shared}
tables=$shared/delta-golden/tables
[ -d "$repo/node_modules/parquet-wasm" ] || { echo "node_modules missing: run npm ci"; exit 1; }
[ -d "$tables" ] || { echo "no $tables (set DIP_SHARED)"; exit 1; }
export DIP_THREADS=2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/gen" "$tmp/golden"
node "$repo/tests/parquet/gen_files.mjs" "$tmp/gen" 3000 > /dev/null
for t in "$tables"/*.tar.zst; do
  tar --zstd -xf "$t" -C "$tmp/golden" 2> /dev/null
done
pass=0
fail=0
run() { # [VAR=value...] command: output, stderr (without the log lines' time stamps) and
  # exit status, as one digest
  { timeout 120 env "$@" 2>&1; echo "exit $?"; } | sed -E 's/^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} //' | md5sum
}
same() { # label, then the command: its result with tiny windows equals the default's (an
  # error too: some golden tables are broken on purpose, and must fail the same way)
  local label=$1 ref w vars
  shift
  ref=$(run "$@")
  for w in "${variants[@]}"; do
    read -r -a vars <<< "$w"
    if [ "$(run "${vars[@]}" "$@")" != "$ref" ]; then
      echo "FAIL $label: $w differs from the default"; fail=$((fail + 1)); return
    fi
  done
  pass=$((pass + 1))
}
variants=("DIP_THREADS=1 DIP_PARQUET_WINDOW_ROWS=1"
  "DIP_THREADS=3 DIP_PARQUET_WINDOW_ROWS=3 DIP_PARQUET_STREAM_MIN_PAGE=0")
nfiles=0
while IFS= read -r -d '' f; do
  nfiles=$((nfiles + 1))
  same "cat ${f#"$tmp"/}" "$dip" parquet cat "$f" --limit 50000 # (tiny windows under ASan)
done < <(find "$tmp/gen" -name '*.parquet' -print0 | sort -z)
# the ~600 small Spark files: one variant with both (the ASan pass of make check runs this)
variants=("DIP_THREADS=1 DIP_PARQUET_WINDOW_ROWS=1 DIP_PARQUET_STREAM_MIN_PAGE=0")
k=0
while IFS= read -r -d '' f; do
  k=$((k + 1))
  [ $((k % step)) -eq 0 ] || continue
  nfiles=$((nfiles + 1))
  same "cat ${f#"$tmp"/}" "$dip" parquet cat "$f"
done < <(find "$tmp/golden" -name '*.parquet' -print0 | sort -z)
variants=("DIP_THREADS=1 DIP_PARQUET_WINDOW_ROWS=1"
  "DIP_THREADS=3 DIP_PARQUET_WINDOW_ROWS=7 DIP_PARQUET_STREAM_MIN_PAGE=0")
ntables=0
k=0
while IFS= read -r -d '' log; do
  t=$(dirname "$log")
  k=$((k + 1))
  [ $((k % step)) -eq 0 ] || continue
  ntables=$((ntables + 1))
  same "delta cat ${t#"$tmp"/}" "$dip" delta cat "$t"
done < <(find "$tmp/golden" -type d -name _delta_log -print0 | sort -z)
echo "windows: $nfiles Parquet files, $ntables Delta tables"
[ "$nfiles" -ge $((600 / step)) ] || { echo "too few files found"; fail=$((fail + 1)); }
[ "$ntables" -ge $((90 / step)) ] || { echo "too few tables found"; fail=$((fail + 1)); }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
