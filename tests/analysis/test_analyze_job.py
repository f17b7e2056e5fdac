"""The analysis job and its commands over real ingested logs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from spark_optimizer.analysis.analyze import analyze_applications, apps_to_analyze
from spark_optimizer.cli import app as cli_app
from spark_optimizer.config import load_settings
from spark_optimizer.tables.store import TableStore
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import APP_METRICS, FINDINGS
from spark_optimizer.tables.findings import evidence_from_stored
from tests.conftest import PINNED_RUN_TIME, REPO_ROOT

SAMPLES = REPO_ROOT / "samples" / "eventlogs"


@pytest.fixture(scope="module")
def analyzed(spark, tmp_path_factory):
    """The bundled samples, ingested and analyzed once for the read-only tests below."""
    settings = load_settings(warehouse=str(tmp_path_factory.mktemp("analyzed") / "wh"), environ={})
    store = TableStore(spark, settings)
    ingest_event_logs(spark, store, str(SAMPLES), PINNED_RUN_TIME)
    analyze_applications(spark, store, PINNED_RUN_TIME)
    return store


def test_analysis_is_incremental_and_idempotent(spark, store):
    ingest_event_logs(spark, store, str(SAMPLES), PINNED_RUN_TIME)
    first = analyze_applications(spark, store, PINNED_RUN_TIME)
    assert len(first.analyzed) == 6 and first.findings > 0
    findings = store.read_arrow(FINDINGS).num_rows
    assert apps_to_analyze(store) == []
    again = analyze_applications(spark, store, PINNED_RUN_TIME)
    assert again.analyzed == () and store.read_arrow(FINDINGS).num_rows == findings
    redo = analyze_applications(spark, store, PINNED_RUN_TIME, only=[("local-1776286786993", "")])
    assert redo.analyzed == (("local-1776286786993", ""),)
    assert store.read_arrow(FINDINGS).num_rows == findings and store.read_arrow(APP_METRICS).num_rows == 6


def test_findings_on_real_logs_carry_evidence_and_computed_properties(analyzed):
    rows = {(r["app_id"], r["rule_id"]): r for r in analyzed.read_arrow(FINDINGS).to_pylist(maps_as_pydicts="strict")}
    # YARN app whose containers failed with exit code 56: lost executors and failed tasks.
    lost = rows[("application_1538416563558_0014", "executor_loss")]
    assert evidence_from_stored(lost["evidence"])["executors_lost"] == 8 and lost["severity"] == "critical"
    # Kubernetes taxi job: a 5 GB shuffle partition.
    too_few = rows[("spark-cc4d115f011443d787f03a71a476a745", "too_few_shuffle_partitions")]
    assert int(too_few["recommended_conf"]["spark.sql.shuffle.partitions"]) > 2
    # Spark 4.1 app with 11 failed + 1 killed tasks.
    assert ("local-1776286786993", "failed_tasks") in rows
    for row in rows.values():
        assert row["evidence"] is not None
        # every finding proposes a setting, except failures no setting fixes (application code; lost executors,
        # which executor_loss addresses), and those say so
        assert row["recommended_conf"] or (row["rule_id"] == "failed_tasks" and (
            "application's own code" in row["rationale"] or "see executor_loss" in row["rationale"])), row


def test_analyze_command_prints_report_and_json(analyzed):
    runner = CliRunner()
    warehouse = analyzed.settings.warehouse
    text = runner.invoke(cli_app, ["analyze", "application_1538416563558_0014", "--warehouse", warehouse])
    assert text.exit_code == 0, text.output
    assert "executor_loss" in text.output and "what-if" in text.output and "--conf " in text.output
    as_json = runner.invoke(cli_app, ["analyze", "spark-cc4d115f011443d787f03a71a476a745", "--warehouse", warehouse,
                                      "--format", "json", "--executors", "2,4,8"])
    report = json.loads(as_json.stdout)
    assert [p["executors"] for p in report["whatif"]["points"]] == [2, 4, 8]
    assert report["metrics"]["bottleneck"] and report["spark_submit_conf"]
    missing = runner.invoke(cli_app, ["analyze", "application_1538416563558", "--warehouse", warehouse])
    assert missing.exit_code == 2 and "similar ids" in missing.output


def test_jobs_command_filters_strictly(analyzed):
    runner = CliRunner()
    warehouse = analyzed.settings.warehouse
    page = json.loads(runner.invoke(cli_app, ["jobs", "--warehouse", warehouse, "--format", "json"]).stdout)
    listed = page["items"]
    assert page["total"] == 6 and len(listed) == 6 and listed[0]["start_time"] >= listed[-1]["start_time"]
    long_runs = json.loads(runner.invoke(cli_app, ["jobs", "--warehouse", warehouse, "--min-duration", "5m", "--format", "json"]).stdout)
    assert [r["app_id"] for r in long_runs["items"]] == ["spark-cc4d115f011443d787f03a71a476a745"]
    by_name = json.loads(runner.invoke(cli_app, ["jobs", "--warehouse", warehouse, "--name", "KMeans", "--format", "json"]).stdout)
    assert [r["ref"] for r in by_name["items"]] == ["application_1538416563558_0014"]
    bad = runner.invoke(cli_app, ["jobs", "--warehouse", warehouse, "--min-duration", "ten minutes"])
    assert bad.exit_code == 2 and "not a duration" in bad.output
