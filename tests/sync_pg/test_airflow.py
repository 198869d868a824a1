"""unittest of contrib/airflow/dip_airflow.py against a real dip and PostgreSQL
(test_airflow.sh sets DIP_BIN, DIP_SYNC_PG_SOURCE, PG*, and AIRFLOW_MT for the table writer)."""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ["DIP_SRC"], "contrib", "airflow"))
import dip_airflow  # noqa: E402


class DipAirflowTest(unittest.TestCase):
    def test_plan_process_cycle(self):
        tasks = dip_airflow.get_tasks()
        self.assertEqual(len(tasks), 1)
        self.assertEqual(tasks[0]["input_delta_table"], os.environ["DIP_SYNC_PG_SOURCE"])
        self.assertEqual(tasks[0]["output_postgres_table"], "integrated_records")
        log = dip_airflow.process_task(tasks[0])
        self.assertIn("sync-pg done", log)
        self.assertEqual(dip_airflow.get_tasks(), [])
        # a commit makes the table stale again
        subprocess.run(os.environ["AIRFLOW_MT"].split() + ["update", os.environ["DIP_SYNC_PG_SOURCE"],
                                                            "--update", "5", "--insert", "5"],
                       check=True)
        tasks = dip_airflow.get_tasks()
        self.assertEqual(len(tasks), 1)
        self.assertEqual(tasks[0]["mode"], "incremental")
        dip_airflow.process_task(tasks[0])
        self.assertEqual(dip_airflow.get_tasks(), [])

    def test_sharded_cycle(self):
        table = "sharded_gold"
        tasks = dip_airflow.get_tasks(table=table, shards=3)
        self.assertEqual(len(tasks), 3)
        self.assertEqual(sorted(t["shard"] for t in tasks), [0, 1, 2])
        self.assertEqual(len({t["parent_run_id"] for t in tasks}), 1)
        with self.assertRaises(dip_airflow.DipTransientError):
            dip_airflow.finalize(tasks)  # no shard ran yet
        for t in reversed(tasks):
            dip_airflow.process_task(t)
        dip_airflow.finalize(tasks)  # the last shard finalized already: a no-op
        self.assertEqual(dip_airflow.get_tasks(table=table, shards=3), [])
        self.assertEqual(dip_airflow.get_tasks(table=table), [])
        self.assertEqual(dip_airflow.finalize([]), "")

    def test_sharded_dag_wiring(self):
        """Builds contrib/airflow/dip_sync_pg_sharded_dag.py against a stand-in of
        airflow.decorators (Airflow is not installed here): plan, a task mapped over plan's
        output, and finalize downstream of every mapped task, given plan's output."""
        import types
        graph = {"calls": [], "expand": [], "edges": []}

        class Ref:
            def __init__(self, name):
                self.name = name

            def __rshift__(self, other):
                graph["edges"].append((self.name, other.name))
                return other

        class Task:
            def __init__(self, fn, opts):
                self.fn, self.opts = fn, opts

            def __call__(self, *args):
                graph["calls"].append((self.fn.__name__, [getattr(a, "name", a) for a in args]))
                return Ref(self.fn.__name__)

            def expand(self, **kw):
                graph["expand"].append((self.fn.__name__, {k: v.name for k, v in kw.items()}))
                return Ref(self.fn.__name__ + "[]")

        def task(fn=None, **opts):
            return Task(fn, opts) if fn else (lambda f: Task(f, opts))

        def dag(**kw):
            graph["dag"] = kw
            return lambda f: (lambda: f())

        airflow = types.ModuleType("airflow")
        decorators = types.ModuleType("airflow.decorators")
        decorators.dag, decorators.task = dag, task
        airflow.decorators = decorators
        sys.modules["airflow"], sys.modules["airflow.decorators"] = airflow, decorators
        try:
            sys.modules.pop("dip_sync_pg_sharded_dag", None)
            import dip_sync_pg_sharded_dag  # noqa: F401
        finally:
            del sys.modules["airflow"], sys.modules["airflow.decorators"]
        self.assertEqual(graph["dag"]["dag_id"], "dip_sync_pg_sharded")
        self.assertIn(("plan", []), graph["calls"])
        self.assertEqual(graph["expand"], [("sync_shard", {"shard_task": "plan"})])
        self.assertIn(("finalize", ["plan"]), graph["calls"])
        self.assertIn(("sync_shard[]", "finalize"), graph["edges"])

    def test_missing_table(self):
        with self.assertRaises(dip_airflow.DipError) as cm:
            dip_airflow.get_tasks(os.environ["DIP_SYNC_PG_SOURCE"] + "-missing")
        self.assertEqual(cm.exception.returncode, 5)
        self.assertNotIsInstance(cm.exception, dip_airflow.DipTransientError)

    def test_unreachable_database_is_transient(self):
        env = dict(os.environ, PGPORT="1", POSTGRES_MAX_RETRIES="1", POSTGRES_RETRY_DELAY="0.01",
                   POSTGRES_CONNECTION_TIMEOUT="2")
        with self.assertRaises(dip_airflow.DipTransientError) as cm:
            dip_airflow.get_tasks(env=env)
        self.assertEqual(cm.exception.returncode, 4)

    def test_bad_task(self):
        with self.assertRaises(ValueError):
            dip_airflow.process_task({"input_delta_table": "x"})


if __name__ == "__main__":
    unittest.main()
