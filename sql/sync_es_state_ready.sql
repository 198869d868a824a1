-- sync_es_state_ready.sql: every object of alias $1's bootstrap exists; $2 is the new
-- slot's consistent point.
UPDATE {{schema}}.sync_es_state SET ready = true, consistent_lsn = $2::pg_lsn, updated_at = now()
WHERE alias = $1
