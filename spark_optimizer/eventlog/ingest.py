"""The event-log ingestion job: find logs on any Hadoop file system, parse them in Spark tasks
(one log per task), and write the event-log tables incrementally and idempotently."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterator

import pyarrow as pa
from pyspark import SparkContext
from pyspark.sql import SparkSession

from spark_optimizer.errors import EventLogNotFoundError
from spark_optimizer.eventlog.arrow_rows import ipc_stream
from spark_optimizer.eventlog.commit import write_batch
from spark_optimizer.eventlog.discovery import LogGroup, group_log_files
from spark_optimizer.eventlog.listing import list_log_files, spark_context_of
from spark_optimizer.eventlog.parse import failed_record, ingest_log_row
from spark_optimizer.eventlog.task_output import parse_partition
from spark_optimizer.spark_rules import runs_on_driver_machine
from spark_optimizer.tables import EVENT_LOG_TABLES, INGEST_LOG
from spark_optimizer.tables.store import TableStore

FAILURE_STATUSES = ("failed",)


@dataclass
class IngestSummary:
    """What one ingestion run did, per event-log group."""

    records: list[dict] = field(default_factory=list)
    unchanged: int = 0
    unchanged_failed: int = 0
    # Wall seconds per phase: listing (and fingerprint check), parsing (Spark jobs; overlaps the
    # driver's work on earlier batches), waiting_for_parse (driver idle until a batch's job ends),
    # assembling (Arrow tables on the driver) and writing (Delta commits).
    seconds: dict[str, float] = field(default_factory=dict)

    def timed(self, phase: str, began: float) -> float:
        now = time.perf_counter()
        self.seconds[phase] = self.seconds.get(phase, 0.0) + now - began
        return now

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


def previous_fingerprints(store: TableStore) -> dict[str, tuple[str, str]]:
    """source_path -> (fingerprint, status) of the last ingestion of each log."""
    if not store.exists(INGEST_LOG):
        return {}
    table = store.read_arrow(INGEST_LOG).select(["source_path", "fingerprint", "status"]).to_pylist()
    return {r["source_path"]: (r["fingerprint"], r["status"]) for r in table}


def ingest_event_logs(
    spark: SparkSession | SparkContext,
    store: TableStore,
    source: str,
    ingested_at: datetime,
    *,
    batch_size: int = 200,
    batch_bytes: int = 512 * 1024 * 1024,
    batch_rows: int = 500_000,
    force: bool = False,
    on_batch: Callable[[list[dict], int, int], None] | None = None,
) -> IngestSummary:
    """Ingest every event log under `source` that changed since the last run.

    `spark` may be a SparkSession or just its SparkContext: the parsing runs as RDD jobs, and
    `store` writes through delta-rs or Spark's Delta writer (which has its session).
    `batch_size` logs and `batch_bytes` stored bytes make one Spark job; its logs are written in
    groups of at most `batch_rows` rows (see `eventlog.commit`), which bounds the driver's memory.

    Example::

        summary = ingest_event_logs(spark, store, "/data/spark-events", datetime.now(timezone.utc))
        summary.as_dict()  # {'ingested': 12, 'failed': 1, 'skipped_unchanged': 40, ...}
    """
    began = time.perf_counter()
    listing = list_log_files(spark, source)
    groups = group_log_files(listing.files)
    if not groups and not listing.unreadable:
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
    if listing.unreadable:
        unreadable = [_unreadable_record(path, why, ingested_at) for path, why in listing.unreadable]
        store.upsert(INGEST_LOG, pa.Table.from_pylist(unreadable, schema=INGEST_LOG.arrow_schema()))
        summary.records.extend(unreadable)
    summary.timed("listing", began)
    done = 0
    staging_dir = None
    if workers_share_driver_disk(spark):
        remove_stale_staging_dirs()
        staging_dir = tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-")
    try:
        for batch, chunks in _parsed_batches(spark, plan_batches(todo, batch_size, batch_bytes), ingested_at,
                                             summary, staging_dir):
            records = write_batch(store, chunks, batch_rows, summary.timed)
            summary.records.extend(records)
            done += len(batch)
            if on_batch is not None:
                on_batch(records, done, len(todo))
    finally:
        if staging_dir is not None:
            shutil.rmtree(staging_dir, ignore_errors=True)
    return summary


STAGING_PREFIX = "spark-optimizer-ingest-"
# Folders of older versions carry no process id: removed once nothing has touched them for this long.
UNOWNED_STAGING_AGE_S = 3600


def remove_stale_staging_dirs(temp_root: str | None = None) -> list[str]:
    """Remove the staging folders that runs killed before their clean-up left behind: those whose
    process (the id in the name) is gone. Returns the removed paths."""
    temp_root = temp_root or tempfile.gettempdir()
    removed = []
    try:
        entries = list(os.scandir(temp_root))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(STAGING_PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        owner = entry.name[len(STAGING_PREFIX):].split("-", 1)[0]
        if owner.isdigit():
            stale = not _process_alive(int(owner))
        else:
            try:
                stale = time.time() - entry.stat(follow_symlinks=False).st_mtime > UNOWNED_STAGING_AGE_S
            except OSError:
                continue
        if stale:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed.append(entry.path)
    return removed


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


def workers_share_driver_disk(spark: SparkSession | SparkContext) -> bool:
    """True when every executor runs on the driver's machine (local, local-cluster), so Python
    workers can leave task rows in files the driver reads."""
    return runs_on_driver_machine(spark_context_of(spark).master)


PARSE_JOBS_IN_FLIGHT = 2


def _parsed_batches(spark: SparkSession | SparkContext, batches: list[list[LogGroup]], ingested_at: datetime,
                    summary: IngestSummary,
                    staging_dir: str | None) -> Iterator[tuple[list[LogGroup], list[tuple[str, bytes | str]]]]:
    """Each batch with its parsed chunks, in order. Two batches' Spark jobs are in flight at a
    time, so the scheduler fills the slots a batch's last, longest tasks leave idle with the next
    batch's tasks, and the driver assembles and writes one batch while the next ones parse. At
    most three batches' rows are held on the driver (one being written, two being collected)."""
    if not batches:
        return
    began = time.perf_counter()
    context = spark_context_of(spark)
    run = uuid.uuid4().hex[:12]
    with ThreadPoolExecutor(max_workers=PARSE_JOBS_IN_FLIGHT, thread_name_prefix="event-log-batch") as pool:
        pending: list[tuple[list[LogGroup], Future]] = []
        upcoming = enumerate(batches, 1)

        def submit() -> None:
            number, batch = next(upcoming, (0, None))
            if batch is None:
                return
            job_group = f"spark-optimizer-ingest-{run}-{number}"
            description = f"spark-optimizer: parse event-log batch {number}/{len(batches)} ({len(batch)} logs)"
            future = pool.submit(_parse_batch, context, batch, ingested_at, staging_dir, job_group, description)
            pending.append((batch, future))
            _wait_until_scheduled(context, job_group, future)

        for _ in range(PARSE_JOBS_IN_FLIGHT):
            submit()
        try:
            while pending:
                batch, future = pending.pop(0)
                waited = time.perf_counter()
                try:
                    chunks = future.result()
                except Exception:  # noqa: BLE001  (a worker died or a task raised: find the log)
                    chunks = _parse_one_by_one(context, batch, ingested_at, staging_dir, run)
                summary.timed("waiting_for_parse", waited)
                submit()
                yield batch, chunks
        finally:
            for _, future in pending:
                future.cancel()
    summary.seconds["parsing"] = summary.seconds.get("parsing", 0.0) + time.perf_counter() - began


