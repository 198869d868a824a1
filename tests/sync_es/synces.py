"""synces.py: helpers of the sync-es integration tests (imported by the test scripts).

Starts a private PostgreSQL 15 (scripts/pg-cluster.sh, wal_level=logical) and the ES test
server (scripts/es-test-server) on loopback, runs dip, dumps an index with scroll, and computes
expected documents with SQL the test writes itself (json_build_object / json_agg), never by
reading dip's output back. Everything started is stopped at exit; every wait is bounded.
"""
import atexit
import decimal
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


class Env:
    def __init__(self, dip, src):
        self.dip = os.path.abspath(dip)
        self.src = src
        self.work = tempfile.mkdtemp(prefix="dip-synces-test.")
        self.passed = 0
        self.failed = 0
        out = subprocess.run([os.path.join(src, "scripts/pg-cluster.sh"), "start", "--no-fsync"],
                             check=True, capture_output=True, text=True).stdout
        self.pgenv = {}
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("export "):
                line = line[len("export "):]
            if "=" in line:
                k, v = line.split("=", 1)
                self.pgenv[k] = v.strip("'\"")
        self.es_proc = None
        atexit.register(self.close)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        self.es_start()

    def es_start(self):
        data = os.path.join(self.work, "esdata")
        os.makedirs(data, exist_ok=True)
        self.es_proc = subprocess.Popen(
            [os.path.join(self.src, "scripts/es-test-server"), "--port", "0", "--data", data],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.es_proc.stdout.readline()
            if line.startswith("listening "):
                self.es_url = "http://127.0.0.1:%s" % line.split()[1]
                return
            if self.es_proc.poll() is not None:
                break
        raise RuntimeError("es-test-server did not start")

    def close(self):
        if self.es_proc and self.es_proc.poll() is None:
            self.es_proc.terminate()
            try:
                self.es_proc.wait(10)
            except subprocess.TimeoutExpired:
                self.es_proc.kill()
        if self.pgenv.get("DIP_PG_DIR"):
            subprocess.run([os.path.join(self.src, "scripts/pg-cluster.sh"), "stop",
                            self.pgenv["DIP_PG_DIR"]], capture_output=True)
            self.pgenv["DIP_PG_DIR"] = ""
        shutil.rmtree(self.work, ignore_errors=True)

    # ------------------------------------------------------------------ PostgreSQL

    def env(self, **extra):
        e = dict(os.environ)
        e.update(self.pgenv)
        e["ELASTICSEARCH_URL"] = self.es_url
        e["PGTZ"] = "UTC"
        # a --daemon serves /metrics on 127.0.0.1:9187 by default: daemons of tests running
        # side by side would fight for that port; a test that scrapes picks a free one
        e["DIP_METRICS_ADDR"] = "off"
        for k, v in extra.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        return e

    def psql(self, sql, db="postgres", user=None, check=True):
        args = ["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", db]
        if user:
            args += ["-U", user]
        r = subprocess.run(args, input=sql, capture_output=True, text=True, env=self.env(),
                           timeout=300)
        if check and r.returncode != 0:
            raise RuntimeError("psql failed: %s\n%s" % (r.stderr, sql[:500]))
        return r.stdout

    def createdb(self, name):
        self.psql("DROP DATABASE IF EXISTS %s WITH (FORCE); CREATE DATABASE %s;" % (name, name))

    def expected(self, db, sql):
        """{id: document} from SQL returning (id text, doc json) rows."""
        out = self.psql("SET TimeZone = 'UTC'; SET IntervalStyle = 'postgres';"
                        "SET extra_float_digits = 1;"
                        "COPY (SELECT id, doc::text FROM (%s) AS e(id, doc)) TO STDOUT" % sql, db)
        docs = {}
        for line in out.splitlines():
            if not line:
                continue
            k, v = line.split("\t", 1)
            v = v.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
            docs[k] = json.loads(v, parse_float=decimal.Decimal)
        return docs

    # ------------------------------------------------------------------ dip

    def run_dip(self, args, timeout=600, **extra):
        return subprocess.run([self.dip] + args, capture_output=True, text=True,
                              env=self.env(**extra), timeout=timeout, cwd=self.work)

    def write_schema(self, name, schema):
        path = os.path.join(self.work, name + ".json")
        with open(path, "w") as f:
            json.dump(schema, f)
        return path

    # ------------------------------------------------------------------ search engine

    def http(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.es_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, json.loads(r.read().decode() or "null",
                                            parse_float=decimal.Decimal)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read().decode() or "null")

    def dump(self, index):
        """{_id: (_source, _routing)} of every document, with scroll (after a refresh: what
        the engine acknowledged becomes searchable at the next refresh)."""
        self.http("POST", "/%s/_refresh" % index)
        st, r = self.http("POST", "/%s/_search?scroll=1m" % index,
                          {"size": 1000, "query": {"match_all": {}}})
        if st != 200:
            raise RuntimeError("search %s: %s %s" % (index, st, r))
        docs = {}
        for _ in range(100000):
            hits = r["hits"]["hits"]
            if not hits:
                break
            for h in hits:
                docs[h["_id"]] = (h["_source"], h.get("_routing"))
            st, r = self.http("POST", "/_search/scroll", {"scroll": "1m", "scroll_id": r["_scroll_id"]})
            if st != 200:
                raise RuntimeError("scroll: %s %s" % (st, r))
        return docs

    # ------------------------------------------------------------------ checks

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok - %s" % what)
        else:
            self.failed += 1
            print("FAIL: %s %s" % (what, detail), file=sys.stderr)
        sys.stdout.flush()

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        self.close()
        sys.exit(1 if self.failed else 0)


def normalize(v):
    """Arrays compared as multisets: PGSync's json_agg has no order either."""
    if isinstance(v, dict):
        return {k: normalize(x) for k, x in v.items()}
    if isinstance(v, list):
        items = [normalize(x) for x in v]
        return sorted(items, key=lambda x: json.dumps(x, sort_keys=True, default=str))
    return v


def compare(env, what, expected, dumped):
    exp = {k: normalize(v) for k, v in expected.items()}
    got = {k: normalize(v[0]) for k, v in dumped.items()}
    missing = sorted(set(exp) - set(got))
    extra = sorted(set(got) - set(exp))
    differ = [k for k in exp if k in got and exp[k] != got[k]]
    detail = ""
    if missing:
        detail += " missing %d (e.g. %s)" % (len(missing), missing[:3])
    if extra:
        detail += " extra %d (e.g. %s)" % (len(extra), extra[:3])
    if differ:
        k = differ[0]
        detail += " %d differ, e.g. %s:\n  want %s\n  got  %s" % (
            len(differ), k, json.dumps(exp[k], default=str, sort_keys=True)[:1500],
            json.dumps(got[k], default=str, sort_keys=True)[:1500])
    env.check(not missing and not extra and not differ and len(exp) > 0,
              "%s: index equals the %d expected documents" % (what, len(exp)), detail)
