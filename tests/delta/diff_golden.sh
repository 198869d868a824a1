#!/usr/bin/env bash
# diff_golden.sh: delta_snapshot_diff's incremental path against the full diff on every
# version pair of every golden table (tests/delta/diff_check.c). Fails on any difference,
# and when fewer pairs ran (or fewer of them incrementally) than the tables hold today:
# 912 pairs, 881 of them incremental.
#   diff_golden.sh DIFF_CHECK_BINARY REPO_DIR
set -uo pipefail
CHECK=${1:?usage: $0 DIFF_CHECK_BINARY REPO_DIR}
REPO=${2:?usage: $0 DIFF_CHECK_BINARY REPO_DIR}
SHARED=${DIP_SHARED:-$REPO/../shared}
GOLDEN=$SHARED/delta-golden
MIN_PAIRS=912
MIN_INCREMENTAL=881
[ -d "$GOLDEN/tables" ] || { echo "golden tables not found at $GOLDEN (set DIP_SHARED)"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dip-delta-diff.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
for t in "$GOLDEN"/tables/*.tar.zst; do
  tar --zstd -xf "$t" -C "$WORK" 2>/dev/null || { echo "cannot unpack $t"; exit 1; }
done
out=$("$CHECK" "$WORK"/*/delta 2>/dev/null)
rc=$?
echo "$out" | sed "s|$WORK/||"
pairs=$(echo "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
read -r passed failed <<<"$pairs"
inc=$(echo "$out" | sed -n 's/^version pairs: \([0-9]*\) incremental.*/\1/p')
fails=0
[ "$rc" -eq 0 ] || fails=$((fails + 1))
if [ "$((passed + failed))" -lt "$MIN_PAIRS" ]; then
  echo "FAIL only $((passed + failed)) pairs ran (expected at least $MIN_PAIRS)"; fails=$((fails + 1))
fi
if [ "${inc:-0}" -lt "$MIN_INCREMENTAL" ]; then
  echo "FAIL only ${inc:-0} pairs went incremental (expected at least $MIN_INCREMENTAL)"; fails=$((fails + 1))
fi
[ "$fails" -eq 0 ]
