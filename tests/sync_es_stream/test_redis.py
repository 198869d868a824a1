#!/usr/bin/python3
"""test_redis.py DIP SRC: REDIS_CHECKPOINT=true (issue 11) against a real redis-server
started on a free loopback port (Debian's package), with a password and a database number.

- --once (bootstrap, initial load, stream) and changes: the index equals the documents the
  test computes in SQL; the checkpoint key in Redis holds an LSN at or past the last change
  and the slot's confirmed position is at or past the checkpoint.
- a wrong password: exit 2, a message naming REDIS_AUTH and never the password.
- Redis not there: exit 4 naming host:port, after the retries.
- a daemon while Redis is restarted (no persistence: the lock and checkpoint keys vanish):
  it goes on, takes its lock again, and the index is complete after more changes.
- a second daemon waits on the Redis lock as a hot standby and takes over after SIGKILL of
  the first.
"""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import streamtest  # noqa: E402
from streamtest import synces  # noqa: E402

env = synces.Env(sys.argv[1], sys.argv[2])
DB = "redisdb"
SLOT = "dip_%s_v1" % DB
PASSWORD = "s3cret-pw"


RPORT = streamtest.free_port()
rdir = os.path.join(env.work, "redis")
os.makedirs(rdir)
redis = None


def redis_start():
    global redis
    redis = subprocess.Popen(["redis-server", "--port", str(RPORT), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no", "--dir", rdir,
                              "--requirepass", PASSWORD], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    for _ in range(100):
        if redis_cli("PING").strip() == "PONG":
            return
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def redis_stop():
    if redis and redis.poll() is None:
        redis.terminate()
        redis.wait(30)


def redis_cli(*args):
    r = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(RPORT), "-n", "3",
                        "--no-auth-warning", "-a", PASSWORD] + list(args),
                       capture_output=True, text=True, timeout=30)
    return r.stdout


