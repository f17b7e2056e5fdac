"""Outcomes of recommendations: `spark-optimizer feedback ID --runtime … --cost …` (no JVM), and
ingested applications whose conf carries spark.optimizer.recommendationId (linked at build time).

A CLI outcome whose id names a configuration (lookup ids carry one; table-row ids carry the row's)
also becomes a run in `runs` with source="feedback", so the next training learns from it.
Event-log outcomes are already runs (source="eventlog", with recommendation_id) and are only
recorded in `feedback` with their prediction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from spark_optimizer.config import Settings
from spark_optimizer.errors import SparkOptimizerError
from spark_optimizer.recommender.answer import parse_recommendation_id
from spark_optimizer.refs import attempt_ref
from spark_optimizer.recommender.lookup import (
    UnknownRecommendationError, predict_for_config, read_rows,
)


class FeedbackError(SparkOptimizerError):
    """Thrown when an outcome cannot be recorded (unknown id, nonsensical figures)."""


@dataclass(frozen=True)
class FeedbackRecord:
    feedback_id: str
    run_id: str | None
    predicted_runtime_ms: int | None
    runtime_error: float | None
    row: dict


def _prediction(settings: Settings, recommendation_id: str) -> tuple[dict, dict | None, int | None, float | None]:
    """(table row, configuration, predicted runtime ms, predicted cost) of an id."""
    row_id, config = parse_recommendation_id(recommendation_id)
    rows = read_rows(settings)
    row = next((r for r in rows if r["recommendation_id"] == row_id), None)
    if row is None:
        raise UnknownRecommendationError(
            f"recommendation {row_id} is not in {settings.warehouse}/recommendations; ids come from "
            "`spark-optimizer recommend` or the recommendations table (run `spark-optimizer build-recommendations`)")
    if config is None:
        config = {k: row[k] for k in ("executors", "executor_cores", "executor_memory_mb", "shuffle_partitions", "input_bytes")}
        return row, config, row["predicted_runtime_ms"], row["predicted_cost"]
    build = [r for r in rows if r["built_at"] == row["built_at"]]
    runtime_ms, cost = predict_for_config(row, build, config, settings)
    return row, config, int(runtime_ms), cost


def record_feedback(settings: Settings, recommendation_id: str, runtime_ms: int, recorded_at: datetime, *,
                    cost: float | None = None, app_id: str | None = None, note: str | None = None) -> FeedbackRecord:
    """Record the outcome of a run that applied `recommendation_id` (delta-rs, no JVM).

    Example::

        record_feedback(settings, "rec-1a2b3c4d5e6f~e4c4m8192p64i10240", 12 * 60_000, datetime.now(timezone.utc), cost=3.5)
    """
    import pyarrow as pa

    from spark_optimizer.tables import FEEDBACK, RUNS
    from spark_optimizer.tables.store import delta_rs_store

    if runtime_ms <= 0:
        raise FeedbackError(f"--runtime must be positive, found {runtime_ms} ms")
    if cost is not None and cost < 0:
        raise FeedbackError(f"--cost must be >= 0, found {cost}")
    row, config, predicted_ms, predicted_cost = _prediction(settings, recommendation_id)
    feedback_id = f"cli:{recommendation_id}:{int(recorded_at.timestamp() * 1000)}"
    run_id = None
    store = delta_rs_store(settings)
    if row["level"] == "signature":
        run_id = f"feedback:{feedback_id}"
        run = {"run_id": run_id, "source": "feedback", "job_signature": row["job_signature"], "job_type": row["job_type"],
               "app_name": row["app_name"], "start_time": recorded_at - timedelta(milliseconds=runtime_ms),
               "executors": config["executors"], "executor_cores": config["executor_cores"],
               "executor_memory_mb": config["executor_memory_mb"], "shuffle_partitions": config["shuffle_partitions"],
               "aqe_enabled": True, "input_bytes": config["input_bytes"], "runtime_ms": runtime_ms, "succeeded": True,
               "recommendation_id": recommendation_id, "updated_at": recorded_at}
        store.upsert(RUNS, pa.Table.from_pylist([run], schema=RUNS.arrow_schema()))
    error = (runtime_ms / predicted_ms - 1.0) if predicted_ms else None
    out = {"feedback_id": feedback_id, "recommendation_id": recommendation_id, "source": "cli", "app_id": app_id,
           "job_signature": row["job_signature"], "job_type": row["job_type"], **config,
           "predicted_runtime_ms": predicted_ms, "actual_runtime_ms": runtime_ms, "runtime_error": error,
           "predicted_cost": predicted_cost, "actual_cost": cost, "currency": row["currency"], "run_id": run_id,
           "note": note, "recorded_at": recorded_at}
    store.upsert(FEEDBACK, pa.Table.from_pylist([out], schema=FEEDBACK.arrow_schema()))
    return FeedbackRecord(feedback_id, run_id, predicted_ms, error, out)


def link_ingested_feedback(spark, store, recorded_at: datetime) -> int:
    """Feedback rows for ingested applications tagged with spark.optimizer.recommendationId (features.recommendation_id)."""
    import pyarrow as pa
    from pyspark.sql import functions as F

    from spark_optimizer.tables import FEATURES, FEEDBACK

    tagged = store.read(FEATURES).where(F.col("recommendation_id").isNotNull()).select(
        "app_id", "attempt_id", "recommendation_id", "job_signature", "job_type", "executors", "executor_cores",
        "executor_memory_mb", "shuffle_partitions", "input_bytes", "wall_ms", "status").collect()  # tagged runs only
    if not tagged:
        return 0
    rows = read_rows(store.settings)
    known = {r["recommendation_id"]: r for r in rows}
    out = []
    for t in tagged:
        try:
            row_id, config = parse_recommendation_id(t["recommendation_id"])
        except ValueError:
            continue  # a tag that is not ours
        row = known.get(row_id)
        predicted = cost = None
        if row is not None:
            if config is None:
                predicted, cost = row["predicted_runtime_ms"], row["predicted_cost"]
            else:
                build = [r for r in rows if r["built_at"] == row["built_at"]]
                predicted, cost = predict_for_config(row, build, config, store.settings)
        actual = t["wall_ms"] if t["status"] == "completed" else None
        out.append({"feedback_id": f"app:{t['app_id']}/{t['attempt_id']}", "recommendation_id": t["recommendation_id"],
                    "source": "eventlog", "app_id": t["app_id"], "job_signature": t["job_signature"], "job_type": t["job_type"],
                    "executors": t["executors"], "executor_cores": t["executor_cores"],
                    "executor_memory_mb": t["executor_memory_mb"], "shuffle_partitions": t["shuffle_partitions"],
                    "input_bytes": t["input_bytes"], "predicted_runtime_ms": None if predicted is None else int(predicted),
                    "actual_runtime_ms": actual, "runtime_error": (actual / predicted - 1) if actual and predicted else None,
                    "predicted_cost": cost, "currency": row["currency"] if row else None,
                    "run_id": attempt_ref(t["app_id"], t["attempt_id"]), "recorded_at": recorded_at})
    if out:
        store.upsert(FEEDBACK, pa.Table.from_pylist(out, schema=FEEDBACK.arrow_schema()))
    return len(out)
