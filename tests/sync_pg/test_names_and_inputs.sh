#!/usr/bin/env bash
# test_names_and_inputs.sh DIP SRC: issue 12, bad inputs that crashed sync-pg or lost rows.
# Gold table names under one rule (quoted, case kept: mixed case, non-ASCII, 63 bytes,
# SCHEMA.TABLE; over 63 bytes refused; derived index names distinct), invalid names refused
# with exit 2 before anything is created, an empty or cut commit file refused with exit 3 and
# never recorded as synced, a corrupt row group in the middle of a file reported as a partly
# loaded file in dip_sync_runs, and errors that name the operation instead of a cut slice of
# SQL, and a peak RSS that is dip's own. Each case runs in a subshell; the last line counts
# passed and failed cases.
DIP=$1
SRC=$2
. "$SRC/tests/sync_pg/lib.sh"
set +e
T=$WORK/records.delta
LOG=$WORK/log.txt
$MT create "$T" --rows 400 --files 4 || fail "make_table create"
ROWS=400
passed=0
failed=0
run_case() {
  local name=$1
  shift
  if (set -euo pipefail; "$@"); then
    passed=$((passed + 1))
    echo "ok - $name"
  else
    failed=$((failed + 1))
    echo "not ok - $name" >&2
  fi
}

# dip exit code of "$@" (stderr to $LOG)
rc_of() {
  set +e
  "$@" 2>"$LOG"
  local rc=$?
  set -e
  echo "$rc"
}

# the number of relations in a fresh database (nothing may be created by a refused run)
fresh_db() {
  local db=$1
  psql -XAtq -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
}
relations_in() { psql -XAtq -d "$1" -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"; }

# --- 1. one rule for names: quoted, case kept, the same in every statement and lookup
case_mixed_case() {
  "$DIP" sync-pg --source "$T" --table Gold 2>"$LOG" || { cat "$LOG"; fail "--table Gold"; }
  expect_eq "$(q 'SELECT count(*) FROM "Gold"')" "$ROWS" "rows in \"Gold\""
  expect_eq "$(q "SELECT to_regclass('gold') IS NULL")" "t" "no lower-case gold table"
  # a second run finds the same table (the lookup keeps the case too): up to date
  "$DIP" sync-pg --source "$T" --table Gold 2>"$LOG" || { cat "$LOG"; fail "second --table Gold"; }
  grep -q "up to date" "$LOG" || { cat "$LOG"; fail "second run not up to date"; }
  # GOLD is another table than Gold (and than gold): created and filled, not mixed up
  "$DIP" sync-pg --source "$T" --table GOLD 2>"$LOG" || { cat "$LOG"; fail "--table GOLD"; }
  expect_eq "$(q 'SELECT count(*) FROM "GOLD"')" "$ROWS" "rows in \"GOLD\""
  expect_eq "$(last_run Gold | cut -d' ' -f1,6)" "full t" "run of Gold"
  # a model naming a mixed-case table
  printf 'table Mixed\nhk column record_id\ncolumn amount\n' >"$WORK/mixed.model"
  "$DIP" sync-pg --source "$T" --model "$WORK/mixed.model" 2>"$LOG" || { cat "$LOG"; fail "model table Mixed"; }
  expect_eq "$(q 'SELECT count(*) FROM "Mixed"')" "$ROWS" "rows in \"Mixed\""
  expect_eq "$(q "SELECT count(*) FROM pg_indexes WHERE tablename = 'Mixed' AND indexdef LIKE '%(sync_ldts)%'")" \
    "1" "sync_ldts index of Mixed"
}
run_case "mixed-case table names (--table Gold, GOLD, model 'table Mixed'): created, found again, kept apart" case_mixed_case

case_non_ascii() {
  local name='Größe_表_données'
  "$DIP" sync-pg --source "$T" --table "$name" 2>"$LOG" || { cat "$LOG"; fail "non-ASCII name"; }
  expect_eq "$(q "SELECT count(*) FROM \"$name\"")" "$ROWS" "rows in $name"
  "$DIP" sync-pg --source "$T" --table "$name" 2>"$LOG" || { cat "$LOG"; fail "second run"; }
  grep -q "up to date" "$LOG" || { cat "$LOG"; fail "second run not up to date"; }
  # bytes that are not UTF-8: refused before anything is created
  expect_eq "$(rc_of "$DIP" sync-pg --source "$T" --table "$(printf 'bad\377name')")" "2" "exit of a non-UTF-8 name"
  grep -q "not valid UTF-8" "$LOG" || { cat "$LOG"; fail "non-UTF-8 message"; }
}
run_case "non-ASCII table name synced and found again; a non-UTF-8 name is exit 2" case_non_ascii

