-- run_shard_plan_set.sql: a sharded run's plan ($2: gold_empty, propagate_deletes,
-- plan_sha256 and each shard's files and bytes), written with its row.
UPDATE dip_sync_runs SET shard_plan = $2::jsonb WHERE run_id = $1;
