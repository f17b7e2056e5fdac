"""Per-application efficiency metrics and bottleneck class, as DataFrame transforms over the
ingested tables (no collect of unbounded data)."""

from __future__ import annotations

import tomllib
from datetime import datetime
from functools import lru_cache
from typing import Mapping

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from spark_optimizer import defaults
from spark_optimizer.tables.app_metrics import APP_METRICS
from spark_optimizer.tables.instants import epoch_ms_column

KEY = ["app_id", "attempt_id"]

# Bottleneck thresholds (first match wins, most specific first).
DRIVER_BOUND_SHARE = 0.5
GC_BOUND_SHARE = 0.15
SKEW_RATIO = 5.0
SHUFFLE_WAIT_SHARE = 0.2
LOW_CPU_SHARE_OF_RUN = 0.5
SHORT_TASK_MS = 100.0
UNDER_PARALLEL_TASKS_PER_CORE = 1.0
SPILL_TASK_SHARE = 0.10  # spilling stages must hold this share of task time to make an app memory-bound


@lru_cache(maxsize=1)
def default_significance() -> Mapping[str, float]:
    """Which stages matter, as the packaged defaults/rules.toml [significance] says; a caller's own
    `significance` (the user's rules.toml) overrides it key by key."""
    return tomllib.loads(defaults.packaged(defaults.RULES).read_text())["significance"]


def _ratio(numerator: SparkColumn, denominator: SparkColumn) -> SparkColumn:
    return F.when(denominator > 0, numerator / denominator)


def _share(part: SparkColumn, whole: SparkColumn) -> SparkColumn:
    """part / whole, null when whole is 0 or when part exceeds whole (the log's figures disagree)."""
    return F.when((whole > 0) & (part <= whole), part / whole)


def _inconsistent(part: str, whole: str, what: str) -> SparkColumn:
    """The reason `_share(part, whole)` is null although both were logged, or null."""
    return F.when(
        (F.col(whole) > 0) & (F.col(part) > F.col(whole)),
        F.format_string(f"{what}: %s ms exceed the %s ms of executor run time they are part of (the log's own "
                        "figures are inconsistent: JVM GC and plugin/GPU work are not confined to a task's run time)",
                        F.format_number(F.col(part).cast("double"), 0), F.format_number(F.col(whole).cast("double"), 0)),
    )


def cpu_time_logged(cpu: str = "executor_cpu_time_ms", run: str = "executor_run_time_ms") -> SparkColumn:
    """Whether the log records executor CPU time: Spark before 2.1 does not (every task shows 0)."""
    return ~((F.coalesce(F.col(cpu), F.lit(0)) == 0) & (F.col(run) > 0))


CPU_NOT_LOGGED = ("cpu_share_of_run: no executor CPU time is logged for these tasks (Spark before 2.1 never logs it): "
                  "unknown, not 0")


def reasons_or_null(reasons: SparkColumn) -> SparkColumn:
    """The array of 'metric: reason' strings stored in `unknown_metrics`, null when empty."""
    return F.when(F.size(reasons) > 0, reasons)


def share_columns(frame: DataFrame, run: str, cpu: str, gc: str, fetch: str, accelerator: SparkColumn) -> DataFrame:
    """gc_share, cpu_share_of_run, shuffle_fetch_wait_share and `unknown_metrics` (why one is null)."""
    native = F.when(accelerator.isNotNull(), F.format_string(
        "cpu_share_of_run: %s runs work outside the JVM task threads; JVM CPU time does not measure it", accelerator))
    logged = cpu_time_logged(cpu, run)
    return (
        frame.withColumn("gc_share", _share(F.col(gc), F.col(run)))
        .withColumn("cpu_share_of_run", F.when(logged & accelerator.isNull(), _share(F.col(cpu), F.col(run))))
        .withColumn("shuffle_fetch_wait_share", _share(F.col(fetch), F.col(run)))
        .withColumn("unknown_metrics", F.filter(F.array(
            _inconsistent(gc, run, "gc_share: JVM GC time"),
            F.coalesce(F.when(~logged, F.lit(CPU_NOT_LOGGED)), native, _inconsistent(cpu, run, "cpu_share_of_run: CPU time")),
            _inconsistent(fetch, run, "shuffle_fetch_wait_share: shuffle fetch wait"),
        ), lambda reason: reason.isNotNull()))
    )


