"""The ingestion job runs under spark-submit on a real standalone cluster (executor JVMs),
and the parsing happens in the executors' Python workers, not on the driver."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyspark
import pytest
from spark_optimizer.tables import APPLICATIONS, INGEST_LOG
from spark_optimizer.tables.store import read_delta_arrow

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow


def test_spark_submit_on_local_cluster_parses_logs_in_executors(tmp_path):
    spark_submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    warehouse = tmp_path / "warehouse"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1"}
    result = subprocess.run(
        ["bash", str(spark_submit), "--master", "local-cluster[2,1,1024]",
         "--conf", "spark.ui.enabled=false", "--conf", "spark.driver.memory=1g",
         str(REPO_ROOT / "jobs" / "ingest_event_logs.py"),
         "--event-log-dir", str(REPO_ROOT / "samples" / "eventlogs"), "--warehouse", str(warehouse)],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert "ingested 6" in result.stdout
    log = read_delta_arrow(str(warehouse / "ingest_log"), INGEST_LOG.arrow_schema()).to_pylist()
    parsed_by = {r["parsed_by"].split(" on ")[0] for r in log}
    assert parsed_by and all(who.startswith("executor ") for who in parsed_by), parsed_by
    assert read_delta_arrow(str(warehouse / "applications"), APPLICATIONS.arrow_schema()).num_rows == 6
