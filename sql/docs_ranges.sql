-- docs_ranges.sql: the upper bounds of the root key ranges of an initial load, every
-- {{batch}}-th key in key order (the last range is open above). Read inside the load's
-- snapshot; an index-only scan of the primary key for tables.
SELECT {{key_text}}
FROM (SELECT {{keys}}, row_number() OVER (ORDER BY {{keys}}) AS rn FROM {{table}}) AS s
WHERE rn % {{batch}} = 0
ORDER BY {{keys}}
