-- sync_es_state_delete.sql: --teardown forgets alias $1 (its ranges, then its state row);
-- the run history stays.
DELETE FROM {{schema}}.sync_es_ranges
WHERE index_name IN (SELECT index_name FROM {{schema}}.sync_es_state WHERE alias = $1
                     UNION SELECT next_index FROM {{schema}}.sync_es_state WHERE alias = $1);
DELETE FROM {{schema}}.sync_es_state WHERE alias = $1;
