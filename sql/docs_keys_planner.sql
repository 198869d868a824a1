-- docs_keys_planner.sql: the change stream's builder session (documents rebuilt by key
-- arrays, src/docs/build.c). Its queries read the rows of a few hundred to a few thousand
-- keys the stream has just seen written, so their pages are in PostgreSQL's cache; with
-- PostgreSQL's default random_page_cost (4, which models a spinning disk) the planner reads
-- a whole child table instead of its foreign-key index for such a batch, two to three times
-- slower. The session uses 1.1 (the usual value for SSDs and cached data) only when nobody
-- chose a value: a random_page_cost set in postgresql.conf, for the database, for dip's role
-- or in PGOPTIONS is kept as it is.
SELECT set_config('random_page_cost', '1.1', false)
FROM pg_settings
WHERE name = 'random_page_cost' AND source = 'default'
