-- advisory_lock.sql: try a session-level advisory lock on a 64-bit key derived from a name
-- ($1): one sync-pg run per gold table (cron overlap, two schedulers), held until the
-- session ends or it is released; taken again after every reconnect.
SELECT pg_try_advisory_lock($1::bigint);
