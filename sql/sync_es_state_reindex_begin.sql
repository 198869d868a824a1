-- sync_es_state_reindex_begin.sql: a --reindex of alias $1 builds index $2 (version $3) from
-- slot $4 whose consistent point is $5.
UPDATE {{schema}}.sync_es_state
SET next_index = $2, next_version = $3::integer, next_slot = $4, next_lsn = $5::pg_lsn,
    updated_at = now()
WHERE alias = $1