def accelerators(spark_conf: DataFrame, sql_executions: DataFrame) -> DataFrame:
    """app key -> accelerator: 'rapids' (NVIDIA RAPIDS GPU plugin), 'photon' (Databricks Photon) or
    'gluten' (Gluten/Velox native engine), from the plan nodes that ran (a configured plugin whose
    operators never ran leaves the work on the JVM) and, for Gluten, its plugin."""
    nodes = sql_executions.select(*KEY, F.explode("plan_node_names").alias("node")).select(
        *KEY,
        F.when(F.col("node").startswith("Gpu"), "rapids").when(F.col("node").startswith("Photon"), "photon")
        .when(F.col("node").rlike(r"Transformer$|^Velox"), "gluten").alias("accelerator"),
    )
    plugins = spark_conf.where((F.col("source") == "spark") & (F.col("key") == "spark.plugins")).select(
        *KEY,
        F.when(F.lower("value").contains("gluten"), "gluten").alias("accelerator"),
    )
    return nodes.unionByName(plugins).where(F.col("accelerator").isNotNull()).groupBy(*KEY).agg(
        F.min("accelerator").alias("accelerator"))


def executor_busy_time(tasks: DataFrame) -> DataFrame:
    """app key -> executor_busy_ms: the length of the union of all task intervals.

    Tasks sorted by launch time; a task opens a new busy island when it starts after every
    earlier task finished (running max of finish times over the preceding rows).
    """
    timed = tasks.where(F.col("launch_time").isNotNull() & F.col("finish_time").isNotNull()).select(
        *KEY, "task_id", epoch_ms_column("launch_time").alias("launch_ms"), epoch_ms_column("finish_time").alias("finish_ms"))
    ordered = Window.partitionBy(*KEY).orderBy("launch_ms", "task_id")
    previous_max_finish = F.max("finish_ms").over(ordered.rowsBetween(Window.unboundedPreceding, -1))
    islands = (
        timed.withColumn("prev_max_finish", previous_max_finish)
        .withColumn("new_island", (F.col("prev_max_finish").isNull() | (F.col("launch_ms") > F.col("prev_max_finish"))).cast("int"))
        .withColumn("island", F.sum("new_island").over(ordered.rowsBetween(Window.unboundedPreceding, 0)))
        .groupBy(*KEY, "island")
        .agg((F.max("finish_ms") - F.min("launch_ms")).alias("island_ms"))
    )
    return islands.groupBy(*KEY).agg(F.sum("island_ms").cast("long").alias("executor_busy_ms"))


def allocated_cores(applications: DataFrame, executors: DataFrame) -> DataFrame:
    """app key -> allocated_core_ms, idle_executor_count, peak memory figures.

    Workers are the non-driver executors; in local mode (no other executor) the driver is the worker.
    Executor times are clamped to the application's span: an incomplete application ends at its last
    event, and no cost is counted after it (or before it started).
    """
    app_end = applications.select(*KEY, epoch_ms_column("end_time").alias("end_ms"),
                                  epoch_ms_column("start_time").alias("start_ms"), "master")
    workers = executors.withColumn("add_ms", epoch_ms_column("add_time")).withColumn(
        "remove_ms", epoch_ms_column("remove_time")).join(app_end, KEY).where(~F.col("is_driver") | F.col("master").rlike(r"^local(\[|$)"))
    # An executor the log names without cores and without a task (a corrupted or partial event) held nothing we can count.
    workers = workers.where(F.col("total_cores").isNotNull() | (F.coalesce("task_count", F.lit(0)) > 0))

    def clamped(column: str, default: str) -> SparkColumn:
        return F.least(F.greatest(F.coalesce(column, default), F.col("start_ms")), F.col("end_ms"))

    alive_ms = F.greatest(F.lit(0), clamped("remove_ms", "end_ms") - clamped("add_ms", "start_ms"))
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


