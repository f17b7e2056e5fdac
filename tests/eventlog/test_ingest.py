"""The ingestion job over Spark: incremental, idempotent, and a bad file never stops a batch."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spark_optimizer.cli import app as cli_app
from spark_optimizer.errors import EventLogNotFoundError
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import APPLICATIONS, EVENT_LOG_TABLES, INGEST_LOG, STAGES, TASKS
from tests.conftest import PINNED_RUN_TIME, REPO_ROOT

SAMPLES = REPO_ROOT / "samples" / "eventlogs"


def row_counts(store):
    return {spec.name: store.read_arrow(spec).num_rows for spec in EVENT_LOG_TABLES}


def test_bundled_samples_ingest_into_every_table(spark, store):
    summary = ingest_event_logs(spark, store, str(SAMPLES), PINNED_RUN_TIME)
    assert summary.as_dict()["ingested"] == 6 and summary.exit_code == 0
    apps = store.read(APPLICATIONS)
    assert apps.count() == 6
    assert apps.where("task_count > 0 AND executor_run_time_ms > 0").count() == 6
    assert store.read(TASKS).count() == apps.groupBy().sum("task_count").first()[0]
    assert all(n > 0 for n in row_counts(store).values())
    log = {r["source_path"]: r for r in store.read_arrow(INGEST_LOG).to_pylist()}
    assert all(r["status"] == "ingested" and r["parsed_by"] for r in log.values())


def test_many_small_batches_in_flight_write_the_same_tables_as_one_batch(spark, store, tmp_path):
    from spark_optimizer.config import load_settings
    from spark_optimizer.tables.store import TableStore

    progress = []
    batched = ingest_event_logs(spark, store, str(SAMPLES), PINNED_RUN_TIME, batch_size=1,
                                on_batch=lambda records, done, total: progress.append((len(records), done, total)))
    assert progress == [(1, i, 6) for i in range(1, 7)]  # each batch reported once, in order
    assert {"listing", "parsing", "waiting_for_parse", "assembling", "writing"} <= set(batched.seconds)
    whole = TableStore(spark, load_settings(warehouse=str(tmp_path / "one-batch"), environ={}))
    ingest_event_logs(spark, whole, str(SAMPLES), PINNED_RUN_TIME)
    for spec in EVENT_LOG_TABLES:
        ours, theirs = (sorted(map(repr, s.read_arrow(spec).drop_columns(["ingested_at"]).to_pylist())) for s in (store, whole))
        assert ours == theirs and ours, spec.name


def test_a_second_run_over_unchanged_logs_does_no_work_and_duplicates_nothing(spark, store):
    ingest_event_logs(spark, store, str(SAMPLES), PINNED_RUN_TIME)
    before = row_counts(store)
    versions = {spec.name: store.version(spec) for spec in EVENT_LOG_TABLES}
    again = ingest_event_logs(spark, store, str(SAMPLES), PINNED_RUN_TIME)
    assert again.records == [] and again.unchanged == 6
    assert row_counts(store) == before
    assert {spec.name: store.version(spec) for spec in EVENT_LOG_TABLES} == versions
    forced = ingest_event_logs(spark, store, str(SAMPLES), PINNED_RUN_TIME, force=True)
    assert forced.count("ingested") == 6 and row_counts(store) == before


def test_a_completed_in_progress_log_replaces_its_earlier_rows(spark, store, tmp_path, shared_eventlogs):
    complete = (shared_eventlogs / "generated" / "local-1795476299058").read_bytes().splitlines(keepends=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    partial = logs / "local-1795476299058.inprogress"
    partial.write_bytes(b"".join(complete[: len(complete) * 2 // 3]))
    first = ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME)
    [app] = store.read_arrow(APPLICATIONS).to_pylist()
    assert app["status"] == "incomplete" and first.records[0]["complete"] is False
    partial.rename(logs / "local-1795476299058")
    (logs / "local-1795476299058").write_bytes(b"".join(complete))
    ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME)
    [app] = store.read_arrow(APPLICATIONS).to_pylist()
    assert app["status"] == "completed" and app["task_count"] == 8
    assert store.read_arrow(TASKS).num_rows == 8
    [record] = store.read_arrow(INGEST_LOG).to_pylist()
    assert record["source_path"].endswith("local-1795476299058") and record["complete"]


def test_corrupt_empty_and_foreign_files_are_recorded_and_the_rest_is_ingested(spark, store, tmp_path, shared_eventlogs):
    logs = tmp_path / "logs"
    shutil.copytree(SAMPLES, logs)
    shutil.copy(shared_eventlogs / "public/groupon__sparklint/invalid_log_file", logs)
    shutil.copy(shared_eventlogs / "public/groupon__sparklint/file_event_log_empty_test", logs)
    (logs / "garbage.zstd").write_bytes(b"\x00\x01not zstd at all")
    summary = ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME)
    assert summary.count("ingested") == 6 and summary.count("failed") == 3 and summary.exit_code == 1
    reasons = {Path(r["source_path"]).name: r["reason"] for r in summary.failed}
    assert "empty file (0 bytes)" in reasons["file_event_log_empty_test"]
    assert "not a Spark event log" in reasons["invalid_log_file"]
    assert "zstd" in reasons["garbage.zstd"]
    assert store.read_arrow(APPLICATIONS).num_rows == 6
    assert store.read_arrow(INGEST_LOG).num_rows == 9


def test_two_copies_of_one_application_attempt_keep_one_and_record_the_other(spark, store, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(SAMPLES / "local-1795476283857.zstd", tmp_path / folder)
    summary = ingest_event_logs(spark, store, str(tmp_path), PINNED_RUN_TIME)
    assert sorted(r["status"] for r in summary.records) == ["duplicate", "ingested"]
    assert store.read_arrow(APPLICATIONS).num_rows == 1
    assert store.read(STAGES).groupBy("stage_id", "stage_attempt_id").count().where("count > 1").count() == 0


def test_a_duplicates_reason_names_the_attempt_as_app_slash_attempt(spark, store, tmp_path, shared_eventlogs):
    real = shared_eventlogs / "public" / "groupon__sparklint" / "application_1472176676028_407508_1"
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        shutil.copy(real, tmp_path / folder)
    summary = ingest_event_logs(spark, store, str(tmp_path), PINNED_RUN_TIME)
    duplicate, = (r for r in summary.records if r["status"] == "duplicate")
    assert duplicate["reason"].startswith("holds the same application attempt(s) application_1472176676028_407508/1 as ")


def test_a_missing_folder_is_a_clear_error(spark, store, tmp_path):
    with pytest.raises(EventLogNotFoundError, match="does not exist"):
        ingest_event_logs(spark, store, str(tmp_path / "nope"), PINNED_RUN_TIME)


def test_the_cli_summarises_and_exits_non_zero_only_when_a_log_failed(spark, tmp_path, shared_eventlogs):
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(SAMPLES / "local-1795476283857.zstd", logs)
    shutil.copy(shared_eventlogs / "public/groupon__sparklint/invalid_log_file", logs)
    runner = CliRunner()
    args = ["collect", "--event-log-dir", str(logs), "--warehouse", str(tmp_path / "wh")]
    first = runner.invoke(cli_app, args)
    assert first.exit_code == 1, first.output
    assert "ingested 1" in first.output and "failed 1" in first.output and "invalid_log_file" in first.output
    second = runner.invoke(cli_app, args)
    assert second.exit_code == 0 and "skipped unchanged 2 (of which 1 failed before)" in second.output
    missing = runner.invoke(cli_app, ["collect", "--event-log-dir", str(tmp_path / "nope"), "--warehouse", str(tmp_path / "wh")])
    assert missing.exit_code == 2 and "does not exist" in missing.output



def test_batch_jobs_reach_the_scheduler_in_the_order_the_driver_collects_them(spark, store, monkeypatch):
    """Two batches are parsed at a time from two threads; the FIFO scheduler must see them in
    batch order, or a later batch could take the slots while the driver waits for the earlier."""
    import uuid

    import spark_optimizer.eventlog.ingest as ingest_module

    run = uuid.UUID("0123456789ab" + "0" * 20)
    monkeypatch.setattr(ingest_module.uuid, "uuid4", lambda: run)
    ingest_event_logs(spark, store, str(SAMPLES), PINNED_RUN_TIME, batch_size=1)
    tracker = spark.sparkContext.statusTracker()
    job_of_batch = [tracker.getJobIdsForGroup(f"spark-optimizer-ingest-0123456789ab-{n}") for n in range(1, 7)]
    assert all(len(jobs) == 1 for jobs in job_of_batch), job_of_batch
    assert [jobs[0] for jobs in job_of_batch] == sorted(jobs[0] for jobs in job_of_batch)


def test_ingestion_needs_no_spark_sql_session_and_a_dataframe_read_builds_one(tmp_path):
    """A command that only ingests starts the SparkContext alone (Spark SQL's session is ~0.4 s
    of the JVM's start-up); reading a table as a DataFrame afterwards builds the session."""
    import os
    import subprocess
    import sys

    script = f"""
import os
from pyspark.sql import SparkSession
from spark_optimizer.config import load_settings
from spark_optimizer.context import AppContext
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import APPLICATIONS
from tests.conftest import PINNED_RUN_TIME
ctx = AppContext(load_settings(warehouse={str(tmp_path / "wh")!r}, spark_master="local[1]", environ={{}}))
summary = ingest_event_logs(ctx.spark_context, ctx.store, {str(SAMPLES)!r}, PINNED_RUN_TIME)
print("ingested", summary.count("ingested"), "session", SparkSession._instantiatedSession is not None)
print("dataframe rows", ctx.store.read(APPLICATIONS).count(), "session", SparkSession._instantiatedSession is not None)
os._exit(0)
"""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("PYSPARK_GATEWAY_PORT", None)
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith(("ingested", "dataframe"))]
    assert lines == ["ingested 6 session False", "dataframe rows 6 session True"]
