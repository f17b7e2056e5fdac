"""The data behind `spark-optimizer analyze APP_ID`: one application's metrics, findings and
what-if table, read through delta-rs (no JVM)."""

from __future__ import annotations

from typing import Any, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from spark_optimizer.analysis.whatif import WhatIfError, simulate_stored_app
from spark_optimizer.errors import SparkOptimizerError
from spark_optimizer.refs import parse_attempt_ref
from spark_optimizer.rules.suggestions import MergedConfiguration, merge_findings
from spark_optimizer.rules.model import finding_order
from spark_optimizer.tables import APP_METRICS, APPLICATIONS, SPARK_CONF, STAGE_METRICS
from spark_optimizer.tables.findings import FINDINGS, evidence_from_stored
from spark_optimizer.tables.instants import epoch_ms
from spark_optimizer.tables.store import TableStore


class ApplicationNotFoundError(SparkOptimizerError):
    """Thrown when an application id is not in the applications table."""


def _rows_for(table: pa.Table, app_id: str, attempt_id: str | None = None) -> list[dict]:
    keep = pc.equal(table["app_id"], app_id)
    if attempt_id is not None:
        keep = pc.and_(keep, pc.equal(table["attempt_id"], attempt_id))
    return table.filter(keep).to_pylist(maps_as_pydicts="strict")


def resolve_attempt(store: TableStore, app_ref: str) -> tuple[str, str]:
    """'APP_ID' (latest attempt) or 'APP_ID/ATTEMPT' -> (app_id, attempt_id)."""
    app_id, attempt = parse_attempt_ref(app_ref)
    rows = _rows_for(store.read_arrow(APPLICATIONS).select(["app_id", "attempt_id", "start_time"]), app_id)
    if not rows:
        known = store.read_arrow(APPLICATIONS).column("app_id").to_pylist()
        similar = [k for k in known if app_id.lower() in k.lower()][:5]
        hint = f"; similar ids: {similar}" if similar else "; `spark-optimizer jobs` lists the ingested applications"
        raise ApplicationNotFoundError(f"application {app_id!r} is not in the applications table{hint}")
    if attempt:
        if attempt not in {r["attempt_id"] for r in rows}:
            raise ApplicationNotFoundError(f"application {app_id!r} has no attempt {attempt!r}; attempts: {sorted(r['attempt_id'] for r in rows)}")
        return app_id, attempt
    latest = max(rows, key=lambda r: (epoch_ms(r["start_time"]) or 0, r["attempt_id"]))
    return app_id, latest["attempt_id"]


def analyzed_attempts(store: TableStore) -> set[tuple[str, str]]:
    """(app_id, attempt_id) of every analyzed application attempt, in one read of app_metrics."""
    if not store.exists(APP_METRICS):
        return set()
    return {(r["app_id"], r["attempt_id"]) for r in store.read_arrow(APP_METRICS).select(["app_id", "attempt_id"]).to_pylist()}


def among(attempts: set[tuple[str, str]], app_id: str, attempt_id: str | None) -> bool:
    """Whether the attempt is in `attempts`; attempt None: any attempt of the application."""
    if attempt_id is None:
        return any(app == app_id for app, _ in attempts)
    return (app_id, attempt_id) in attempts


def is_analyzed(store: TableStore, app_id: str, attempt_id: str) -> bool:
    return among(analyzed_attempts(store), app_id, attempt_id)


