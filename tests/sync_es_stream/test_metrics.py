#!/usr/bin/python3
"""test_metrics.py DIP SRC: /metrics and /healthz of `dip sync-es --daemon` (issue 11).

A daemon serves on --metrics-addr (a free loopback port). The test:
  - refuses a port in use (exit 2, the message names the address and the option) and a
    malformed address, before anything is created in PostgreSQL;
  - scrapes /metrics and parses the Prometheus text format 0.0.4 strictly (every sample has
    a TYPE line of its family before it, names, labels and values well-formed, no series
    twice);
  - makes changes whose roots it knows, and checks the counters moved by exactly that much
    (index and delete actions, documents, transactions), lag bytes reaches 0 once caught up,
    and the confirmed-LSN gauge equals pg_replication_slots.confirmed_flush_lsn;
  - /healthz is 200 while streaming, a second daemon of the index answers 200 in state
    standby with dip_sync_es_active 0; other paths 404, other methods 405, garbage 400;
  - terminates the daemon's walsender while a lock holds its next session back: /healthz
    503 (recovering, with the error) until the lock goes, then 200;
  - stops the ES test server and makes a change: /healthz turns 503 (the batch cannot be
    acknowledged) within a bounded time while /metrics still answers; restarts the server on
    the same port: /healthz is 200 again and the change is in the index;
  - SIGTERM exits 0 and the standby takes over (state streaming, active 1).
Every wait is bounded in time.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import streamtest  # noqa: E402
from streamtest import synces  # noqa: E402

env = synces.Env(sys.argv[1], sys.argv[2])
DB = "metr"
SLOT = "dip_%s_v1" % DB

# ---------------------------------------------------------------- the exposition format

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_value(text):
    if text in ("NaN", "+Inf", "-Inf"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise ValueError("bad value %r" % text)
    return float(text)


def parse_labels(text):
    """'{a="x",b="y"}' -> {a: x, b: y}; strict."""
    if not text:
        return {}
    assert text[0] == "{" and text[-1] == "}", text
    body, out, pos = text[1:-1], {}, 0
    while pos < len(body):
        m = LABEL.match(body, pos)
        if not m:
            raise ValueError("bad label set %r at %d" % (text, pos))
        k = m.group(1)
        if k in out:
            raise ValueError("label %s twice in %r" % (k, text))
        out[k] = m.group(2).replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        pos = m.end()
        if pos < len(body):
            if body[pos] != ",":
                raise ValueError("bad label separator in %r" % text)
            pos += 1
    return out


def parse_exposition(text):
    """{(name, frozenset(labels)): value}, raising ValueError on anything malformed."""
    if not text.endswith("\n"):
        raise ValueError("the exposition does not end with a newline")
    types, helps, samples, done = {}, set(), {}, set()
    current = None
    for n, line in enumerate(text[:-1].split("\n"), 1):
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                name = parts[2]
                if not NAME.match(name):
                    raise ValueError("line %d: bad metric name %r" % (n, name))
                if name in done or (current and current != name and name in types):
                    raise ValueError("line %d: family %s is not contiguous" % (n, name))
                if parts[1] == "TYPE":
                    if name in types or len(parts) != 4 or parts[3] not in TYPES:
                        raise ValueError("line %d: bad or second TYPE: %r" % (n, line))
                    types[name] = parts[3]
                else:
                    if name in helps or len(parts) != 4:
                        raise ValueError("line %d: bad or second HELP: %r" % (n, line))
                    helps.add(name)
                if current and current != name:
                    done.add(current)
                current = name
            continue
        if not line.strip():
            raise ValueError("line %d: empty line" % n)
        m = re.fullmatch(r"([^{ ]+)(\{[^}]*\})? (\S+)( -?\d+)?", line)
        if not m:
            raise ValueError("line %d: bad sample line %r" % (n, line))
        name = m.group(1)
        if not NAME.match(name):
            raise ValueError("line %d: bad metric name %r" % (n, name))
        if name not in types:
            raise ValueError("line %d: sample %s without a TYPE line before it" % (n, name))
        if name != current or name in done:
            raise ValueError("line %d: sample %s outside its family's block" % (n, name))
        labels = parse_labels(m.group(2) or "")
        key = (name, frozenset(labels.items()))
        if key in samples:
            raise ValueError("line %d: series %s%s twice" % (n, name, m.group(2) or ""))
        samples[key] = parse_value(m.group(3))
    return samples, types


def get(samples, name, **labels):
    labels.setdefault("index", DB)
    return samples.get((name, frozenset(labels.items())))


# ---------------------------------------------------------------- HTTP

def http_get(port, path, method="GET", timeout=10):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def raw_request(port, data, timeout=10):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks).decode(errors="replace")


def scrape(port):
    st, headers, body = http_get(port, "/metrics")
    if st != 200:
        raise RuntimeError("/metrics answered %s" % st)
    return parse_exposition(body)[0]


def health(port):
    st, _, body = http_get(port, "/healthz")
    try:
        return st, json.loads(body)
    except ValueError:
        return st, {"unparsed": body}


def wait_for(what, fn, timeout):
    """Polls fn (returns a truthy value when done) every 0.2 s, at most timeout seconds."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
        except (OSError, RuntimeError) as e:
            last = None
            print("  (%s: %s)" % (what, e))
        if last:
            return last
        time.sleep(0.2)
    return last


