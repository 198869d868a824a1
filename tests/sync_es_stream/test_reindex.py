#!/usr/bin/python3
"""test_reindex.py DIP SRC: changes committed during `dip sync-es --reindex` are in the new
index when the alias moves to it (issue 11: the stream never loses a change).

--reindex builds v2 from the snapshot its new slot exported, then must apply what the new
slot holds (the changes committed after that snapshot) before it swaps the alias. The test
makes that window certain, not a race: the test server holds the load's first bulk request
for 4 s (a fault armed through /_test/faults), so the load has read its snapshot and is not
done; while it waits, rows of both tables are changed and committed. Right after --reindex (no --once), the
whole index must equal documents the test computes in SQL.
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import streamtest  # noqa: E402,F401
from streamtest import synces  # noqa: E402

env = synces.Env(sys.argv[1], sys.argv[2])
DB = "reidx"
env.createdb(DB)
env.psql("""
CREATE TABLE item (id int PRIMARY KEY, name text);
CREATE TABLE tag (id int PRIMARY KEY, item_id int REFERENCES item, label text);
INSERT INTO item SELECT i, 'item ' || i FROM generate_series(1, 200) i;
INSERT INTO tag SELECT i, 1 + i % 200, 'tag ' || i FROM generate_series(1, 400) i;
""", DB)
schema = [{"database": DB, "index": DB, "nodes": {
    "table": "item", "columns": ["id", "name"], "children": [
        {"table": "tag", "label": "tags", "columns": ["id", "label"],
         "relationship": {"variant": "object", "type": "one_to_many"}}]}}]
path = env.write_schema(DB, schema)
EXPECTED = """SELECT i.id::text, json_build_object('id', i.id, 'name', i.name,
    'tags', (SELECT json_agg(json_build_object('id', t.id, 'label', t.label))
             FROM tag t WHERE t.item_id = i.id))
    FROM item i"""

r = env.run_dip(["sync-es", "--config", path, "--bootstrap"])
env.check(r.returncode == 0, "--bootstrap exits 0", r.stderr[-1500:])
r = env.run_dip(["sync-es", "--config", path, "--once"])
env.check(r.returncode == 0, "--once exits 0", r.stderr[-1500:])
streamtest.compare_index(env, "v1 after the initial load", DB, DB, EXPECTED)

# the load's first bulk to v2 is held 4 s by the server: the load has read its snapshot and
# is not done while the changes below commit
env.http("PUT", "/_test/faults", {"delay_ms": 4000, "request_count": 1, "path": "_bulk"})
env.http("DELETE", "/_test/stats")
log_path = os.path.join(env.work, "reindex.log")
with open(log_path, "w") as log:
    reindex = subprocess.Popen([env.dip, "sync-es", "--config", path, "--reindex"],
                               stdout=subprocess.DEVNULL, stderr=log, env=env.env(),
                               cwd=env.work)
held = False
deadline = time.time() + 60
while time.time() < deadline and reindex.poll() is None:
    st = env.http("GET", "/_test/stats")[1]
    if st.get("in_flight", 0) >= 1 and st.get("faults_injected", 0) >= 1:
        held = True
        break
    time.sleep(0.02)
env.check(held, "the reindex's first bulk is held by the server", open(log_path).read()[-1500:])
# committed after the new slot's snapshot, before the alias moves
env.psql("UPDATE tag SET label = label || ' (changed during the reindex)' WHERE id <= 50;"
         "DELETE FROM tag WHERE id BETWEEN 51 AND 60;"
         "INSERT INTO tag SELECT i, 1 + i % 7, 'new ' || i FROM generate_series(401, 420) i;"
         "UPDATE item SET name = 'renamed during the reindex' WHERE id % 10 = 0", DB)
env.check(reindex.poll() is None, "the changes committed while the reindex was loading")
if reindex is not None:
    try:
        rc = reindex.wait(300)
    except subprocess.TimeoutExpired:
        reindex.kill()
        rc = reindex.wait()
    env.check(rc == 0, "--reindex exits 0", open(log_path).read()[-2000:])
    alias = env.http("GET", "/_alias/%s" % DB)
    env.check("reidx_v2" in str(alias), "the alias points at v2", str(alias)[:300])
    streamtest.compare_index(env, "right after --reindex: the changes made during it are in v2",
                             DB, DB, EXPECTED)
env.psql("UPDATE item SET name = 'after' WHERE id < 4", DB)
r = env.run_dip(["sync-es", "--config", path, "--once"])
env.check(r.returncode == 0, "--once after the reindex exits 0", r.stderr[-1500:])
streamtest.compare_index(env, "after --reindex and --once", DB, DB, EXPECTED)
env.finish()
