#!/usr/bin/python3
"""cdc_probe.py ES_URL SECONDS OUT: end-to-end lag probes of `make bench-sync-es-cdc`.

Until SECONDS have passed: write a marker with the commit-side timestamp into one book
(description = 'probe K.N <epoch of clock_timestamp()>', through a psql session and the PG*
environment),
then read the book's document from the index (GET _doc, realtime, on a keep-alive connection)
every 10 ms until the marker is there; the lag is that moment minus the timestamp the workload
wrote (so it may be up to one poll, 10 ms, more than the true lag, never less). The probes are
kept cheap because they share the cores with what they measure. PROBERS (default 4)
probers run at once, each on its own book and one probe at a time, so a step yields enough
samples for a p99; a probe not visible within 30 s counts as 30 s. Writes one lag (seconds)
per line to OUT.
"""
import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.parse

ES, SECONDS, OUT = sys.argv[1], float(sys.argv[2]), sys.argv[3]
ES_HOST = urllib.parse.urlsplit(ES)
POLL_S = 0.010
PROBERS = int(sys.argv[4]) if len(sys.argv) > 4 else 4
end = time.time() + SECONDS
lags = []
failed = []
lock = threading.Lock()


def prober(k):
    isbn = "isbn-%010d" % (7 + 1000 * k)
    # one psql session per prober, fed a statement at a time (it flushes each result): a new
    # psql per probe would add its start-up to the load being measured
    psql = subprocess.Popen(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", "books"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    conn = http.client.HTTPConnection(ES_HOST.hostname, ES_HOST.port, timeout=10)

    def get_doc():
        nonlocal conn
        try:
            conn.request("GET", "/books/_doc/" + isbn)
            resp = conn.getresponse()
            return json.loads(resp.read())
        except (OSError, http.client.HTTPException):
            conn.close()  # reconnects on the next request
            conn = http.client.HTTPConnection(ES_HOST.hostname, ES_HOST.port, timeout=10)
            return {}

    n = 0
    while time.time() < end and n < 100000:
        n += 1
        marker = "probe %d.%d " % (k, n)
        psql.stdin.write("UPDATE book SET description = '%s' || extract(epoch FROM "
                         "clock_timestamp()) WHERE isbn = '%s' RETURNING extract(epoch FROM "
                         "clock_timestamp());\n" % (marker, isbn))
        psql.stdin.flush()
        line = psql.stdout.readline().strip()
        if not line:
            with lock:
                failed.append("psql ended for %s (exit %s)" % (isbn, psql.poll()))
            return
        written = float(line)
        deadline = time.time() + 30
        seen = None
        while time.time() < deadline:
            doc = get_doc()
            if (doc.get("_source") or {}).get("description", "").startswith(marker):
                seen = time.time()
                break
            time.sleep(POLL_S)
        with lock:
            lags.append(seen - written if seen else 30.0)
        time.sleep(0.02)
    conn.close()
    psql.stdin.close()
    psql.wait(timeout=30)


threads = [threading.Thread(target=prober, args=(k,)) for k in range(PROBERS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failed:
    sys.exit("cdc_probe: " + failed[0])
with open(OUT, "w") as f:
    for x in lags:
        f.write("%.4f\n" % x)
