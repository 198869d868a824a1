-- run_get.sql: one run by its id (a sharded run named by a --task), columns as run_latest.sql.
SELECT run_id, mode, coalesce(base_version, -1),
       (last_synced_item->>'version')::bigint,
       last_synced_item->>'file',
       coalesce((extract(epoch FROM (last_synced_item->>'ldts')::timestamptz) * 1000000)::bigint, 0),
       n_input_records, n_output_records, n_inserted, n_updated, n_unchanged, n_deleted,
       sync_finished, model_sha256, coalesce(shards, 0), coalesce(parent_run_id, 0),
       coalesce(shard, -1), input_delta_table, output_postgres_table
  FROM dip_sync_runs
 WHERE run_id = $1;
