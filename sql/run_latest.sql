-- run_latest.sql: the latest run for an input/output pair ($3 = 't' for finished runs only);
-- a shard's own row is never "the latest run" (its sharded run's row is).
SELECT run_id, mode, coalesce(base_version, -1),
       (last_synced_item->>'version')::bigint,
       last_synced_item->>'file',
       coalesce((extract(epoch FROM (last_synced_item->>'ldts')::timestamptz) * 1000000)::bigint, 0),
       n_input_records, n_output_records, n_inserted, n_updated, n_unchanged, n_deleted,
       sync_finished, model_sha256, coalesce(shards, 0), coalesce(parent_run_id, 0),
       coalesce(shard, -1), input_delta_table, output_postgres_table
  FROM dip_sync_runs
 WHERE input_delta_table = $1 AND output_postgres_table = $2 AND parent_run_id IS NULL
   AND (sync_finished OR NOT $3::boolean)
 ORDER BY run_id DESC
 LIMIT 1;
