-- run_columns.sql: the columns of a dip_sync_runs row as run_from_row (src/pg/runmeta.c)
-- reads them; rendered into run_latest.sql, run_get.sql and run_shard_latest.sql.
run_id, mode, coalesce(base_version, -1),
       (last_synced_item->>'version')::bigint,
       last_synced_item->>'file',
       coalesce((extract(epoch FROM (last_synced_item->>'ldts')::timestamptz) * 1000000)::bigint, 0),
       n_input_records, n_output_records, n_inserted, n_updated, n_unchanged, n_deleted,
       sync_finished, model_sha256, coalesce(shards, 0), coalesce(parent_run_id, 0),
       coalesce(shard, -1), input_delta_table, output_postgres_table
