-- docs_catalog_primary_key.sql: the primary key columns of relation $1 (oid), in key order.
SELECT a.attname
  FROM pg_index i
 CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
 WHERE i.indrelid = $1::oid AND i.indisprimary
 ORDER BY k.ord;
