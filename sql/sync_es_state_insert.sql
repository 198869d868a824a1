-- sync_es_state_insert.sql: a bootstrap starts: the row names the objects it is about to
-- create (ready false until they all exist).
INSERT INTO {{schema}}.sync_es_state (alias, database, publication, slot, index_name, index_version)
VALUES ($1, $2, $3, $4, $5, 1)