case_schema_qualified() {
  q 'CREATE SCHEMA "Sales"'
  "$DIP" sync-pg --source "$T" --table Sales.Orders 2>"$LOG" || { cat "$LOG"; fail "Sales.Orders"; }
  expect_eq "$(q 'SELECT count(*) FROM "Sales"."Orders"')" "$ROWS" "rows in \"Sales\".\"Orders\""
  expect_eq "$(q "SELECT count(*) FROM pg_indexes WHERE schemaname = 'Sales' AND tablename = 'Orders'
                  AND indexdef LIKE '%(sync_ldts)%'")" "1" "sync_ldts index in schema Sales"
  "$DIP" sync-pg --source "$T" --table Sales.Orders 2>"$LOG" || { cat "$LOG"; fail "second run"; }
  grep -q "up to date" "$LOG" || { cat "$LOG"; fail "second run not up to date"; }
  # a schema that does not exist: exit 5 naming it, before any DDL (fresh database)
  fresh_db nosch
  expect_eq "$(PGDATABASE=nosch rc_of "$DIP" sync-pg --source "$T" --table Nope.t)" "5" "exit of a missing schema"
  grep -q 'schema "Nope" does not exist' "$LOG" || { cat "$LOG"; fail "missing schema message"; }
  expect_eq "$(relations_in nosch)" "0" "relations created for a missing schema"
  # two dots: not a name dip can map
  expect_eq "$(rc_of "$DIP" sync-pg --source "$T" --table a.b.c)" "2" "exit of a.b.c"
}
run_case "SCHEMA.TABLE: quoted per part, index in that schema; missing schema exit 5 with nothing created; a.b.c exit 2" case_schema_qualified

# --- 5. long names: 63 bytes work with distinct derived names; longer ones are refused
case_long_names() {
  local n63a n63b n70
  n63a=$(printf 'l%.0s' $(seq 1 55))_alpha_1  # 63 bytes
  n63b=$(printf 'l%.0s' $(seq 1 55))_alpha_2  # 63 bytes, the same first 62
  n70=$(printf 'x%.0s' $(seq 1 70))
  expect_eq "${#n63a}" "63" "test name length"
  for n in "$n63a" "$n63b"; do
    "$DIP" sync-pg --source "$T" --table "$n" 2>"$LOG" || { cat "$LOG"; fail "63-byte name"; }
    expect_eq "$(q "SELECT count(*) FROM \"$n\"")" "$ROWS" "rows in the 63-byte table"
    # the sync_ldts index exists (its name differs from the table's, within 63 bytes)
    expect_eq "$(q "SELECT count(*) FROM pg_indexes WHERE tablename = '$n' AND indexdef LIKE '%(sync_ldts)%'
                    AND indexname <> tablename AND length(indexname) <= 63")" "1" "sync_ldts index of $n"
  done
  # a 70-byte name: refused with exit 2 before anything is created (fresh database)
  fresh_db longn
  expect_eq "$(PGDATABASE=longn rc_of "$DIP" sync-pg --source "$T" --table "$n70")" "2" "exit of a 70-byte name"
  grep -q "70 bytes; PostgreSQL keeps only 63 bytes" "$LOG" || { cat "$LOG"; fail "long name message"; }
  expect_eq "$(relations_in longn)" "0" "relations created for a 70-byte name"
}
run_case "63-byte names: table and sync_ldts index both made, distinct; 70 bytes: exit 2, nothing created" case_long_names

