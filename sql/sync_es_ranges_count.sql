-- sync_es_ranges_count.sql: how many root key ranges index $1 has (0: not cut yet).
SELECT count(*) FROM {{schema}}.sync_es_ranges WHERE index_name = $1
