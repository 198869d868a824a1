-- docs_node_direct.sql: the rows of a child node joined to its parent by a foreign key
-- (either direction), for every parent key of the batch at once: the parent keys come as
-- one array parameter per join column.
SELECT {{select}} FROM {{table}} AS n WHERE {{link}}
