"""The event-log ingestion job: find logs on any Hadoop file system, parse them in Spark tasks
(one log per task), and write the event-log tables incrementally and idempotently."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Iterator

import pyarrow as pa
from pyspark import StorageLevel
from pyspark.sql import SparkSession

from spark_optimizer.errors import EventLogNotFoundError
from spark_optimizer.eventlog.discovery import LogFile, LogGroup, group_log_files
from spark_optimizer.eventlog.parse import parse_group
from spark_optimizer.eventlog.storage import local_path
from spark_optimizer.tables import EVENT_LOG_TABLES, INGEST_LOG, TableSpec
from spark_optimizer.tables.store import TableStore

_COLUMNS = {spec.name: spec.column_names for spec in EVENT_LOG_TABLES + (INGEST_LOG,)}
FAILURE_STATUSES = ("failed",)


@dataclass
class IngestSummary:
    """What one ingestion run did, per event-log group."""

    records: list[dict] = field(default_factory=list)
    unchanged: int = 0
    unchanged_failed: int = 0

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.records)

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r["status"] in FAILURE_STATUSES]

    @property
    def exit_code(self) -> int:
        """Non-zero only when a log failed in this run."""
        return 1 if self.failed else 0

    def as_dict(self) -> dict:
        return {
            "ingested": self.count("ingested"),
            "partial": self.count("partial"),
            "failed": self.count("failed"),
            "duplicate": self.count("duplicate"),
            "skipped_not_a_log": self.count("skipped"),
            "skipped_unchanged": self.unchanged,
            "unchanged_previously_failed": self.unchanged_failed,
        }


def _normalize(uri: str) -> str:
    path = local_path(uri)
    return path if path is not None else uri


def list_log_files(spark: SparkSession, root: str) -> list[LogFile]:
    """Every file under `root` (recursively) through Hadoop's FileSystem, so s3a://, gs://,
    abfss:// and dbfs:/ work wherever the cluster has their connectors."""
    jvm = spark._jvm  # type: ignore[union-attr]
    hadoop_path = jvm.org.apache.hadoop.fs.Path(root)
    fs = hadoop_path.getFileSystem(spark._jsc.hadoopConfiguration())  # type: ignore[union-attr]
    if not fs.exists(hadoop_path):
        raise EventLogNotFoundError(f"event-log path {root} does not exist; pass the folder (or file) that holds the logs")
    status = fs.getFileStatus(hadoop_path)
    if status.isFile():
        statuses = [status]
    else:
        statuses = []
        iterator = fs.listFiles(hadoop_path, True)
        while iterator.hasNext():
            statuses.append(iterator.next())
    return [
        LogFile(_normalize(s.getPath().toString()), int(s.getLen()), int(s.getModificationTime()))
        for s in statuses
    ]


_END = object()


def _parse_partition(groups: Iterable[LogGroup], ingested_at: datetime) -> Iterator[tuple[str, tuple]]:
    """Parse each group on a helper thread and hand rows out through a bounded queue, so a
    worker holds at most a few thousand rows of a log at any time, however big the log is."""
    for group in groups:
        rows: queue.Queue = queue.Queue(maxsize=4096)
        outcome: dict = {}

        def emit(table: str, row: dict) -> None:
            rows.put((table, tuple(row.get(c) for c in _COLUMNS[table])))

        def work(group: LogGroup = group) -> None:
            try:
                outcome["record"] = parse_group(group, ingested_at, emit)
            except BaseException as exc:  # surfaced in the task below, with its traceback
                outcome["error"] = exc
            finally:
                rows.put(_END)

        thread = threading.Thread(target=work, name="event-log-parser", daemon=True)
        thread.start()
        while (item := rows.get()) is not _END:
            yield item
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        yield INGEST_LOG.name, tuple(outcome["record"].get(c) for c in _COLUMNS[INGEST_LOG.name])


def _choose_duplicates(records: list[dict]) -> dict[str, str]:
    """source_path -> the path that won, for groups whose application attempts another group
    of the same batch also holds (keep the complete one, then the one with more rows)."""
    holders: dict[str, list[dict]] = {}
    for record in records:
        for app in record["app_ids"] or []:
            holders.setdefault(app, []).append(record)
    losers: dict[str, str] = {}
    for app, claimants in holders.items():
        if len(claimants) < 2:
            continue
        ranked = sorted(claimants, key=lambda r: (bool(r["complete"]), r["rows_written"], r["source_path"]), reverse=True)
        for loser in ranked[1:]:
            losers[loser["source_path"]] = ranked[0]["source_path"]
    return losers


