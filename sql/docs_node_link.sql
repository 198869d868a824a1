-- docs_node_link.sql: the rows of a link (through) table for every parent key of the batch:
-- each row's parent-side and child-side columns. The child rows are read by docs_node_direct
-- with the distinct child-side values, so a child many parents share is read once.
SELECT {{select}} FROM {{through}} AS t WHERE {{link}}
