# lib_s3.sh: shared setup for the store shell tests: a private s3rver under a temp dir,
# cleaned up on exit; helpers to fail with a message. Sourced, not run.
set -euo pipefail
TOOL="$1"; SRC="$2"
[ -x "$TOOL" ] || { echo "store_tool not found: $TOOL" >&2; exit 1; }
# tests talk only to loopback: never route them through a proxy from the environment
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy || true
WORK="$(mktemp -d "${TMPDIR:-/tmp}/dip-store-test.XXXXXX")"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  "$SRC/scripts/s3rver.sh" stop "$WORK/s3" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
eval "$("$SRC/scripts/s3rver.sh" start "$WORK/s3" dip-test,other-bucket)"
export DELTA_CLIENT_WRITE_RETRIES=0 DELTA_CLIENT_WRITE_RETRY_DELAY=0.05
export DIP_S3_CONNECT_TIMEOUT=5 DIP_S3_STALL_TIMEOUT=5
unset AWS_SESSION_TOKEN AWS_S3_ADDRESSING_STYLE DIP_S3_LIST_MAX_KEYS || true
NCHECK=0
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { NCHECK=$((NCHECK + 1)); }
# run the tool with a time bound so no check can hang the suite
tool() { timeout 120 "$TOOL" "$@"; }
