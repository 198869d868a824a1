-- docs_column_types.sql: the SQL type of every column of a relation (table, view,
-- materialized view), to cast the key arrays and range bounds of the document queries.
-- $1: the relation's oid.
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
