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
expect_fail "missing table" 5 "does-not-exist: no such file or directory" -- "$DIP" delta info "$WORK/does-not-exist"

# checkpoints (read through the Parquet reader)
ckinfo() { "$DIP" delta info "$1" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["version"], d["checkpoint_version"], d["checkpoint_kind"], d["num_files"], d["rows"])'; }
expect_eq "checkpoint table: v14 from checkpoint 10, 1 live file" \
  "$("$DIP" delta info "$(table checkpoint)" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["version"], d["checkpoint_version"], d["num_files"])')" "14 10 1"
expect_eq "classic checkpoint + commits" "$(ckinfo "$(table basic-with-inserts-deletes-checkpoint)")" "13 10 classic 7 41"
expect_eq "multi-part checkpoint" "$(ckinfo "$(table multi-part-checkpoint)")" "1 1 multi-part 10 31"
expect_eq "V2 JSON checkpoint with sidecars" "$(ckinfo "$(table v2-checkpoint-json)")" "2 2 v2-json 4 10"
expect_eq "V2 Parquet checkpoint with sidecars" "$(ckinfo "$(table v2-checkpoint-parquet)")" "2 2 v2-parquet 4 10"
expect_eq "DVs in a checkpoint" "$(ckinfo "$(table dv-with-columnmapping)")" "15 10 classic 15 35"
expect_eq "newest of two checkpoints" "$(ckinfo "$(table only-checkpoint-files)")" "2 2 classic 7 25"
t=$(table only-checkpoint-files)
expect_eq "time travel uses the older checkpoint" \
  "$("$DIP" delta info "$t" --version 1 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["checkpoint_version"])')" 1
expect_eq "empty _last_checkpoint file" "$(ckinfo "$(table corrupted-last-checkpoint-kernel)")" "11 10 classic 2 100"
expect_fail "checkpoint without metaData" 3 "no metaData action in its checkpoint" -- \
  "$DIP" delta info "$(table deltalog-state-reconstruction-from-checkpoint-missing-metadata)"
expect_fail "checkpoint without protocol" 3 "no protocol action in its checkpoint" -- \
  "$DIP" delta info "$(table deltalog-state-reconstruction-from-checkpoint-missing-protocol)"

# usage: `dip delta --help` prints it on stdout and exits 0, like `dip delta info --help`
expect_eq "dip delta --help usage line" "$("$DIP" delta --help | head -1 | cut -d' ' -f1-3)" "usage: dip delta"
expect_eq "dip delta --help exit" "$("$DIP" delta --help >/dev/null 2>&1; echo $?)" 0

finish
