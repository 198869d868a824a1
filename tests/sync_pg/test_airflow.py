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
