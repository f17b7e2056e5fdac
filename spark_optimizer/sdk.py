"""The Python SDK: the functions the jobs, CLI, REST API and notebooks call, in one place.

Every function takes an optional `warehouse` (default: settings from conf/, the environment)
and an optional `spark` session (default: the active one, or a local one); nothing else to set up.

    from spark_optimizer import ingest, analyze, train, similar, recommend, feedback
    from spark_optimizer.sdk import add_runs
    ingest("/data/spark-events", warehouse="/tmp/wh")
    add_runs("runs.tsv", mapping="c3o", warehouse="/tmp/wh")       # optional: run histories from elsewhere
    analyze(warehouse="/tmp/wh")
    train(warehouse="/tmp/wh")
    similar("application_1700000000000_0042", k=5, warehouse="/tmp/wh")
    build_recommendations(warehouse="/tmp/wh")
    answer = recommend(job_type="etl", input_size="10GB", deadline="30m", warehouse="/tmp/wh")
    feedback(answer.row["recommendation_id"], "12m", cost=3.5, warehouse="/tmp/wh")

`recommend` and `feedback` read and write the tables with delta-rs and start no JVM.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame, SparkSession

    from spark_optimizer.analysis.analyze import AnalyzeSummary
    from spark_optimizer.eventlog.ingest import IngestSummary
    from spark_optimizer.ml.external_runs import AddRunsSummary
    from spark_optimizer.ml.runtime_model import RuntimeModel
    from spark_optimizer.ml.train import TrainSummary
    from spark_optimizer.recommender.build import BuildSummary
    from spark_optimizer.recommender.feedback import FeedbackRecord
    from spark_optimizer.recommender.lookup import LookupAnswer


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
    return ingest_event_logs(ctx.spark_context, ctx.store, event_log_dir, _now(), batch_size=ctx.settings.ingest_batch_size,
                             batch_bytes=ctx.settings.ingest_batch_mb * 1024 * 1024,
                             batch_rows=ctx.settings.ingest_batch_rows, force=force)


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
    """Analyze what is new, refresh features and runs (plus `external_runs`, a Spark or pandas DataFrame
    with the runs table's required columns; files with other columns go through `add_runs`), train the
    runtime and resource models and log them to MLflow. `summary.skipped_line()` says which runs were left out and why.

    Example::

        summary = train(warehouse="/tmp/wh")
        summary.metrics["selected_validation_mape"], summary.runtime_model_version
    """
    from spark_optimizer.analysis.analyze import analyze_applications
    from spark_optimizer.ml.runs import add_external_runs
    from spark_optimizer.ml.train import train_models

    from spark_optimizer.tables import APPLICATIONS

    ctx = _context(warehouse, spark)
    now = _now()
    if ctx.store.exists(APPLICATIONS):  # a warehouse may hold external runs only
        analyze_applications(ctx.spark, ctx.store, now)
    if external_runs is not None:
        add_external_runs(ctx.store, external_runs, external_source, now)
    return train_models(ctx.spark, ctx.store, ctx.settings, now, folds=folds)


def add_runs(runs: "str | DataFrame | pd.DataFrame", *, mapping: "str | dict | None" = None, job: str | None = None,
             warehouse: str | None = None) -> "AddRunsSummary":
    """Add run histories from outside the event logs to the runs table (the next `train` learns from them).
    `runs` is a CSV/TSV/Parquet file or Delta table directory read with `mapping` (a built-in name such as
    "c3o", a TOML/JSON mapping file, or a dict of mapping keys; see docs/models.md), or a Spark or pandas
    DataFrame that already has the runs table's columns. Rows that cannot be used are skipped with a reason.
    A file or pandas frame needs no JVM.

    Example::

        summary = add_runs("../shared/datasets/c3o/grep.tsv", mapping="c3o", warehouse="/tmp/wh")
        summary.added, summary.skipped
    """
    import pandas as pd

    from spark_optimizer.config import load_settings
    from spark_optimizer.ml.external_runs import AddRunsSummary, add_runs_file
    from spark_optimizer.ml.runs import add_external_runs
    from spark_optimizer.tables.store import DeltaRsBackend, TableStore

    settings = load_settings(warehouse=warehouse)
    if isinstance(runs, str) or hasattr(runs, "__fspath__"):
        if mapping is None:
            raise ValueError(f"add_runs({str(runs)!r}) needs a mapping: a built-in name such as 'c3o', a TOML/JSON file or a dict")
        return add_runs_file(TableStore(None, settings, backend=DeltaRsBackend()), runs, mapping, _now(), job=job)
    if hasattr(runs, "toPandas"):
        ctx = _context(warehouse, runs.sparkSession)
        added = add_external_runs(ctx.store, runs, "external", _now())
        return AddRunsSummary(added, pd.DataFrame(columns=["row", "reason"]), ())
    added = add_external_runs(TableStore(None, settings, backend=DeltaRsBackend()), runs, "external", _now())
    jobs = tuple(sorted(runs["job_signature"].astype(str).unique()))
    return AddRunsSummary(added, pd.DataFrame(columns=["row", "reason"]), jobs)


def similar(app_id: str, k: int = 5, *, warehouse: str | None = None, spark: "SparkSession | None" = None) -> list[dict[str, Any]]:
    """The k historical runs most similar to one application, best first, each with `similarity`,
    `distance`, `job_signature` and `differences` (what differed most).

    Example::

        [(r["app_id"], r["similarity"], r["differences"]) for r in similar("local-1700000000000", k=3)]
    """
    from spark_optimizer.analysis.report import resolve_attempt
    from spark_optimizer.ml.similarity import similar_runs

    ctx = _context(warehouse, spark)
    app, attempt = resolve_attempt(ctx.store, app_id)
    analyze(warehouse=ctx.settings.warehouse, spark=ctx.spark)
    _, rows = similar_runs(ctx.spark, ctx.store, app, attempt, k, _now())
    return [{key: r[key] for key in ("app_id", "attempt_id", "app_name", "job_signature", "wall_ms", "similarity", "distance",
                                     "differences")} for r in rows]


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
    from spark_optimizer.ml.runtime_model import LOCAL_FIT_MAX_RUNS, train_runtime_model
    from spark_optimizer.session import get_or_create_spark

    frame = runs if not hasattr(runs, "toPandas") else runs.toPandas()
    missing = [c for c in REQUIRED_RUN_COLUMNS if c not in frame.columns and c != "run_id"]
    if missing:
        raise ValueError(f"runs lack required column(s) {', '.join(missing)} (see docs/tables.md, table runs)")
    defaults = {"shuffle_partitions": 200, "aqe_enabled": True, "succeeded": True}
    frame = frame.assign(**{k: v for k, v in defaults.items() if k not in frame.columns})
    if spark is None and len(frame) > LOCAL_FIT_MAX_RUNS:  # smaller run sets are fitted on the driver, without Spark
        spark = get_or_create_spark()
    return train_runtime_model(spark, frame, folds=folds)


def predict_runtime(model: "RuntimeModel", candidates: "DataFrame | pd.DataFrame", *, spark: "SparkSession | None" = None) -> "pd.DataFrame":
    """`candidates` (same columns as runs, runtime_ms not needed) with `predicted_runtime_ms` and its calibrated
    80% interval added (`runtime_low_ms`, `runtime_high_ms`, `interval_level`, `size_seen`, `beyond_seen_sizes`,
    `confidence_label`; see docs/models.md). Models fitted on the driver need no Spark session."""
    import pandas as pd

    from spark_optimizer.ml.runtime_model import with_run_defaults

    frame = candidates if not hasattr(candidates, "toPandas") else candidates.toPandas()
    frame = with_run_defaults(frame.reset_index(drop=True))
    if spark is None and model.forest.spark_model is not None:
        from spark_optimizer.session import get_or_create_spark

        spark = get_or_create_spark()
    return pd.concat([frame, model.predict_interval(spark, frame)], axis=1)


def build_recommendations(*, warehouse: str | None = None, spark: "SparkSession | None" = None,
                          objective: str = "balanced", cloud: str = "aws") -> "BuildSummary":
    """Build the `recommendations` table from what `train` fitted (the step between `train` and
    `recommend`; the CLI's `spark-optimizer build-recommendations`).

    Example::

        train(warehouse="/tmp/wh")
        build_recommendations(warehouse="/tmp/wh").job_type_rows
    """
    from spark_optimizer.recommender.build import build_recommendations as build

    ctx = _context(warehouse, spark)
    return build(ctx.spark, ctx.store, ctx.settings, _now(), objective=objective, cloud=cloud)


def recommend(*, job_type: str | None = None, signature: str | None = None, app_name: str | None = None,
              input_size: "str | int | None" = None, deadline: "str | float | None" = None, budget: float | None = None,
              objective: str | None = None, cloud: str = "aws", spot: bool = False,
              candidates: "list[dict] | pd.DataFrame | None" = None, warehouse: str | None = None) -> "LookupAnswer":
    """The configuration for one job (`signature` or `app_name`) or a `job_type` at an input size,
    from the `recommendations` table (run `train` and `build_recommendations` first).
    `input_size` is bytes or text such as "10GB" (default for a job: its typical input); `deadline`
    is seconds or text such as "30m"; `objective` is balanced, cheapest-within-deadline or
    fastest-within-budget; `cloud` is aws, gcp, azure, databricks or all. `candidates` (dicts or a pandas
    DataFrame with instance_type and optionally nodes, executors, executor_cores, executor_memory_mb, cloud)
    ranks those configurations instead of searching: `answer.row["ranking"]`. No JVM is started.

    Example::

        answer = recommend(job_type="etl", input_size="10GB", deadline="30m", warehouse="/tmp/wh")
        answer.row["spark_submit"], answer.row["predicted_cost"], answer.row["recommendation_id"]
    """
    from spark_optimizer.config import load_settings
    from spark_optimizer.recommender.lookup import lookup
    from spark_optimizer.units import parse_duration_ms, parse_size_bytes

    size = parse_size_bytes(input_size) if isinstance(input_size, str) else input_size
    deadline_s = parse_duration_ms(deadline) / 1000 if isinstance(deadline, str) else deadline
    if budget is not None and budget <= 0:
        raise ValueError(f"budget must be a positive amount, not {budget}")
    return lookup(load_settings(warehouse=warehouse), input_bytes=size, job_type=job_type, signature=signature,
                  app_name=app_name, deadline_s=deadline_s, budget=budget, objective=objective, cloud=cloud, spot=spot,
                  candidates=candidates.to_dict("records") if hasattr(candidates, "to_dict") else candidates)


def feedback(recommendation_id: str, runtime: "str | int", *, cost: float | None = None, app_id: str | None = None,
             note: str | None = None, warehouse: str | None = None, recorded_at: datetime | None = None) -> "FeedbackRecord":
    """Record how a run that applied `recommendation_id` went: `runtime` in ms or text such as "12m",
    `cost` in the catalogue's currency. Ids from `recommend` carry their configuration, so the run
    also joins `runs` and the next `train` learns from it. No JVM is started.

    Example::

        record = feedback("rec-1a2b3c4d5e6f~e4c4m8192p64i10240", "12m", cost=3.5, warehouse="/tmp/wh")
        record.runtime_error  # +0.2 means 20% slower than predicted
    """
    from spark_optimizer.config import load_settings
    from spark_optimizer.recommender.feedback import record_feedback
    from spark_optimizer.units import parse_duration_ms

    runtime_ms = parse_duration_ms(runtime) if isinstance(runtime, str) else int(runtime)
    return record_feedback(load_settings(warehouse=warehouse), recommendation_id, runtime_ms, recorded_at or _now(),
                           cost=cost, app_id=app_id, note=note)
