"""Job similarity with MLlib: features are log-scaled where they span orders of magnitude,
standardized (StandardScaler) and L2-normalized, so the cosine similarity of two runs is the dot
product of their vectors, computed in Spark SQL over the whole history (no Python UDF)."""

from __future__ import annotations

import math
from typing import Any

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import Normalizer, StandardScaler, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_optimizer.errors import SparkOptimizerError

KEY = ["app_id", "attempt_id"]
LOG_SCALED = ("input_bytes", "output_bytes", "shuffle_read_bytes", "shuffle_write_bytes", "spill_bytes", "task_count",
              "max_stage_tasks", "executor_memory_mb", "shuffle_partitions")
LINEAR = ("stage_count", "job_count", "sql_execution_count", "op_scan", "op_join", "op_aggregate", "op_sort", "op_window",
          "op_python", "op_write", "op_exchange", "cpu_share_of_run", "gc_share", "shuffle_fetch_wait_share",
          "spilled_stage_share", "executors", "executor_cores", "total_cores")
SIMILARITY_COLUMNS = tuple(f"log_{c}" for c in LOG_SCALED) + LINEAR


class SimilarityError(SparkOptimizerError):
    pass


def similarity_inputs(features: DataFrame) -> DataFrame:
    """features + the numeric similarity columns (nulls as 0)."""
    out = features
    for name in LOG_SCALED:
        out = out.withColumn(f"log_{name}", F.log1p(F.coalesce(F.col(name).cast("double"), F.lit(0.0))))
    for name in LINEAR:
        out = out.withColumn(name, F.coalesce(F.col(name).cast("double"), F.lit(0.0)))
    return out


def fit_similarity(features: DataFrame) -> PipelineModel:
    """Assemble, standardize and L2-normalize the similarity columns of `features`."""
    return Pipeline(stages=[
        VectorAssembler(inputCols=list(SIMILARITY_COLUMNS), outputCol="raw_vector"),
        StandardScaler(inputCol="raw_vector", outputCol="scaled_vector", withMean=True, withStd=True),
        Normalizer(inputCol="scaled_vector", outputCol="unit_vector", p=2.0),
    ]).fit(similarity_inputs(features))


def most_similar(features: DataFrame, app_id: str, attempt_id: str | None = None, k: int = 5,
                 model: PipelineModel | None = None) -> DataFrame:
    """The k runs most similar to one application attempt (itself excluded), best first, with
    `similarity` (cosine, -1..1) and `distance` (1 - similarity)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    target_filter = F.col("app_id") == app_id
    if attempt_id is not None:
        target_filter &= F.col("attempt_id") == attempt_id
    model = model or fit_similarity(features)
    vectors = model.transform(similarity_inputs(features)).withColumn("unit", vector_to_array("unit_vector"))
    target = vectors.where(target_filter).select(F.col("unit").alias("target_unit")).limit(1)
    if not target.take(1):
        raise SimilarityError(f"application {app_id!r} has no features; ingest and analyze it, then run `spark-optimizer train`")
    dot = F.aggregate(F.zip_with("unit", "target_unit", lambda a, b: a * b), F.lit(0.0), lambda acc, x: acc + x)
    return (
        vectors.where(~target_filter).crossJoin(F.broadcast(target))
        .withColumn("similarity", dot)
        .withColumn("distance", 1.0 - F.col("similarity"))
        .orderBy(F.desc("similarity"), "app_id")
        .limit(k)
        .drop("raw_vector", "scaled_vector", "unit_vector", "unit", "target_unit")
    )


def _describe(name: str, mine: Any, theirs: Any) -> str:
    label = name.replace("_", " ")
    if isinstance(mine, (int, float)) and isinstance(theirs, (int, float)) and mine and theirs and name in LOG_SCALED:
        ratio = theirs / mine
        return f"{label} {ratio:.1f}x" if ratio >= 1 else f"{label} {1 / ratio:.1f}x smaller"
    return f"{label} {theirs} vs {mine}"


def differences(target: dict, neighbour: dict, limit: int = 4) -> list[str]:
    """What differs most between two feature rows, largest relative change first."""
    scored = []
    for name in LOG_SCALED + LINEAR + ("aqe_enabled", "job_signature"):
        a, b = target.get(name), neighbour.get(name)
        if a == b or (a is None and b is None):
            continue
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            change = abs(math.log1p(abs(b)) - math.log1p(abs(a))) if name in LOG_SCALED else abs(b - a) / max(abs(a), abs(b), 1e-9)
        else:
            change = 1.0
        if change >= 0.05:
            scored.append((change, _describe(name, a, b)))
    return [text for _, text in sorted(scored, key=lambda x: -x[0])[:limit]]


def similar_runs(spark, store, app_id: str, attempt_id: str, k: int, computed_at) -> tuple[dict, list[dict]]:
    """(the target's feature row, its k most similar runs with `differences`), features refreshed first."""
    from spark_optimizer.ml.features import refresh_features
    from spark_optimizer.tables import FEATURES

    refresh_features(spark, store, computed_at)
    features = store.read(FEATURES)
    neighbours = [r.asDict() for r in most_similar(features, app_id, attempt_id, k).collect()]
    target = features.where((F.col("app_id") == app_id) & (F.col("attempt_id") == attempt_id)).first().asDict()
    return target, [{**n, "differences": differences(target, n)} for n in neighbours]
