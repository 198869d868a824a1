#!/usr/bin/env bash
# test_es_client.sh DIP ES_TOOL SRC FLAVOUR: the es client against scripts/es-test-server in
# one flavour (es7, es8, os2): every per-item outcome of a bulk (done, stale 409 external,
# absent 404 delete, dead letters for 400/409/404, 429/500 items retried alone), whole-request
# 429/503 retried, 413 splitting, gzip on and off, the same _id never in flight twice (the
# server's same_id_overlaps stays 0 under delays with repeated ids, and the last write of each
# id wins), dead letters in PostgreSQL re-sent by `dip es dead-letters --retry` after a
# mapping fix, index and alias management, every auth method with no secret in any output,
# TLS verification, SigV4 (es and aoss) accepted by the server's verifier.
DIP=$1 TOOL=$2 SRC=$3 FLAVOUR=${4:-es8}
. "$SRC/tests/es/lib.sh"
export ELASTICSEARCH_MAX_RETRIES=8 ELASTICSEARCH_INITIAL_BACKOFF=0.05 ELASTICSEARCH_MAX_BACKOFF=0.5
export ELASTICSEARCH_TIMEOUT=20

pg_start
es_start main "$FLAVOUR"
P=$PORT_main
export ELASTICSEARCH_URL=http://127.0.0.1:$P

# ---- engine detection
"$DIP" es ping > "$WORK/ping" 2>&1
case $FLAVOUR in
  os2) expect_grep "ping: OpenSearch detected" '^engine: OpenSearch 2\.' "$WORK/ping" ;;
  es7) expect_grep "ping: Elasticsearch 7.17 detected" '^engine: Elasticsearch 7\.17\.' "$WORK/ping" ;;
  es8) expect_grep "ping: Elasticsearch 8 detected" '^engine: Elasticsearch 8\.' "$WORK/ping" ;;
esac
expect_grep "ping: cluster health" '^health: (green|yellow)' "$WORK/ping"
expect_grep "ping: auth none" '^auth: none' "$WORK/ping"
if [ "$FLAVOUR" = os2 ]; then
  OPENSEARCH=false ELASTICSEARCH=true "$DIP" es ping > "$WORK/mis" 2>&1
  expect_eq "$?" 2 "ELASTICSEARCH=true against OpenSearch is refused (config)"
  expect_grep "backend mismatch names the engine" 'server is OpenSearch' "$WORK/mis"
fi

