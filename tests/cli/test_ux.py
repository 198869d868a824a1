#!/usr/bin/python3
"""test_ux.py DIP SRC BUILD: the CLI as a newcomer meets it (issue 13).

Each case runs dip the way a user would and asserts the exit code (README, "Exit codes") and
the key words of the message: what went wrong, where, and what to do next. Also: global
options after the command, help texts that agree with each other, the man page made from
them (man/dip.1 must be what `dip help --man` prints), and `make install`'s tree (cmake
--install with DESTDIR) running from where it was installed.
"""
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile

DIP, SRC, BUILD = sys.argv[1], sys.argv[2], sys.argv[3]
passed = failed = 0
work = tempfile.mkdtemp(prefix="dip-ux.")


def check(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + what)
    else:
        failed += 1
        print("FAIL: " + what + (("\n    " + detail.replace("\n", "\n    ")) if detail else ""))


def run(args, env=None, timeout=120, cwd=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([DIP] + args, capture_output=True, text=True, env=e, timeout=timeout,
                          cwd=cwd or work)


def expect(args, code, words, what, env=None, stream="stderr"):
    """dip ARGS exits CODE and its stream holds every word (case-insensitive)."""
    r = run(args, env)
    text = getattr(r, stream)
    missing = [w for w in words if w.lower() not in text.lower()]
    check(r.returncode == code and not missing,
          "%s: exit %d%s" % (what, code, ", says " + ", ".join(repr(w) for w in words)
                             if words else ""),
          "exit %d, missing %s\n%s" % (r.returncode, missing, (r.stderr + r.stdout)[-1500:]))
    return r


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def duckdb_parquet(path, select):
    script = ("const {DuckDBInstance}=require(process.argv[1]);(async()=>{"
              "const i=await DuckDBInstance.create(':memory:');const c=await i.connect();"
              "await c.run(process.argv[2]);})().catch(e=>{console.error(e);process.exit(1)})")
    subprocess.run(["node", "-e", script, os.path.join(SRC, "node_modules/@duckdb/node-api"),
                    "COPY (%s) TO '%s' (FORMAT parquet)" % (select, path)],
                   check=True, timeout=120)


def delta_table(root, files):
    """A Delta table of (id long, name string) with the given data files, log by hand."""
    os.makedirs(os.path.join(root, "_delta_log"), exist_ok=True)
    schema = {"type": "struct", "fields": [
        {"name": "id", "type": "long", "nullable": True, "metadata": {}},
        {"name": "name", "type": "string", "nullable": True, "metadata": {}}]}
    lines = [{"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
             {"metaData": {"id": "ux", "format": {"provider": "parquet", "options": {}},
                           "schemaString": json.dumps(schema), "partitionColumns": [],
                           "configuration": {}, "createdTime": 0}}]
    for f in files:
        size = os.path.getsize(os.path.join(root, f))
        lines.append({"add": {"path": f, "partitionValues": {}, "size": size,
                              "modificationTime": 0, "dataChange": True}})
    with open(os.path.join(root, "_delta_log", "%020d.json" % 0), "w") as out:
        for line in lines:
            out.write(json.dumps(line) + "\n")


try:
    # ------------------------------------------------------------ 1. exit codes of I/O errors
    pq = os.path.join(work, "a.parquet")
    duckdb_parquet(pq, "SELECT range AS id, 'n' || range AS name FROM range(10)")
    expect(["parquet", "schema", work], 2, ["is a directory"], "parquet schema DIR")
    expect(["parquet", "schema", os.path.join(work, "nope.parquet")], 5, ["nope.parquet", "no such"],
           "parquet schema of a missing file")
    fifo = os.path.join(work, "fifo")
    os.mkfifo(fifo)
    expect(["parquet", "schema", fifo], 2, ["not a regular file"], "parquet schema of a FIFO")
    short = os.path.join(work, "short.parquet")
    with open(short, "wb") as f:
        f.write(b"PAR1")
    expect(["parquet", "schema", short], 3, ["short.parquet", "too short"],
           "a 4-byte file is bad data, not a transient failure")

    # ------------------------------------------------------------ 2. data files the log names
    tab = os.path.join(work, "tab")
    os.makedirs(tab)
    for k in range(2):
        duckdb_parquet(os.path.join(tab, "part-%d.parquet" % k),
                       "SELECT range + %d AS id, 'n' || range AS name FROM range(50)" % (k * 50))
    delta_table(tab, ["part-0.parquet", "part-1.parquet"])
    r = run(["delta", "cat", tab, "--count"])
    check(r.returncode == 0 and r.stdout.strip() == "100", "the hand-made table reads 100 rows",
          r.stdout + r.stderr)
    os.rename(os.path.join(tab, "part-1.parquet"), os.path.join(work, "part-1.saved"))
    expect(["delta", "cat", tab], 5, [tab, "part-1.parquet", "is missing", "size"],
           "delta cat with a data file missing names the table, the file and its size")
    with open(os.path.join(work, "part-1.saved"), "rb") as f:
        data = f.read()
    with open(os.path.join(tab, "part-1.parquet"), "wb") as f:
        f.write(data[: len(data) // 2])
    r = expect(["delta", "cat", tab], 3, [tab, "part-1.parquet", str(len(data) // 2), str(len(data))],
               "delta cat with a truncated data file gives both sizes")
    shutil.copy(os.path.join(work, "part-1.saved"), os.path.join(tab, "part-1.parquet"))

    # ------------------------------------------------------------ 3. no PostgreSQL there
    port = free_port()
    records = os.path.join(work, "records")
    subprocess.run(["node", os.path.join(SRC, "tests/sync_pg/make_table.mjs"), "create", records,
                    "--rows", "20", "--files", "1"], check=True, timeout=120,
                   stdout=subprocess.DEVNULL)
    r = expect(["sync-pg", "--source", records], 4,
               ["127.0.0.1", str(port), "PGHOST", "PGPORT", "first contact", "left after it"],
               "sync-pg without a server says where it tried and how to point elsewhere",
               env={"PGHOST": "127.0.0.1", "PGPORT": str(port), "POSTGRES_MAX_RETRIES": "10",
                    "POSTGRES_RETRY_DELAY": "0.2", "POSTGRES_CONNECTION_TIMEOUT": "2"})
    warns = [ln for ln in r.stderr.splitlines() if " WARN " in ln]
    check(len(warns) == 3, "a server that never answered gets the short first-contact budget "
          "(3 retries, not POSTGRES_MAX_RETRIES=10)", r.stderr[-1500:])
    check("\t" not in r.stderr and all(ln.count("\n") == 0 for ln in warns),
          "libpq's tabs and newlines are not in the log", repr(r.stderr[-600:]))
    check(re.search(r"retry 1 of 3 .*\(2 left after it\)", r.stderr) is not None,
          "the retries count down", r.stderr[-800:])

    # ------------------------------------------------------------ 4. hints toward the fix
    expect(["sync-pg", "--source", tab], 3,
           ["record_id", "not in the table's schema", "id, name", "--model FILE"],
           "a table the built-in model does not fit: its columns and --model",
           env={"PGHOST": "127.0.0.1", "PGPORT": str(port)})
    # (the model is bound before any connection: no server is needed to learn this)
    expect(["parquet", "cat", pq, "--columns", "nosuch"], 2, ["nosuch", "id, name"],
           "parquet cat --columns nosuch lists the columns")
    expect(["delta", "cat", tab, "--columns", "id,nosuch"], 2, ["nosuch", "id, name"],
           "delta cat --columns nosuch lists the columns")
    expect(["delta", "info", os.path.join(work, "no", "such", "table")], 5,
           ["no such file or directory"], "a nonexistent path is called that")
    expect(["delta", "info", work], 5, ["no _delta_log/"],
           "an existing directory that is not a table")
    expect(["sync-pg", "--source", tab, "--model", os.path.join(work, "none.model")], 2,
           ["--model", "none.model", "No such file or directory"],
           "--model FILE that cannot be opened gives the reason")

    # ------------------------------------------------------------ 5. options and help
    r = expect(["parquet", "schema", os.path.join(work, "nope.parquet"), "--log-format", "json"], 5,
               [], "--log-format after the command is taken as the global option")
    try:
        line = json.loads(r.stderr.strip().splitlines()[-1])
        check(line.get("error_kind") == "not_found", "... and the log line is JSON",
              r.stderr)
    except (ValueError, IndexError):
        check(False, "... and the log line is JSON", r.stderr)
    r = expect(["delta", "info", tab, "--log-level=error", "--json"], 0, [],
               "--log-level=VALUE after the command")
    check(r.stdout.strip().startswith("{"), "... and the command still got its own --json",
          r.stdout[:300])
    expect(["parquet", "schema", pq, "--log-level", "loud"], 2, ["--log-level loud", "debug"],
           "a bad global option value after the command")
    top = expect(["--help"], 0, ["diff", "--table NAME]", "help [COMMAND]", "exit codes"],
                 "dip --help lists diff, --table as optional, help", stream="stdout")
    check("[--table NAME]" in top.stdout, "--table is shown optional", top.stdout)
    r = run(["delta"])
    check(r.returncode == 2 and "usage: dip delta" in r.stderr and "diff" in r.stderr,
          "dip delta alone prints its usage (with diff), exit 2", r.stderr)
    r = run(["parquet"])
    check(r.returncode == 2 and "usage: dip parquet" in r.stderr, "dip parquet alone: the same",
          r.stderr)
    for cmd in ["parquet", "delta", "sync-pg", "sync-es", "es"]:
        a = run(["help", cmd])
        b = run([cmd, "--help"])
        check(a.returncode == 0 and b.returncode == 0 and a.stdout == b.stdout
              and a.stdout.startswith("usage: dip " + cmd) and "exit codes:" in a.stdout
              and "--log-format" in a.stdout,
              "dip help %s = dip %s --help, one style (usage, global options, exit codes)"
              % (cmd, cmd), a.stdout[:400] + b.stderr[-400:])
    expect(["help", "nosuch"], 2, ["unknown command 'nosuch'"], "dip help of an unknown command")
    expect(["nosuch"], 2, ["unknown command 'nosuch'"], "an unknown command")
    # every command refuses what it does not take, naming it, before doing anything
    for args, words in [
            (["version", "extra"], ["version takes no argument", "extra"]),
            (["parquet", "cat", pq, "--limit"], ["--limit needs a value"]),
            (["parquet", "cat", pq, "--nosuch"], ["unknown option --nosuch"]),
            (["parquet", "cat", pq, pq], ["unexpected argument"]),
            (["delta", "info", tab, "extra"], ["unexpected argument extra"]),
            (["delta", "info", tab, "--nosuch"], ["unknown option --nosuch"]),
            (["sync-pg", "--source", tab, "extra"], ["extra"]),
            (["sync-pg", "--source"], ["--source"]),
            (["es", "count", "a", "b"], ["unexpected argument b", "count takes INDEX"]),
            (["es", "nosuch"], ["unknown command 'nosuch'"])]:
        expect(args, 2, words, "refused: dip " + " ".join(os.path.basename(a) for a in args))

    # ------------------------------------------------------------ 7. man page and install
    r = run(["help", "--man"])
    with open(os.path.join(SRC, "man", "dip.1")) as f:
        committed = f.read()
    check(r.returncode == 0 and r.stdout == committed,
          "man/dip.1 is what `dip help --man` prints (run `make man` after changing --help)")
    stage = os.path.join(work, "stage")
    inst = subprocess.run(["cmake", "--install", BUILD, "--prefix", "/usr"], capture_output=True,
                          text=True, env=dict(os.environ, DESTDIR=stage), timeout=120)
    check(inst.returncode == 0, "cmake --install with DESTDIR (what `make install` runs)",
          inst.stdout[-800:] + inst.stderr[-800:])
    idip = os.path.join(stage, "usr", "bin", "dip")
    r = subprocess.run([idip, "version"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and r.stdout.startswith("dip "), "the installed dip runs from there",
          r.stdout + r.stderr)
    r = subprocess.run([idip, "delta", "cat", tab, "--count"], capture_output=True, text=True,
                       timeout=60, cwd="/")
    check(r.returncode == 0 and r.stdout.strip() == "100",
          "the installed dip reads a table (nothing needed from the source tree)", r.stderr)
    page = os.path.join(stage, "usr", "share", "man", "man1", "dip.1")
    r = subprocess.run(["man", "-l", page], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="100"))
    check(r.returncode == 0 and "NAME" in r.stdout and "dip sync-es" in r.stdout
          and "EXIT STATUS" in r.stdout, "man -l renders the installed page", r.stderr[-500:])
    for rel in ["usr/share/dip/airflow/dip_airflow.py",
                "usr/share/dip/examples/models/integrated_records.model",
                "usr/share/dip/examples/plugins/slug.lua"]:
        p = os.path.join(stage, rel)
        check(os.path.isfile(p) and os.stat(p).st_mode & stat.S_IRUSR, "installed: " + rel)
finally:
    shutil.rmtree(work, ignore_errors=True)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
