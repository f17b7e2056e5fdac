"""Hostile logs made from a real one: every impossible value is rejected with its file and line,
the log is recorded, and one bad log never stops the batch or changes the good logs' rows."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from spark_optimizer.eventlog import ingest
from spark_optimizer.eventlog.discovery import LogFile, group_log_files
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.eventlog.listing import list_log_files
from spark_optimizer.eventlog.parse import parse_group
from spark_optimizer.tables import APPLICATIONS, INGEST_LOG, JOBS, TASKS
from tests.conftest import PINNED_RUN_TIME, REPO_ROOT

GOOD_LOG = REPO_ROOT / "samples" / "eventlogs" / "local-1776286786993.zstd"
APP = "local-1795476299058"


def real_events(shared_eventlogs: Path) -> list[dict]:
    return [json.loads(line) for line in (shared_eventlogs / "generated" / APP).read_bytes().splitlines()]


def first(events: list[dict], name: str) -> dict:
    return next(e for e in events if e["Event"] == name)


def task_id_past_64_bits(events):
    first(events, "SparkListenerTaskEnd")["Task Info"]["Task ID"] = 2**64 + 5


def finish_time_in_year_2286(events):
    first(events, "SparkListenerTaskEnd")["Task Info"]["Finish Time"] = 10**16


def app_end_in_the_far_future(events):
    first(events, "SparkListenerApplicationEnd")["Timestamp"] = 10**16


def string_where_a_metric_belongs(events):
    first(events, "SparkListenerTaskEnd")["Task Metrics"]["Executor Run Time"] = "abc"


def negative_metric(events):
    first(events, "SparkListenerTaskEnd")["Task Metrics"]["JVM GC Time"] = -5


def null_task_and_job_ids(events):
    for event in events:
        if event["Event"] == "SparkListenerTaskEnd":
            event["Task Info"]["Task ID"] = None
        if event["Event"] == "SparkListenerJobStart":
            event["Job ID"] = None


def second_application_start(events):
    start = dict(first(events, "SparkListenerApplicationStart"), **{"App ID": "another-app"})
    events.insert(len(events) // 2, start)


def app_end_before_app_start(events):
    first(events, "SparkListenerApplicationEnd")["Timestamp"] = 2115


def task_info_is_a_string(events):
    first(events, "SparkListenerTaskEnd")["Task Info"] = "lost"


# mutation -> (status, words of the reason)
MUTATIONS = {
    task_id_past_64_bits: ("partial", "line 14: SparkListenerTaskEnd rejected: 'Task Info / Task ID'"),
    finish_time_in_year_2286: ("partial", "'Task Info / Finish Time' 10000000000000000 is a time after today"),
    app_end_in_the_far_future: ("partial", "SparkListenerApplicationEnd rejected: 'Timestamp'"),
    string_where_a_metric_belongs: ("partial", "'Task Metrics / Executor Run Time' is str 'abc', not a whole number"),
    negative_metric: ("partial", "'Task Metrics / JVM GC Time' -5 is outside 0..2^63-1"),
    null_task_and_job_ids: ("partial", "13 event(s) rejected"),
    second_application_start: ("partial", "a second SparkListenerApplicationStart (App ID 'another-app')"),
    app_end_before_app_start: ("partial", "applications.end_time=1970-01-01T00:00:02.115000+00:00 (before start_time="),
    task_info_is_a_string: ("partial", "'Task Info' is str, not an object"),
}


def write_log(path: Path, events: list[dict]) -> Path:
    path.write_bytes(b"".join(json.dumps(e).encode() + b"\n" for e in events))
    return path


def parsed(path: Path) -> tuple[dict, dict[str, list]]:
    [group] = group_log_files([LogFile(str(path), path.stat().st_size, 0)])
    rows: dict[str, list] = {}
    record = parse_group(group, PINNED_RUN_TIME, lambda table, row: rows.setdefault(table, []).append(row))
    return record, rows


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.__name__)
def test_an_impossible_event_is_rejected_with_its_line_and_counted_never_stored(mutation, tmp_path, shared_eventlogs):
    events = real_events(shared_eventlogs)
    mutation(events)
    record, rows = parsed(write_log(tmp_path / APP, events))
    status, words = MUTATIONS[mutation]
    assert record["status"] == status and words in record["reason"], record["reason"]
    [app] = rows["applications"]
    assert app["duration_ms"] is None or 0 <= app["duration_ms"] < 10**9
    assert all(0 <= row[2] < 2**63 and (row[10] or 0) < 10**14 for row in rows.get("tasks", []))


def test_the_untouched_real_log_is_ingested_without_a_problem(tmp_path, shared_eventlogs):
    record, rows = parsed(write_log(tmp_path / APP, real_events(shared_eventlogs)))
    assert record["status"] == "ingested" and record["reason"] is None and len(rows["tasks"]) == 8


def test_an_app_id_holding_a_hash_keeps_its_attempt_and_an_attempt_id_holding_one_is_rejected(tmp_path, shared_eventlogs):
    events = real_events(shared_eventlogs)
    first(events, "SparkListenerApplicationStart")["App ID"] = "odd#app"
    record, _ = parsed(write_log(tmp_path / APP, events))
    assert record["status"] == "ingested" and record["attempts"] == [{"app_id": "odd#app", "attempt_id": ""}]
    first(events, "SparkListenerApplicationStart")["App Attempt ID"] = "1#2"
    record, _ = parsed(write_log(tmp_path / APP, events))
    assert record["status"] == "failed" and "'App Attempt ID' is '1#2', not an attempt id" in record["reason"]


def test_a_batch_of_hostile_logs_finishes_and_the_good_log_is_stored_as_alone(spark, store, tmp_path, shared_eventlogs):
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(GOOD_LOG, alone)
    ingest_event_logs(spark, store, str(alone), PINNED_RUN_TIME)
    good_alone = {spec.name: store.read_arrow(spec).drop_columns(["ingested_at"]).to_pylist() for spec in (APPLICATIONS, TASKS, JOBS)}

    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(GOOD_LOG, logs)
    for number, mutation in enumerate(MUTATIONS):
        events = real_events(shared_eventlogs)
        mutation(events)
        app_id = f"local-17954762990{number:02d}"
        first(events, "SparkListenerApplicationStart")["App ID"] = app_id
        write_log(logs / app_id, events)
    first_events = real_events(shared_eventlogs)
    first(first_events, "SparkListenerApplicationStart")["App ID"] = "odd#app"
    write_log(logs / "odd-app", first_events)
    summary = ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME)

    assert store.read_arrow(INGEST_LOG).num_rows == len(MUTATIONS) + 2 + 1  # and the log alone
    assert summary.count("partial") == len(MUTATIONS) and summary.count("ingested") == 2
    apps = {(a["app_id"], a["attempt_id"]): a for a in store.read_arrow(APPLICATIONS).to_pylist()}
    assert ("odd#app", "") in apps and apps[("odd#app", "")]["task_count"] == 8
    good = {spec.name: [r for r in store.read_arrow(spec).drop_columns(["ingested_at"]).to_pylist()
                        if r["app_id"] == "local-1776286786993"] for spec in (APPLICATIONS, TASKS, JOBS)}
    for table, rows in good_alone.items():
        assert sorted(map(repr, good[table])) == sorted(map(repr, [dict(r, source_path=str(logs / GOOD_LOG.name))
                                                                  for r in rows])), table


def test_a_spark_task_that_dies_fails_only_its_own_log(spark, store, tmp_path, monkeypatch):
    logs = tmp_path / "logs"
    logs.mkdir()
    for sample in ("local-1776286786993.zstd", "local-1795476283857.zstd", "application_1538416563558_0014"):
        shutil.copy(REPO_ROOT / "samples" / "eventlogs" / sample, logs)
    real_parse_batch = ingest._parse_batch

    def worker_dies_on_the_yarn_log(context, batch, *args):
        if any("application_" in g.source_path for g in batch):
            raise RuntimeError("Python worker exited unexpectedly (crashed)\nSystemError: the decoder crashed")
        return real_parse_batch(context, batch, *args)

    monkeypatch.setattr(ingest, "_parse_batch", worker_dies_on_the_yarn_log)
    summary = ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME)
    assert summary.count("ingested") == 2 and summary.count("failed") == 1
    [failed] = summary.failed
    assert failed["source_path"].endswith("application_1538416563558_0014")
    assert "the Spark task parsing it failed: SystemError: the decoder crashed" in failed["reason"]
    assert store.read_arrow(APPLICATIONS).num_rows == 2


def test_a_log_whose_rows_cannot_be_written_fails_alone(spark, store, tmp_path, monkeypatch):
    logs = tmp_path / "logs"
    logs.mkdir()
    for sample in ("local-1776286786993.zstd", "local-1795476283857.zstd"):
        shutil.copy(REPO_ROOT / "samples" / "eventlogs" / sample, logs)
    real_replace = store.replace_rows

    def rejects_one_app(spec, rows, keys, scope, **options):
        if any(s["app_id"] == "local-1795476283857" for s in scope):
            raise ValueError("Invalid data found: 1 rows failed validation check")
        return real_replace(spec, rows, keys, scope, **options)

    monkeypatch.setattr(store, "replace_rows", rejects_one_app)
    summary = ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME)
    assert summary.count("ingested") == 1 and summary.count("failed") == 1
    assert "its rows could not be written (ValueError: Invalid data found" in summary.failed[0]["reason"]
    assert [a["app_id"] for a in store.read_arrow(APPLICATIONS).to_pylist()] == ["local-1776286786993"]
    assert store.read_arrow(INGEST_LOG).num_rows == 2


def test_an_unreadable_folder_is_recorded_and_the_rest_is_ingested(spark, store, tmp_path, monkeypatch):
    logs = tmp_path / "logs"
    (logs / "locked").mkdir(parents=True)
    shutil.copy(GOOD_LOG, logs)
    shutil.copy(GOOD_LOG, logs / "locked" / "other.zstd")
    real_scandir = os.scandir

    def denied(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", denied)
    summary = ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME)
    assert summary.count("ingested") == 1 and summary.exit_code == 1
    [failed] = summary.failed
    assert failed["source_path"] == str(logs / "locked") and "cannot be listed: Permission denied" in failed["reason"]
    assert {r["status"] for r in store.read_arrow(INGEST_LOG).to_pylist()} == {"ingested", "failed"}


def test_names_are_listed_exactly_and_a_symlink_loop_once(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "loop").symlink_to(tmp_path / "a")
    (tmp_path / "a" / "line\nbreak %20.log").write_bytes(b"{}\n")
    (tmp_path / "a" / "dangling").symlink_to(tmp_path / "nowhere")
    listing = list_log_files(None, str(tmp_path))
    assert [f.path for f in listing.files] == [str(tmp_path / "a" / "line\nbreak %20.log")]
    assert [(p, why.split(":")[0]) for p, why in listing.unreadable] == [(str(tmp_path / "a" / "dangling"), "cannot be read")]


def test_a_finished_log_beside_its_in_progress_copy_always_wins(spark, store, tmp_path, shared_eventlogs):
    lines = (shared_eventlogs / "generated" / APP).read_bytes().splitlines(keepends=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / APP).write_bytes(b"".join(lines))
    (logs / f"{APP}.inprogress").write_bytes(b"".join(lines[: len(lines) // 2]))
    for run in range(3):
        summary = ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME, force=run == 2)
        [app] = store.read_arrow(APPLICATIONS).to_pylist()
        assert app["status"] == "completed" and app["task_count"] == 8, run
        assert summary.count("duplicate") == 0
    [record] = store.read_arrow(INGEST_LOG).to_pylist()
    assert record["status"] == "ingested" and record["complete"] and not record["fingerprint"].count(".inprogress")
