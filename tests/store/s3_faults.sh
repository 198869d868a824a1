#!/usr/bin/env bash
# s3_faults.sh: S3 failures injected by scripts/s3-fault-proxy.mjs between the store and
# s3rver. For each kind (503 SlowDown, 500 InternalError, connection dropped before the
# response, reset in the middle of a body, short body, stall): with fewer faults than
# retries the read returns exactly the right bytes and the retries are logged; with more, it
# fails with a clear transient error naming the cause and the attempts, and writes nothing.
# Non-retryable errors (403) fail at once. Every wait is bounded (stall timeout 2 s).
# usage: s3_faults.sh STORE_TOOL SOURCE_DIR
. "$(dirname "$0")/lib_s3.sh"

L="$WORK/local"
mkdir -p "$L/_delta_log"
head -c 3000000 /dev/urandom > "$L/part-0.parquet"
for i in $(seq 0 11); do printf '{"commit":%d}\n' "$i" > "$L/_delta_log/$(printf '%020d' "$i").json"; done
"$SRC/scripts/s3rver.sh" upload "$WORK/s3" "$L" s3://dip-test/t 2>/dev/null
eval "$("$SRC/scripts/s3rver.sh" proxy "$WORK/s3")"
U=s3://dip-test/t
export DELTA_CLIENT_WRITE_RETRIES=3 DELTA_CLIENT_WRITE_RETRY_DELAY=0.05 DIP_S3_STALL_TIMEOUT=2

faults() { "$SRC/scripts/s3rver.sh" faults "$WORK/s3" "$1"; }
applied() { "$SRC/scripts/s3rver.sh" stats "$WORK/s3" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["applied"]))'; }
run() { # run the tool (bounded), stdout to out, stderr to err; sets RC and ELAPSED
  local t0; t0=$(date +%s.%N)
  set +e; timeout 120 "$TOOL" "$@" > "$WORK/out" 2> "$WORK/err"; RC=$?; set -e
  ELAPSED=$(python3 -c "print(round($(date +%s.%N) - $t0, 2))")
}
same_range() { python3 - "$L/$1" "$WORK/out" "$2" "$3" <<'PY'
import sys
src, out, off, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sys.exit(0 if open(out, 'rb').read() == open(src, 'rb').read()[off:off + n] else 1)
PY
}

# kind, extra rule fields, text the retry log line must carry
cases=(
  'slowdown||SlowDown'
  'status|"status":500,"code":"InternalError",|HTTP 500 InternalError'
  'status|"status":429,"code":"TooManyRequests",|HTTP 429'
  'drop||Connection reset by peer'
  'reset|"fraction":0.4,|Connection reset by peer'
  'short|"fraction":0.7,|short body'
  'stall|"fraction":0.3,"stall_s":60,|stalled'
)
for c in "${cases[@]}"; do
  IFS='|' read -r kind extra text <<< "$c"
  # 2 faults, 3 retries allowed: the whole read and a ranged read succeed, byte for byte
  faults "[{\"fault\":\"$kind\",$extra\"method\":\"GET\",\"path\":\"part-0\",\"count\":2}]"
  run cat "$U" part-0.parquet
  [ "$RC" -eq 0 ] || { cat "$WORK/err" >&2; fail "$kind x2: exit $RC"; }
  cmp -s "$WORK/out" "$L/part-0.parquet" || fail "$kind x2: bytes differ"
  [ "$(applied)" -eq 2 ] || fail "$kind x2: the proxy applied $(applied) faults, expected 2"
  # curl itself transparently retries once a reused connection that died before any response
  # byte (drop): we only insist on our own retry log for the other kinds
  if [ "$kind" != drop ]; then
    [ "$(grep -c "retry [12] of 3" "$WORK/err")" -eq 2 ] || { cat "$WORK/err" >&2; fail "$kind x2: expected 2 logged retries"; }
  fi
  grep -q -- "$text" "$WORK/err" || { cat "$WORK/err" >&2; fail "$kind x2: log lacks '$text'"; }
  ok
  faults "[{\"fault\":\"$kind\",$extra\"method\":\"GET\",\"path\":\"part-0\",\"count\":1}]"
  run cat "$U" part-0.parquet 123457 2000000
  [ "$RC" -eq 0 ] && same_range part-0.parquet 123457 2000000 || { cat "$WORK/err" >&2; fail "$kind ranged"; }
  ok
  # a small read goes through a read-ahead block: the block is retried as a whole
  faults "[{\"fault\":\"$kind\",$extra\"method\":\"GET\",\"path\":\"part-0\",\"count\":1}]"
  run cat "$U" part-0.parquet 2999000 900
  [ "$RC" -eq 0 ] && same_range part-0.parquet 2999000 900 && [ "$(applied)" -eq 1 ] ||
    { cat "$WORK/err" >&2; fail "$kind small read"; }
  ok

  # more faults than attempts: a transient error (exit 4), nothing on stdout, a clear message
  faults "[{\"fault\":\"$kind\",$extra\"method\":\"GET\",\"path\":\"part-0\",\"count\":100}]"
  run cat "$U" part-0.parquet 0 1000000
  [ "$RC" -eq 4 ] || { cat "$WORK/err" >&2; fail "$kind exhausted: exit $RC, expected 4 (transient)"; }
  [ ! -s "$WORK/out" ] || fail "$kind exhausted: partial data on stdout"
  grep -q "transient error: s3 GET bytes=0-999999 http://127.0.0.1:$S3_FAULT_PROXY_PORT/dip-test/t/part-0.parquet: .*giving up after 4 attempts" "$WORK/err" ||
    { cat "$WORK/err" >&2; fail "$kind exhausted: message"; }
  grep -q -- "$text" "$WORK/err" || fail "$kind exhausted: message lacks '$text'"
  ! grep -q "S3RVER" "$WORK/err" || fail "$kind exhausted: credentials in the message"
  # bounded: 4 attempts of at most ~3 s stall each plus backoff
  python3 -c "import sys; sys.exit(0 if $ELAPSED < 30 else 1)" || fail "$kind exhausted took ${ELAPSED}s"
  ok
