#!/usr/bin/python3
"""test_failover.py DIP SRC: the change stream across a PostgreSQL failover (issue 11).

A running `dip sync-es --daemon` is given every address of the cluster as a libpq host list
with target_session_attrs=read-write, as one configures it for an HA pair.

1. Switchover: primary A, streaming standby B holding a copy of A's slot (what an HA manager
   that copies logical slots gives). A stops (fast: B receives all of A's WAL) and B is
   promoted (timeline 2). The daemon reconnects to B, logs the timeline change, goes on, and
   the index equals the documents computed from B.
2. A failover that loses transactions: standby C of B; C stops receiving; transactions
   committed on B reach the index; B dies (immediate); C is promoted (timeline 3, branched
   off before those transactions). The daemon must not stream on as if nothing happened (the
   index holds documents the new primary does not have, with versions above its LSNs): it
   stops with exit 3 naming the failover and `--reindex`. Then `--reindex` against C makes
   the index equal to C's documents.
3. The same lossy failover while no daemon runs, with REDIS_CHECKPOINT=true: a `--once`
   started afterwards reads the checkpoint's origin (system identifier, timeline) from Redis
   and stops with exit 3 as well; `--reindex` then makes the index right.
Every wait is bounded.
"""
import atexit
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import streamtest  # noqa: E402
from streamtest import synces  # noqa: E402

env = synces.Env(sys.argv[1], sys.argv[2])
DB = "fodb"
PGC = os.path.join(env.src, "scripts/pg-cluster.sh")
dirs = []


def stop_all():
    for d in dirs:
        subprocess.run([PGC, "stop", d], capture_output=True)


atexit.register(stop_all)


def pgc(*args):
    return streamtest.pg_cluster(env, *args)


def use(cluster):
    """The tests' own psql talks to this cluster from now on."""
    env.pgenv.update(cluster)


def wait_streaming(what):
    for _ in range(300):
        # Only the physical standby (pg-cluster.sh names it "standby"): the daemon's own
        # logical walsender is in pg_stat_replication too once it has reconnected.
        if env.psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
                    " AND application_name = 'standby'", check=False).strip() == "1":
            return
        time.sleep(0.1)
    env.check(False, "%s: the standby streams" % what)


def standby_caught_up(standby, lsn, what):
    e = dict(env.pgenv)
    e.update(standby)
    for _ in range(300):
        r = subprocess.run(["psql", "-XAtq", "-c", "SELECT pg_last_wal_replay_lsn() >= '%s'" % lsn],
                           capture_output=True, text=True, env=dict(os.environ, **e))
        if r.stdout.strip() == "t":
            return
        time.sleep(0.1)
    env.check(False, "%s: the standby replayed up to %s" % (what, lsn))


env.createdb(DB)
env.psql("""
CREATE TABLE book (bid int PRIMARY KEY, title text);
CREATE TABLE review (rid int PRIMARY KEY, book_bid int REFERENCES book, stars int);
CREATE INDEX ON review (book_bid);
INSERT INTO book SELECT i, 'book ' || i FROM generate_series(1, 200) i;
INSERT INTO review SELECT i, 1 + i % 200, i % 5 FROM generate_series(1, 400) i;
CREATE SEQUENCE w START 1000;
""", DB)
schema = [{"database": DB, "index": DB, "nodes": {
    "table": "book", "columns": ["bid", "title"], "children": [
        {"table": "review", "columns": ["rid", "stars"], "label": "reviews",
         "relationship": {"variant": "object", "type": "one_to_many"}}]}}]
path = env.write_schema(DB, schema)
SLOT = "dip_%s_v1" % DB
EXPECTED = """SELECT b.bid::text, json_build_object('bid', b.bid, 'title', b.title,
    'reviews', (SELECT json_agg(json_build_object('rid', r.rid, 'stars', r.stars))
                FROM review r WHERE r.book_bid = b.bid)) FROM book b"""


