#!/usr/bin/env bash
# test_sync_pg.sh DIP SRC: dip sync-pg end to end against a private PostgreSQL and Delta
# tables written by an independent writer (make_table.mjs): full sync equals the snapshot
# row for row, an unchanged table is skipped, an update commit writes exactly the changed
# rows, deletion vectors and removed files are honoured (and propagated on request),
# compaction writes nothing, --plan/--task, custom models, bad input.
DIP=$1
SRC=$2
. "$SRC/tests/sync_pg/lib.sh"
T=$WORK/records.delta
LOG=$WORK/log.txt

$MT create "$T" --rows 3000 --files 8 --dv

# --- full sync, row for row
"$DIP" sync-pg --source "$T" --table integrated_records 2>"$LOG" || { cat "$LOG"; fail "first sync"; }
check_equal "$T"
expect_eq "$(last_run)" "full 3000 0 0 0 t" "first sync counts"
ok "full sync equals the snapshot (3000 rows, hk and hdiff as documented)"

# --- unchanged table: skipped, no task, no run
runs=$(q "SELECT count(*) FROM dip_sync_runs")
"$DIP" sync-pg --source "$T" 2>"$LOG" || fail "second sync"
grep -q "up to date" "$LOG" || fail "no up-to-date log line"
expect_eq "$(q "SELECT count(*) FROM dip_sync_runs")" "$runs" "runs after skip"
expect_eq "$("$DIP" sync-pg --plan --source "$T" 2>/dev/null)" "[]" "plan of an up-to-date table"
ok "unchanged table skipped, --plan prints []"

# --- updates + inserts: exactly the changed rows written
$MT update "$T" --update 120 --insert 60
plan=$("$DIP" sync-pg --plan --source "$T" 2>/dev/null)
echo "$plan" | grep -q '"input_delta_table"' || fail "plan has no task: $plan"
echo "$plan" | grep -q '"output_postgres_table":"integrated_records"' || fail "plan output: $plan"
before=$(q "SELECT max(sync_ldts) FROM integrated_records")
"$DIP" sync-pg --task "$plan" 2>"$LOG" || { cat "$LOG"; fail "incremental sync"; }
check_equal "$T"
expect_eq "$(last_run | cut -d' ' -f1-3)" "incremental 60 120" "incremental counts"
expect_eq "$(q "SELECT count(*) FROM integrated_records WHERE sync_ldts > '$before'")" "180" \
  "rows written by the update sync"
ok "update commit: --task ran the planned task, exactly 120 updated + 60 inserted rows written"

# --- deletion vector without --propagate-deletes: rows stay in gold (the seed only upserts)
$MT dv-delete "$T" --rows 25
"$DIP" sync-pg --source "$T" 2>"$LOG" || { cat "$LOG"; fail "dv sync"; }
expect_eq "$(q "SELECT count(*) FROM integrated_records")" "3060" "rows kept without propagation"
# ... and a full sync with --propagate-deletes removes them
"$DIP" sync-pg --source "$T" --force --full --propagate-deletes 2>"$LOG" || { cat "$LOG"; fail "full delete sync"; }
check_equal "$T"
expect_eq "$(last_run)" "full 0 0 3035 25 t" "full propagate counts"
ok "deletion vector honoured; full sync with --propagate-deletes removed the 25 rows"

# --- incremental deletes: a DV and a removed file
$MT dv-delete "$T" --rows 10
"$DIP" sync-pg --source "$T" --propagate-deletes 2>"$LOG" || { cat "$LOG"; fail "incremental dv delete"; }
check_equal "$T"
expect_eq "$(last_run | cut -d' ' -f1,5)" "incremental 10" "incremental DV deletes"
$MT remove-file "$T"
"$DIP" sync-pg --source "$T" --propagate-deletes 2>"$LOG" || { cat "$LOG"; fail "removed file sync"; }
check_equal "$T"
ok "incremental --propagate-deletes: DV rows and a removed file's rows left gold"

# --- a merge-on-read update (deletion vectors + a new file): only the new rows are read
$MT update "$T" --update 30 --insert 0 --dv-update
"$DIP" sync-pg --source "$T" 2>"$LOG" || { cat "$LOG"; fail "dv update sync"; }
check_equal "$T"
expect_eq "$(last_run | cut -d' ' -f1-4)" "incremental 0 30 0" "DV update counts"
expect_eq "$(q "SELECT n_input_records FROM dip_sync_runs ORDER BY run_id DESC LIMIT 1")" "30" \
  "rows read by a DV update sync"
