-- sync_es_state_load_done.sql: the initial load of alias $1 into its index is complete.
UPDATE {{schema}}.sync_es_state SET load_done = true, updated_at = now() WHERE alias = $1
