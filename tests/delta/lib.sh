# lib.sh: shared helpers for the Delta shell tests (sourced). Finds the golden tables
# ($DIP_SHARED or <repo>/../shared), unpacks tables on demand into a temp dir removed on exit,
# and offers small assertions that print what was expected.
DIP=${1:?usage: $0 DIP_BINARY REPO_DIR}
REPO=${2:?usage: $0 DIP_BINARY REPO_DIR}
SHARED=${DIP_SHARED:-$REPO/../shared}
GOLDEN=$SHARED/delta-golden
[ -d "$GOLDEN/tables" ] || { echo "golden tables not found at $GOLDEN (set DIP_SHARED)"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dip-delta-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILS=0
CHECKS=0

# table NAME -> prints the path of a fresh unpacked copy's delta/ folder
table() {
  local name=$1 dest=$WORK/$1.$RANDOM
  mkdir -p "$dest"
  tar --zstd -xf "$GOLDEN/tables/$name.tar.zst" -C "$dest" 2>/dev/null
  echo "$dest/$name/delta"
}

pass() { CHECKS=$((CHECKS + 1)); echo "ok   $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL $*"; }

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
  if [ "$2" == "$3" ]; then pass "$1 = $3"; else fail "$1: got '$2', expected '$3'"; fi
}

# expect_fail WHAT RC_EXPECTED PATTERN -- cmd...: runs cmd, wants that exit code (or any
# non-zero when RC_EXPECTED is "nz"), no signal death, and PATTERN (ERE) in stderr
expect_fail() {
  local what=$1 want=$2 pat=$3
  shift 4
  local err rc
  err=$("$@" 2>&1 >/dev/null)
  rc=$?
  if [ $rc -eq 0 ]; then fail "$what: exit 0, expected failure"; return; fi
  if [ $rc -ge 128 ]; then fail "$what: died with exit $rc (signal?): $err"; return; fi
  if [ "$want" != nz ] && [ $rc -ne "$want" ]; then
    fail "$what: exit $rc, expected $want: $err"; return
  fi
  if ! grep -Eq -- "$pat" <<<"$err"; then fail "$what: stderr lacks /$pat/: $err"; return; fi
  pass "$what: exit $rc: $(head -c 300 <<<"$err")"
}

finish() {
  echo "$((CHECKS - FAILS)) of $CHECKS checks passed"
  [ $FAILS -eq 0 ]
}
