"""streamtest.py: helpers of the change-stream tests (imported by the test scripts).

A running `dip sync-es --daemon` (its log in the work directory), waiting until the slot's
confirmed position passes a WAL position, and comparing the whole index with documents the
test computes in SQL (synces.compare). Every wait is bounded.
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sync_es"))
import synces  # noqa: E402,F401


def free_port():
    """A loopback port free now (for a server the test starts next)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_cluster(env, *args):
    """scripts/pg-cluster.sh ARGS...; the exports it prints (PGPORT, DIP_PG_DIR, ...) as a dict.
    Raises with its stderr when it fails."""
    r = subprocess.run([os.path.join(env.src, "scripts/pg-cluster.sh")] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("pg-cluster.sh %s: %s" % (" ".join(map(str, args)), r.stderr[-800:]))
    out = {}
    for line in r.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            k, v = line[len("export "):].split("=", 1)
            out[k] = v
    return out


class Daemon:
    def __init__(self, env, path, name, args=(), **extra):
        self.env, self.name = env, name
        self.log_path = os.path.join(env.work, "%s.%d.log" % (name, int(time.time() * 1000)))
        self.log = open(self.log_path, "w")
        e = {"DIP_ES_HEARTBEAT_S": "1"}
        e.update(extra)
        self.p = subprocess.Popen([env.dip, "sync-es", "--config", path, "--daemon"] + list(args),
                                  stdout=subprocess.DEVNULL, stderr=self.log,
                                  env=env.env(**e), cwd=env.work)

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=None, timeout=60):
        if self.p.poll() is None:
            if sig is None:
                self.p.terminate()
            else:
                self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode

    def text(self):
        self.log.flush()
        return open(self.log_path).read()


def insert_lsn(env, db):
    return env.psql("SELECT pg_current_wal_insert_lsn()", db).strip()


def confirmed(env, db, slot):
    return env.psql("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = '%s'"
                    % slot, db, check=False).strip()


def wait_confirmed(env, db, slot, lsn, daemon=None, timeout=60.0):
    """True once the slot's confirmed position is at lsn or past it (and the load is done)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if daemon is not None and not daemon.alive():
            return False
        v = env.psql("SELECT coalesce(confirmed_flush_lsn >= '%s', false) AND "
                     "coalesce((SELECT bool_and(load_done) FROM dip.sync_es_state), false) "
                     "FROM pg_replication_slots WHERE slot_name = '%s'" % (lsn, slot), db,
                     check=False)
        if v.strip() == "t":
            return True
        time.sleep(0.1)
    return False


def compare_index(env, what, db, index, sql):
    exp = env.expected(db, sql)
    got = env.dump(index)
    if exp:
        synces.compare(env, what, exp, got)
    else:
        env.check(not got, "%s: index is empty, as the tables" % what, str(sorted(got)[:3]))
