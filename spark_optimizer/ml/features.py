"""The `features` table: one vector per application attempt, from the ingested and analyzed tables."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_optimizer.ml.signature import (
    JOB_TYPE_TAG, JOB_TYPES, RECOMMENDATION_TAG, SIGNATURE_TAG, inferred_job_type, name_key, structure_hash, structure_parts,
)
from spark_optimizer.spark_rules import (
    DEFAULT_DRIVER_MEMORY_MB, DEFAULT_EXECUTOR_MEMORY_MB, DEFAULT_SHUFFLE_PARTITIONS, LOCAL_MASTER_PATTERN, MEMORY_OVERHEAD_FACTOR,
    MEMORY_OVERHEAD_MIN_MB,
)
from spark_optimizer.tables import APP_METRICS, APPLICATIONS, FEATURES, SPARK_CONF, SQL_EXECUTIONS, STAGES
from spark_optimizer.tables.features import OPERATOR_CATEGORIES
from spark_optimizer.tables.store import TableStore, conform_dataframe

KEY = ["app_id", "attempt_id"]
MB = 1024 * 1024


def _ratio(numerator: SparkColumn, denominator: SparkColumn) -> SparkColumn:
    return F.when(denominator > 0, numerator / denominator)


def _tags(spark_conf: DataFrame) -> DataFrame:
    wanted = [SIGNATURE_TAG, JOB_TYPE_TAG, RECOMMENDATION_TAG, "spark.sql.adaptive.enabled"]
    props = spark_conf.where((F.col("source") == "spark") & F.col("key").isin(wanted))
    return props.groupBy(*KEY).agg(
        *[F.max(F.when(F.col("key") == k, F.trim(F.col("value")))).alias(k.replace(".", "_")) for k in wanted]
    )


def _aqe_default(spark_version: SparkColumn) -> SparkColumn:
    """AQE is on by default from Spark 3.2."""
    version = F.coalesce(spark_version, F.lit(""))

    def number(pattern: str) -> SparkColumn:
        # Logs without a version (Spark 1.x) or with an odd one give "": null, not a failed cast under ANSI mode.
        part = F.regexp_extract(version, pattern, 1)
        return F.when(part != "", part.cast("int"))

    major, minor = number(r"^(\d+)"), number(r"^\d+\.(\d+)")
    return F.coalesce((major > 3) | ((major == 3) & (minor >= 2)), F.lit(False))


def compute_features(
    applications: DataFrame,
    app_metrics: DataFrame,
    stages: DataFrame,
    sql_executions: DataFrame,
    spark_conf: DataFrame,
    computed_at: datetime,
) -> DataFrame:
    """Rows conforming to FEATURES for every application in `applications`.

    Example::

        compute_features(store.read(APPLICATIONS), store.read(APP_METRICS), store.read(STAGES),
                         store.read(SQL_EXECUTIONS), store.read(SPARK_CONF), datetime.now(timezone.utc))
    """
    c = F.col
    stage_shape = stages.groupBy(*KEY).agg(F.max("num_tasks").cast("long").alias("max_stage_tasks"))
    metrics = app_metrics.select(
        *KEY, "cpu_share_of_run", "gc_share", "shuffle_fetch_wait_share", "spilled_stage_share", "core_utilization",
        "peak_jvm_heap_bytes",
    )
    joined = (
        applications.join(structure_parts(stages, sql_executions), KEY, "left")
        .join(stage_shape, KEY, "left")
        .join(metrics, KEY, "left")
        .join(_tags(spark_conf), KEY, "left")
    )
    is_local = F.trim(F.coalesce(c("master"), F.lit(""))).rlike(LOCAL_MASTER_PATTERN)
    executors = F.when(is_local, F.lit(1)).otherwise(
        F.coalesce(c("max_concurrent_executors"), c("executor_instances_requested"), F.lit(1))
    ).cast("int")
    executor_cores = F.coalesce(c("executor_cores"), c("executor_cores_requested"), F.lit(1)).cast("int")
    memory_mb = F.coalesce(c("executor_memory_mb"), c("executor_memory_mb_requested"), F.lit(DEFAULT_EXECUTOR_MEMORY_MB)).cast("long")
    aqe_tag = F.lower(c("spark_sql_adaptive_enabled"))
    with_config = (
        joined.withColumn("name_key", name_key(c("app_name")))
        .withColumn("structure_hash", structure_hash(joined))
        .withColumn("executors", executors)
        .withColumn("executor_cores", executor_cores)
        .withColumn("total_cores", F.coalesce(c("max_concurrent_cores"), executors * executor_cores).cast("int"))
        .withColumn("executor_memory_mb", memory_mb)
        .withColumn(
            "memory_overhead_mb",
            F.coalesce(c("executor_memory_overhead_mb_requested"),
                       F.greatest(F.lit(MEMORY_OVERHEAD_MIN_MB), (memory_mb * MEMORY_OVERHEAD_FACTOR).cast("long"))).cast("long"),
        )
        .withColumn("driver_memory_mb", F.coalesce(c("driver_memory_mb_requested"), F.lit(DEFAULT_DRIVER_MEMORY_MB)).cast("long"))
        .withColumn("shuffle_partitions", F.coalesce(c("shuffle_partitions_conf"), F.lit(DEFAULT_SHUFFLE_PARTITIONS)).cast("int"))
        .withColumn("aqe_enabled", F.when(aqe_tag.isin("true", "false"), aqe_tag == "true").otherwise(_aqe_default(c("spark_version"))))
        .withColumn("dynamic_allocation", F.coalesce(c("dynamic_allocation_enabled"), F.lit(False)))
    )
    tagged_type = F.lower(c("spark_optimizer_jobType"))
    result = with_config.select(
        *KEY,
        "app_name",
        "name_key",
        "structure_hash",
        F.coalesce(c("spark_optimizer_signature"), F.concat_ws("#", c("name_key"), c("structure_hash"))).alias("job_signature"),
        F.when(tagged_type.isin(*JOB_TYPES), tagged_type).otherwise(inferred_job_type(with_config)).alias("job_type"),
        F.when(tagged_type.isin(*JOB_TYPES), F.lit("tag")).otherwise(F.lit("inferred")).alias("job_type_source"),
        "status",
        c("start_time"),
        c("duration_ms").alias("wall_ms"),
        "input_bytes",
        "output_bytes",
        "shuffle_read_bytes",
        "shuffle_write_bytes",
        c("disk_bytes_spilled").alias("spill_bytes"),
        _ratio(c("shuffle_write_bytes"), c("input_bytes")).alias("shuffle_input_ratio"),
        _ratio(c("output_bytes"), c("input_bytes")).alias("output_input_ratio"),
        "job_count",
        "stage_count",
        "task_count",
        "max_stage_tasks",
        "sql_execution_count",
        *[F.coalesce(c(f"op_{cat}"), F.lit(0)).alias(f"op_{cat}") for cat in OPERATOR_CATEGORIES],
        "cpu_share_of_run",
        "gc_share",
        "shuffle_fetch_wait_share",
        "spilled_stage_share",
        "core_utilization",
        "executors",
        "executor_cores",
        "total_cores",
        "executor_memory_mb",
        "memory_overhead_mb",
        "driver_memory_mb",
        "shuffle_partitions",
        "aqe_enabled",
        "dynamic_allocation",
        _ratio(F.coalesce(c("input_bytes"), F.lit(0)) + F.coalesce(c("shuffle_write_bytes"), F.lit(0)),
               c("executors") * c("executor_memory_mb") * F.lit(MB)).alias("data_per_memory"),
        c("peak_execution_memory_max_bytes").alias("peak_execution_memory_bytes"),
        "peak_jvm_heap_bytes",
        c("spark_optimizer_recommendationId").alias("recommendation_id"),
        F.lit(computed_at).cast("timestamp").alias("computed_at"),
    )
    return conform_dataframe(FEATURES, result)


def apps_needing_features(store: TableStore) -> list[tuple[str, str]]:
    """Application attempts analyzed after their features were last computed (or never computed)."""
    analyzed = store.read_arrow(APP_METRICS).select(KEY + ["analyzed_at"]).to_pylist() if store.exists(APP_METRICS) else []
    computed = {}
    if store.exists(FEATURES):
        computed = {(r["app_id"], r["attempt_id"]): r["computed_at"] for r in store.read_arrow(FEATURES).select(KEY + ["computed_at"]).to_pylist()}
    return sorted(
        (r["app_id"], r["attempt_id"]) for r in analyzed
        if (r["app_id"], r["attempt_id"]) not in computed or (r["analyzed_at"] and r["analyzed_at"] > computed[(r["app_id"], r["attempt_id"])])
    )


def refresh_features(spark: SparkSession, store: TableStore, computed_at: datetime) -> int:
    """Recompute the features of applications analyzed since their features were computed; returns how many."""
    keys = apps_needing_features(store)
    store.ensure(FEATURES)
    if not keys:
        return 0
    wanted = F.broadcast(spark.createDataFrame(keys, "app_id string, attempt_id string"))

    def read(spec):
        return store.read(spec).join(wanted, KEY, "left_semi")

    features = compute_features(read(APPLICATIONS), read(APP_METRICS), read(STAGES), read(SQL_EXECUTIONS), read(SPARK_CONF), computed_at)
    store.replace_rows(FEATURES, features, KEY, [{"app_id": a, "attempt_id": b} for a, b in keys])
    return len(keys)
