# lib.sh: shared helpers of the sync-pg integration tests (sourced). Expects DIP and SRC.
# Starts a private PostgreSQL (fsync off: tests only) and a work directory, both removed on
# exit whatever happens.
set -euo pipefail
export PGTZ=UTC
MT="node $SRC/tests/sync_pg/make_table.mjs"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dip-syncpg-test.XXXXXXXX")
eval "$("$SRC/scripts/pg-cluster.sh" start --no-fsync)"
BG_PIDS=()
cleanup() {
  for p in "${BG_PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  "$SRC/scripts/pg-cluster.sh" stop "$DIP_PG_DIR" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# The gold table as TSV in the order and form of `make_table.mjs expect`.
gold_tsv() {
  psql -XAtq -v ON_ERROR_STOP=1 -c "COPY (SELECT hk, hdiff, record_id, source_system, entity_type,
      business_key, name, attributes::text, amount::text, currency, quantity, is_active,
      valid_from, to_char(updated_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), ingest_date
      FROM ${1:-integrated_records} ORDER BY hk) TO STDOUT"
}

# Gold equals the Delta snapshot row for row (hk and hdiff computed independently in node).
check_equal() {
  local table=$1 gold=${2:-integrated_records}
  $MT expect "$table" >"$WORK/expect.tsv"
  gold_tsv "$gold" >"$WORK/gold.tsv"
  if ! diff "$WORK/expect.tsv" "$WORK/gold.tsv" >"$WORK/diff.txt"; then
    head -20 "$WORK/diff.txt" >&2
    fail "$gold differs from the snapshot of $table ($(wc -l <"$WORK/diff.txt") diff lines)"
  fi
}

# The last run's "mode inserted updated unchanged deleted finished".
last_run() {
  q "SELECT mode || ' ' || n_inserted || ' ' || n_updated || ' ' || n_unchanged || ' ' ||
            n_deleted || ' ' || CASE WHEN sync_finished THEN 't' ELSE 'f' END FROM dip_sync_runs
      WHERE output_postgres_table = '${1:-integrated_records}' ORDER BY run_id DESC LIMIT 1"
}

expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; }
