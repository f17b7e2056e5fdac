"""Train the runtime and resource models (after analyzing what is new), and add runs from elsewhere."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_optimizer.runners.result import RunResult

if TYPE_CHECKING:
    from spark_optimizer.context import AppContext


def train_lines(summary: Any) -> tuple[str, ...]:
    return (f"trained on {summary.runs} runs of {summary.signatures} job signature(s): scaling curve chosen for "
            f"{summary.scaling_wins}, the tree model for {summary.forest_wins}, their blend for {summary.blend_wins}; "
            f"runtime model version {summary.runtime_model_version}; MLflow run {summary.mlflow_run_id}",
            summary.skipped_line())


class TrainRunner:
    def __init__(self, ctx: "AppContext"):
        self.ctx = ctx

    def run(self, folds: int = 3, external_runs: Any = None, external_source: str = "external",
            analyze_new: bool = True) -> RunResult:
        """Analyze what is new (unless `analyze_new` is false: the caller just did), add `external_runs`
        (a Spark or pandas DataFrame with the runs table's columns), refresh features and runs, train
        and log the models to MLflow."""
        from spark_optimizer.ml.train import train_models

        if analyze_new:
            self.ctx.analyze.run_if_ingested()
        if external_runs is not None:
            from spark_optimizer.ml.runs import add_external_runs

            add_external_runs(self.ctx.store, external_runs, external_source, self.ctx.now())
        summary = train_models(self.ctx.spark, self.ctx.store, self.ctx.settings, self.ctx.now(), folds=folds)
        data = {**dataclasses.asdict(summary), "tracking_uri": self.ctx.settings.resolved_mlflow_tracking_uri()}
        return RunResult(summary, data, train_lines(summary))


class AddRunsRunner:
    def __init__(self, ctx: "AppContext"):
        self.ctx = ctx

    def run(self, runs: Any, mapping: "str | dict | None" = None, job: str | None = None) -> RunResult:
        """Add run histories from outside the event logs to the runs table: a CSV/TSV/Parquet file or Delta
        table directory read under `mapping`, or a Spark or pandas DataFrame with the runs table's
        columns. A file or pandas frame needs no JVM."""
        import pandas as pd

        from spark_optimizer.ml.external_runs import AddRunsSummary, add_runs_file
        from spark_optimizer.ml.runs import add_external_runs

        now = self.ctx.now()
        if isinstance(runs, (str, Path)):
            if mapping is None:
                raise ValueError(f"add_runs({str(runs)!r}) needs a mapping: a built-in name such as 'c3o', a TOML/JSON file or a dict")
            summary, source = add_runs_file(self.ctx.arrow_store, runs, mapping, now, job=job), str(runs)
        elif hasattr(runs, "toPandas"):
            added = add_external_runs(self.ctx.store, runs, "external", now)
            summary, source = AddRunsSummary(added, pd.DataFrame(columns=["row", "reason"]), ()), "a Spark DataFrame"
        else:
            added = add_external_runs(self.ctx.arrow_store, runs, "external", now)
            jobs = tuple(sorted(runs["job_signature"].astype(str).unique()))
            summary, source = AddRunsSummary(added, pd.DataFrame(columns=["row", "reason"]), jobs), "a pandas DataFrame"
        data = {"added": summary.added, "jobs": list(summary.jobs),
                "skipped": [{"row": int(r["row"]), "reason": str(r["reason"])} for r in summary.skipped.to_dict("records")]}
        return RunResult(summary, data, (summary.line(source),))
