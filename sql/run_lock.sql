-- run_lock.sql: one sync-pg run per gold table at a time (cron overlap, two schedulers): a
-- session-level advisory lock on a 64-bit key derived from the table's name ($1), held until
-- the session ends and taken again after every reconnect.
SELECT pg_try_advisory_lock($1::bigint);
