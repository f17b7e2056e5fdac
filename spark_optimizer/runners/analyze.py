"""Metrics and findings for the applications ingested since their last analysis, and the report of one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from spark_optimizer.errors import SparkOptimizerError
from spark_optimizer.refs import attempt_ref
from spark_optimizer.runners.result import RunResult

if TYPE_CHECKING:
    from spark_optimizer.context import AppContext
    from spark_optimizer.tables.store import TableStore


class NotAnalyzedError(SparkOptimizerError):
    """Thrown when an application's analysis is asked for, without analyzing, before `spark-optimizer analyze` ran on it."""


class AnalyzeRunner:
    def __init__(self, ctx: "AppContext"):
        self.ctx = ctx

    def run(self, only: Sequence[tuple[str, str]] | None = None) -> RunResult:
        """Analyze every application ingested since its last analysis (`only`: just these attempts)."""
        from spark_optimizer.analysis.analyze import analyze_applications

        summary = analyze_applications(self.ctx.spark, self.ctx.store, self.ctx.now(), only=only)
        lines = [f"analyzed {len(summary.analyzed)} application attempt(s); {summary.findings} finding(s)"]
        if summary.skipped:
            lines.append(summary.skipped_line())
        data = {"analyzed": [attempt_ref(*key) for key in summary.analyzed], "findings": summary.findings,
                "skipped": [{"app": attempt_ref(app, attempt), "reason": reason} for app, attempt, reason in summary.skipped]}
        return RunResult(summary, data, tuple(lines))

    def run_if_ingested(self) -> RunResult | None:
        """`run()` when the warehouse has event-log applications (it may hold external runs only)."""
        from spark_optimizer.tables import APPLICATIONS

        return self.run() if self.ctx.store.exists(APPLICATIONS) else None

    def ensure_analyzed(self, keys: Sequence[tuple[str, str]], refresh: bool = False,
                        tables: TableStore | None = None) -> RunResult | None:
        """Analyze those of `keys` not analyzed yet (all of them with `refresh`); starts Spark only then.
        `tables`: the caller's snapshot, read once for all keys."""
        from spark_optimizer.analysis.report import among, analyzed_attempts

        analyzed = set() if refresh else analyzed_attempts(tables or self.ctx.arrow_store)
        pending = [key for key in keys if refresh or not among(analyzed, *key)]
        return self.run(only=pending) if pending else None

    def report(self, app_ref: str, executor_counts: Sequence[int] | None = None, refresh: bool = False, *,
               analyze_missing: bool = True) -> dict[str, Any]:
        """One application's report ("APP_ID" or "APP_ID/ATTEMPT"): summary, bottleneck, findings with
        their configuration changes (`spark_submit_conf`), heaviest stages, executor what-if. Analyzes
        the application first if it was not analyzed (or with `refresh`); without `analyze_missing`
        (the REST API, which never starts Spark) raises NotAnalyzedError instead."""
        from spark_optimizer.analysis.report import build_app_report, is_analyzed, merged_conf, resolve_attempt

        tables = self.ctx.arrow_store.snapshot()  # every read of one moment, `applications` read once
        key = resolve_attempt(tables, app_ref)
        if not analyze_missing and not is_analyzed(tables, *key):
            ref = attempt_ref(*key)
            raise NotAnalyzedError(f"application {ref!r} is ingested but not analyzed; run `spark-optimizer analyze {ref} "
                                   f"--warehouse {self.ctx.settings.warehouse}` (or `spark-optimizer analyze` for every "
                                   "new application), then ask again")
        if self.ensure_analyzed([key], refresh, tables) is not None:
            tables = self.ctx.arrow_store.snapshot()  # the analysis just written
        report = build_app_report(tables, *key, executor_counts)
        return {**report, "spark_submit_conf": merged_conf(report)}