grep -q "only gained deletion-vector rows" "$LOG" || { cat "$LOG"; fail "DV-only files not skipped"; }
ok "DV-based update: files that only gained DV rows not re-read, 30 rows read and updated"

# --- compaction (same rows, new files): nothing written
$MT rewrite "$T"
"$DIP" sync-pg --source "$T" 2>"$LOG" || { cat "$LOG"; fail "sync after rewrite"; }
check_equal "$T"
expect_eq "$(last_run | cut -d' ' -f2-3)" "0 0" "writes after compaction"
ok "compaction: every file re-read, nothing written"

# --- forced full re-sync of an unchanged table writes nothing (pre-filter)
xid_before=$(q "SELECT txid_current()")
"$DIP" sync-pg --source "$T" --force --full 2>"$LOG" || fail "forced resync"
expect_eq "$(last_run | cut -d' ' -f1-3)" "full 0 0" "forced resync counts"
expect_eq "$(q "SELECT count(*) FROM integrated_records WHERE xmin::text::bigint > $xid_before")" "0" \
  "rows rewritten by the forced resync"
ok "forced full re-sync of the unchanged table wrote no row"

# --- tiny read and load batches: the same rows, in windows of 7 rows and loads of 5
DELTA_CLIENT_BATCH_SIZE=7 POSTGRES_CLIENT_BATCH_SIZE=5 \
  "$DIP" sync-pg --source "$T" --table records_small_batches 2>"$LOG" || { cat "$LOG"; fail "small batches"; }
check_equal "$T" records_small_batches
expect_eq "$(last_run records_small_batches)" "full $(q "SELECT count(*) FROM integrated_records") 0 0 0 t" \
  "small-batch counts"
expect_eq "$(q "SELECT output_db_backend_config->>'batch_size' FROM dip_sync_runs
                WHERE output_postgres_table = 'records_small_batches'")" "5" "recorded batch size"
ok "DELTA_CLIENT_BATCH_SIZE=7, POSTGRES_CLIENT_BATCH_SIZE=5: same rows as the default batches"

# --- decoding on the decoder thread alone (the default decodes the next window on 2 threads)
DIP_DECODE_THREADS=1 DELTA_CLIENT_BATCH_SIZE=7 \
  "$DIP" sync-pg --source "$T" --table records_one_decoder 2>"$LOG" || { cat "$LOG"; fail "one decoder"; }
check_equal "$T" records_one_decoder
rc=0
DIP_DECODE_THREADS=0 "$DIP" sync-pg --source "$T" --table records_one_decoder 2>"$LOG" || rc=$?
expect_eq "$rc" "2" "DIP_DECODE_THREADS=0 exit code"
grep -q "DIP_DECODE_THREADS=0: expected 1..64" "$LOG" || { cat "$LOG"; fail "DIP_DECODE_THREADS=0 message"; }
ok "DIP_DECODE_THREADS=1: same rows; DIP_DECODE_THREADS=0 refused (exit 2)"

# --- JSON logs
"$DIP" --log-format json sync-pg --source "$T" --force --full 2>"$LOG" || fail "json log run"
grep '"sync-pg done' "$LOG" >/dev/null || grep -q '"msg":"sync-pg done' "$LOG" ||
  { cat "$LOG"; fail "no JSON summary"; }
python3 -c "import json,sys; [json.loads(l) for l in open('$LOG') if l.strip()]" ||
  fail "log lines are not JSON"
ok "--log-format json: every line is JSON"

# --- a custom model: another gold table, hk from a silver column, created from the model
cat >"$WORK/by_id.model" <<'EOF'
table records_by_id
hk column record_id
column rid = record_id
column amount
column attributes
column updated_at
EOF
"$DIP" sync-pg --source "$T" --model "$WORK/by_id.model" 2>"$LOG" || { cat "$LOG"; fail "custom model sync"; }
expect_eq "$(q "SELECT count(*) FROM records_by_id")" "$(q "SELECT count(*) FROM integrated_records")" \
  "custom model row count"
expect_eq "$(q "SELECT count(*) FROM records_by_id r JOIN integrated_records g ON g.record_id = r.hk
                WHERE r.rid = g.record_id AND r.amount = g.amount AND r.attributes IS NOT DISTINCT FROM g.attributes
                  AND r.updated_at = g.updated_at")" "$(q "SELECT count(*) FROM integrated_records")" \
  "custom model values"
