-- advisory_unlock.sql: release a session-level advisory lock taken by advisory_lock.sql.
SELECT pg_advisory_unlock($1::bigint);
