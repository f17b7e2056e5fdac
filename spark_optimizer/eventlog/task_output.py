"""What a Spark task of the ingestion job runs: parse its log groups and hand out the rows as
compact Arrow chunks. Kept free of pyspark.sql and pyarrow imports (see arrow_rows): a worker
that needs only this module, the parser and nanoarrow starts sooner."""

from __future__ import annotations

import os
import queue
import threading
import uuid
from datetime import datetime
from typing import Iterable, Iterator

from spark_optimizer.eventlog.arrow_rows import IpcFileWriter, ipc_stream
from spark_optimizer.eventlog.discovery import LogGroup
from spark_optimizer.eventlog.parse import failed_record, parse_group
from spark_optimizer.tables import EVENT_LOG_TABLES, INGEST_LOG, TASKS

_END = object()
ARROW_CHUNK_ROWS = 16_384
_SPECS = {spec.name: spec for spec in EVENT_LOG_TABLES + (INGEST_LOG,)}


def _arrow_chunk(table: str, rows: list[dict] | list[tuple]) -> bytes:
    """Rows of one table as an Arrow IPC stream: compact to ship from a task to the driver."""
    return ipc_stream(_SPECS[table], rows)


def parse_partition(groups: Iterable[LogGroup], ingested_at: datetime,
                    staging_dir: str | None = None) -> Iterator[tuple[str, bytes | str]]:
    """Parse each group on a helper thread that hands out Arrow chunks through a bounded
    queue, so a worker holds a few chunks of rows at a time, however big the log is.

    With `staging_dir` (a folder the driver reads too: local mode, local-cluster) task rows are
    written to a file there and only its path (a str) is handed out: the driver maps the file
    instead of receiving most of the batch's bytes through Spark."""
    for group in groups:
        chunks: queue.Queue = queue.Queue(maxsize=8)
        outcome: dict = {}
        pending: dict[str, list[dict]] = {}
        unconvertible: list[str] = []
        staged = IpcFileWriter(TASKS, os.path.join(staging_dir, f"tasks-{uuid.uuid4().hex}.arrows")) if staging_dir else None

        def emit(table: str, row: dict | tuple) -> None:
            rows = pending.setdefault(table, [])
            rows.append(row)
            if len(rows) >= ARROW_CHUNK_ROWS:
                flush(table, rows)
                pending[table] = []

        def flush(table: str, rows: list) -> None:
            # A conversion error fails this log (its record says so), never the Spark task: the
            # driver drops whatever rows of a failed log it already received.
            try:
                if staged is not None and table == TASKS.name:
                    staged.write(rows)
                else:
                    chunks.put((table, _arrow_chunk(table, rows)))
            except Exception as exc:  # noqa: BLE001
                unconvertible.append(f"{table} rows could not be converted ({type(exc).__name__}: {exc})")

        def work(group: LogGroup = group) -> None:
            try:
                try:
                    record = parse_group(group, ingested_at, emit)
                    for table, rows in pending.items():
                        if rows:
                            flush(table, rows)
                except Exception as exc:  # noqa: BLE001  (one log's failure, recorded)
                    record = failed_record(group, ingested_at, f"parsing broke off ({type(exc).__name__}: {exc})")
                if unconvertible:
                    record = failed_record(group, ingested_at, unconvertible[0])
                if staged is not None and (path := staged.close()) is not None:
                    chunks.put((TASKS.name, path))
                chunks.put((INGEST_LOG.name, _arrow_chunk(INGEST_LOG.name, [record])))
            except BaseException as exc:  # surfaced in the task below, with its traceback
                outcome["error"] = exc
            finally:
                chunks.put(_END)

        thread = threading.Thread(target=work, name="event-log-parser", daemon=True)
        thread.start()
        while (item := chunks.get()) is not _END:
            yield item
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
