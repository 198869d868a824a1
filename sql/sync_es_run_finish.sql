-- sync_es_run_finish.sql: a run ends ('done' or 'failed') with its figures.
UPDATE {{schema}}.sync_es_runs
SET state = $2, documents = $3::bigint, bytes = $4::bigint, errors = $5::bigint,
    ranges_done = $6::integer, sql_s = $7::double precision, render_s = $8::double precision,
    error = $9, index_name = coalesce($10, index_name), finished_at = clock_timestamp()
WHERE run_id = $1::bigint
