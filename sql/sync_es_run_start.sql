-- sync_es_run_start.sql: a run of dip sync-es begins.
INSERT INTO {{schema}}.sync_es_runs (alias, index_name, action, workers)
VALUES ($1, $2, $3, $4::integer) RETURNING run_id
