-- advisory_unlock_shared.sql: release a shared advisory lock taken by advisory_lock_shared.sql.
SELECT pg_advisory_unlock_shared($1::bigint);
