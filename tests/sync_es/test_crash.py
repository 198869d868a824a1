#!/usr/bin/python3
"""test_crash.py DIP SRC [TRIALS] [ROOTS] [writes]: SIGKILL trials of the initial load (slow).

A fresh full build of ROOTS roots (default 200,000) is timed first and compared with the
documents the test computes in SQL. Then each of TRIALS (default 20) trials starts from
nothing (--teardown, index deleted), runs `dip sync-es --once`, kills it with SIGKILL at a
random moment of the run (bootstrap, range cutting, loading, acknowledging; every fourth trial
kills the resumed run too), runs --once again to the end, and requires the index to equal the
expected documents exactly: none missing, none extra, none stale.

With `writes`, a writer commits changes all through each trial (accounts renamed, inserted and
deleted, notes inserted, deleted and moved between accounts), while the killed run and the
resumed --once run; then the writer stops, a last --once catches the change stream up, and the
index must equal the documents of the database as it is at the end (computed again in SQL).
"""
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synces  # noqa: E402

env = synces.Env(sys.argv[1], sys.argv[2])
TRIALS = int(sys.argv[3]) if len(sys.argv) > 3 else 20
ROOTS = int(sys.argv[4]) if len(sys.argv) > 4 else 200000
WRITES = len(sys.argv) > 5 and sys.argv[5] == "writes"
rng = random.Random(int(os.environ.get("DIP_TEST_SEED", str(int(time.time())))))

env.createdb("crash")
env.psql("""
CREATE TABLE account (id int PRIMARY KEY, name text, balance numeric(12,2), opened date);
CREATE TABLE note (id int PRIMARY KEY, account_id int REFERENCES account, body text);
CREATE INDEX ON note (account_id);
INSERT INTO account SELECT i, 'account ' || i, i * 1.5, date '2000-01-01' + i %% 9000
  FROM generate_series(1, %d) i;
INSERT INTO note SELECT i, 1 + (i * 7) %% %d, 'note ' || i FROM generate_series(1, %d) i;
ANALYZE;
""" % (ROOTS, ROOTS, ROOTS), "crash")
path = env.write_schema("crash", [{"database": "crash", "index": "crash", "nodes": {
    "table": "account", "columns": ["id", "name", "balance", "opened"], "children": [
        {"table": "note", "columns": ["id", "body"], "label": "notes",
         "relationship": {"variant": "object", "type": "one_to_many"}}]}}])
EXPECTED_SQL = """SELECT a.id::text, json_build_object('id', a.id, 'name', a.name,
    'balance', a.balance, 'opened', a.opened,
    'notes', (SELECT json_agg(json_build_object('id', n.id, 'body', n.body)) FROM note n
              WHERE n.account_id = a.id)) FROM account a"""


def digest(doc):
    return hashlib.sha1(json.dumps(synces.normalize(doc), sort_keys=True,
                                   default=str).encode()).hexdigest()


expected = {k: digest(v) for k, v in env.expected("crash", EXPECTED_SQL).items()}