def build_app_report(store: TableStore, app_id: str, attempt_id: str, executor_counts: Sequence[int] | None = None) -> dict[str, Any]:
    """Everything the analyze report shows, as plain data (also the `--format json` output)."""
    [app] = _rows_for(store.read_arrow(APPLICATIONS), app_id, attempt_id)
    metrics = _rows_for(store.read_arrow(APP_METRICS), app_id, attempt_id)
    findings = sorted(_rows_for(store.read_arrow(FINDINGS), app_id, attempt_id), key=finding_order)
    stages = sorted(_rows_for(store.read_arrow(STAGE_METRICS), app_id, attempt_id) if store.exists(STAGE_METRICS) else [],
                    key=lambda s: -(s["task_time_share"] or 0))
    observed = app.get("max_concurrent_executors") or 1
    counts = sorted(set(executor_counts or [max(1, observed // 2), observed, observed * 2, observed * 4, 1]))
    whatif: dict[str, Any]
    try:
        result = simulate_stored_app(store, app_id, attempt_id, executor_counts=counts, allow_incomplete=True)
        whatif = {
            "observed_executors": result.observed_executors,
            "cores_per_executor": result.observed_cores_per_executor,
            "driver_only_ms": result.driver_only_ms,
            "calibration_error": round(result.calibration_error, 4),
            "ideal_executors": result.ideal_executors,
            "points": [
                {"executors": p.executors, "estimated_wall_ms": p.estimated_wall_ms,
                 "estimated_core_hours": round(p.estimated_core_hours, 4), "speedup_vs_observed": round(p.speedup_vs_observed, 3)}
                for p in result.points
            ],
        }
    except WhatIfError as exc:
        whatif = {"error": str(exc)}
    merged = merged_configuration(store, app, findings)
    return {
        "application": {k: app.get(k) for k in (
            "app_id", "attempt_id", "app_name", "user", "spark_version", "platform", "master", "status",
            "duration_ms", "executors_added", "max_concurrent_executors", "executor_cores", "executor_memory_mb",
            "task_count", "failed_task_count", "failed_job_count", "failed_stage_count", "job_count", "stage_count",
            "input_bytes", "shuffle_read_bytes",
            "shuffle_write_bytes", "disk_bytes_spilled", "source_path")},
        "metrics": {k: v for k, v in (metrics[0] if metrics else {}).items() if k not in ("app_id", "attempt_id", "analyzed_at")},
        "findings": [
            {"rule_id": f["rule_id"], "severity": f["severity"], "category": f["category"], "title": f["title"],
             "evidence": evidence_from_stored(f["evidence"]), "stage_ids": f["stage_ids"],
             "recommended_conf": f["recommended_conf"], "rationale": f["rationale"]}
            for f in findings
        ],
        "heaviest_stages": [
            {k: s[k] for k in ("stage_id", "stage_attempt_id", "job_id", "duration_ms", "task_count", "task_time_share",
                               "gc_share", "cpu_share_of_run", "task_duration_skew_ratio", "on_critical_path", "bottleneck",
                               "unknown_metrics") if k in s}
            for s in stages[:8]
        ],
        "whatif": whatif,
        "configuration": {"conf": merged.conf, "chosen_by": merged.chosen_by, "resolved": merged.resolved},
    }


def merged_configuration(store: TableStore, app: dict[str, Any], findings: Sequence[dict] | None = None) -> MergedConfiguration:
    """The one configuration the findings of an application attempt (its `applications` row) add up to,
    fitted to its current Spark properties, version and platform."""
    key = (app["app_id"], app["attempt_id"])
    if findings is None:
        findings = _rows_for(store.read_arrow(FINDINGS), *key) if store.exists(FINDINGS) else []
    current = {r["key"]: r["value"] for r in _rows_for(store.read_arrow(SPARK_CONF), *key) if r["source"] == "spark"} \
        if store.exists(SPARK_CONF) else {}
    return merge_findings(findings, current, app.get("spark_version"), app.get("platform"))


def merged_conf(report: dict[str, Any]) -> dict[str, str]:
    """All findings' properties as one spark-submit configuration without contradictions (see
    rules.suggestions.merge_findings; how conflicts were settled is in report["configuration"]["resolved"])."""
    if "configuration" in report:
        return dict(report["configuration"]["conf"])
    return merge_findings(report["findings"], {}, report["application"].get("spark_version")).conf


def list_applications(
    store: TableStore,
    name: str | None = None,
    status: str | None = None,
    platform: str | None = None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    min_duration_ms: int | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Ingested application attempts, newest first, with their bottleneck when analyzed."""
    apps = store.read_arrow(APPLICATIONS).select(
        ["app_id", "attempt_id", "app_name", "start_time", "status", "duration_ms", "platform", "executors_added",
         "task_count", "failed_task_count"]
    ).to_pylist()
    bottlenecks = {}
    if store.exists(APP_METRICS):
        bottlenecks = {(r["app_id"], r["attempt_id"]): r["bottleneck"]
                       for r in store.read_arrow(APP_METRICS).select(["app_id", "attempt_id", "bottleneck"]).to_pylist()}
    rows = []
    for r in apps:
        start = epoch_ms(r["start_time"]) or 0
        if name and name.lower() not in (r["app_name"] or "").lower() and name.lower() not in r["app_id"].lower():
            continue
        if (status and r["status"] != status) or (platform and r["platform"] != platform):
            continue
        if (since_ms is not None and start < since_ms) or (until_ms is not None and start >= until_ms):
            continue
        if min_duration_ms and (r["duration_ms"] or 0) < min_duration_ms:
            continue
        r["bottleneck"] = bottlenecks.get((r["app_id"], r["attempt_id"]))
        r["start"] = r["start_time"].strftime("%Y-%m-%d %H:%M") if r["start_time"] else "-"
        rows.append(r)
    rows.sort(key=lambda r: epoch_ms(r["start_time"]) or 0, reverse=True)
    return rows[:limit] if limit else rows
