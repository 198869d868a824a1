#!/usr/bin/env bash
# log_cli.sh DIP REPO: `dip delta info|files|history` on golden tables whose expectations
# are known from cases.tsv notes (log-only tables, path canonicalisation, DV keys, time
# travel, refusals). Needs no data files.
set -u
. "$(dirname "$0")/lib.sh"

jfield() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
nlines() { wc -l | tr -d ' '; }

t=$(table snapshot-data3)
expect_eq "snapshot-data3 version" "$("$DIP" delta info "$t" --json | jfield version)" 3
expect_eq "snapshot-data3 files" "$("$DIP" delta files "$t" | nlines)" 4
expect_eq "snapshot-data3 ldts source" "$("$DIP" delta info "$t" --json | jfield ldts_source)" \
  commitInfo.timestamp

t=$(table log-replay-dv-key-cases)
expect_eq "dv-key-cases live files" "$("$DIP" delta files "$t" | nlines)" 1
expect_eq "dv-key-cases rows from stats minus DV cardinality" \
  "$("$DIP" delta info "$t" --json | jfield rows)" 47
expect_eq "dv-key-cases reader features" \
  "$("$DIP" delta info "$t" --json | jfield reader_features)" "['deletionVectors']"

for c in normal-a normal-b special-a special-b; do
  t=$(table canonicalized-paths-$c)
  expect_eq "canonicalized-paths-$c files at latest (remove of file:/ path)" \
    "$("$DIP" delta files "$t" | nlines)" 0
  expect_eq "canonicalized-paths-$c files at v0" "$("$DIP" delta files "$t" --version 0 | nlines)" 1
done

t=$(table delete-re-add-same-file-different-transactions)
out=$("$DIP" delta files "$t" --json)
expect_eq "delete-re-add live files" "$(nlines <<<"$out")" 2
expect_eq "delete-re-add foo modificationTime" \
  "$(grep '"path":"foo"' <<<"$out" | jfield modification_time)" 1700000000000

t=$(table log-replay-special-characters-b)
expect_eq "special characters decoded once" "$("$DIP" delta files "$t" --json | jfield path)" \
  "special p@#h"

t=$(table data-reader-partition-values)
expect_eq "partition columns in schema order" \
  "$("$DIP" delta info "$t" --json | jfield partition_columns)" \
  "['as_int', 'as_long', 'as_byte', 'as_short', 'as_boolean', 'as_float', 'as_double', 'as_string', 'as_string_lit_null', 'as_date', 'as_timestamp', 'as_big_decimal']"

t=$(table time-travel-start-start20-start40)
expect_eq "time travel --version 0 files" "$("$DIP" delta files "$t" --version 0 | nlines)" 2
expect_eq "time travel --version 1 files" "$("$DIP" delta files "$t" --version 1 | nlines)" 4
expect_eq "latest files" "$("$DIP" delta files "$t" | nlines)" 6
# commit 1 is at 2020-10-26T14:53:41.190Z (commitInfo.timestamp)
expect_eq "--timestamp at commit 1" \
  "$("$DIP" delta info "$t" --timestamp '2020-10-26 14:53:41.190' --json | jfield version)" 1
expect_eq "--timestamp just before commit 1" \
  "$("$DIP" delta info "$t" --timestamp 1603724021189 --json | jfield version)" 0
expect_eq "history lines" "$("$DIP" delta history "$t" | nlines)" 3
expect_fail "--timestamp before the first commit" 5 "no version at or before" -- \
  "$DIP" delta info "$t" --timestamp 1000
expect_fail "--version past the end" 5 "version 7 does not exist" -- \
  "$DIP" delta info "$t" --version 7

# refusals from cases.tsv (error cases that need no data files)
expect_fail "invalid protocol version" 3 "minReaderVersion 99" -- \
  "$DIP" delta info "$(table deltalog-invalid-protocol-version)"
expect_fail "no metaData" 3 "no metaData" -- \
  "$DIP" delta info "$(table deltalog-state-reconstruction-without-metadata)"
expect_fail "no protocol" 3 "no protocol" -- \
  "$DIP" delta info "$(table deltalog-state-reconstruction-without-protocol)"
expect_fail "versions not contiguous" 3 "00000000000000000001.json: missing" -- \
  "$DIP" delta info "$(table versions-not-contiguous)"
expect_fail "no _delta_log" 5 "not a Delta table" -- \
  "$DIP" delta info "$(table no-delta-log-folder)"
expect_fail "missing table" 5 "not a Delta table" -- "$DIP" delta info "$WORK/does-not-exist"

finish
