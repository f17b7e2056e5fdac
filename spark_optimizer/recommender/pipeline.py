"""Train the models and build the recommendations from them, in that order. The main job end to end
(ingest -> analyze -> train -> build) is `spark_optimizer.runners.recommendations.MainJobRunner`:
the recommender never imports the layers below it that produce its inputs (event logs, analysis)."""

from __future__ import annotations

from datetime import datetime

from spark_optimizer.recommender.build import build_recommendations


def train_and_build(spark, store, settings, now: datetime, folds: int = 2):
    """Train the models (spark_optimizer.ml.train) and build one recommendations build."""
    from spark_optimizer.ml.train import train_models

    trained = train_models(spark, store, settings, now, folds=folds)
    return trained, build_recommendations(spark, store, settings, now)
