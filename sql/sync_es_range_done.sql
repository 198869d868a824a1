-- sync_es_range_done.sql: every document of range $2 of index $1 is acknowledged by the
-- search engine (documents $3, read in the snapshot at $4).
UPDATE {{schema}}.sync_es_ranges
SET done = true, documents = $3::bigint, read_lsn = $4::pg_lsn, done_at = now()
WHERE index_name = $1 AND range_no = $2::integer
