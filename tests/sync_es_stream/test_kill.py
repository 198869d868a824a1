#!/usr/bin/python3
"""test_kill.py DIP SRC [TRIALS]: the change stream survives what operations throw at it
(issue 11, "Crash safety"), under a concurrent write workload on root, child and link tables.

1. TRIALS (default 8; DIP_CRASH_TRIALS overrides, `make soak-sync-es` runs 100) SIGKILLs of
   `dip sync-es --daemon` at random moments (0.05-1.5 s after its start; the seed is printed,
   DIP_TEST_SEED replays it), each followed by a restart; the restarted daemon must never stop
   on its own (no exit 3).
2. PostgreSQL restarted (pg_ctl restart -m fast) under load: the daemon retries, keeps the
   slot, loses nothing.
3. The search engine (the test server) stopped and started again on the same port and data
   under load.
4. A 429 storm: whole bulk requests refused with 429, then a share of the items.
5. A hot standby taking over: a second daemon waits; the first is SIGKILLed; the second takes
   over (the time is printed) and goes on.
6. (run before 5) A failover to a new primary with the slot: the primary dies (immediate
   stop) and its storage comes up as a new primary on another port (scripts/pg-cluster.sh
   failover); the daemon, given both addresses as a libpq host list, reconnects there,
   resumes from the slot and loses nothing.
After each part the workload stops, a --once catches up, and the whole index must equal the
documents the test computes in SQL from the database as it is: no lost, stale or extra
document. Keys are not named id. Every loop is bounded in count and time.
"""
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import streamtest  # noqa: E402
from streamtest import synces  # noqa: E402

env = synces.Env(sys.argv[1], sys.argv[2])
TRIALS = int(os.environ.get("DIP_CRASH_TRIALS", sys.argv[3] if len(sys.argv) > 3 else "8"))
SEED = int(os.environ.get("DIP_TEST_SEED", str(int(time.time()))))
print("# seed %d (DIP_TEST_SEED=%d replays it), %d kill trials" % (SEED, SEED, TRIALS))
rng = random.Random(SEED)
DB = "killdb"
BOOKS, AUTHORS, TAGS = 600, 80, 30

env.createdb(DB)
env.psql("""
CREATE TABLE author (aid int PRIMARY KEY, name text);
CREATE TABLE book (bid int PRIMARY KEY, title text, author_aid int REFERENCES author);
CREATE TABLE review (rid int PRIMARY KEY, book_bid int REFERENCES book ON DELETE CASCADE,
                     stars int);
CREATE TABLE tag (no int PRIMARY KEY, label text);
CREATE TABLE book_tag (book_bid int REFERENCES book ON DELETE CASCADE, tag_no int REFERENCES tag,
                       PRIMARY KEY (book_bid, tag_no));
CREATE INDEX ON book (author_aid);
CREATE INDEX ON review (book_bid);
CREATE INDEX ON book_tag (tag_no);
INSERT INTO author SELECT i, 'author ' || i FROM generate_series(1, %(a)d) i;
INSERT INTO tag SELECT i, 'tag ' || i FROM generate_series(1, %(t)d) i;
INSERT INTO book SELECT i, 'book ' || i, 1 + i %% %(a)d FROM generate_series(1, %(b)d) i;
INSERT INTO review SELECT i, 1 + i %% %(b)d, i %% 5 FROM generate_series(1, %(b)d * 2) i;
INSERT INTO book_tag SELECT i, 1 + i %% %(t)d FROM generate_series(1, %(b)d) i;
CREATE SEQUENCE w_id START 1000000;
""" % {"a": AUTHORS, "t": TAGS, "b": BOOKS}, DB)
schema = [{"database": DB, "index": DB, "nodes": {
    "table": "book", "columns": ["bid", "title"], "children": [
        {"table": "author", "columns": ["aid", "name"], "label": "author",
         "relationship": {"variant": "object", "type": "one_to_one"}},
        {"table": "review", "columns": ["rid", "stars"], "label": "reviews",
         "relationship": {"variant": "object", "type": "one_to_many"}},
        {"table": "tag", "columns": ["no", "label"], "label": "tags",
         "relationship": {"variant": "object", "type": "one_to_many",
                          "through_tables": ["book_tag"]}}]}}]
