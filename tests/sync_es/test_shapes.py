#!/usr/bin/python3
"""test_shapes.py DIP SRC: one case per document shape of issue 10 (PGSync's shapes).

Each case makes its own database, writes a schema.json, runs `dip sync-es --once`, dumps the
whole index and compares it with documents the test computes itself in SQL
(json_build_object / json_agg over the same tables), arrays compared as multisets.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synces  # noqa: E402

env = synces.Env(sys.argv[1], sys.argv[2])
GEN = os.path.join(os.environ.get("DIP_SHARED", os.path.join(sys.argv[2], "..", "shared")),
                   "bench", "books", "gen.sql")


def once(name, schema, **extra):
    path = env.write_schema(name, schema)
    r = env.run_dip(["sync-es", "--config", path, "--once", "--workers", "2"], **extra)
    env.check(r.returncode == 0, "%s: dip sync-es --once exits 0" % name, r.stderr[-3000:])
    return r


def case(name, setup, schema, expected_sql, **extra):
    env.createdb(name)
    env.psql(setup, name)
    schema[0]["database"] = name
    once(name, schema, DIP_ES_BATCH="7", **extra)
    idx = schema[0].get("index", name)
    compare_index(name, idx, expected_sql)


def compare_index(db, index, expected_sql):
    synces.compare(env, db, env.expected(db, expected_sql), env.dump(index))


# ---------------------------------------------------------------- PGSync's nested books tree
env.createdb("books")
env.psql("\\set books 300\n\\i %s\n" % GEN, "books")
books_schema = synces.json.load(open(os.path.join(os.path.dirname(GEN), "schema.json")))
books_schema[0]["index"] = "books_nested"
once("books", books_schema, DIP_ES_BATCH="37")
# --once returns with its documents searchable: no refresh here (the test server, like the
# engines, shows a search only what the last refresh made visible)
st, cnt = env.http("GET", "/books_nested/_count")
env.check(st == 200 and cnt["count"] == 300, "books: searchable as soon as --once returns",
          "%s %s" % (st, cnt))
compare_index("books", "books_nested", """
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
FROM book b""")

# ---------------------------------------------------------------- PGSync's _meta (--pgsync-meta)
meta_schema = synces.json.loads(synces.json.dumps(books_schema))
meta_schema[0]["index"] = "books_meta"
path = env.write_schema("books_meta", meta_schema)
r = env.run_dip(["sync-es", "--config", path, "--once", "--pgsync-meta"], DIP_ES_BATCH="50")
env.check(r.returncode == 0, "books_meta: --once --pgsync-meta exits 0", r.stderr[-2000:])
got = {k: {"_meta": v[0].get("_meta")} for k, v in env.dump("books_meta").items()}
plain = env.dump("books_nested")
env.check(all("_meta" not in v[0] for v in plain.values()), "no _meta without --pgsync-meta")
META_SQL = """SELECT b.isbn, json_build_object('_meta', json_build_object(
  'book', json_build_object('isbn', json_build_array(b.isbn)),
  'publisher', json_build_object('id', json_build_array(b.publisher_id)),
  'book_language', json_build_object('id', (SELECT json_agg(id) FROM book_language
                                            WHERE book_isbn = b.isbn)),
  'author', json_build_object('id', (SELECT json_agg(DISTINCT author_id) FROM book_author
                                     WHERE book_isbn = b.isbn)),
  'book_author', json_build_object('id', (SELECT json_agg(id) FROM book_author
                                          WHERE book_isbn = b.isbn)),
  'city', json_build_object('id', (SELECT json_agg(DISTINCT a.city_id) FROM book_author ba
                                   JOIN author a ON a.id = ba.author_id WHERE ba.book_isbn = b.isbn)),
  'country', json_build_object('id', (SELECT json_agg(DISTINCT c.country_id) FROM book_author ba
      JOIN author a ON a.id = ba.author_id JOIN city c ON c.id = a.city_id
      WHERE ba.book_isbn = b.isbn)),
  'continent', json_build_object('id', (SELECT json_agg(DISTINCT co.continent_id)
      FROM book_author ba JOIN author a ON a.id = ba.author_id JOIN city c ON c.id = a.city_id
      JOIN country co ON co.id = c.country_id WHERE ba.book_isbn = b.isbn)),
  'language', json_build_object('id', (SELECT json_agg(DISTINCT language_id) FROM book_language
                                       WHERE book_isbn = b.isbn)),
  'subject', json_build_object('id', (SELECT json_agg(DISTINCT subject_id) FROM book_subject
                                      WHERE book_isbn = b.isbn)),
  'book_subject', json_build_object('id', (SELECT json_agg(id) FROM book_subject
                                           WHERE book_isbn = b.isbn))))
