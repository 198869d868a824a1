#!/usr/bin/env bash
# synthetic.sh DIP REPO: tables written by tests/delta/gen_synthetic.mjs (DuckDB data files,
# hand-built logs and deletion vectors) for what the golden tables do not cover: type
# widening + a later-added column, DVs of all three storage types (inline, relative with a
# prefix, absolute with two DVs in one file, DV rows across row groups), column mapping id
# mode resolved by Parquet field_id only; plus cat options and `dip delta diff`.
set -u
. "$(dirname "$0")/lib.sh"
[ -d "$REPO/node_modules/@duckdb/node-api" ] || { echo "node_modules missing (npm ci)"; exit 1; }
(cd "$REPO" && node tests/delta/gen_synthetic.mjs "$WORK/syn") >/dev/null || { echo "generator failed"; exit 1; }
COMPARE=$GOLDEN/compare.py

for t in widening dv-kinds id-mode dv-nested; do
  if "$DIP" delta cat "$WORK/syn/$t" >"$WORK/$t.out" 2>"$WORK/$t.err" &&
     python3 "$COMPARE" "$WORK/syn/$t/expected.jsonl" "$WORK/$t.out" >"$WORK/$t.cmp"; then
    pass "$t rows ($(cat "$WORK/$t.cmp"))"
  else
    fail "$t: $(cat "$WORK/$t.err" "$WORK/$t.cmp" 2>/dev/null | head -20)"
  fi
done

# time travel to before the widening reads the old types
expect_eq "widening at v0 (old schema)" "$("$DIP" delta cat "$WORK/syn/widening" --version 0 --columns a,d | head -1)" \
  '{"a":1,"d":"1.25"}'
expect_eq "--columns order and --limit" "$("$DIP" delta cat "$WORK/syn/dv-kinds" --columns id,f --limit 2)" \
  "$(printf '%s\n%s' '{"id":0,"f":"a"}' '{"id":1,"f":"a"}')"
expect_eq "--count equals the rows" "$("$DIP" delta cat "$WORK/syn/dv-kinds" --count)" 69
expect_eq "--count with --limit" "$("$DIP" delta cat "$WORK/syn/dv-kinds" --count --limit 25)" 25
expect_fail "--columns with an unknown column" 2 "no column named 'nope'" -- \
  "$DIP" delta cat "$WORK/syn/dv-kinds" --columns id,nope

# diff: the DVs attached at v1 make each file a different logical file
out=$("$DIP" delta diff "$WORK/syn/dv-kinds" --from 0 --to 1)
expect_eq "diff removed" "$(grep -c '^- ' <<<"$out")" 3
expect_eq "diff added (with DV ids)" "$(grep -c '^+ .*dv=' <<<"$out")" 3
expect_eq "diff of a version with itself" "$("$DIP" delta diff "$WORK/syn/dv-kinds" --from 1 --to 1 | wc -l | tr -d ' ')" 0
t=$(table snapshot-data2)
expect_eq "diff snapshot-data2 0->2 is files(2) - files(0)" \
  "$("$DIP" delta diff "$t" --from 0 --to 2 | grep '^+ ' | cut -c3- | sort)" \
  "$(comm -13 <("$DIP" delta files "$t" --version 0 | cut -f1 | sort) <("$DIP" delta files "$t" | cut -f1 | sort))"

# a widening the protocol does not allow (string stored, long declared) is refused
t="$WORK/syn/widening"
sed -i 's/\\"name\\":\\"n\\",\\"type\\":\\"string\\"/\\"name\\":\\"n\\",\\"type\\":\\"long\\"/' "$t/_delta_log/00000000000000000001.json"
expect_fail "string data read as long" 3 "column n: the file stores string, which cannot be read as the table type int64" -- \
  "$DIP" delta cat "$t"

# narrowing is not a widening: int values that do not fit a byte column are an error, and a
# decimal scale decrease is refused (no silent truncation)
t="$WORK/syn/widening"
sed -i 's/\\"name\\":\\"a\\",\\"type\\":\\"long\\"/\\"name\\":\\"a\\",\\"type\\":\\"byte\\"/' "$t/_delta_log/00000000000000000001.json"
expect_fail "wide int values read as byte" 3 "column a: row [0-9]+ of the row group: value [0-9]+ does not fit the table type int8" -- \
  "$DIP" delta cat "$t" --columns a
sed -i 's/\\"name\\":\\"d\\",\\"type\\":\\"decimal(10,4)\\"/\\"name\\":\\"d\\",\\"type\\":\\"decimal(10,1)\\"/' "$t/_delta_log/00000000000000000001.json"
expect_fail "decimal scale decrease" 3 "column d: the file stores decimal\([0-9]+,[24]\), which cannot be read as the table type decimal\(10,1\)" -- \
  "$DIP" delta cat "$t" --columns d

# LDTS sources: inCommitTimestamp wins over commitInfo.timestamp; no commitInfo -> file mtime
L="$WORK/ldts/_delta_log"
mkdir -p "$L"
cat >"$L/00000000000000000000.json" <<'J'
{"commitInfo":{"timestamp":1700000009999,"inCommitTimestamp":1700000000123,"operation":"CREATE TABLE"}}
{"protocol":{"minReaderVersion":1,"minWriterVersion":7,"writerFeatures":["inCommitTimestamp"]}}
{"metaData":{"id":"t","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":[],"configuration":{"delta.enableInCommitTimestamps":"true"}}}
J
echo '{"add":{"path":"x.parquet","partitionValues":{},"size":1,"modificationTime":1,"dataChange":true}}' \
  >"$L/00000000000000000001.json"
touch -d '2024-02-03 04:05:06 UTC' "$L/00000000000000000001.json"
ldts() { "$DIP" delta info "$WORK/ldts" "$@" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["ldts"], d["ldts_source"])'; }
expect_eq "LDTS from inCommitTimestamp" "$(ldts --version 0)" "2023-11-14T22:13:20.123000Z inCommitTimestamp"
expect_eq "LDTS from the commit file mtime" "$(ldts)" "2024-02-03T04:05:06.000000Z file modification time"
expect_eq "history sources" "$("$DIP" delta history "$WORK/ldts" | cut -f3 | tr '\n' ,)" \
  "file modification time,inCommitTimestamp,"

finish
