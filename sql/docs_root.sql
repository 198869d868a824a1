-- docs_root.sql: the root rows of one key range of a document tree (src/docs/sql.c fills
-- the column list and the range: (keys) > lower AND (keys) <= upper, either side open).
SELECT {{select}} FROM {{table}} AS n WHERE {{range}}
