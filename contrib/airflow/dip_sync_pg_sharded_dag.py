"""An Airflow DAG (2.4+, TaskFlow) syncing one Delta table into PostgreSQL with dip in N
shards: plan -> one mapped task per shard (dynamic task mapping, `expand`) -> finalize.

Put this file and dip_airflow.py in the DAGs folder, dip on the workers' PATH (or DIP_BIN),
and the PG* variables in the workers' environment. Settings (Airflow Variables or env):
DIP_SYNC_PG_SOURCE (the Delta table URI), DIP_SYNC_PG_TABLE (optional gold table),
DIP_SYNC_PG_SHARDS (default 4).

- plan: `dip sync-pg --plan --shards N`; [] when the gold table is up to date (the mapped
  tasks are then skipped, and so is finalize).
- sync_shard: one mapped task per shard; Airflow retries a failed shard alone, and dip
  resumes it from its own resume point. Shards of one version run concurrently into one
  gold table without duplicates (a silver row lives in one file).
- finalize: marks the version synced once every shard finished (dip refuses before).
Not run here (no Airflow on the build machine): tests/sync_pg/test_airflow.py checks the shim
functions against a real dip and PostgreSQL, and builds this DAG against a stand-in of
airflow.decorators to check its wiring.
"""
import os
from datetime import datetime, timedelta

from airflow.decorators import dag, task

import dip_airflow

SHARDS = int(os.environ.get("DIP_SYNC_PG_SHARDS", "4"))


@dag(dag_id="dip_sync_pg_sharded", schedule="@hourly", start_date=datetime(2026, 1, 1),
     catchup=False, max_active_runs=1, tags=["dip"])
def dip_sync_pg_sharded():
    @task
    def plan():
        return dip_airflow.get_tasks(table=os.environ.get("DIP_SYNC_PG_TABLE"), shards=SHARDS)

    @task(retries=3, retry_delay=timedelta(minutes=2), retry_exponential_backoff=True)
    def sync_shard(shard_task):
        dip_airflow.process_task(shard_task)

    @task(retries=3, retry_delay=timedelta(minutes=1))
    def finalize(shard_tasks):
        dip_airflow.finalize(shard_tasks)

    tasks = plan()
    synced = sync_shard.expand(shard_task=tasks)
    synced >> finalize(tasks)


dip_sync_pg_sharded()