FROM book b"""
synces.compare(env, "books_meta _meta", env.expected("books", META_SQL),
               {k: (v, None) for k, v in got.items()})

# ---------------------------------------------------------------- object/scalar x one/many
case("variants", """
CREATE TABLE parent (id int PRIMARY KEY, name text);
CREATE TABLE one_obj (id int PRIMARY KEY, parent_id int UNIQUE REFERENCES parent, v text, n int);
CREATE TABLE many_obj (id int PRIMARY KEY, parent_id int REFERENCES parent, v text);
CREATE TABLE one_sc (id int PRIMARY KEY, parent_id int UNIQUE REFERENCES parent, v text);
CREATE TABLE many_sc (id int PRIMARY KEY, parent_id int REFERENCES parent, v numeric);
INSERT INTO parent SELECT i, 'p' || i FROM generate_series(1, 40) i;
INSERT INTO one_obj SELECT i, i, 'o' || i, i * 3 FROM generate_series(1, 40, 2) i;
INSERT INTO many_obj SELECT i, 1 + i % 13, 'm' || i FROM generate_series(1, 60) i;
INSERT INTO one_sc SELECT i, i, 's' || i FROM generate_series(1, 40, 3) i;
INSERT INTO many_sc SELECT i, 1 + i % 17, i / 7.0 FROM generate_series(1, 50) i;
""", [{"index": "variants", "nodes": {"table": "parent", "columns": ["id", "name"], "children": [
    {"table": "one_obj", "columns": ["v", "n"], "label": "oo",
     "relationship": {"variant": "object", "type": "one_to_one"}},
    {"table": "many_obj", "columns": ["id", "v"],
     "relationship": {"variant": "object", "type": "one_to_many"}},
    {"table": "one_sc", "columns": ["v"], "label": "os",
     "relationship": {"variant": "scalar", "type": "one_to_one"}},
    {"table": "many_sc", "columns": ["v"], "label": "ms",
     "relationship": {"variant": "scalar", "type": "one_to_many"}}]}}],
    """SELECT p.id::text, json_build_object('id', p.id, 'name', p.name,
         'oo', (SELECT json_build_object('v', o.v, 'n', o.n) FROM one_obj o WHERE o.parent_id = p.id),
         'many_obj', (SELECT json_agg(json_build_object('id', m.id, 'v', m.v)) FROM many_obj m
                      WHERE m.parent_id = p.id),
         'os', (SELECT s.v FROM one_sc s WHERE s.parent_id = p.id),
         'ms', (SELECT json_agg(s.v) FROM many_sc s WHERE s.parent_id = p.id))
       FROM parent p""")

# ---------------------------------------------------------------- explicit foreign_key, same table twice
case("twice", """
CREATE TABLE person (id int PRIMARY KEY, name text);
CREATE TABLE article (id int PRIMARY KEY, title text,
                      author_id int REFERENCES person, reviewer_id int REFERENCES person);
INSERT INTO person SELECT i, 'person ' || i FROM generate_series(1, 20) i;
INSERT INTO article SELECT i, 't' || i, 1 + i % 20, CASE WHEN i % 4 = 0 THEN NULL ELSE 1 + (i * 7) % 20 END
  FROM generate_series(1, 50) i;
""", [{"index": "twice", "nodes": {"table": "article", "columns": ["id", "title"], "children": [
    {"table": "person", "columns": ["id", "name"], "label": "author",
     "relationship": {"variant": "object", "type": "one_to_one",
                      "foreign_key": {"parent": ["author_id"], "child": ["id"]}}},
    {"table": "person", "columns": ["name"], "label": "reviewer",
     "relationship": {"variant": "scalar", "type": "one_to_one",
                      "foreign_key": {"parent": ["reviewer_id"], "child": ["id"]}}}]}}],
    """SELECT a.id::text, json_build_object('id', a.id, 'title', a.title,
         'author', (SELECT json_build_object('id', p.id, 'name', p.name) FROM person p
                    WHERE p.id = a.author_id),
         'reviewer', (SELECT p.name FROM person p WHERE p.id = a.reviewer_id))
       FROM article a""")

# ---------------------------------------------------------------- composite keys
case("composite", """
CREATE TABLE shipment (zone text, code int, note text, PRIMARY KEY (zone, code));
CREATE TABLE item (id int PRIMARY KEY, s_zone text, s_code int, sku text,
                   FOREIGN KEY (s_zone, s_code) REFERENCES shipment);
