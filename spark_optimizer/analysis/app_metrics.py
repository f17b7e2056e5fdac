"""Per-application efficiency metrics and bottleneck class, as DataFrame transforms over the
ingested tables (no collect of unbounded data)."""

from __future__ import annotations

from datetime import datetime

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from spark_optimizer.tables.app_metrics import APP_METRICS

KEY = ["app_id", "attempt_id"]

# Bottleneck thresholds (first match wins, most specific first).
DRIVER_BOUND_SHARE = 0.5
GC_BOUND_SHARE = 0.15
SKEW_RATIO = 5.0
SHUFFLE_WAIT_SHARE = 0.2
LOW_CPU_SHARE_OF_RUN = 0.5
SHORT_TASK_MS = 100.0
UNDER_PARALLEL_TASKS_PER_CORE = 1.0


def _ratio(numerator: SparkColumn, denominator: SparkColumn) -> SparkColumn:
    return F.when(denominator > 0, numerator / denominator)


def executor_busy_time(tasks: DataFrame) -> DataFrame:
    """app key -> executor_busy_ms: the length of the union of all task intervals.

    Tasks sorted by launch time; a task opens a new busy island when it starts after every
    earlier task finished (running max of finish times over the preceding rows).
    """
    timed = tasks.where(F.col("launch_time_ms").isNotNull() & F.col("finish_time_ms").isNotNull())
    ordered = Window.partitionBy(*KEY).orderBy("launch_time_ms", "task_id")
    previous_max_finish = F.max("finish_time_ms").over(ordered.rowsBetween(Window.unboundedPreceding, -1))
    islands = (
        timed.withColumn("prev_max_finish", previous_max_finish)
        .withColumn("new_island", (F.col("prev_max_finish").isNull() | (F.col("launch_time_ms") > F.col("prev_max_finish"))).cast("int"))
        .withColumn("island", F.sum("new_island").over(ordered.rowsBetween(Window.unboundedPreceding, 0)))
        .groupBy(*KEY, "island")
        .agg((F.max("finish_time_ms") - F.min("launch_time_ms")).alias("island_ms"))
    )
    return islands.groupBy(*KEY).agg(F.sum("island_ms").cast("long").alias("executor_busy_ms"))


def allocated_cores(applications: DataFrame, executors: DataFrame) -> DataFrame:
    """app key -> allocated_core_ms, idle_executor_count, peak memory figures.

    Workers are the non-driver executors; in local mode (no other executor) the driver is the worker.
    """
    app_end = applications.select(*KEY, "end_time_ms", "start_time_ms", "master")
    workers = executors.join(app_end, KEY).where(~F.col("is_driver") | F.col("master").rlike(r"^local(\[|$)"))
    alive_ms = F.greatest(
        F.lit(0),
        F.coalesce("remove_time_ms", "end_time_ms") - F.coalesce("add_time_ms", "start_time_ms"),
    )
    return workers.groupBy(*KEY).agg(
        F.sum(alive_ms * F.coalesce("total_cores", F.lit(1))).cast("double").alias("allocated_core_ms"),
        F.sum(F.when(~F.col("is_driver") & (F.col("task_count") == 0), 1).otherwise(0)).cast("int").alias("idle_executor_count"),
        F.max("peak_jvm_heap_bytes").alias("peak_jvm_heap_bytes"),
        F.max("peak_onheap_execution_bytes").alias("peak_execution_memory_bytes"),
        F.max("peak_onheap_storage_bytes").alias("peak_storage_memory_bytes"),
    )


def task_overheads(tasks: DataFrame) -> DataFrame:
    delay = F.greatest(
        F.lit(0),
        F.col("duration_ms") - F.col("executor_run_time_ms") - F.col("executor_deserialize_time_ms")
        - F.col("result_serialization_time_ms") - F.coalesce("getting_result_time_ms", F.lit(0)),
    )
    return tasks.groupBy(*KEY).agg(
        F.sum(delay).cast("long").alias("scheduler_delay_ms"),
        F.sum("shuffle_fetch_wait_time_ms").alias("fetch_wait_ms"),
    )


def stage_shape(stages: DataFrame) -> DataFrame:
    """Spill share, typical task length, and the worst skewed stage that matters."""
    per_app = Window.partitionBy(*KEY)
    weighted = stages.withColumn("app_task_time", F.sum("task_time_ms").over(per_app))
    significant = (F.col("task_count") >= 10) & (F.col("task_time_ms") >= 0.1 * F.col("app_task_time"))
    worst = Window.partitionBy(*KEY).orderBy(F.desc_nulls_last("skew"))
    ranked = weighted.withColumn("skew", F.when(significant, F.col("task_duration_skew_ratio"))).withColumn(
        "rank", F.row_number().over(worst)
    )
    return ranked.groupBy(*KEY).agg(
        _ratio(F.sum(F.when(F.col("disk_bytes_spilled") > 0, 1).otherwise(0)), F.count("*")).alias("spilled_stage_share"),
        _ratio(F.sum(F.col("task_duration_ms_median") * F.col("successful_task_count")), F.sum("successful_task_count")).alias(
            "median_task_ms"
        ),
        F.max(F.when(F.col("rank") == 1, F.col("skew"))).alias("max_stage_skew_ratio"),
        F.max(F.when((F.col("rank") == 1) & F.col("skew").isNotNull(), F.col("stage_id"))).alias("max_skew_stage_id"),
        F.avg("task_count").alias("avg_tasks_per_stage"),
    )


