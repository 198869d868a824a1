#!/usr/bin/env bash
# bad_logs.sh DIP REPO: damaged copies of golden tables. Each must fail with a clear error
# naming the file and the problem, a non-zero exit and no crash (ctest runs this under
# ASan/UBSan in build-asan too). Also checks what must NOT fail: a stale _last_checkpoint
# and an incomplete multi-part checkpoint with the commits still present (ignored per spec).
set -u
. "$(dirname "$0")/lib.sh"
log() { echo "$1/_delta_log/$(printf %020d "$2").json"; }

# 1. malformed JSON line in a commit
t=$(table snapshot-data3)
python3 - "$(log "$t" 2)" <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().split('\n')
lines[1] = lines[1][: len(lines[1]) // 2]   # cut the second action in half
open(p, 'w').write('\n'.join(lines))
PY
expect_fail "malformed JSON line" 3 \
  "00000000000000000002\.json: line 2: malformed JSON" -- "$DIP" delta info "$t"
expect_fail "malformed JSON line (cat)" 3 "00000000000000000002\.json: line 2" -- \
  "$DIP" delta cat "$t"
# time travel to before the damaged commit still works
expect_eq "time travel below the damaged commit" \
  "$("$DIP" delta files "$t" --version 1 | wc -l | tr -d ' ')" 4

# 1b. an action that is valid JSON but not an object / wrong types
t=$(table snapshot-data3)
echo '{"add":{"path":"x.parquet","size":"big"}}' >>"$(log "$t" 3)"
expect_fail "add with a non-integer size" 3 "00000000000000000003\.json.*no integer size" -- \
  "$DIP" delta info "$t"

# 2. a missing commit (gap)
t=$(table snapshot-data3)
rm "$(log "$t" 1)"
expect_fail "missing commit" 3 "00000000000000000001\.json: missing.*not contiguous" -- \
  "$DIP" delta info "$t"

# 3. a checkpoint part missing, with the commits before it cleaned up: unreadable
t=$(table multi-part-checkpoint)
rm "$t/_delta_log/00000000000000000001.checkpoint.0000000002.0000000002.parquet"
cp -r "$t" "$t.keep"
rm "$(log "$t" 0)"
expect_fail "multi-part checkpoint part missing" 3 \
  "00000000000000000000\.json: missing.*part 0000000002 of 2 missing" -- "$DIP" delta info "$t"
# ... but with commit 0 still there the incomplete checkpoint is ignored and replay works
expect_eq "incomplete checkpoint ignored, replay from commit 0" \
  "$("$DIP" delta info "$t.keep" --json 2>/dev/null |
     python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["version"], d["checkpoint_version"])')" \
  "1 None"

# 4. a deletion vector with a wrong checksum
t=$(table log-replay-dv-key-cases)
python3 - "$t"/deletion_vector_*.bin <<'PY'
import sys
for p in sys.argv[1:]:
    b = bytearray(open(p, 'rb').read())
    b[-1] ^= 0xFF          # last byte of the CRC-32 of the (only) DV in each file
    open(p, 'wb').write(bytes(b))
PY
expect_fail "DV checksum mismatch" 3 "deletion_vector_.*\.bin.*checksum mismatch" -- \
  "$DIP" delta cat "$t"

# 4b. a DV descriptor whose UUID is not Z85, and a DV file cut short
t=$(table log-replay-dv-key-cases)
# the live add (commit 3) carries DV ^jP?.<zvDfIGb{C.FPij; '~' is outside the Z85 alphabet
python3 - "$(log "$t" 3)" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
assert '^jP?.<zvDfIGb{C.FPij' in s
open(p, 'w').write(s.replace('^jP?.<zvDfIGb{C.FPij', '~' * 20))
PY
expect_fail "DV path not Z85" 3 "not valid Z85" -- "$DIP" delta cat "$t"
t=$(table log-replay-dv-key-cases)
for f in "$t"/deletion_vector_*.bin; do truncate -s 6 "$f"; done
expect_fail "DV file truncated" nz "deletion_vector_.*\.bin" -- "$DIP" delta cat "$t"

# 5. a protocol with an unknown reader feature: refused before any data is read (the data
# files are deleted, so reading any would give a different error)
t=$(table snapshot-data0)
echo '{"protocol":{"minReaderVersion":3,"minWriterVersion":7,"readerFeatures":["fancyNewFeature"],"writerFeatures":["fancyNewFeature"]}}' \
  >"$(log "$t" 1)"
rm -f "$t"/*.parquet
expect_fail "unknown reader feature" 3 "reader feature \"fancyNewFeature\" is not supported" -- \
  "$DIP" delta cat "$t"
t=$(table snapshot-data0)
echo '{"protocol":{"minReaderVersion":4,"minWriterVersion":7}}' >"$(log "$t" 1)"
expect_fail "reader version 4" 3 "minReaderVersion 4 is not supported" -- "$DIP" delta cat "$t"

# 6. _last_checkpoint is a hint only: stale, garbage or pointing nowhere changes nothing
t=$(table snapshot-data3)
echo '{"version":99,"size":3}' >"$t/_delta_log/_last_checkpoint"
expect_eq "stale _last_checkpoint ignored" \
  "$("$DIP" delta info "$t" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')" 3

# 7. empty commit file (a writer that creates the file before writing it), a blank one, a
# commit whose last line is cut, and a commit that is not JSON at all: not valid commits
# (issue 12: an empty commit read as "no actions" let sync-pg record the version as synced)
t=$(table snapshot-data3)
cp "$(log "$t" 3)" "$WORK/commit3.json"
: >"$(log "$t" 3)"
expect_fail "empty commit file" 3 \
  "00000000000000000003\.json: empty commit file holds no action \(0 bytes\)" -- "$DIP" delta info "$t"
expect_fail "empty commit file (files)" 3 "00000000000000000003\.json: empty commit" -- \
  "$DIP" delta files "$t"
printf '\n  \n' >"$(log "$t" 3)"
expect_fail "blank commit file" 3 "00000000000000000003\.json: blank commit file holds no action" -- \
  "$DIP" delta info "$t"
python3 - "$WORK/commit3.json" "$(log "$t" 3)" <<'PY'
import sys
data = open(sys.argv[1]).read().rstrip('\n').split('\n')
data[-1] = data[-1][: len(data[-1]) // 2]   # the last action cut in half, no newline
open(sys.argv[2], 'w').write('\n'.join(data))
PY
expect_fail "commit whose last line is cut" 3 "00000000000000000003\.json: line [0-9]*: malformed JSON" -- \
  "$DIP" delta info "$t"
head -c 200 /dev/urandom >"$(log "$t" 3)"
expect_fail "binary garbage commit" 3 "00000000000000000003\.json: line" -- "$DIP" delta info "$t"

finish
