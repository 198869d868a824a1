#!/usr/bin/env bash
# run-pgrepl.sh SOURCE_DIR TEST_BINARY: runs the replication integration test against a private
# PostgreSQL 15 (scripts/pg-cluster.sh: wal_level=logical, fsync off) with
# logical_decoding_work_mem=64kB, so that transactions of a few hundred kB are streamed while
# in progress, and max_prepared_transactions=4 for the two-phase messages. The cluster is stopped and removed on exit whatever happens.
set -euo pipefail
src=$1
bin=$2
# max_prepared_transactions: the two-phase messages of protocol 3 need PREPARE TRANSACTION
env_lines=$(DIP_PG_EXTRA_CONF="max_prepared_transactions = 4" \
  "$src/scripts/pg-cluster.sh" start --no-fsync)
eval "$env_lines"
trap '"$src/scripts/pg-cluster.sh" stop "$DIP_PG_DIR"' EXIT
psql -XAtq -v ON_ERROR_STOP=1 \
  -c "ALTER SYSTEM SET logical_decoding_work_mem = '64kB'" \
  -c "SELECT pg_reload_conf()" >/dev/null
"$bin"
