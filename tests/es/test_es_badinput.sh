#!/usr/bin/env bash
# test_es_badinput.sh DIP SRC: bad input gives a clear error naming the host and what was
# expected, and a non-zero exit, never a crash (this test also runs under ASan): an
# unreachable host, wrong credentials, a malformed URL, an index name the engine refuses,
# a bad load line, and a raw node:net server (liar.mjs) that answers non-JSON, half a JSON
# body, fewer bytes than announced, fewer bulk items than sent, items for other _ids, a
# non-JSON root, an Elasticsearch 8 without its product header, and Elasticsearch 6.
DIP=$1 SRC=$2
TOOL=unused
. "$SRC/tests/es/lib.sh"
export ELASTICSEARCH_MAX_RETRIES=1 ELASTICSEARCH_INITIAL_BACKOFF=0.05 ELASTICSEARCH_MAX_BACKOFF=0.1
export ELASTICSEARCH_TIMEOUT=5

# expect_fail NAME CODE PATTERN COMMAND...: exit CODE, stderr matches PATTERN, no sanitizer report
expect_fail() {
  local name=$1 code=$2 pat=$3; shift 3
  "$@" > "$WORK/out" 2> "$WORK/err" < "${STDIN:-/dev/null}"
  local rc=$?
  expect_eq "$rc" "$code" "$name: exit $code"
  expect_grep "$name: clear error" "$pat" "$WORK/err"
  if grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$WORK/err"; then bad "$name: sanitizer report"; fi
}

free=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ELASTICSEARCH_URL=http://127.0.0.1:$free expect_fail "unreachable host" 4 \
  "127\.0\.0\.1.*(connect|Connection refused).*expected an answer to GET /" "$DIP" es ping
# usage errors come before any connection: against an unreachable host with ten retries
# (minutes of backoff), each must be refused at once with exit 2
for args in "bogus" "count" "dump" "alias-swap only-alias" "mapping-put idx" "count a b" "ping extra" \
  "ping --bogus"; do
  t0=$(date +%s)
  # shellcheck disable=SC2086
  ELASTICSEARCH_URL=http://127.0.0.1:$free ELASTICSEARCH_MAX_RETRIES=10 ELASTICSEARCH_INITIAL_BACKOFF=5 \
    expect_fail "dip es $args" 2 "^dip: (unknown command 'bogus'|[a-z-]+ needs (INDEX|ALIAS INDEX|--body)|unexpected argument (b|extra) \((count|ping) takes (INDEX|none)\)|unknown option --bogus)" "$DIP" es $args
  expect_eq "$(( $(date +%s) - t0 < 3 ))" 1 "dip es $args: refused without waiting on the host"
done
ELASTICSEARCH_URL=ftp://127.0.0.1 expect_fail "malformed URL" 2 "ELASTICSEARCH_URL.*expected http" "$DIP" es ping
ELASTICSEARCH_PORT=99999 expect_fail "port out of range" 2 "ELASTICSEARCH_PORT=99999" "$DIP" es ping

es_start srv es8 --auth-basic elastic:right-pw
export ELASTICSEARCH_URL=http://127.0.0.1:$PORT_srv
ELASTICSEARCH_USER=elastic ELASTICSEARCH_PASSWORD=wrong-pw expect_fail "wrong credentials" 2 \
  "127\.0\.0\.1: GET /: expected 2xx, got 401 .*basic \(user elastic\)" "$DIP" es ping
if grep -q wrong-pw "$WORK/err"; then bad "wrong credentials: password in the message"; else ok "wrong credentials: no password in the message"; fi
export ELASTICSEARCH_USER=elastic ELASTICSEARCH_PASSWORD=right-pw
expect_fail "index name the engine refuses" 3 "127\.0\.0\.1: PUT /UPPER: expected 2xx, got 400 invalid_index_name_exception" \
  "$DIP" es index-create UPPER
echo '{"_id":"1","_source":{"a":1}}' > "$WORK/one"
STDIN=$WORK/one expect_fail "bulk into an index name the engine refuses" 3 \
  "bulk index UPPER/1 refused with 400 invalid_index_name_exception" "$DIP" es load UPPER
printf '{"_id":"1","_source":{"a":1}}\n{"_id":"2","_source":{"a":\n' > "$WORK/badline"
STDIN=$WORK/badline expect_fail "a truncated load line" 3 "stdin line 2: expected one complete JSON object" "$DIP" es load ok
printf '{"_id":"1"}\n' > "$WORK/nosrc"
STDIN=$WORK/nosrc expect_fail "a dump line without _source" 3 "stdin line 1: .*_source" "$DIP" es load ok
expect_fail "count of a missing index" 5 "127\.0\.0\.1: GET /nope/_count: expected 2xx, got 404 index_not_found_exception" "$DIP" es count nope
unset ELASTICSEARCH_USER ELASTICSEARCH_PASSWORD
es_stop srv

liar() { # MODE: starts liar.mjs, sets LIAR_PORT
  node "$SRC/tests/es/liar.mjs" "$1" > "$WORK/liar.out" 2>&1 &
  LIAR_PID=$!
  SERVER_PIDS+=("$LIAR_PID")
  for _ in $(seq 1 100); do grep -q listening "$WORK/liar.out" && break; sleep 0.1; done
  LIAR_PORT=$(sed -n 's/^listening //p' "$WORK/liar.out")
  export ELASTICSEARCH_URL=http://127.0.0.1:$LIAR_PORT
}
liar_stop() { { kill "$LIAR_PID"; wait "$LIAR_PID"; } 2> /dev/null; }
for i in 1 2 3; do echo "{\"_id\":\"$i\",\"_source\":{\"a\":$i}}"; done > "$WORK/three"

liar notjson
STDIN=$WORK/three expect_fail "non-JSON bulk answer" 3 \
  "127\.0\.0\.1: POST /_bulk: expected a JSON bulk response with 3 items, got invalid JSON" "$DIP" es load x
liar_stop
liar cutjson
STDIN=$WORK/three expect_fail "half a JSON bulk answer" 3 \
  "127\.0\.0\.1: POST /_bulk: expected a JSON bulk response with 3 items, got invalid JSON" "$DIP" es load x
liar_stop
liar short
STDIN=$WORK/three expect_fail "answer shorter than its Content-Length" 4 \
  "POST /_bulk of 3 actions: gave up after 2 attempts: 127\.0\.0\.1: .*partial file" "$DIP" es load x
liar_stop
liar fewer
STDIN=$WORK/three expect_fail "bulk answer with fewer items than sent" 3 \
  "127\.0\.0\.1: POST /_bulk: expected a bulk response with 3 items \(one per action sent\), got 2" "$DIP" es load x
liar_stop
liar wrongid
STDIN=$WORK/three expect_fail "bulk answer for other _ids" 3 \
  "127\.0\.0\.1: POST /_bulk: item 0 answers index other, expected index 1" "$DIP" es load x
liar_stop
liar rootbad
expect_fail "non-JSON root answer" 3 "127\.0\.0\.1: GET /: expected an Elasticsearch or OpenSearch root answer" "$DIP" es ping
liar_stop
liar noproduct
expect_fail "Elasticsearch 8 without X-Elastic-Product" 3 "127\.0\.0\.1: the server claims Elasticsearch 8\.13\.4 but its answer lacks \"X-Elastic-Product" "$DIP" es ping
liar_stop
liar es6
expect_fail "Elasticsearch 6 refused" 3 "127\.0\.0\.1: Elasticsearch 6\.8\.23 is not supported" "$DIP" es ping
liar_stop

finish
