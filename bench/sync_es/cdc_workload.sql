-- cdc_workload.sql: one pgbench transaction of `make bench-sync-es-cdc`, 6 row changes on the
-- books database: a book updated, an author updated (fans out to each of the author's books),
-- a link row inserted and one deleted (book_subject), a book inserted and an older inserted
-- one deleted. :books is set with pgbench -D books=N; bench_seq numbers the new rows.
\set b random(1, :books)
\set a random(1, :books / 2)
\set s random(1, 100)
BEGIN;
-- one number per transaction, as a value (nextval/currval in a WHERE clause are volatile:
-- the planner would scan the table instead of using the key)
SELECT nextval('bench_seq') AS n \gset
UPDATE book SET title = 'title of book ' || :b || ' at ' || clock_timestamp()
  WHERE isbn = 'isbn-' || lpad(:b::text, 10, '0');
UPDATE author SET name = 'author ' || :a || ' at ' || clock_timestamp() WHERE id = :a;
INSERT INTO book_subject (id, book_isbn, subject_id)
  VALUES (:n, 'isbn-' || lpad(:b::text, 10, '0'), :s)
  ON CONFLICT (book_isbn, subject_id) DO NOTHING;
DELETE FROM book_subject WHERE id = :n - 40;
INSERT INTO book (isbn, title, publisher_id) VALUES ('bench-' || :n, 'new book', 1 + :s);
DELETE FROM book WHERE isbn = 'bench-' || (:n - 40);
END;
