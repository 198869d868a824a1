-- sync_es_publication_tables.sql: whether publication $1 exists, and its tables as
-- schema.table (one row per table; a row with NULL when it has none).
SELECT p.pubname, quote_ident(pt.schemaname) || '.' || quote_ident(pt.tablename)
FROM pg_publication p
LEFT JOIN pg_publication_tables pt ON pt.pubname = p.pubname
WHERE p.pubname = $1
