"""The workers' Arrow output (nanoarrow) carries exactly what pyarrow would build from the same rows."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pytest

from spark_optimizer.eventlog.arrow_rows import IpcFileWriter, ipc_stream
from spark_optimizer.eventlog.discovery import group_log_files
from spark_optimizer.eventlog.parse import parse_group
from spark_optimizer.tables import EVENT_LOG_TABLES, INGEST_LOG, TASKS
from spark_optimizer.tables.instants import from_epoch_ms
from tests.conftest import PINNED_RUN_TIME, REPO_ROOT

SPECS = {spec.name: spec for spec in EVENT_LOG_TABLES + (INGEST_LOG,)}


def _rows_of_bundled_samples() -> dict[str, list]:
    from spark_optimizer.eventlog.discovery import LogFile

    files = [p for p in (REPO_ROOT / "samples" / "eventlogs").rglob("*") if p.is_file()]
    groups = group_log_files([LogFile(str(p), p.stat().st_size, int(p.stat().st_mtime * 1000)) for p in files])
    rows: dict[str, list] = {}
    for group in groups:
        record = parse_group(group, PINNED_RUN_TIME, lambda table, row: rows.setdefault(table, []).append(row))
        rows.setdefault(INGEST_LOG.name, []).append(record)
    return rows


def as_pyarrow_would(spec, rows: list) -> pa.Table:
    """pyarrow's table of `rows`; an int for an instant is epoch ms (task rows keep the logged integers)."""
    if rows and isinstance(rows[0], tuple):
        rows = [dict(zip(spec.column_names, row)) for row in rows]
    instants = [c.name for c in spec.columns if c.type == "timestamp"]
    rows = [{**row, **{name: from_epoch_ms(row[name]) for name in instants if type(row[name]) is int}} for row in rows]
    return pa.Table.from_pylist(rows, schema=spec.arrow_schema())


def _read(stream: bytes | str) -> pa.Table:
    source = pa.memory_map(stream) if isinstance(stream, str) else stream
    return pa.ipc.open_stream(source).read_all()


@pytest.fixture(scope="module")
def sample_rows() -> dict[str, list]:
    return _rows_of_bundled_samples()


@pytest.mark.parametrize("table", sorted(SPECS))
def test_every_event_log_table_of_the_bundled_samples_round_trips_exactly(sample_rows, table):
    rows = sample_rows[table]
    ours = _read(ipc_stream(SPECS[table], rows))
    assert ours.schema.equals(SPECS[table].arrow_schema())
    assert ours.equals(as_pyarrow_would(SPECS[table], rows))


def test_missing_values_lists_and_timestamps_convert_as_pyarrow_converts_them():
    spec = INGEST_LOG
    row = {c.name: None for c in spec.columns}
    rows = [
        {**row, "source_path": "/logs/a", "attempts": [{"app_id": "app-1", "attempt_id": ""}, {"app_id": "app-2", "attempt_id": "1"}], "ingested_at": PINNED_RUN_TIME},
        {**row, "source_path": "/logs/b", "attempts": [], "ingested_at": datetime(2026, 1, 1, 12, 0, 0, 123456)},
        {**row, "source_path": "/logs/c", "attempts": None,
         "ingested_at": datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=timezone.utc)},
    ]
    assert _read(ipc_stream(spec, rows)).equals(as_pyarrow_would(spec, rows))


def test_staged_task_rows_are_one_stream_of_several_batches(tmp_path, sample_rows):
    rows = sample_rows[TASKS.name]
    staged = IpcFileWriter(TASKS, str(tmp_path / "tasks.arrows"))
    staged.write(rows[:7])
    staged.write(rows[7:])
    assert _read(staged.close()).equals(as_pyarrow_would(TASKS, rows))
    assert IpcFileWriter(TASKS, str(tmp_path / "none.arrows")).close() is None
