-- pgrepl_slot_health.sql: one replication slot's state for the WAL guard ({{slot}} is a quoted
-- literal). Simple query protocol only: it also runs on a replication connection that is not
-- streaming. Retained WAL is measured from the current write position (the last received one
-- on a standby, where pg_current_wal_lsn() fails); an invalidated slot has no restart_lsn.
-- two_phase (PostgreSQL 14 and later) is read through to_jsonb, so older servers give false.
SELECT plugin,
       active,
       COALESCE(wal_status, ''),
       restart_lsn IS NULL,
       COALESCE(restart_lsn::text, ''),
       COALESCE(confirmed_flush_lsn::text, ''),
       COALESCE(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()
                                     ELSE pg_current_wal_lsn() END,
                                restart_lsn), 0)::bigint,
       COALESCE(safe_wal_size, -1),
       COALESCE((to_jsonb(s) ->> 'two_phase')::boolean, false)
  FROM pg_replication_slots s
 WHERE slot_name = {{slot}}
