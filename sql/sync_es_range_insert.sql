-- sync_es_range_insert.sql: one root key range of index $1's initial load.
INSERT INTO {{schema}}.sync_es_ranges (index_name, range_no, lower_key, upper_key)
VALUES ($1, $2::integer, $3::text[], $4::text[])
