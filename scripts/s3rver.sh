#!/usr/bin/env bash
# s3rver.sh: a private S3 server for tests, demos and benchmarks: @20minutes/s3rver from
# the repo's node_modules on 127.0.0.1, on a port the kernel picks, with its data under DIR.
# s3rver verifies SigV4 signatures (key pair S3RVER / S3RVER).
#
#   scripts/s3rver.sh start DIR [BUCKET[,BUCKET..]]   start; prints env lines to `eval`
#   scripts/s3rver.sh env DIR                         print the env lines again
#   scripts/s3rver.sh upload DIR LOCAL_DIR s3://bucket/prefix   upload a tree (signed PUTs)
#   scripts/s3rver.sh proxy DIR [RULES_JSON]           start scripts/s3-fault-proxy.mjs in
#                                                     front of it; prints env lines that point
#                                                     AWS_ENDPOINT_URL at the proxy
#   scripts/s3rver.sh faults DIR RULES_JSON           replace the proxy's fault rules
#   scripts/s3rver.sh stats DIR                       the proxy's counters (JSON)
#   scripts/s3rver.sh stop DIR                        stop the server (and proxy) in DIR
#
# The env lines: AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
# S3RVER_PORT, S3RVER_BUCKET. Callers add a trap that runs `stop`. See docs/dev-s3.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"

usage() { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

print_env() {
  local dir="$1" port bucket
  port="$(cat "$dir/s3rver.port")"
  bucket="$(cat "$dir/s3rver.buckets")"
  cat <<ENV
export S3RVER_PORT=$port
export S3RVER_BUCKET=${bucket%%,*}
export AWS_ENDPOINT_URL=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=S3RVER
export AWS_SECRET_ACCESS_KEY=S3RVER
export AWS_REGION=us-east-1
ENV
}

cmd="${1:-}"
case "$cmd" in
start)
  [ $# -ge 2 ] || usage
  dir="$2"; buckets="${3:-dip-test}"
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/s3rver.pid" ] && kill -0 "$(cat "$dir/s3rver.pid")" 2>/dev/null; then
    echo "s3rver.sh: already running in $dir (pid $(cat "$dir/s3rver.pid"))" >&2; exit 1
  fi
  [ -d "$repo/node_modules/@20minutes/s3rver" ] || {
    echo "s3rver.sh: $repo/node_modules/@20minutes/s3rver missing: run npm ci" >&2; exit 1; }
  rm -f "$dir/s3rver.port"
  echo "$buckets" > "$dir/s3rver.buckets"
  # s3rver 4 still uses legacy OpenSSL digests on Node 17+: the legacy provider is required
  NODE_OPTIONS=--openssl-legacy-provider nohup node "$here/s3rver-run.cjs" \
    --directory "$dir/data" --port-file "$dir/s3rver.port" --buckets "$buckets" \
    > "$dir/s3rver.log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$dir/s3rver.pid"
  for _ in $(seq 1 150); do            # at most 15 s
    [ -s "$dir/s3rver.port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/s3rver.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$dir/s3rver.port" ] || {
    echo "s3rver.sh: s3rver did not start in 15 s" >&2; cat "$dir/s3rver.log" >&2
    kill "$pid" 2>/dev/null || true; exit 1; }
  print_env "$dir"
  ;;
env)
  [ $# -ge 2 ] || usage
  print_env "$2"
  ;;
upload)
  [ $# -ge 4 ] || usage
  dir="$2"
  eval "$(print_env "$dir")"
  NODE_OPTIONS=--openssl-legacy-provider node "$here/s3-upload.mjs" "$3" "$4"
  ;;
proxy)
  [ $# -ge 2 ] || usage
  dir="$(cd "$2" && pwd)"
  [ -s "$dir/s3rver.port" ] || { echo "s3rver.sh: no s3rver running in $dir" >&2; exit 1; }
  if [ -f "$dir/proxy.pid" ] && kill -0 "$(cat "$dir/proxy.pid")" 2>/dev/null; then
    echo "s3rver.sh: a proxy already runs in $dir (pid $(cat "$dir/proxy.pid"))" >&2; exit 1
  fi
  rm -f "$dir/proxy.port"
  FAULT_RULES="${3:-[]}" nohup node "$here/s3-fault-proxy.mjs" \
    --upstream "127.0.0.1:$(cat "$dir/s3rver.port")" --port-file "$dir/proxy.port" \
    > "$dir/proxy.log" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$dir/proxy.pid"
  for _ in $(seq 1 100); do            # at most 10 s
    [ -s "$dir/proxy.port" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/proxy.log" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$dir/proxy.port" ] || { echo "s3rver.sh: proxy did not start" >&2; kill "$pid"; exit 1; }
  print_env "$dir"
  echo "export S3_FAULT_PROXY_PORT=$(cat "$dir/proxy.port")"
  echo "export AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$dir/proxy.port")"
  ;;
faults)
  [ $# -ge 3 ] || usage
  curl -sS --fail --max-time 10 --noproxy '*' -X PUT --data-binary "$3" \
    "http://127.0.0.1:$(cat "$2/proxy.port")/__fault/rules" > /dev/null
  ;;
stats)
  [ $# -ge 2 ] || usage
  curl -sS --fail --max-time 10 --noproxy '*' "http://127.0.0.1:$(cat "$2/proxy.port")/__fault/stats"
  ;;
stop)
  [ $# -ge 2 ] || usage
  dir="$2"
  if [ -f "$dir/proxy.pid" ]; then
    kill "$(cat "$dir/proxy.pid")" 2>/dev/null || true
    rm -f "$dir/proxy.pid" "$dir/proxy.port"
  fi
  if [ -f "$dir/s3rver.pid" ]; then
    pid="$(cat "$dir/s3rver.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/s3rver.pid" "$dir/s3rver.port"
  fi
  ;;
*) usage ;;
esac
