-- run_latest.sql: the latest run for an input/output pair ($3 = 't' for finished runs only);
-- a shard's own row is never "the latest run" (its sharded run's row is).
SELECT {{columns}}
  FROM dip_sync_runs
 WHERE input_delta_table = $1 AND output_postgres_table = $2 AND parent_run_id IS NULL
   AND (sync_finished OR NOT $3::boolean)
 ORDER BY run_id DESC
 LIMIT 1;
