"""Per-stage shares, bottleneck class and the critical path of stages of each job."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Mapping

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spark_optimizer.analysis.app_metrics import (
    GC_BOUND_SHARE, LOW_CPU_SHARE_OF_RUN, SHORT_TASK_MS, SHUFFLE_WAIT_SHARE, SKEW_RATIO, _ratio, _share, reasons_or_null, share_columns,
)
from spark_optimizer.tables.stage_metrics import STAGE_METRICS

KEY = ["app_id", "attempt_id"]


def critical_path(stages: Iterable[Mapping]) -> dict[int, tuple[bool, int]]:
    """stage_id -> (on its job's critical path, that path's length in ms).

    The critical path of a job is the chain of dependent stages (parent -> child) with the
    largest summed duration; stages that did not run in the job (skipped parents) are ignored.
    """
    by_job: dict[int, dict[int, Mapping]] = {}
    for s in stages:
        current = by_job.setdefault(s.get("job_id") if s.get("job_id") is not None else -1, {})
        # The last attempt of a stage stands for it.
        if s["stage_id"] not in current or (s.get("stage_attempt_id") or 0) > (current[s["stage_id"]].get("stage_attempt_id") or 0):
            current[s["stage_id"]] = s
    result: dict[int, tuple[bool, int]] = {}
    for job_stages in by_job.values():
        best: dict[int, tuple[int, int | None]] = {}  # stage -> (longest path ending here, predecessor)
        for stage_id in sorted(job_stages):  # parents have smaller ids than their children
            stage = job_stages[stage_id]
            parents = [int(p) for p in stage.get("parent_stage_ids") or [] if int(p) in best]
            before, via = max(((best[p][0], p) for p in parents), default=(0, None))
            best[stage_id] = (before + (stage.get("duration_ms") or 0), via)
        if not best:
            continue
        end = max(best, key=lambda s: best[s][0])
        length = best[end][0]
        on_path = set()
        node: int | None = end
        while node is not None:
            on_path.add(node)
            node = best[node][1]
        for stage_id in job_stages:
            result[stage_id] = (stage_id in on_path, length)
    return result


def compute_stage_metrics(spark: SparkSession, stages: DataFrame, applications: DataFrame, analyzed_at: datetime,
                          labels: DataFrame | None = None) -> DataFrame:
    """One `stage_metrics` row per stage attempt (`labels`: app key -> accelerator, see `accelerators`).

    Example::

        compute_stage_metrics(spark, store.read(STAGES), store.read(APPLICATIONS), run_time)
    """
    per_app = Window.partitionBy(*KEY)
    cores = applications.select(*KEY, "max_concurrent_cores", F.col("duration_ms").alias("app_wall_ms"))
    if labels is None:
        labels = applications.select(*KEY).withColumn("accelerator", F.lit(None).cast("string"))
    # An app-wide CPU-time gap (Spark < 2.1) leaves every stage's CPU share unknown, not only the idle ones.
    app_cpu = stages.groupBy(*KEY).agg(F.sum("executor_cpu_time_ms").alias("app_cpu_ms"), F.sum("executor_run_time_ms").alias("app_run_ms"))
    base = (
        stages.join(cores, KEY, "left").join(labels, KEY, "left").join(app_cpu, KEY, "left")
        .withColumn("task_time_share", _ratio(F.col("task_time_ms"), F.sum("task_time_ms").over(per_app)))
        .withColumn("wall_time_share", _share(F.col("duration_ms"), F.col("app_wall_ms")))
        .withColumn("cpu_for_share", F.when((F.coalesce("app_cpu_ms", F.lit(0)) == 0) & (F.col("app_run_ms") > 0), F.lit(0.0))
                    .otherwise(F.col("executor_cpu_time_ms")))
        .withColumn("tasks_per_core", _ratio(F.col("task_count"), F.col("max_concurrent_cores")))
    )
    base = share_columns(base, "executor_run_time_ms", "cpu_for_share", "jvm_gc_time_ms", "shuffle_fetch_wait_time_ms",
                         F.col("accelerator"))
    base = base.withColumn("unknown_metrics", reasons_or_null(F.col("unknown_metrics")))
    classified = base.withColumn(
        "bottleneck",
        F.when((F.col("task_count") >= 10) & (F.col("task_duration_skew_ratio") > SKEW_RATIO)
               & (F.col("task_duration_ms_max") >= 1000), F.lit("skew"))
        .when((F.col("gc_share") > GC_BOUND_SHARE) | (F.col("disk_bytes_spilled") > 0), "memory_gc")
        .when(F.col("shuffle_fetch_wait_share") > SHUFFLE_WAIT_SHARE, "shuffle")
        .when((F.col("task_count") >= 100) & (F.col("task_duration_ms_median") < SHORT_TASK_MS), "scheduling_overhead")
        .when((F.col("tasks_per_core") < 1) & (F.col("duration_ms") > 10_000), "under_parallelized")
        .when(F.col("cpu_share_of_run") < LOW_CPU_SHARE_OF_RUN, "io")
        .when(F.col("cpu_share_of_run") >= 0.8, "cpu")
        .when(F.col("cpu_share_of_run").isNull(), "unknown")
        .otherwise("balanced"),
    )
    path_schema = "app_id string, attempt_id string, stage_id long, on_critical_path boolean, critical_path_ms long"

    def paths(rows: Iterable) -> Iterable[tuple]:
        rows = list(rows)
        if not rows:
            return []
        marks = critical_path(r.asDict() for r in rows)
        return [(rows[0]["app_id"], rows[0]["attempt_id"], sid, on, length) for sid, (on, length) in marks.items()]

    dag = stages.select(*KEY, "stage_id", "stage_attempt_id", "job_id", "parent_stage_ids", "duration_ms")
    grouped = dag.rdd.keyBy(lambda r: (r["app_id"], r["attempt_id"])).groupByKey().flatMap(lambda kv: paths(kv[1]))
    marks = spark.createDataFrame(grouped, path_schema)
    result = classified.join(marks, KEY + ["stage_id"], "left").withColumn("analyzed_at", F.lit(analyzed_at).cast("timestamp"))
    return result.select([F.col(c.name).cast(f.dataType) for c, f in zip(STAGE_METRICS.columns, STAGE_METRICS.spark_schema())])
