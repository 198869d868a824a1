-- run_finish.sql: end of a run, finished or not (SIGINT/SIGTERM, errors), with its end time.
UPDATE dip_sync_runs
   SET sync_finished = $2::boolean, error = nullif($3, ''), finished_at = now()
 WHERE run_id = $1;
