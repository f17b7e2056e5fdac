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
import pyarrow.compute  # noqa: F401  (pa.compute)
from pyspark import SparkContext
from pyspark.sql import SparkSession

from spark_optimizer.errors import EventLogNotFoundError
from spark_optimizer.eventlog.arrow_rows import ipc_stream
from spark_optimizer.eventlog.discovery import LogGroup, group_log_files
from spark_optimizer.eventlog.listing import list_log_files
from spark_optimizer.eventlog.parse import PARSER_VERSION, failed_record
from spark_optimizer.eventlog.task_output import parse_partition
from spark_optimizer.spark_rules import runs_on_driver_machine
from spark_optimizer.tables import ANALYSIS_TABLES, APP_METRICS, APPLICATIONS, EVENT_LOG_TABLES, INGEST_LOG
from spark_optimizer.tables.store import TableStore

FAILURE_STATUSES = ("failed",)
APP_KEY = ("app_id", "attempt_id")
# An application's row is committed after all its other rows, and its ingest_log record after
# that: a reader that starts from `applications` never finds an application whose tasks,
# stages or executors are still missing (during a run, or after a run that was killed).
COMMIT_ORDER = tuple(spec for spec in EVENT_LOG_TABLES if spec is not APPLICATIONS) + (APPLICATIONS,)


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


def spark_context_of(spark: SparkSession | SparkContext) -> SparkContext:
    return spark if isinstance(spark, SparkContext) else spark.sparkContext


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
    spark: SparkSession | SparkContext,
    store: TableStore,
    source: str,
    ingested_at: datetime,
    *,
    batch_size: int = 200,
    batch_bytes: int = 512 * 1024 * 1024,
    force: bool = False,
    on_batch: Callable[[list[dict], int, int], None] | None = None,
) -> IngestSummary:
    """Ingest every event log under `source` that changed since the last run.

    `spark` may be a SparkSession or just its SparkContext: the parsing runs as RDD jobs, and
    `store` writes through delta-rs or Spark's Delta writer (which has its session).

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
            records = _write_batch(store, batch, chunks, summary)
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
    return {
        "source_path": path, "source_kind": "unreadable", "codec": "none", "file_count": 0, "size_bytes": None,
        "modification_time_ms": None, "fingerprint": f"unreadable:{why}", "status": "failed",
        "reason": f"{path}: {why}; the logs in it were not ingested (check its permissions)", "app_ids": [],
        "complete": False, "line_count": 0, "bad_line_count": 0, "uncompressed_bytes": 0, "rows_written": 0,
        "parse_duration_ms": 0, "parsed_by": "driver", "parser_version": PARSER_VERSION, "ingested_at": ingested_at,
    }


def _write_batch(store: TableStore, batch: list[LogGroup], chunks: list[tuple[str, bytes | str]],
                 summary: IngestSummary) -> list[dict]:
    """Assemble a parsed batch into one Arrow table per Delta table and replace the batch's
    applications in one commit per table (a batch is bounded by `plan_batches`; its rows are
    summaries, the largest, `tasks`, ~200 bytes per task). Returns the batch's ingest-log records.

    When the batch's commits fail, its logs are written one by one, so the log whose rows cannot
    be written is recorded as failed and the others are stored."""
    began = time.perf_counter()
    tables: dict[str, list[pa.Table]] = {}
    staged = [payload for _, payload in chunks if isinstance(payload, str)]
    for table, payload in chunks:
        source = pa.memory_map(payload) if isinstance(payload, str) else payload
        tables.setdefault(table, []).append(pa.ipc.open_stream(source).read_all())
    records = pa.concat_tables(tables.pop(INGEST_LOG.name)).to_pylist()
    losers = _choose_duplicates(records)
    for record in records:
        if record["source_path"] in losers:
            record["status"] = "duplicate"
            record["reason"] = (
                f"holds the same application attempt(s) {record['app_ids']} as {losers[record['source_path']]}, "
                f"which was kept (complete, or more events)"
            )
            record["rows_written"] = 0
    data = {spec.name: pa.concat_tables(tables.pop(spec.name, None) or [spec.arrow_schema().empty_table()])
            for spec in EVENT_LOG_TABLES}
    began = summary.timed("assembling", began)
    try:
        _write_records(store, data, records)
    except Exception:  # noqa: BLE001  (isolate the log that cannot be written)
        for record in records:
            try:
                _write_records(store, data, [record])
            except Exception as exc:  # noqa: BLE001
                record.update(status="failed", rows_written=0, app_ids=[], complete=False,
                              reason=f"{record['source_path']}: its rows could not be written "
                                     f"({type(exc).__name__}: {str(exc)[:300]}); nothing from this log was stored")
                store.upsert(INGEST_LOG, pa.Table.from_pylist([record], schema=INGEST_LOG.arrow_schema()))
    summary.timed("writing", began)
    data.clear()  # release the memory maps before their files go
    for path in staged:
        os.unlink(path)
    return records


def _write_records(store: TableStore, data: dict[str, pa.Table], records: list[dict]) -> None:
    """Replace the applications of `records` that were kept (not failed, not a duplicate) with
    their rows in `data`, then commit the records themselves."""
    kept = [r for r in records if r["status"] not in ("duplicate", "failed")]
    # The attempt id never holds '#' (validate rejects it); an App ID may.
    kept_apps = sorted({tuple(app.rsplit("#", 1)) for r in kept for app in r["app_ids"] or []})
    scope = [{"app_id": app_id, "attempt_id": attempt_id} for app_id, attempt_id in kept_apps]
    if kept_apps:
        kept_sources = pa.array(sorted({r["source_path"] for r in kept}))
        for spec in COMMIT_ORDER:
            rows = data[spec.name]
            rows = rows.filter(pa.compute.is_in(rows.column("source_path"), value_set=kept_sources))
            store.replace_rows(spec, rows, APP_KEY, scope)
    store.upsert(INGEST_LOG, pa.Table.from_pylist(records, schema=INGEST_LOG.arrow_schema()))
    _forget_analyses(store, scope)


def _forget_analyses(store: TableStore, scope: list[dict]) -> None:
    """Drop the analysis rows of re-ingested applications, so the next `analyze` redoes them
    (an analysis that ran while they were being replaced saw a mix of old and new rows)."""
    if not scope or not store.exists(APP_METRICS):
        return
    wanted = {(s["app_id"], s["attempt_id"]) for s in scope}
    analyzed = store.read_arrow(APP_METRICS).select(list(APP_KEY)).to_pylist()
    stale = [s for s in ({"app_id": r["app_id"], "attempt_id": r["attempt_id"]} for r in analyzed)
             if (s["app_id"], s["attempt_id"]) in wanted]
    if stale:
        for spec in ANALYSIS_TABLES:
            if store.exists(spec):
                store.replace_rows(spec, spec.arrow_schema().empty_table(), APP_KEY, stale)