# --- 3 and 4. invalid names are usage errors before anything is created
case_invalid_names() {
  fresh_db inval
  expect_eq "$(PGDATABASE=inval rc_of "$DIP" sync-pg --source "$T" --table '')" "2" "exit of --table ''"
  grep -q "the gold table name is empty" "$LOG" || { cat "$LOG"; fail "empty name message"; }
  expect_eq "$(PGDATABASE=inval rc_of "$DIP" sync-pg --plan --source "$T" --table '')" "2" "exit of --plan --table ''"
  expect_eq "$(PGDATABASE=inval rc_of "$DIP" sync-pg --source "$T" --table 'a.')" "2" "exit of --table a."
  expect_eq "$(PGDATABASE=inval rc_of "$DIP" sync-pg --task "{\"input_delta_table\":\"$T\",\"output_postgres_table\":\"\"}")" \
    "2" "exit of a task with an empty output table"
  printf 'table %s\nhk column record_id\ncolumn amount\n' "$(printf 'm%.0s' $(seq 1 64))" >"$WORK/long.model"
  expect_eq "$(PGDATABASE=inval rc_of "$DIP" sync-pg --source "$T" --model "$WORK/long.model")" "2" "exit of a model with a 64-byte table"
  grep -q "long.model" "$LOG" || { cat "$LOG"; fail "model named in the message"; }
  expect_eq "$(relations_in inval)" "0" "relations created by refused runs (integrated_records, dip_sync_runs)"
}
run_case "--table '', 'a.', an empty task output, a model's 64-byte table: exit 2, nothing created" case_invalid_names

# --- 2. an empty commit file is not a commit: exit 3 naming it, never recorded as synced
case_empty_commit() {
  local E=$WORK/empty.delta next f
  $MT create "$E" --rows 200 --files 4
  "$DIP" sync-pg --source "$E" --table empty_commit 2>"$LOG" || { cat "$LOG"; fail "first sync"; }
  next=$(( $($MT info "$E" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])') + 1 ))
  f=$E/_delta_log/$(printf %020d "$next").json
  : >"$f"   # a writer created the file and has not written it yet
  expect_eq "$(rc_of "$DIP" sync-pg --source "$E" --table empty_commit)" "3" "exit of an empty commit"
  grep -q "$(printf %020d "$next")\.json: empty commit file" "$LOG" || { cat "$LOG"; fail "message names the file"; }
  expect_eq "$(rc_of "$DIP" sync-pg --plan --source "$E" --table empty_commit)" "3" "--plan exit of an empty commit"
  expect_eq "$(q "SELECT count(*) FROM dip_sync_runs WHERE output_postgres_table = 'empty_commit'
                  AND (last_synced_item->>'version')::bigint = $next")" "0" "runs recorded at the empty version"
  # the real content arrives: the rows are synced
  rm "$f"
  $MT update "$E" --update 20 --insert 30
  "$DIP" sync-pg --source "$E" --table empty_commit 2>"$LOG" || { cat "$LOG"; fail "sync after the content arrived"; }
  grep -q "up to date" "$LOG" && { cat "$LOG"; fail "called up to date with new rows"; }
  check_equal "$E" empty_commit
  # a commit whose last line is cut: exit 3 naming the file, then fine once whole
  $MT update "$E" --update 5 --insert 5
  f=$E/_delta_log/$(printf %020d "$((next + 1))").json
  cp "$f" "$WORK/whole.json"
  head -c $(( $(wc -c <"$f") - 40 )) "$WORK/whole.json" >"$f"
  expect_eq "$(rc_of "$DIP" sync-pg --source "$E" --table empty_commit)" "3" "exit of a cut commit"
  grep -q "$(printf %020d "$((next + 1))")\.json: line [0-9]*: malformed JSON" "$LOG" || { cat "$LOG"; fail "cut commit message"; }
  cp "$WORK/whole.json" "$f"
  "$DIP" sync-pg --source "$E" --table empty_commit 2>"$LOG" || { cat "$LOG"; fail "sync of the whole commit"; }
  check_equal "$E" empty_commit
}
run_case "empty commit file: exit 3 naming it, not recorded; its real content then synced; a cut last line: exit 3" case_empty_commit

# --- 6. a corrupt row group in the middle of a file: the committed part is reported
case_partial_file() {
  local C=$WORK/corrupt.delta first
  $MT create "$C" --rows 40000 --files 4 --row-group-size 2048
  $MT corrupt-middle "$C"
  first=$($MT info "$C" | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)["paths"])[0])')
  # every batch commits (SYNC_CHECKPOINT_INTERVAL=0), so the first row groups of the file do
  set +e
  POSTGRES_CLIENT_BATCH_SIZE=1000 SYNC_CHECKPOINT_INTERVAL=0 \
    "$DIP" sync-pg --source "$C" --table partial_gold 2>"$LOG"
  local rc=$?
  set -e
  expect_eq "$rc" "3" "exit of a corrupt middle row group"
  local committed
  committed=$(q "SELECT count(*) FROM partial_gold")
  [ "$committed" -gt 0 ] || fail "no row of the file before the corrupt row group was committed"
  expect_eq "$(q "SELECT coalesce(last_synced_item->>'partial_file', '') || ' ' ||
                  coalesce(last_synced_item->>'partial_rows', '') || ' ' ||
                  coalesce(last_synced_item->>'file', '-') || ' ' || sync_finished
                  FROM dip_sync_runs WHERE output_postgres_table = 'partial_gold'")" \
    "$first $committed - false" "run row of a partly loaded file"
  grep -q "was partly loaded: $committed of its rows are committed" "$LOG" || { cat "$LOG"; fail "partial-load warning"; }
}
run_case "corrupt row group mid-file: exit 3, dip_sync_runs names the partly loaded file and its committed rows" case_partial_file

