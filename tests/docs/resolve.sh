#!/usr/bin/env bash
# resolve.sh SRC TEST_BINARY: the docs integration test. Runs inside tests/pg/with-pg.sh (a
# private PostgreSQL 15): creates one database per PGSync example that test_docs_resolve.c
# resolves (tables written from the examples' models in tests/docs/sql/), the "neg" database
# of the error cases and, when ../shared is there, the books benchmark database at 50 books.
set -euo pipefail
src=$1
bin=$2
for f in "$src"/tests/docs/sql/*.sql; do
  db=$(basename "$f" .sql)
  psql -XAtq -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE \"$db\"" >/dev/null
  psql -XAtq -v ON_ERROR_STOP=1 -d "$db" -f "$f" >/dev/null
done
shared=${DIP_SHARED:-$src/../shared}
if [ -f "$shared/bench/books/gen.sql" ]; then
  psql -XAtq -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE books" >/dev/null
  psql -XAtq -v ON_ERROR_STOP=1 -v books=50 -d books -f "$shared/bench/books/gen.sql" >/dev/null
  export DOCS_BOOKS_SCHEMA="$shared/bench/books/schema.json"
fi
exec "$bin"
