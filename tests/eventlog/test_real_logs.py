"""Every file of the shared corpus of real event logs (Spark 1.2 to 4.1) ends ingested or
recorded with the right reason, and the figures that earlier tools got wrong are right."""

from __future__ import annotations

import collections
import os
from pathlib import Path

import orjson
import pytest

from spark_optimizer.eventlog.codecs import EventLogCodecError, codec_for_name, iter_lines, open_decompressed
from spark_optimizer.eventlog.discovery import LogFile, group_log_files
from spark_optimizer.eventlog import parse as parse_module
from spark_optimizer.eventlog.parse import _fast_task_end, parse_group
from spark_optimizer.tables import TASKS

# Damaged on purpose (see MANIFEST.tsv notes): status and a fragment of the reason.
EXPECTED_PROBLEMS = {
    "public/NVIDIA__spark-rapids-tools/event_logs/incorrect_app_status_eventlog.zstd": ("failed", "no SparkListenerApplicationStart"),
    "public/NVIDIA__spark-rapids-tools/spark-events-profiling/malformed_json_eventlog.zstd": ("partial", "line 4: malformed JSON"),
    "public/groupon__sparklint/file_event_log_empty_test": ("failed", "empty file (0 bytes)"),
    "public/groupon__sparklint/file_event_log_test_nav_events": ("failed", "no SparkListenerApplicationStart among 16 events"),
    "public/groupon__sparklint/invalid_log_file": ("failed", "not a Spark event log"),
    "public/ucesys__sparkscope/app-20231025121456-0004-eventLog-error-no-app-start": ("failed", "no SparkListenerApplicationStart"),
    "public/ucesys__sparkscope/app-20231025121456-0004-eventLog-running-incomplete": ("partial", "line 15: last line is cut mid-object"),
    "public/ucesys__sparkscope/app-20231122115433-0000-eventLog-corrupted-events": (
        "partial", "line 5: SparkListenerExecutorAdded rejected: 'Executor ID' is null or missing"),
    "public/MANIFEST.tsv": ("skipped", "not an event log"),
    "public/README.md": ("skipped", "not an event log"),
    "generated/README.md": ("skipped", "not an event log"),
}
INCOMPLETE = {
    "public/NVIDIA__spark-rapids-tools/spark-events-qualification/truncated_eventlog",
    "public/apache__spark/spark-events-broken/last-attempt-incomplete/application_1656321732247_0006_2",
    "public/apache__spark/spark-events-broken/previous-attempt-incomplete/application_1656321732247_0006_1",
    "public/ucesys__sparkscope/app-20231025121456-0004-eventLog-running",
    "generated/local-1795476407826",
}


@pytest.fixture(scope="module")
def corpus(shared_eventlogs: Path):
    listing = []
    for directory, _, names in os.walk(shared_eventlogs):
        for name in names:
            path = os.path.join(directory, name)
            stat = os.stat(path)
            listing.append(LogFile(path, stat.st_size, int(stat.st_mtime * 1000)))
    results = {}
    for group in group_log_files(listing):
        rows = collections.defaultdict(list)
        record = parse_group(group, None, lambda table, row: rows[table].append(
            dict(zip(TASKS.column_names, row)) if isinstance(row, tuple) else row))
        results[os.path.relpath(group.source_path, shared_eventlogs)] = (group, record, rows)
    return results


def test_every_file_of_the_corpus_belongs_to_a_recorded_log(corpus, shared_eventlogs):
    covered = {p.path for group, _, _ in corpus.values() for p in group.parts}
    ignored_markers = ("appstatus_", "SPARK_VERSION_", "APPLICATION_COMPLETE", ".")
    for directory, _, names in os.walk(shared_eventlogs):
        for name in names:
            if not name.startswith(ignored_markers):
                assert os.path.join(directory, name) in covered, f"{directory}/{name} was not picked up"


def test_damaged_logs_are_recorded_with_the_reason_that_fits_them(corpus):
    for relative, (status, reason) in EXPECTED_PROBLEMS.items():
        _, record, rows = corpus[relative]
        assert record["status"] == status, f"{relative}: {record['status']} ({record['reason']})"
        assert reason in (record["reason"] or ""), f"{relative}: reason was {record['reason']!r}"
        if status in ("failed", "skipped"):
            assert not rows, f"{relative}: a failed log must write no rows"


def test_every_other_log_is_ingested(corpus):
    for relative, (_, record, rows) in corpus.items():
        if relative in EXPECTED_PROBLEMS:
            continue
        assert record["status"] == "ingested", f"{relative}: {record['status']}: {record['reason']}"
        assert len(rows["applications"]) >= 1


def test_logs_without_application_end_are_ingested_and_marked_incomplete(corpus):
    for relative in INCOMPLETE:
        _, record, rows = corpus[relative]
        assert record["status"] == "ingested" and not record["complete"]
        assert "incomplete: no SparkListenerApplicationEnd" in record["reason"]
        assert rows["applications"][0]["status"] == "incomplete"


