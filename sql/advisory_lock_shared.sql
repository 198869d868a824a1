-- advisory_lock_shared.sql: try the shared form of a session-level advisory lock ($1 its
-- 64-bit key): the shards of one sharded sync-pg run hold the gold table's run lock together,
-- which keeps a run without shards (it takes the lock exclusively) out while any shard runs.
SELECT pg_try_advisory_lock_shared($1::bigint);
