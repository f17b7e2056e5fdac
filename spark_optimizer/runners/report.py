"""The HTML report of one application, of the runs of one application name, or of one job signature;
and the runs most similar to one application."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from spark_optimizer.refs import attempt_ref
from spark_optimizer.runners.result import RunResult

if TYPE_CHECKING:
    from spark_optimizer.context import AppContext


class ReportRunner:
    def __init__(self, ctx: "AppContext"):
        self.ctx = ctx

    def html(self, out: Path, *, app_ref: str | None = None, app_name: str | None = None, signature: str | None = None,
             executor_counts: Sequence[int] | None = None, refresh: bool = False) -> RunResult:
        """Write the report of exactly one of `app_ref` ("APP_ID" or "APP_ID/ATTEMPT"), `app_name` or
        `signature` (or a unique prefix) to `out`; analyzes the runs it shows first if needed."""
        from spark_optimizer.analysis.report import resolve_attempt
        from spark_optimizer.report_html import (
            app_report_html, runs_named, runs_with_signature, signature_trend_html, trend_report_html,
        )

        if sum(x is not None for x in (app_ref, app_name, signature)) != 1:
            raise ValueError("give either an application id (APP_ID or APP_ID/ATTEMPT), an app name or a job signature")
        store = self.ctx.arrow_store.snapshot()  # every read of one moment, `applications` read once
        if signature is not None:
            signature, keys = runs_with_signature(store, signature)
        else:
            keys = [resolve_attempt(store, app_ref)] if app_ref else runs_named(store, app_name)
        analyzed = self.ctx.analyze.ensure_analyzed(keys, refresh, store)
        if analyzed is not None:
            store = self.ctx.arrow_store.snapshot()  # the analysis just written
        now = self.ctx.now()
        if signature is not None:
            page = signature_trend_html(store, signature, keys, now)
        elif app_ref:
            page = app_report_html(store, *keys[0], now, executor_counts)
        else:
            page = trend_report_html(store, app_name, now)
        out.write_text(page, encoding="utf-8")
        data = {"path": str(out), "bytes": len(page.encode("utf-8")), "runs": [attempt_ref(*key) for key in keys]}
        lines = (*(analyzed.lines if analyzed else ()), f"wrote {out} ({len(page) // 1024} KB) for {len(keys)} run(s)")
        return RunResult(page, data, lines)

    def similar(self, app_ref: str, k: int = 5) -> RunResult:
        """The k historical runs most similar to one application, best first, with what differed."""
        from spark_optimizer.analysis.report import resolve_attempt
        from spark_optimizer.ml.similarity import similar_runs

        app_id, attempt_id = resolve_attempt(self.ctx.arrow_store, app_ref)
        self.ctx.analyze.run()
        target, neighbours = similar_runs(self.ctx.spark, self.ctx.store, app_id, attempt_id, k, self.ctx.now())
        rows = [{"ref": attempt_ref(n["app_id"], n["attempt_id"]), "app_id": n["app_id"], "attempt_id": n["attempt_id"],
                 "app_name": n["app_name"], "job_signature": n["job_signature"], "similarity": round(n["similarity"], 4),
                 "distance": round(n["distance"], 4), "wall_ms": n["wall_ms"], "differences": n["differences"]}
                for n in neighbours]
        data: dict[str, Any] = {"ref": attempt_ref(app_id, attempt_id), "app_id": app_id, "attempt_id": attempt_id,
                                "app_name": target["app_name"], "job_signature": target["job_signature"], "similar": rows}
        return RunResult(target, data)