def _wait_until_scheduled(context: SparkContext, job_group: str, future: Future, timeout_s: float = 30.0) -> None:
    """Return once the batch's Spark job is known to the scheduler (or has ended): the FIFO
    scheduler runs jobs in submission order, and batches are collected in their order, so a
    later batch must not overtake an earlier one while the driver waits for the earlier."""
    tracker = context.statusTracker()
    deadline = time.monotonic() + timeout_s
    while not future.done() and not tracker.getJobIdsForGroup(job_group) and time.monotonic() < deadline:
        time.sleep(0.002)


def plan_batches(groups: list[LogGroup], max_logs: int, max_bytes: int) -> list[list[LogGroup]]:
    """Cut the work into batches of at most `max_logs` logs and `max_bytes` stored bytes (a single
    larger log gets a batch of its own): a batch's rows are assembled on the driver at once, so
    this bounds the driver's memory. Largest logs first within a batch, so Spark starts them first."""
    batches: list[list[LogGroup]] = []
    current: list[LogGroup] = []
    size = 0
    for group in groups:
        if current and (len(current) >= max_logs or size + group.size_bytes > max_bytes):
            batches.append(current)
            current, size = [], 0
        current.append(group)
        size += group.size_bytes
    if current:
        batches.append(current)
    return [sorted(b, key=lambda g: g.size_bytes, reverse=True) for b in batches]


def _parse_batch(context: SparkContext, batch: list[LogGroup], ingested_at: datetime,
                 staging_dir: str | None, job_group: str, description: str) -> list[tuple[str, bytes | str]]:
    """One Spark job: one task per group, each returning its rows as compact Arrow chunks (or,
    for staged task rows, the path of their file)."""
    context.setJobGroup(job_group, description)
    return (
        context.parallelize(batch, len(batch))
        .mapPartitions(lambda groups: parse_partition(groups, ingested_at, staging_dir))
        .collect()
    )


def _parse_one_by_one(context: SparkContext, batch: list[LogGroup], ingested_at: datetime, staging_dir: str | None,
                      run: str) -> list[tuple[str, bytes | str]]:
    """A batch whose Spark job failed, parsed again one log per job: the log that fails on its
    own gets a failed record with Spark's reason; the others are ingested as usual."""
    chunks: list[tuple[str, bytes | str]] = []
    for number, group in enumerate(batch, 1):
        try:
            chunks.extend(_parse_batch(context, [group], ingested_at, staging_dir,
                                       f"spark-optimizer-ingest-{run}-retry-{number}",
                                       f"spark-optimizer: parse {group.source_path} on its own"))
        except Exception as exc:  # noqa: BLE001
            record = failed_record(group, ingested_at, f"the Spark task parsing it failed: {_task_failure(exc)}")
            chunks.append((INGEST_LOG.name, ipc_stream(INGEST_LOG, [record])))
    return chunks


def _task_failure(exc: Exception) -> str:
    """The useful line of a failed Spark job: the Python exception inside, else Spark's message."""
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    python_errors = [line for line in lines if "Error: " in line or "Exception: " in line]
    chosen = python_errors[-1] if python_errors else (lines[0] if lines else type(exc).__name__)
    return chosen[:500]


def _unreadable_record(path: str, why: str, ingested_at: datetime) -> dict:
    return ingest_log_row(
        source_path=path, source_kind="unreadable", codec="none", file_count=0, fingerprint=f"unreadable:{why}",
        status="failed", reason=f"{path}: {why}; the logs in it were not ingested (check its permissions)",
        attempts=[], complete=False, line_count=0, bad_line_count=0, uncompressed_bytes=0, rows_written=0,
        parse_duration_ms=0, parsed_by="driver", ingested_at=ingested_at,
    )
