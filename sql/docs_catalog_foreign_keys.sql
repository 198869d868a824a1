-- docs_catalog_foreign_keys.sql: every foreign key between relations $1 and $2 (oids), in
-- either direction (the same relation twice for a self-reference): one row per column pair,
-- the referencing column and the referenced one, in constraint order.
SELECT con.conname, con.conrelid, k.ord, fa.attname, ra.attname
  FROM pg_constraint con
 CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(fk_attnum, ref_attnum, ord)
  JOIN pg_attribute fa ON fa.attrelid = con.conrelid AND fa.attnum = k.fk_attnum
  JOIN pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.ref_attnum
 WHERE con.contype = 'f'
   AND ((con.conrelid = $1::oid AND con.confrelid = $2::oid)
     OR (con.conrelid = $2::oid AND con.confrelid = $1::oid))
 ORDER BY con.conname, con.conrelid, k.ord;
