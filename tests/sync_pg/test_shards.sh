#!/usr/bin/env bash
# test_shards.sh DIP SRC [TRIALS]: sharded sync-pg (issue 15).
# - `--plan --shards 4`: 4 tasks of one version, every file in exactly one, balanced by bytes;
#   a second plan while the run is unfinished joins it (same tasks).
# - the 4 shards as 4 concurrent processes into one gold table: equal to the snapshot, no
#   duplicate hk; finalize refused (exit 4) while a shard is unfinished, accepted after; the
#   table is then up to date for a plain plan.
# - TRIALS (default 4; `make soak-sync-pg-shards` runs 30) rounds of an incremental sharded
#   sync where random shards are SIGKILLed at random moments and only those are rerun: equal
#   again, no duplicate hk.
# - --shards N --shard-index K (the Kubernetes Indexed Job form) runs shard K of the plan.
DIP=$1
SRC=$2
TRIALS=${3:-4}
. "$SRC/tests/sync_pg/lib.sh"
# random choices of the kill trials come from SEED (printed; SHARDS_SEED=N repeats a run)
SEED=${SHARDS_SEED:-$RANDOM}
echo "sync_pg.shards: seed $SEED (SHARDS_SEED=$SEED repeats the trials' choices)"
PASSED=0
ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
trap 'rc=$?; [ $rc -ne 0 ] && echo "$PASSED passed, 1 failed"; cleanup' EXIT
export POSTGRES_CLIENT_BATCH_SIZE=500 POSTGRES_RETRY_DELAY=0.2
T=$WORK/t.delta
$MT create "$T" --rows 60000 --files 12 >/dev/null
LOG=$WORK/log.txt

shard_tasks() { # PLAN_JSON -> one task per line
  python3 -c 'import json,sys; [print(json.dumps(t)) for t in json.load(open(sys.argv[1]))]' "$1"
}

"$DIP" sync-pg --plan --shards 4 --source "$T" >"$WORK/plan.json" 2>"$LOG" || { cat "$LOG"; fail "plan --shards 4"; }
python3 - "$WORK/plan.json" "$T" <<'PY' || fail "the plan's split"
import json, os, sys
tasks = json.load(open(sys.argv[1]))
assert len(tasks) == 4, "expected 4 tasks, got %d" % len(tasks)
assert sorted(t["shard"] for t in tasks) == [0, 1, 2, 3]
assert len({t["parent_run_id"] for t in tasks}) == 1 and len({t["table_version"] for t in tasks}) == 1
assert all(t["shards"] == 4 for t in tasks)
print("ok - --plan --shards 4: 4 tasks of one sharded run (run %d, version %d)"
      % (tasks[0]["parent_run_id"], tasks[0]["table_version"]))
PY
PASSED=$((PASSED + 1)) # the ok printed by the python check above
"$DIP" sync-pg --plan --shards 4 --source "$T" >"$WORK/plan2.json" 2>"$LOG" || { cat "$LOG"; fail "second plan"; }
cmp -s "$WORK/plan.json" "$WORK/plan2.json" || fail "a second plan of the unfinished run did not join it"
ok "a second plan joins the unfinished sharded run (same tasks)"

# finalize before any shard ran: refused
rc=0
"$DIP" sync-pg --finalize --task "$(cat "$WORK/plan.json")" 2>"$LOG" || rc=$?
expect_eq "$rc" "4" "finalize with every shard unfinished"
grep -qi "unfinished\|not finished" "$LOG" || { cat "$LOG"; fail "the refusal does not say which shards"; }
ok "finalize refused while shards are unfinished (exit 4)"

t0=$(date +%s.%N)
pids=()
while read -r task; do
  "$DIP" sync-pg --task "$task" >/dev/null 2>>"$WORK/shards.log" &
  pids+=($!)
  BG_PIDS+=($!)
