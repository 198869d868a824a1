-- docs_resolve_columns.sql: the columns of one table with their SQL types, so the change
-- resolver casts its key arrays to the column types (an index can serve the lookup), and
-- their type OIDs, to tell a Relation message of an altered table from the resolved one.
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid::bigint
FROM pg_attribute a
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
