-- sync_es_state_insert.sql: the state row a bootstrap records once everything exists.
INSERT INTO {{schema}}.sync_es_state
    (alias, database, publication, slot, index_name, index_version, consistent_lsn)
VALUES ($1, $2, $3, $4, $5, $6::integer, $7::pg_lsn)
