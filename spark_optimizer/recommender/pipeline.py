"""The main job end to end: ingest -> analyze -> train -> build recommendations. One function for
the CLI's quickstart, jobs/recommend.py and notebooks/recommend.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from spark_optimizer.recommender.build import BuildSummary, build_recommendations


@dataclass(frozen=True)
class PipelineSummary:
    ingest: object | None
    analyzed: int
    train: object
    build: BuildSummary


def train_and_build(spark, store, settings, now: datetime, folds: int = 2):
    """Train the models (spark_optimizer.ml.train) and build one recommendations build."""
    from spark_optimizer.ml.train import train_models

    trained = train_models(spark, store, settings, now, folds=folds)
    return trained, build_recommendations(spark, store, settings, now)


def run_pipeline(spark, store, settings, event_log_dir: str | None, now: datetime, folds: int = 2) -> PipelineSummary:
    """Ingest `event_log_dir` (None: skip), analyze what is new, train, build.

    Example::

        ctx = AppContext(load_settings(warehouse="/tmp/wh"))
        run_pipeline(ctx.spark, ctx.store, ctx.settings, "samples/eventlogs", datetime.now(timezone.utc))
    """
    from spark_optimizer.analysis.analyze import analyze_applications
    from spark_optimizer.eventlog.ingest import ingest_event_logs

    ingested = ingest_event_logs(spark, store, event_log_dir, now) if event_log_dir else None
    analyzed = analyze_applications(spark, store, now)
    trained, built = train_and_build(spark, store, settings, now, folds)
    return PipelineSummary(ingested, len(analyzed.analyzed), trained, built)
