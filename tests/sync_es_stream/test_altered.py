#!/usr/bin/python3
"""test_altered.py DIP SRC: bad input while streaming (issue 11, "What it must show" 3).

A running `dip sync-es --daemon`; tables of the tree are altered under it, each ALTER followed
by row changes; after each step the whole index must equal documents the test computes in SQL
(never dip's output):
- a column added / an unused column dropped: the stream goes on;
- a column of the documents changes type (the rewrite is not in the stream): every document
  is rebuilt with the new rendering (numbers become strings: the index mapping takes them);
- columns added to a node that takes every column: every document gets them;
- a join column changes type: the builder and the resolver are prepared again;
- tables outside the tree (not published, and published by hand): ignored;
- a column the documents use is dropped: the daemon stops with a data error (exit 3) naming
  the table, the column and the way back (--reindex), confirms nothing after the change, and
  `--reindex` with a fixed schema.json gives the exact index.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import streamtest  # noqa: E402
from streamtest import synces  # noqa: E402

env = synces.Env(sys.argv[1], sys.argv[2])
DB = "altered"
SLOT = "dip_altered_v1"
env.createdb(DB)
env.psql("""
CREATE TABLE item (id int PRIMARY KEY, name text, price numeric(8,2), qty int);
CREATE TABLE tag (id int PRIMARY KEY, item_id int REFERENCES item, label text);
CREATE TABLE other (id int PRIMARY KEY, v text);
INSERT INTO item SELECT i, 'item ' || i, i * 1.25, i * 3 FROM generate_series(1, 60) i;
INSERT INTO tag SELECT i, 1 + i % 50, 'tag ' || i FROM generate_series(1, 120) i;
""", DB)
schema = [{"database": DB, "index": DB, "nodes": {
    "table": "item", "columns": ["id", "name", "price", "qty"], "children": [
        {"table": "tag", "label": "tags",
         "relationship": {"variant": "object", "type": "one_to_many"}}]}}]
path = env.write_schema(DB, schema)


def expected_sql(price=True):
    return """SELECT i.id::text, json_build_object('id', i.id, 'name', i.name, %s 'qty', i.qty,
        'tags', (SELECT json_agg(to_json(t)) FROM tag t WHERE t.item_id = i.id))
        FROM item i""" % ("'price', i.price," if price else "")


d = streamtest.Daemon(env, path, DB)
try:
    ok = streamtest.wait_confirmed(env, DB, SLOT, streamtest.insert_lsn(env, DB), d)
    env.check(ok, "daemon: initial load and catch-up", d.text()[-1500:])
    streamtest.compare_index(env, "after the initial load", DB, DB, expected_sql())
    steps = [
        ("a column added to the root, not in the documents",
         "ALTER TABLE item ADD COLUMN extra text; "
         "UPDATE item SET extra = 'x', name = name || '+' WHERE id <= 3; "
         "INSERT INTO item VALUES (61, 'new', 1, 2, 'e')"),
        ("an unused column dropped", "ALTER TABLE item DROP COLUMN extra; "
                                    "UPDATE item SET name = name || '-' WHERE id = 4"),
        ("a column of the documents changed type (int -> text), one row changed after",
         "ALTER TABLE item ALTER COLUMN qty TYPE text USING qty::text; "
         "UPDATE item SET name = 'five' WHERE id = 5"),
        ("the ALTER and changes in one transaction (text -> int)",
         "BEGIN; UPDATE item SET name = 'six' WHERE id = 6; "
         "ALTER TABLE item ALTER COLUMN qty TYPE int USING qty::int + 1; "
         "UPDATE item SET qty = 99 WHERE id = 7; COMMIT"),
        ("a column added to a node taking every column",
         "ALTER TABLE tag ADD COLUMN color text DEFAULT 'red'; "
         "UPDATE tag SET color = 'blue' WHERE id = 1"),
        ("a column dropped from a node taking every column",
         "ALTER TABLE tag DROP COLUMN color; INSERT INTO tag VALUES (500, 2, 'fresh')"),
        ("a join column changed type (int -> bigint), a tag moved",
         "ALTER TABLE tag ALTER COLUMN item_id TYPE bigint; "
         "UPDATE tag SET item_id = 7 WHERE id = 2"),
        ("a table outside the tree, not published", "INSERT INTO other VALUES (1, 'a'); "
                                                   "UPDATE item SET name = 'eight' WHERE id = 8"),
        ("a table outside the tree added to the publication by hand",
         "ALTER PUBLICATION dip_altered ADD TABLE other; INSERT INTO other VALUES (2, 'b'); "
         "UPDATE other SET v = 'c'; DELETE FROM other WHERE id = 1; "
         "UPDATE item SET name = 'nine' WHERE id = 9"),
    ]
    for label, sql in steps:
        env.psql(sql, DB)
        ok = streamtest.wait_confirmed(env, DB, SLOT, streamtest.insert_lsn(env, DB), d)
        env.check(ok, "daemon caught up after '%s'" % label, d.text()[-1500:])
        streamtest.compare_index(env, "after '%s'" % label, DB, DB, expected_sql())
        if env.failed:
            print(d.text()[-3000:])
    env.check("every document is rebuilt" in d.text(),
              "the daemon logged that the type change rebuilds every document")
    # a column of the documents dropped: stop before it, confirm nothing after it
    before = streamtest.confirmed(env, DB, SLOT)
    env.psql("ALTER TABLE item DROP COLUMN price; UPDATE item SET name = 'gone' WHERE id = 10",
             DB)
    after_drop = streamtest.insert_lsn(env, DB)
    try:
        d.p.wait(60)
    except Exception:  # noqa: BLE001 (TimeoutExpired: checked below)
        pass
    rc = d.p.poll()
    log = d.text()
    env.check(rc == 3, "a dropped document column stops the daemon with exit 3 (data)",
              "rc=%s %s" % (rc, log[-1500:]))
    env.check("item" in log and '"price"' in log and "--reindex" in log,
              "the error names the table, the column and the way back", log[-1500:])
    now = streamtest.confirmed(env, DB, SLOT)
    v = env.psql("SELECT '%s'::pg_lsn < '%s'::pg_lsn" % (now, after_drop), DB).strip()
    env.check(v == "t", "nothing after the change is confirmed (slot at %s, was %s, change "
              "ends before %s)" % (now, before, after_drop))
finally:
    d.stop()

# the way back: schema.json without the column, --reindex
schema[0]["nodes"]["columns"] = ["id", "name", "qty"]
path = env.write_schema(DB, schema)
r = env.run_dip(["sync-es", "--config", path, "--reindex"])
env.check(r.returncode == 0, "--reindex with the fixed schema.json exits 0", r.stderr[-2000:])
streamtest.compare_index(env, "after --reindex", DB, DB, expected_sql(price=False))
env.psql("UPDATE item SET name = 'after reindex' WHERE id < 5; DELETE FROM tag WHERE id = 3", DB)
r = env.run_dip(["sync-es", "--config", path, "--once"])
env.check(r.returncode == 0, "--once after the reindex exits 0", r.stderr[-2000:])
streamtest.compare_index(env, "after --reindex and --once", DB, DB, expected_sql(price=False))

env.finish()
