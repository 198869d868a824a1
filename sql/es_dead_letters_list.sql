-- es_dead_letters_list.sql: every dead letter, oldest first, for listing and re-sending.
SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), index_name,
       doc_id, op, routing, pipeline, version, version_type, document, status, error_type,
       reason, attempts
FROM dip_es_dead_letters
ORDER BY id;
