#!/usr/bin/env bash
# s3-table-wrapper.sh TABLE_DIR [DIP ARGS..]: compare.py's --cmd for the golden suite over
# S3. Uploads the local table TABLE_DIR (compare.py's {table}, .../NAME/delta) to s3rver
# under a fresh prefix, then runs `dip delta cat s3://BUCKET/PREFIX [ARGS]`, so the rows come
# from S3, not from the local copy. Environment (set by s3_delta_golden.sh): S3W_DIP (dip
# binary), S3W_SRC (source tree), S3W_STATE (s3rver state dir), S3W_BUCKET, and the AWS_*
# lines of scripts/s3rver.sh.
set -euo pipefail
table="${1:?usage: s3-table-wrapper.sh TABLE_DIR}"; shift
name="$(basename "$(dirname "$table")")"
prefix="golden/${name}-$$-${RANDOM}"
"$S3W_SRC/scripts/s3rver.sh" upload "$S3W_STATE" "$table" "s3://$S3W_BUCKET/$prefix" 2>/dev/null ||
  { echo "s3-table-wrapper: upload of $table failed" >&2; exit 1; }
exec "$S3W_DIP" delta cat "s3://$S3W_BUCKET/$prefix" "$@"
