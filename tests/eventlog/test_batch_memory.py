"""The driver's memory per batch is bounded by rows, not by the input: a parsed batch is written
in groups of at most `ingest_batch_rows` rows, and the tables hold exactly what one large group
would have stored."""

from __future__ import annotations

import shutil

from spark_optimizer.config import load_settings
from spark_optimizer.eventlog.commit import write_groups
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import EVENT_LOG_TABLES, INGEST_LOG, TASKS
from spark_optimizer.tables.store import TableStore
from tests.conftest import PINNED_RUN_TIME

REAL_LOGS = ("local-1795476239234.lz4", "local-1795476254430.snappy", "local-1795476283857.zstd")


def record(path: str, rows: int) -> dict:
    return {"source_path": path, "rows_written": rows}


def test_records_are_grouped_up_to_the_row_limit_and_a_larger_log_goes_alone():
    records = [record("a", 300), record("b", 600), record("c", 2_500), record("d", 100), record("e", 0)]
    groups = write_groups(records, max_rows=1_000)
    assert [[r["source_path"] for r in group] for group in groups] == [["a", "b"], ["c"], ["d", "e"]]


def sorted_rows(store: TableStore, spec) -> list[dict]:
    rows = store.read_arrow(spec).to_pylist()
    for row in rows:
        row.pop("ingested_at", None), row.pop("parse_duration_ms", None), row.pop("parsed_by", None)
    return sorted(rows, key=repr)


def test_a_batch_split_by_rows_stores_exactly_what_one_commit_stores(spark, store, tmp_path, shared_eventlogs):
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in REAL_LOGS:
        shutil.copy(shared_eventlogs / "generated" / name, logs / name)
    ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME)
    split = TableStore(None, load_settings(warehouse=str(tmp_path / "split"), environ={}))

    summary = ingest_event_logs(spark, split, str(logs), PINNED_RUN_TIME, batch_rows=1)

    assert summary.count("ingested") == len(REAL_LOGS)
    for spec in EVENT_LOG_TABLES + (INGEST_LOG,):
        assert sorted_rows(split, spec) == sorted_rows(store, spec), spec.name
    # One Spark batch; one tasks commit per log instead of one for the batch (version 0 creates the table).
    assert store.version(TASKS) == 1 and split.version(TASKS) == len(REAL_LOGS)