class Writer:
    """Commits small transactions through one psql session until stopped (bounded: at most
    200,000 transactions and the trial's own time). Touches only rows that keep every
    foreign key valid: notes point at the first ROOTS accounts; only accounts it inserted
    (ids above ROOTS, never referenced) are deleted."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.count = 0
        self.error = None
        self.p = subprocess.Popen(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", "crash"],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True, env=env.env())
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def tx(self):
        r, n = self.rng, self.count
        stmts = []
        for _ in range(r.randint(1, 4)):
            a = r.randint(1, ROOTS)
            k = r.randrange(6)
            if k == 0:
                stmts.append("UPDATE account SET name = 'renamed %d', balance = balance + 1 "
                             "WHERE id = %d" % (n, a))
            elif k == 1:
                stmts.append("INSERT INTO note VALUES (nextval('w_note'), %d, 'new %d')" % (a, n))
            elif k == 2:
                stmts.append("DELETE FROM note WHERE id = %d" % r.randint(1, ROOTS))
            elif k == 3:
                stmts.append("UPDATE note SET account_id = %d, body = 'moved %d' WHERE id = %d"
                             % (a, n, r.randint(1, ROOTS)))
            elif k == 4:
                stmts.append("INSERT INTO account SELECT nextval('w_account'), 'new %d', 1, "
                             "date '2020-01-01'" % n)
            else:
                stmts.append("DELETE FROM account WHERE id = (SELECT max(id) FROM account) "
                             "AND id > %d" % ROOTS)
        return "BEGIN; " + "; ".join(stmts) + "; COMMIT;\n"

    def run(self):
        deadline = time.time() + 1800
        try:
            while not self.stop.is_set() and self.count < 200000 and time.time() < deadline:
                self.p.stdin.write(self.tx())
                self.p.stdin.flush()
                self.count += 1
                time.sleep(0.002)
        except (BrokenPipeError, OSError) as e:
            self.error = str(e)

    def finish(self):
        self.stop.set()
        self.t.join(60)
        try:
            self.p.stdin.close()
        except OSError:
            pass
        rc = self.p.wait(120)
        err = self.p.stderr.read()
        self.p.stderr.close()
        if rc != 0 or self.error:
            raise RuntimeError("writer: psql exit %d %s %s" % (rc, self.error or "", err[-800:]))
        return self.count


if WRITES:
    env.psql("CREATE SEQUENCE w_note START %d; CREATE SEQUENCE w_account START %d"
             % (ROOTS + 1, ROOTS + 1), "crash")


def same_as_expected(what):
    if WRITES:
        global expected
        expected = {k: digest(v) for k, v in env.expected("crash", EXPECTED_SQL).items()}
    got = env.dump("crash")
    have = {k: digest(v[0]) for k, v in got.items()}
    missing = len(set(expected) - set(have))
    extra = len(set(have) - set(expected))
    stale = sum(1 for k in expected if k in have and have[k] != expected[k])
    env.check(missing == 0 and extra == 0 and stale == 0,
              "%s: index equals the %d expected documents" % (what, len(expected)),
              "missing %d, extra %d, stale %d" % (missing, extra, stale))


def clean():
    r = env.run_dip(["sync-es", "--config", path, "--teardown"])
    if r.returncode != 0:
        raise RuntimeError("teardown: " + r.stderr[-800:])
    for v in ("crash_v1", "crash_v2"):
        env.http("DELETE", "/" + v)


def once(timeout=900):
    return env.run_dip(["sync-es", "--config", path, "--once", "--workers", "2"], timeout=timeout)


def killed_run(at):
    p = subprocess.Popen([env.dip, "sync-es", "--config", path, "--once", "--workers", "2"],
                         env=env.env(), cwd=env.work, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        p.wait(at)
        finished = True
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        p.wait(30)
        finished = False
    p.stderr.close()
    return finished


t0 = time.time()
r = once()
full_s = time.time() - t0
env.check(r.returncode == 0, "fresh full build exits 0 (%.1f s)" % full_s, r.stderr[-1500:])
same_as_expected("fresh full build")

for t in range(TRIALS):
    clean()
    writer = Writer(rng.random()) if WRITES else None
    at = rng.uniform(0.05, full_s * 1.1)
    finished = killed_run(at)
    kills = "run finished before the kill" if finished else "killed at %.2f s" % at
    if not finished and t % 4 == 3:
        at2 = rng.uniform(0.05, full_s * 0.8)
        if not killed_run(at2):
            kills += ", resumed run killed at %.2f s" % at2
    r = once()
    done = env.psql("SELECT count(*) FILTER (WHERE done) || '/' || count(*) FROM dip.sync_es_ranges",
                    "crash").strip()
    env.check(r.returncode == 0, "trial %d (%s): --once completes, ranges %s" % (t + 1, kills, done),
              r.stderr[-1500:])
    if writer:
        n = writer.finish()
        r = once()
        env.check(r.returncode == 0, "trial %d: %d write transactions during the load; --once "
                  "catches the stream up" % (t + 1, n), r.stderr[-1500:])
    same_as_expected("trial %d" % (t + 1))

env.finish()
