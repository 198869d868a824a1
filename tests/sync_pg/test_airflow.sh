#!/usr/bin/env bash
# test_airflow.sh DIP SRC: python3 unittest of contrib/airflow/dip_airflow.py with a real dip
# and a private PostgreSQL.
DIP=$1
SRC=$2
. "$SRC/tests/sync_pg/lib.sh"
$MT create "$WORK/records.delta" --rows 500 --files 4
export DIP_BIN=$DIP DIP_SRC=$SRC DIP_SYNC_PG_SOURCE=$WORK/records.delta AIRFLOW_MT="$MT"
cd "$WORK" && python3 "$SRC/tests/sync_pg/test_airflow.py" -v 2>&1
