"""`spark-optimizer report`: a self-contained HTML page with plots for one application attempt, or
for the runs of one application name over time.

Layers: `gather` reads the tables (delta-rs, no JVM) -> `data` computes what is plotted (pure
functions over rows) -> `plots` draws SVG with matplotlib -> `page` renders the Jinja2 templates in
`templates/` into the HTML.
"""

from __future__ import annotations

from datetime import datetime
from typing import Mapping, Sequence

from spark_optimizer.report_html.data import AppReportData, CostFunction, core_hours
from spark_optimizer.report_html.gather import (
    gather_app_report, gather_signature_trend, gather_trend, runs_named, runs_with_signature,
)
from spark_optimizer.report_html.page import app_page, trend_page
from spark_optimizer.tables.store import TableStore


def app_report_html(
    store: TableStore,
    app_id: str,
    attempt_id: str,
    generated_at: datetime,
    executor_counts: Sequence[int] | None = None,
    *,
    cost: CostFunction | None = None,
    cost_unit: str | None = None,
    recommendation: Mapping[str, str] | None = None,
    recommendation_source: str = "recommendation",
) -> str:
    """The HTML report of one analyzed application attempt.

    `cost(app=..., executors=..., cores_per_executor=..., wall_ms=...)` prices the what-if points in
    `cost_unit` (default: allocated core-hours); `recommendation` ({property: value}) replaces the
    properties the rules computed as the recommended configuration.

    Example::

        html = app_report_html(store, "application_1538416563558_0014", "", datetime.now(timezone.utc))
        Path("report.html").write_text(html, encoding="utf-8")
    """
    data = gather_app_report(store, app_id, attempt_id, executor_counts, cost=cost, cost_unit=cost_unit,
                             recommendation=recommendation, recommendation_source=recommendation_source)
    return app_page(data, generated_at)


def trend_report_html(store: TableStore, app_name: str, generated_at: datetime, *, cost: CostFunction | None = None,
                      cost_unit: str | None = None) -> str:
    """The HTML report of every run named `app_name`: duration, input, cost and bottleneck over time.

    Example::

        html = trend_report_html(store, "nightly-orders", datetime.now(timezone.utc))
    """
    return trend_page(gather_trend(store, app_name, cost=cost, cost_unit=cost_unit), generated_at)


def signature_trend_html(store: TableStore, signature: str, keys: Sequence[tuple[str, str]], generated_at: datetime, *,
                         cost: CostFunction | None = None, cost_unit: str | None = None) -> str:
    """The HTML report of the runs `keys` of one job signature (`runs_with_signature`) over time.

    Example::

        signature, keys = runs_with_signature(store, "nightly_orders#3f2a")
        html = signature_trend_html(store, signature, keys, datetime.now(timezone.utc))
    """
    return trend_page(gather_signature_trend(store, signature, keys, cost=cost, cost_unit=cost_unit), generated_at)


__all__ = [
    "AppReportData",
    "CostFunction",
    "app_report_html",
    "core_hours",
    "gather_app_report",
    "gather_signature_trend",
    "gather_trend",
    "runs_named",
    "runs_with_signature",
    "signature_trend_html",
    "trend_report_html",
]
