-- gold_columns.sql: the gold table's columns as format_type() spells their types, to check
-- them against the model before anything is written. $1 is the quoted name (to_regclass
-- folds an unquoted one to lower case).
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.atthasdef
  FROM pg_attribute a
 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum;
