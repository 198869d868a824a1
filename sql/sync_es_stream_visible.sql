-- sync_es_stream_visible.sql: how many of a batch's transactions (32-bit xids from the
-- stream) the current snapshot does not see yet. A commit record can be decoded and sent a
-- moment before its transaction leaves the proc array; documents are built only once every
-- transaction of the batch is visible. Each 32-bit xid is widened to the xid8 nearest the
-- snapshot's xmax (within 2^31, as PostgreSQL compares xids).
WITH m AS (SELECT snap, pg_snapshot_xmax(snap)::text::numeric AS xmax
           FROM (SELECT pg_current_snapshot() AS snap) AS s),
     d AS (SELECT m.snap, m.xmax,
                  ((x.xid - mod(m.xmax, 4294967296)) % 4294967296 + 4294967296) % 4294967296 AS d
           FROM m, unnest($1::bigint[]) AS x(xid))
SELECT count(*) FROM d
WHERE NOT pg_visible_in_snapshot(
    (d.xmax + CASE WHEN d.d >= 2147483648 THEN d.d - 4294967296 ELSE d.d END)::text::xid8, d.snap)
