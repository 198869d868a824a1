# lib.sh: start and stop the ES test server from test scripts (sourced).
#   esd_start NAME FLAVOUR DIR [server args...]  -> sets ESD_PORT_<NAME>, ESD_PID_<NAME>
#   esd_stop NAME [SIGNAL]                        stop it (TERM by default) and wait (60 s at most)
#   esd_stop_all                                  stop every server this script started
# Bounded: waits at most 20 s for "listening PORT".
ESD_REPO="${ESD_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
ESD_NAMES=()

esd_start() {
  local name="$1" flavour="$2" dir="$3"
  shift 3
  local out="$dir.out"
  mkdir -p "$dir"
  : >"$out"
  "$ESD_REPO/scripts/es-test-server" --port 0 --data "$dir" --flavour "$flavour" "$@" >"$out" 2>"$dir.err" &
  local pid=$!
  local i
  for i in $(seq 1 200); do
    if grep -q '^listening ' "$out"; then
      printf -v "ESD_PORT_$name" '%s' "$(awk '/^listening /{print $2}' "$out")"
      printf -v "ESD_PID_$name" '%s' "$pid"
      ESD_NAMES+=("$name")
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "es-test-server ($name) exited: $(cat "$dir.err")" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "es-test-server ($name) did not say 'listening' within 20 s" >&2
  kill "$pid" 2>/dev/null
  return 1
}

esd_stop() {
  local name="$1" sig="${2:-TERM}" var="ESD_PID_$1"
  local pid="${!var:-}"
  [ -n "$pid" ] || return 0
  kill -s "$sig" "$pid" 2>/dev/null || true
  local i
  # up to 60 s: a clean stop compacts DIR (about 1 s per 100 MB on an idle machine)
  for i in $(seq 1 600); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
  printf -v "ESD_PID_$name" '%s' ''
}

esd_stop_all() {
  local n
  for n in "${ESD_NAMES[@]}"; do esd_stop "$n"; done
}
