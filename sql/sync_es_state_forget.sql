-- sync_es_state_forget.sql: the row of a bootstrap that did not finish (alias $1), after what
-- it created was dropped again.
DELETE FROM {{schema}}.sync_es_state WHERE alias = $1 AND NOT ready
