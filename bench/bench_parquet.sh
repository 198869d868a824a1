#!/usr/bin/env bash
# bench_parquet.sh (`make bench-parquet`): decode speed of `dip parquet check` next to DuckDB
# on two 10-million-row files written by arrow-rs (bench/parquet/gen_bench.mjs):
# (a) snappy, page v1, writer defaults; (b) zstd, page v2, DELTA / BYTE_STREAM_SPLIT.
# The files are cached in build/bench-data/ (delete them to regenerate). A benchmark, not a
# test: it prints figures and asserts nothing about them.
#   BENCH_ROWS=10000000 BENCH_RUNS=3 BUILD=build bench/bench_parquet.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${BUILD:-$repo/build}" && pwd)
rows=${BENCH_ROWS:-10000000}
runs=${BENCH_RUNS:-3}
data=$build/bench-data
dip=$build/dip
if [ ! -x "$dip" ]; then
  echo "bench_parquet: $dip not built (run make)" >&2
  exit 1
fi
cd "$repo"
node bench/parquet/gen_bench.mjs "$data" "$rows"
node bench/parquet/run_bench.mjs --dip "$dip" --runs "$runs" "$data/a_$rows.parquet" "$data/b_$rows.parquet"