try:
    redis_start()
    REDIS = {"REDIS_CHECKPOINT": "true", "REDIS_URL": "redis://:%s@127.0.0.1:%d/3" % (PASSWORD, RPORT)}
    env.createdb(DB)
    env.psql("""
    CREATE TABLE shelf (code text PRIMARY KEY, name text);
    CREATE TABLE item (sku int PRIMARY KEY, shelf_code text REFERENCES shelf, label text);
    INSERT INTO shelf SELECT 's' || i, 'shelf ' || i FROM generate_series(1, 50) i;
    INSERT INTO item SELECT i, 's' || (1 + i % 50), 'item ' || i FROM generate_series(1, 200) i;
    """, DB)
    path = env.write_schema(DB, [{"database": DB, "index": DB, "nodes": {
        "table": "shelf", "columns": ["code", "name"], "children": [
            {"table": "item", "columns": ["sku", "label"], "label": "items",
             "relationship": {"variant": "object", "type": "one_to_many"}}]}}])
    EXPECTED = """SELECT s.code, json_build_object('code', s.code, 'name', s.name,
        'items', (SELECT json_agg(json_build_object('sku', i.sku, 'label', i.label))
                  FROM item i WHERE i.shelf_code = s.code)) FROM shelf s"""

    r = env.run_dip(["sync-es", "--config", path, "--once"], **REDIS)
    env.check(r.returncode == 0, "--once with REDIS_CHECKPOINT=true (password, db 3) exits 0",
              r.stderr[-1500:])
    env.check("checkpoint and lock in redis 127.0.0.1:%d db 3" % RPORT in r.stderr
              and PASSWORD not in r.stderr, "the log names Redis, never the password",
              r.stderr[-800:])
    streamtest.compare_index(env, "after the initial load", DB, DB, EXPECTED)
    env.psql("UPDATE shelf SET name = 'renamed' WHERE code IN ('s1', 's2');"
             "UPDATE item SET shelf_code = 's3' WHERE sku < 10; DELETE FROM item WHERE sku = 50;"
             "INSERT INTO shelf VALUES ('s99', 'new')", DB)
    last = streamtest.insert_lsn(env, DB)
    r = env.run_dip(["sync-es", "--config", path, "--once"], **REDIS)
    env.check(r.returncode == 0, "--once after changes exits 0", r.stderr[-1500:])
    streamtest.compare_index(env, "after changes through --once", DB, DB, EXPECTED)
    ckpt = redis_cli("GET", "dip:sync-es:%s:checkpoint" % SLOT).strip()
    cmp = env.psql("SELECT '%s'::pg_lsn >= '%s'::pg_lsn AND confirmed_flush_lsn >= '%s'::pg_lsn "
                   "FROM pg_replication_slots WHERE slot_name = '%s'"
                   % (ckpt or "0/0", last, ckpt or "0/0", SLOT), DB).strip() if ckpt else "f"
    env.check(cmp == "t", "Redis holds the checkpoint %s (past the last change %s, the slot "
              "confirmed at or past it)" % (ckpt, last))
    env.check(redis_cli("EXISTS", "dip:sync-es:%s:lock" % DB).strip() == "0",
              "the lock is released when --once ends")

    bad = dict(REDIS, REDIS_URL="redis://:wrong-pw@127.0.0.1:%d/3" % RPORT)
    r = env.run_dip(["sync-es", "--config", path, "--once"], **bad)
    env.check(r.returncode == 2 and "REDIS_AUTH" in r.stderr and "wrong-pw" not in r.stderr,
              "a wrong password exits 2, names REDIS_AUTH, not the password",
              "exit %d: %s" % (r.returncode, r.stderr[-600:]))
    gone = streamtest.free_port()
    r = env.run_dip(["sync-es", "--config", path, "--once"], REDIS_CHECKPOINT="true",
                    REDIS_URL=None, REDIS_HOST="127.0.0.1", REDIS_PORT=str(gone),
                    REDIS_MAX_RETRIES="1")
    env.check(r.returncode == 4 and "127.0.0.1:%d" % gone in r.stderr
              and "REDIS_HOST" in r.stderr, "Redis not there: exit 4 naming host:port",
              "exit %d: %s" % (r.returncode, r.stderr[-600:]))

    # Redis answering with an error that is not transient (the checkpoint key holds a list):
    # exit 3 naming the key and Redis's reply, nothing confirmed; the key put back, it resumes
    key = "dip:sync-es:%s:checkpoint" % SLOT
    redis_cli("RENAME", key, key + ":saved")
    redis_cli("LPUSH", key, "not-an-lsn")
    before = env.psql("SELECT confirmed_flush_lsn FROM pg_replication_slots "
                      "WHERE slot_name = '%s'" % SLOT, DB).strip()
    env.psql("UPDATE shelf SET name = 'while redis errs' WHERE code = 's4'", DB)
    r = env.run_dip(["sync-es", "--config", path, "--once"], **REDIS)
    after = env.psql("SELECT confirmed_flush_lsn FROM pg_replication_slots "
                     "WHERE slot_name = '%s'" % SLOT, DB).strip()
    env.check(r.returncode == 3 and "WRONGTYPE" in r.stderr and key in r.stderr
              and before == after, "a WRONGTYPE reply: exit 3 naming the key, the slot not "
              "confirmed past %s" % before,
              "exit %d, slot %s -> %s: %s" % (r.returncode, before, after, r.stderr[-600:]))
    redis_cli("DEL", key)
    redis_cli("RENAME", key + ":saved", key)
    r = env.run_dip(["sync-es", "--config", path, "--once"], **REDIS)
    env.check(r.returncode == 0, "the key repaired, --once exits 0", r.stderr[-1500:])
    streamtest.compare_index(env, "after the WRONGTYPE run", DB, DB, EXPECTED)

    # a daemon while Redis restarts without persistence
    d = streamtest.Daemon(env, path, "redis-daemon", **REDIS)
    time.sleep(2.0)
    env.check(redis_cli("EXISTS", "dip:sync-es:%s:lock" % DB).strip() == "1",
              "the daemon holds its lock in Redis")
    env.psql("UPDATE item SET label = 'before the restart' WHERE sku BETWEEN 100 AND 120", DB)
    redis_stop()
    env.psql("UPDATE item SET label = 'while Redis is down' WHERE sku BETWEEN 121 AND 140", DB)
    time.sleep(1.5)
    redis_start()
    env.psql("UPDATE item SET label = 'after the restart' WHERE sku BETWEEN 141 AND 160;"
             "DELETE FROM item WHERE sku = 199", DB)
    lsn = streamtest.insert_lsn(env, DB)
    ok = streamtest.wait_confirmed(env, DB, SLOT, lsn, d, timeout=90)
    env.check(ok and d.alive(), "the daemon went on through a Redis restart and caught up",
              d.text()[-1500:])
    relocked = False
    for _ in range(60):
        if redis_cli("EXISTS", "dip:sync-es:%s:lock" % DB).strip() == "1":
            relocked = True
            break
        time.sleep(0.1)
    env.check(relocked, "it took its vanished lock again", d.text()[-800:])
    streamtest.compare_index(env, "after a Redis restart under the daemon", DB, DB, EXPECTED)

    # a standby on the Redis lock
    b = streamtest.Daemon(env, path, "redis-standby", **REDIS)
    waiting = False
    for _ in range(100):
        if "(Redis lock" in b.text() and "hot standby" in b.text():
            waiting = True
            break
        time.sleep(0.1)
    env.check(waiting and b.alive(), "a second daemon waits on the Redis lock", b.text()[-800:])
    killed = time.time()
    d.stop(signal.SIGKILL)
    took = None
    for _ in range(400):
        if "takes over" in b.text():
            took = time.time() - killed
            break
        time.sleep(0.05)
    env.check(took is not None, "the standby took over after SIGKILL of the holder (%s; the "
              "lock's TTL is 8 s)" % ("%.1f s" % took if took else "never"), b.text()[-1000:])
    env.psql("UPDATE shelf SET name = 'after the takeover' WHERE code = 's5'", DB)
    lsn = streamtest.insert_lsn(env, DB)
    ok = streamtest.wait_confirmed(env, DB, SLOT, lsn, b, timeout=90)
    env.check(ok, "the new holder streams", b.text()[-800:])
    rc = b.stop()
    env.check(rc == 0, "SIGTERM: drains, exits 0", "exit %s" % rc)
    streamtest.compare_index(env, "after the standby took over", DB, DB, EXPECTED)
finally:
    redis_stop()
    shutil.rmtree(rdir, ignore_errors=True)
env.finish()
