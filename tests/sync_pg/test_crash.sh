#!/usr/bin/env bash
# test_crash.sh DIP SRC [TRIALS]: crash safety of dip sync-pg.
# - SIGKILL at random moments (TRIALS, default 21) during first syncs, incremental syncs and
#   syncs whose table is rewritten (compacted) before the rerun; after each rerun the gold
#   table equals the snapshot, and for first syncs the work redone is at most one file
#   (rows committed beyond the recorded resume point <= the rows of one file).
# - PostgreSQL restarted in the middle of a sync: dip reconnects, redoes the batch, finishes.
DIP=$1
SRC=$2
TRIALS=${3:-21}
. "$SRC/tests/sync_pg/lib.sh"
export POSTGRES_CLIENT_BATCH_SIZE=500 POSTGRES_RETRY_DELAY=0.2 DELTA_CLIENT_WRITE_RETRY_DELAY=0.1
BASE=$WORK/base.delta
$MT create "$BASE" --rows 40000 --files 16
$MT info "$BASE" >"$WORK/base.info"
LOG=$WORK/log.txt

# rows of the files up to and including PATH (sorted by path, the order dip loads them)
rows_through() {
  python3 - "$1" "$2" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))
last = sys.argv[2]
print(sum(n for p, n in info["file_rows"].items() if last and p <= last))
PY
}
max_file_rows=$(python3 -c "import json; print(max(json.load(open('$WORK/base.info'))['file_rows'].values()))")

# how long a first sync takes here: kills are spread over that window
t0=$(date +%s.%N)
"$DIP" sync-pg --source "$BASE" --table warmup 2>"$LOG" || { cat "$LOG"; fail "warm-up sync"; }
WINDOW=$(python3 -c "print(max(0.1, ($(date +%s.%N) - $t0) * 0.9))")
echo "# a first sync of 40000 rows takes $(python3 -c "print(round($WINDOW / 0.9, 2))")s: kills land in [0.02, $WINDOW]s"

kill_at_random() { # TABLE DELTA: starts a sync, kills it with SIGKILL after a random delay
  local delay
  delay=$(python3 -c "import random; print(round(random.uniform(0.02, $WINDOW), 3))")
  "$DIP" sync-pg --source "$2" --table "$1" >/dev/null 2>"$WORK/killed.log" &
  local pid=$!
  BG_PIDS+=("$pid")
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  echo "$delay"
}

redone_max=0
for i in $(seq 1 "$TRIALS"); do
  kind=$((i % 3))
  tbl=crash_$i
  case $kind in
    0) # first sync killed, rerun: resume after the last fully loaded file
      d=$(kill_at_random "$tbl" "$BASE")
      last=$(q "SELECT coalesce(last_synced_item->>'file', '') FROM dip_sync_runs
                WHERE output_postgres_table = '$tbl' ORDER BY run_id DESC LIMIT 1" || true)
      have=$(q "SELECT count(*) FROM $tbl" 2>/dev/null || echo 0)
      through=$(rows_through "$WORK/base.info" "$last")
      redone=$((have - through))
      [ "$redone" -ge 0 ] || fail "trial $i: gold has $have rows, fewer than the $through the resume point covers"
      [ "$redone" -le "$max_file_rows" ] || fail "trial $i: $redone rows beyond the resume point (> one file)"
      [ "$redone" -gt "$redone_max" ] && redone_max=$redone
      "$DIP" sync-pg --source "$BASE" --table "$tbl" 2>"$LOG" || { cat "$LOG"; fail "trial $i: rerun"; }
      check_equal "$BASE" "$tbl"
      echo "ok - trial $i: killed first sync after ${d}s (resume point covers $through rows, $redone redone), rerun equals the snapshot"
      ;;
    1) # killed, then the table is rewritten before the rerun: the resume state resets
      T=$WORK/t$i.delta
      cp -r "$BASE" "$T"
      d=$(kill_at_random "$tbl" "$T")
      started=$(q "SELECT count(*) FROM dip_sync_runs WHERE output_postgres_table = '$tbl' AND NOT sync_finished")
      $MT rewrite "$T"
      "$DIP" sync-pg --source "$T" --table "$tbl" 2>"$LOG" || { cat "$LOG"; fail "trial $i: rerun"; }
      if [ "$started" != 0 ]; then
        grep -q "resume state reset" "$LOG" || { cat "$LOG"; fail "trial $i: no reset log line"; }
      fi
      check_equal "$T" "$tbl"
      rm -rf "$T"
      echo "ok - trial $i: killed after ${d}s, table rewritten, rerun reset the resume state ($started unfinished run) and equals the snapshot"
      ;;
    2) # incremental sync killed
      T=$WORK/t$i.delta
      cp -r "$BASE" "$T"
      "$DIP" sync-pg --source "$T" --table "$tbl" 2>"$LOG" || { cat "$LOG"; fail "trial $i: first sync"; }
      $MT update "$T" --update 6000 --insert 4000
      d=$(kill_at_random "$tbl" "$T")
      "$DIP" sync-pg --source "$T" --table "$tbl" 2>"$LOG" || { cat "$LOG"; fail "trial $i: rerun"; }
      check_equal "$T" "$tbl"
      rm -rf "$T"
      echo "ok - trial $i: killed incremental sync after ${d}s, rerun equals the snapshot"
      ;;
  esac
