#!/usr/bin/env bash
# bench_sync_pg.sh: `make bench-sync-pg`. One run, ratios against baselines measured in the
# same run, on the same private PostgreSQL with its default durable settings (fsync on):
#   (a) initial sync rows/s next to binary COPY of the same rows into an identical empty
#       table (target >= 0.9)
#   (b) the seed's method: multi-row INSERT .. ON CONFLICT in batches of 10,000 (ratio)
#   (c) forced full re-sync of the unchanged table: no row written (target >= 2x initial)
#   (d) incremental sync after a 1% change against a full sync of a same-sized change
#       (target >= 20x), and against the initial full sync
#   (e) PostgreSQL's floor for writing that change (the same rows rewritten by one
#       INSERT .. ON CONFLICT from a table inside the server), which both sides of (d) pay:
#       full/floor bounds what (d) can reach
#   (f) the initial sync with 2 loader workers (--workers 2) and as 2 shard processes
#       (--plan --shards 2, both tasks at once), each next to (a)'s COPY (issue 15)
#   peak RSS of every dip run (target < 512 MiB)
# BENCH_ROWS (default 5000000) and BENCH_FILES (40) size the table; BENCH_SEED_ROWS limits
# (b) to a prefix of the rows (default: all). Needs node_modules (npm ci) and build/dip.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
DIP=${DIP:-$SRC/build/dip}
ROWS=${BENCH_ROWS:-5000000}
FILES=${BENCH_FILES:-40}
SEED_ROWS=${BENCH_SEED_ROWS:-$ROWS}
MT="node $SRC/tests/sync_pg/make_table.mjs"
[ -x "$DIP" ] || { echo "bench-sync-pg: $DIP not built (make build)" >&2; exit 2; }
[ -d "$SRC/node_modules/@duckdb" ] || { echo "bench-sync-pg: run npm ci first" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dip-bench-syncpg.XXXXXXXX")
eval "$("$SRC/scripts/pg-cluster.sh" start)" # durable defaults: fsync on
cleanup() { "$SRC/scripts/pg-cluster.sh" stop "$DIP_PG_DIR" || true; rm -rf "$WORK"; }
trap cleanup EXIT
export PGTZ=UTC
q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
T=$WORK/records.delta
PEAK_KB=0

# CPU seconds of the cluster's finished backends (reaped children of the postmaster): the
# machine is shared, so server CPU next to wall time says how much of a slowdown is load.
server_cpu() {
  local pm
  pm=$(head -1 "$DIP_PG_DIR/data/postmaster.pid")
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f", ($14 + $15 + $16 + $17) / hz }' "/proc/$pm/stat"
}
# timed CMD...: runs CMD under /usr/bin/time; sets SECS, RSS_KB, CPU (client user+sys),
# SRV (server backend CPU) and LOAD (1-minute load average at the end)
timed() {
  q "CHECKPOINT" >/dev/null
  local s0
  s0=$(server_cpu)
  /usr/bin/time -f "%e %M %U %S" -o "$WORK/time.txt" "$@"
  read -r SECS RSS_KB u s <"$WORK/time.txt"
  CPU=$(python3 -c "print(f'{$u + $s:.1f}')")
  sleep 0.2 # let the backend exit and be reaped
  SRV=$(python3 -c "print(f'{$(server_cpu) - $s0:.1f}')")
  LOAD=$(cut -d' ' -f1 /proc/loadavg)
}
dip_timed() {
  timed "$DIP" sync-pg --source "$T" "$@" 2>>"$WORK/dip.log"
  [ "$RSS_KB" -gt "$PEAK_KB" ] && PEAK_KB=$RSS_KB
  tail -1 "$WORK/dip.log" | sed 's/^/    /'
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
rate() { python3 -c "print(f'{$1 / $2:,.0f}')"; }

echo "bench-sync-pg: $ROWS rows x 13 columns (+ hk, hdiff, sync_ldts), $FILES files, PostgreSQL 15 fsync on"
echo "  generating the Delta table (make_table.mjs, DuckDB)..."
$MT create "$T" --rows "$ROWS" --files "$FILES" --dv

REPEAT=${BENCH_REPEAT_A:-2}
echo "(a) initial sync (empty gold: COPY straight in, decode on a second thread) vs binary COPY,"
echo "    alternated $REPEAT times, best of each (the machine is shared)"
T_INIT=; T_COPY=
for r in $(seq 1 "$REPEAT"); do
  q "DROP TABLE IF EXISTS integrated_records; DROP TABLE IF EXISTS dip_sync_runs"
  dip_timed
  if [ -z "$T_INIT" ] || python3 -c "import sys; sys.exit(0 if $SECS < $T_INIT else 1)"; then
    T_INIT=$SECS
    S_INIT=$SRV
    C_INIT="client CPU ${CPU}s, server CPU ${SRV}s, load $LOAD"
  fi
  [ -f "$WORK/gold.bin" ] || psql -XAtq -c "\\copy integrated_records TO '$WORK/gold.bin' WITH (FORMAT binary)"
  q "CREATE TABLE copy_base (LIKE integrated_records INCLUDING ALL)"
  echo "    baseline: binary COPY of the same rows into an identical empty table"
  timed psql -XAtq -c "\\copy copy_base FROM '$WORK/gold.bin' WITH (FORMAT binary)"
  echo "    COPY: ${SECS}s, client CPU ${CPU}s, server CPU ${SRV}s, load $LOAD"
  if [ -z "$T_COPY" ] || python3 -c "import sys; sys.exit(0 if $SECS < $T_COPY else 1)"; then
    T_COPY=$SECS
    S_COPY=$SRV
    C_COPY="client CPU ${CPU}s, server CPU ${SRV}s, load $LOAD"
  fi
  q "DROP TABLE copy_base"
done
rm -f "$WORK/gold.bin"

echo "(b) the seed's method: multi-row INSERT .. ON CONFLICT, 10,000 rows per statement"
psql -XAtq -c "\\copy (SELECT * FROM integrated_records LIMIT $SEED_ROWS) TO '$WORK/gold.tsv' WITH (FORMAT text, HEADER)"
q "CREATE TABLE seed_base (LIKE integrated_records INCLUDING ALL)"
timed python3 "$SRC/bench/sync_pg/seed_upsert.py" "$WORK/gold.tsv" seed_base 10000 >/dev/null
T_SEED=$SECS
C_SEED="client CPU ${CPU}s, server CPU ${SRV}s, load $LOAD"
rm -f "$WORK/gold.tsv"
q "DROP TABLE seed_base"

echo "(c) forced full re-sync of the unchanged table"
wal0=$(q "SELECT pg_current_wal_lsn()")
dip_timed --force --full
T_RESYNC=$SECS
C_RESYNC="client CPU ${CPU}s, server CPU ${SRV}s, load $LOAD"
WAL_RESYNC=$(q "SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0'))")
WRITTEN_RESYNC=$(q "SELECT n_inserted + n_updated FROM dip_sync_runs ORDER BY run_id DESC LIMIT 1")

CHANGE=$((ROWS / 100))
echo "(d) 1% change ($((CHANGE / 2)) updated + $((CHANGE / 2)) inserted rows, deletion vectors): full vs incremental"
$MT update "$T" --update $((CHANGE / 2)) --insert $((CHANGE / 2)) --dv-update
dip_timed --full
T_FULL=$SECS
C_FULL="client CPU ${CPU}s, server CPU ${SRV}s, load $LOAD"
$MT update "$T" --update $((CHANGE / 2)) --insert $((CHANGE / 2)) --dv-update
wal0=$(q "SELECT pg_current_wal_lsn()")
dip_timed
T_INC=$SECS
C_INC="client CPU ${CPU}s, server CPU ${SRV}s, load $LOAD"
WAL_INC=$(q "SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0'))")
WRITTEN_INC=$(q "SELECT n_inserted + n_updated FROM dip_sync_runs ORDER BY run_id DESC LIMIT 1")

# PostgreSQL's own cost of writing that change, which a full sync pays as well as an
# incremental one: the rows the incremental sync just wrote, rewritten once more with a new
# hdiff by one INSERT .. ON CONFLICT from a table already inside the server (same rows, so
# the same heap and index pages), after a CHECKPOINT like every step. Nothing of dip runs and
# no client can write the change faster through SQL, so full / floor bounds what the
# full/incremental ratio can reach.
echo "(e) PostgreSQL floor: the incremental's rows rewritten by one INSERT .. ON CONFLICT inside the server"
UPDATE_SET=$(q "SELECT string_agg(format('%I = EXCLUDED.%I', attname, attname), ', ' ORDER BY attnum)
                FROM pg_attribute WHERE attrelid = 'integrated_records'::regclass AND attnum > 0
                  AND NOT attisdropped AND attname <> 'hk'")
q "CREATE UNLOGGED TABLE floor_stage AS SELECT * FROM integrated_records
   WHERE sync_ldts = (SELECT max(sync_ldts) FROM integrated_records)"
q "UPDATE floor_stage SET hdiff = encode(sha256(convert_to(hdiff || 'floor', 'UTF8')), 'hex'),
     sync_ldts = sync_ldts + interval '1 second', quantity = quantity + 1"
N_FLOOR=$(q "SELECT count(*) FROM floor_stage")
q "VACUUM ANALYZE floor_stage"
wal0=$(q "SELECT pg_current_wal_lsn()")
timed psql -XAtq -v ON_ERROR_STOP=1 -c "INSERT INTO integrated_records AS t SELECT * FROM floor_stage
   ON CONFLICT (hk) DO UPDATE SET $UPDATE_SET WHERE t.hdiff IS DISTINCT FROM EXCLUDED.hdiff"
T_FLOOR=$SECS
C_FLOOR="client CPU ${CPU}s, server CPU ${SRV}s, load $LOAD"
WAL_FLOOR=$(q "SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), '$wal0'))")
q "DROP TABLE floor_stage"

# (f) more than one loader (issue 15), each from an empty gold table like (a): --workers 2
# (two shards of one sharded run as threads of one process) and two shard processes
# (--plan --shards 2, then both --task at once); (a) is the one-loader figure.
fresh_gold() { q "DROP TABLE IF EXISTS integrated_records; DROP TABLE IF EXISTS dip_sync_runs"; }
echo "(f) initial sync with 2 loader workers in one process, and as 2 shard processes"
fresh_gold
dip_timed --workers 2
T_W2=$SECS
C_W2="client CPU ${CPU}s, server CPU ${SRV}s, load $LOAD"
# the table grew in (d): every (f) run loads its latest version, N_F rows (the rows the
# --workers run read, as its closing line says; the shard processes must load as many)
N_F=$(tail -1 "$WORK/dip.log" | grep -o '[0-9]* rows read' | cut -d' ' -f1)
expect_rows() {
  local n
  n=$(q "SELECT count(*) FROM integrated_records")
  [ "$n" = "$N_F" ] || { echo "bench-sync-pg: $1 loaded $n rows, not $N_F" >&2; exit 1; }
}
expect_rows "--workers 2"
fresh_gold
"$DIP" sync-pg --plan --shards 2 --source "$T" >"$WORK/plan.json" 2>>"$WORK/dip.log"
python3 -c 'import json,sys; [print(json.dumps(t)) for t in json.load(open(sys.argv[1]))]' "$WORK/plan.json" >"$WORK/tasks.txt"
cat >"$WORK/shards.sh" <<SH
#!/usr/bin/env bash
set -e
pids=()
while read -r task; do "$DIP" sync-pg --task "\$task" 2>>"$WORK/dip.log" & pids+=(\$!); done <"$WORK/tasks.txt"
for p in "\${pids[@]}"; do wait "\$p"; done
SH
chmod +x "$WORK/shards.sh"
timed "$WORK/shards.sh"
T_S2=$SECS
C_S2="client CPU ${CPU}s, server CPU ${SRV}s, load $LOAD"
expect_rows "2 shard processes"
[ "$(q "SELECT bool_and(sync_finished) FROM dip_sync_runs WHERE shards = 2")" = "t" ] ||
  { echo "bench-sync-pg: the 2-shard run was not finalized" >&2; exit 1; }

PEAK_MIB=$((PEAK_KB / 1024))
echo
echo "results ($ROWS rows; seconds are wall time of the whole command):"
printf "  (a) dip initial sync     %8.1fs  %10s rows/s\n" "$T_INIT" "$(rate "$ROWS" "$T_INIT")"
printf "      binary COPY          %8.1fs  %10s rows/s   dip/COPY = %s (target >= 0.90)\n" \
  "$T_COPY" "$(rate "$ROWS" "$T_COPY")" "$(ratio "$T_COPY" "$T_INIT")"
printf "      server CPU per row: COPY/dip = %s (load-independent view of the same ratio)\n" \
  "$(ratio "$S_COPY" "$S_INIT")"
printf "  (b) seed INSERT..ON CONFLICT %5.1fs  %10s rows/s   seed/COPY = %s, dip/seed = %s\n" \
  "$T_SEED" "$(rate "$SEED_ROWS" "$T_SEED")" \
  "$(python3 -c "print(f'{($SEED_ROWS / $T_SEED) / ($ROWS / $T_COPY):.2f}')")" \
  "$(python3 -c "print(f'{($ROWS / $T_INIT) / ($SEED_ROWS / $T_SEED):.2f}')")"
printf "  (c) forced full re-sync  %8.1fs  %s rows written, %s WAL   initial/resync = %s (target >= 2)\n" \
  "$T_RESYNC" "$WRITTEN_RESYNC" "$WAL_RESYNC" "$(ratio "$T_INIT" "$T_RESYNC")"
printf "  (d) full after 1%% change %8.2fs\n" "$T_FULL"
printf "      incremental          %8.2fs  %s rows written, %s WAL   full/incremental = %s (target >= 20)\n" \
  "$T_INC" "$WRITTEN_INC" "$WAL_INC" "$(ratio "$T_FULL" "$T_INC")"
printf "      incremental vs the initial full sync: initial/incremental = %s\n" "$(ratio "$T_INIT" "$T_INC")"
printf "  (e) PostgreSQL floor     %8.2fs  %s rows rewritten by one statement inside the server, %s WAL\n" \
  "$T_FLOOR" "$N_FLOOR" "$WAL_FLOOR"
printf "      best possible full/incremental = full/floor = %s; incremental/floor = %s (dip's overhead)\n" \
  "$(ratio "$T_FULL" "$T_FLOOR")" "$(ratio "$T_INC" "$T_FLOOR")"
printf "  (f) 1 loader (= (a))     %8.1fs  %10s rows/s   dip/COPY = %s\n" \
  "$T_INIT" "$(rate "$ROWS" "$T_INIT")" "$(ratio "$T_COPY" "$T_INIT")"
printf "      --workers 2          %8.1fs  %10s rows/s   dip/COPY = %s, x%s of 1 loader\n" \
  "$T_W2" "$(rate "$N_F" "$T_W2")" "$(ratio "$T_COPY" "$T_W2")" "$(ratio "$T_INIT" "$T_W2")"
printf "      2 shard processes    %8.1fs  %10s rows/s   dip/COPY = %s, x%s of 1 loader\n" \
  "$T_S2" "$(rate "$N_F" "$T_S2")" "$(ratio "$T_COPY" "$T_S2")" "$(ratio "$T_INIT" "$T_S2")"
printf "      (f) loads the table's latest version, %s rows (it grew in (d)): 1%% more than (a)\n" "$N_F"
printf "      (one COPY is one backend; more loaders can pass it when the server has idle cores)\n"
printf "  peak RSS of dip          %8d MiB (target < 512)\n" "$PEAK_MIB"
echo "CPU and load during each step (2 cores shared with other work; wall-time ratios move with the load):"
echo "  (a) dip initial:  $C_INIT"
echo "      COPY:         $C_COPY"
echo "  (b) seed:         $C_SEED"
echo "  (c) re-sync:      $C_RESYNC"
echo "  (d) full:         $C_FULL"
echo "      incremental:  $C_INC"
echo "  (e) floor:        $C_FLOOR"
echo "  (f) --workers 2:  $C_W2"
echo "      2 shards:     $C_S2"