INSERT INTO shipment SELECT z, c, 'n' || z || c FROM unnest(ARRAY['b', 'a|x', 'c']) z,
  generate_series(1, 15) c;
INSERT INTO item SELECT i, (ARRAY['b', 'a|x', 'c'])[1 + i % 3], 1 + i % 15, 'sku' || i
  FROM generate_series(1, 80) i;
""", [{"index": "composite", "nodes": {"table": "shipment", "columns": ["zone", "code", "note"],
    "children": [{"table": "item", "columns": ["sku"], "label": "items",
                  "relationship": {"variant": "scalar", "type": "one_to_many"}}]}}],
    # PGSync's _id: key values joined by '|' in key-column-name order (code, zone)
    """SELECT s.code || '|' || s.zone, json_build_object('zone', s.zone, 'code', s.code,
         'note', s.note, 'items', (SELECT json_agg(i.sku) FROM item i
                                   WHERE i.s_zone = s.zone AND i.s_code = s.code))
       FROM shipment s""")

# ---------------------------------------------------------------- self-referencing table
case("selfref", """
CREATE TABLE category (id int PRIMARY KEY, name text, parent_id int REFERENCES category);
INSERT INTO category SELECT i, 'c' || i, CASE WHEN i <= 5 THEN NULL ELSE 1 + i % 5 END
  FROM generate_series(1, 30) i;
""", [{"index": "selfref", "nodes": {"table": "category", "columns": ["id", "name"], "children": [
    {"table": "category", "columns": ["id", "name"], "label": "subcategories",
     "relationship": {"variant": "object", "type": "one_to_many",
                      "foreign_key": {"parent": ["id"], "child": ["parent_id"]}}}]}}],
    """SELECT c.id::text, json_build_object('id', c.id, 'name', c.name,
         'subcategories', (SELECT json_agg(json_build_object('id', s.id, 'name', s.name))
                           FROM category s WHERE s.parent_id = c.id))
       FROM category c""")

# ---------------------------------------------------------------- views and materialized views
case("views", """
CREATE TABLE product (id int PRIMARY KEY, name text, price numeric(10,2), active bool);
CREATE TABLE review (id int PRIMARY KEY, product_id int REFERENCES product, stars int);
INSERT INTO product SELECT i, 'prod ' || i, i * 1.25, i % 3 <> 0 FROM generate_series(1, 40) i;
INSERT INTO review SELECT i, 1 + i % 40, 1 + i % 5 FROM generate_series(1, 90) i;
CREATE VIEW active_product AS SELECT id, name, price FROM product WHERE active;
CREATE MATERIALIZED VIEW review_stats AS
  SELECT product_id, count(*) AS reviews, avg(stars)::numeric(4,2) AS stars FROM review
  GROUP BY product_id;
