#!/usr/bin/python3
"""test_stream.py DIP SRC: the change stream of dip sync-es (issue 11), correctness.

For each schema shape, a scripted sequence of SQL steps (each change kind of the issue); after
each step `dip sync-es --once` catches up and the whole index must equal the documents the
test computes itself in SQL (json_build_object / json_agg over the same tables, the queries of
tests/sync_es/test_shapes.py), never dip's own output. Then the same steps again through a
running --daemon, waiting for its confirmed LSN to pass the step's WAL position.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sync_es"))
import synces  # noqa: E402

# prepared transactions (PREPARE TRANSACTION) need max_prepared_transactions > 0 at start
os.environ["DIP_PG_EXTRA_CONF"] = "max_prepared_transactions = 4"
env = synces.Env(sys.argv[1], sys.argv[2])
GEN = os.path.join(os.environ.get("DIP_SHARED", os.path.join(sys.argv[2], "..", "shared")),
                   "bench", "books", "gen.sql")
# small enough that the big transactions below are streamed in progress
env.psql("ALTER SYSTEM SET logical_decoding_work_mem = '64kB'; SELECT pg_reload_conf();")


def compare_all(what, db, index, sql):
    exp = env.expected(db, sql)
    env.http("POST", "/%s/_refresh" % index)  # near-real-time search: make writes visible
    got = env.dump(index)
    if exp:
        synces.compare(env, what, exp, got)
    else:
        env.check(not got, "%s: index is empty, as the tables" % what, str(sorted(got)[:3]))


class Shape:
    def __init__(self, name, setup, schema, expected_sql, steps):
        self.name, self.setup, self.schema = name, setup, schema
        self.sql, self.steps = expected_sql, steps
        self.index = schema[0].get("index", name)

    def prepare(self, db):
        env.createdb(db)
        env.psql(self.setup, db)
        self.schema[0]["database"] = db
        self.schema[0]["index"] = self.index = db
        return env.write_schema(db, self.schema)

    def run_once(self):
        db = self.name + "_once"
        path = self.prepare(db)
        r = env.run_dip(["sync-es", "--config", path, "--once", "--workers", "2"])
        env.check(r.returncode == 0, "%s: initial --once exits 0" % db, r.stderr[-2000:])
        compare_all("%s: after the initial load" % db, db, self.index, self.sql)
        for label, sql in self.steps:
            env.psql(sql, db)
            r = env.run_dip(["sync-es", "--config", path, "--once"])
            ok = r.returncode == 0
            env.check(ok, "%s: --once after '%s' exits 0" % (db, label), r.stderr[-2000:])
            compare_all("%s: after '%s'" % (db, label), db, self.index, self.sql)

    def run_daemon(self):
        db = self.name + "_daemon"
        path = self.prepare(db)
        log = open(os.path.join(env.work, db + ".log"), "w")
        p = subprocess.Popen([env.dip, "--log-format", "json", "sync-es", "--config", path,
                              "--daemon"], stdout=subprocess.DEVNULL, stderr=log,
                             env=env.env(DIP_ES_HEARTBEAT_S="1"), cwd=env.work)
        slot = "dip_%s_v1" % db
        try:
            for label, sql in [("initial load", "SELECT 1")] + self.steps:
                env.psql(sql, db)
                lsn = env.psql("SELECT pg_current_wal_insert_lsn()", db).strip()
                caught = False
                for _ in range(600):
                    if p.poll() is not None:
                        break
                    v = env.psql("SELECT coalesce(confirmed_flush_lsn >= '%s', false) AND "
                                 "(SELECT load_done FROM dip.sync_es_state) FROM "
                                 "pg_replication_slots WHERE slot_name = '%s'" % (lsn, slot), db,
                                 check=False)
                    if v.strip() == "t":
                        caught = True
                        break
                    time.sleep(0.1)
                env.check(caught, "%s: daemon confirmed past '%s' within 60 s" % (db, label))
                compare_all("%s: after '%s'" % (db, label), db, self.index, self.sql)
            p.send_signal(signal.SIGTERM)
            rc = p.wait(30)
            env.check(rc == 0, "%s: SIGTERM drains and exits 0" % db, "rc=%s" % rc)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            log.close()
        lines = open(os.path.join(env.work, db + ".log")).read().splitlines()
        env.check(lines and all(l.startswith("{") for l in lines),
                  "%s: --log-format json: every log line is JSON" % db, str(lines[:3]))


BOOKS_SQL = """
SELECT b.isbn, json_build_object(
  'isbn', b.isbn, 'title', b.title, 'description', b.description, 'copyright', b.copyright,
  'tags', b.tags,
  'publisher_label', (SELECT json_build_object('id', p.id, 'name', p.name)
                      FROM publisher p WHERE p.id = b.publisher_id),
  'book_languages', (SELECT json_agg(json_build_object('book_isbn', bl.book_isbn,
                                                       'language_id', bl.language_id))
                     FROM book_language bl WHERE bl.book_isbn = b.isbn),
  'authors', (SELECT json_agg(json_build_object('id', a.id, 'name', a.name,
                'date_of_birth', a.date_of_birth,
                'city_label', (SELECT json_build_object('id', c.id, 'name', c.name,
                   'country_label', (SELECT json_build_object('id', co.id, 'name', co.name,
                      'continent_label', (SELECT json_build_object('name', ct.name)
                                          FROM continent ct WHERE ct.id = co.continent_id))
                      FROM country co WHERE co.id = c.country_id))
                   FROM city c WHERE c.id = a.city_id)))
              FROM book_author ba JOIN author a ON a.id = ba.author_id
              WHERE ba.book_isbn = b.isbn),
  'languages', (SELECT json_agg(l.code) FROM book_language bl
                JOIN language l ON l.id = bl.language_id WHERE bl.book_isbn = b.isbn),
  'subjects', (SELECT json_agg(s.name) FROM book_subject bs
               JOIN subject s ON s.id = bs.subject_id WHERE bs.book_isbn = b.isbn))
