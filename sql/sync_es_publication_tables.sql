-- sync_es_publication_tables.sql: whether publication $1 exists, and its tables (schema,
-- name; one row per table, a row of NULLs when it has none).
SELECT p.pubname, pt.schemaname, pt.tablename
FROM pg_publication p
LEFT JOIN pg_publication_tables pt ON pt.pubname = p.pubname
WHERE p.pubname = $1
