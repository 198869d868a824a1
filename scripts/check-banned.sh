#!/usr/bin/env bash
# Fails when src/ uses a banned libc call (STYLE.md): strcpy, strcat, sprintf, vsprintf,
# gets, atoi, atol, strtok. Use dip_snprintf, dip_strlcpy, Buf, dip_parse_i64 instead.
set -euo pipefail
cd "$(dirname "$0")/.."
hits=$(grep -rnE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|strtok)[[:space:]]*\(' \
  src --include='*.c' --include='*.h' | grep -v 'IGNORE-BANNED' || true)
if [ -n "$hits" ]; then
  echo "banned libc calls in src/:"
  echo "$hits"
  exit 1
fi
echo "banned-call check: clean"
