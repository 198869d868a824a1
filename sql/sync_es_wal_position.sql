-- sync_es_wal_position.sql: the WAL position `dip sync-es --once` catches up to: the insert
-- position (pg_current_wal_lsn is the write position, which lags behind commits made with
-- synchronous_commit off until the WAL writer catches up).
SELECT pg_current_wal_insert_lsn()::text
