-- sync_es_ranges_pending.sql: the ranges of index $1 not done yet, bounds as JSON arrays of
-- key texts (null = open).
SELECT range_no, array_to_json(lower_key)::text, array_to_json(upper_key)::text
FROM {{schema}}.sync_es_ranges WHERE index_name = $1 AND NOT done ORDER BY range_no
