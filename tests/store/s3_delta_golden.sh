#!/usr/bin/env bash
# s3_delta_golden.sh DIP SOURCE_DIR: issue 3's "the same suite with the tables served by
# s3rver over s3:// passes its rows cases". Every `rows` case of ../shared/delta-golden is
# uploaded to s3rver (SigV4 verified) and read back with `dip delta cat s3://...`, then
# compared with Spark's rows by compare.py. Cases in tests/delta/known_failures.txt (the
# local reader's known failures) are tolerated, as in tests/delta/golden.sh.
set -euo pipefail
DIP="$1"; SRC="$2"
SHARED="${DIP_SHARED:-$SRC/../shared}"
SUITE="$SHARED/delta-golden"
[ -f "$SUITE/compare.py" ] || { echo "delta-golden not found at $SUITE (set DIP_SHARED)" >&2; exit 1; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy || true
WORK="$(mktemp -d "${TMPDIR:-/tmp}/dip-s3-golden.XXXXXX")"
trap '"$SRC/scripts/s3rver.sh" stop "$WORK/s3" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
eval "$("$SRC/scripts/s3rver.sh" start "$WORK/s3" dip-golden)"
unset AWS_SESSION_TOKEN AWS_S3_ADDRESSING_STYLE DIP_S3_LIST_MAX_KEYS || true
export DELTA_CLIENT_WRITE_RETRIES=2 DELTA_CLIENT_WRITE_RETRY_DELAY=0.1 DIP_S3_STALL_TIMEOUT=10
export S3W_DIP="$DIP" S3W_SRC="$SRC" S3W_STATE="$WORK/s3" S3W_BUCKET=dip-golden
# small pages so the _delta_log listings of the bigger tables span several pages
export DIP_S3_LIST_MAX_KEYS="${DIP_S3_LIST_MAX_KEYS_GOLDEN:-7}"

rows_cases="$(awk -F'\t' '$2 == "rows" {print $1}' "$SUITE/cases.tsv")"
n_rows="$(printf '%s\n' "$rows_cases" | grep -c .)"
# 71 rows cases today: fewer means the suite moved or shrank, not that dip got better
[ "$n_rows" -ge 71 ] || { echo "only $n_rows rows cases in $SUITE/cases.tsv, expected at least 71" >&2; exit 1; }
only="^($(printf '%s\n' "$rows_cases" | sed 's/[.[\*^$()+?{|]/\\&/g' | paste -sd '|'))$"
set +e
out="$(python3 "$SUITE/compare.py" --suite "$SUITE" --timeout 120 --only "$only" \
        --cmd "bash $SRC/tests/store/s3-table-wrapper.sh {table}" 2>&1)"
set -e
echo "$out"
known=()
if [ -f "$SRC/tests/delta/known_failures.txt" ]; then
  while read -r line; do
    line="${line%%#*}"; line="$(echo "$line" | tr -d '[:space:]')"
    [ -n "$line" ] && known+=("$line")
  done < "$SRC/tests/delta/known_failures.txt"
fi
passed="$(grep -c '^pass ' <<< "$out" || true)"
unexpected=0
while read -r name; do
  [ -z "$name" ] && continue
  k=0; for x in "${known[@]:-}"; do [ "$x" = "$name" ] && k=1; done
  if [ "$k" = 1 ]; then echo "known failure: $name"; else echo "UNEXPECTED failure over s3: $name"; unexpected=$((unexpected + 1)); fi
done < <(grep '^FAIL ' <<< "$out" | awk '{print $2}')
echo "s3 golden: $passed of $n_rows rows cases passed over s3://, $unexpected unexpected failures"
[ "$unexpected" -eq 0 ] || exit 1
# the filter must really have selected every rows case
[ "$(grep -cE '^(pass|FAIL) ' <<< "$out")" -eq "$n_rows" ] || { echo "expected $n_rows cases to run" >&2; exit 1; }