# ---- every per-item outcome, through the bulk writer (es_tool prints one ack per action)
cat > "$WORK/actions" <<'EOF'
{"op":"index","index":"out","id":"1","source":{"t":"a","n":1}}
{"op":"create","index":"out","id":"2","source":{"t":"b","n":2}}
{"op":"update","index":"out","id":"1","source":{"doc":{"t":"a2"}}}
{"op":"delete","index":"out","id":"2"}
{"op":"delete","index":"out","id":"nope"}
{"op":"index","index":"out","id":"v1","version":5,"version_type":"external","source":{"t":"v5"}}
{"op":"index","index":"out","id":"v1","version":3,"version_type":"external","source":{"t":"v3"}}
{"op":"index","index":"out","id":"v1","version":5,"version_type":"external_gte","source":{"t":"v5b"}}
{"op":"create","index":"out","id":"1","source":{"t":"dup"}}
{"op":"update","index":"out","id":"missing","source":{"doc":{"t":"x"}}}
{"op":"index","index":"out","id":"3","source":{"n":"not a number"}}
{"op":"index","index":"out","id":"1","if_seq_no":999,"if_primary_term":1,"source":{"t":"occ"}}
{"op":"delete","index":"out","id":"v1","version":1,"version_type":"external"}
{"op":"index","index":"out","id":"r1","routing":"user7","source":{"t":"routed"}}
EOF
"$TOOL" --dead-letters < "$WORK/actions" > "$WORK/acks" 2> "$WORK/acks.err"
expect_eq "$?" 0 "outcome batch acknowledged (exit 0)"
outcome() { awk -v t="$1" '$1 == "ack" && $3 == t {print $4}' "$WORK/acks"; }
expect_eq "$(outcome 1)" done "index -> done"
expect_eq "$(outcome 2)" done "create -> done"
expect_eq "$(outcome 3)" done "update -> done"
expect_eq "$(outcome 4)" done "delete -> done"
expect_eq "$(outcome 5)" absent "delete of a missing doc (404) -> absent"
expect_eq "$(outcome 6)" done "external version 5 -> done"
expect_eq "$(outcome 7)" stale "external version 3 after 5 (409) -> stale"
expect_eq "$(outcome 8)" done "external_gte 5 after 5 -> done"
expect_eq "$(outcome 9)" dead_letter "create of an existing id (409, not external) -> dead letter"
expect_eq "$(outcome 10)" dead_letter "update of a missing doc (404) -> dead letter"
expect_eq "$(outcome 11)" dead_letter "mapper_parsing_exception (400) -> dead letter"
expect_eq "$(outcome 12)" dead_letter "if_seq_no conflict (409) -> dead letter"
expect_eq "$(outcome 13)" stale "external delete with an older version -> stale"
expect_eq "$(outcome 14)" done "index with routing -> done"
expect_grep "acked_through covers all 14" '"acked_through":14' "$WORK/acks"
admin "$P" POST /out/_refresh > /dev/null
expect_eq "$(admin "$P" GET /out/_doc/1 | $PY -c 'import json,sys; print(json.load(sys.stdin)["_source"]["t"])')" a2 "update applied after index (order held)"
expect_eq "$(admin "$P" GET /out/_doc/v1 | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["_source"]["t"], d["_version"])')" "v5b 5" "external versions: v5b at version 5"
expect_eq "$(admin "$P" GET '/out/_doc/r1?routing=user7' | $PY -c 'import json,sys; print(json.load(sys.stdin)["_routing"])')" user7 "routing sent"
expect_eq "$(psql -XAtq -c "SELECT count(*) FROM dip_es_dead_letters WHERE index_name = 'out'")" 4 "4 dead letters in PostgreSQL"
expect_eq "$(psql -XAtq -c "SELECT error_type FROM dip_es_dead_letters WHERE doc_id = '3'" | sed 's/document_parsing_exception/mapper_parsing_exception/')" mapper_parsing_exception "dead letter keeps the error type (mapper_/document_parsing_exception)"
expect_eq "$(psql -XAtq -c "SELECT document FROM dip_es_dead_letters WHERE doc_id = '3'")" '{"n":"not a number"}' "dead letter keeps the document"
expect_eq "$(psql -XAtq -c "SELECT count(*) FROM dip_es_dead_letters WHERE reason <> '' AND created_at > now() - interval '1 hour'")" 4 "dead letters have reason and time"
# without a dead-letter table a refused item fails the writer with exit 3
echo '{"op":"index","index":"out","id":"4","source":{"n":"again not a number"}}' |
  "$TOOL" > /dev/null 2> "$WORK/nodl.err"
expect_eq "$?" 3 "a refused item without dead letters: exit 3"
expect_grep "... naming the document and reason" 'out/4 refused with 400 (mapper|document)_parsing_exception' "$WORK/nodl.err"

# ---- loads: generate documents once
gen_docs 3000 > "$WORK/docs3k"
load_check() { # NAME INDEX EXTRA-ARGS...: load docs3k, then compare count and full dump
  local name=$1 index=$2; shift 2
  "$DIP" es load "$index" "$@" < "$WORK/docs3k" > "$WORK/$index.out" 2> "$WORK/$index.err"
  local rc=$?
  expect_eq "$rc" 0 "$name: load exit 0"
  "$DIP" es dump "$index" > "$WORK/$index.dump" 2>> "$WORK/$index.err"
  check "$name: dump equals the documents sent" same_docs "$WORK/docs3k" "$WORK/$index.dump"
  expect_eq "$("$DIP" es count "$index" 2>/dev/null)" 3000 "$name: count 3000"
}

# item faults: 429 and 500 on half the items of the next requests, retried alone
for st in 429 500; do
  admin "$P" PUT /_test/faults "{\"item_status\":$st,\"item_fraction\":0.5,\"request_count\":3,\"path\":\"_bulk\"}" > /dev/null
  load_check "item $st" "items$st" --chunk-size 500
  expect_grep "item $st: items retried" '[1-9][0-9]* item retries' "$WORK/items$st.err"
done
# whole-request 429 and 503
for st in 429 503; do
  admin "$P" PUT /_test/faults "{\"request_status\":$st,\"request_count\":2,\"path\":\"_bulk\"}" > /dev/null
  load_check "request $st" "req$st" --chunk-size 1000
  expect_grep "request $st: requests retried" '[2-9][0-9]* request retries' "$WORK/req$st.err"
done
admin "$P" DELETE /_test/faults > /dev/null

