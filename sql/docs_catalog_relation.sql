-- docs_catalog_relation.sql: a relation of schema.json by schema ($1) and name ($2). Always
-- one row: whether the schema exists, then the relation's oid, relkind and replica identity
-- (NULL when there is no such relation).
SELECT n.oid IS NOT NULL, c.oid, c.relkind, c.relreplident
  FROM (SELECT $1::name AS nspname) s
  LEFT JOIN pg_namespace n ON n.nspname = s.nspname
  LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = $2::name;
