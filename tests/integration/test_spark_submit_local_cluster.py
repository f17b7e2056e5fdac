"""The ingestion job runs under spark-submit on a real standalone cluster (executor JVMs), the
parsing happens in the executors' Python workers, not on the driver, and the job ends cleanly:
its SparkContext stopped (no executor lost or relaunched, the application not FAILED), logging at
WARN, its exit code saying whether its work succeeded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pyspark
import pytest
from spark_optimizer.tables import APPLICATIONS, INGEST_LOG
from spark_optimizer.tables.store import read_delta_arrow

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


# What a standalone master and its workers log when executors die under a driver that did not stop.
UNCLEAN_END = ("Master removed our application", "Lost executor", "Executor lost", "ExecutorLostFailure",
               "finished with state", "Asked to remove non-existent executor")


def _submit_ingestion(tmp_path: Path, event_log_dir: Path, warehouse: Path) -> subprocess.CompletedProcess:
    spark_submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1"}
    return subprocess.run(
        ["bash", str(spark_submit), "--master", "local-cluster[2,1,1024]",
         "--conf", "spark.ui.enabled=false", "--conf", "spark.driver.memory=1g",
         str(REPO_ROOT / "jobs" / "ingest_event_logs.py"),
         "--event-log-dir", str(event_log_dir), "--warehouse", str(warehouse)],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
    )


def test_spark_submit_on_local_cluster_parses_logs_in_executors_and_exits_non_zero_for_a_failed_log(tmp_path):
    """One cluster start for both claims: the six samples are parsed in the executors and stored; the
    unparseable seventh log fails on its own, makes the exit code non-zero, and the job still ends cleanly."""
    logs, warehouse = tmp_path / "logs", tmp_path / "warehouse"
    shutil.copytree(REPO_ROOT / "samples" / "eventlogs", logs)
    (logs / "app-20260101000000-0000").write_text('{"Event":"SparkListenerApplicationStart","App Name":"x"\nnot json at all\n')
    result = _submit_ingestion(tmp_path, logs, warehouse)
    assert result.returncode != 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "ingested 6, partial 0, failed 1" in result.stdout, result.stdout[-3000:]
    assert not [line for line in result.stderr.splitlines() if any(sign in line for sign in UNCLEAN_END)], result.stderr[-5000:]
    # SparkContext names Spark's and Java's versions at INFO before it applies spark.log.level; nothing after.
    lines = result.stderr.splitlines()
    [level_set] = [i for i, line in enumerate(lines) if line.startswith('Setting Spark log level to "WARN"')]
    assert not [line for line in lines[level_set:] if " INFO " in line], result.stderr[-5000:]
    log = read_delta_arrow(str(warehouse / "ingest_log"), INGEST_LOG.arrow_schema()).to_pylist()
    assert sorted(r["status"] for r in log) == ["failed"] + ["ingested"] * 6
    parsed_by = {r["parsed_by"].split(" on ")[0] for r in log if r["status"] == "ingested"}
    assert parsed_by and all(who.startswith("executor ") for who in parsed_by), parsed_by
    assert read_delta_arrow(str(warehouse / "applications"), APPLICATIONS.arrow_schema()).num_rows == 6
