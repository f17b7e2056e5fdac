"""Real warehouse: real event logs ingested, analyzed, trained (spark_optimizer.ml.train) and built
into `recommendations`; then the JVM-free lookup, the CLI, and feedback flowing into the next training."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from spark_optimizer.ml.model_inputs import GB
from tests.conftest import PINNED_RUN_TIME, REPO_ROOT

SAMPLE_LOGS = ("eventlog_v2_spark-cc4d115f011443d787f03a71a476a745", "local-1776286786993.zstd")
GENERATED_LOGS = ("local-1795476254430.snappy", "local-1795476268849.lzf", "eventlog_v2_app-20261123232240-0000")


@pytest.fixture(scope="module")
def built(spark, shared_eventlogs, tmp_path_factory):
    from spark_optimizer.config import load_settings
    from spark_optimizer.context import AppContext

    logs = tmp_path_factory.mktemp("logs")
    for source in [REPO_ROOT / "samples" / "eventlogs" / n for n in SAMPLE_LOGS] + [shared_eventlogs / "generated" / n for n in GENERATED_LOGS]:
        (shutil.copytree if source.is_dir() else shutil.copy)(source, logs / source.name)
    settings = load_settings(warehouse=str(tmp_path_factory.mktemp("rec") / "wh"), environ={})
    ctx = AppContext(settings, spark=spark, clock=lambda: PINNED_RUN_TIME)
    summary = ctx.main_job.run([str(logs)]).summary
    return settings, ctx.store, summary


def rows_of(settings):
    from spark_optimizer.recommender.lookup import latest_build, read_rows

    return latest_build(read_rows(settings))


def test_one_row_per_signature_and_per_job_type_band(built):
    settings, _, summary = built
    rows = rows_of(settings)
    signatures = [r for r in rows if r["level"] == "signature"]
    types = [r for r in rows if r["level"] == "job_type"]
    assert len(signatures) == summary.train.signatures == summary.build.signature_rows == 5
    assert len(types) == 5 * len({r["job_type"] for r in signatures})
    for r in rows:
        assert r["recommendation_id"] in r["spark_submit"] and r["executor_memory_mb"] >= 1024
        assert r["runtime_low_ms"] <= r["predicted_runtime_ms"] <= r["runtime_high_ms"]
        assert r["cost_low"] <= r["predicted_cost"] <= r["cost_high"] and r["currency"] == "USD"
        assert 0 < r["confidence"] < 1 and r["model_version"] == summary.train.runtime_model_version
        assert set(r["table_versions"]) >= {"scaling_models", "runs", "features", "findings"}
    # one run per signature: low confidence, labelled as borrowed or as a single-run prior
    assert {r["curve_source"] for r in signatures} <= {"single_run", "job_type"}
    assert {r["confidence_label"] for r in signatures} == {"low"}
    assert len({r["confidence"] for r in rows}) > 3  # computed, not a constant
    taxi = next(r for r in signatures if r["job_signature"].startswith("newyorktaxidata"))
    assert taxi["coefficients"]["per_core"] > 0 and taxi["input_bytes"] == 3892162000


def test_rows_come_back_as_plain_python_values(built):
    from datetime import timezone

    settings, _, _ = built
    rows = rows_of(settings)
    assert {r["built_at"].tzinfo for r in rows} == {timezone.utc}  # not arro3's zoneinfo.ZoneInfo("UTC")
    for r in rows:
        assert isinstance(r["methods"], list) and isinstance(r["member_signatures"], list)
        assert isinstance(r["executors"], int) and isinstance(r["confidence"], float) and isinstance(r["aqe_enabled"], bool)


def test_lookup_at_an_unseen_size_evaluates_the_curve_without_spark(built):
    from spark_optimizer.recommender.curves import spec_from_row
    from spark_optimizer.recommender.lookup import lookup

    settings, _, _ = built
    taxi = next(r for r in rows_of(settings) if (r["app_name"] or "").startswith("NewYorkTaxi"))
    small = lookup(settings, signature=taxi["job_signature"], input_bytes=1 * GB, objective="cheapest-within-deadline")
    large = lookup(settings, signature=taxi["job_signature"], input_bytes=100 * GB, objective="cheapest-within-deadline")
    assert large.row["input_bytes"] == 100 * GB and large.row["size_band"] == "100GB-1TB"
    assert large.row["predicted_runtime_ms"] > small.row["predicted_runtime_ms"]
    assert large.row["neighbour_distance"] > small.row["neighbour_distance"] and large.row["confidence"] < small.row["confidence"]
    spec = spec_from_row(taxi, {})
    s = large.result.best.shape
    assert large.row["predicted_runtime_ms"] == int(spec.curve.predict_ms(s.executors, s.executor_cores, s.executor_memory_mb,
                                                                           large.row["shuffle_partitions"], True, 100 * GB))
    assert large.row["recommendation_id"].startswith(taxi["recommendation_id"] + "~")
    by_type = lookup(settings, job_type="etl", input_bytes=10 * GB, cloud="all")
    assert by_type.row["size_band"] == "10-100GB" and set(by_type.by_cloud) == {"aws", "gcp", "azure", "databricks-aws"}
    assert "similarity" in by_type.row["methods"]


def test_sql_at_1gb_100gb_and_5tb_gives_three_plausible_answers(built):
    """The job type's runs read kilobytes (generated input); its answers must still scale with the size asked."""
    from spark_optimizer.cost import load_pricing_catalogue
    from spark_optimizer.recommender.lookup import lookup
    from spark_optimizer.recommender.search import (
        MAX_PARTITION_BYTES, MEMORY_PER_CORE_MB, TARGET_PARTITION_BYTES, memory_ceiling_mb, partition_floor_mb,
    )

    settings, _, _ = built
    catalogue = load_pricing_catalogue()
    sizes = (1 * GB, 100 * GB, 5 * 1024 * GB)
    rows = [lookup(settings, job_type="sql", input_bytes=size).row for size in sizes]
    shapes = [(r["executors"], r["executor_cores"], r["executor_memory_mb"], r["shuffle_partitions"]) for r in rows]
    assert len(set(shapes)) == 3
    cores = [r["executors"] * r["executor_cores"] for r in rows]
    assert cores[0] < cores[1] < cores[2] and rows[2]["executors"] >= 100  # hundreds of executors for 5 TB
    runtimes = [r["predicted_runtime_ms"] for r in rows]
    assert runtimes[0] < runtimes[1] < runtimes[2]  # the prior's runtime grows with the size
    assert rows[0]["predicted_cost"] < rows[1]["predicted_cost"] < rows[2]["predicted_cost"]
    for size, r in zip(sizes, rows):
        per_partition = size / r["shuffle_partitions"]
        assert per_partition <= MAX_PARTITION_BYTES
        if size >= 100 * GB:  # enough data to fill every slot: the rules' 128-200 MB band, less whole-wave rounding
            assert per_partition >= TARGET_PARTITION_BYTES / 2
        # Memory: each slot holds a partition, never more than the cloud's richest shape gives per core,
        # and a small input gets no more than the grid's most generous memory per core.
        ceiling = memory_ceiling_mb(catalogue, "aws", r["executor_cores"])
        assert min(partition_floor_mb(r["executor_cores"], per_partition), ceiling) <= r["executor_memory_mb"] <= ceiling
        if size <= 1 * GB:
            assert r["executor_memory_mb"] <= r["executor_cores"] * MEMORY_PER_CORE_MB[-1]
        assert r["confidence_label"] == "low" and "beyond the seen input sizes" in r["confidence_reason"]