FROM book b"""

BOOKS_STEPS = [
    ("root update", "UPDATE book SET title = 'changed ' || isbn WHERE isbn IN "
                    "(SELECT isbn FROM book ORDER BY isbn LIMIT 3)"),
    ("multi-table insert", """BEGIN;
        INSERT INTO book (isbn, title, publisher_id) VALUES ('new-1', 'a new book', 1);
        INSERT INTO book_author (id, book_isbn, author_id) VALUES (900001, 'new-1', 1), (900002, 'new-1', 2);
        INSERT INTO book_subject (id, book_isbn, subject_id) VALUES (900001, 'new-1', 1);
        INSERT INTO book_language (id, book_isbn, language_id) VALUES (900001, 'new-1', 1);
        COMMIT;"""),
    ("root delete (cascading link rows)",
     "DELETE FROM book WHERE isbn = (SELECT isbn FROM book ORDER BY isbn OFFSET 5 LIMIT 1)"),
    ("root key change", """INSERT INTO book (isbn, title) VALUES ('key-1', 'keyed');
        UPDATE book SET isbn = 'key-2' WHERE isbn = 'key-1';"""),
    ("through child update", "UPDATE author SET name = name || ' (ed.)' WHERE id IN (1, 2, 3)"),
    ("deep grandchild update", "UPDATE continent SET name = name || '!'"),
    ("link row moved to another root",
     "UPDATE book_author SET book_isbn = 'new-1' WHERE id = (SELECT min(id) FROM book_author "
     "WHERE book_isbn <> 'new-1' AND author_id NOT IN (1, 2))"),
    ("link row moved to another child", "UPDATE book_author SET author_id = 7 WHERE id = 900001"),
    ("mid-level row moved to another parent",
     "UPDATE city SET country_id = (SELECT max(id) FROM country) WHERE id = "
     "(SELECT city_id FROM author WHERE id = 2)"),
    ("author moved to another city", "UPDATE author SET city_id = (SELECT min(id) FROM city) "
                                     "WHERE id = 1"),
    ("parent-side foreign key child update", "UPDATE publisher SET name = 'pub renamed' WHERE id = 1"),
    ("root's foreign key changed", "UPDATE book SET publisher_id = 2 WHERE isbn = 'new-1'"),
    ("row changed twice in one transaction", """BEGIN;
        UPDATE book SET title = 'first' WHERE isbn = 'new-1';
        UPDATE book SET title = 'second', description = 'd2' WHERE isbn = 'new-1';
        UPDATE author SET name = 'a1' WHERE id = 5; UPDATE author SET name = 'a2' WHERE id = 5;
        COMMIT;"""),
    # two-phase commit: nothing reaches the index at PREPARE (the fresh build does not see
    # it either), everything at COMMIT PREPARED, nothing when it is rolled back
    ("prepared transaction, not committed yet", """BEGIN;
        UPDATE book SET title = 'prepared' WHERE isbn = 'new-1';
        UPDATE author SET name = 'prepared author' WHERE id = 4;
        PREPARE TRANSACTION 'dip_p1';"""),
    ("COMMIT PREPARED", "COMMIT PREPARED 'dip_p1'"),
    ("prepared transaction rolled back", """BEGIN;
        UPDATE book SET title = 'never' WHERE isbn = 'new-1';
        PREPARE TRANSACTION 'dip_p2';
        ROLLBACK PREPARED 'dip_p2';"""),
    ("inserted and deleted in one transaction", """BEGIN;
        INSERT INTO book (isbn, title) VALUES ('ghost', 'ghost');
        INSERT INTO book_author (id, book_isbn, author_id) VALUES (900010, 'ghost', 3);
        DELETE FROM book WHERE isbn = 'ghost';
        INSERT INTO book_subject (id, book_isbn, subject_id) VALUES (900011, 'new-1', 2);
        DELETE FROM book_subject WHERE id = 900011;
        COMMIT;"""),
    ("child row deleted", "DELETE FROM book_language WHERE id = 900001"),
    ("update changing no document column", "UPDATE country SET continent_id = continent_id"),
    ("streamed transaction with a rolled back savepoint", """BEGIN;
        UPDATE book SET description = repeat('x', 200) || isbn;
        SAVEPOINT s1;
        UPDATE book SET title = 'rolled back';
        ROLLBACK TO SAVEPOINT s1;
        UPDATE author SET date_of_birth = date '2001-01-01' WHERE id < 20;
        COMMIT;"""),
    ("streamed transaction aborted", """BEGIN;
        UPDATE book SET description = repeat('y', 300);
        ROLLBACK;"""),
    ("truncate of a child link table", "TRUNCATE book_subject"),
    ("truncate of the root", "TRUNCATE book CASCADE"),
    ("inserts after the truncate", """INSERT INTO book (isbn, title, publisher_id)
        SELECT 'again-' || i, 'again ' || i, 1 + i % 3 FROM generate_series(1, 20) i;
        INSERT INTO book_author (id, book_isbn, author_id)
        SELECT 910000 + i, 'again-' || i, 1 + i % 9 FROM generate_series(1, 20) i;"""),
]

books = Shape("books", "\\set books 120\n\\i %s\n" % GEN,
              synces.json.load(open(os.path.join(os.path.dirname(GEN), "schema.json"))),
              BOOKS_SQL, BOOKS_STEPS)

variants = Shape("variants", """
CREATE TABLE parent (pid int PRIMARY KEY, name text);
CREATE TABLE one_obj (id int PRIMARY KEY, parent_id int UNIQUE REFERENCES parent, v text, n int);
CREATE TABLE many_obj (id int PRIMARY KEY, parent_id int REFERENCES parent, v text);
CREATE TABLE one_sc (id int PRIMARY KEY, parent_id int UNIQUE REFERENCES parent, v text);
CREATE TABLE many_sc (id int PRIMARY KEY, parent_id int REFERENCES parent, v numeric);
INSERT INTO parent SELECT i, 'p' || i FROM generate_series(1, 40) i;
INSERT INTO one_obj SELECT i, i, 'o' || i, i * 3 FROM generate_series(1, 40, 2) i;
INSERT INTO many_obj SELECT i, 1 + i % 13, 'm' || i FROM generate_series(1, 60) i;
INSERT INTO one_sc SELECT i, i, 's' || i FROM generate_series(1, 40, 3) i;
INSERT INTO many_sc SELECT i, 1 + i % 17, i / 7.0 FROM generate_series(1, 50) i;
""", [{"nodes": {"table": "parent", "columns": ["pid", "name"], "children": [
    {"table": "one_obj", "columns": ["v", "n"], "label": "oo",
     "relationship": {"variant": "object", "type": "one_to_one"}},
    {"table": "many_obj", "columns": ["id", "v"],
     "relationship": {"variant": "object", "type": "one_to_many"}},
    {"table": "one_sc", "columns": ["v"], "label": "os",
     "relationship": {"variant": "scalar", "type": "one_to_one"}},
    {"table": "many_sc", "columns": ["v"], "label": "ms",
     "relationship": {"variant": "scalar", "type": "one_to_many"}}]}}],
    """SELECT p.pid::text, json_build_object('pid', p.pid, 'name', p.name,
         'oo', (SELECT json_build_object('v', o.v, 'n', o.n) FROM one_obj o WHERE o.parent_id = p.pid),
         'many_obj', (SELECT json_agg(json_build_object('id', m.id, 'v', m.v)) FROM many_obj m
                      WHERE m.parent_id = p.pid),
         'os', (SELECT s.v FROM one_sc s WHERE s.parent_id = p.pid),
         'ms', (SELECT json_agg(s.v) FROM many_sc s WHERE s.parent_id = p.pid))
       FROM parent p""",
    [("child moved between roots", "UPDATE many_obj SET parent_id = 40 WHERE id IN (1, 2)"),
     ("one-to-one child deleted", "DELETE FROM one_obj WHERE id = 3"),
     ("scalar child updated", "UPDATE one_sc SET v = 'sc!' WHERE id = 4"),
     ("many scalar insert and delete", "INSERT INTO many_sc VALUES (51, 3, 1.5); "
                                       "DELETE FROM many_sc WHERE id = 17"),
     ("root key change", "INSERT INTO parent VALUES (100, 'x'); UPDATE parent SET pid = 101 "
                         "WHERE pid = 100"),
     ("child key change", "UPDATE many_obj SET id = 1000 WHERE id = 5"),
     ("root delete", "DELETE FROM many_obj WHERE parent_id = 7; DELETE FROM one_obj WHERE parent_id = 7; "
                     "DELETE FROM one_sc WHERE parent_id = 7; DELETE FROM many_sc WHERE parent_id = 7; "
                     "DELETE FROM parent WHERE pid = 7"),
     ("truncate of a child", "TRUNCATE many_sc")])

composite = Shape("composite", """
CREATE TABLE shipment (zone text, code int, note text, PRIMARY KEY (zone, code));
CREATE TABLE item (sku_no int PRIMARY KEY, s_zone text, s_code int, sku text,
                   FOREIGN KEY (s_zone, s_code) REFERENCES shipment ON UPDATE CASCADE);