expect_eq "$(q "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
                WHERE attrelid = 'records_by_id'::regclass AND attname = 'amount'")" "numeric(18,2)" \
  "type of a model-created column"
ok "custom model file: table created from the model, hk from a silver column"

# --- one run per gold table at a time: a second dip is refused while the first holds the lock
LK=$WORK/lock.delta
$MT create "$LK" --rows 40000 --files 8
"$DIP" sync-pg --source "$LK" --table lock_gold 2>"$WORK/lock1.log" &
p1=$!
BG_PIDS+=("$p1")
caught=0
for _ in $(seq 1 2000); do # bounded: ~20 s at most
  # the run row exists only once the run lock is held
  if [ "$(q "SELECT count(*) FROM dip_sync_runs WHERE output_postgres_table = 'lock_gold'")" != 0 ]; then
    kill -STOP "$p1" && caught=1
    break
  fi
  kill -0 "$p1" 2>/dev/null || break
  sleep 0.01
done
[ "$caught" = 1 ] || fail "the first run ended before the second could start"
set +e
POSTGRES_CONNECTION_TIMEOUT=2 timeout 60 "$DIP" sync-pg --source "$LK" --table lock_gold 2>"$LOG"; rc=$?
set -e
kill -CONT "$p1"
expect_eq "$rc" "4" "exit code of a second run into the same gold table"
grep -q "another dip sync-pg is syncing into lock_gold (run lock held by PostgreSQL backend pid [0-9]*" "$LOG" ||
  { cat "$LOG"; fail "second-run message"; }
wait "$p1" || { cat "$WORK/lock1.log"; fail "first run after the refused second one"; }
check_equal "$LK" lock_gold
expect_eq "$(q "SELECT count(*) || ' ' || bool_and(sync_finished) FROM dip_sync_runs
                WHERE output_postgres_table = 'lock_gold'")" "1 true" "runs of lock_gold"
"$DIP" sync-pg --source "$LK" --table lock_gold 2>"$LOG" || { cat "$LOG"; fail "run after the lock was released"; }
ok "a second run into the same gold table exits 4 naming the holder; the first finishes; the lock ends with it"

# --- bad input
set +e
"$DIP" sync-pg --source "$WORK/no-such-table" 2>"$LOG"; rc=$?
set -e
expect_eq "$rc" "5" "exit code of a missing table"
grep -qi "no-such-table" "$LOG" || { cat "$LOG"; fail "missing table message"; }
ok "missing Delta table: exit 5, names the table"

q "CREATE TABLE bad_gold (hk text PRIMARY KEY, hdiff text, sync_ldts timestamptz, record_id text,
   source_system text, entity_type text, business_key text, name text, attributes jsonb,
   amount double precision, currency text, quantity integer, is_active boolean, valid_from date,
   updated_at timestamptz, ingest_date date)"
set +e
"$DIP" sync-pg --source "$T" --table bad_gold 2>"$LOG"; rc=$?
set -e
expect_eq "$rc" "3" "exit code of a mismatching gold table"
grep -q 'column "amount" is double precision, model .* needs numeric(18,2)' "$LOG" ||
  { cat "$LOG"; fail "mismatch message"; }
expect_eq "$(q "SELECT count(*) FROM bad_gold")" "0" "rows written into a mismatching table"
expect_eq "$(last_run bad_gold | cut -d' ' -f6)" "f" "run of a mismatching table marked unfinished"
ok "gold table not matching the model: exit 3, nothing written, run unfinished"

cat >"$WORK/unmappable.model" <<'EOF'
table unmappable_gold
hk column record_id
column record_id
column nope = no_such_column
EOF
set +e
"$DIP" sync-pg --source "$T" --model "$WORK/unmappable.model" 2>"$LOG"; rc=$?
set -e
expect_eq "$rc" "3" "exit code of a model naming a missing column"
grep -q "no_such_column" "$LOG" || fail "message names the column"
expect_eq "$(q "SELECT to_regclass('unmappable_gold') IS NULL")" "t" "table created for a bad model"
ok "model naming a column the table lacks: exit 3 before anything is created"

