#!/usr/bin/env bash
# demo.sh: `make demo`, the main job of dip end to end on this machine:
#   1. a sample silver table: ~1,000,000 integrated records, partitioned by source_system,
#      written as a Delta table by an independent writer (tests/sync_pg/make_table.mjs)
#   2. a private PostgreSQL 15 (scripts/pg-cluster.sh, default durable settings)
#   3. full sync, 4. a commit with updates + inserts, 5. sync again (only the changed rows
#   written), 6. a third sync (skipped: up to date), 7. counts and a sample query, 8. stop.
# DEMO_ROWS overrides the table size. Everything lives in one temp directory, removed at exit.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
DIP=${DIP:-$SRC/build/dip}
ROWS=${DEMO_ROWS:-1000000}
MT="node $SRC/tests/sync_pg/make_table.mjs"
[ -x "$DIP" ] || { echo "demo: $DIP not built (make build)" >&2; exit 2; }
[ -d "$SRC/node_modules/@duckdb" ] || { echo "demo: run npm ci first (make deps)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dip-demo.XXXXXXXX")
PG_DIR=
cleanup() {
  [ -n "$PG_DIR" ] && "$SRC/scripts/pg-cluster.sh" stop "$PG_DIR"
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
TABLE=$WORK/lake/silver/integrated/records.delta

step "1. sample silver table: $ROWS integrated records, partitioned by source_system"
$MT create "$TABLE" --rows "$ROWS" --files 20 --dv
"$DIP" delta info "$TABLE" | sed -n '1,3p;/partition columns/p;/^files/p;/rows (stats)/p'

step "2. private PostgreSQL 15"
eval "$("$SRC/scripts/pg-cluster.sh" start)"
PG_DIR=$DIP_PG_DIR
export PGTZ=UTC
echo "PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=$PGUSER PGDATABASE=$PGDATABASE"
q() { psql -X -v ON_ERROR_STOP=1 "$@"; }

step "3. full sync (what would the orchestrator do? dip sync-pg --plan)"
"$DIP" sync-pg --plan --source "$TABLE"
"$DIP" sync-pg --source "$TABLE" --table integrated_records

step "4. a commit on the silver table: 20,000 rows updated (deletion vectors), 10,000 inserted"
$MT update "$TABLE" --update 20000 --insert 10000 --dv-update
"$DIP" delta history "$TABLE" | tail -3

step "5. sync again: incremental, only the changed rows are written"
"$DIP" sync-pg --source "$TABLE" --table integrated_records

step "6. sync a third time: up to date, skipped"
"$DIP" sync-pg --source "$TABLE" --table integrated_records
echo "plan now: $("$DIP" sync-pg --plan --source "$TABLE" 2>/dev/null)"

step "7. counts and a sample query"
q -c "SELECT count(*) AS gold_rows, count(DISTINCT sync_ldts) AS sync_batches,
             max(sync_ldts) AS last_sync_ldts FROM integrated_records"
q -c "SELECT source_system, count(*) AS records, sum(amount) AS total_amount,
             count(*) FILTER (WHERE attributes->'tags' ? 't1') AS tagged_t1
        FROM integrated_records GROUP BY source_system ORDER BY source_system"
q -c "SELECT record_id, business_key, name, amount, attributes, updated_at
        FROM integrated_records WHERE record_id IN ('R0', 'R42', 'R$ROWS') ORDER BY updated_at"
q -c "SELECT run_id, mode, n_input_records AS read, n_inserted AS inserted, n_updated AS updated,
             n_unchanged AS unchanged, last_synced_item->>'version' AS version, sync_finished,
             round(extract(epoch FROM finished_at - started_at)::numeric, 1) AS seconds
        FROM dip_sync_runs ORDER BY run_id"

step "8. stopping PostgreSQL"
