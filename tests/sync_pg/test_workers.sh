#!/usr/bin/env bash
# test_workers.sh DIP SRC [TRIALS]: `dip sync-pg --workers N` (issue 15): N loader connections
# in one process, as N shards of one sharded run run by N threads.
# - a full sync with 3 workers: gold equals the snapshot, no duplicate hk, one sharded run of 3
#   with 3 finished shard rows, the version synced (a plain plan is []), and a second run is
#   up to date;
# - TRIALS (default 3) incremental rounds killed (SIGKILL) at a random moment, then rerun with
#   the same N: the rerun joins the unfinished run, finished shards are not redone, and gold
#   equals the snapshot again;
# - SIGTERM: exit 130, the run left unfinished, and the rerun completes it;
# - more workers than files (8 workers, some with no file, finishing together): the run is
#   finalized exactly once;
# - a different N after a killed run supersedes it and still ends equal;
# - --workers with --plan / --shards / a shard task, and out-of-range N, are usage errors (2).
DIP=$1
SRC=$2
TRIALS=${3:-3}
. "$SRC/tests/sync_pg/lib.sh"
SEED=${WORKERS_SEED:-$RANDOM}
echo "sync_pg.workers: seed $SEED (WORKERS_SEED=$SEED repeats the trials' choices)"
PASSED=0
ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
trap 'rc=$?; [ $rc -ne 0 ] && echo "$PASSED passed, 1 failed"; cleanup' EXIT
export POSTGRES_CLIENT_BATCH_SIZE=500 POSTGRES_RETRY_DELAY=0.2
T=$WORK/t.delta
$MT create "$T" --rows 60000 --files 12 >/dev/null
LOG=$WORK/log.txt

# the latest sharded run: "run_id shards finished"
sharded() {
  q "SELECT run_id || ' ' || shards || ' ' || CASE WHEN sync_finished THEN 't' ELSE 'f' END
       FROM dip_sync_runs WHERE parent_run_id IS NULL AND shards > 0 ORDER BY run_id DESC LIMIT 1"
}
shard_rows() { # RUN_ID -> "rows finished_rows"
  q "SELECT count(*) || ' ' || count(*) FILTER (WHERE sync_finished) FROM dip_sync_runs
      WHERE parent_run_id = $1"
}

"$DIP" sync-pg --workers 3 --source "$T" 2>"$LOG" || { cat "$LOG"; fail "--workers 3 full sync"; }
grep -q "3 workers" "$LOG" || { cat "$LOG"; fail "the log does not say 3 workers"; }
read -r run n fin < <(sharded)
expect_eq "$n $fin" "3 t" "the sharded run of --workers 3"
expect_eq "$(shard_rows "$run")" "3 3" "shard rows of run $run"
expect_eq "$(q "SELECT count(*) - count(DISTINCT hk) FROM integrated_records")" "0" "duplicate hk"
check_equal "$T"
ins=$(q "SELECT n_inserted FROM dip_sync_runs WHERE run_id = $run")
expect_eq "$ins" "60000" "rows inserted recorded on the sharded run"
grep -q "60000 rows read, 60000 inserted" "$LOG" || { cat "$LOG"; fail "the closing line does not carry the sums"; }
ok "--workers 3: gold equals the snapshot, sharded run $run of 3 finalized, sums on the closing line"
expect_eq "$("$DIP" sync-pg --plan --source "$T" 2>"$LOG")" "[]" "a plain plan after --workers 3"
"$DIP" sync-pg --workers 3 --source "$T" 2>"$LOG" || { cat "$LOG"; fail "second --workers run"; }
grep -q "up to date" "$LOG" || { cat "$LOG"; fail "the second run is not up to date"; }
ok "the version counts as synced: a plain plan is [] and a second --workers run is up to date"