def significant_stage(significance: Mapping[str, float] | None = None) -> SparkColumn:
    """A stage that holds a meaningful share of the application: of its wall time (stage duration /
    app duration, `app_wall_ms`) and of its task time (`app_task_time`), with enough tasks to compare."""
    p = {**default_significance(), **(significance or {})}
    return (
        (F.col("task_count") >= p["min_stage_tasks"])
        & (F.col("task_time_ms") >= p["min_stage_task_share"] * F.col("app_task_time"))
        & (F.coalesce("duration_ms", F.lit(0)) >= p["min_stage_wall_share"] * F.col("app_wall_ms"))
    )


def with_app_shares(stages: DataFrame, applications: DataFrame) -> DataFrame:
    """Stages with `app_task_time` (the app's summed task time) and `app_wall_ms` (its duration)."""
    per_app = Window.partitionBy(*KEY)
    walls = applications.select(*KEY, F.col("duration_ms").alias("app_wall_ms"))
    return stages.join(walls, KEY, "left").withColumn("app_task_time", F.sum("task_time_ms").over(per_app))


def stage_shape(stages: DataFrame, applications: DataFrame, significance: Mapping[str, float] | None = None) -> DataFrame:
    """Spill share, typical task length, tasks per stage and the worst skewed stage that matters,
    all weighted by the stages' task time (a 2 s stage does not speak for a 20 min one)."""
    p = {**default_significance(), **(significance or {})}
    weighted = with_app_shares(stages, applications)
    skewed_enough = significant_stage(p) & (F.col("task_duration_ms_max") >= p["min_max_task_ms"])
    worst = Window.partitionBy(*KEY).orderBy(F.desc_nulls_last("skew"))
    ranked = weighted.withColumn("skew", F.when(skewed_enough, F.col("task_duration_skew_ratio"))).withColumn(
        "rank", F.row_number().over(worst)
    )
    weight = F.coalesce(F.col("task_time_ms"), F.lit(0)).cast("double")
    spilled = F.coalesce(F.col("disk_bytes_spilled"), F.lit(0)) > 0
    return ranked.groupBy(*KEY).agg(
        _ratio(F.sum(F.when(spilled, 1).otherwise(0)), F.count("*")).alias("spilled_stage_share"),
        _ratio(F.sum(F.when(spilled, weight).otherwise(0)), F.sum(weight)).alias("spilled_task_time_share"),
        _ratio(F.sum(F.col("task_duration_ms_median") * weight), F.sum(F.when(F.col("task_duration_ms_median").isNotNull(), weight)))
        .alias("median_task_ms"),
        F.max(F.when(F.col("rank") == 1, F.col("skew"))).alias("max_stage_skew_ratio"),
        F.max(F.when((F.col("rank") == 1) & F.col("skew").isNotNull(), F.col("stage_id"))).alias("max_skew_stage_id"),
        _ratio(F.sum(F.col("task_count") * weight), F.sum(weight)).alias("weighted_tasks_per_stage"),
    )


