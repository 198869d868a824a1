-- cdc_workload_batch.sql: one pgbench transaction of `make bench-sync-es-cdc` with
-- BENCH_CDC_BATCH=K (K > 1): the changes of cdc_workload.sql, K rows a statement, 5K + 1 row
-- changes in all: K consecutive books updated, an author updated, K link rows inserted and K
-- deleted (book_subject), K books inserted and K older inserted ones deleted. A writer that
-- changes sets of rows (a batch job, an import) rather than one row at a time. :books and :k
-- are set with pgbench -D; bench_seq numbers the new rows (K ids per number).
\set b random(1, :books - :k)
\set a random(1, :books / 2)
\set s random(1, 100)
BEGIN;
SELECT nextval('bench_seq') AS n \gset
UPDATE book SET title = 'title of book ' || isbn || ' at ' || clock_timestamp()
  WHERE isbn IN (SELECT 'isbn-' || lpad(g::text, 10, '0') FROM generate_series(:b, :b + :k - 1) g);
UPDATE author SET name = 'author ' || :a || ' at ' || clock_timestamp() WHERE id = :a;
INSERT INTO book_subject (id, book_isbn, subject_id)
  SELECT :n * :k + g, 'isbn-' || lpad((:b + g)::text, 10, '0'), :s FROM generate_series(0, :k - 1) g
  ON CONFLICT (book_isbn, subject_id) DO NOTHING;
DELETE FROM book_subject WHERE id BETWEEN (:n - 40) * :k AND (:n - 40) * :k + :k - 1;
INSERT INTO book (isbn, title, publisher_id)
  SELECT 'bench-' || (:n * :k + g), 'new book', 1 + :s FROM generate_series(0, :k - 1) g;
DELETE FROM book WHERE isbn IN (SELECT 'bench-' || ((:n - 40) * :k + g) FROM generate_series(0, :k - 1) g);
END;