""", [{"index": "views", "nodes": {"table": "active_product", "columns": ["id", "name", "price"],
    "primary_key": ["id"], "base_tables": ["product"], "children": [
        {"table": "review_stats", "columns": ["reviews", "stars"], "label": "stats",
         "primary_key": ["product_id"], "base_tables": ["review"],
         "relationship": {"variant": "object", "type": "one_to_one",
                          "foreign_key": {"parent": ["id"], "child": ["product_id"]}}}]}}],
    """SELECT p.id::text, json_build_object('id', p.id, 'name', p.name, 'price', p.price,
         'stats', (SELECT json_build_object('reviews', r.reviews, 'stars', r.stars)
                   FROM review_stats r WHERE r.product_id = p.id))
       FROM active_product p""")

# ---------------------------------------------------------------- several schemas
case("schemas", """
CREATE SCHEMA sales; CREATE SCHEMA crm;
CREATE TABLE crm.customer (id int PRIMARY KEY, name text);
CREATE TABLE sales."order" (id int PRIMARY KEY, customer_id int REFERENCES crm.customer, total int);
INSERT INTO crm.customer SELECT i, 'cust ' || i FROM generate_series(1, 25) i;
INSERT INTO sales."order" SELECT i, 1 + i % 25, i * 10 FROM generate_series(1, 70) i;
""", [{"index": "schemas", "nodes": {"table": "customer", "schema": "crm", "columns": ["id", "name"],
    "children": [{"table": "order", "schema": "sales", "columns": ["id", "total"], "label": "orders",
                  "relationship": {"variant": "object", "type": "one_to_many"}}]}}],
    """SELECT c.id::text, json_build_object('id', c.id, 'name', c.name,
         'orders', (SELECT json_agg(json_build_object('id', o.id, 'total', o.total))
                    FROM sales."order" o WHERE o.customer_id = c.id))
       FROM crm.customer c""")

# ---------------------------------------------------------------- value types, as to_json
# (mapping dynamic false: NaN, Infinity and mixed arrays are stored, not indexed)
case("types", """
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE TABLE v (id bigint PRIMARY KEY, i2 int2, i8 int8, n numeric, f4 float4, f8 float8, b bool,
  t text, c char(5), vc varchar(9), d date, ts timestamp, tz timestamptz, tm time, ttz timetz,
  iv interval, u uuid, by bytea, j json, jb jsonb, ia int[], ta text[][], m mood, ip inet);
INSERT INTO v SELECT i, i - 3, 9007199254740993 + i,
  CASE i % 4 WHEN 0 THEN 'NaN' WHEN 1 THEN '123456789012345678901234567890.1234567890'
             WHEN 2 THEN '-0.000' ELSE i / 7.0 END,
  CASE WHEN i % 5 = 0 THEN 'Infinity' ELSE i / 3.0 END, i * 1.1e300 / 1e300, i % 2 = 0,
  E'q"\\\\ \\n\\t' || chr(1) || ' é ' || i, 'ab', 'x' || i,
  CASE WHEN i = 3 THEN 'infinity'::date ELSE date '2024-02-29' + i END,
  timestamp '2024-02-29 13:45:00.5' + i * interval '1 day 1 second',
  timestamptz '2024-02-29 13:45:00+05:30' + i * interval '1 hour', '13:45:00.5', '10:00-03:30',
  i * interval '1 day 2 hours', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff',
  '{"a" :  1, "b": [1, 2]}', '{"b": 1, "a": [1.50, "x"]}', ARRAY[i, NULL, 3],
  ARRAY[ARRAY['a', 'b c'], ARRAY['"', NULL]], 'sad', '10.0.0.1/8'
FROM generate_series(1, 12) i;
""", [{"index": "types", "mappings": {"dynamic": False}, "nodes": {"table": "v"}}],
    """SELECT v.id::text, to_json(v) FROM v""")

# ---------------------------------------------------------------- routing and pipeline
st, _ = env.http("PUT", "/_ingest/pipeline/tagit",
                 {"processors": [{"set": {"field": "ingested", "value": "yes"}}]})
env.check(st == 200, "pipeline tagit stored in the test server")
case("routed", """
CREATE TABLE account (id int PRIMARY KEY, region text, name text);
INSERT INTO account SELECT i, 'r' || (i % 4), 'acct ' || i FROM generate_series(1, 30) i;
""", [{"index": "routed", "routing": "region", "pipeline": "tagit",
       "nodes": {"table": "account", "columns": ["id", "region", "name"]}}],
    """SELECT a.id::text, json_build_object('id', a.id, 'region', a.region, 'name', a.name,
         'ingested', 'yes') FROM account a""")
routed = env.dump("routed")
env.check(len(routed) == 30 and all(r == s["region"] for s, r in routed.values()),
          "routed: every document carries _routing = its region")

# ---------------------------------------------------------------- idempotence
r = env.run_dip(["sync-es", "--config", os.path.join(env.work, "books.json"), "--bootstrap"])
env.check(r.returncode == 0 and "nothing changed" in r.stderr,
          "books: a second --bootstrap changes nothing", r.stderr[-1000:])
runs = env.psql("SELECT action || ':' || state || ':' || documents FROM dip.sync_es_runs "
                "WHERE alias = 'books_nested' ORDER BY run_id", "books").split()
env.check(runs == ["once:done:300", "bootstrap:done:0"],
          "books: runs recorded with their documents and state", str(runs))

env.finish()
