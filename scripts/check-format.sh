#!/usr/bin/env bash
# check-format.sh: the C sources match .clang-format (part of `make check`, also
# `make format-check`). clang-format is pinned to major version 14 (Debian bookworm's
# clang-format package): other versions lay out the same .clang-format differently, so a
# tree clean under one would fail under another. CLANG_FORMAT=... picks the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
CF=${CLANG_FORMAT:-clang-format}
PINNED=14
command -v "$CF" > /dev/null || { echo "check-format: $CF not found (make deps installs clang-format $PINNED)" >&2; exit 1; }
ver=$("$CF" --version)
major=$(sed -n 's/.*clang-format version \([0-9][0-9]*\)\..*/\1/p' <<< "$ver")
if [ "$major" != "$PINNED" ]; then
  echo "check-format: '$ver' is not clang-format $PINNED: layouts differ between major" \
       "versions, so the check would be meaningless (set CLANG_FORMAT to a $PINNED binary)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 'fuzz/*.c' 'bench/*.c')
if ! "$CF" --dry-run --Werror "${files[@]}" 2> /tmp/check-format.$$; then
  grep -E '^[^ ].*: (error|warning):' /tmp/check-format.$$ | cut -d: -f1 | sort | uniq -c |
    sed 's/^/  /' >&2
  echo "check-format: the files above differ from .clang-format: run \`make format\`" >&2
  rm -f /tmp/check-format.$$
  exit 1
fi
rm -f /tmp/check-format.$$
echo "check-format: ${#files[@]} files clean (clang-format $major)"