# SIGKILL at a random moment, rerun with the same N
for trial in $(seq 1 "$TRIALS"); do
  $MT update "$T" --update 30000 --insert 20000 >/dev/null
  read -r prev _ _ < <(sharded)
  kill_at=$(python3 -c "import random; print(round(random.Random($SEED * 100 + $trial).uniform(0.05, 2.5), 3))")
  "$DIP" sync-pg --workers 3 --source "$T" >/dev/null 2>"$WORK/killed.log" &
  pid=$!
  BG_PIDS+=($pid)
  sleep "$kill_at"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  read -r run n fin < <(sharded)
  before=$(shard_rows "$run")
  "$DIP" sync-pg --workers 3 --source "$T" 2>"$LOG" || { cat "$LOG"; fail "trial $trial: rerun"; }
  if [ "$fin" = "f" ]; then
    grep -q "joining unfinished sharded run $run" "$LOG" || { cat "$LOG"; fail "trial $trial: the rerun did not join run $run"; }
    # every shard finished before the kill is left alone by the rerun
    done_before=${before#* }
    done_msgs=$(grep -c "finished already" "$LOG" || true)
    [ "$done_msgs" -ge "$done_before" ] || { cat "$LOG"; fail "trial $trial: $done_before shards were finished, the rerun skipped $done_msgs"; }
  fi
  read -r run2 n2 fin2 < <(sharded)
  if [ "$run" != "$prev" ]; then
    # killed while its run was unfinished (the rerun joined it) or after it finished (the
    # rerun was up to date): either way that run is the latest, finished
    expect_eq "$run2 $fin2" "$run t" "trial $trial: the sharded run after the rerun"
  else
    # killed before its sharded run was recorded: the rerun makes a new run and finishes it
    [ "$run2" -gt "$run" ] && [ "$fin2" = t ] ||
      fail "trial $trial: killed before its run existed; after the rerun the latest sharded run is '$run2 $fin2', expected a new finished one after run $run"
  fi
  expect_eq "$(q "SELECT count(*) - count(DISTINCT hk) FROM integrated_records")" "0" "trial $trial: duplicate hk"
  check_equal "$T"
  if [ "$run" != "$prev" ]; then
    ok "trial $trial: killed at ${kill_at}s (run $run finished: $fin, shards finished: ${before#* }/3), the rerun joined it or was up to date; gold equals the snapshot"
  else
    ok "trial $trial: killed at ${kill_at}s, before its sharded run was recorded; the rerun made run $run2 and finished it; gold equals the snapshot"
  fi
done

# workers3_then SIG DELAY LOG: a slow (100-row batches) --workers 3 run in the background,
# sent SIG DELAY seconds after it logged its start (at most 5 s of waiting for that); prints
# its exit code. Runs in a subshell: BG_PIDS of the caller does not see it, so it always reaps.
workers3_then() {
  local pid rc=0
  POSTGRES_CLIENT_BATCH_SIZE=100 "$DIP" sync-pg --workers 3 --source "$T" >/dev/null 2>"$3" &
  pid=$!
  for _ in $(seq 1 100); do grep -q "3 workers" "$3" && break; sleep 0.05; done
  sleep "$2"
  kill -"$1" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || rc=$?
  echo "$rc"
}

# SIGTERM: a clean stop (exit 130), the run unfinished, the rerun completes it
$MT update "$T" --update 30000 --insert 10000 >/dev/null
rc=$(workers3_then TERM 0.2 "$WORK/term.log")
read -r run n fin < <(sharded)
if [ "$fin" = "f" ]; then
  expect_eq "$rc" "130" "exit code after SIGTERM"
  "$DIP" sync-pg --workers 3 --source "$T" 2>"$LOG" || { cat "$LOG"; fail "rerun after SIGTERM"; }
  ok "SIGTERM: exit 130 with the run unfinished; the rerun completed it"
else
  expect_eq "$rc" "0" "exit code of a run that finished before SIGTERM"
  ok "SIGTERM came after the run finished (exit 0)"
fi
check_equal "$T"
ok "after SIGTERM and rerun: gold equals the snapshot"

# more workers than files: shards without files finish together; finalized exactly once
$MT update "$T" --update 5000 --insert 100 >/dev/null
"$DIP" sync-pg --workers 8 --source "$T" 2>"$LOG" || { cat "$LOG"; fail "--workers 8"; }
read -r run n fin < <(sharded)
expect_eq "$n $fin" "8 t" "the sharded run of --workers 8"
expect_eq "$(shard_rows "$run")" "8 8" "shard rows of run $run"
expect_eq "$(grep -c "sharded run $run finalized" "$LOG")" "1" "finalize messages of run $run"
check_equal "$T"
ok "--workers 8 on fewer changed files: every shard finished, run $run finalized once"

# a different N after a killed run: a new sharded run supersedes it
$MT update "$T" --update 20000 --insert 5000 >/dev/null
workers3_then KILL 0.3 "$WORK/killed.log" >/dev/null
"$DIP" sync-pg --workers 2 --source "$T" 2>"$LOG" || { cat "$LOG"; fail "--workers 2 after a killed --workers 3"; }
read -r run n fin < <(sharded)
expect_eq "$n $fin" "2 t" "the sharded run of --workers 2"
check_equal "$T"
expect_eq "$(q "SELECT count(*) - count(DISTINCT hk) FROM integrated_records")" "0" "duplicate hk"
ok "--workers 2 after a killed --workers 3: gold equals the snapshot"

# a silver key in two files (a file added twice under two names: every hk twice) into an
# empty gold table: the second copy's COPY fails on the key and its batch goes through the
# merge (no set of every key is kept for an empty table); one process, then 2 workers
T2=$WORK/dup.delta
$MT create "$T2" --rows 6000 --files 3 >/dev/null
python3 - "$T2" <<'PY'
import json, os, shutil, sys, time, urllib.parse
t = sys.argv[1]
log = os.path.join(t, "_delta_log")
last = max(int(f.split(".")[0]) for f in os.listdir(log) if f.endswith(".json"))
add = None
for line in open(os.path.join(log, "%020d.json" % 0)):
    a = json.loads(line)
    if "add" in a:
        add = a["add"]
        break
src = os.path.join(t, urllib.parse.unquote(add["path"]))  # paths in the log are URIs
d, b = os.path.split(add["path"])
copy = os.path.join(d, "again-" + b)
shutil.copyfile(src, os.path.join(t, urllib.parse.unquote(copy)))
add = dict(add, path=copy, modificationTime=int(time.time() * 1000))
with open(os.path.join(log, "%020d.json" % (last + 1)), "w") as f:
    f.write(json.dumps({"commitInfo": {"timestamp": int(time.time() * 1000), "operation": "WRITE"}}) + "\n")
    f.write(json.dumps({"add": add}) + "\n")
PY
for w in 1 2; do
  "$DIP" sync-pg --source "$T2" --table "dup_w$w" --workers "$w" 2>"$LOG" || { cat "$LOG"; fail "a key in two files, --workers $w"; }
  expect_eq "$(q "SELECT count(*) || ' ' || count(DISTINCT hk) FROM dup_w$w")" "6000 6000" "rows of dup_w$w"
  check_equal "$T2" "dup_w$w"
done
ok "every key in two files into an empty gold table: 6000 rows once each, equal to the snapshot (1 and 2 workers)"

# usage errors
for args in "--workers 0" "--workers 65" "--workers x" "--workers 2 --plan" "--workers 2 --shards 2 --shard-index 0"; do
  rc=0
  # shellcheck disable=SC2086
  "$DIP" sync-pg $args --source "$T" >/dev/null 2>"$LOG" || rc=$?
  expect_eq "$rc" "2" "dip sync-pg $args"
done
task=$("$DIP" sync-pg --plan --shards 2 --source "$T" 2>/dev/null | python3 -c 'import json,sys; t=json.load(sys.stdin); print(json.dumps(t[0]) if t else "")')
if [ -n "$task" ]; then
  rc=0
  "$DIP" sync-pg --workers 2 --task "$task" >/dev/null 2>"$LOG" || rc=$?
  expect_eq "$rc" "2" "--workers 2 with a shard task"
fi
ok "--workers 0/65/x, with --plan, with --shards, with a shard task: usage errors (exit 2)"
echo "$PASSED passed, 0 failed"
