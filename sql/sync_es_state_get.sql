-- sync_es_state_get.sql: the state row of alias $1.
SELECT database, publication, slot, index_name, index_version, consistent_lsn::text,
       load_done::text, next_index, next_version, next_slot, next_lsn::text,
       ready::text
FROM {{schema}}.sync_es_state WHERE alias = $1