def write(n, tag):
    """n transactions: a new book with a review, an update of an old book, a moved review."""
    sql = []
    for i in range(n):
        sql.append("BEGIN; INSERT INTO book VALUES (nextval('w'), '%s %d'); "
                   "INSERT INTO review VALUES (nextval('w'), currval('w') - 1, %d); "
                   "UPDATE book SET title = '%s update %d' WHERE bid = %d; "
                   "UPDATE review SET book_bid = %d WHERE rid = %d; COMMIT;"
                   % (tag, i, i % 5, tag, i, 1 + i % 200, 1 + (i * 7) % 200, 1 + i % 400))
    env.psql("\n".join(sql), DB)


r = env.run_dip(["sync-es", "--config", path, "--once"])
env.check(r.returncode == 0, "--once: bootstrap and initial load", r.stderr[-1500:])
A = {k: env.pgenv[k] for k in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "DIP_PG_DIR")}
dirs.append(A["DIP_PG_DIR"])
PORT_B, PORT_C = streamtest.free_port(), streamtest.free_port()
B = pgc("standby", A["DIP_PG_DIR"], PORT_B)
dirs.append(B["DIP_PG_DIR"])
wait_streaming("A -> B")

d = streamtest.Daemon(env, path, "failover", PGHOST="127.0.0.1,127.0.0.1,127.0.0.1",
                      PGPORT="%s,%d,%d" % (A["PGPORT"], PORT_B, PORT_C),
                      PGTARGETSESSIONATTRS="read-write")
write(20, "before")
ok = streamtest.wait_confirmed(env, DB, SLOT, streamtest.insert_lsn(env, DB), d, timeout=60)
env.check(ok, "the daemon streams from primary A", d.text()[-1000:])

# ---------------------------------------------------------------- 1. switchover A -> B
pgc("halt", A["DIP_PG_DIR"], "fast")
pgc("promote", B["DIP_PG_DIR"])
use(B)
write(20, "after-switchover")
ok = streamtest.wait_confirmed(env, DB, SLOT, streamtest.insert_lsn(env, DB), d, timeout=120)
env.check(ok and d.alive(), "switchover A -> B: the daemon reconnected to B and caught up",
          d.text()[-1500:])
env.check("timeline 1 -> 2" in d.text(), "the daemon logged the timeline change and went on",
          d.text()[-800:])
streamtest.compare_index(env, "after the switchover", DB, DB, EXPECTED)

# ---------------------------------------------------------------- 2. failover B -> C, a lost tail
C = pgc("standby", B["DIP_PG_DIR"], PORT_C)
dirs.append(C["DIP_PG_DIR"])
wait_streaming("B -> C")
write(10, "replicated")
lsn = streamtest.insert_lsn(env, DB)
standby_caught_up(C, lsn, "B -> C")
ok = streamtest.wait_confirmed(env, DB, SLOT, lsn, d, timeout=120)
env.check(ok and d.alive(), "the daemon streams from B again after B's restart", d.text()[-1000:])
pgc("halt", C["DIP_PG_DIR"], "fast")
write(10, "lost")
ok = streamtest.wait_confirmed(env, DB, SLOT, streamtest.insert_lsn(env, DB), d, timeout=60)
env.check(ok, "the daemon indexed the transactions C will not have", d.text()[-1000:])
lost = [s for s, _ in env.dump(DB).values() if str(s.get("title", "")).startswith("lost")]
env.check(len(lost) > 0, "documents of the soon-lost transactions are in the index (%d)" % len(lost))
pgc("halt", B["DIP_PG_DIR"], "immediate")
pgc("resume", C["DIP_PG_DIR"])
pgc("promote", C["DIP_PG_DIR"])
use(C)
rc = None
try:
    rc = d.p.wait(120)
except subprocess.TimeoutExpired:
    pass
