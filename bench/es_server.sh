# es_server.sh: sourced by the sync-es benchmarks. es_server_start NAME DATA_DIR [ARGS...]
# starts scripts/es-test-server on a free loopback port (its output in DATA_DIR.out/.err),
# waits up to 30 s for its "listening PORT" line, and sets ES_PID, ES_PORT and
# ELASTICSEARCH_URL; NAME prefixes the error when it does not start. The caller kills ES_PID.
es_server_start() {
  local name=$1 data=$2
  shift 2
  "$SRC/scripts/es-test-server" --port 0 --data "$data" "$@" >"$data.out" 2>"$data.err" &
  ES_PID=$!
  for _ in $(seq 1 300); do grep -q '^listening ' "$data.out" && break; sleep 0.1; done
  ES_PORT=$(awk '/^listening /{print $2}' "$data.out")
  [ -n "$ES_PORT" ] || { echo "$name: the test server did not start" >&2; cat "$data.err" >&2; exit 1; }
  export ELASTICSEARCH_URL=http://127.0.0.1:$ES_PORT
}
