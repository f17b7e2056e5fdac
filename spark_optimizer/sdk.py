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

from datetime import datetime
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


def _context(warehouse: str | None, spark: "SparkSession | None" = None):
    from spark_optimizer.config import load_settings
    from spark_optimizer.context import AppContext

    return AppContext(load_settings(warehouse=warehouse), spark=spark)


def ingest(event_log_dir: str, *, warehouse: str | None = None, spark: "SparkSession | None" = None,
           force: bool = False) -> "IngestSummary":
    """Ingest the event logs under a folder, file or Hadoop-FS URI into the Delta tables.

    Example::

        summary = ingest("s3a://logs/spark-events", warehouse="s3a://bucket/optimizer")
        summary.exit_code, summary.failed
    """
    return _context(warehouse, spark).ingest.run(event_log_dir, force=force).summary


def analyze(app_id: str | None = None, *, warehouse: str | None = None, spark: "SparkSession | None" = None,
            executor_counts: list[int] | None = None) -> "dict[str, Any] | AnalyzeSummary":
    """Without `app_id`: analyze every application ingested since the last analysis and return the
    summary. With `app_id` ("APP_ID" or "APP_ID/ATTEMPT"): that application's report (summary,
    bottleneck, findings with configuration changes, `spark_submit_conf`, what-if at `executor_counts`).

    Example::

        report = analyze("application_1700000000000_0042", warehouse="/tmp/wh")
        [f["title"] for f in report["findings"]]
    """
    ctx = _context(warehouse, spark)
    return ctx.analyze.run().summary if app_id is None else ctx.analyze.report(app_id, executor_counts)


def train(*, warehouse: str | None = None, spark: "SparkSession | None" = None, external_runs: "DataFrame | None" = None,
          external_source: str = "external", folds: int = 3) -> "TrainSummary":
    """Analyze what is new, refresh features and runs (plus `external_runs`, a Spark or pandas DataFrame
    with the runs table's required columns; files with other columns go through `add_runs`), train the
    runtime and resource models and log them to MLflow. `summary.skipped_line()` says which runs were left out and why.

    Example::

        summary = train(warehouse="/tmp/wh")
        summary.metrics["selected_validation_mape"], summary.runtime_model_version
    """
    return _context(warehouse, spark).train.run(folds, external_runs, external_source).summary


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
    spark = getattr(runs, "sparkSession", None)
    return _context(warehouse, spark).add_runs.run(runs, mapping, job).summary


def similar(app_id: str, k: int = 5, *, warehouse: str | None = None, spark: "SparkSession | None" = None) -> list[dict[str, Any]]:
    """The k historical runs most similar to one application, best first, each with `similarity`,
    `distance`, `job_signature` and `differences` (what differed most).

    Example::

        [(r["app_id"], r["similarity"], r["differences"]) for r in similar("local-1700000000000", k=3)]
    """
    return _context(warehouse, spark).report.similar(app_id, k).data["similar"]


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
    return _context(warehouse, spark).build_recommendations.run(objective, cloud).summary


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
    return _context(warehouse).recommend.run(
        input_size=input_size, job_type=job_type, signature=signature, app_name=app_name, deadline=deadline,
        budget=budget, objective=objective, cloud=cloud, spot=spot, candidates=candidates).summary


def feedback(recommendation_id: str, runtime: "str | int", *, cost: float | None = None, app_id: str | None = None,
             note: str | None = None, warehouse: str | None = None, recorded_at: datetime | None = None) -> "FeedbackRecord":
    """Record how a run that applied `recommendation_id` went: `runtime` in ms or text such as "12m",
    `cost` in the catalogue's currency. Ids from `recommend` carry their configuration, so the run
    also joins `runs` and the next `train` learns from it. No JVM is started.

    Example::

        record = feedback("rec-1a2b3c4d5e6f~e4c4m8192p64i10240", "12m", cost=3.5, warehouse="/tmp/wh")
        record.runtime_error  # +0.2 means 20% slower than predicted
    """
    return _context(warehouse).feedback.run(recommendation_id, runtime, cost=cost, app_id=app_id, note=note,
                                            recorded_at=recorded_at).summary