text = d.text()
env.check(rc == 3, "after a failover that lost transactions the daemon stops (exit %s, want 3)" % rc,
          text[-1500:])
env.check("a failover lost transactions" in text and "timeline 2" in text and "--reindex" in text,
          "its error names the failover, the timelines and the way back", text[-800:])
d.stop()
n_lost = env.psql("SELECT count(*) FROM book WHERE title LIKE 'lost%'", DB).strip()
env.check(n_lost == "0", "the new primary C does not have the lost transactions (%s rows)" % n_lost)

# ---------------------------------------------------------------- the way back
r = env.run_dip(["sync-es", "--config", path, "--reindex"])
env.check(r.returncode == 0, "--reindex against the new primary", r.stderr[-1500:])
streamtest.compare_index(env, "after --reindex on the new primary", DB, DB, EXPECTED)
write(5, "after-reindex")
r = env.run_dip(["sync-es", "--config", path, "--once"])
env.check(r.returncode == 0, "--once streams on from the new primary", r.stderr[-1500:])
streamtest.compare_index(env, "after changes on the new primary", DB, DB, EXPECTED)

# ---------------------------------------------------------------- 3. no daemon ran meanwhile
# With REDIS_CHECKPOINT=true the checkpoint's server history (system identifier, timeline) is
# in Redis too: a dip started only after a lossy failover still sees it.
RPORT = streamtest.free_port()
rdir = os.path.join(env.work, "redis")
os.makedirs(rdir)
redis = subprocess.Popen(["redis-server", "--port", str(RPORT), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", rdir], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
atexit.register(lambda: redis.poll() is None and (redis.terminate(), redis.wait(30)))
for _ in range(100):
    r = subprocess.run(["redis-cli", "-p", str(RPORT), "PING"], capture_output=True, text=True)
    if r.stdout.strip() == "PONG":
        break
    time.sleep(0.05)
REDIS = {"REDIS_CHECKPOINT": "true", "REDIS_URL": "redis://127.0.0.1:%d/0" % RPORT}
PORT_D = streamtest.free_port()
D = pgc("standby", C["DIP_PG_DIR"], PORT_D)
dirs.append(D["DIP_PG_DIR"])
wait_streaming("C -> D")
write(5, "redis-replicated")
r = env.run_dip(["sync-es", "--config", path, "--once"], **REDIS)
env.check(r.returncode == 0, "--once with the checkpoint in Redis", r.stderr[-1500:])
origin = subprocess.run(["redis-cli", "-p", str(RPORT), "KEYS", "dip:sync-es:*:origin"],
                        capture_output=True, text=True).stdout.split()
env.check(len(origin) == 1, "Redis holds the checkpoint's origin key", str(origin))
standby_caught_up(D, streamtest.insert_lsn(env, DB), "C -> D")
pgc("halt", D["DIP_PG_DIR"], "fast")
write(10, "lost-again")
r = env.run_dip(["sync-es", "--config", path, "--once"], **REDIS)
env.check(r.returncode == 0, "--once indexes the transactions D will not have", r.stderr[-1500:])
pgc("halt", C["DIP_PG_DIR"], "immediate")
pgc("resume", D["DIP_PG_DIR"])
pgc("promote", D["DIP_PG_DIR"])
use(D)
r = env.run_dip(["sync-es", "--config", path, "--once"], **REDIS)
env.check(r.returncode == 3 and "a failover lost transactions" in r.stderr and "timeline 3" in r.stderr,
          "a dip started after a lossy failover stops too (exit %d), from Redis's origin and "
          "checkpoint" % r.returncode, r.stderr[-1500:])
r = env.run_dip(["sync-es", "--config", path, "--reindex"], **REDIS)
env.check(r.returncode == 0, "--reindex against the newest primary", r.stderr[-1500:])
streamtest.compare_index(env, "after --reindex on the newest primary", DB, DB, EXPECTED)
env.finish()
