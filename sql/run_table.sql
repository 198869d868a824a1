-- run_table.sql: dip's run metadata (the seed's SyncIntegratedPostgresMetadata), one row per
-- sync run. The latest row for (input_delta_table, output_postgres_table) is what resume
-- reads; last_synced_item is the resume point: the table version, the path of the last file
-- fully loaded at that version (files are identified by path, not by an index a compaction
-- can shift) and the table's LDTS. A sharded run (`--plan --shards N`) is a row with
-- `shards` set and one row per shard linked to it by parent_run_id (sql/run_table_shards.sql
-- adds those columns to a table made before them).
CREATE TABLE IF NOT EXISTS dip_sync_runs (
    run_id                   bigserial PRIMARY KEY,
    job                      text NOT NULL DEFAULT 'sync-pg',
    input_delta_table        text NOT NULL,
    output_postgres_table    text NOT NULL,
    output_db_backend_config jsonb NOT NULL,
    mode                     text NOT NULL,          -- full | incremental
    base_version             bigint,                 -- incremental: version synced before
    model_sha256             text NOT NULL,
    n_input_records          bigint NOT NULL DEFAULT 0,
    n_output_records         bigint NOT NULL DEFAULT 0,
    n_inserted               bigint NOT NULL DEFAULT 0,
    n_updated                bigint NOT NULL DEFAULT 0,
    n_unchanged              bigint NOT NULL DEFAULT 0,
    n_deleted                bigint NOT NULL DEFAULT 0,
    last_synced_item         jsonb NOT NULL,         -- {"version", "file", "ldts"}
    sync_finished            boolean NOT NULL DEFAULT false,
    error                    text,
    started_at               timestamptz NOT NULL DEFAULT now(),
    finished_at              timestamptz,
    parent_run_id            bigint,                 -- a shard's row: its sharded run
    shard                    integer,                -- a shard's row: 0 .. shards-1
    shards                   integer,                -- a sharded run and its shards: N
    shard_plan               jsonb                   -- a sharded run: its plan (docs/sync-pg.md)
);
CREATE INDEX IF NOT EXISTS dip_sync_runs_io_idx
    ON dip_sync_runs (input_delta_table, output_postgres_table, run_id);
