#!/usr/bin/env bash
# bench_sync_es.sh: `make bench-sync-es`. One run on the books database (../shared/bench/books,
# gen.sql + schema.json), a private PostgreSQL with its default durable settings and the ES
# test server, both on this machine:
#   (a) the SQL floor: every document from one set-based statement (each child aggregated once
#       with json_agg ... GROUP BY its key, hash-joined; bench/sync_es/books_floor.sql), run
#       alone through COPY to /dev/null: documents/s;
#   (b) dip sync-es --once: the initial load of the same documents into the test server, end
#       to end (bootstrap, slot, snapshot, build, bulk, acknowledgements): documents/s;
#   dip's client CPU, PostgreSQL's CPU (postmaster + reaped backends), peak RSS of dip.
# BENCH_REPEAT (3) rounds of (a) then (b); the summary gives the median of each.
# Targets: (b) >= 28,000 docs/s, (b)/(a) >= 0.6, peak RSS < 256 MiB. BENCH_BOOKS (100000)
# sizes the database (1000000 for the large run); BENCH_WORKERS (CPU count) the load workers.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
DIP=${DIP:-$SRC/build/dip}
BOOKS=${BENCH_BOOKS:-100000}
SHARED=${DIP_SHARED:-$SRC/../shared}
GEN=$SHARED/bench/books/gen.sql
[ -x "$DIP" ] || { echo "bench-sync-es: $DIP not built (make build)" >&2; exit 2; }
[ -f "$GEN" ] || { echo "bench-sync-es: $GEN missing (set DIP_SHARED)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dip-bench-synces.XXXXXXXX")
eval "$("$SRC/scripts/pg-cluster.sh" start)" # durable defaults: fsync on
ES_PID=
cleanup() {
  [ -n "$ES_PID" ] && kill "$ES_PID" 2>/dev/null && wait "$ES_PID" 2>/dev/null
  "$SRC/scripts/pg-cluster.sh" stop "$DIP_PG_DIR" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export PGTZ=UTC
. "$SRC/bench/es_server.sh"
es_server_start bench-sync-es "$WORK/es"
# loopback: gzip of the bulk bodies only costs CPU on both sides (ELASTICSEARCH_HTTP_COMPRESS)
export ELASTICSEARCH_HTTP_COMPRESS=${ELASTICSEARCH_HTTP_COMPRESS:-false}

server_cpu() {
  local pm
  pm=$(head -1 "$DIP_PG_DIR/data/postmaster.pid")
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15 + $16 + $17) / hz }' "/proc/$pm/stat"
}
timed() {
  psql -XAtq -d books -c "CHECKPOINT" >/dev/null
  local s0
  s0=$(server_cpu)
  /usr/bin/time -f "%e %M %U %S" -o "$WORK/time.txt" "$@"
  read -r SECS RSS_KB u s <"$WORK/time.txt"
  CPU=$(python3 -c "print(f'{$u + $s:.1f}')")
  sleep 0.3 # let the backends exit and be reaped
  SRV=$(python3 -c "print(f'{$(server_cpu) - $s0:.1f}')")
  LOAD=$(cut -d' ' -f1 /proc/loadavg)
}

echo "books database: $BOOKS books (gen.sql) ..."
createdb books
# gen.sql computes book_author's author_id as ((i * 2 + j) * 7919) in integer, which overflows
# above ~135,000 books: the same arithmetic in bigint gives the same rows below that and lets
# BENCH_BOOKS=1000000 run
sed 's/((i \* 2 + j) \* 7919)/((i * 2 + j)::bigint * 7919)/' "$GEN" >"$WORK/gen.sql"
psql -XAtq -v ON_ERROR_STOP=1 -v books="$BOOKS" -d books -f "$WORK/gen.sql" >/dev/null

# BENCH_REPEAT (3) rounds of (a) then (b), alternated so that both see the same moments of a
# shared machine; the summary takes the median round of each
REPEAT=${BENCH_REPEAT:-3}
cp "$SHARED/bench/books/schema.json" "$WORK/schema.json"
W=()
[ -n "${BENCH_WORKERS:-}" ] && W=(--workers "$BENCH_WORKERS")
es_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$ES_PID/stat"; }
F_RATES=() D_RATES=() RSS_MAX=0
for round in $(seq 1 "$REPEAT"); do
  echo "round $round of $REPEAT"
  echo "  (a) SQL floor (one set-based statement, COPY to /dev/null):"
  timed sh -c "psql -XAtq -v ON_ERROR_STOP=1 -d books -f '$SRC/bench/sync_es/books_floor.sql' >/dev/null"
  F_SRV=$SRV
  F_RATES+=("$(python3 -c "print(f'{$BOOKS / $SECS:.0f}')")")
  echo "      ${SECS}s, ${F_RATES[-1]} docs/s, server CPU ${SRV}s, load $LOAD"

  echo "  (b) dip sync-es --once (initial load into the test server, end to end):"
  if [ "$round" -gt 1 ]; then
    # a fresh start: no slot, no state, no index
    "$DIP" sync-es --config "$WORK/schema.json" --teardown 2>>"$WORK/dip.log" >/dev/null
    curl -sf -X DELETE "$ELASTICSEARCH_URL/books_v1" >/dev/null
  fi
  E0=$(es_cpu)
  timed "$DIP" sync-es --config "$WORK/schema.json" --once "${W[@]}" 2>"$WORK/dip.log"
  ESCPU=$(python3 -c "print(f'{$(es_cpu) - $E0:.1f}')")
  grep -E "documents .* in " "$WORK/dip.log" | sed 's/^/      /'
  D_RATES+=("$(python3 -c "print(f'{$BOOKS / $SECS:.0f}')")")
  COUNT=$(curl -s "$ELASTICSEARCH_URL/books/_count" | python3 -c "import json,sys; print(json.load(sys.stdin)['count'])")
  echo "      ${SECS}s, ${D_RATES[-1]} docs/s, $COUNT documents in the index, client CPU ${CPU}s, server CPU ${SRV}s, peak RSS $((RSS_KB / 1024)) MiB, test server CPU ${ESCPU}s, load $LOAD"
  [ "$COUNT" = "$BOOKS" ] || { echo "bench-sync-es: index holds $COUNT documents, expected $BOOKS" >&2; exit 1; }
  [ "$RSS_KB" -gt "$RSS_MAX" ] && RSS_MAX=$RSS_KB
  D_CPU=$(python3 -c "print(f'{$CPU + $SRV:.1f}')")
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
F_RATE=$(median "${F_RATES[@]}")
D_RATE=$(median "${D_RATES[@]}")
echo
echo "summary ($BOOKS books, median of $REPEAT rounds; 2 cores shared with other work: compare only within this run)"
printf "  dip initial load: %s docs/s (rounds: %s; target >= 28000)\n" "$D_RATE" "${D_RATES[*]}"
printf "  SQL floor:        %s docs/s (rounds: %s)\n" "$F_RATE" "${F_RATES[*]}"
printf "  CPU, last round:  dip + PostgreSQL %ss, floor (PostgreSQL) %ss, the test server %ss\n" \
  "$D_CPU" "$F_SRV" "$ESCPU"
printf "  dip / floor:      %s (target >= 0.6)\n" "$(python3 -c "print(f'{$D_RATE / $F_RATE:.2f}')")"
printf "  dip peak RSS:     %s MiB (target < 256)\n" "$((RSS_MAX / 1024))"
