#!/usr/bin/env bash
# s3.sh DIP REPO: the same files read through the S3 store (s3rver on loopback): `dip parquet
# cat|check|meta s3://bucket/key` must print exactly what the local path prints, so the
# decoder only ever needs ranged reads (footer tail, then one read per column chunk).
set -euo pipefail
dip=$(realpath "$1")
repo=$(realpath "$2")
tmp=$(mktemp -d)
srv=$tmp/srv
cleanup() { "$repo/scripts/s3rver.sh" stop "$srv" > /dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p "$tmp/files"
cp "$repo"/fuzz/corpus/parquet/*.parquet "$tmp/files/"
eval "$("$repo/scripts/s3rver.sh" start "$srv" pq)"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY
"$repo/scripts/s3rver.sh" upload "$srv" "$tmp/files" s3://pq/data > /dev/null
fail=0
n=0
for f in "$tmp"/files/*.parquet; do
  b=$(basename "$f")
  n=$((n + 1))
  "$dip" parquet cat "$f" > "$tmp/local.ndjson"
  if ! "$dip" parquet cat "s3://pq/data/$b" > "$tmp/s3.ndjson" 2> "$tmp/err.txt"; then
    echo "FAIL s3 cat $b: $(cat "$tmp/err.txt")"; fail=1; continue
  fi
  cmp -s "$tmp/local.ndjson" "$tmp/s3.ndjson" || { echo "FAIL $b: s3 output differs"; fail=1; }
  "$dip" parquet check --threads 2 "s3://pq/data/$b" > /dev/null || { echo "FAIL s3 check $b"; fail=1; }
  "$dip" parquet cat "s3://pq/data/$b" --columns "$("$dip" parquet schema "$f" | sed -n 2p | cut -d: -f1)" --limit 3 > /dev/null \
    || { echo "FAIL s3 projection $b"; fail=1; }
done
# a missing object is "not found" (exit 5), not a crash
set +e
"$dip" parquet cat s3://pq/data/missing.parquet > /dev/null 2>&1
rc=$?
set -e
[ $rc -eq 5 ] || { echo "FAIL missing object: exit $rc"; fail=1; }
echo "s3: $n files, fail=$fail"
exit $fail
