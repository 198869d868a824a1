-- run_checkpoint.sql: counters and resume point. Runs inside the transaction of a file's
-- last batch, so the resume point never runs ahead of the data it covers. A commit in the
-- middle of a file records that file as partly loaded ($11, $12 rows of it) beside the
-- resume point, which stays at the last whole file: the next run reloads it from its start.
UPDATE dip_sync_runs
   SET n_input_records = $2, n_output_records = $3, n_inserted = $4, n_updated = $5,
       n_unchanged = $6, n_deleted = $7,
       last_synced_item = jsonb_strip_nulls(jsonb_build_object(
           'version', $8::bigint, 'file', nullif($9, ''), 'ldts', $10::timestamptz,
           'partial_file', nullif($11, ''),
           'partial_rows', CASE WHEN $11 = '' THEN NULL ELSE $12::bigint END))
 WHERE run_id = $1;