done < <(shard_tasks "$WORK/plan.json")
for p in "${pids[@]}"; do wait "$p" || { cat "$WORK/shards.log"; fail "a shard failed"; }; done
FIRST_S=$(python3 -c "print(round($(date +%s.%N) - $t0, 2))")
ok "4 shards ran as 4 concurrent processes (${FIRST_S}s)"
dups=$(q "SELECT count(*) - count(DISTINCT hk) FROM integrated_records")
expect_eq "$dups" "0" "duplicate hk"
check_equal "$T"
ok "gold equals the snapshot, no duplicate hk"
"$DIP" sync-pg --finalize --task "$(cat "$WORK/plan.json")" 2>"$LOG" || { cat "$LOG"; fail "finalize after every shard"; }
ok "finalize accepted once every shard finished"
plain=$("$DIP" sync-pg --plan --source "$T" 2>"$LOG") || { cat "$LOG"; fail "plain plan"; }
expect_eq "$plain" "[]" "a plain plan after the finalized sharded run"
ok "the version counts as synced: a plain plan is []"

# incremental sharded syncs with SIGKILLs of random shards; only the killed ones rerun
for trial in $(seq 1 "$TRIALS"); do
  $MT update "$T" --update 30000 --insert 20000 >/dev/null
  "$DIP" sync-pg --plan --shards 4 --source "$T" >"$WORK/plan.json" 2>"$LOG" || { cat "$LOG"; fail "trial $trial: plan"; }
  mapfile -t tasks < <(shard_tasks "$WORK/plan.json")
  # decided before the shards start, so the delay is the delay
  read -r kill_at victims < <(python3 -c "import random; r = random.Random($SEED * 1000 + $trial)
print(round(r.uniform(0.01, 0.3), 3), ' '.join(str(i) for i in sorted(r.sample(range(4), r.randint(1, 3)))))")
  [ "${#tasks[@]}" -eq 4 ] || fail "trial $trial: expected 4 tasks, got ${#tasks[@]}"
  pids=()
  for task in "${tasks[@]}"; do
    "$DIP" sync-pg --task "$task" >/dev/null 2>>"$WORK/shards.log" &
    pids+=($!)
    BG_PIDS+=($!)
  done
  sleep "$kill_at"
  for v in $victims; do kill -9 "${pids[$v]}" 2>/dev/null || true; done
  killed=""
  for i in 0 1 2 3; do
    if wait "${pids[$i]}"; then :; else killed="$killed $i"; fi
  done
  if [ -n "$killed" ]; then
    parent=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["parent_run_id"])' "$WORK/plan.json")
    open_shards=$(q "SELECT count(*) FROM dip_sync_runs WHERE parent_run_id = $parent AND NOT sync_finished")
    rc=0
    "$DIP" sync-pg --finalize --task "$(cat "$WORK/plan.json")" 2>"$LOG" || rc=$?
    # a shard killed after it recorded its end is finished: then finalize may go through
    if [ "$open_shards" -gt 0 ]; then
      expect_eq "$rc" "4" "trial $trial: finalize with killed shards ($killed) unfinished"
    fi
    for i in $killed; do
      "$DIP" sync-pg --task "${tasks[$i]}" >/dev/null 2>>"$WORK/shards.log" || { tail -20 "$WORK/shards.log"; fail "trial $trial: rerun of shard $i"; }
    done
  fi
  "$DIP" sync-pg --finalize --task "$(cat "$WORK/plan.json")" 2>"$LOG" || { cat "$LOG"; fail "trial $trial: finalize"; }
  dups=$(q "SELECT count(*) - count(DISTINCT hk) FROM integrated_records")
  expect_eq "$dups" "0" "trial $trial: duplicate hk"
  check_equal "$T"
  ok "trial $trial: killed shards [${killed# }] of [$victims] rerun alone; gold equals the snapshot (kill at ${kill_at}s)"
done

# the Indexed Job form: --shards N --shard-index K plans (or joins) and runs shard K
$MT update "$T" --update 1000 --insert 500 >/dev/null
for k in 0 1; do
  "$DIP" sync-pg --shards 2 --shard-index "$k" --source "$T" 2>>"$WORK/shards.log" || { tail -20 "$WORK/shards.log"; fail "--shard-index $k"; }
done
check_equal "$T"
plain=$("$DIP" sync-pg --plan --source "$T" 2>"$LOG") || { cat "$LOG"; fail "plain plan"; }
expect_eq "$plain" "[]" "after both --shard-index runs (the last shard finalizes)"
ok "--shards 2 --shard-index 0/1: gold equals the snapshot and the version is synced"
echo "$PASSED passed, 0 failed"