def bottleneck() -> SparkColumn:
    """The first class that fits, most specific first."""
    return (
        F.when(F.coalesce(F.col("task_run_ms"), F.lit(0)) == 0, F.lit("driver"))
        .when(F.col("driver_only_share") > DRIVER_BOUND_SHARE, "driver")
        .when(F.col("max_stage_skew_ratio") > SKEW_RATIO, "skew")
        .when((F.col("gc_share") > GC_BOUND_SHARE) | (F.col("spilled_task_time_share") >= SPILL_TASK_SHARE), "memory_gc")
        .when(F.col("shuffle_fetch_wait_share") > SHUFFLE_WAIT_SHARE, "shuffle")
        .when(F.col("median_task_ms") < SHORT_TASK_MS, "scheduling_overhead")
        .when(F.col("tasks_per_core") < UNDER_PARALLEL_TASKS_PER_CORE, "under_parallelized")
        .when(F.col("cpu_share_of_run") < LOW_CPU_SHARE_OF_RUN, "io")
        .when(F.col("cpu_share_of_run").isNull(), "unknown")
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
    scraped_peaks: DataFrame | None = None, labels: DataFrame | None = None, significance: Mapping[str, float] | None = None,
) -> DataFrame:
    """One `app_metrics` row per application attempt.

    `labels` (app key -> accelerator, from `accelerators`) marks GPU/native-engine runs, whose JVM
    CPU time does not measure their work. Incomplete applications (no ApplicationEnd) end at
    their last event; nothing after it is counted.

    Example::

        metrics = compute_app_metrics(store.read(APPLICATIONS), store.read(STAGES),
                                      store.read(TASKS), store.read(EXECUTORS), run_time)
    """
    apps = applications.select(
        *KEY, F.col("duration_ms").alias("wall_ms"), "executor_run_time_ms", "executor_cpu_time_ms",
        "jvm_gc_time_ms", "memory_bytes_spilled", "disk_bytes_spilled", "input_bytes", "output_bytes",
        "shuffle_read_bytes", "shuffle_write_bytes", "failed_task_count", "stage_retry_count", "executors_lost",
        "executor_memory_mb", "max_concurrent_cores", (F.col("status") == "incomplete").alias("incomplete"),
    )
    if labels is None:
        apps = apps.withColumn("accelerator", F.lit(None).cast("string"))
    else:
        apps = apps.join(labels, KEY, "left")
    m = (
        apps.join(executor_busy_time(tasks), KEY, "left")
        .join(allocated_cores(applications, executors), KEY, "left")
        .join(task_overheads(tasks), KEY, "left")
        .join(stage_shape(stages, applications, significance), KEY, "left")
        .withColumn("executor_busy_ms", F.least(F.coalesce("executor_busy_ms", F.lit(0)), F.col("wall_ms")).cast("long"))
        .withColumn("driver_only_ms", F.greatest(F.lit(0), F.col("wall_ms") - F.col("executor_busy_ms")).cast("long"))
        .withColumn("driver_only_share", _ratio(F.col("driver_only_ms"), F.col("wall_ms")))
        .withColumn("task_run_ms", F.col("executor_run_time_ms"))
        .withColumn("task_cpu_ms", F.when(cpu_time_logged(), F.col("executor_cpu_time_ms")))
        .withColumn("core_utilization", _share(F.col("task_run_ms"), F.col("allocated_core_ms")))
        .withColumn("cpu_utilization", F.when(F.col("accelerator").isNull(), _share(F.col("task_cpu_ms"), F.col("allocated_core_ms"))))
    )
    m = share_columns(m, "task_run_ms", "executor_cpu_time_ms", "jvm_gc_time_ms", "fetch_wait_ms", F.col("accelerator"))
    m = (
        m.withColumn("unknown_metrics", F.concat("unknown_metrics", F.filter(F.array(
            F.when((F.col("allocated_core_ms") > 0) & (F.col("task_run_ms") > F.col("allocated_core_ms")), F.lit(
                "core_utilization: task run time exceeds the core time executors were alive for (executor add/remove "
                "times in the log do not cover the tasks)")),
            F.when(F.col("peak_jvm_heap_bytes") > F.col("executor_memory_mb") * 1024 * 1024, F.lit(
                "heap_headroom_share: the peak heap exceeds spark.executor.memory (local mode runs tasks in the driver's "
                "heap, or the setting is not the heap that ran)")),
        ), lambda reason: reason.isNotNull())))
        .withColumn(
            "heap_headroom_share", 1 - _share(F.col("peak_jvm_heap_bytes"), F.col("executor_memory_mb") * 1024 * 1024)
        )
        .withColumn("tasks_per_core", _ratio(F.col("weighted_tasks_per_stage"), F.col("max_concurrent_cores")))
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
                1 - _share(F.col("peak_jvm_heap_bytes"), F.col("executor_memory_mb") * 1024 * 1024),
            )
        )
    else:
        m = m.withColumn("memory_peaks_source", source)
    m = m.withColumn("unknown_metrics", reasons_or_null(F.col("unknown_metrics"))).withColumn("bottleneck", bottleneck()).withColumn("skipped_reason", F.lit(None).cast("string"))
    return m.select([F.col(c.name).cast(s.dataType) for c, s in zip(APP_METRICS.columns, APP_METRICS.spark_schema())])
