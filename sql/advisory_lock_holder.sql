-- advisory_lock_holder.sql: the session holding an advisory lock ($1 its key), for the error
-- message: a bigint advisory key is stored as classid (high 32 bits), objid (low 32), objsubid 1.
SELECT a.pid, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local'),
       to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = oid(($1::bigint >> 32) & 4294967295)
  AND l.objid = oid($1::bigint & 4294967295)
LIMIT 1;
