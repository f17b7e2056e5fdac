"""benchmarks/corpus.py --quick: real applications on local-cluster executors, one event log per
run, a consistent runs.csv, a resumable output, and logs that our ingestion reads with each run's
configuration intact."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import APPLICATIONS, SPARK_CONF
from tests.conftest import PINNED_RUN_TIME, REPO_ROOT

pytestmark = pytest.mark.slow

CORPUS = REPO_ROOT / "benchmarks" / "corpus.py"


def _generate(out, *extra):
    result = subprocess.run([sys.executable, str(CORPUS), "--out", str(out), "--quick", *extra],
                            capture_output=True, text=True, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result.stdout


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    _generate(out)
    with (out / "runs.csv").open(newline="") as f:
        return out, list(csv.DictReader(f))


def test_quick_corpus_has_one_ok_run_and_one_event_log_per_planned_run(corpus):
    out, rows = corpus
    assert len(rows) == 2  # 2 workloads, each with one of the 2 configurations, 1 repeat
    assert {r["workload"] for r in rows} == {"aggregation", "multi_join"} and {r["scale"] for r in rows} == {"tiny"}
    assert all(r["status"] == "ok" and r["failure_reason"] == "" for r in rows), rows
    assert len({r["run_id"] for r in rows}) == 2 and len({r["config_id"] for r in rows}) == 2
    assert len({r["app_id"] for r in rows}) == 2
    logs = sorted(p.name for p in (out / "eventlogs").iterdir())
    assert logs == sorted(f"{r['app_id']}.zstd" for r in rows)
    for r in rows:
        assert r["event_log"] == f"eventlogs/{r['app_id']}.zstd" and int(r["event_log_bytes"]) > 0
        assert 0 < int(r["wall_ms"]) < int(r["app_wall_ms"])
        assert int(r["executors_registered"]) == int(r["executors"])
        data = [out / "data" / "tiny" / name for name in (("sales",) if r["workload"] == "aggregation"
                else ("sales", "customers", "products", "stores", "returns"))]  # fmt: skip
        assert int(r["input_bytes"]) == sum(p.stat().st_size for d in data for p in d.glob("*.parquet"))
        assert int(r["input_rows"]) > 0
    readme = (out / "README.md").read_text()
    assert "CC BY 4.0" in readme and "2 (2 ok, 0 failed)" in readme


def test_a_second_invocation_resumes_and_runs_nothing(corpus):
    out, rows = corpus
    stdout = _generate(out)
    assert "2 already in" in stdout and "0 to run" in stdout
    with (out / "runs.csv").open(newline="") as f:
        assert list(csv.DictReader(f)) == rows


def test_ingestion_reads_every_run_with_its_name_and_configuration(corpus, spark, store):
    out, rows = corpus
    summary = ingest_event_logs(spark, store, str(out / "eventlogs"), PINNED_RUN_TIME)
    assert summary.count("ingested") == len(rows) and summary.exit_code == 0
    apps = {a["app_id"]: a for a in store.read_arrow(APPLICATIONS).to_pylist()}
    conf = {(c["app_id"], c["key"]): c["value"] for c in store.read_arrow(SPARK_CONF).to_pylist() if c["source"] == "spark"}
    assert set(apps) == {r["app_id"] for r in rows}
    for r in rows:
        app, executors, cores, memory_mb = apps[r["app_id"]], int(r["executors"]), int(r["executor_cores"]), int(r["executor_memory_mb"])
        assert app["app_name"] == r["workload"] and app["status"] == "completed" and app["platform"] == "standalone"
        assert app["master"] == f"local-cluster[{executors},{cores},{memory_mb}]"
        assert (app["executor_instances_requested"], app["executor_cores_requested"], app["executor_memory_mb_requested"]) == (executors, cores, memory_mb)
        assert app["shuffle_partitions_conf"] == int(r["shuffle_partitions"])
        # What the executors really got: the driver JVM is reused between runs, so this catches any
        # resource setting that leaked from one application into the next.
        assert (app["max_concurrent_executors"], app["executor_cores"], app["executor_memory_mb"]) == (executors, cores, memory_mb)
        assert conf[(r["app_id"], "spark.optimizer.corpus.run_id")] == r["run_id"]
        assert conf[(r["app_id"], "spark.optimizer.corpus.config_id")] == r["config_id"]
        assert conf[(r["app_id"], "spark.executor.memory")] == f"{memory_mb}m"
        assert conf[(r["app_id"], "spark.executor.instances")] == str(executors)
        assert conf[(r["app_id"], "spark.executor.cores")] == str(cores)
        assert conf[(r["app_id"], "spark.sql.shuffle.partitions")] == r["shuffle_partitions"]
        assert conf[(r["app_id"], "spark.sql.adaptive.enabled")] == r["aqe"]