done

# listing: SlowDown on the second page, a short body on the third; the listing is complete
faults '[{"fault":"slowdown","method":"GET","path":"continuation-token","count":1},
         {"fault":"short","method":"GET","path":"list-type=2","count":2,"fraction":0.5}]'
DIP_S3_LIST_MAX_KEYS=5 run list "$U" _delta_log/
[ "$RC" -eq 0 ] || { cat "$WORK/err" >&2; fail "list with faults: exit $RC"; }
[ "$(wc -l < "$WORK/out")" -eq 12 ] || fail "list with faults: $(wc -l < "$WORK/out") entries, expected 12"
[ "$(applied)" -eq 3 ] || fail "list faults applied $(applied), expected 3"; ok
faults '[{"fault":"reset","method":"GET","path":"list-type=2","count":100}]'
run list "$U" _delta_log/
[ "$RC" -eq 4 ] && [ ! -s "$WORK/out" ] || fail "list with faults exhausted: exit $RC"; ok

# HEAD (stat): 503 then OK; the 404 of a missing object is not retried
faults '[{"fault":"slowdown","method":"HEAD","count":2}]'
run stat "$U" part-0.parquet
[ "$RC" -eq 0 ] && [ "$(cat "$WORK/out")" = "size 3000000" ] || { cat "$WORK/err" >&2; fail "HEAD after 503"; }; ok
faults '[]'
run stat "$U" nothing.json
[ "$RC" -eq 0 ] && [ "$(cat "$WORK/out")" = absent ] && ! grep -q retry "$WORK/err" || fail "404 retried"; ok

# 403 is final: one attempt, no retry, config error (exit 2) with the S3 code
faults '[{"fault":"status","status":403,"code":"AccessDenied","method":"GET","count":5}]'
run cat "$U" part-0.parquet 0 10
[ "$RC" -eq 2 ] && grep -q "HTTP 403 AccessDenied" "$WORK/err" && ! grep -q retry "$WORK/err" ||
  { cat "$WORK/err" >&2; fail "403: exit $RC"; }
[ "$(applied)" -eq 1 ] || fail "403 was retried"; ok

# credentials and clock problems are configuration errors, never retried
for spec in '400|ExpiredToken|HTTP 400 ExpiredToken' '403|RequestTimeTooSkewed|check this machine.s clock' '400|RequestTimeout|giving up'; do
  IFS='|' read -r st code text <<< "$spec"
  faults "[{\"fault\":\"status\",\"status\":$st,\"code\":\"$code\",\"method\":\"GET\",\"count\":100}]"
  run cat "$U" part-0.parquet 0 10
  grep -q "$text" "$WORK/err" || { cat "$WORK/err" >&2; fail "$code: message lacks '$text'"; }
  if [ "$code" = RequestTimeout ]; then
    [ "$RC" -eq 4 ] && [ "$(applied)" -eq 4 ] || fail "$code: should be retried (exit $RC)"
  else
    [ "$RC" -eq 2 ] && [ "$(applied)" -eq 1 ] || fail "$code: exit $RC, $(applied) attempts; expected a config error at once"
  fi
  ok