def bottleneck() -> SparkColumn:
    """The first class that fits, most specific first."""
    return (
        F.when(F.coalesce(F.col("task_run_ms"), F.lit(0)) == 0, F.lit("driver"))
        .when(F.col("driver_only_share") > DRIVER_BOUND_SHARE, "driver")
        .when(F.col("max_stage_skew_ratio") > SKEW_RATIO, "skew")
        .when((F.col("gc_share") > GC_BOUND_SHARE) | (F.col("disk_bytes_spilled") > 0), "memory_gc")
        .when(F.col("shuffle_fetch_wait_share") > SHUFFLE_WAIT_SHARE, "shuffle")
        .when(F.col("median_task_ms") < SHORT_TASK_MS, "scheduling_overhead")
        .when(F.col("tasks_per_core") < UNDER_PARALLEL_TASKS_PER_CORE, "under_parallelized")
        .when(F.col("cpu_share_of_run") < LOW_CPU_SHARE_OF_RUN, "io")
        .when(F.col("cpu_share_of_run") >= 0.8, "cpu")
        .otherwise("balanced")
    )


# executor_metrics names that stand for heap and execution-memory peaks (Prometheus collector).
HEAP_METRICS = ("peak_jvm_heap_bytes", "jvm_heap_used_bytes")
EXECUTION_METRICS = ("peak_execution_memory_onheap_bytes", "execution_memory_onheap_bytes")


def metric_peaks(executor_metrics: DataFrame) -> DataFrame:
    """app key -> peak heap and execution memory seen in scraped metrics (Prometheus)."""
    return executor_metrics.groupBy(*KEY).agg(
        F.max(F.when(F.col("metric").isin(*HEAP_METRICS), F.col("value"))).cast("long").alias("scraped_heap_bytes"),
        F.max(F.when(F.col("metric").isin(*EXECUTION_METRICS), F.col("value"))).cast("long").alias("scraped_execution_bytes"),
    )


def compute_app_metrics(
    applications: DataFrame, stages: DataFrame, tasks: DataFrame, executors: DataFrame, analyzed_at: datetime,
    scraped_peaks: DataFrame | None = None,
) -> DataFrame:
    """One `app_metrics` row per application attempt.

    Example::

        metrics = compute_app_metrics(store.read(APPLICATIONS), store.read(STAGES),
                                      store.read(TASKS), store.read(EXECUTORS), run_time)
    """
    apps = applications.select(
        *KEY, F.col("duration_ms").alias("wall_ms"), "executor_run_time_ms", "executor_cpu_time_ms",
        "jvm_gc_time_ms", "memory_bytes_spilled", "disk_bytes_spilled", "input_bytes", "output_bytes",
        "shuffle_read_bytes", "shuffle_write_bytes", "failed_task_count", "stage_retry_count", "executors_lost",
        "executor_memory_mb", "max_concurrent_cores",
    )
    m = (
        apps.join(executor_busy_time(tasks), KEY, "left")
        .join(allocated_cores(applications, executors), KEY, "left")
        .join(task_overheads(tasks), KEY, "left")
        .join(stage_shape(stages), KEY, "left")
        .withColumn("executor_busy_ms", F.coalesce("executor_busy_ms", F.lit(0)).cast("long"))
        .withColumn("driver_only_ms", F.greatest(F.lit(0), F.col("wall_ms") - F.col("executor_busy_ms")).cast("long"))
        .withColumn("driver_only_share", _ratio(F.col("driver_only_ms"), F.col("wall_ms")))
        .withColumn("task_run_ms", F.col("executor_run_time_ms"))
        .withColumn("task_cpu_ms", F.col("executor_cpu_time_ms"))
        .withColumn("core_utilization", _ratio(F.col("task_run_ms"), F.col("allocated_core_ms")))
        .withColumn("cpu_utilization", _ratio(F.col("task_cpu_ms"), F.col("allocated_core_ms")))
        .withColumn("cpu_share_of_run", _ratio(F.col("task_cpu_ms"), F.col("task_run_ms")))
        .withColumn("gc_share", _ratio(F.col("jvm_gc_time_ms"), F.col("task_run_ms")))
        .withColumn("shuffle_fetch_wait_share", _ratio(F.col("fetch_wait_ms"), F.col("task_run_ms")))
        .withColumn(
            "heap_headroom_share", 1 - _ratio(F.col("peak_jvm_heap_bytes"), F.col("executor_memory_mb") * 1024 * 1024)
        )
        .withColumn("tasks_per_core", _ratio(F.col("avg_tasks_per_stage"), F.col("max_concurrent_cores")))
        .withColumn("wasted_core_hours", F.greatest(F.lit(0.0), F.col("allocated_core_ms") - F.col("task_run_ms")) / 3.6e6)
        .withColumn("analyzed_at", F.lit(analyzed_at).cast("timestamp"))
    )
    # Event logs often lack memory peaks (executor metrics polling off); scraped metrics fill them.
    source = F.when(F.col("peak_jvm_heap_bytes").isNotNull(), F.lit("event_log"))
    if scraped_peaks is not None:
        m = (
            m.join(scraped_peaks, KEY, "left")
            .withColumn("memory_peaks_source", source.when(F.col("scraped_heap_bytes").isNotNull(), F.lit("prometheus")))
            .withColumn("peak_jvm_heap_bytes", F.coalesce("peak_jvm_heap_bytes", "scraped_heap_bytes"))
            .withColumn("peak_execution_memory_bytes", F.coalesce("peak_execution_memory_bytes", "scraped_execution_bytes"))
            .withColumn(
                "heap_headroom_share",
                1 - _ratio(F.col("peak_jvm_heap_bytes"), F.col("executor_memory_mb") * 1024 * 1024),
            )
        )
    else:
        m = m.withColumn("memory_peaks_source", source)
    m = m.withColumn("bottleneck", bottleneck())
    return m.select([F.col(c.name).cast(s.dataType) for c, s in zip(APP_METRICS.columns, APP_METRICS.spark_schema())])
