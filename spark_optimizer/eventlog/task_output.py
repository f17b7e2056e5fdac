"""What a Spark task of the ingestion job runs: parse its log groups and hand out the rows as
compact Arrow chunks. Kept free of pyspark.sql imports: Python workers import PySpark from
pyspark.zip, compiling it from source in every forked worker, so a worker that needs only this
module, the parser and pyarrow starts ~0.5 s of CPU sooner."""

from __future__ import annotations

import queue
import threading
from datetime import datetime
from typing import Iterable, Iterator

import pyarrow as pa

from spark_optimizer.eventlog.discovery import LogGroup
from spark_optimizer.eventlog.parse import parse_group
from spark_optimizer.tables import EVENT_LOG_TABLES, INGEST_LOG

_END = object()
ARROW_CHUNK_ROWS = 16_384
_SPECS = {spec.name: spec for spec in EVENT_LOG_TABLES + (INGEST_LOG,)}


def _arrow_chunk(table: str, rows: list[dict]) -> bytes:
    """Rows of one table as an Arrow IPC stream: compact to ship from a task to the driver."""
    schema = _SPECS[table].arrow_schema()
    if isinstance(rows[0], tuple):  # task rows come as tuples in column order
        columns = list(zip(*rows))
        batch = pa.RecordBatch.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, schema)], schema=schema)
    else:
        batch = pa.RecordBatch.from_pylist(rows, schema=schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def parse_partition(groups: Iterable[LogGroup], ingested_at: datetime) -> Iterator[tuple[str, bytes]]:
    """Parse each group on a helper thread that hands out Arrow chunks through a bounded
    queue, so a worker holds a few chunks of rows at a time, however big the log is."""
    for group in groups:
        chunks: queue.Queue = queue.Queue(maxsize=8)
        outcome: dict = {}
        pending: dict[str, list[dict]] = {}

        def emit(table: str, row: dict | tuple) -> None:
            rows = pending.setdefault(table, [])
            rows.append(row)
            if len(rows) >= ARROW_CHUNK_ROWS:
                chunks.put((table, _arrow_chunk(table, rows)))
                pending[table] = []

        def work(group: LogGroup = group) -> None:
            try:
                record = parse_group(group, ingested_at, emit)
                for table, rows in pending.items():
                    if rows:
                        chunks.put((table, _arrow_chunk(table, rows)))
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
