"""Build the recommendations table, and the main job end to end: ingest -> analyze -> train -> build."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Sequence

from spark_optimizer.runners.result import RunResult

if TYPE_CHECKING:
    from spark_optimizer.context import AppContext


class BuildRecommendationsRunner:
    def __init__(self, ctx: "AppContext"):
        self.ctx = ctx

    def run(self, objective: str = "balanced", cloud: str = "aws") -> RunResult:
        """Append one build of `recommendations` from the trained curves, runs, findings and the catalogue."""
        from spark_optimizer.recommender.build import build_recommendations

        summary = build_recommendations(self.ctx.spark, self.ctx.store, self.ctx.settings, self.ctx.now(),
                                        objective=objective, cloud=cloud)
        line = (f"built {summary.signature_rows} signature and {summary.job_type_rows} job-type recommendation(s) at "
                f"{summary.built_at:%Y-%m-%d %H:%M:%S} UTC; {summary.feedback_linked} ingested run(s) linked to a "
                f"recommendation; {summary.skipped_line()}")
        data = {**dataclasses.asdict(summary), "skipped": [{"what": what, "why": why} for what, why in summary.skipped]}
        return RunResult(summary, data, (line,))


@dataclasses.dataclass(frozen=True)
class MainJobSummary:
    ingest: object | None
    analyzed: int
    train: object
    build: object


class MainJobRunner:
    """The main job: ingest each of `event_log_dirs` (none: use what is ingested), analyze what is new,
    train, build the recommendations. The CLI's quickstart, jobs/recommend.py and notebooks/recommend.py."""

    def __init__(self, ctx: "AppContext"):
        self.ctx = ctx

    def run(self, event_log_dirs: Sequence[str] = (), folds: int = 2) -> RunResult:
        ingested = [self.ctx.ingest.run(source) for source in event_log_dirs]
        analyzed = self.ctx.analyze.run()
        trained = self.ctx.train.run(folds=folds, analyze_new=False)
        built = self.ctx.build_recommendations.run()
        parts = [*ingested, analyzed, trained, built]
        code = max(part.exit_code for part in parts)
        summary = MainJobSummary(ingested[-1].summary if ingested else None, len(analyzed.summary.analyzed),
                                 trained.summary, built.summary)
        data = {"ingest": [part.data for part in ingested], "analyze": analyzed.data, "train": trained.data,
                "build": built.data}
        return RunResult(summary, data, tuple(line for part in parts for line in part.lines if line), code)
