-- run_shard_plan_get.sql: what a shard and the finalize step need of a sharded run's plan.
SELECT coalesce((shard_plan->>'gold_empty')::boolean, false),
       coalesce((shard_plan->>'propagate_deletes')::boolean, false),
       coalesce(shard_plan->>'plan_sha256', '')
  FROM dip_sync_runs
 WHERE run_id = $1;
