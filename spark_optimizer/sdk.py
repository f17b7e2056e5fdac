"""The Python SDK: the functions the jobs, CLI, REST API and notebooks call, in one place.

Every function takes an optional `warehouse` (default: settings from conf/, the environment)
and an optional `spark` session (default: the active one, or a local one); nothing else to set up.

    from spark_optimizer import ingest, analyze, train, similar
    ingest("/data/spark-events", warehouse="/tmp/wh")
    analyze(warehouse="/tmp/wh")
    train(warehouse="/tmp/wh")
    similar("application_1700000000000_0042", k=5, warehouse="/tmp/wh")
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from spark_optimizer.analysis.analyze import AnalyzeSummary
    from spark_optimizer.eventlog.ingest import IngestSummary
    from spark_optimizer.ml.runtime_model import RuntimeModel
    from spark_optimizer.ml.train import TrainSummary


def _context(warehouse: str | None, spark: "SparkSession | None"):
    from spark_optimizer.config import load_settings
    from spark_optimizer.context import AppContext

    return AppContext(load_settings(warehouse=warehouse), spark=spark)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def ingest(event_log_dir: str, *, warehouse: str | None = None, spark: "SparkSession | None" = None,
           force: bool = False) -> "IngestSummary":
    """Ingest the event logs under a folder, file or Hadoop-FS URI into the Delta tables.

    Example::

        summary = ingest("s3a://logs/spark-events", warehouse="s3a://bucket/optimizer")
        summary.exit_code, summary.failed
    """
    from spark_optimizer.eventlog.ingest import ingest_event_logs

    ctx = _context(warehouse, spark)
    return ingest_event_logs(ctx.spark, ctx.store, event_log_dir, _now(), batch_size=ctx.settings.ingest_batch_size,
                             batch_bytes=ctx.settings.ingest_batch_mb * 1024 * 1024, force=force)


def analyze(app_id: str | None = None, *, warehouse: str | None = None, spark: "SparkSession | None" = None,
            executor_counts: list[int] | None = None) -> "dict[str, Any] | AnalyzeSummary":
    """Without `app_id`: analyze every application ingested since the last analysis and return the
    summary. With `app_id` ("APP_ID" or "APP_ID/ATTEMPT"): that application's report (summary,
    bottleneck, findings with configuration changes, what-if at `executor_counts`).

    Example::

        report = analyze("application_1700000000000_0042", warehouse="/tmp/wh")
        [f["title"] for f in report["findings"]]
    """
    from spark_optimizer.analysis.analyze import analyze_applications

    ctx = _context(warehouse, spark)
    if app_id is None:
        return analyze_applications(ctx.spark, ctx.store, _now())
    from spark_optimizer.analysis.report import build_app_report, is_analyzed, resolve_attempt

    app, attempt = resolve_attempt(ctx.store, app_id)
    if not is_analyzed(ctx.store, app, attempt):
        analyze_applications(ctx.spark, ctx.store, _now(), only=[(app, attempt)])
    return build_app_report(ctx.store, app, attempt, executor_counts)


def train(*, warehouse: str | None = None, spark: "SparkSession | None" = None, external_runs: "DataFrame | None" = None,
          external_source: str = "external", folds: int = 3) -> "TrainSummary":
    """Analyze what is new, refresh features and runs (plus `external_runs`, any DataFrame with the
    runs table's required columns), train the runtime and resource models and log them to MLflow.

    Example::

        summary = train(warehouse="/tmp/wh")
        summary.metrics["selected_validation_mape"], summary.runtime_model_version
    """
    from spark_optimizer.analysis.analyze import analyze_applications
    from spark_optimizer.ml.runs import add_external_runs
    from spark_optimizer.ml.train import train_models

    ctx = _context(warehouse, spark)
    now = _now()
    analyze_applications(ctx.spark, ctx.store, now)
    if external_runs is not None:
        add_external_runs(ctx.store, external_runs, external_source, now)
    return train_models(ctx.spark, ctx.store, ctx.settings, now, folds=folds)


def similar(app_id: str, k: int = 5, *, warehouse: str | None = None, spark: "SparkSession | None" = None) -> list[dict[str, Any]]:
    """The k historical runs most similar to one application, best first, each with `similarity`,
    `distance`, `job_signature` and `differences` (what differed most).

    Example::

        [(r["app_id"], r["similarity"], r["differences"]) for r in similar("local-1700000000000", k=3)]
    """
    from spark_optimizer.analysis.report import resolve_attempt
    from spark_optimizer.ml.features import refresh_features
    from spark_optimizer.ml.similarity import differences, most_similar
    from spark_optimizer.tables import FEATURES

    ctx = _context(warehouse, spark)
    app, attempt = resolve_attempt(ctx.store, app_id)
    analyze(warehouse=ctx.settings.warehouse, spark=ctx.spark)
    refresh_features(ctx.spark, ctx.store, _now())
    features = ctx.store.read(FEATURES)
    target = features.where((features.app_id == app) & (features.attempt_id == attempt)).first().asDict()
    rows = [r.asDict() for r in most_similar(features, app, attempt, k).collect()]
    return [{**{key: r[key] for key in ("app_id", "attempt_id", "app_name", "job_signature", "wall_ms", "similarity", "distance")},
             "differences": differences(target, r)} for r in rows]


def fit_runtime_model(runs: "DataFrame | pd.DataFrame", *, spark: "SparkSession | None" = None, folds: int = 3) -> "RuntimeModel":
    """Fit the runtime models on any runs DataFrame (Spark or pandas) with the runs table's columns:
    at least job_signature, executors, executor_cores, executor_memory_mb, input_bytes, runtime_ms
    (shuffle_partitions and aqe_enabled default to 200 and true). History from other sources — cloud
    job runs, external benchmark datasets — trains the same models.

    Example::

        model = fit_runtime_model(spark.read.parquet("c3o_runs.parquet"))
        predict_runtime(model, candidates)["predicted_runtime_ms"]
    """
    from spark_optimizer.ml.runs import REQUIRED_RUN_COLUMNS
    from spark_optimizer.ml.runtime_model import train_runtime_model
    from spark_optimizer.session import get_or_create_spark

    frame = runs if not hasattr(runs, "toPandas") else runs.toPandas()
    missing = [c for c in REQUIRED_RUN_COLUMNS if c not in frame.columns and c != "run_id"]
    if missing:
        raise ValueError(f"runs lack required column(s) {', '.join(missing)} (see docs/tables.md, table runs)")
    defaults = {"shuffle_partitions": 200, "aqe_enabled": True, "succeeded": True}
    frame = frame.assign(**{k: v for k, v in defaults.items() if k not in frame.columns})
    return train_runtime_model(spark or get_or_create_spark(), frame, folds=folds)


def predict_runtime(model: "RuntimeModel", candidates: "DataFrame | pd.DataFrame", *, spark: "SparkSession | None" = None) -> "pd.DataFrame":
    """`candidates` (same columns as runs, runtime_ms not needed) with `predicted_runtime_ms` added."""
    from spark_optimizer.session import get_or_create_spark

    frame = candidates if not hasattr(candidates, "toPandas") else candidates.toPandas()
    defaults = {"shuffle_partitions": 200, "aqe_enabled": True}
    frame = frame.assign(**{k: v for k, v in defaults.items() if k not in frame.columns}).reset_index(drop=True)
    return frame.assign(predicted_runtime_ms=model.predict_ms(spark or get_or_create_spark(), frame))
