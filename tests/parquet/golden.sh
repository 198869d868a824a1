#!/usr/bin/env bash
# golden.sh DIP REPO: `dip parquet cat` and `dip parquet check` succeed on every Parquet data
# file of the Spark-written Delta tables in ../shared/delta-golden/tables/*.tar.zst (or
# $DIP_SHARED/delta-golden). The Delta issue compares whole tables; here every file must
# decode (INT96 timestamps, legacy decimals, maps, nested lists, column mapping names...).
set -euo pipefail
dip=$(realpath "$1")
repo=$2
shared=${DIP_SHARED:-$repo/../shared}
tables=$shared/delta-golden/tables
[ -d "$tables" ] || { echo "no $tables (set DIP_SHARED)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for t in "$tables"/*.tar.zst; do
  tar --zstd -xf "$t" -C "$tmp" 2> /dev/null
done
n=0
fail=0
while IFS= read -r -d '' f; do
  n=$((n + 1))
  if ! timeout 60 "$dip" parquet cat "$f" > "$tmp/out.ndjson" 2> "$tmp/err.txt"; then
    echo "FAIL cat $f: $(head -c 500 "$tmp/err.txt")"; fail=$((fail + 1)); continue
  fi
  rows=$(wc -l < "$tmp/out.ndjson")
  want=$("$dip" parquet meta "$f" | grep -o '"num_rows":[0-9]*' | head -1 | cut -d: -f2)
  [ "$rows" -eq "$want" ] || { echo "FAIL $f: $rows rows printed, footer says $want"; fail=$((fail + 1)); }
  timeout 60 "$dip" parquet check "$f" > /dev/null 2> "$tmp/err.txt" \
    || { echo "FAIL check $f: $(head -c 500 "$tmp/err.txt")"; fail=$((fail + 1)); }
done < <(find "$tmp" -name '*.parquet' -print0)
echo "golden: $n Spark data files, $fail failures"
[ "$n" -ge 100 ] || { echo "too few files found"; exit 1; }
[ "$fail" -eq 0 ]
