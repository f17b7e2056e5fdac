"""Reads one application's rows from the tables (delta-rs, no JVM) and turns them into report data."""

from __future__ import annotations

from typing import Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from spark_optimizer.analysis.report import build_app_report, merged_conf
from spark_optimizer.report_html import data
from spark_optimizer.tables import (
    APP_METRICS, APPLICATIONS, EXECUTOR_METRICS, EXECUTORS, FEATURES, FINDINGS, STAGE_METRICS, STAGES, TASKS,
)
from spark_optimizer.tables.store import TableStore

TASK_COLUMNS = ["stage_id", "stage_attempt_id", "launch_time", "finish_time", "duration_ms", "status"]


def _app_rows(store: TableStore, spec, app_id: str, attempt_id: str, columns: Sequence[str] | None = None) -> list[dict]:
    if not store.exists(spec):
        return []
    table: pa.Table = store.read_arrow(spec)
    if columns:
        table = table.select(["app_id", "attempt_id", *columns])
    keep = pc.and_(pc.equal(table["app_id"], app_id), pc.equal(table["attempt_id"], attempt_id))
    return table.filter(keep).to_pylist()


def gather_app_report(
    store: TableStore,
    app_id: str,
    attempt_id: str,
    executor_counts: Sequence[int] | None = None,
    *,
    cost: data.CostFunction | None = None,
    cost_unit: str | None = None,
    recommendation: Mapping[str, str] | None = None,
    recommendation_source: str = "recommendation",
) -> data.AppReportData:
    """The report data of an analyzed application attempt.

    `cost` prices the what-if points (default: allocated core-hours); `recommendation` replaces the
    configuration the rules computed (`merged_conf`) as the recommended configuration.

    Example::

        page_data = gather_app_report(store, "application_1538416563558_0014", "")
        page_data.timeline.running_tasks.peak, page_data.whatif.ideal_executors
    """
    store = store.snapshot()  # every read of one moment, `applications` read once
    [app] = _app_rows(store, APPLICATIONS, app_id, attempt_id)
    counts = executor_counts or data.whatif_counts(app.get("max_concurrent_executors") or 1)
    report = build_app_report(store, app_id, attempt_id, counts)
    tasks = _app_rows(store, TASKS, app_id, attempt_id, TASK_COLUMNS)
    executors = _app_rows(store, EXECUTORS, app_id, attempt_id)
    stages = _app_rows(store, STAGES, app_id, attempt_id, ["stage_id", "stage_attempt_id", "stage_name",
                                                            "submission_time", "completion_time"])
    stage_metrics = _app_rows(store, STAGE_METRICS, app_id, attempt_id)
    metrics = _app_rows(store, APP_METRICS, app_id, attempt_id)
    scraped = _app_rows(store, EXECUTOR_METRICS, app_id, attempt_id, ["executor_id", "metric", "value"])
    if recommendation is not None:
        configuration, source = dict(recommendation), recommendation_source
    else:
        configuration, source = merged_conf(report), "rules"
    return data.AppReportData(
        report=report,
        configuration=configuration,
        configuration_source=source,
        timeline=data.executor_timeline(app, executors, tasks),
        critical_path=data.critical_path(app, stage_metrics, stages),
        stage_durations=data.heavy_stage_durations(stage_metrics, stages, tasks),
        memory=data.memory_gc(app, executors, stage_metrics, metrics[0] if metrics else None, scraped),
        whatif=data.whatif_curve(report["whatif"], app, cost, cost_unit),
    )


def runs_named(store: TableStore, app_name: str) -> list[tuple[str, str]]:
    """(app_id, attempt_id) of every run whose application name is exactly `app_name`."""
    from spark_optimizer.analysis.report import ApplicationNotFoundError

    apps = store.read_arrow(APPLICATIONS).select(["app_id", "attempt_id", "app_name"]).to_pylist()
    keys = [(a["app_id"], a["attempt_id"]) for a in apps if a["app_name"] == app_name]
    if not keys:
        names = sorted({a["app_name"] for a in apps if a["app_name"] and app_name.lower() in a["app_name"].lower()})[:5]
        hint = f"; similar names: {names}" if names else "; `spark-optimizer jobs` lists the ingested applications"
        raise ApplicationNotFoundError(f"no application named {app_name!r} in the applications table{hint}")
    return keys


def gather_trend(store: TableStore, app_name: str, *, cost: data.CostFunction | None = None,
                 cost_unit: str | None = None) -> data.Trend:
    """The runs named `app_name` over time (see `data.trend`)."""
    store = store.snapshot()
    apps_table = store.read_arrow(APPLICATIONS)
    apps = apps_table.filter(pc.equal(apps_table["app_name"], app_name)).to_pylist()
    ids = pa.array(sorted({a["app_id"] for a in apps}), pa.string())

    def of_these_apps(spec, columns: list[str] | None = None) -> list[dict]:
        if not store.exists(spec):
            return []
        table = store.read_arrow(spec)
        table = table.select(columns) if columns else table
        return table.filter(pc.is_in(table["app_id"], value_set=ids)).to_pylist()

    return data.trend(app_name, apps, of_these_apps(APP_METRICS), of_these_apps(FINDINGS, ["app_id", "attempt_id", "rule_id"]),
                      cost, cost_unit)


def runs_with_signature(store: TableStore, signature: str) -> tuple[str, list[tuple[str, str]]]:
    """(full signature, its runs' (app_id, attempt_id)) for a job signature or a unique prefix of one,
    from the `features` table (written by `spark-optimizer train`)."""
    from spark_optimizer.analysis.report import ApplicationNotFoundError
    from spark_optimizer.errors import TableNotFoundError

    if not store.exists(FEATURES):
        raise TableNotFoundError(f"no features table at {store.path(FEATURES)}: job signatures are computed by "
                                 "`spark-optimizer train`; run it first")
    rows = store.read_arrow(FEATURES).select(["app_id", "attempt_id", "job_signature"]).to_pylist()
    known = sorted({r["job_signature"] for r in rows if r["job_signature"]})
    matches = [signature] if signature in known else [k for k in known if k.startswith(signature)]
    if len(matches) != 1:
        what = "matches several signatures" if matches else "is not a known job signature"
        raise ApplicationNotFoundError(f"{signature!r} {what}; known signatures: {', '.join((matches or known)[:10]) or '(none)'}")
    return matches[0], [(r["app_id"], r["attempt_id"]) for r in rows if r["job_signature"] == matches[0]]


def gather_signature_trend(store: TableStore, signature: str, keys: Sequence[tuple[str, str]], *,
                           cost: data.CostFunction | None = None, cost_unit: str | None = None) -> data.Trend:
    """The runs `keys` of one job signature over time (see `data.trend`)."""
    store = store.snapshot()
    wanted = set(keys)
    ids = pa.array(sorted({app_id for app_id, _ in wanted}), pa.string())

    def of_these_apps(spec, columns: list[str] | None = None) -> list[dict]:
        if not store.exists(spec):
            return []
        table = store.read_arrow(spec)
        table = table.select(columns) if columns else table
        return table.filter(pc.is_in(table["app_id"], value_set=ids)).to_pylist()

    return data.trend(signature, of_these_apps(APPLICATIONS), of_these_apps(APP_METRICS),
                      of_these_apps(FINDINGS, ["app_id", "attempt_id", "rule_id"]), cost, cost_unit, keys=wanted)
