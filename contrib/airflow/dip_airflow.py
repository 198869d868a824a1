"""dip_airflow: the seed's get_tasks() / process_task() contract for Airflow (or cron, or
Kubernetes), by calling the dip binary. Standard library only.

    from dip_airflow import get_tasks, process_task

    for task in get_tasks("s3://lake/silver/integrated/records.delta"):
        process_task(task)

get_tasks() runs `dip sync-pg --plan` and returns its task list: at most one dict with
"input_delta_table" and "output_postgres_table" (an empty list when the gold table is up
to date); get_tasks(shards=N) returns the N shard tasks of one table version.
process_task(task) runs `dip sync-pg --task JSON`; finalize(tasks) marks a sharded run
synced once every shard finished (dip_sync_pg_sharded_dag.py shows the Airflow DAG). The PostgreSQL connection comes
from the PG* environment (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD) and the tuning from
the seed's variables (POSTGRES_CLIENT_BATCH_SIZE, ...), as for dip itself.

Failures raise DipError with dip's exit code; DipTransientError (exit code 4: the
database or the object store stayed unreachable through dip's own retries) is the one an
orchestrator should retry later. Exit codes: docs/sync-pg.md.
"""
import json
import os
import subprocess

__all__ = ["get_tasks", "process_task", "finalize", "DipError", "DipTransientError"]

EXIT_TRANSIENT = 4


class DipError(RuntimeError):
    """dip exited non-zero; .returncode and .stderr say why."""

    def __init__(self, cmd, returncode, stderr):
        self.cmd = cmd
        self.returncode = returncode
        self.stderr = stderr
        last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        super().__init__(f"dip exited with {returncode}: {last}")


class DipTransientError(DipError):
    """Exit code 4: worth retrying later."""


def _dip_binary(dip):
    return dip or os.environ.get("DIP_BIN", "dip")


def _run(cmd, env, timeout):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        cls = DipTransientError if proc.returncode == EXIT_TRANSIENT else DipError
        raise cls(cmd, proc.returncode, proc.stderr)
    return proc


def get_tasks(source=None, table=None, *, model=None, shards=None, dip=None, env=None,
              extra_args=(), timeout=None):
    """Task list for a Delta table (default: $DIP_SYNC_PG_SOURCE): [] or [task]; with
    shards=N, [] or the N shard tasks of one table version (docs/sync-pg.md, "Shards"): run
    them in parallel (Airflow's task.expand), then finalize(tasks)."""
    source = source or os.environ.get("DIP_SYNC_PG_SOURCE")
    if not source:
        raise ValueError("get_tasks: no source (argument or DIP_SYNC_PG_SOURCE)")
    cmd = [_dip_binary(dip), "sync-pg", "--plan", "--source", source]
    if table:
        cmd += ["--table", table]
    if model:
        cmd += ["--model", model]
    if shards:
        cmd += ["--shards", str(int(shards))]
    cmd += list(extra_args)
    proc = _run(cmd, env, timeout)
    tasks = json.loads(proc.stdout)
    if not isinstance(tasks, list) or len(tasks) > (int(shards) if shards else 1):
        raise DipError(cmd, 0, f"unexpected --plan output: {proc.stdout!r}")
    return tasks


def finalize(tasks, *, dip=None, env=None, timeout=None):
    """Marks a sharded run synced once every shard finished (`dip sync-pg --finalize`).
    Raises DipTransientError (exit 4) while a shard is unfinished: rerun the failed shards
    (only those), then finalize again. No-op for [] and for tasks without shards."""
    tasks = [t for t in (tasks or []) if isinstance(t, dict) and t.get("parent_run_id")]
    if not tasks:
        return ""
    cmd = [_dip_binary(dip), "sync-pg", "--finalize", "--task", json.dumps(tasks)]
    return _run(cmd, env, timeout).stderr


def process_task(task, *, model=None, dip=None, env=None, extra_args=(), timeout=None):
    """Runs one task from get_tasks(); returns dip's log (stderr) text."""
    if not isinstance(task, dict) or "input_delta_table" not in task \
            or "output_postgres_table" not in task:
        raise ValueError("process_task: expected a task dict from get_tasks()")
    cmd = [_dip_binary(dip), "sync-pg", "--task", json.dumps(task)]
    if model:
        cmd += ["--model", model]
    cmd += list(extra_args)
    return _run(cmd, env, timeout).stderr
