"""The analysis job: app_metrics and findings for every application ingested since it last ran."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping, Sequence

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from spark_optimizer.analysis.app_metrics import accelerators, compute_app_metrics, metric_peaks
from spark_optimizer.analysis.stage_metrics import compute_stage_metrics
from spark_optimizer.rules.engine import build_app_facts, load_thresholds, run_rules
from spark_optimizer.tables import (
    APP_METRICS, APPLICATIONS, EXECUTOR_METRICS, EXECUTORS, JOBS, SPARK_CONF, SQL_EXECUTIONS, STAGE_METRICS, STAGES, TASKS,
)
from spark_optimizer.tables.findings import FINDINGS
from spark_optimizer.tables.store import TableStore

KEY = ["app_id", "attempt_id"]


@dataclass(frozen=True)
class AnalyzeSummary:
    analyzed: tuple[tuple[str, str], ...]
    findings: int
    # (app_id, attempt_id, reason) of applications whose metrics could not be computed; their
    # app_metrics row carries the reason in `skipped_reason` and they get no findings.
    skipped: tuple[tuple[str, str, str], ...] = ()

    def skipped_line(self) -> str:
        """One line for the user: how many were skipped, and why (most common reasons first)."""
        if not self.skipped:
            return ""
        reasons: dict[str, int] = {}
        for _, _, reason in self.skipped:
            reasons[reason] = reasons.get(reason, 0) + 1
        listed = "; ".join(f"{n} x {r}" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
        return f"skipped {len(self.skipped)} application attempt(s) (app_metrics.skipped_reason): {listed}"


def unusable_reason() -> F.Column:
    """Why an application's metrics cannot be computed (null: they can)."""
    return (
        F.when(F.col("start_time").isNull(), F.lit("no application start event (a log fragment): no time span to measure"))
        .when(F.col("duration_ms").isNull() | (F.col("duration_ms") <= 0), F.lit("no event after the application start: no duration"))
    )


def apps_to_analyze(store: TableStore, only: Sequence[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """Applications ingested after their last analysis (or never analyzed); `only` narrows the set."""
    apps = store.read_arrow(APPLICATIONS).select(KEY + ["ingested_at"]).to_pylist()
    analyzed = {}
    if store.exists(APP_METRICS):
        analyzed = {(r["app_id"], r["attempt_id"]): r["analyzed_at"] for r in store.read_arrow(APP_METRICS).select(KEY + ["analyzed_at"]).to_pylist()}
    wanted = set(only) if only is not None else None
    keys = []
    for row in apps:
        key = (row["app_id"], row["attempt_id"])
        if wanted is not None:
            if key in wanted:
                keys.append(key)
        elif key not in analyzed or (row["ingested_at"] and analyzed[key] and row["ingested_at"] > analyzed[key]):
            keys.append(key)
    return sorted(keys)


def analyze_applications(
    spark: SparkSession,
    store: TableStore,
    analyzed_at: datetime,
    only: Sequence[tuple[str, str]] | None = None,
    thresholds: Mapping[str, Mapping[str, Any]] | None = None,
) -> AnalyzeSummary:
    """Compute `app_metrics` and `findings` for new or re-ingested applications (or `only` these),
    from the tables as of one moment (`store.snapshot()`): an application replaced meanwhile is
    analyzed whole, as it was then.

    Example::

        analyze_applications(spark, store, datetime.now(timezone.utc))
    """
    tables = store.snapshot()
    keys = apps_to_analyze(tables, only)
    for spec in (APP_METRICS, STAGE_METRICS, FINDINGS):
        store.ensure(spec)
    if not keys:
        return AnalyzeSummary((), 0)
    thresholds = thresholds or load_thresholds()
    wanted = F.broadcast(spark.createDataFrame(list(keys), "app_id string, attempt_id string"))

    def read(spec):
        return tables.read(spec).join(wanted, KEY, "left_semi")

    all_applications = read(APPLICATIONS).withColumn("skipped_reason", unusable_reason())
    skipped = [(r["app_id"], r["attempt_id"], r["skipped_reason"])
               for r in all_applications.where(F.col("skipped_reason").isNotNull()).select(*KEY, "skipped_reason").collect()]
    applications = all_applications.where(F.col("skipped_reason").isNull()).drop("skipped_reason")
    stages, tasks, executors = read(STAGES), read(TASKS), read(EXECUTORS)
    spark_conf, sql_executions = read(SPARK_CONF), read(SQL_EXECUTIONS)
    scraped = metric_peaks(read(EXECUTOR_METRICS)) if tables.exists(EXECUTOR_METRICS) else None
    labels = accelerators(spark_conf, sql_executions).cache()
    metrics = compute_app_metrics(applications, stages, tasks, executors, analyzed_at, scraped, labels,
                                  thresholds.get("significance")).cache()
    skipped_rows = all_applications.where(F.col("skipped_reason").isNotNull()).select(
        *KEY, (F.col("status") == "incomplete").alias("incomplete"), "skipped_reason",
        F.lit(analyzed_at).cast("timestamp").alias("analyzed_at"))
    metric_rows = metrics.unionByName(skipped_rows, allowMissingColumns=True)
    scope = [{"app_id": a, "attempt_id": b} for a, b in keys]
    facts = build_app_facts(applications, metrics, stages, executors, spark_conf, sql_executions, read(JOBS), tasks)
    findings = run_rules(spark, facts, thresholds, analyzed_at).cache()
    try:
        store.replace_rows(APP_METRICS, metric_rows.select(APP_METRICS.column_names), KEY, scope)
        store.replace_rows(STAGE_METRICS, compute_stage_metrics(spark, stages, applications, analyzed_at, labels), KEY, scope)
        store.replace_rows(FINDINGS, findings, KEY, scope)
        skipped_keys = {(a, b) for a, b, _ in skipped}
        analyzed = tuple(k for k in keys if k not in skipped_keys)
        return AnalyzeSummary(analyzed, findings.count(), tuple(sorted(skipped)))
    finally:
        metrics.unpersist()
        findings.unpersist()
        labels.unpersist()
