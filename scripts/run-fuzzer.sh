#!/usr/bin/env bash
# Runs one libFuzzer target for N seconds: scripts/run-fuzzer.sh NAME [SECONDS]
# (NAME = parquet, delta, ...). Starts from the committed seed corpus fuzz/corpus/NAME and
# a scratch corpus under build-fuzz/; a crash leaves its input in build-fuzz/crashes/NAME/.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1
secs=${2:-600}
bin=build-fuzz/fuzz/fuzz_$name
[ -x "$bin" ] || { echo "no fuzz target $bin (run make fuzz-build)"; exit 2; }
work=build-fuzz/corpus-work/$name
crashes=build-fuzz/crashes/$name
mkdir -p "$work" "$crashes"
dict=()
[ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
  -artifact_prefix="$crashes/" "${dict[@]}" "$work" "fuzz/corpus/$name"