# a silver column of a type dip cannot map (Delta "void"), mapped by `columns *`
V=$WORK/void.delta
$MT create "$V" --rows 100 --files 4 --void-column
printf 'table void_gold\nhk column record_id\ncolumns *\n' >"$WORK/all.model"
set +e
"$DIP" sync-pg --source "$V" --model "$WORK/all.model" 2>"$LOG"; rc=$?
set -e
expect_eq "$rc" "3" "exit code of an unmappable type"
grep -q "silver column 'legacy_flag' has type .* that dip cannot map" "$LOG" || { cat "$LOG"; fail "unmappable message"; }
expect_eq "$(q "SELECT to_regclass('void_gold') IS NULL")" "t" "table created for an unmappable type"
ok "unmappable silver type: exit 3 before any write ($(grep -o "silver column 'legacy_flag'[^:]*" "$LOG"))"

# --- Prometheus metrics of a run (textfile collector format), then of a failed run
$MT update "$T" --update 0 --insert 40
M=$WORK/metrics/dip_sync_pg.prom
mkdir -p "$WORK/metrics"
"$DIP" sync-pg --source "$T" --metrics-file "$M" 2>"$LOG" || { cat "$LOG"; fail "metrics run"; }
L="{input=\"$T\",output=\"integrated_records\"}"
metric() { awk -v k="$1" 'index($0, k " ") == 1 { print $NF }' "$M"; }
python3 - "$M" <<'PY' || fail "metrics file is not Prometheus text format"
import re, sys
name = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
lval = r'"(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(rf'^({name})(\{{{name}={lval}(,{name}={lval})*\}})? (-?[0-9.e+]+|NaN|[+-]Inf)$')
typed = set()
for line in open(sys.argv[1]):
    line = line.rstrip('\n')
    if line.startswith('# TYPE '):
        typed.add(line.split()[2]); continue
    if line.startswith('# HELP '): continue
    m = sample.match(line)
    assert m, f'bad line: {line!r}'
    assert m.group(1) in typed, f'sample before its TYPE: {line!r}'
PY
expect_eq "$(metric "dip_sync_pg_last_run_success$L")" "1" "metric success"
expect_eq "$(metric "dip_sync_pg_last_run_exit_code$L")" "0" "metric exit code"
expect_eq "$(metric "dip_sync_pg_last_run_rows{input=\"$T\",output=\"integrated_records\",kind=\"inserted\"}")" \
  "40" "metric inserted rows"
expect_eq "$(metric "dip_sync_pg_last_run_info{input=\"$T\",output=\"integrated_records\",mode=\"incremental\"}")" \
  "1" "metric mode"
expect_eq "$(metric "dip_sync_pg_table_version$L")" "$(q "SELECT last_synced_item->>'version' FROM dip_sync_runs ORDER BY run_id DESC LIMIT 1")" \
  "metric table version"
last_ok=$(metric "dip_sync_pg_last_success_timestamp_seconds$L")
[ -n "$last_ok" ] && [ "$last_ok" != "NaN" ] || fail "no last-success time: $last_ok"
ok "--metrics-file: Prometheus text format, success, counts, mode and version of the run"

# unreadable data file: the sync fails cleanly, the files before it stay, the run is unfinished
rows_before=$(q "SELECT count(*) FROM integrated_records")
$MT corrupt "$T"
set +e
DIP_METRICS_FILE=$M "$DIP" sync-pg --source "$T" --force --full 2>"$LOG"; rc=$?
set -e
expect_eq "$(metric "dip_sync_pg_last_run_success$L")" "0" "metric success of a failed run"
expect_eq "$(metric "dip_sync_pg_last_run_exit_code$L")" "3" "metric exit code of a failed run"
expect_eq "$(metric "dip_sync_pg_last_success_timestamp_seconds$L")" "$last_ok" \
  "last success time kept across a failed run"
ls "$WORK/metrics" | grep -q tmp && fail "temporary metrics file left behind"
expect_eq "$rc" "3" "exit code of an unreadable data file"
grep -q "parquet" "$LOG" || { cat "$LOG"; fail "message names the file"; }
expect_eq "$(last_run | cut -d' ' -f6)" "f" "run with an unreadable file marked unfinished"
q "SELECT count(*) FROM integrated_records" >/dev/null
ok "unreadable data file: exit 3, run unfinished ($(grep -o 'source_system=[^:]*parquet' "$LOG" | head -1))"

echo "all sync-pg integration checks passed"
