-- run_shards_state.sql: the latest row of every shard of a sharded run ($1) that has one:
-- finished or not, its error, its counters (summed into the sharded run when it finishes).
SELECT shard, sync_finished, coalesce(error, ''), n_input_records, n_inserted, n_updated,
       n_unchanged
  FROM (SELECT DISTINCT ON (shard) shard, sync_finished, error, n_input_records, n_inserted,
               n_updated, n_unchanged
          FROM dip_sync_runs
         WHERE parent_run_id = $1
         ORDER BY shard, run_id DESC) s
 ORDER BY shard;
