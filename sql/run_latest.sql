-- run_latest.sql: the latest run for an input/output pair ($3 = 't' for finished runs only).
SELECT run_id, mode, coalesce(base_version, -1),
       (last_synced_item->>'version')::bigint,
       last_synced_item->>'file',
       coalesce((extract(epoch FROM (last_synced_item->>'ldts')::timestamptz) * 1000000)::bigint, 0),
       n_input_records, n_output_records, n_inserted, n_updated, n_unchanged, n_deleted,
       sync_finished, model_sha256
  FROM dip_sync_runs
 WHERE input_delta_table = $1 AND output_postgres_table = $2
   AND (sync_finished OR NOT $3::boolean)
 ORDER BY run_id DESC
 LIMIT 1;
