-- gold_hk_unique.sql: ON CONFLICT (hk) needs a unique index on exactly (hk). $1 is the
-- quoted table name.
SELECT count(*)
  FROM pg_index i
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
 WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indnkeyatts = 1
   AND a.attname = 'hk';
