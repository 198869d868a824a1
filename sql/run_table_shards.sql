-- run_table_shards.sql: the columns of sharded runs on a dip_sync_runs made before them, and
-- the index a shard's resume lookup and the finalize check use (runs once: it is skipped
-- when the index exists).
ALTER TABLE dip_sync_runs
    ADD COLUMN IF NOT EXISTS parent_run_id bigint,
    ADD COLUMN IF NOT EXISTS shard integer,
    ADD COLUMN IF NOT EXISTS shards integer,
    ADD COLUMN IF NOT EXISTS shard_plan jsonb;
CREATE INDEX IF NOT EXISTS dip_sync_runs_parent_idx
    ON dip_sync_runs (parent_run_id, shard, run_id);
