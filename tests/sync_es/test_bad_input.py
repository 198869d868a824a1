#!/usr/bin/python3
"""test_bad_input.py DIP SRC: sync-es refuses what it cannot work with, clearly, with a
non-zero exit and nothing half-created (no publication, slot, state row or index left).

Cases: a slot, a publication or an index of dip's names that exists without dip's state;
dip's slot given two_phase by another client;
a role without REPLICATION; wal_level not logical (last: it restarts the cluster); a missing
config; a table without a primary key. Also: --teardown keeps the index and drops the rest,
--reindex builds v2 and moves the alias, .env and SCHEMA are read.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synces  # noqa: E402

env = synces.Env(sys.argv[1], sys.argv[2])

env.createdb("shop")
env.psql("""
CREATE TABLE item (id int PRIMARY KEY, name text);
CREATE TABLE tag (id int PRIMARY KEY, item_id int REFERENCES item, t text);
CREATE TABLE nokey (a int, b text);
INSERT INTO item SELECT i, 'item ' || i FROM generate_series(1, 50) i;
INSERT INTO tag SELECT i, 1 + i % 50, 't' || i FROM generate_series(1, 120) i;
INSERT INTO nokey VALUES (1, 'x');
""", "shop")
SCHEMA = [{"database": "shop", "index": "shop", "nodes": {"table": "item", "columns": ["id", "name"],
           "children": [{"table": "tag", "columns": ["t"], "label": "tags",
                         "relationship": {"variant": "scalar", "type": "one_to_many"}}]}}]
path = env.write_schema("shop", SCHEMA)


def nothing_created(what, slots=("dip_shop_v1",), index="shop_v1"):
    pubs = env.psql("SELECT count(*) FROM pg_publication WHERE pubname = 'dip_shop'", "shop").strip()
    sl = env.psql("SELECT count(*) FROM pg_replication_slots WHERE slot_name IN (%s)"
                  % ",".join("'%s'" % s for s in slots), "shop").strip()
    state = env.psql("SELECT CASE WHEN to_regclass('dip.sync_es_state') IS NULL THEN 0 ELSE "
                     "(SELECT count(*) FROM dip.sync_es_state) END", "shop").strip()
    st, _ = env.http("HEAD", "/" + index) if False else env.http("GET", "/" + index)
    env.check(pubs == "0" and sl == "0" and state == "0" and st == 404,
              "%s: nothing half-created" % what,
              "publication %s slots %s state %s index status %s" % (pubs, sl, state, st))


def refused(what, r, words, code=None):
    ok = r.returncode != 0 and (code is None or r.returncode == code) and \
        all(w in r.stderr for w in words)
    env.check(ok, "%s: refused (exit %d) naming %s" % (what, r.returncode, words), r.stderr[-800:])


# ---------------------------------------------------------------- objects that belong to others
env.psql("SELECT pg_create_logical_replication_slot('dip_shop_v1', 'test_decoding')", "shop")
r = env.run_dip(["sync-es", "--config", path, "--bootstrap"])
refused("foreign slot", r, ["dip_shop_v1", "belongs to something else"], 2)
env.psql("SELECT pg_drop_replication_slot('dip_shop_v1')", "shop")
nothing_created("foreign slot")

env.psql("CREATE PUBLICATION dip_shop FOR TABLE item", "shop")
r = env.run_dip(["sync-es", "--config", path, "--bootstrap"])
refused("foreign publication", r, ["publication dip_shop", "belongs to something else"], 2)
env.psql("DROP PUBLICATION dip_shop", "shop")
nothing_created("foreign publication")

st, _ = env.http("PUT", "/shop", {})
r = env.run_dip(["sync-es", "--config", path, "--bootstrap"])
refused("foreign index named like the alias", r, ["index shop", "belongs to something else"], 2)
env.http("DELETE", "/shop")
nothing_created("foreign index")

# ---------------------------------------------------------------- no replication privilege
env.psql("CREATE ROLE weak LOGIN; GRANT ALL ON ALL TABLES IN SCHEMA public TO weak; "
         "GRANT CREATE ON DATABASE shop TO weak;", "shop")
r = env.run_dip(["sync-es", "--config", path, "--bootstrap"], PGUSER="weak")
refused("role without REPLICATION", r, ["weak", "REPLICATION"], 2)
nothing_created("role without REPLICATION")

# ---------------------------------------------------------------- bad configuration
r = env.run_dip(["sync-es", "--bootstrap"], SCHEMA=None)
refused("no config", r, ["--config"], 2)
r = env.run_dip(["sync-es", "--config", path])
refused("no action", r, ["--validate"], 2)
bad = env.write_schema("nokey", [{"database": "shop", "index": "nokey", "nodes": {"table": "nokey"}}])
r = env.run_dip(["sync-es", "--config", bad, "--bootstrap"])
refused("table without a primary key", r, ["nokey", "primary"])
with open(os.path.join(env.work, ".env"), "w") as f:
    f.write("# PGSync's .env\nexport SCHEMA='%s'\nBROKEN LINE\n" % path)
r = env.run_dip(["sync-es", "--validate"], SCHEMA=None)
refused(".env with a malformed line", r, [".env", "line 3"], 2)

# ---------------------------------------------------------------- .env, SCHEMA, bootstrap, load
with open(os.path.join(env.work, ".env"), "w") as f:
    f.write("# PGSync's .env\nexport SCHEMA='%s'\nDIP_ES_BATCH=9 # small ranges\n" % path)
r = env.run_dip(["sync-es", "--once"], SCHEMA=None)
env.check(r.returncode == 0, ".env names the schema (SCHEMA) and DIP_ES_BATCH", r.stderr[-800:])
ranges = env.psql("SELECT count(*) FROM dip.sync_es_ranges", "shop").strip()
env.check(ranges == "6", "DIP_ES_BATCH=9 from .env: 50 roots in 6 ranges", ranges)
EXPECTED = """SELECT i.id::text, json_build_object('id', i.id, 'name', i.name,
    'tags', (SELECT json_agg(t.t) FROM tag t WHERE t.item_id = i.id)) FROM item i"""
synces.compare(env, "shop v1", env.expected("shop", EXPECTED), env.dump("shop"))
os.unlink(os.path.join(env.work, ".env"))

# ---------------------------------------------------------------- a slot that another client gave two_phase
# Decoding the slot once with pgoutput's two_phase option sets two_phase on it for good:
# PostgreSQL would then send prepared transactions at PREPARE. dip refuses the slot before
# streaming and points at --reindex, which the next section runs.
env.psql("SELECT count(*) FROM pg_logical_slot_peek_binary_changes('dip_shop_v1', NULL, NULL, "
         "'proto_version', '3', 'publication_names', 'dip_shop', 'two_phase', 'on')", "shop")
tp = env.psql("SELECT two_phase FROM pg_replication_slots WHERE slot_name = 'dip_shop_v1'",
              "shop").strip()
env.check(tp == "t", "the peek with two_phase set it on dip's slot", tp)
r = env.run_dip(["sync-es", "--config", path, "--once"])
refused("slot with two_phase", r, ["dip_shop_v1", "two_phase", "--reindex"], 2)

# ---------------------------------------------------------------- reindex (with a schema change)
env.psql("UPDATE item SET name = name || ' (new)' WHERE id % 2 = 0;"
         "CREATE TABLE review (id int PRIMARY KEY, item_id int REFERENCES item, stars int);"
         "INSERT INTO review SELECT i, 1 + i % 30, i % 5 FROM generate_series(1, 40) i;", "shop")
SCHEMA[0]["nodes"]["children"].append(
    {"table": "review", "columns": ["stars"], "label": "stars",
     "relationship": {"variant": "scalar", "type": "one_to_many"}})
path = env.write_schema("shop", SCHEMA)
r = env.run_dip(["sync-es", "--config", path, "--bootstrap"])
env.check(r.returncode == 0 and "lacks" in r.stderr and "review" in r.stderr,
          "--bootstrap after a schema change warns that the publication lacks the new table",
          r.stderr[-800:])
r = env.run_dip(["sync-es", "--config", path, "--reindex"])
env.check(r.returncode == 0, "--reindex exits 0", r.stderr[-1500:])
pub = env.psql("SELECT count(*) FROM pg_publication_tables WHERE pubname = 'dip_shop' "
               "AND tablename = 'review'", "shop").strip()
env.check(pub == "1", "--reindex added the new table to the publication", pub)
EXPECTED = """SELECT i.id::text, json_build_object('id', i.id, 'name', i.name,
    'tags', (SELECT json_agg(t.t) FROM tag t WHERE t.item_id = i.id),
    'stars', (SELECT json_agg(r.stars) FROM review r WHERE r.item_id = i.id)) FROM item i"""
st, aliases = env.http("GET", "/_alias/shop")
env.check(st == 200 and list(aliases.keys()) == ["shop_v2"], "alias shop now on shop_v2 only",
          str(aliases))
st, _ = env.http("GET", "/shop_v1")
env.check(st == 404, "old index shop_v1 deleted")
slots = env.psql("SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots",
                 "shop").strip()
env.check(slots == "dip_shop_v2", "old slot dropped, new one kept", slots)
synces.compare(env, "shop v2", env.expected("shop", EXPECTED), env.dump("shop"))

# ---------------------------------------------------------------- teardown
r = env.run_dip(["sync-es", "--config", path, "--teardown"])
env.check(r.returncode == 0, "--teardown exits 0", r.stderr[-800:])
st, _ = env.http("GET", "/shop_v2")
env.check(st == 200, "--teardown keeps the index")
nothing_created("after --teardown", slots=("dip_shop_v1", "dip_shop_v2"), index="shop_v1")
r = env.run_dip(["sync-es", "--config", path, "--teardown"])
env.check(r.returncode == 0, "a second --teardown is harmless", r.stderr[-800:])
env.http("DELETE", "/shop_v2")

# ---------------------------------------------------------------- wal_level not logical
env.psql("ALTER SYSTEM SET wal_level = 'replica'", "shop")
subprocess.run([os.path.join(env.src, "scripts/pg-cluster.sh"), "restart", env.pgenv["DIP_PG_DIR"]],
               check=True, capture_output=True)
r = env.run_dip(["sync-es", "--config", path, "--bootstrap"])
refused("wal_level replica", r, ["wal_level", "logical"], 2)
nothing_created("wal_level replica")

env.finish()
