"""The ingested application attempts, filtered and paged: one shape for `spark-optimizer jobs
--format json` and the REST API's `GET /jobs`, `{total, offset, limit, items}` (delta-rs; no JVM)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spark_optimizer.refs import attempt_ref

if TYPE_CHECKING:
    from spark_optimizer.context import AppContext


def time_ms(text: str | None, epoch_ms: int | None = None) -> int | None:
    """The one time-filter style of every entry point: a date (YYYY-MM-DD) or an ISO date-time, UTC
    unless it names its zone -> epoch milliseconds. `epoch_ms`, when given, wins: the older
    `--since-ms`-style options, kept working but undocumented."""
    from spark_optimizer.units import parse_date

    if epoch_ms is not None:
        return epoch_ms
    return None if text is None else int(parse_date(text).timestamp() * 1000)


class JobsRunner:
    def __init__(self, ctx: "AppContext"):
        self.ctx = ctx

    def page(self, *, name: str | None = None, status: str | None = None, platform: str | None = None,
             since: str | None = None, until: str | None = None, min_duration: str | None = None,
             limit: int = 50, offset: int = 0) -> dict[str, Any]:
        """Newest first; `since`/`until` as `time_ms` reads them, `min_duration` such as "10m"."""
        from spark_optimizer.analysis.report import list_applications
        from spark_optimizer.units import parse_duration_ms

        if status is not None and status not in ("completed", "incomplete"):
            raise ValueError(f"status must be completed or incomplete, not {status!r}")
        rows = list_applications(self.ctx.arrow_store, name, status, platform, time_ms(since), time_ms(until),
                                 None if min_duration is None else parse_duration_ms(min_duration))
        items = [{"ref": attempt_ref(r["app_id"], r["attempt_id"]), **r} for r in rows[offset:offset + limit]]
        return {"total": len(rows), "offset": offset, "limit": limit, "items": items}

    def get(self, app_ref: str) -> dict[str, Any]:
        """The `applications` row of one attempt ("APP_ID" for the latest, or "APP_ID/ATTEMPT"), with its
        `ref` and whether it was analyzed."""
        import pyarrow.compute as pc

        from spark_optimizer.analysis.report import is_analyzed, resolve_attempt
        from spark_optimizer.tables import APPLICATIONS

        store = self.ctx.arrow_store
        app, attempt = resolve_attempt(store, app_ref)
        table = store.read_arrow(APPLICATIONS)
        [row] = table.filter(pc.and_(pc.equal(table["app_id"], app), pc.equal(table["attempt_id"], attempt))).to_pylist()
        return {"ref": attempt_ref(app, attempt), **row, "analyzed": is_analyzed(store, app, attempt)}
