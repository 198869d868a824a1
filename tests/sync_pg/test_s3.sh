#!/usr/bin/env bash
# test_s3.sh DIP SRC: dip sync-pg end to end with the Delta table on S3 (a private s3rver,
# scripts/s3rver.sh, SigV4 checked) and a private PostgreSQL (tests/sync_pg/lib.sh).
# The table is written locally by make_table.mjs and uploaded object by object (data files
# first, then the log entry, as a writer commits):
#   1. first sync from s3://: gold equals `make_table.mjs expect` row for row;
#   2. a DV-based update + inserts uploaded as new objects: an incremental sync writes
#      exactly the changed rows and GETs only the new data files;
#   3. a third sync is up to date (and --plan prints []);
#   4. through scripts/s3-fault-proxy.mjs: transient faults (SlowDown, reset mid-body, short
#      body, dropped connection, stall, 500) on data-file reads during --force --full syncs are
#      retried and the result stays right; retries exhausted -> exit 4, the run recorded
#      unfinished, then resumed; a missing data object -> exit 5; 403 -> exit 2, not retried.
# Every dip run is bounded by `timeout`; only loopback is used. Ends with "N passed, M failed".
DIP=$1
SRC=$2
. "$SRC/tests/sync_pg/lib.sh"
# loopback only: never route through a proxy from the environment
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY || true
unset AWS_SESSION_TOKEN AWS_S3_ADDRESSING_STYLE AWS_PROFILE DIP_S3_LIST_MAX_KEYS || true

S3DIR=$WORK/s3
trap '"$SRC/scripts/s3rver.sh" stop "$S3DIR" >/dev/null 2>&1 || true; cleanup' EXIT
trap 'exit 130' INT TERM
# AWS_ENDPOINT_URL (s3rver itself until the proxy starts), keys, region
eval "$("$SRC/scripts/s3rver.sh" start "$S3DIR" dip-test)"
# the S3 fault tests' settings: short backoff, a stalled transfer abandoned after 2 s
export DELTA_CLIENT_WRITE_RETRIES=4 DELTA_CLIENT_WRITE_RETRY_DELAY=0.05
export DIP_S3_CONNECT_TIMEOUT=5 DIP_S3_STALL_TIMEOUT=2
export POSTGRES_MAX_RETRIES=2 POSTGRES_RETRY_DELAY=0.1

T=$WORK/records.delta           # the local copy the writer works on
URI=s3://dip-test/lake/records.delta
LOG=$WORK/log.txt
ROWS=20000 UPD=300 INS=200

# ------------------------------------------------------------------ helpers

# dip with a time bound; a sanitizer report (ASan build) is a failure whatever the exit code
dip() {
  local rc=0
  timeout 120 "$DIP" "$@" 2>"$LOG" || rc=$?
  if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$LOG"; then
    cat "$LOG" >&2
    fail "sanitizer report from: dip $*"
  fi
  [ "$rc" -ne 124 ] || { cat "$LOG" >&2; fail "dip $* timed out after 120 s"; }
  return "$rc"
}

# the local table's objects as "path size mtime", the writer's private state left out
manifest() {
  (cd "$1" && find . -type f ! -name '_dip_test_state.json' ! -name '.tmp-*' -printf '%P\t%s\t%T@\n' |
    LC_ALL=C sort)
}

