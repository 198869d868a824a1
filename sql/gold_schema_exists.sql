-- gold_schema_exists.sql: the schema of a SCHEMA.TABLE gold name exists ($1 is the schema
-- name as given: the comparison is exact, as for a quoted identifier).
SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1);