def test_unknown_job_type_and_signature_list_what_exists(built):
    from spark_optimizer.recommender.lookup import UnknownRecommendationError, lookup

    settings, _, _ = built
    with pytest.raises(UnknownRecommendationError, match=r"unknown job type 'batch'; job types with recommendations: etl, sql"):
        lookup(settings, job_type="batch", input_bytes=GB)
    with pytest.raises(UnknownRecommendationError, match=r"job signature 'nope#1' is unknown; known signatures: .*newyorktaxidata#"):
        lookup(settings, signature="nope#1")
    with pytest.raises(UnknownRecommendationError, match="--input-size is needed"):
        lookup(settings, job_type="etl")


def test_cli_recommend_formats(built):
    from spark_optimizer.cli import app

    settings, _, _ = built
    runner = CliRunner()
    base = ["recommend", "--warehouse", settings.warehouse, "--job-type", "etl", "--input-size", "10GB"]
    out = runner.invoke(app, base + ["--format", "json", "--deadline", "30m", "--spot"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["objective"] == "cheapest-within-deadline" and doc["predicted_runtime_ms"] <= 30 * 60_000
    assert doc["spot_share"] == 0.5 and doc["pareto"] and doc["pareto"][0]["runtime_s"] <= doc["pareto"][-1]["runtime_s"]
    out = runner.invoke(app, base + ["--format", "spark-submit"])
    assert out.exit_code == 0 and out.stdout.startswith("spark-submit --conf spark.executor.cores=")
    out = runner.invoke(app, base + ["--format", "databricks", "--cloud", "databricks"])
    assert out.exit_code == 0 and "node_type_id" in json.loads(out.stdout)
    out = runner.invoke(app, base + ["--cloud", "all", "--pareto"])
    assert out.exit_code == 0 and "side by side" in out.stdout and "Pareto frontier" in out.stdout
    for bad, message in ((["--input-size", "10 gigs"], "not a data size"), (["--deadline", "soon"], "not a duration"),
                         (["--cloud", "ibm"], "--cloud must be one of")):
        out = runner.invoke(app, base + bad)
        assert out.exit_code == 2 and message in out.output, out.output


def test_asked_candidates_are_ranked_by_cli_sdk_and_api(built, tmp_path):
    from fastapi.testclient import TestClient

    from spark_optimizer import recommend
    from spark_optimizer.api.app import create_app
    from spark_optimizer.cli import app

    settings, _, _ = built
    asked = tmp_path / "candidates.csv"
    asked.write_text("instance_type,nodes,executor_cores\nr4.2xlarge,4,\nc4.2xlarge,8,4\nn2-highcpu-8,8,\nnot-a-type,2,\n")
    out = CliRunner().invoke(app, ["recommend", "--warehouse", settings.warehouse, "--job-type", "etl", "--input-size", "50GB",
                                   "--candidates", str(asked), "--format", "json"])
    assert out.exit_code == 0, out.output
    ranking = json.loads(out.stdout)["ranking"]
    assert [r["rank"] for r in ranking] == [1, 2, 3, None]
    assert {r["instance_type"] for r in ranking[:3]} == {"r4.2xlarge", "c4.2xlarge", "n2-highcpu-8"}
    assert "not-a-type" in ranking[3]["candidate"] and "no instance type 'not-a-type'" in ranking[3]["error"]
    table = CliRunner().invoke(app, ["recommend", "--warehouse", settings.warehouse, "--job-type", "etl", "--input-size", "50GB",
                                     "--candidates", str(asked)])
    assert table.exit_code == 0 and "candidates ranked (balanced)" in table.stdout
    sdk = recommend(job_type="etl", input_size="50GB", warehouse=settings.warehouse,
                    candidates=[{"instance_type": "r4.2xlarge", "nodes": 4}, {"instance_type": "c4.2xlarge", "nodes": 8, "executor_cores": 4}])
    assert [r["rank"] for r in sdk.row["ranking"]] == [1, 2]
    assert {r["instance_type"] for r in sdk.row["ranking"]} == {"r4.2xlarge", "c4.2xlarge"}
    api = TestClient(create_app(settings)).post("/recommend", json={"job_type": "etl", "input_size": "50GB",
                                                                    "candidates": [{"instance_type": "r4.2xlarge", "nodes": 4}]})
    assert api.status_code == 200, api.text
    assert api.json()["ranking"][0]["instance_type"] == "r4.2xlarge" and api.json()["instance_count"] == 4
    bad = TestClient(create_app(settings)).post("/recommend", json={"job_type": "etl", "input_size": "50GB",
                                                                    "candidates": [{"nodes": 4}]})
    assert bad.status_code == 422


@pytest.mark.parametrize("output_format, expected", [("spark-submit", "spark-submit --conf"), ("table", "recommendation")])
def test_recommend_runs_without_importing_pyspark(built, output_format, expected):
    # pyarrow (and the numpy it pulls in) was most of the cold start: the lookup reads arro3 batches instead.
    settings, _, _ = built
    code = ("import sys\nfrom spark_optimizer.cli import app\n"
            f"try:\n    app(['recommend', '--warehouse', {settings.warehouse!r}, '--job-type', 'sql', '--input-size', '3GB',"
            f" '--format', {output_format!r}])\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            "print('heavy:', sorted(m for m in ('pyspark', 'py4j', 'pandas', 'scipy', 'mlflow', 'pyarrow', 'numpy')"
            " if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout and "heavy: []" in done.stdout, done.stdout


def test_feedback_is_recorded_and_the_next_training_uses_it(built, spark):
    from spark_optimizer.recommender.feedback import record_feedback
    from spark_optimizer.recommender.lookup import lookup
    from spark_optimizer.recommender.pipeline import train_and_build
    from spark_optimizer.tables import FEEDBACK, RUNS
    from spark_optimizer.recommender.lookup import UnknownRecommendationError

    settings, store, _ = built
    taxi = next(r for r in rows_of(settings) if (r["app_name"] or "").startswith("NewYorkTaxi"))
    answer = lookup(settings, signature=taxi["job_signature"], input_bytes=8 * GB)
    predicted = answer.row["predicted_runtime_ms"]
    record = record_feedback(settings, answer.row["recommendation_id"], int(predicted * 1.5), PINNED_RUN_TIME + timedelta(hours=1),
                             cost=0.5)
    assert record.predicted_runtime_ms == predicted and record.runtime_error == pytest.approx(0.5, abs=1e-3)
    feedback = store.read_arrow(FEEDBACK).to_pylist()
    assert [f["recommendation_id"] for f in feedback] == [answer.row["recommendation_id"]]
    run = next(r for r in store.read_arrow(RUNS).to_pylist() if r["source"] == "feedback")
    assert (run["job_signature"], run["executors"], run["input_bytes"]) == (taxi["job_signature"], answer.row["executors"], 8 * GB)
    with pytest.raises(UnknownRecommendationError, match="rec-000000000000 is not in"):
        record_feedback(settings, "rec-000000000000", 1000, PINNED_RUN_TIME)
    # CLI form of the same
    from spark_optimizer.cli import app

    out = CliRunner().invoke(app, ["feedback", taxi["recommendation_id"], "--runtime", "12m", "--cost", "3.5", "--warehouse", settings.warehouse])
    assert out.exit_code == 0 and "recorded cli:" in out.output, out.output
    # the next training sees two configurations of the taxi job: it gets a curve of its own
    trained, built_again = train_and_build(spark, store, settings, PINNED_RUN_TIME + timedelta(hours=2))
    assert trained.runs == 7
    taxi_now = next(r for r in rows_of(settings) if r["job_signature"] == taxi["job_signature"] and r["level"] == "signature")
    assert taxi_now["built_at"] > taxi["built_at"] and taxi_now["config_count"] >= 2 and taxi_now["curve_source"] == "own"
