"""A warehouse written by release d8a4dd8 (instants as epoch-millisecond longs named `*_ms`) is upgraded
to UTC timestamp columns when this release first opens a table, every row kept; analysis over it gives
the same figures as over a warehouse ingested by this release."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
from chispa import assert_df_equality
from deltalake import DeltaTable, write_deltalake

from spark_optimizer.analysis.app_metrics import compute_app_metrics
from spark_optimizer.collectors.prometheus import read_watermark
from spark_optimizer.config import load_settings
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import APPLICATIONS, EVENT_LOG_TABLES, EXECUTOR_METRICS, EXECUTORS, INGEST_LOG, STAGES, TASKS
from spark_optimizer.tables.instants import epoch_ms_array
from spark_optimizer.tables.schema import Column, arrow_type_of
from spark_optimizer.tables.store import TableStore
from spark_optimizer.tables.upgrades import epoch_ms_to_timestamp
from tests.conftest import PINNED_RUN_TIME, REPO_ROOT

# {table: [[column, type], ...]} as release d8a4dd8 declared every table.
RELEASE = json.loads((Path(__file__).parent / "release_d8a4dd8_schemas.json").read_text())
INGESTED_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
STARTED_MS = 1_767_225_600_123  # 2026-01-01 00:00:00.123 UTC
STARTED = datetime(2026, 1, 1, 0, 0, 0, 123_000, tzinfo=timezone.utc)


def release_schema(table: str) -> pa.Schema:
    return pa.schema([pa.field(name, arrow_type_of(Column(name, kind))) for name, kind in RELEASE[table]])


def write_release(settings, table: str, rows: list[dict]) -> None:
    """The table as release d8a4dd8 wrote it: its own schema, through delta-rs."""
    write_deltalake(settings.table_path(table), pa.Table.from_pylist(rows, schema=release_schema(table)), mode="append")


def as_release(spec, table: pa.Table) -> pa.Table:
    """Rows of this release as release d8a4dd8 stored them: each instant as epoch ms under its old name."""
    old_names = {u.column: u.old_name for u in spec.upgrades if u.convert is epoch_ms_to_timestamp and u.old_name}
    columns = {old_names.get(name, name): epoch_ms_array(table.column(name)) if name in old_names else table.column(name)
               for name in table.column_names}
    schema = release_schema(spec.name)
    return pa.Table.from_arrays([columns[f.name].cast(f.type) for f in schema], schema=schema)


def test_applications_and_tasks_of_release_d8a4dd8_get_timestamps_with_their_rows(settings):
    write_release(settings, "applications", [
        {"app_id": "app-1", "attempt_id": "", "start_time_ms": STARTED_MS, "end_time_ms": STARTED_MS + 60_000,
         "duration_ms": 60_000, "ingested_at": INGESTED_AT},
        {"app_id": "app-2", "attempt_id": "1", "start_time_ms": STARTED_MS, "end_time_ms": None, "ingested_at": INGESTED_AT}])
    write_release(settings, "tasks", [
        {"app_id": "app-1", "attempt_id": "", "task_id": i, "stage_id": 0, "stage_attempt_id": 0,
         "launch_time_ms": STARTED_MS + 1_000 * i, "finish_time_ms": STARTED_MS + 1_000 * i + 500, "duration_ms": 500,
         "executor_run_time_ms": 400, "ingested_at": INGESTED_AT} for i in range(3)])
    store = TableStore(None, settings)

    apps = {r["app_id"]: r for r in store.read_arrow(APPLICATIONS).to_pylist()}
    tasks = sorted(store.read_arrow(TASKS).to_pylist(), key=lambda r: r["task_id"])

    assert apps["app-1"]["start_time"] == STARTED and apps["app-1"]["duration_ms"] == 60_000
    assert (apps["app-1"]["end_time"] - apps["app-1"]["start_time"]).total_seconds() == 60
    assert apps["app-2"]["end_time"] is None and apps["app-2"]["start_time"] == STARTED
    assert [(t["launch_time"] - STARTED).total_seconds() for t in tasks] == [0, 1, 2]
    assert [t["finish_time"] - t["launch_time"] for t in tasks] == [tasks[0]["finish_time"] - STARTED] * 3
    assert [t["executor_run_time_ms"] for t in tasks] == [400] * 3  # durations stay milliseconds
    for spec in (APPLICATIONS, TASKS):
        assert not any(name.endswith(("start_time_ms", "launch_time_ms")) for name in store.read_arrow(spec).column_names)
        assert store.schema_version(spec) == spec.schema_version
        assert DeltaTable(settings.table_path(spec.name)).version() == 1  # one upgrade commit after the write


def test_the_sample_time_key_of_executor_metrics_merges_after_the_upgrade(settings):
    sample = {"app_id": "app-1", "attempt_id": "", "executor_id": "driver", "metric": "jvm_heap_used_bytes",
              "source_series": "metrics_app_1_driver_jvm_heap_used_Value", "collected_at": INGESTED_AT}
    write_release(settings, "executor_metrics", [{**sample, "timestamp_ms": STARTED_MS + 1_000 * i, "value": 100.0 * i}
                                                 for i in range(3)])
    store = TableStore(None, settings)

    assert read_watermark(store) == STARTED_MS + 2_000
    store.upsert(EXECUTOR_METRICS, pa.Table.from_pylist([  # a sample already stored, scraped again, and a new one
        {**sample, "sample_time": epoch_ms_to_timestamp(STARTED_MS + 2_000), "value": 250.0},
        {**sample, "sample_time": epoch_ms_to_timestamp(STARTED_MS + 3_000), "value": 300.0}],
        schema=EXECUTOR_METRICS.arrow_schema()))

    rows = sorted(store.read_arrow(EXECUTOR_METRICS).to_pylist(), key=lambda r: r["sample_time"])
    assert [((r["sample_time"] - STARTED).total_seconds(), r["value"]) for r in rows] == [
        (0, 0.0), (1, 100.0), (2, 250.0), (3, 300.0)]
    assert read_watermark(store) == STARTED_MS + 3_000


def test_ingest_log_modification_times_become_timestamps_and_app_ids_attempt_structs(settings):
    write_release(settings, "ingest_log", [
        {"source_path": "/logs/app-1", "modification_time_ms": STARTED_MS, "status": "ingested",
         "app_ids": ["application_1724877841851_0016#2", "odd#app#"], "ingested_at": INGESTED_AT},
        {"source_path": "/logs/broken", "status": "failed", "app_ids": [], "ingested_at": INGESTED_AT}])

    records = {r["source_path"]: r for r in TableStore(None, settings).read_arrow(INGEST_LOG).to_pylist()}

    assert records["/logs/app-1"]["modification_time"] == STARTED and records["/logs/app-1"]["status"] == "ingested"
    assert records["/logs/app-1"]["attempts"] == [{"app_id": "application_1724877841851_0016", "attempt_id": "2"},
                                                 {"app_id": "odd#app", "attempt_id": ""}]
    assert records["/logs/broken"]["attempts"] == [] and "app_ids" not in records["/logs/broken"]


def test_analysis_over_an_upgraded_warehouse_matches_a_fresh_ingestion(spark, store, tmp_path):
    ingest_event_logs(spark, store, str(REPO_ROOT / "samples" / "eventlogs"), PINNED_RUN_TIME)
    released = load_settings(warehouse=str(tmp_path / "release-d8a4dd8"), environ={})
    for spec in EVENT_LOG_TABLES:
        write_deltalake(released.table_path(spec.name), as_release(spec, store.read_arrow(spec)))
    upgraded = TableStore(spark, released)

    def app_metrics(tables: TableStore):
        return compute_app_metrics(tables.read(APPLICATIONS), tables.read(STAGES), tables.read(TASKS),
                                   tables.read(EXECUTORS), PINNED_RUN_TIME)

    fresh = app_metrics(store)
    assert fresh.count() == 6
    assert_df_equality(app_metrics(upgraded), fresh, ignore_row_order=True, ignore_nullable=True)


def test_an_epoch_ms_column_upgrades_at_once_to_the_same_instants_as_value_by_value():
    """A tasks table of millions of rows upgrades in Arrow; the instants equal the per-value conversion,
    nulls, the epoch and instants before it included."""
    from spark_optimizer.tables.upgrades import WHOLE_COLUMN_CONVERSIONS

    stored = [STARTED_MS, None, 0, -5, 253_402_300_799_999]  # ... 9999-12-31T23:59:59.999Z
    target = arrow_type_of(Column("launch_time", "timestamp"))

    whole = WHOLE_COLUMN_CONVERSIONS[epoch_ms_to_timestamp](pa.chunked_array([pa.array(stored, pa.int64())]), target)

    assert whole.type == target
    assert whole.to_pylist() == [None if ms is None else epoch_ms_to_timestamp(ms) for ms in stored]