def port_closed(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except OSError:
        return True


def lsn_int(text):
    hi, lo = text.split("/")
    return int(hi, 16) << 32 | int(lo, 16)


# ---------------------------------------------------------------- the database

env.createdb(DB)
env.psql("""
CREATE TABLE item (id int PRIMARY KEY, name text);
CREATE TABLE tag (id int PRIMARY KEY, item_id int REFERENCES item, label text);
INSERT INTO item SELECT i, 'item ' || i FROM generate_series(1, 100) i;
INSERT INTO tag SELECT i, 1 + i % 100, 'tag ' || i FROM generate_series(1, 300) i;
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

# ---------------------------------------------------------------- bad addresses

holder = socket.socket()
holder.bind(("127.0.0.1", 0))
holder.listen(1)
busy = holder.getsockname()[1]
r = env.run_dip(["sync-es", "--config", path, "--daemon", "--metrics-addr",
                 "127.0.0.1:%d" % busy], timeout=60)
env.check(r.returncode == 2, "a port in use: exit 2 (configuration)", "rc=%s %s" %
          (r.returncode, r.stderr[-800:]))
env.check("127.0.0.1:%d" % busy in r.stderr and "--metrics-addr" in r.stderr and
          "in use" in r.stderr.lower(),
          "a port in use: the error names the address, the option and the cause", r.stderr[-800:])
holder.close()
r = env.run_dip(["sync-es", "--config", path, "--daemon"], timeout=60,
                DIP_METRICS_ADDR="localhost:notaport")
env.check(r.returncode == 2 and "DIP_METRICS_ADDR" in r.stderr and
          "localhost:notaport" in r.stderr,
          "DIP_METRICS_ADDR malformed: exit 2 naming it", "rc=%s %s" % (r.returncode,
                                                                        r.stderr[-800:]))
r = env.run_dip(["sync-es", "--config", path, "--once", "--metrics-addr", "127.0.0.1:0"])
env.check(r.returncode == 2 and "--daemon" in r.stderr, "--metrics-addr without --daemon: exit 2",
          "rc=%s %s" % (r.returncode, r.stderr[-500:]))
env.check(streamtest.confirmed(env, DB, SLOT) == "",
          "nothing was bootstrapped by the refused runs (no slot)")

# ---------------------------------------------------------------- a daemon, scraped

ES_FAST = {"DIP_ES_HEALTHZ_STALE_S": "3", "ELASTICSEARCH_INITIAL_BACKOFF": "0.2",
           "ELASTICSEARCH_MAX_BACKOFF": "1", "ELASTICSEARCH_TIMEOUT": "3",
           "ELASTICSEARCH_MAX_RETRIES": "1000"}
port = streamtest.free_port()
d = streamtest.Daemon(env, path, DB, ["--metrics-addr", "127.0.0.1:%d" % port], **ES_FAST)
standby = None
try:
    up = wait_for("healthz", lambda: health(port)[0] == 200, 60)
    env.check(up, "/healthz answers 200 once the daemon started", d.text()[-1500:])
    env.check(streamtest.wait_confirmed(env, DB, SLOT, streamtest.insert_lsn(env, DB), d),
              "the daemon loads and catches up", d.text()[-1500:])
    streamtest.compare_index(env, "after the initial load", DB, DB, EXPECTED)

    st, headers, body = http_get(port, "/metrics")
    env.check(st == 200 and "version=0.0.4" in headers.get("Content-Type", ""),
              "/metrics: 200, text format 0.0.4", "%s %s" % (st, headers.get("Content-Type")))
    try:
        samples, types = parse_exposition(body)
        env.check(True, "/metrics parses strictly (%d series)" % len(samples))
    except ValueError as e:
        samples, types = {}, {}
        env.check(False, "/metrics parses strictly", "%s\n%s" % (e, body[:3000]))
    names = {k[0] for k in samples}
    env.check(names and all(n.startswith("dip_sync_es_") for n in names),
              "every metric is prefixed dip_sync_es_", str(sorted(names)))
    env.check(all(dict(k[1]).get("index") == DB for k in samples),
              "every sample carries index=%s" % DB)
    for n in ["dip_sync_es_lag_seconds", "dip_sync_es_lag_bytes", "dip_sync_es_documents_total",
              "dip_sync_es_documents_per_second", "dip_sync_es_actions_total",
              "dip_sync_es_retries_total", "dip_sync_es_dead_letters_total",
              "dip_sync_es_confirmed_lsn", "dip_sync_es_batches_total",
              "dip_sync_es_heartbeats_total", "dip_sync_es_active",
              "dip_sync_es_slot_retained_wal_bytes", "dip_sync_es_transactions_total"]:
        env.check(n in types, "family %s is served" % n)
    env.check(types.get("dip_sync_es_actions_total") == "counter" and
              types.get("dip_sync_es_lag_bytes") == "gauge", "counter and gauge types")
    env.check(get(samples, "dip_sync_es_active") == 1, "dip_sync_es_active is 1")
    env.check((get(samples, "dip_sync_es_slot_retained_wal_bytes") or 0) > 0,
              "the slot's retained WAL is reported")
    hb0 = get(samples, "dip_sync_es_heartbeats_total") or 0

    def counters():
        s = scrape(port)
        return {a: get(s, "dip_sync_es_actions_total", action=a)
                for a in ("index", "update", "delete")}, s

    before, s0 = counters()
    # roots changed: items 1..10 (update), 11..15 (child rows deleted), 91..93 deleted
    env.psql("UPDATE item SET name = name || ' (renamed)' WHERE id <= 10", DB)
    env.psql("DELETE FROM tag WHERE item_id BETWEEN 11 AND 15", DB)
    env.psql("BEGIN; DELETE FROM tag WHERE item_id IN (91, 92, 93);"
             "DELETE FROM item WHERE id IN (91, 92, 93); COMMIT;", DB)
    env.check(streamtest.wait_confirmed(env, DB, SLOT, streamtest.insert_lsn(env, DB), d),
              "the daemon confirms the changes", d.text()[-1500:])
    # at once: documents per second covers the last ~10 s
    after, s1 = counters()
    streamtest.compare_index(env, "after the changes", DB, DB, EXPECTED)
    env.check(after["index"] - before["index"] == 15,
              "index actions moved by the 15 rebuilt roots", "%s -> %s" % (before, after))
    env.check(after["delete"] - before["delete"] == 3,
              "delete actions moved by the 3 deleted roots", "%s -> %s" % (before, after))
    env.check(after["update"] == before["update"] == 0, "no update actions")
    dd = get(s1, "dip_sync_es_documents_total") - get(s0, "dip_sync_es_documents_total")
    env.check(dd == 15, "documents_total moved by 15", str(dd))
    dt = get(s1, "dip_sync_es_transactions_total") - get(s0, "dip_sync_es_transactions_total")
    env.check(dt == 3, "transactions_total moved by the 3 transactions", str(dt))
    env.check(get(s1, "dip_sync_es_batches_total") > get(s0, "dip_sync_es_batches_total"),
              "batches_total moved")
    env.check(get(s1, "dip_sync_es_documents_per_second") > 0,
              "documents per second is positive right after the batch",
              str(get(s1, "dip_sync_es_documents_per_second")))

    zero = wait_for("lag", lambda: (lambda s: s if get(s, "dip_sync_es_lag_bytes") == 0 and
                                    get(s, "dip_sync_es_lag_seconds") == 0 else None)(scrape(port)),
                    30)
    env.check(bool(zero), "lag bytes and lag seconds reach 0 once caught up")

    def lsn_equal():
        q1 = streamtest.confirmed(env, DB, SLOT)
        g = get(scrape(port), "dip_sync_es_confirmed_lsn")
        q2 = streamtest.confirmed(env, DB, SLOT)
        return q1 == q2 and g == lsn_int(q1)
    env.check(wait_for("lsn", lsn_equal, 30),
              "the confirmed-LSN gauge equals pg_replication_slots.confirmed_flush_lsn")
    env.check(wait_for("heartbeats", lambda: (get(scrape(port), "dip_sync_es_heartbeats_total")
                                              or 0) > hb0, 15),
              "heartbeats_total moves (DIP_ES_HEARTBEAT_S=1)")

    st, h = health(port)
    env.check(st == 200 and h.get("status") == "ok" and h.get("state") == "streaming" and
              h.get("index") == DB, "/healthz: 200 ok, state streaming", str(h))
    st, _, body = http_get(port, "/nope")
    env.check(st == 404, "/nope: 404", str(st))
    st, _, body = http_get(port, "/metrics?x=1")
    env.check(st == 200 and "dip_sync_es_active" in body, "a query string is ignored")
    st, _, _ = http_get(port, "/metrics", method="POST")
    env.check(st == 405, "POST /metrics: 405", str(st))
    st, headers, body = http_get(port, "/metrics", method="HEAD")
    env.check(st == 200 and body == "" and int(headers.get("Content-Length", "0")) > 0,
              "HEAD /metrics: headers only", "%s %r" % (st, body[:100]))
    ans = raw_request(port, b"\x16\x03\x01 not http at all\r\n\r\n")
    env.check(ans.startswith("HTTP/1.1 400 "), "garbage: 400", ans[:100])
    ans = raw_request(port, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n")
    env.check(ans.startswith("HTTP/1.1 431 "), "a request head over 8 KiB: 431", ans[:100])
    ans = raw_request(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    env.check(ans.startswith("HTTP/1.1 200 ") and "Connection: close" in ans,
              "HTTP/1.1 request: answered, Connection: close", ans[:200])

    # a second daemon of the index waits as a hot standby, and says so
    port2 = streamtest.free_port()
    standby = streamtest.Daemon(env, path, DB + "-standby",
                                ["--metrics-addr", "127.0.0.1:%d" % port2], **ES_FAST)
    sb = wait_for("standby", lambda: (lambda h: h if h[1].get("state") == "standby" else None)(
        health(port2)), 30)
    env.check(bool(sb) and sb[0] == 200, "a second daemon: /healthz 200, state standby",
              str(sb) + standby.text()[-800:])
    env.check(get(scrape(port2), "dip_sync_es_active") == 0,
              "the standby's dip_sync_es_active is 0")

    # PostgreSQL drops the replication connection while a lock keeps the next session from
    # preparing its statements: the daemon is reconnecting, /healthz says so until it is
    # streaming and caught up again
    locker = subprocess.Popen(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", DB],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=env.env())
    locker.stdin.write("BEGIN; LOCK TABLE item IN ACCESS EXCLUSIVE MODE; SELECT 'locked';\n")
    locker.stdin.flush()
    env.check(locker.stdout.readline().strip() == "locked", "a session holds item's lock")
    killed = env.psql("SELECT count(pg_terminate_backend(active_pid)) FROM pg_replication_slots "
                      "WHERE slot_name = '%s' AND active_pid IS NOT NULL" % SLOT, DB).strip()
    env.check(killed == "1", "the daemon's walsender is terminated", killed)
    rec = wait_for("503 pg", lambda: (lambda h: h if h[0] == 503 else None)(health(port)), 30)
    env.check(bool(rec) and "recovering from: " in rec[1].get("reason", "") and
              "?" != rec[1]["reason"][-1:],
              "PostgreSQL reconnecting: /healthz 503 with the error as reason: %s" %
              (rec[1].get("reason", "")[:160] if rec else None), d.text()[-1500:])
    s = scrape(port)
    env.check(get(s, "dip_sync_es_phase", phase="streaming") == 0 and
              get(s, "dip_sync_es_healthy") == 0, "/metrics: not streaming, healthy 0")
    locker.stdin.write("COMMIT;\n")
    locker.stdin.close()
    locker.wait(30)
    back = wait_for("200 pg", lambda: (lambda h: h if h[0] == 200 else None)(health(port)), 90)
    env.check(bool(back) and back[1].get("state") == "streaming",
              "reconnected: /healthz 200, state streaming", d.text()[-1500:])
    env.check((get(scrape(port), "dip_sync_es_retries_total", kind="stream_session") or 0) >= 1,
              "retries_total{kind=stream_session} counted the new session")

    # the search engine stops: the batch of the next change cannot be acknowledged
    es_port = int(env.es_url.rsplit(":", 1)[1])
    env.es_proc.terminate()
    env.es_proc.wait(30)
    env.psql("UPDATE item SET name = 'while the engine is down' WHERE id = 20", DB)
    t0 = time.time()
    down = wait_for("503", lambda: (lambda h: h if h[0] == 503 else None)(health(port)), 60)
    env.check(bool(down), "engine stopped: /healthz turns 503 within 60 s (%.1f s)" %
              (time.time() - t0), d.text()[-1500:])
    if down:
        env.check(down[1].get("status") == "unavailable" and down[1].get("reason"),
                  "the 503 body gives a reason: %s" % down[1].get("reason"), str(down))
    s = scrape(port)
    env.check(get(s, "dip_sync_es_healthy") == 0 and get(s, "dip_sync_es_lag_bytes") > 0,
              "/metrics still answers during the stall: healthy 0, lag bytes > 0")

    # the engine comes back on the same port, with its data
    env.es_proc = subprocess.Popen(
        [os.path.join(env.src, "scripts/es-test-server"), "--port", str(es_port), "--data",
         os.path.join(env.work, "esdata")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = env.es_proc.stdout.readline()
    env.check(line.startswith("listening"), "the test server restarts on port %d" % es_port, line)
    back = wait_for("200", lambda: (lambda h: h if h[0] == 200 else None)(health(port)), 90)
    env.check(bool(back), "engine back: /healthz is 200 again", d.text()[-1500:])
    env.check(streamtest.wait_confirmed(env, DB, SLOT, streamtest.insert_lsn(env, DB), d),
              "the change made while the engine was down is confirmed")
    streamtest.compare_index(env, "after the engine came back", DB, DB, EXPECTED)
    s = scrape(port)
    retries = sum(get(s, "dip_sync_es_retries_total", kind=k) or 0
                  for k in ("es_request", "es_item", "stream_session"))
    env.check(retries > 0, "retries_total counted the outage (%d)" % retries)

    rc = d.stop()
    env.check(rc == 0, "SIGTERM: the daemon drains and exits 0",
              "rc=%s %s" % (rc, open(d.log_path).read()[-1500:]))
    took = wait_for("takeover", lambda: (lambda h: h if h[1].get("state") == "streaming" else
                                         None)(health(port2)), 60)
    env.check(bool(took) and took[0] == 200 and
              get(scrape(port2), "dip_sync_es_active") == 1,
              "the standby takes over: state streaming, active 1", standby.text()[-1500:])
    rc = standby.stop()
    env.check(rc == 0, "SIGTERM: the second daemon exits 0", "rc=%s" % rc)
    env.check(wait_for("closed", lambda: port_closed(port), 5), "the metrics port is closed")
finally:
    for p in (d, standby):
        if p is not None and p.alive():
            p.stop(signal.SIGKILL)
env.finish()
