-- run_shard_latest.sql: a shard's own row of a sharded run ($1 the run, $2 the shard id),
-- the latest when there are several; columns of run_columns.sql.
SELECT {{columns}}
  FROM dip_sync_runs
 WHERE parent_run_id = $1 AND shard = $2
 ORDER BY run_id DESC
 LIMIT 1;