# gzip on and off: same documents, fewer bytes on the wire with gzip
load_check "gzip on" gz_on --compress
load_check "gzip off" gz_off --no-compress
$PY - "$WORK/docs3k" > "$WORK/actions3k" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line); print(json.dumps({"index": "gzt", "id": o["_id"], "source": o["_source"]}))
PY
"$TOOL" < "$WORK/actions3k" | tail -1 > "$WORK/gz.stats"
ELASTICSEARCH_HTTP_COMPRESS=false "$TOOL" < "$WORK/actions3k" | tail -1 > "$WORK/plain.stats"
check "gzip: bytes on the wire < NDJSON bytes" $PY -c "
import json; s=json.loads(open('$WORK/gz.stats').read()[6:]); exit(0 if s['bytes_sent'] < s['bytes_raw'] / 2 else 1)"
check "no gzip: bytes on the wire = NDJSON bytes" $PY -c "
import json; s=json.loads(open('$WORK/plain.stats').read()[6:]); exit(0 if s['bytes_sent'] == s['bytes_raw'] else 1)"

# ---- same _id never in flight twice: 20,000 writes over 200 ids, delayed answers, 4 in flight
gen_docs 20000 200 64 > "$WORK/dups"
admin "$P" PUT /_test/faults '{"delay_ms":30,"path":"_bulk"}' > /dev/null
before=$(stat_of "$P" same_id_overlaps)
"$DIP" es load dups --chunk-size 150 --concurrency 4 < "$WORK/dups" > /dev/null 2> "$WORK/dups.err"
expect_eq "$?" 0 "repeated ids: load exit 0"
admin "$P" DELETE /_test/faults > /dev/null
expect_eq "$(stat_of "$P" same_id_overlaps)" "$before" "server saw no bulk overlapping another on the same _id"
check "bulk requests really overlapped (max_concurrent_requests >= 2)" \
  test "$(stat_of "$P" max_concurrent_requests)" -ge 2
"$DIP" es dump dups > "$WORK/dups.dump"
check "the last write of each _id won (order held)" same_docs "$WORK/dups" "$WORK/dups.dump"

# ---- 413: a server accepting 64 KB bodies splits 3,000-doc batches; a lone giant is a dead letter
es_start small "$FLAVOUR" --max-body 65536
export ELASTICSEARCH_URL=http://127.0.0.1:$PORT_small
load_check "413 split" split413 --no-compress --chunk-size 3000
expect_grep "413: batches were split" '[1-9][0-9]* splits' "$WORK/split413.err"
$PY -c 'import json; print(json.dumps({"_id":"giant","_source":{"pad":"g"*100000}}))' |
  "$DIP" es load giant --dead-letters --no-compress > /dev/null 2> "$WORK/giant.err"
expect_eq "$?" 0 "a document larger than the server's limit: load exit 0"
expect_eq "$(psql -XAtq -c "SELECT status FROM dip_es_dead_letters WHERE doc_id = 'giant'")" 413 "... and it is a dead letter (413)"
export ELASTICSEARCH_URL=http://127.0.0.1:$P

# ---- dead letters re-sent after a mapping fix (strict mapping refuses an unknown field)
"$DIP" es index-create strict --body - <<'EOF'
{"settings":{"number_of_shards":1},"mappings":{"dynamic":"strict","properties":{"n":{"type":"long"},"t":{"type":"keyword"}}}}
EOF
expect_eq "$?" 0 "index-create with settings and mappings"
$PY -c '
import json
for i in range(100):
    src = {"n": i, "t": "x%d" % i}
    if i % 10 == 0: src["extra"] = "new field %d" % i
    print(json.dumps({"_id": "s%d" % i, "_source": src}))' > "$WORK/strict"
"$DIP" es load strict --dead-letters < "$WORK/strict" > /dev/null 2> "$WORK/strict.err"
expect_eq "$?" 0 "strict load with dead letters: exit 0"
expect_eq "$("$DIP" es count strict)" 90 "90 accepted"
expect_eq "$(psql -XAtq -c "SELECT count(*) FROM dip_es_dead_letters WHERE index_name = 'strict' AND error_type = 'strict_dynamic_mapping_exception'")" 10 "10 dead letters (strict_dynamic_mapping_exception)"
"$DIP" es dead-letters > "$WORK/dl.list" 2>&1
expect_grep "dead-letters lists them" 'strict.*s10.*index.*400' "$WORK/dl.list"
echo '{"properties":{"extra":{"type":"text"}}}' | "$DIP" es mapping-put strict --body -
expect_eq "$?" 0 "mapping-put adds the field"
"$DIP" es dead-letters --retry > "$WORK/dl.retry" 2>&1
expect_grep "dead-letters --retry re-sends the 10 (and the other letters stay refused)" '^resent 1[0-9], refused again' "$WORK/dl.retry"
expect_eq "$(psql -XAtq -c "SELECT count(*) FROM dip_es_dead_letters WHERE index_name = 'strict'")" 0 "strict letters gone from the table"
"$DIP" es refresh strict
expect_eq "$("$DIP" es count strict)" 100 "all 100 in the index"
expect_eq "$(psql -XAtq -c "SELECT max(attempts) FROM dip_es_dead_letters WHERE index_name = 'out'")" 2 "letters refused again count an attempt"

