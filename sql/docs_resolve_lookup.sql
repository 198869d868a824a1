-- docs_resolve_lookup.sql: one step of the change resolver up the document tree: the
-- distinct values of some columns of every row whose other columns hold one of the batch's
-- value tuples (one array parameter per column), or of every row when there is no filter.
SELECT DISTINCT {{select}} FROM {{table}} AS n {{where}}
