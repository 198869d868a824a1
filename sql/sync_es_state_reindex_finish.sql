-- sync_es_state_reindex_finish.sql: the alias now points at the new index: it and its slot
-- become the current ones.
UPDATE {{schema}}.sync_es_state
SET index_name = next_index, index_version = next_version, slot = next_slot,
    consistent_lsn = next_lsn, load_done = true,
    next_index = NULL, next_version = NULL, next_slot = NULL, next_lsn = NULL, updated_at = now()
WHERE alias = $1 AND next_index IS NOT NULL
