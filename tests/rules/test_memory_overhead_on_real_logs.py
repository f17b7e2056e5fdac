"""The memory rules on real public logs whose runs set the executors' memory overhead themselves."""

from __future__ import annotations

import pytest

from spark_optimizer.analysis.analyze import analyze_applications
from spark_optimizer.config import load_settings
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.spark_rules import size_mb
from spark_optimizer.tables import APPLICATIONS, FINDINGS, SPARK_CONF
from spark_optimizer.tables.store import TableStore
from tests.conftest import PINNED_RUN_TIME

# A Kubernetes run with spark.executor.memoryOverhead=4g whose executors' heap filled up.
K8S_RUN = "kubeflow__mcp-apache-spark-history-server/eventlog_v2_spark-cc4d115f011443d787f03a71a476a745"


@pytest.fixture(scope="module")
def analyzed(spark, shared_eventlogs, tmp_path_factory):
    store = TableStore(spark, load_settings(warehouse=str(tmp_path_factory.mktemp("overhead") / "wh"), environ={}))
    assert ingest_event_logs(spark, store, str(shared_eventlogs / "public" / K8S_RUN), PINNED_RUN_TIME).count("ingested") == 1
    analyze_applications(spark, store, PINNED_RUN_TIME)
    return store


def test_more_heap_never_comes_with_less_overhead_than_the_run_set(analyzed):
    conf = {r["key"]: r["value"] for r in analyzed.read_arrow(SPARK_CONF).to_pylist() if r["source"] == "spark"}
    run_overhead_mb = size_mb("spark.executor.memoryOverhead", conf["spark.executor.memoryOverhead"])
    finding = next(r for r in analyzed.read_arrow(FINDINGS).to_pylist() if r["rule_id"] == "executor_memory_underprovisioned")
    recommended = dict(finding["recommended_conf"])
    [app] = analyzed.read_arrow(APPLICATIONS).to_pylist()
    assert size_mb("spark.executor.memory", recommended["spark.executor.memory"]) > app["executor_memory_mb"]
    overhead = recommended.get("spark.executor.memoryOverhead")  # absent when it is the run's own value
    assert overhead is None or size_mb("spark.executor.memoryOverhead", overhead) >= run_overhead_mb
