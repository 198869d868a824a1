-- sync_es_state_delete.sql: --teardown forgets alias $1: its state row and the load ranges of
-- its indices (current and a reindex's), in one statement; the run history stays.
WITH gone AS (
    DELETE FROM {{schema}}.sync_es_state WHERE alias = $1 RETURNING index_name, next_index
)
DELETE FROM {{schema}}.sync_es_ranges
WHERE index_name IN (SELECT index_name FROM gone UNION SELECT next_index FROM gone)
