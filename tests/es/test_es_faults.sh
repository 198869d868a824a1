#!/usr/bin/env bash
# test_es_faults.sh DIP ES_TOOL SRC FLAVOUR [N]: for each fault the test server injects
# (whole-request 429, 503, 500; 429 or 500 on a share of the items; connection reset in the
# middle of a response; delays; a stall past the client timeout), a bulk load of N (100,000)
# documents ends with exactly those documents in the index (count and a full dump
# compared). When retries run out the load exits 4 with a clear error and every action it
# acknowledged is in the index. The server SIGKILLed in the middle of a load and restarted on
# the same port and data: dip waits, reconnects and finishes with every document.
DIP=$1 TOOL=$2 SRC=$3 FLAVOUR=${4:-es8} N=${5:-100000}
. "$SRC/tests/es/lib.sh"
export ELASTICSEARCH_MAX_RETRIES=12 ELASTICSEARCH_INITIAL_BACKOFF=0.05 ELASTICSEARCH_MAX_BACKOFF=0.5
export ELASTICSEARCH_TIMEOUT=20

es_start f "$FLAVOUR"
P=$PORT_f
export ELASTICSEARCH_URL=http://127.0.0.1:$P
gen_docs "$N" "$N" 120 > "$WORK/docs"

fault_load() { # NAME FAULT-JSON [LOAD ARGS...]
  local name=$1 fault=$2; shift 2
  local idx="f_$name"
  admin "$P" DELETE /_test/faults > /dev/null
  admin "$P" PUT /_test/faults "$fault" > /dev/null
  local before; before=$(stat_of "$P" faults_injected)
  "$DIP" es load "$idx" --chunk-size 2000 "$@" < "$WORK/docs" > /dev/null 2> "$WORK/$idx.err"
  local rc=$?
  admin "$P" DELETE /_test/faults > /dev/null
  expect_eq "$rc" 0 "$name: load of $N documents exit 0"
  check "$name: the fault was injected" test "$(stat_of "$P" faults_injected)" -gt "$before"
  expect_eq "$("$DIP" es count "$idx" 2>/dev/null)" "$N" "$name: count $N"
  "$DIP" es dump "$idx" > "$WORK/$idx.dump" 2>> "$WORK/$idx.err"
  check "$name: full dump equals the documents sent" same_docs "$WORK/docs" "$WORK/$idx.dump"
  rm -f "$WORK/$idx.dump"
  # the server keeps every index in memory and replays them on restart: keep it small
  admin "$P" DELETE "/$idx" > /dev/null
}

fault_load req429 '{"request_status":429,"request_count":4,"path":"_bulk"}'
fault_load req503 '{"request_status":503,"request_count":4,"path":"_bulk"}'
fault_load req500 '{"request_status":500,"request_count":3,"path":"_bulk"}'
fault_load item429 '{"item_status":429,"item_fraction":0.3,"request_count":15,"path":"_bulk"}'
fault_load item500 '{"item_status":500,"item_fraction":0.2,"request_count":15,"path":"_bulk"}'
fault_load reset '{"reset_after_bytes":200,"request_count":4,"path":"_bulk"}'
fault_load delay '{"delay_ms":300,"request_count":12,"path":"_bulk"}'
ELASTICSEARCH_TIMEOUT=2 fault_load stall '{"stall_ms":5000,"request_count":2,"path":"_bulk"}'

# ---- retries run out: exit 4, a clear error, and everything acknowledged is in the index
$PY - "$WORK/docs" 20000 > "$WORK/actions" <<'PY'
import json, sys
for i, line in enumerate(open(sys.argv[1])):
    if i >= int(sys.argv[2]): break
    o = json.loads(line); print(json.dumps({"index": "f_out", "id": o["_id"], "source": o["_source"]}))
PY
admin "$P" PUT /_test/faults '{"item_status":429,"item_fraction":0.5,"path":"_bulk"}' > /dev/null
ELASTICSEARCH_MAX_RETRIES=2 "$TOOL" < "$WORK/actions" > "$WORK/out.acks" 2> "$WORK/out.err"
rc=$?
admin "$P" DELETE /_test/faults > /dev/null
expect_eq "$rc" 4 "retries exhausted: exit 4"
expect_grep "retries exhausted: the error names host, item and attempts" \
  '127\.0\.0\.1: bulk index f_out/d[0-9]+: gave up after 3 attempts: status 429' "$WORK/out.err"
admin "$P" POST /f_out/_refresh > /dev/null
"$DIP" es dump f_out > "$WORK/out.dump" 2> /dev/null
check "retries exhausted: every acknowledged action is in the index" $PY - "$WORK/out.acks" "$WORK/out.dump" "$WORK/actions" <<'PY'
import json, sys
acked = {int(l.split()[2]) for l in open(sys.argv[1]) if l.startswith("ack ") and l.split()[3] == "done"}
have = {json.loads(l)["_id"]: json.loads(l)["_source"] for l in open(sys.argv[2]) if l.strip()}
acts = [json.loads(l) for l in open(sys.argv[3])]
lost = [t for t in acked if acts[t - 1]["id"] not in have or have[acts[t - 1]["id"]] != acts[t - 1]["source"]]
print("acked %d, in index %d, lost %d" % (len(acked), len(have), len(lost)), file=sys.stderr)
sys.exit(1 if lost or not acked else 0)
PY

# ---- the server is killed in the middle of a load and comes back: dip waits and finishes.
# A server of its own: the first one's data log holds every load above, and replaying it on
# restart would take longer than the point of this case.
es_stop f
es_start r "$FLAVOUR"
P=$PORT_r
export ELASTICSEARCH_URL=http://127.0.0.1:$P
admin "$P" PUT /_test/faults '{"delay_ms":40,"path":"_bulk"}' > /dev/null
ELASTICSEARCH_MAX_RETRIES=60 ELASTICSEARCH_MAX_BACKOFF=1 "$DIP" es load f_restart --chunk-size 1000 < "$WORK/docs" > /dev/null 2> "$WORK/restart.err" &
LOAD=$!
for _ in $(seq 1 100); do
  [ "$(stat_of "$P" bulk_requests 2>/dev/null || echo 0)" -ge 8 ] && break
  sleep 0.1
done
kill -9 "$PID_r"
wait "$PID_r" 2> /dev/null
sleep 1.5
ES_FIXED_PORT=$P es_start r "$FLAVOUR"
expect_eq "$PORT_r" "$P" "server restarted on the same port and data"
wait "$LOAD"
expect_eq "$?" 0 "restart: the load finished (exit 0)"
expect_grep "restart: dip waited and reconnected" '(Could not connect|Couldn.t connect|reset|Recv failure|Empty reply|retry [0-9]+ of)' "$WORK/restart.err"
expect_eq "$("$DIP" es count f_restart 2>/dev/null)" "$N" "restart: count $N"
"$DIP" es dump f_restart > "$WORK/restart.dump" 2> /dev/null
check "restart: full dump equals the documents sent" same_docs "$WORK/docs" "$WORK/restart.dump"

finish
