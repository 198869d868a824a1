-- run_start.sql: a new run row in dip_sync_runs; the backend config never holds a password.
-- $16..$18: a shard's sharded run and shard id, and the shard count ('' = none).
INSERT INTO dip_sync_runs (input_delta_table, output_postgres_table, output_db_backend_config,
                           mode, base_version, model_sha256, n_input_records,
                           n_output_records, n_inserted, n_updated, n_unchanged, n_deleted,
                           last_synced_item, parent_run_id, shard, shards)
VALUES ($1, $2, $3::jsonb, $4, nullif($5, '')::bigint, $6, $7, $8, $9, $10, $11, $12,
        jsonb_build_object('version', $13::bigint, 'file', nullif($14, ''), 'ldts', $15::timestamptz),
        nullif($16, '')::bigint, nullif($17, '')::integer, nullif($18, '')::integer)
RETURNING run_id;