# --- 8. errors name the operation in words, not a cut slice of SQL
case_error_words() {
  "$DIP" sync-pg --source "$T" --table words_gold 2>"$LOG" || { cat "$LOG"; fail "owner's sync"; }
  q "CREATE ROLE reader LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO reader"
  set +e
  PGUSER=reader "$DIP" sync-pg --source "$T" --table words_gold --force 2>"$LOG"
  local rc=$?
  set -e
  [ "$rc" = 3 ] || cat "$LOG" >&2
  expect_eq "$rc" "3" "exit of a SELECT-only user"
  grep -q "a new run row in dip_sync_runs (run_start.sql): ERROR:  permission denied for table dip_sync_runs" "$LOG" ||
    { cat "$LOG"; fail "message does not name the operation"; }
  grep -q "password\. INSE\|INSERT INTO" "$LOG" && { cat "$LOG"; fail "message holds a slice of SQL"; }
  true
}
run_case "a SELECT-only user's error names the operation ('a new run row in dip_sync_runs'), no SQL slice" case_error_words

# --- 7. peak RSS is dip's own: started by a process that touched 300 MiB (exec keeps
# getrusage's ru_maxrss), the summary line and the metric still show dip's few MiB
case_peak_rss() {
  local M=$WORK/rss.prom
  /usr/bin/python3 - "$DIP" "$T" "$M" "$LOG" <<'PY'
import os, sys
dip, table, metrics, log = sys.argv[1:]
big = bytearray(300 << 20)
for i in range(0, len(big), 4096):
    big[i] = 1
fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.dup2(fd, 2)
os.execv(dip, [dip, "sync-pg", "--source", table, "--table", "rss_gold", "--metrics-file", metrics])
PY
  local peak
  peak=$(awk '/^dip_sync_pg_last_run_peak_rss_bytes/ { print $NF }' "$M")
  [ -n "$peak" ] || { cat "$M"; fail "no peak RSS metric"; }
  python3 -c "import sys; p = float('$peak'); sys.exit(0 if 0 < p < 200 * 2**20 else 1)" ||
    fail "peak RSS metric $peak bytes includes the parent's 300 MiB"
  local mib
  mib=$(grep -o 'peak_rss_mib=[0-9]*' "$LOG" | cut -d= -f2)
  [ -n "$mib" ] && [ "$mib" -lt 200 ] || { cat "$LOG"; fail "summary peak RSS $mib MiB"; }
}
run_case "peak RSS of a dip started by a 300 MiB process: metric and summary show dip's own" case_peak_rss

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
