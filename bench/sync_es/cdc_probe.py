#!/usr/bin/python3
"""cdc_probe.py ES_URL SECONDS OUT: end-to-end lag probes of `make bench-sync-es-cdc`.

Until SECONDS have passed: write a marker with the commit-side timestamp into one book
(description = 'probe N <epoch of clock_timestamp()>', through psql and the PG* environment),
then read the book's document from the index (GET _doc, realtime) every 5 ms until the marker
is there; the lag is that moment minus the timestamp the workload wrote. One probe at a time;
a probe not visible within 30 s counts as 30 s. Writes one lag (seconds) per line to OUT.
"""
import json
import subprocess
import sys
import time
import urllib.request

ES, SECONDS, OUT = sys.argv[1], float(sys.argv[2]), sys.argv[3]
ISBN = "isbn-0000000007"
end = time.time() + SECONDS
lags = []
n = 0
while time.time() < end and n < 100000:
    n += 1
    marker = "probe %d " % n
    r = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", "books", "-c",
                        "UPDATE book SET description = '%s' || extract(epoch FROM clock_timestamp()) "
                        "WHERE isbn = '%s' RETURNING extract(epoch FROM clock_timestamp())"
                        % (marker, ISBN)], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        sys.exit("cdc_probe: psql failed: " + r.stderr)
    written = float(r.stdout.split()[0])
    deadline = time.time() + 30
    seen = None
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(ES + "/books/_doc/" + ISBN, timeout=10) as resp:
                doc = json.load(resp)
            if (doc.get("_source") or {}).get("description", "").startswith(marker):
                seen = time.time()
                break
        except OSError:
            pass
        time.sleep(0.005)
    lags.append(seen - written if seen else 30.0)
    time.sleep(0.02)
with open(OUT, "w") as f:
    for x in lags:
        f.write("%.4f\n" % x)
