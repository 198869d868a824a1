-- books_floor.sql: the SQL floor of bench_sync_es.sh, every books document from one
-- set-based statement: each child aggregated once (json_agg ... GROUP BY its key) and
-- hash-joined to the roots; PostgreSQL renders the JSON. What dip's initial load is measured
-- against (DESIGN.md: ~2 s for 100,000 books on one core here).
COPY (
SELECT b.isbn, json_build_object(
    'isbn', b.isbn, 'title', b.title, 'description', b.description, 'copyright', b.copyright,
    'tags', b.tags,
    'publisher_label', CASE WHEN p.id IS NULL THEN NULL
                            ELSE json_build_object('id', p.id, 'name', p.name) END,
    'book_languages', bl.j, 'authors', au.j, 'languages', la.j, 'subjects', su.j)
FROM book b
LEFT JOIN publisher p ON p.id = b.publisher_id
LEFT JOIN (SELECT book_isbn, json_agg(json_build_object('book_isbn', book_isbn,
                                                        'language_id', language_id)) AS j
           FROM book_language GROUP BY book_isbn) bl ON bl.book_isbn = b.isbn
LEFT JOIN (SELECT ba.book_isbn, json_agg(json_build_object('id', a.id, 'name', a.name,
                      'date_of_birth', a.date_of_birth, 'city_label', c.j)) AS j
           FROM book_author ba JOIN author a ON a.id = ba.author_id
           LEFT JOIN (SELECT c.id, json_build_object('id', c.id, 'name', c.name,
                                                     'country_label', co.j) AS j
                      FROM city c
                      LEFT JOIN (SELECT co.id, json_build_object('id', co.id, 'name', co.name,
                                     'continent_label', json_build_object('name', ct.name)) AS j
                                 FROM country co JOIN continent ct ON ct.id = co.continent_id) co
                        ON co.id = c.country_id) c ON c.id = a.city_id
           GROUP BY ba.book_isbn) au ON au.book_isbn = b.isbn
LEFT JOIN (SELECT bl.book_isbn, json_agg(l.code) AS j FROM book_language bl
           JOIN language l ON l.id = bl.language_id GROUP BY bl.book_isbn) la
  ON la.book_isbn = b.isbn
LEFT JOIN (SELECT bs.book_isbn, json_agg(s.name) AS j FROM book_subject bs
           JOIN subject s ON s.id = bs.subject_id GROUP BY bs.book_isbn) su
  ON su.book_isbn = b.isbn
) TO STDOUT
