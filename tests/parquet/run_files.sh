#!/usr/bin/env bash
# run_files.sh DIP REPO: writes small Parquet files with arrow-rs (parquet-wasm) and DuckDB
# (tests/parquet/gen_files.mjs) and checks `dip parquet cat` against the generator's input:
# every arrow-rs variant (7 codecs x page v1/v2, dictionary, PLAIN, DELTA_*, BYTE_STREAM_SPLIT)
# must print exactly expected.ndjson; the DuckDB files (logical types, nesting) must print the
# same rows under every codec, with known first rows; check must pass on all of them.
set -euo pipefail
dip=$1
repo=$2
here=$repo/tests/parquet
[ -d "$repo/node_modules/parquet-wasm" ] || { echo "node_modules missing: run npm ci"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node "$here/gen_files.mjs" "$tmp" 3000
fail=0
n=0
for f in "$tmp"/arrow_*.parquet; do
  n=$((n + 1))
  if ! "$dip" parquet cat "$f" > "$tmp/out.ndjson" 2> "$tmp/err.txt"; then
    echo "FAIL cat $(basename "$f"): $(cat "$tmp/err.txt")"; fail=1; continue
  fi
  if ! node "$here/compare_ndjson.mjs" "$tmp/expected.ndjson" "$tmp/out.ndjson" > "$tmp/cmp.txt" 2>&1; then
    echo "FAIL $(basename "$f"): $(cat "$tmp/cmp.txt")"; fail=1
  fi
  for t in 1 2; do
    "$dip" parquet check --threads $t "$f" > /dev/null || { echo "FAIL check $f"; fail=1; }
  done
done
[ "$n" -ge 18 ] || { echo "only $n arrow-rs files were written"; exit 1; }

# DuckDB: the same rows whatever the codec, and the first rows as the SQL defines them
ref=""
for f in "$tmp"/duck_{snappy,zstd,gzip,lz4,brotli,uncompressed}.parquet; do
  "$dip" parquet cat "$f" > "$tmp/duck.ndjson" || { echo "FAIL cat $f"; fail=1; continue; }
  "$dip" parquet check "$f" > /dev/null || { echo "FAIL check $f"; fail=1; }
  sum=$(md5sum < "$tmp/duck.ndjson")
  if [ -z "$ref" ]; then ref=$sum; elif [ "$sum" != "$ref" ]; then echo "FAIL $f differs"; fail=1; fi
  [ "$(wc -l < "$tmp/duck.ndjson")" -eq 700 ] || { echo "FAIL $f: row count"; fail=1; }
done
cat > "$tmp/duck_expected.ndjson" <<'ROWS'
{"id":0,"d":"0.0","b":true,"s":null,"ts":"2020-01-01T00:00:00.000000","tstz":"2020-01-01T00:00:00.000000Z","dec4":"0.00","dec8":"0.000","dec16":"-400.0000","l":null,"st":{"a":0,"b":"x0","c":[0]},"los":[{"x":0},null],"m":[{"key":"k0","value":0}],"i8":0,"u8":0,"i16":0,"u16":0,"u32":0,"u64":0,"dt":"2021-01-01","tm":"01:02:03.456789","bl":"aGVsbG8=","uu":"5b6e0c2e-4f0a-4e5e-9c1e-0123456789ab","js":"{\"a\":1}"}
{"id":1,"d":"1.5","b":false,"s":"str1","ts":"2020-01-01T00:00:01.000000","tstz":"2020-01-01T00:00:01.000000Z","dec4":"1.25","dec8":"1.250","dec16":"-398.7500","l":[],"st":{"a":1,"b":"x1","c":[1]},"los":[{"x":1},null],"m":[{"key":"k1","value":1}],"i8":1,"u8":1,"i16":3,"u16":5,"u32":7,"u64":11,"dt":"2021-01-02","tm":"01:02:03.456789","bl":"aGVsbG8=","uu":"5b6e0c2e-4f0a-4e5e-9c1e-0123456789ab","js":"{\"a\":1}"}
{"id":2,"d":"3.0","b":false,"s":"str2","ts":"2020-01-01T00:00:02.000000","tstz":"2020-01-01T00:00:02.000000Z","dec4":"2.50","dec8":"2.500","dec16":"-397.5000","l":[2,null,3],"st":{"a":2,"b":"x2","c":[2]},"los":[{"x":2},null],"m":[{"key":"k2","value":2}],"i8":2,"u8":2,"i16":6,"u16":10,"u32":14,"u64":22,"dt":"2021-01-03","tm":"01:02:03.456789","bl":"aGVsbG8=","uu":"5b6e0c2e-4f0a-4e5e-9c1e-0123456789ab","js":"{\"a\":1}"}
ROWS
"$dip" parquet cat "$tmp/duck_snappy.parquet" --limit 3 > "$tmp/head.ndjson"
node "$here/compare_ndjson.mjs" "$tmp/duck_expected.ndjson" "$tmp/head.ndjson" || fail=1
# projection keeps the asked order and only those keys
got=$("$dip" parquet cat "$tmp/duck_snappy.parquet" --columns s,id --limit 2 | tail -1)
[ "$got" = '{"s":"str1","id":1}' ] || { echo "FAIL projection: $got"; fail=1; }
# one page of 300000 nulls in a few bytes is legitimate
"$dip" parquet check "$tmp/duck_allnull.parquet" > /dev/null || { echo "FAIL all-null page"; fail=1; }
[ "$("$dip" parquet cat "$tmp/duck_allnull.parquet" | grep -c '"n":null}$')" -eq 300000 ] \
  || { echo "FAIL all-null rows"; fail=1; }
# a zstd page far beyond 4096:1 (~8000:1, 4 MiB from ~500 bytes) is legitimate too
"$dip" parquet check "$tmp/duck_zstd_ratio.parquet" > /dev/null || { echo "FAIL zstd high-ratio page"; fail=1; }
[ "$("$dip" parquet cat "$tmp/duck_zstd_ratio.parquet" | tail -n 1)" = '{"items":["v0","v1","v2"]}' ] \
  || { echo "FAIL zstd high-ratio rows"; fail=1; }
# an empty file has a schema and no rows
[ -z "$("$dip" parquet cat "$tmp/duck_empty.parquet")" ] || { echo "FAIL empty file"; fail=1; }
"$dip" parquet meta "$tmp/duck_snappy.parquet" | node -e 'JSON.parse(require("fs").readFileSync(0,"utf8"))' \
  || { echo "FAIL meta is not JSON"; fail=1; }
"$dip" parquet schema "$tmp/duck_snappy.parquet" | grep -q '^tstz: timestamp(us, utc)$' \
  || { echo "FAIL schema text"; fail=1; }
[ $fail -eq 0 ] && echo "parquet files: all ok"
exit $fail