done
echo "ok - $TRIALS SIGKILL trials; most work redone after a kill: $redone_max rows (one file: $max_file_rows)"

# PostgreSQL restarted during a sync
export POSTGRES_CLIENT_BATCH_SIZE=200
"$DIP" sync-pg --source "$BASE" --table restart_gold 2>"$LOG" &
pid=$!
BG_PIDS+=("$pid")
for _ in $(seq 1 100); do # wait until loading has begun
  n=$(q "SELECT count(*) FROM restart_gold" 2>/dev/null || echo 0)
  [ "$n" -gt 0 ] && break
  sleep 0.05
done
"$SRC/scripts/pg-cluster.sh" restart "$DIP_PG_DIR"
wait "$pid" || { cat "$LOG"; fail "sync did not survive a PostgreSQL restart"; }
grep -q "retry" "$LOG" || { cat "$LOG"; fail "no retry after the restart (restart too late?)"; }
check_equal "$BASE" restart_gold
ok "PostgreSQL restarted mid-sync: dip reconnected ($(grep -c retry "$LOG") retry lines) and the result equals the snapshot"
# SIGTERM: dip stops after the batch in flight, records the run as unfinished, exits 130;
# the next run resumes it
"$DIP" sync-pg --source "$BASE" --table term_gold 2>"$LOG" &
pid=$!
BG_PIDS+=("$pid")
for _ in $(seq 1 100); do
  n=$(q "SELECT count(*) FROM term_gold" 2>/dev/null || echo 0)
  [ "$n" -gt 0 ] && break
  sleep 0.05
done
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
expect_eq "$rc" "130" "exit code after SIGTERM"
expect_eq "$(last_run term_gold | cut -d' ' -f6)" "f" "run after SIGTERM"
term_error=$(q "SELECT error FROM dip_sync_runs WHERE output_postgres_table = 'term_gold'")
echo "$term_error" | grep -q "interrupted" || fail "SIGTERM not recorded as the run's error"
"$DIP" sync-pg --source "$BASE" --table term_gold 2>"$LOG" || { cat "$LOG"; fail "rerun after SIGTERM"; }
grep -q "resuming unfinished run" "$LOG" || { cat "$LOG"; fail "rerun after SIGTERM did not resume"; }
check_equal "$BASE" term_gold
ok "SIGTERM: exit 130, run recorded unfinished ('$term_error'), rerun resumed and equals the snapshot"
echo "all crash checks passed"
