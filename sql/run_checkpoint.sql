-- run_checkpoint.sql: counters and resume point. Runs inside the transaction of a file's
-- last batch, so the resume point never runs ahead of the data it covers.
UPDATE dip_sync_runs
   SET n_input_records = $2, n_output_records = $3, n_inserted = $4, n_updated = $5,
       n_unchanged = $6, n_deleted = $7,
       last_synced_item = jsonb_build_object('version', $8::bigint, 'file', nullif($9, ''),
                                             'ldts', $10::timestamptz)
 WHERE run_id = $1;
