#!/usr/bin/env bash
# with-pg.sh SOURCE_DIR COMMAND...: runs COMMAND against a private PostgreSQL cluster
# (scripts/pg-cluster.sh, fsync off: tests only), stopped again on exit whatever happens.
set -euo pipefail
src=$1
shift
env_lines=$("$src/scripts/pg-cluster.sh" start --no-fsync)
eval "$env_lines"
trap '"$src/scripts/pg-cluster.sh" stop "$DIP_PG_DIR"' EXIT
"$@"
