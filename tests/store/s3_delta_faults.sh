#!/usr/bin/env bash
# s3_delta_faults.sh DIP SOURCE_DIR: issue 3 item 3 at the level of `dip delta cat`. A
# Spark-written table with a checkpoint, deletion vectors and partitions
# (delta-golden dv-partitioned-with-checkpoint) is served by s3rver through
# scripts/s3-fault-proxy.mjs. With a few faults of each kind on the log, checkpoint, deletion
# vector and data reads, dip retries and returns exactly Spark's rows; with more faults than
# retries it exits with a transient error (4) naming the object, the cause and the attempts.
set -euo pipefail
DIP="$1"; SRC="$2"
SHARED="${DIP_SHARED:-$SRC/../shared}"
SUITE="$SHARED/delta-golden"
NAME=dv-partitioned-with-checkpoint
[ -f "$SUITE/compare.py" ] || { echo "delta-golden not found at $SUITE (set DIP_SHARED)" >&2; exit 1; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy || true
WORK="$(mktemp -d "${TMPDIR:-/tmp}/dip-s3-dfaults.XXXXXX")"
trap '"$SRC/scripts/s3rver.sh" stop "$WORK/s3" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL: $*" >&2; exit 1; }

mkdir -p "$WORK/t"
if command -v zstd >/dev/null; then zstd -dcq "$SUITE/tables/$NAME.tar.zst" | tar -xf - -C "$WORK/t"
else tar --zstd -xf "$SUITE/tables/$NAME.tar.zst" -C "$WORK/t"; fi
eval "$("$SRC/scripts/s3rver.sh" start "$WORK/s3" dip-test)"
"$SRC/scripts/s3rver.sh" upload "$WORK/s3" "$WORK/t/$NAME/delta" s3://dip-test/t 2>/dev/null
eval "$("$SRC/scripts/s3rver.sh" proxy "$WORK/s3")"
export DELTA_CLIENT_WRITE_RETRIES=4 DELTA_CLIENT_WRITE_RETRY_DELAY=0.05 DIP_S3_STALL_TIMEOUT=2
EXPECTED="$SUITE/expected/$NAME.jsonl"
stats() { "$SRC/scripts/s3rver.sh" stats "$WORK/s3"; }
applied() { stats | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["applied"]))'; }

# baseline through the proxy, no faults
timeout 120 "$DIP" delta cat s3://dip-test/t > "$WORK/out" 2> "$WORK/err" || { cat "$WORK/err" >&2; fail "baseline"; }
python3 "$SUITE/compare.py" "$EXPECTED" "$WORK/out" || fail "baseline rows differ"

# one rule per file class, 2 faults each: log JSON, checkpoint parquet, DV .bin, data parquet
for kind in slowdown reset short stall; do
  extra=''; [ "$kind" = stall ] && extra='"stall_s":60,'
  rules="["
  for pat in '_delta_log/0.*[.]json' 'checkpoint[.]parquet' '[.]bin' 'part-.*[.]parquet'; do
    rules="$rules{\"fault\":\"$kind\",$extra\"method\":\"GET\",\"path\":\"$pat\",\"count\":2},"
  done
  rules="${rules%,}]"
  "$SRC/scripts/s3rver.sh" faults "$WORK/s3" "$rules"
  set +e; timeout 300 "$DIP" delta cat s3://dip-test/t > "$WORK/out" 2> "$WORK/err"; rc=$?; set -e
  [ "$rc" -eq 0 ] || { cat "$WORK/err" >&2; fail "$kind: exit $rc"; }
  python3 "$SUITE/compare.py" "$EXPECTED" "$WORK/out" || fail "$kind: rows differ"
  n="$(applied)"
  [ "$n" -eq 8 ] || { stats >&2; fail "$kind: $n faults applied, expected 8 (2 per file class)"; }
  # a retry logged for each file class (curl itself silently retries once a reused
  # connection that breaks before any body byte, so not every fault shows in our log)
  for pat in '_delta_log/0.*[.]json' 'checkpoint[.]parquet' '[.]bin' 'part-.*[.]parquet'; do
    grep -E "$pat.*retry [0-9]+ of 4" "$WORK/err" > /dev/null || { cat "$WORK/err" >&2; fail "$kind: no retry logged for $pat"; }
  done
  echo "ok: $kind x8 -> Spark's rows after $(grep -c 'retry [0-9]* of 4' "$WORK/err") retries"
done

# retries exhausted on a data file: transient error, exit 4, clear message
"$SRC/scripts/s3rver.sh" faults "$WORK/s3" '[{"fault":"short","method":"GET","path":"part-.*\\.parquet","count":1000}]'
set +e; timeout 120 "$DIP" delta cat s3://dip-test/t > "$WORK/out" 2> "$WORK/err"; rc=$?; set -e
[ "$rc" -eq 4 ] || { cat "$WORK/err" >&2; fail "exhausted: exit $rc, expected 4"; }
grep -q 'part-.*\.parquet.*short body.*giving up after 5 attempts' "$WORK/err" || { cat "$WORK/err" >&2; fail "exhausted: message"; }
! python3 "$SUITE/compare.py" "$EXPECTED" "$WORK/out" >/dev/null 2>&1 || fail "exhausted: full rows yet a failure exit"
echo "ok: exhausted retries -> exit 4: $(grep -m1 'giving up' "$WORK/err" | cut -c1-200)"

# retries exhausted on the log listing: fails before any row
"$SRC/scripts/s3rver.sh" faults "$WORK/s3" '[{"fault":"slowdown","method":"GET","path":"list-type=2","count":1000}]'
set +e; timeout 120 "$DIP" delta cat s3://dip-test/t > "$WORK/out" 2> "$WORK/err"; rc=$?; set -e
[ "$rc" -eq 4 ] && [ ! -s "$WORK/out" ] || { cat "$WORK/err" >&2; fail "listing exhausted: exit $rc"; }
grep -q 'SlowDown.*giving up after 5 attempts' "$WORK/err" || { cat "$WORK/err" >&2; fail "listing exhausted: message"; }
echo "ok: listing exhausted -> exit 4, no rows"
echo "s3_delta_faults: all checks passed"
