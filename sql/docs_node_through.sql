-- docs_node_through.sql: the rows of a child node reached through a link table, one per
-- link row (PGSync joins the child to the through table with a LEFT JOIN: a link row whose
-- child is missing still counts, as null), for every parent key of the batch at once.
SELECT {{select}} FROM {{through}} AS t LEFT JOIN {{table}} AS n ON {{on}} WHERE {{link}}