path = env.write_schema(DB, schema)
SLOT = "dip_%s_v1" % DB
EXPECTED = """SELECT b.bid::text, json_build_object('bid', b.bid, 'title', b.title,
    'author', (SELECT json_build_object('aid', a.aid, 'name', a.name) FROM author a
               WHERE a.aid = b.author_aid),
    'reviews', (SELECT json_agg(json_build_object('rid', r.rid, 'stars', r.stars))
                FROM review r WHERE r.book_bid = b.bid),
    'tags', (SELECT json_agg(json_build_object('no', t.no, 'label', t.label))
             FROM book_tag bt JOIN tag t ON t.no = bt.tag_no WHERE bt.book_bid = b.bid))
    FROM book b"""


class Writer:
    """Small transactions through one psql session (started again when PostgreSQL restarts)
    until stopped; at most 100,000 transactions and 20 minutes. Every foreign key stays
    valid: books point at the first AUTHORS authors, tags at the first TAGS tags; deletes and
    moves touch rows by key."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.count = 0
        self.restarts = 0
        self.p = None
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def open(self):
        self.p = subprocess.Popen(["psql", "-XAtq", "-d", DB], stdin=subprocess.PIPE,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
                                  env=env.env())

    def tx(self):
        r, n = self.rng, self.count
        stmts = []
        for _ in range(r.randint(1, 4)):
            b = r.randint(1, BOOKS)
            k = r.randrange(8)
            if k == 0:
                stmts.append("UPDATE book SET title = 'title %d' WHERE bid = %d" % (n, b))
            elif k == 1:
                stmts.append("UPDATE author SET name = 'name %d' WHERE aid = %d"
                             % (n, r.randint(1, AUTHORS)))
            elif k == 2:
                stmts.append("INSERT INTO review SELECT nextval('w_id'), bid, %d FROM book "
                             "WHERE bid = %d" % (n % 5, b))
            elif k == 3:
                stmts.append("UPDATE review SET book_bid = %d, stars = %d WHERE rid = "
                             "(SELECT min(rid) FROM review WHERE rid >= %d) AND "
                             "EXISTS (SELECT 1 FROM book WHERE bid = %d)"
                             % (b, n % 5, r.randint(1, 2 * BOOKS), b))
            elif k == 4:
                stmts.append("INSERT INTO book_tag SELECT bid, %d FROM book WHERE bid = %d "
                             "ON CONFLICT DO NOTHING" % (r.randint(1, TAGS), b))
            elif k == 5:
                stmts.append("DELETE FROM book_tag WHERE book_bid = %d" % b)
            elif k == 6:
                stmts.append("INSERT INTO book VALUES (nextval('w_id'), 'new %d', %d)"
                             % (n, r.randint(1, AUTHORS)))
            else:
                stmts.append("DELETE FROM book WHERE bid = (SELECT max(bid) FROM book) "
                             "AND bid >= 1000000")
        if r.randrange(10) == 0:
            stmts.append("UPDATE tag SET label = 'label %d' WHERE no = %d"
                         % (n, r.randint(1, TAGS)))
        return "BEGIN; " + "; ".join(stmts) + "; COMMIT;\n"

    def run(self):
        deadline = time.time() + 1200
        while not self.stop.is_set() and self.count < 100000 and time.time() < deadline:
            try:
                if self.p is None or self.p.poll() is not None:
                    if self.p is not None:
                        self.restarts += 1
                        time.sleep(0.2)
                    self.open()
                self.p.stdin.write(self.tx())
                self.p.stdin.flush()
                self.count += 1
            except (BrokenPipeError, OSError):
                self.p = None
            time.sleep(0.003)

    def finish(self):
        self.stop.set()
        self.t.join(60)
        if self.p is not None:
            try:
                self.p.stdin.close()
            except OSError:
                pass
            try:
                self.p.wait(60)
            except subprocess.TimeoutExpired:
                self.p.kill()
        return self.count


def catch_up_and_compare(what):
    r = env.run_dip(["sync-es", "--config", path, "--once"])
    env.check(r.returncode == 0, "%s: --once catches up" % what, r.stderr[-1500:])
    streamtest.compare_index(env, what, DB, DB, EXPECTED)


r = env.run_dip(["sync-es", "--config", path, "--once"])
env.check(r.returncode == 0, "--once: bootstrap and initial load", r.stderr[-1500:])
streamtest.compare_index(env, "after the initial load", DB, DB, EXPECTED)

# ---------------------------------------------------------------- 1. SIGKILL trials
writer = Writer(rng.random())
stopped_early = []
t0 = time.time()
for t in range(TRIALS):
    d = streamtest.Daemon(env, path, "kill")
    at = rng.uniform(0.05, 1.5)
    time.sleep(at)
    if not d.alive():
        stopped_early.append("trial %d: exit %s: %s" % (t + 1, d.p.returncode, d.text()[-600:]))
    d.stop(signal.SIGKILL)
n = writer.finish()
env.check(not stopped_early, "%d SIGKILLs of the daemon at random moments (%.0f s, %d write "
          "transactions): every restarted daemon kept running until killed" %
          (TRIALS, time.time() - t0, n), "; ".join(stopped_early)[:2000])
catch_up_and_compare("after %d SIGKILL trials" % TRIALS)


def under_load(what, action, seconds=6.0, **extra):
    """A daemon and the writer run; action() happens in the middle; then both stop and the
    index is compared."""
    w = Writer(rng.random())
    d = streamtest.Daemon(env, path, what.split()[0], DIP_ES_STREAM_RETRIES="50", **extra)
    time.sleep(seconds / 2)
    note = action(d)
    time.sleep(seconds / 2)
    n = w.finish()
    lsn = streamtest.insert_lsn(env, DB)
    ok = streamtest.wait_confirmed(env, DB, SLOT, lsn, d, timeout=120)
    env.check(ok and d.alive(), "%s (%d write transactions, %s): the daemon caught up and runs"
              % (what, n, note), d.text()[-1500:])
    rc = d.stop()
    env.check(rc == 0, "%s: SIGTERM drains and exits 0" % what,
              "exit %s: %s" % (rc, open(d.log_path).read()[-800:]))
    streamtest.compare_index(env, what, DB, DB, EXPECTED)


# ---------------------------------------------------------------- 2. PostgreSQL restarted
def restart_pg(d):
    r = subprocess.run([os.path.join(env.src, "scripts/pg-cluster.sh"), "restart",
                        env.pgenv["DIP_PG_DIR"]], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=180)
    env.check(r.returncode == 0, "PostgreSQL restarted (pg-cluster.sh restart: fast stop, start "
              "on the same port)", r.stderr[-800:])
    return "PostgreSQL restarted"


under_load("PostgreSQL restarted under load", restart_pg)


# ---------------------------------------------------------------- 3. the engine restarted
def restart_es(d):
    port = env.es_url.rsplit(":", 1)[1]
    env.es_proc.terminate()
    env.es_proc.wait(30)
    time.sleep(1.0)  # the daemon meets a refused connection meanwhile
    data = os.path.join(env.work, "esdata")
    env.es_proc = subprocess.Popen(
        [os.path.join(env.src, "scripts/es-test-server"), "--port", port, "--data", data],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.time() + 30
    up = False
    while time.time() < deadline:
        line = env.es_proc.stdout.readline()
        if line.startswith("listening "):
            up = True
            break
        if env.es_proc.poll() is not None:
            break
    env.check(up, "the test server started again on port %s with its data" % port)
    return "engine down 1 s"


under_load("search engine restarted under load", restart_es)


# ---------------------------------------------------------------- 4. a 429 storm
def storm(d):
    env.http("PUT", "/_test/faults", {"request_status": 429, "request_count": 1000, "path": "_bulk"})
    time.sleep(3.0)
    env.http("PUT", "/_test/faults", {"item_status": 429, "item_fraction": 0.3, "path": "_bulk"})
    time.sleep(3.0)
    st, stats = env.http("GET", "/_test/stats")
    env.http("DELETE", "/_test/faults")
    return "%s faults injected" % (stats or {}).get("faults_injected", "?")


env.http("DELETE", "/_test/stats")
under_load("429 storm under load", storm, seconds=4.0)
st, stats = env.http("GET", "/_test/stats")
env.check((stats or {}).get("faults_injected", 0) >= 3, "the storm refused requests and items",
          str(stats))

# ---------------------------------------------------------------- 6. failover to a new primary
# The primary dies (immediate stop) and a new primary comes up on its storage at another
# address, with the slot as last persisted (a storage-level failover: RDS Multi-AZ, a disk
# re-attached elsewhere). The daemon was given both addresses (a libpq host list, as for any
# HA pair) and must reconnect to the new one, resume from the slot and lose nothing.
NEW_PORT = streamtest.free_port()


def failover(d):
    try:
        env.pgenv.update(streamtest.pg_cluster(env, "failover", env.pgenv["DIP_PG_DIR"], NEW_PORT))
        ok, why = True, ""
    except RuntimeError as e:
        ok, why = False, str(e)
    env.check(ok, "the primary died and a new primary took over its storage on port %d" % NEW_PORT,
              why)
    return "failover from port %s to %d" % (OLD_PORT, NEW_PORT)


OLD_PORT = env.pgenv["PGPORT"]
under_load("failover to a new primary under load", failover, seconds=8.0,
           PGHOST="127.0.0.1,127.0.0.1", PGPORT="%s,%d" % (OLD_PORT, NEW_PORT))
env.check(env.pgenv["PGPORT"] == str(NEW_PORT), "the tests now talk to the new primary",
          env.pgenv["PGPORT"])

# ---------------------------------------------------------------- 5. a standby takes over
w = Writer(rng.random())
a = streamtest.Daemon(env, path, "active")
time.sleep(2.0)
b = streamtest.Daemon(env, path, "standby")
waiting = False
for _ in range(100):
    if "waiting as a hot standby" in b.text():
        waiting = True
        break
    time.sleep(0.1)
env.check(waiting and a.alive() and b.alive(), "a second daemon of the index waits as a hot standby",
          b.text()[-800:])
killed = time.time()
a.stop(signal.SIGKILL)
took = None
for _ in range(600):
    if re.search(r"takes over", b.text()) and re.search(r"streaming slot", b.text().split("takes over", 1)[-1]):
        took = time.time() - killed
        break
    time.sleep(0.05)
env.check(took is not None, "the standby took over after the active daemon was killed (%s)"
          % ("%.1f s" % took if took is not None else "never"), b.text()[-1500:])
time.sleep(2.0)
n = w.finish()
lsn = streamtest.insert_lsn(env, DB)
ok = streamtest.wait_confirmed(env, DB, SLOT, lsn, b, timeout=120)
env.check(ok, "the new active daemon caught up (%d write transactions)" % n, b.text()[-1000:])
rc = b.stop()
env.check(rc == 0, "it drains and exits 0 on SIGTERM", "exit %s: %s" % (rc, open(b.log_path).read()[-800:]))
streamtest.compare_index(env, "after the standby took over", DB, DB, EXPECTED)
catch_up_and_compare("at the end")
env.finish()