INSERT INTO shipment SELECT z, c, 'n' || z || c FROM unnest(ARRAY['b', 'a|x', 'c']) z,
  generate_series(1, 15) c;
INSERT INTO item SELECT i, (ARRAY['b', 'a|x', 'c'])[1 + i % 3], 1 + i % 15, 'sku' || i
  FROM generate_series(1, 80) i;
""", [{"nodes": {"table": "shipment", "columns": ["zone", "code", "note"],
    "children": [{"table": "item", "columns": ["sku"], "label": "items",
                  "relationship": {"variant": "scalar", "type": "one_to_many"}}]}}],
    """SELECT s.code || '|' || s.zone, json_build_object('zone', s.zone, 'code', s.code,
         'note', s.note, 'items', (SELECT json_agg(i.sku) FROM item i
                                   WHERE i.s_zone = s.zone AND i.s_code = s.code))
       FROM shipment s""",
    [("composite root key change cascading to children",
      "UPDATE shipment SET code = 99 WHERE zone = 'a|x' AND code = 2"),
     ("child moved between composite roots",
      "UPDATE item SET s_zone = 'c', s_code = 1 WHERE sku_no < 5"),
     ("root note update", "UPDATE shipment SET note = 'nn' WHERE code = 3"),
     ("root delete", "DELETE FROM item WHERE s_code = 4; DELETE FROM shipment WHERE code = 4")])

selfref = Shape("selfref", """
CREATE TABLE category (cat int PRIMARY KEY, name text, parent_cat int REFERENCES category);
INSERT INTO category SELECT i, 'c' || i, CASE WHEN i <= 5 THEN NULL ELSE 1 + i % 5 END
  FROM generate_series(1, 30) i;
""", [{"nodes": {"table": "category", "columns": ["cat", "name"], "children": [
    {"table": "category", "columns": ["cat", "name"], "label": "subcategories",
     "relationship": {"variant": "object", "type": "one_to_many",
                      "foreign_key": {"parent": ["cat"], "child": ["parent_cat"]}}}]}}],
    """SELECT c.cat::text, json_build_object('cat', c.cat, 'name', c.name,
         'subcategories', (SELECT json_agg(json_build_object('cat', s.cat, 'name', s.name))
                           FROM category s WHERE s.parent_cat = c.cat))
       FROM category c""",
    [("self-referencing row renamed", "UPDATE category SET name = 'renamed' WHERE cat = 8"),
     ("moved to another parent", "UPDATE category SET parent_cat = 1 WHERE cat = 9"),
     ("deleted", "DELETE FROM category WHERE cat = 30")])

for shape in (books, variants, composite, selfref):
    shape.run_once()
for shape in (books, variants):
    shape.run_daemon()

env.finish()