# upload the objects of DIR that are new or changed since manifest file OLD to s3://URI:
# data files (and anything else) first, the _delta_log entries last; prints the paths
upload_changes() {
  local dir=$1 old=$2 uri=$3 stage=$WORK/stage
  manifest "$dir" >"$WORK/manifest.new"
  LC_ALL=C comm -13 "$old" "$WORK/manifest.new" | cut -f1 >"$WORK/changed.txt"
  [ -s "$WORK/changed.txt" ] || fail "nothing to upload from $dir"
  for phase in data log; do
    rm -rf "$stage"
    mkdir -p "$stage"
    local n=0 p
    while IFS= read -r p; do
      case "$p" in _delta_log/*) [ "$phase" = log ] || continue ;; *) [ "$phase" = data ] || continue ;; esac
      mkdir -p "$stage/$(dirname "$p")"
      cp -p "$dir/$p" "$stage/$p"
      n=$((n + 1))
    done <"$WORK/changed.txt"
    [ "$n" -eq 0 ] || timeout 60 "$SRC/scripts/s3rver.sh" upload "$S3DIR" "$stage" "$uri" >/dev/null 2>&1 ||
      fail "upload of $n $phase objects to $uri"
  done
  rm -rf "$stage"
  cp "$WORK/manifest.new" "$old"
  cat "$WORK/changed.txt"
}

runs() { q "SELECT count(*) FROM dip_sync_runs"; }
run_col() { q "SELECT $1 FROM dip_sync_runs WHERE output_postgres_table = '${2:-integrated_records}'
               ORDER BY run_id DESC LIMIT 1"; }

# cases run in subshells: each one that talks through the proxy points the endpoint at it
use_proxy() {
  [ -s "$S3DIR/proxy.port" ] || fail "the fault proxy is not running"
  AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$S3DIR/proxy.port")
  export AWS_ENDPOINT_URL
}
faults() { "$SRC/scripts/s3rver.sh" faults "$S3DIR" "$1" || fail "setting fault rules"; }
stats() { "$SRC/scripts/s3rver.sh" stats "$S3DIR"; }
applied() { stats | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["applied"]))'; }
# the data files GET through the proxy since the last rule change, as table-relative paths
parquet_gets() {
  stats | python3 -c '
import json, sys, urllib.parse
prefix = "/dip-test/lake/records.delta/"
got = set()
for line in json.load(sys.stdin)["seen"]:
    f = line.split()
    url = urllib.parse.unquote(f[2].split("?")[0])
    if f[0] == "GET" and url.startswith(prefix) and url.endswith(".parquet"):
        got.add(url[len(prefix):])
print("\n".join(sorted(got)))'
}
# one rule per partition: the first data GETs of each partition fail COUNT times with KIND
rules_per_partition() {
  local kind=$1 count=$2 r="[" p
  for p in crm erp pos web; do
    r="$r{\"fault\":\"$kind\",\"method\":\"GET\",\"path\":\"/source_system%3D$p/part-[^/]*[.]parquet\",\"count\":$count},"
  done
  echo "${r%,}]"
}

# ------------------------------------------------------------------ cases

case_full() {
  timeout 120 $MT create "$T" --rows $ROWS --files 4 --dv || fail "make_table create"
  : >"$WORK/manifest"
  local up
  up=$(upload_changes "$T" "$WORK/manifest" "$URI")
  expect_eq "$(echo "$up" | grep -c '[.]parquet$')" "4" "data objects uploaded"
  expect_eq "$(echo "$up" | grep -c '^_delta_log/')" "1" "log objects uploaded"
  dip sync-pg --source "$URI" || { cat "$LOG" >&2; fail "first sync from $URI"; }
  grep -q "full sync of version 0 (4 files)" "$LOG" || { cat "$LOG" >&2; fail "no full-sync log line"; }
  check_equal "$T"
  expect_eq "$(last_run)" "full $ROWS 0 0 0 t" "first sync counts"
  expect_eq "$(run_col input_delta_table)" "$URI" "recorded source"
  ok "first sync from $URI: $ROWS rows, gold equals the snapshot row for row"
}

case_incremental() {
  timeout 120 $MT update "$T" --update $UPD --insert $INS --dv-update || fail "make_table update"
  local up new_data
  up=$(upload_changes "$T" "$WORK/manifest" "$URI")
  new_data=$(echo "$up" | grep '[.]parquet$' | LC_ALL=C sort)
  expect_eq "$(echo "$up" | grep -c '^_delta_log/')" "1" "log objects uploaded"
  # 300 DV-updated rows of the first file go to one new file; 200 inserts over 4 partitions
  expect_eq "$(echo "$new_data" | wc -l)" "5" "new data objects uploaded"
  # from here on through the fault proxy, without faults: its log shows what dip reads
  "$SRC/scripts/s3rver.sh" proxy "$S3DIR" >/dev/null || fail "starting the fault proxy"
  use_proxy
  faults '[]'
  local before
  before=$(q "SELECT max(sync_ldts) FROM integrated_records")
  dip sync-pg --source "$URI" || { cat "$LOG" >&2; fail "incremental sync"; }
  grep -q "incremental sync from version 0 to 1: 6 files added (1 of them only gained deletion-vector rows" "$LOG" ||
    { cat "$LOG" >&2; fail "no incremental log line (6 added, 1 DV-only)"; }
  expect_eq "$(run_col mode)" "incremental" "dip_sync_runs.mode"
  expect_eq "$(last_run)" "incremental $INS $UPD 0 0 t" "incremental counts (inserted updated unchanged deleted finished)"
  expect_eq "$(run_col n_input_records)" "$((UPD + INS))" "rows read by the incremental sync"
  expect_eq "$(q "SELECT count(*) FROM integrated_records WHERE sync_ldts > '$before'")" "$((UPD + INS))" \
    "gold rows written by the incremental sync"
  check_equal "$T"
  expect_eq "$(parquet_gets)" "$new_data" "data objects read from S3 by the incremental sync"
  ok "incremental sync over S3: exactly $UPD updated + $INS inserted rows, only the 5 new objects read"
}

case_up_to_date() {
  use_proxy
  faults '[]'
  local n
  n=$(runs)
  dip sync-pg --source "$URI" || { cat "$LOG" >&2; fail "third sync"; }
  grep -q "is up to date with $URI at version 1" "$LOG" || { cat "$LOG" >&2; fail "no up-to-date log line"; }
  expect_eq "$(runs)" "$n" "runs recorded by an up-to-date sync"
  expect_eq "$(parquet_gets)" "" "data objects read by an up-to-date sync"
  local plan
  plan=$(timeout 120 "$DIP" sync-pg --plan --source "$URI" 2>"$LOG") || { cat "$LOG" >&2; fail "--plan"; }
  expect_eq "$plan" "[]" "plan of an up-to-date table"
  ok "third sync: up to date, exit 0, no run, no data read; --plan prints []"
}

case_transient_faults() {
  use_proxy
  local live kind n retries p rc
  live=$((ROWS + INS))
  for kind in slowdown reset short drop; do
    faults "$(rules_per_partition $kind 2)"
    rc=0
    dip sync-pg --source "$URI" --force --full || rc=$?
    [ "$rc" -eq 0 ] || { cat "$LOG" >&2; fail "$kind: exit $rc"; }
    n=$(applied)
    [ "$n" -eq 8 ] || { stats >&2; fail "$kind: $n faults applied, expected 8 (2 per partition)"; }
    retries=$(grep -c 'part-.*[.]parquet.*retry [0-9]* of 4' "$LOG" || true)
    if [ "$kind" != drop ]; then
      # curl itself silently retries a reused connection dropped before any response byte,
      # so only the other kinds must show each partition's retry in dip's log
      for p in crm erp pos web; do
        grep -qE "source_system%3D$p/part-[^ ]*[.]parquet: .*retry [0-9]+ of 4" "$LOG" ||
          { cat "$LOG" >&2; fail "$kind: no retry logged for partition $p"; }
      done
    fi
    expect_eq "$(last_run)" "full 0 0 $live 0 t" "$kind: counts of the forced full sync"
    expect_eq "$(run_col n_input_records)" "$live" "$kind: rows read"
    check_equal "$T"
    ok "--force --full with 8 '$kind' faults on data GETs: $retries retries logged, all $live rows read, none rewritten"
  done
  # every row through COPY: a fresh gold table, one fault of each kind, a 2 s stall among them
  faults '[{"fault":"slowdown","method":"GET","path":"/source_system%3Dcrm/part-[^/]*[.]parquet","count":1},
           {"fault":"reset","method":"GET","path":"/source_system%3Derp/part-[^/]*[.]parquet","count":1},
           {"fault":"short","method":"GET","path":"/source_system%3Dpos/part-[^/]*[.]parquet","count":1},
           {"fault":"stall","stall_s":60,"method":"GET","path":"/source_system%3Dweb/part-[^/]*[.]parquet","count":1},
           {"fault":"status","status":500,"method":"GET","path":"/source_system%3Dweb/part-[^/]*[.]parquet","count":1}]'
  dip sync-pg --source "$URI" --table s3_faulted_gold --force --full ||
    { cat "$LOG" >&2; fail "faulted sync into a fresh table"; }
  n=$(applied)
  [ "$n" -eq 5 ] || { stats >&2; fail "fresh table: $n faults applied, expected 5"; }
  grep -q 'stalled: less than 1 byte/s for 2s.*retry [0-9]* of 4' "$LOG" || { cat "$LOG" >&2; fail "no stall retry logged"; }
  check_equal "$T" s3_faulted_gold
  expect_eq "$(last_run s3_faulted_gold)" "full $live 0 0 0 t" "fresh table counts"
  ok "fresh gold table under SlowDown, reset, short body, stall and 500: $live rows COPYed, equal to the snapshot"
}

case_exhausted() {
  use_proxy
  local victim t0 secs
  # the erp file added by the update: the files before it in path order load first
  victim=$(cd "$T" && printf '%s\n' source_system=erp/part-*.parquet | LC_ALL=C sort | tail -1)
  faults "[{\"fault\":\"slowdown\",\"method\":\"GET\",\"path\":\"/${victim//=/%3D}\",\"count\":1000}]"
  t0=$(date +%s)
  local rc=0
  dip sync-pg --source "$URI" --force --full || rc=$?
  secs=$(($(date +%s) - t0))
  expect_eq "$rc" "4" "exit code when the retries of a data file run out"
  [ "$secs" -le 60 ] || fail "giving up took ${secs}s"
  grep -q "ERROR .*$victim.*SlowDown.*giving up after 5 attempts" "$LOG" ||
    { cat "$LOG" >&2; fail "message does not name $victim, the cause and the attempts"; }
  expect_eq "$(last_run | cut -d' ' -f1,6)" "full f" "run with exhausted retries"
  run_col error | grep -q "$victim" || fail "dip_sync_runs.error does not name $victim: $(run_col error)"
  local attempts
  attempts=$(stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["applied"][0])')
  # DELTA_CLIENT_WRITE_RETRIES=4: one request and 4 retries, not retries of retries
  expect_eq "$attempts" "5" "GETs of a data file whose retries run out"
  ok "retries exhausted on $victim: exit 4 after ${secs}s ($attempts GETs), run recorded unfinished"
  # the fault gone, the next sync resumes the unfinished run and finishes it
  faults '[]'
  dip sync-pg --source "$URI" || { cat "$LOG" >&2; fail "sync after the exhausted run"; }
  grep -q "resuming unfinished run" "$LOG" || { cat "$LOG" >&2; fail "unfinished run not resumed"; }
  expect_eq "$(last_run | cut -d' ' -f1,6)" "full t" "resumed run"
  check_equal "$T"
  ok "next sync resumed the unfinished run and finished it, gold equals the snapshot"
}

case_missing_object() {
  use_proxy
  # the same table under another prefix, one data file never uploaded
  local victim m=$WORK/missing.delta rc=0
  victim=$(cd "$T" && printf '%s\n' source_system=pos/part-*.parquet | LC_ALL=C sort | head -1)
  rm -rf "$m"
  cp -rp "$T" "$m"
  rm "$m/$victim"
  : >"$WORK/manifest.missing"
  upload_changes "$m" "$WORK/manifest.missing" s3://dip-test/lake/missing.delta >/dev/null
  dip sync-pg --source s3://dip-test/lake/missing.delta --table missing_gold || rc=$?
  expect_eq "$rc" "5" "exit code of a missing data object"
  grep -q "ERROR .*$victim.*missing.*NoSuchKey" "$LOG" || { cat "$LOG" >&2; fail "message does not name $victim"; }
  grep -q 'retry' "$LOG" && { cat "$LOG" >&2; fail "a missing object was retried"; }
  expect_eq "$(last_run missing_gold | cut -d' ' -f6)" "f" "run with a missing object marked unfinished"
  run_col error missing_gold | grep -q "$victim" || fail "dip_sync_runs.error does not name $victim"
  ok "missing data object: exit 5 at once, names $victim, run recorded unfinished"
}

case_access_denied() {
  use_proxy
  local victim rc=0
  victim=$(cd "$T" && printf '%s\n' source_system=web/part-*.parquet | LC_ALL=C sort | head -1)
  faults "[{\"fault\":\"status\",\"status\":403,\"code\":\"AccessDenied\",\"method\":\"GET\",\"path\":\"/${victim//=/%3D}\",\"count\":1000}]"
  dip sync-pg --source "$URI" --force --full || rc=$?
  expect_eq "$rc" "2" "exit code of a 403 on a data file"
  grep -q "ERROR .*$victim.*403 AccessDenied" "$LOG" || { cat "$LOG" >&2; fail "message does not name $victim"; }
  expect_eq "$(applied)" "1" "GETs of an object answered 403 (not retried)"
  expect_eq "$(last_run | cut -d' ' -f1,6)" "full f" "run failed with 403"
  faults '[]'
  ok "403 AccessDenied on $victim: exit 2, not retried, run recorded unfinished"
}

# ------------------------------------------------------------------ runner

PASSED=0 FAILED=0 BROKEN=
run_case() {
  local name=$1 rc=0 t0
  if [ -n "$BROKEN" ]; then
    echo "FAIL $name (not run: $BROKEN failed and later cases build on it)"
    FAILED=$((FAILED + 1))
    return
  fi
  t0=$(date +%s)
  set +e
  (set -e; "$name")
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    echo "PASS $name ($(($(date +%s) - t0))s)"
    PASSED=$((PASSED + 1))
  else
    echo "FAIL $name (exit $rc after $(($(date +%s) - t0))s)"
    FAILED=$((FAILED + 1))
    BROKEN=$name
  fi
}

T0=$(date +%s)
run_case case_full
run_case case_incremental
run_case case_up_to_date
run_case case_transient_faults
run_case case_exhausted
run_case case_missing_object
run_case case_access_denied
echo "sync_pg.s3: $PASSED passed, $FAILED failed ($(($(date +%s) - T0))s)"
[ "$FAILED" -eq 0 ]