def _task_end_lines(group) -> int:
    count = 0
    for part in group.parts:
        with open(part.path, "rb") as raw:
            for _, line in iter_lines(open_decompressed(raw, group.codec_of(part))):
                count += b'"Event":"SparkListenerTaskEnd"' in line
    return count


@pytest.mark.parametrize("relative", [
    "public/NVIDIA__spark-rapids-tools/spark-events-qualification/eventlog_v2_local-1623876083964",
    "public/NVIDIA__spark-rapids-tools/spark-events-qualification/db_sim_eventlog",
    "generated/eventlog_v2_local-1795476338167",
    "public/NVIDIA__spark-rapids-tools/spark-events-qualification/nds_q72_dataproc_2_2.zstd",
])
def test_rolled_and_compressed_logs_keep_every_task(corpus, relative):
    group, _, rows = corpus[relative]
    assert len(rows["tasks"]) == _task_end_lines(group) > 0


def test_a_databricks_rolled_set_reads_the_same_application_as_its_rolling_folder(corpus):
    _, _, rolled = corpus["public/NVIDIA__spark-rapids-tools/spark-events-qualification/db_sim_eventlog"]
    _, _, rolling = corpus["public/NVIDIA__spark-rapids-tools/spark-events-qualification/eventlog_v2_local-1623876083964"]
    keys = ("app_id", "task_count", "executor_run_time_ms", "shuffle_read_bytes", "duration_ms")
    assert {k: rolled["applications"][0][k] for k in keys} == {k: rolling["applications"][0][k] for k in keys}


def test_shuffle_bytes_are_read_from_the_real_shuffle_fields(corpus):
    _, _, rows = corpus["public/NVIDIA__spark-rapids-tools/spark-events-qualification/nds_q72_dataproc_2_2.zstd"]
    [app] = rows["applications"]
    assert app["shuffle_read_bytes"] > 0 and app["shuffle_write_bytes"] > 0
    assert sum(t["shuffle_read_bytes"] for t in rows["tasks"]) == app["shuffle_read_bytes"]
    assert app["platform"] == "dataproc"


@pytest.mark.parametrize("relative, failed_tasks", [
    ("public/NVIDIA__spark-rapids-tools/spark-events-profiling/tasks_executors_fail_compressed_eventlog.zstd", 53),
    ("public/NVIDIA__spark-rapids-tools/spark-events-profiling/gpu_oom_eventlog.zstd", 113),
])
def test_failed_tasks_are_counted_from_task_end_reasons(corpus, relative, failed_tasks):
    _, _, rows = corpus[relative]
    assert rows["applications"][0]["failed_task_count"] + rows["applications"][0]["killed_task_count"] == failed_tasks
    assert rows["applications"][0]["failed_job_count"] >= 1


def test_cpu_time_is_in_milliseconds_not_nanoseconds(corpus):
    for relative in ("generated/local-1795476299058",
                     "public/NVIDIA__spark-rapids-tools/spark-events-qualification/nds_q72_dataproc_2_2.zstd"):
        [app] = corpus[relative][2]["applications"]
        assert 0 < app["executor_cpu_time_ms"] <= app["executor_run_time_ms"], relative


def test_executors_come_from_the_log_not_from_defaults(corpus):
    [app] = corpus["public/NVIDIA__spark-rapids-tools/spark-events-qualification/cluster_information/eventlog_4nodes_8cores_dynamic_alloc.zstd"][2]["applications"]
    assert app["dynamic_allocation_enabled"] is True
    assert app["executors_removed"] == 14 and app["executors_added"] >= 14
    [yarn] = corpus["public/apache__spark/application_1538416563558_0014"][2]["applications"]
    assert yarn["executors_lost"] >= 8  # 'Container marked as failed … exit code 56'


def test_each_attempt_of_a_multi_attempt_application_is_its_own_row(corpus):
    attempts = {
        tuple(corpus[f"public/NVIDIA__spark-rapids-tools/spark-events-qualification/multiple_attempts/attempt_{i}_eventlog.zstd"][1]["attempts"][0].values())
        for i in range(1, 5)
    }
    assert attempts == {("application_1724877841851_0016", str(i)) for i in range(1, 5)}


def test_spark_1_2_logs_get_their_version_from_the_folder_marker(corpus):
    [app] = corpus["public/apache__spark/legacy-dir-format/local-1422981780767"][2]["applications"]
    assert app["spark_version"] == "1.2.0" and app["failed_task_count"] >= 1


