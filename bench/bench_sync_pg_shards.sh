#!/usr/bin/env bash
# bench_sync_pg_shards.sh: `make bench-sync-pg-shards`. The initial sync of one table by one
# process (the baseline, same run) against the same table split by `--plan --shards N` and
# run as N concurrent `--task` processes (N = 2 and 4), each from an empty gold table; prints
# wall seconds, rows/s, the ratio to one process and the load average. Private PostgreSQL 15,
# fsync on. BENCH_ROWS (default 1000000) and BENCH_FILES (8) size the table.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
DIP=${DIP:-$SRC/build/dip}
ROWS=${BENCH_ROWS:-1000000}
FILES=${BENCH_FILES:-8}
MT="node $SRC/tests/sync_pg/make_table.mjs"
[ -x "$DIP" ] || { echo "bench-sync-pg-shards: $DIP not built (make build)" >&2; exit 2; }
[ -d "$SRC/node_modules/@duckdb" ] || { echo "bench-sync-pg-shards: run npm ci first" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dip-bench-shards.XXXXXXXX")
eval "$("$SRC/scripts/pg-cluster.sh" start)" # durable defaults: fsync on
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  "$SRC/scripts/pg-cluster.sh" stop "$DIP_PG_DIR" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export PGTZ=UTC
q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
now() { date +%s.%N; }
secs() { python3 -c "print('%.2f' % ($2 - $1))"; }
reset() { q "DROP TABLE integrated_records"; q "DELETE FROM dip_sync_runs"; q "CHECKPOINT"; }

echo "bench-sync-pg-shards: $ROWS rows, $FILES files, PostgreSQL 15 fsync on, $(nproc) cores"
$MT create "$WORK/t.delta" --rows "$ROWS" --files "$FILES" >/dev/null

t0=$(now)
"$DIP" sync-pg --source "$WORK/t.delta" >/dev/null 2>"$WORK/log"
BASE=$(secs "$t0" "$(now)")
n=$(q "SELECT count(*) FROM integrated_records")
[ "$n" = "$ROWS" ] || { echo "one process loaded $n rows, not $ROWS" >&2; exit 1; }
printf "  1 process  %8ss  %8.0f rows/s  load %s\n" "$BASE" "$(python3 -c "print($ROWS / $BASE)")" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"
reset

for N in 2 4; do
  "$DIP" sync-pg --plan --shards "$N" --source "$WORK/t.delta" >"$WORK/plan.json" 2>>"$WORK/log"
  t0=$(now)
  PIDS=()
  while read -r task; do
    "$DIP" sync-pg --task "$task" >/dev/null 2>>"$WORK/log" &
    PIDS+=($!)
  done < <(python3 -c 'import json,sys; [print(json.dumps(t)) for t in json.load(open(sys.argv[1]))]' "$WORK/plan.json")
  for p in "${PIDS[@]}"; do wait "$p" || { tail -20 "$WORK/log" >&2; exit 1; }; done
  PIDS=()
  "$DIP" sync-pg --finalize --task "$(cat "$WORK/plan.json")" >/dev/null 2>>"$WORK/log"
  T=$(secs "$t0" "$(now)")
  n=$(q "SELECT count(DISTINCT hk) FROM integrated_records")
  [ "$n" = "$ROWS" ] || { echo "$N shards loaded $n distinct hk, not $ROWS" >&2; exit 1; }
  printf "  %d shards   %8ss  %8.0f rows/s  x%s of 1 process  load %s\n" "$N" "$T" \
    "$(python3 -c "print($ROWS / $T)")" "$(python3 -c "print('%.2f' % ($BASE / $T))")" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
  reset
done
