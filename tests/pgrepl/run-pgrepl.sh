#!/usr/bin/env bash
# run-pgrepl.sh SOURCE_DIR TEST_BINARY: runs the replication integration test against a private
# PostgreSQL 15 (scripts/pg-cluster.sh: wal_level=logical, fsync off) with
# logical_decoding_work_mem=64kB, so that transactions of a few hundred kB are streamed while
# in progress. The cluster is stopped and removed on exit whatever happens.
set -euo pipefail
src=$1
bin=$2
env_lines=$("$src/scripts/pg-cluster.sh" start --no-fsync)
eval "$env_lines"
trap '"$src/scripts/pg-cluster.sh" stop "$DIP_PG_DIR"' EXIT
psql -XAtq -v ON_ERROR_STOP=1 \
  -c "ALTER SYSTEM SET logical_decoding_work_mem = '64kB'" \
  -c "SELECT pg_reload_conf()" >/dev/null
"$bin"