def test_zip_downloads_skip_junk_members_and_read_the_rolled_set_inside(corpus):
    _, record, rows = corpus["public/synccomputingcode__spark_log_parser/databricks-rollover.zip"]
    assert record["status"] == "ingested" and record["attempts"] == [{"app_id": "app-20220114165818-0000", "attempt_id": ""}]
    assert "databricks_pricing.json: skipped, not an event log" in record["reason"]
    assert rows["applications"][0]["platform"] == "databricks"


def test_every_codec_spark_writes_gives_the_same_application(corpus):
    figures = set()
    for relative, (group, record, rows) in corpus.items():
        if relative.startswith("generated/local-") and codec_for_name(relative) != "none":
            app = rows["applications"][0]
            figures.add((app["task_count"], app["job_count"], app["stage_count"], app["shuffle_read_bytes"]))
    assert len(figures) == 1


def test_task_ends_parsed_without_accumulables_equal_the_whole_event_without_them(shared_eventlogs):
    """The parser's fast path cuts Task Info's Accumulables (unused, over half of a TaskEnd line)
    before decoding; on every TaskEnd of every real log it gives the same event as decoding the
    whole line and dropping them, or declines (and the whole line is decoded)."""
    fast = declined = 0
    for directory, _, names in os.walk(shared_eventlogs):
        for name in names:
            path = os.path.join(directory, name)
            if name.endswith((".zip", ".md", ".tsv", ".json")) or os.path.getsize(path) == 0:
                continue
            try:
                with open(path, "rb") as raw:
                    for _, line in iter_lines(open_decompressed(raw, codec_for_name(name))):
                        if not line.startswith(b'{"Event":"SparkListenerTaskEnd"'):
                            continue
                        try:
                            whole = orjson.loads(line)
                        except orjson.JSONDecodeError:
                            continue
                        cut = _fast_task_end(line)
                        if cut is None:
                            declined += 1
                            continue
                        whole["Task Info"].pop("Accumulables", None)
                        assert cut == whole, f"{path}: {line[:200]!r}"
                        fast += 1
            except EventLogCodecError:
                continue  # truncated on purpose; the lines before the damage were compared
    assert fast > 50_000 and declined <= fast / 1000, (fast, declined)


def test_typed_task_end_decoding_gives_the_same_rows_as_dict_decoding_on_every_real_log(corpus, monkeypatch):
    """Successful TaskEnds are decoded straight into typed fields (msgspec) rather than dicts; on
    every log of the corpus, Spark 1.2 to 4.1, every table row and ingest record equals what the
    dict path alone gives, and the typed path carried most task ends."""
    typed = 0
    real_decode = parse_module.decode_successful_task_end

    def counting_decode(line: bytes):
        nonlocal typed
        event = real_decode(line)
        typed += event is not None
        return event

    monkeypatch.setattr(parse_module, "decode_successful_task_end", counting_decode)
    _, typed_results = _parse_all(corpus)
    monkeypatch.setattr(parse_module, "decode_successful_task_end", lambda line: None)
    _, dict_results = _parse_all(corpus)
    assert typed_results.keys() == dict_results.keys()
    for relative, (record, rows) in dict_results.items():
        typed_record, typed_rows = typed_results[relative]
        assert _comparable(typed_record) == _comparable(record), relative
        assert typed_rows.keys() == rows.keys(), relative
        for table in rows:
            assert typed_rows[table] == rows[table], (relative, table)
    task_ends = sum(len(rows[TASKS.name]) for _, rows in dict_results.values())
    assert typed > 0.9 * task_ends, (typed, task_ends)


def _parse_all(corpus) -> tuple[int, dict]:
    results = {}
    for relative, (group, _, _) in corpus.items():
        rows = collections.defaultdict(list)
        record = parse_group(group, None, lambda table, row: rows[table].append(row))
        results[relative] = (record, rows)
    return len(results), results


def _comparable(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "parse_duration_ms"}


def test_the_workers_arrow_output_equals_pyarrows_for_every_table_of_every_real_log(corpus):
    """Workers build their Arrow streams with nanoarrow (no pyarrow in a worker); on every log of
    the corpus each table's stream reads back as exactly the table pyarrow builds from the rows."""
    import pyarrow as pa

    from spark_optimizer.eventlog.arrow_rows import ipc_stream
    from spark_optimizer.tables import EVENT_LOG_TABLES, INGEST_LOG
    from tests.eventlog.test_arrow_rows import as_pyarrow_would

    specs = {spec.name: spec for spec in EVENT_LOG_TABLES + (INGEST_LOG,)}
    checked = 0
    for relative, (_, record, rows) in corpus.items():
        for table, table_rows in [*rows.items(), (INGEST_LOG.name, [record])]:
            spec = specs[table]
            ours = pa.ipc.open_stream(ipc_stream(spec, table_rows)).read_all()
            assert ours.equals(as_pyarrow_would(spec, table_rows)), (relative, table)
            checked += len(table_rows)
    assert checked > 100_000