# ---- index and alias management
"$DIP" es index-create idx_a --body - <<< '{"aliases":{"books":{}}}' && "$DIP" es index-create idx_b
expect_eq "$?" 0 "two indices created"
"$DIP" es exists idx_a > /dev/null; expect_eq "$?" 0 "exists: yes"
"$DIP" es exists idx_nope > /dev/null; expect_eq "$?" 5 "exists: no (exit 5)"
echo '{"_id":"b1","_source":{"t":"in b"}}' | "$DIP" es load idx_b > /dev/null 2>&1
"$DIP" es alias-swap books idx_b; expect_eq "$?" 0 "alias-swap"
expect_eq "$(admin "$P" GET /_alias/books | $PY -c 'import json,sys; print(",".join(sorted(json.load(sys.stdin))))')" idx_b "alias moved atomically to idx_b only"
expect_eq "$("$DIP" es count books)" 1 "count through the alias"
"$DIP" es indices > "$WORK/indices"
expect_grep "indices lists the alias" '^idx_b .* books' "$WORK/indices"
"$DIP" es index-delete idx_a; expect_eq "$?" 0 "index-delete"
"$DIP" es index-create 'Bad*Name' > "$WORK/badname" 2>&1
expect_eq "$?" 3 "an index name the engine refuses: exit 3"
expect_grep "... naming host and the engine's reason" "127.0.0.1: PUT /Bad%2AName: expected 2xx, got 400 invalid_index_name_exception" "$WORK/badname"
"$DIP" es dump out --limit 2 > "$WORK/lim"
expect_eq "$(wc -l < "$WORK/lim")" 2 "dump --limit 2"

# ---- auth: every method, right and wrong credentials, no secret anywhere
auth_case() { # NAME SERVER-ARGS ENV-GOOD ENV-BAD SECRET
  local name=$1 sargs=$2 good=$3 badenv=$4 secret=$5
  # shellcheck disable=SC2086
  es_start "auth_$name" "$FLAVOUR" $sargs
  local pv="PORT_auth_$name" out="$WORK/auth_$name"
  local url=http://127.0.0.1:${!pv}
  env $good ELASTICSEARCH_URL="$url" "$DIP" es ping > "$out.ping" 2>&1
  expect_eq "$?" 0 "auth $name: ping"
  gen_docs 200 | env $good ELASTICSEARCH_URL="$url" "$DIP" --log-level debug es load a > "$out.load" 2>&1
  expect_eq "$?" 0 "auth $name: load"
  env $badenv ELASTICSEARCH_URL="$url" ELASTICSEARCH_MAX_RETRIES=1 "$DIP" es ping > "$out.bad" 2>&1
  expect_eq "$?" 2 "auth $name: wrong credentials exit 2"
  expect_grep "auth $name: the error names host and 401/403" '127\.0\.0\.1.*40[13]' "$out.bad"
  if grep -rqF -- "$secret" "$out".*; then bad "auth $name: a secret leaked into output"; else ok "auth $name: no secret in any output"; fi
  es_stop "auth_$name"
}
auth_case basic "--auth-basic elastic:pw-SECRET-1" \
  "ELASTICSEARCH_USER=elastic ELASTICSEARCH_PASSWORD=pw-SECRET-1" \
  "ELASTICSEARCH_USER=elastic ELASTICSEARCH_PASSWORD=wrong-SECRET-1" pw-SECRET-1
expect_grep "auth basic: ping shows the user only" '^auth: basic \(user elastic\)' "$WORK/auth_basic.ping"
auth_case apikey "--auth-apikey kid:key-SECRET-2" \
  "ELASTICSEARCH_API_KEY_ID=kid ELASTICSEARCH_API_KEY=key-SECRET-2" \
  "ELASTICSEARCH_API_KEY_ID=kid ELASTICSEARCH_API_KEY=bad-SECRET-2" key-SECRET-2
encoded=$(printf 'kid:key-SECRET-2' | base64)
es_start apienc "$FLAVOUR" --auth-apikey kid:key-SECRET-2
ELASTICSEARCH_URL=http://127.0.0.1:$PORT_apienc ELASTICSEARCH_API_KEY=$encoded "$DIP" es ping > "$WORK/apienc.out" 2>&1
expect_eq "$?" 0 "auth api key (encoded form)"
es_stop apienc
auth_case bearer "--auth-bearer tok-SECRET-3" "ELASTICSEARCH_BEARER_AUTH=tok-SECRET-3" \
  "ELASTICSEARCH_BEARER_AUTH=bad-SECRET-3" tok-SECRET-3
