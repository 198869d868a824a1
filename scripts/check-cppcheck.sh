#!/usr/bin/env bash
# check-cppcheck.sh: cppcheck over src/ (part of `make check`, also `make cppcheck`).
# Categories "warning" (likely bugs: null dereferences, uninitialised reads, leaks on
# paths, wrong printf arguments) and "portability"; any finding fails. Reviewed false
# positives go in scripts/cppcheck-suppressions.txt, one check in one file each, with why.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cppcheck > /dev/null || { echo "check-cppcheck: cppcheck not installed (make deps)" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cppcheck --quiet --std=c11 -j 2 --enable=warning,portability --inline-suppr \
  --suppressions-list=scripts/cppcheck-suppressions.txt \
  -I src -D__GNUC__ --error-exitcode=1 \
  --template='{file}:{line}: {severity}: {message} [{id}]' src/ 2> "$out" || true
if [ -s "$out" ]; then
  cat "$out" >&2
  echo "check-cppcheck: $(grep -c . "$out") finding(s) in src/ (fix them, or add a reviewed" \
       "suppression to scripts/cppcheck-suppressions.txt)" >&2
  exit 1
fi
echo "check-cppcheck: src/ clean ($(cppcheck --version))"
