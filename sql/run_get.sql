-- run_get.sql: one run by its id (a sharded run named by a --task), columns of run_columns.sql.
SELECT {{columns}}
  FROM dip_sync_runs
 WHERE run_id = $1;