sig_env="AWS_ACCESS_KEY_ID=AKIDTESTKEY1 AWS_SECRET_ACCESS_KEY=sig-SECRET-4 ELASTICSEARCH_AWS_REGION=eu-west-1"
auth_case sigv4 "--sigv4 eu-west-1:es:AKIDTESTKEY1:sig-SECRET-4" "OPENSEARCH_AWS_HOSTED=true $sig_env" \
  "OPENSEARCH_AWS_HOSTED=true AWS_ACCESS_KEY_ID=AKIDTESTKEY1 AWS_SECRET_ACCESS_KEY=bad-SECRET-4 ELASTICSEARCH_AWS_REGION=eu-west-1" sig-SECRET-4
expect_grep "auth sigv4: ping shows service and region" '^auth: aws sigv4 \(service es, region eu-west-1' "$WORK/auth_sigv4.ping"
es_start aoss "$FLAVOUR" --sigv4 eu-west-1:aoss:AKIDTESTKEY1:sig-SECRET-5
gen_docs 100 | env OPENSEARCH_AWS_SERVERLESS=true AWS_ACCESS_KEY_ID=AKIDTESTKEY1 \
  AWS_SECRET_ACCESS_KEY=sig-SECRET-5 ELASTICSEARCH_AWS_REGION=eu-west-1 \
  ELASTICSEARCH_URL=http://127.0.0.1:$PORT_aoss "$DIP" es load srv > "$WORK/aoss.out" 2>&1
expect_eq "$?" 0 "auth sigv4 aoss (serverless): load accepted by the verifier"
gen_docs 100 | env OPENSEARCH_AWS_SERVERLESS=true AWS_ACCESS_KEY_ID=AKIDTESTKEY1 \
  AWS_SECRET_ACCESS_KEY=sig-SECRET-5 ELASTICSEARCH_AWS_REGION=eu-west-1 \
  ELASTICSEARCH_URL=http://127.0.0.1:$PORT_aoss "$DIP" es load srv2 --no-compress >> "$WORK/aoss.out" 2>&1
expect_eq "$?" 0 "auth sigv4 aoss without gzip (payload hash of the plain body): accepted"
if grep -qF sig-SECRET "$WORK/aoss.out"; then bad "aoss: secret leaked"; else ok "aoss: no secret in output"; fi
if psql -XAtq -c "SELECT * FROM dip_es_dead_letters" | grep -qE 'SECRET'; then bad "a secret in the dead-letter table"; else ok "no secret in the dead-letter table"; fi

# ---- TLS: verified by default; a self-signed server fails clearly until its CA is given
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" > /dev/null 2>&1
es_start tls "$FLAVOUR" --tls-cert "$WORK/tls.crt" --tls-key "$WORK/tls.key"
TURL=https://127.0.0.1:$PORT_tls
ELASTICSEARCH_URL=$TURL ELASTICSEARCH_MAX_RETRIES=1 "$DIP" es ping > "$WORK/tls.bad" 2>&1
expect_eq "$?" 2 "TLS: unverifiable certificate refused (exit 2)"
expect_grep "TLS: the error names host and the certificate problem" '127\.0\.0\.1.*(certificate|SSL)' "$WORK/tls.bad"
ELASTICSEARCH_URL=$TURL ELASTICSEARCH_CA_CERTS=$WORK/tls.crt "$DIP" es ping > "$WORK/tls.ok" 2>&1
expect_eq "$?" 0 "TLS: verified with ELASTICSEARCH_CA_CERTS"
expect_grep "TLS: ping says verified" '^tls: verified' "$WORK/tls.ok"
gen_docs 300 | ELASTICSEARCH_URL=$TURL ELASTICSEARCH_CA_CERTS=$WORK/tls.crt "$DIP" es load tlsidx > /dev/null 2>&1
expect_eq "$?" 0 "TLS: bulk load over verified TLS"
ELASTICSEARCH_URL=$TURL ELASTICSEARCH_VERIFY_CERTS=false "$DIP" es ping > "$WORK/tls.nv" 2>&1
expect_eq "$?" 0 "TLS: ELASTICSEARCH_VERIFY_CERTS=false connects"
expect_grep "TLS: ping warns it is not verified" '^tls: NOT verified' "$WORK/tls.nv"

finish
