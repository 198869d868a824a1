#!/usr/bin/env python3
"""seed_upsert.py TSV TABLE BATCH: the seed's load method, for bench_sync_pg.sh (b): rows
sent as multi-row INSERT .. VALUES (..), (..) .. ON CONFLICT (hk) DO UPDATE .. WHERE hdiff IS
DISTINCT FROM, BATCH rows per statement and transaction, values as literals (as psycopg's
execute_values builds them). TSV is `COPY .. TO STDOUT` text format with a header line of
column names. Prints rows sent."""
import subprocess
import sys

path, table, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])


def lit(v):
    if v == "\\N":
        return "NULL"
    if "\\" in v:  # COPY text escapes
        v = v.replace("\\t", "\t").replace("\\n", "\n").replace("\\\\", "\\")
    return "'" + v.replace("'", "''") + "'"


with open(path, encoding="utf-8") as f:
    cols = f.readline().rstrip("\n").split("\t")
    upd = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols if c != "hk")
    head = f"INSERT INTO {table} AS t ({', '.join(cols)}) VALUES "
    tail = f" ON CONFLICT (hk) DO UPDATE SET {upd} WHERE t.hdiff IS DISTINCT FROM EXCLUDED.hdiff;\n"
    p = subprocess.Popen(["psql", "-XqAt", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                         text=True, encoding="utf-8")
    n = 0
    rows = []
    for line in f:
        rows.append("(" + ",".join(lit(v) for v in line.rstrip("\n").split("\t")) + ")")
        if len(rows) == batch:
            p.stdin.write(head + ",".join(rows) + tail)
            n += len(rows)
            rows = []
    if rows:
        p.stdin.write(head + ",".join(rows) + tail)
        n += len(rows)
    p.stdin.close()
    if p.wait() != 0:
        sys.exit("psql failed")
print(n)
