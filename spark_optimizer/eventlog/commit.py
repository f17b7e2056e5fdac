"""How a parsed batch reaches the tables: duplicates resolved, applications replaced in groups of
bounded rows, task rows streamed to the Delta writer, analyses of re-ingested applications dropped.

The driver's memory per batch is bounded by `max_rows` (`ingest_batch_rows`), not by the input:
the batch's logs are written in groups whose rows total at most `max_rows` (a larger log alone),
each group's tables are assembled from its logs' chunks only, and task rows - most of every log -
go to the writer chunk by chunk (16,384 rows each), never as one table.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import pyarrow as pa

from spark_optimizer.refs import attempt_ref
from spark_optimizer.tables import ANALYSIS_TABLES, APP_METRICS, EVENT_LOG_TABLES, INGEST_LOG, TASKS
from spark_optimizer.tables.app_rows import APP_KEY, remove_superseded, replace_applications
from spark_optimizer.tables.schema import TableSpec
from spark_optimizer.tables.store import TableStore

# An application's rows are committed beside its old ones, then its `applications` row, then its
# ingest_log record, then its old rows are removed (`tables.app_rows`): a reader sees the old
# application or the new one, wholly, during a run or after a run that was killed.
# Tables streamed to the writer chunk by chunk instead of assembled (the others are a few rows per stage).
STREAMED = (TASKS.name,)


@dataclass
class ParsedBatch:
    """A batch's chunks by table and by the log (source_path) they came from. A chunk is an
    Arrow IPC stream: bytes, or the path of a staged file (task rows written by a local worker)."""

    chunks: dict[str, dict[str, list[bytes | str]]] = field(default_factory=dict)
    records: list[dict] = field(default_factory=list)

    @classmethod
    def of(cls, chunks: list[tuple[str, bytes | str]]) -> "ParsedBatch":
        batch = cls()
        for table, payload in chunks:
            if table == INGEST_LOG.name:
                batch.records.extend(_open(payload).read_all().to_pylist())
                continue
            source = _source_of(payload)
            if source is not None:
                batch.chunks.setdefault(table, {}).setdefault(source, []).append(payload)
        return batch

    def staged_files(self) -> list[str]:
        return [p for by_source in self.chunks.values() for ps in by_source.values() for p in ps if isinstance(p, str)]

    def rows_of(self, spec: TableSpec, sources: set[str]) -> Callable[[], pa.RecordBatchReader]:
        """A fresh reader over the rows `sources` gave `spec`, each time it is called (a commit
        that lost a race is tried again)."""
        payloads = [p for source in sorted(sources) for p in self.chunks.get(spec.name, {}).get(source, [])]
        schema = spec.arrow_schema()

        def batches() -> Iterator[pa.RecordBatch]:
            for payload in payloads:
                for batch in _open(payload):
                    yield batch

        return lambda: pa.RecordBatchReader.from_batches(schema, batches())

    def table_of(self, spec: TableSpec, sources: set[str]) -> pa.Table:
        return self.rows_of(spec, sources)().read_all()

    def release(self, sources: set[str]) -> None:
        """Drop the chunks of logs already written, so the driver holds only what is still to write."""
        for by_source in self.chunks.values():
            for source in sources:
                by_source.pop(source, None)


def _open(payload: bytes | str) -> pa.RecordBatchStreamReader:
    # A staged file is read batch by batch into memory that is freed after each write, rather
    # than memory-mapped: mapped pages would count in the driver's resident memory until unmapped.
    return pa.ipc.open_stream(pa.OSFile(payload) if isinstance(payload, str) else payload)


def _source_of(payload: bytes | str) -> str | None:
    """The log a chunk came from (every chunk holds one log's rows)."""
    for batch in _open(payload):
        if batch.num_rows:
            return batch.column("source_path")[0].as_py()
    return None


def write_groups(records: list[dict], max_rows: int) -> list[list[dict]]:
    """The batch's records cut into groups written one after the other, each of at most
    `max_rows` rows (a record with more rows forms a group of its own)."""
    groups: list[list[dict]] = []
    current: list[dict] = []
    rows = 0
    for record in records:
        size = record["rows_written"] or 0
        if current and rows + size > max_rows:
            groups.append(current)
            current, rows = [], 0
        current.append(record)
        rows += size
    if current:
        groups.append(current)
    return groups


def choose_duplicates(records: list[dict]) -> dict[str, str]:
    """source_path -> the path that won, for groups whose application attempts another group
    of the same batch also holds (keep the complete one, then the one with more rows)."""
    holders: dict[str, list[dict]] = {}
    for record in records:
        for app in record["attempts"] or []:
            holders.setdefault((app["app_id"], app["attempt_id"]), []).append(record)
    losers: dict[str, str] = {}
    for app, claimants in holders.items():
        if len(claimants) < 2:
            continue
        ranked = sorted(claimants, key=lambda r: (bool(r["complete"]), r["rows_written"], r["source_path"]), reverse=True)
        for loser in ranked[1:]:
            losers[loser["source_path"]] = ranked[0]["source_path"]
    return losers


def write_batch(store: TableStore, chunks: list[tuple[str, bytes | str]], max_rows: int,
                timed: Callable[[str, float], float]) -> list[dict]:
    """Write a parsed batch: its applications replaced group by group (see `write_groups`).
    Returns the batch's ingest-log records.

    When a group's commits fail, its logs are written one by one, so the log whose rows cannot
    be written is recorded as failed and the others are stored."""
    began = time.perf_counter()
    batch = ParsedBatch.of(chunks)
    staged = batch.staged_files()
    records = batch.records
    losers = choose_duplicates(records)
    for record in records:
        if record["source_path"] in losers:
            record["status"] = "duplicate"
            attempts = ", ".join(attempt_ref(app["app_id"], app["attempt_id"]) for app in record["attempts"])
            record["reason"] = (
                f"holds the same application attempt(s) {attempts} as {losers[record['source_path']]}, "
                f"which was kept (complete, or more events)"
            )
            record["rows_written"] = 0
    began = timed("assembling", began)
    try:
        for group in write_groups(records, max_rows):
            try:
                write_records(store, batch, group)
            except Exception:  # noqa: BLE001  (isolate the log that cannot be written)
                for record in group:
                    try:
                        write_records(store, batch, [record])
                    except Exception as exc:  # noqa: BLE001
                        record.update(status="failed", rows_written=0, attempts=[], complete=False,
                                      reason=f"{record['source_path']}: its rows could not be written "
                                             f"({type(exc).__name__}: {str(exc)[:300]}); nothing from this log was stored")
                        store.upsert(INGEST_LOG, pa.Table.from_pylist([record], schema=INGEST_LOG.arrow_schema()))
            batch.release({r["source_path"] for r in group})
    finally:
        timed("writing", began)
        for path in staged:
            os.unlink(path)
    return records


def write_records(store: TableStore, batch: ParsedBatch, records: list[dict]) -> None:
    """Replace the applications of `records` that were kept (not failed, not a duplicate) with
    their rows in `batch`, then commit the records themselves."""
    kept = [r for r in records if r["status"] not in ("duplicate", "failed")]
    kept_apps = sorted({(app["app_id"], app["attempt_id"]) for r in kept for app in r["attempts"] or []})
    scope = [{"app_id": app_id, "attempt_id": attempt_id} for app_id, attempt_id in kept_apps]
    generation = kept[0]["ingested_at"] if kept else None
    if kept_apps:
        sources = {r["source_path"] for r in kept}
        rows = {spec.name: batch.rows_of(spec, sources) if spec.name in STREAMED else batch.table_of(spec, sources)
                for spec in EVENT_LOG_TABLES}
        stored_before = replace_applications(store, rows, scope, generation)
    store.upsert(INGEST_LOG, pa.Table.from_pylist(records, schema=INGEST_LOG.arrow_schema()))
    if kept_apps:
        remove_superseded(store, scope, generation, stored_before)
    forget_analyses(store, scope)


def forget_analyses(store: TableStore, scope: list[dict]) -> None:
    """Drop the analysis rows of re-ingested applications, so the next `analyze` redoes them
    (an analysis that ran while they were being replaced saw a mix of old and new rows)."""
    if not scope or not store.exists(APP_METRICS):
        return
    stale = store.keys_present(APP_METRICS, APP_KEY, scope)
    if stale:
        for spec in ANALYSIS_TABLES:
            if store.exists(spec):
                store.replace_rows(spec, spec.arrow_schema().empty_table(), APP_KEY, stale)