done

# DELTA_CLIENT_WRITE_RETRIES=0: one attempt only
faults '[{"fault":"slowdown","method":"GET","count":5}]'
DELTA_CLIENT_WRITE_RETRIES=0 run cat "$U" part-0.parquet 0 10
[ "$RC" -eq 4 ] && grep -q "giving up after 1 attempt)" "$WORK/err" && [ "$(applied)" -eq 1 ] ||
  { cat "$WORK/err" >&2; fail "retries=0"; }; ok

# threads with their own clones, faults interleaved: every thread gets the right bytes
faults '[{"fault":"reset","method":"GET","path":"part-0","count":3},{"fault":"short","method":"GET","path":"part-0","count":3}]'
want="$(sha256sum "$L/part-0.parquet" | cut -d' ' -f1)"
DELTA_CLIENT_WRITE_RETRIES=8 run threads "$U" part-0.parquet 4
[ "$RC" -eq 0 ] && [ "$(cat "$WORK/out")" = "$want" ] || { cat "$WORK/err" >&2; fail "threads with faults"; }
[ "$(applied)" -eq 6 ] || fail "threads: $(applied) faults applied, expected 6"; ok
# SIGINT in the middle of a stalled transfer stops it at once (not after the stall timeout
# or the retries): interrupted error, nothing on stdout
faults '[{"fault":"stall","stall_s":60,"method":"GET","path":"part-0","count":10}]'
t0=$(date +%s.%N)
set +e
DIP_S3_STALL_TIMEOUT=30 timeout 60 "$TOOL" cat "$U" part-0.parquet 0 3000000 > "$WORK/out" 2> "$WORK/err" &
pid=$!
sleep 1.5; kill -INT "$pid"; wait "$pid"; RC=$?
set -e
el=$(python3 -c "print(round($(date +%s.%N) - $t0, 1))")
[ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && [ ! -s "$WORK/out" ] && grep -q "interrupted" "$WORK/err" ||
  { cat "$WORK/err" >&2; fail "SIGINT during a stall: exit $RC"; }
python3 -c "import sys; sys.exit(0 if $el < 6 else 1)" || fail "SIGINT took ${el}s to stop the transfer"
ok

# virtual-host addressing: the request goes to <bucket>.<endpoint host> with the key alone
# as the path (curl resolves *.localhost to loopback). s3rver 4 cannot verify SigV4 for
# such requests (it signs "/bucket/key"), so only the request's shape is checked here.
# The signature itself of a virtual-host request is the unit test's AWS GET Object example.
faults '[]'
AWS_ENDPOINT_URL="http://localhost:$S3_FAULT_PROXY_PORT" AWS_S3_ADDRESSING_STYLE=virtual run cat "$U" part-0.parquet 0 10
seen="$("$SRC/scripts/s3rver.sh" stats "$WORK/s3" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seen"][0])')"
[ "$seen" = "GET dip-test.localhost:$S3_FAULT_PROXY_PORT /t/part-0.parquet bytes=0-1048575" ] ||
  fail "virtual-host request: '$seen'"
# (our s3rver runs without vhost buckets, so it answers NoSuchBucket for bucket "t")
[ "$RC" -ne 0 ] && grep -q "http://dip-test.localhost:$S3_FAULT_PROXY_PORT/t/part-0.parquet" "$WORK/err" ||
  { cat "$WORK/err" >&2; fail "virtual-host: error message URL"; }
ok
faults '[]'
AWS_ENDPOINT_URL="http://localhost:$S3_FAULT_PROXY_PORT" run list "$U" _delta_log/
seen="$("$SRC/scripts/s3rver.sh" stats "$WORK/s3" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seen"][0])')"
[ "$RC" -eq 0 ] && [ "$seen" = "GET localhost:$S3_FAULT_PROXY_PORT /dip-test?delimiter=%2F&list-type=2&prefix=t%2F_delta_log%2F" ] ||
  fail "path-style request: '$seen'"
ok
echo "s3_faults: $NCHECK checks passed"
