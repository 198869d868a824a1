# lib.sh: shared helpers of the es client's integration tests (sourced). Expects DIP (the dip
# binary), TOOL (es_tool) and SRC. Starts test servers (scripts/es-test-server) on loopback,
# keeps everything in a work directory, and stops every server and removes the directory on
# exit whatever happens. Each check counts; `finish` prints "N passed, M failed".
set -uo pipefail
export PGTZ=UTC
# the tests set the engine configuration they test: a developer's own (a dip user's exported
# ELASTICSEARCH_URL, say) must not steer them
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(ELASTICSEARCH[A-Z0-9_]*\|OPENSEARCH[A-Z0-9_]*\)=.*/\1/p')
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dip-es-test.XXXXXXXX")
ES_SERVER=${ES_TEST_SERVER:-$SRC/scripts/es-test-server}
PY=/usr/bin/python3
PASS=0
FAILED=0
SERVER_PIDS=()
PG_STARTED=0
cleanup() {
  for p in "${SERVER_PIDS[@]:-}"; do
    [ -n "$p" ] && { kill -9 "$p"; wait "$p"; } 2>/dev/null
  done
  if [ "$PG_STARTED" = 1 ]; then "$SRC/scripts/pg-cluster.sh" stop "$DIP_PG_DIR" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }
# check DESC COMMAND...: passes when COMMAND succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
expect_eq() { if [ "$1" = "$2" ]; then ok "$3"; else bad "$3: expected '$2', got '$1'"; fi; }
# expect_grep DESC PATTERN FILE
expect_grep() { if grep -qE -- "$2" "$3"; then ok "$1"; else bad "$1: no /$2/ in $(head -c 600 "$3")"; fi; }
finish() {
  echo "$PASS passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# es_start NAME FLAVOUR [SERVER ARGS...]: starts a server with data in $WORK/NAME; sets
# PORT_<NAME> and PID_<NAME>. Waits for "listening PORT" (at most 20 s).
es_start() {
  local name=$1 flavour=$2; shift 2
  local dir="$WORK/$name" port=${ES_FIXED_PORT:-0}
  mkdir -p "$dir"
  : > "$dir/out"
  "$ES_SERVER" --port "$port" --data "$dir/data" --flavour "$flavour" "$@" \
    > "$dir/out" 2> "$dir/err" < /dev/null &
  local pid=$!
  SERVER_PIDS+=("$pid")
  for _ in $(seq 1 300); do
    grep -q '^listening' "$dir/out" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  local p; p=$(sed -n 's/^listening \([0-9]*\).*/\1/p' "$dir/out" | head -1)
  [ -n "$p" ] || { echo "es-test-server did not start: $(cat "$dir/out" "$dir/err")" >&2; exit 1; }
  printf -v "PORT_$name" '%s' "$p"
  printf -v "PID_$name" '%s' "$pid"
}

es_stop() {
  local pidvar="PID_$1"; local pid=${!pidvar}
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null
}

# admin PORT METHOD PATH [BODY]: test-only endpoints and direct checks (curl, never dip)
admin() {
  local port=$1 m=$2 path=$3 body=${4:-}
  if [ -n "$body" ]; then
    curl -s -X "$m" -H 'Content-Type: application/json' --data-binary "$body" "http://127.0.0.1:$port$path"
  else
    curl -s -X "$m" "http://127.0.0.1:$port$path"
  fi
}
stat_of() { admin "$1" GET /_test/stats | $PY -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }

# gen_docs N [DISTINCT_IDS] [PAD]: dump-form NDJSON; with DISTINCT_IDS < N ids repeat and the
# last line of an id is the one the index must hold
gen_docs() {
  $PY - "$@" <<'PY'
import json, sys
n = int(sys.argv[1]); k = int(sys.argv[2]) if len(sys.argv) > 2 else n
pad = int(sys.argv[3]) if len(sys.argv) > 3 else 200
w = sys.stdout.write
for i in range(n):
    d = {"n": i, "title": "doc %d \u00e9\"q" % i, "tags": ["a", "b%d" % (i % 7)],
         "nested": {"x": i % 13, "y": [1.5, None, 2.25], "ok": i % 2 == 0}, "pad": ("p%07d" % i) * (pad // 8)}
    w(json.dumps({"_id": "d%d" % (i % k), "_source": d}, ensure_ascii=False) + "\n")
PY
}

# same_docs EXPECTED DUMPED: the dump holds exactly the expected documents (last line of each
# _id wins), compared as parsed JSON
same_docs() {
  $PY - "$1" "$2" <<'PY'
import json, sys
def load(p):
    m = {}
    with open(p, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                o = json.loads(line); m[o["_id"]] = o["_source"]
    return m
exp, got = load(sys.argv[1]), load(sys.argv[2])
missing = [k for k in exp if k not in got]; extra = [k for k in got if k not in exp]
diff = [k for k in exp if k in got and exp[k] != got[k]]
if missing or extra or diff:
    print("expected %d docs, got %d: %d missing %s, %d extra %s, %d differ %s" % (
        len(exp), len(got), len(missing), missing[:3], len(extra), extra[:3], len(diff), diff[:3]),
        file=sys.stderr)
    sys.exit(1)
PY
}

# pg_start: a private PostgreSQL for dead letters (PG* variables exported)
pg_start() {
  eval "$("$SRC/scripts/pg-cluster.sh" start --no-fsync)"
  PG_STARTED=1
}
