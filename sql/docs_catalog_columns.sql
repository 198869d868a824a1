-- docs_catalog_columns.sql: the user columns of relation $1 (oid) in table order, with their
-- type as format_type() prints it (system columns ctid, xmin, ... have attnum < 1).
SELECT a.attname, a.atttypid, format_type(a.atttypid, a.atttypmod), a.attnum
  FROM pg_attribute a
 WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum;
