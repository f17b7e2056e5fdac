"""Instants: the tables store them as UTC timestamps; event logs, the History Server and Prometheus
give them as epoch milliseconds, and interval arithmetic (a duration, a union of task intervals)
is done on epoch milliseconds. This is the one place either becomes the other, for Python values,
Arrow arrays and Spark columns, and where an instant becomes text (ISO-8601, UTC) for the API and
the CLI's JSON.

Kept free of pyspark and pyarrow imports at module level: the event-log parser's workers import it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import Column as SparkColumn

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND = timedelta(milliseconds=1)


def from_epoch_ms(ms: int | None) -> datetime | None:
    """Epoch milliseconds as a UTC datetime (exact: no float on the way)."""
    return None if ms is None else EPOCH + timedelta(milliseconds=ms)


def epoch_ms(instant: datetime | None) -> int | None:
    """A datetime as epoch milliseconds (microseconds truncated); a naive one is taken as UTC, as
    pyarrow and the Delta writer take it."""
    if instant is None:
        return None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return (instant - EPOCH) // _MILLISECOND


def iso_utc(instant: datetime | None) -> str | None:
    """An instant as ISO-8601 text in UTC, e.g. 2024-05-01T12:00:00.123000+00:00, as the API and the
    CLI's JSON write it (`runners.result.json_safe`); a naive datetime is taken as UTC."""
    if instant is None:
        return None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(timezone.utc).isoformat()


def epoch_ms_array(instants: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """An Arrow timestamp array as int64 epoch milliseconds (nulls kept)."""
    import pyarrow as pa

    return instants.cast(pa.timestamp("ms", tz="UTC"), safe=False).cast(pa.int64())


def epoch_ms_column(instant: str | SparkColumn) -> SparkColumn:
    """A Spark timestamp column as epoch milliseconds (bigint); independent of the session time zone."""
    from pyspark.sql import functions as F

    return F.unix_millis(F.col(instant) if isinstance(instant, str) else instant)