def previous_fingerprints(store: TableStore) -> dict[str, tuple[str, str]]:
    """source_path -> (fingerprint, status) of the last ingestion of each log."""
    if not store.exists(INGEST_LOG):
        return {}
    table = store.read_arrow(INGEST_LOG).select(["source_path", "fingerprint", "status"]).to_pylist()
    return {r["source_path"]: (r["fingerprint"], r["status"]) for r in table}


def ingest_event_logs(
    spark: SparkSession,
    store: TableStore,
    source: str,
    ingested_at: datetime,
    *,
    batch_size: int = 200,
    force: bool = False,
    on_batch: Callable[[list[dict], int, int], None] | None = None,
) -> IngestSummary:
    """Ingest every event log under `source` that changed since the last run.

    Example::

        summary = ingest_event_logs(spark, store, "/data/spark-events", datetime.now(timezone.utc))
        summary.as_dict()  # {'ingested': 12, 'failed': 1, 'skipped_unchanged': 40, ...}
    """
    groups = group_log_files(list_log_files(spark, source))
    if not groups:
        raise EventLogNotFoundError(f"no files under {source}; pass the folder that holds the Spark event logs")
    previous = {} if force else previous_fingerprints(store)
    summary = IngestSummary()
    todo: list[LogGroup] = []
    for group in groups:
        seen = previous.get(group.source_path)
        if seen is not None and seen[0] == group.fingerprint:
            summary.unchanged += 1
            summary.unchanged_failed += seen[1] in FAILURE_STATUSES
        else:
            todo.append(group)
    for spec in EVENT_LOG_TABLES + (INGEST_LOG,):
        store.ensure(spec)
    done = 0
    for start in range(0, len(todo), batch_size):
        batch = sorted(todo[start : start + batch_size], key=lambda g: g.size_bytes, reverse=True)
        records = _ingest_batch(spark, store, batch, ingested_at)
        summary.records.extend(records)
        done += len(batch)
        if on_batch is not None:
            on_batch(records, done, len(todo))
    return summary


def _ingest_batch(spark: SparkSession, store: TableStore, batch: list[LogGroup], ingested_at: datetime) -> list[dict]:
    rows = (
        spark.sparkContext.parallelize(batch, len(batch))
        .mapPartitions(lambda groups: _parse_partition(groups, ingested_at))
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    try:
        columns = _COLUMNS[INGEST_LOG.name]
        records = [dict(zip(columns, r)) for r in rows.filter(lambda r: r[0] == INGEST_LOG.name).map(lambda r: r[1]).collect()]
        losers = _choose_duplicates(records)
        for record in records:
            if record["source_path"] in losers:
                record["status"] = "duplicate"
                record["reason"] = (
                    f"holds the same application attempt(s) {record['app_ids']} as {losers[record['source_path']]}, "
                    f"which was kept (complete, or more events)"
                )
                record["rows_written"] = 0
        kept_apps = {
            tuple(app.split("#", 1)) for r in records if r["status"] not in ("duplicate", "failed") for app in r["app_ids"] or []
        }
        if kept_apps:
            kept_sources = {r["source_path"] for r in records if r["status"] not in ("duplicate", "failed")}
            scope = [{"app_id": app_id, "attempt_id": attempt_id} for app_id, attempt_id in sorted(kept_apps)]
            for spec in EVENT_LOG_TABLES:
                _replace_table_rows(spark, store, spec, rows, kept_sources, scope)
        store.upsert(INGEST_LOG, pa.Table.from_pylist(records, schema=INGEST_LOG.arrow_schema()))
        return records
    finally:
        rows.unpersist()


def _replace_table_rows(spark, store: TableStore, spec: TableSpec, rows, kept_sources: set[str], scope: list[dict]) -> None:
    source_index = spec.column_names.index("source_path")
    name = spec.name
    table_rows = rows.filter(lambda r: r[0] == name and r[1][source_index] in kept_sources).map(lambda r: r[1])
    frame = spark.createDataFrame(table_rows, spec.spark_schema(), verifySchema=False)
    store.replace_rows(spec, frame, ("app_id", "attempt_id"), scope)
