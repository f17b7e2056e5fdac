"""Rules about how work is cut into tasks: skew, partition counts, task length, long tails, files."""

from __future__ import annotations

import math
from typing import Any, Mapping

from spark_optimizer.rules.model import MB, AppFacts, Finding, severity_for


def _app_task_time(facts: AppFacts) -> float:
    return sum(s.get("task_time_ms") or 0 for s in facts.stages) or 1.0


def data_skew(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    total = _app_task_time(facts)
    skewed = []
    for s in facts.stages:
        ratio = s.get("task_duration_skew_ratio")
        data_ratio = max(s.get("shuffle_read_skew_ratio") or 0, s.get("input_skew_ratio") or 0)
        # Slow tasks without bigger inputs are stragglers, not data skew (see speculation); with no
        # byte metrics at all, only a stronger time signal counts.
        has_bytes = bool(s.get("shuffle_read_bytes_median") or s.get("input_bytes_median"))
        if has_bytes and data_ratio < p["min_data_skew_ratio"]:
            continue
        if not has_bytes and (ratio or 0) < p["severity"][1]:
            continue
        if (ratio and ratio >= p["severity"][0] and (s.get("task_count") or 0) >= p["min_tasks"]
                and (s.get("task_time_ms") or 0) >= p["min_task_time_share"] * total and facts.significant(s, p)
                and (s.get("task_duration_ms_max") or 0) >= p["min_max_task_ms"]):
            skewed.append(s)
    if not skewed:
        return None
    worst = max(skewed, key=lambda s: s["task_duration_skew_ratio"])
    ratio = worst["task_duration_skew_ratio"]
    severity = severity_for(ratio, p["severity"])
    if severity is None:
        return None
    median_read = worst.get("shuffle_read_bytes_median") or 0
    max_read = worst.get("shuffle_read_bytes_max") or 0
    data_ratio = (max_read / median_read) if median_read else None
    # Split partitions larger than ~5x the median, and never below 64 MB.
    factor = max(2, min(10, math.floor(ratio / 2)))
    threshold_mb = max(64, math.ceil(median_read * factor / MB)) if median_read else 256
    return Finding(
        "data_skew", "skew", severity, f"Stage {worst['stage_id']}: the slowest task takes {ratio:.1f}x the median",
        {"stage_id": worst["stage_id"], "task_duration_ms_max": worst.get("task_duration_ms_max"),
         "task_duration_ms_median": worst.get("task_duration_ms_median"), "duration_skew_ratio": round(ratio, 2),
         "shuffle_read_bytes_max": max_read, "shuffle_read_bytes_median": median_read,
         "shuffle_read_skew_ratio": round(data_ratio, 2) if data_ratio else None},
        {"spark.sql.adaptive.enabled": "true", "spark.sql.adaptive.skewJoin.enabled": "true",
         "spark.sql.adaptive.skewJoin.skewedPartitionFactor": str(factor),
         "spark.sql.adaptive.skewJoin.skewedPartitionThresholdInBytes": f"{threshold_mb}m"},
        "A few oversized partitions set the stage's duration; let AQE split them, or salt the hot join/group key "
        "(append a random 0..N-1 suffix and aggregate twice) when the skew is not in a join.",
        [s["stage_id"] for s in skewed],
    )


def too_many_shuffle_partitions(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    stages = [s for s in facts.shuffle_stages() if (s.get("task_count") or 0) >= p["min_tasks"] and facts.significant(s, p)]
    if not stages:
        return None
    heaviest = max(stages, key=lambda s: s.get("task_count") or 0)
    median_mb = (heaviest.get("shuffle_read_bytes_median") or 0) / MB
    severity = severity_for(median_mb, p["severity"], higher_is_worse=False)
    if severity is None:
        return None
    # From the bytes this stage actually shuffled: ~target MB per partition.
    total_read = heaviest.get("shuffle_read_bytes") or 0
    target = max(1, math.ceil(total_read / (p["target_partition_mb"] * MB)))
    if target >= (heaviest.get("task_count") or 0):
        return None
    return Finding(
        "too_many_shuffle_partitions", "parallelism", severity,
        f"Stage {heaviest['stage_id']}: {heaviest['task_count']} shuffle tasks read "
        + (f"{median_mb * 1024:.1f} KB" if median_mb < 0.1 else f"{median_mb:.2f} MB") + " each (median)",
        {"stage_id": heaviest["stage_id"], "tasks": heaviest["task_count"], "median_shuffle_read_mb": round(median_mb, 3),
         "stage_shuffle_read_bytes": total_read, "shuffle_partitions_conf": facts.conf_value("spark.sql.shuffle.partitions"),
         "stage_wall_share": round((heaviest.get("duration_ms") or 0) / (facts.metrics.get("wall_ms") or 1), 3)},
        {"spark.sql.shuffle.partitions": str(target), "spark.sql.adaptive.coalescePartitions.enabled": "true",
         "spark.sql.adaptive.advisoryPartitionSizeInBytes": f"{p['target_partition_mb']}m"},
        f"Each task costs scheduling and shuffle-file overhead; ~{p['target_partition_mb']} MB per partition "
        f"needs {target} partitions for this shuffle volume.",
        [heaviest["stage_id"]],
    )


def too_few_shuffle_partitions(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    share_only = {**p, "min_stage_tasks": 0}  # few tasks is this rule's very problem
    stages = [s for s in facts.shuffle_stages() if facts.significant(s, share_only)]
    if not stages:
        return None
    worst = max(stages, key=lambda s: s.get("shuffle_read_bytes_max") or 0)
    max_mb = (worst.get("shuffle_read_bytes_max") or 0) / MB
    severity = severity_for(max_mb, p["severity"])
    if severity is None:
        return None
    target = math.ceil((worst.get("shuffle_read_bytes") or 0) / (p["target_partition_mb"] * MB))
    if target <= (worst.get("task_count") or 0):  # the bytes do not call for more partitions: one task got more than its share (skew)
        return None
    return Finding(
        "too_few_shuffle_partitions", "parallelism", severity,
        f"Stage {worst['stage_id']}: a shuffle task reads {max_mb:.0f} MB",
        {"stage_id": worst["stage_id"], "max_shuffle_read_mb": round(max_mb, 1), "tasks": worst.get("task_count"),
         "stage_shuffle_read_bytes": worst.get("shuffle_read_bytes")},
        {"spark.sql.shuffle.partitions": str(target), "spark.sql.adaptive.enabled": "true"},
        f"Partitions this large spill and stall on one task; ~{p['target_partition_mb']} MB per partition gives {target}.",
        [worst["stage_id"]],
    )


def tasks_too_short(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    task_count = facts.app.get("task_count") or 0
    median = facts.metrics.get("median_task_ms")
    if task_count < p["min_tasks"] or median is None:
        return None
    severity = severity_for(median, p["severity"], higher_is_worse=False)
    if severity is None:
        return None
    busiest = max(facts.stages, key=lambda s: s.get("task_count") or 0)
    factor = max(2, math.ceil(p["target_task_ms"] / max(median, 1)))
    target = max(facts.total_cores * 2, math.ceil((busiest.get("task_count") or 0) / factor))
    return Finding(
        "tasks_too_short", "parallelism", severity,
        f"{task_count} tasks with a median of {median:.0f} ms: scheduling overhead dominates",
        {"task_count": task_count, "median_task_ms": round(median, 1), "busiest_stage_id": busiest.get("stage_id"),
         "busiest_stage_tasks": busiest.get("task_count"),
         "scheduler_delay_ms": facts.metrics.get("scheduler_delay_ms")},
        {"spark.sql.shuffle.partitions": str(target), "spark.sql.adaptive.coalescePartitions.enabled": "true",
         "spark.sql.files.maxPartitionBytes": f"{min(1024, 128 * factor)}m"},
        f"Tasks under ~{p['target_task_ms']} ms spend much of their life being scheduled and deserialized; "
        f"cut the task count about {factor}x.",
        [busiest.get("stage_id")],
    )


def under_parallelized(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    """Fewer tasks than cores where the task time is: tasks per core averaged over stages weighted by
    their task time (a 1-task listing stage does not speak for the 1205-task stages doing the work)."""
    cores = facts.total_cores
    weighted = facts.metrics.get("tasks_per_core")
    if cores <= 1 or weighted is None:
        return None
    severity = severity_for(weighted, p["severity"], higher_is_worse=False)
    if severity is None:
        return None
    narrow = [s for s in facts.stages if (s.get("task_count") or 0) < cores and (s.get("duration_ms") or 0) >= p["min_stage_ms"]]
    if not narrow:
        return None
    heaviest = max(narrow, key=lambda s: s.get("task_time_ms") or 0)
    target = cores * p["partitions_per_core"]
    return Finding(
        "under_parallelized", "parallelism", severity,
        f"Weighted by task time, stages ran {weighted:.2f} tasks per core (stage {heaviest['stage_id']}: "
        f"{heaviest.get('task_count')} tasks on {cores} cores)",
        {"tasks_per_core_weighted": round(weighted, 3), "stage_id": heaviest["stage_id"], "tasks": heaviest.get("task_count"),
         "cores": cores, "stage_duration_ms": heaviest.get("duration_ms")},
        {"spark.sql.shuffle.partitions": str(target), "spark.default.parallelism": str(target)},
        f"Fewer tasks than cores leaves cores idle where the work is; ~{p['partitions_per_core']} tasks per core "
        f"also evens out stragglers.",
        [s["stage_id"] for s in narrow],
    )


def speculation_for_long_tail(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    if facts.conf_bool("spark.speculation", False):
        return None
    candidates = []
    for s in facts.stages:
        p95 = s.get("task_duration_p95_ratio")
        data = s.get("shuffle_read_skew_ratio") or s.get("input_skew_ratio") or 1.0
        if (p95 and (s.get("task_count") or 0) >= p["min_tasks"] and data <= p["max_data_skew"]
                and (s.get("task_duration_ms_median") or 0) >= p["min_median_task_ms"] and facts.significant(s, p)):
            candidates.append(s)
    if not candidates:
        return None
    worst = max(candidates, key=lambda s: s["task_duration_p95_ratio"])
    severity = severity_for(worst["task_duration_p95_ratio"], p["severity"])
    if severity is None:
        return None
    # Spark's default multiplier is 1.5; a larger one only launches copies for the worst stragglers.
    multiplier = min(4.0, max(1.5, round(worst["task_duration_p95_ratio"] / 2, 1)))
    return Finding(
        "speculation_for_long_tail", "reliability", severity,
        f"Stage {worst['stage_id']}: p95 task takes {worst['task_duration_p95_ratio']:.1f}x the median without bigger inputs",
        {"stage_id": worst["stage_id"], "p95_over_median": round(worst["task_duration_p95_ratio"], 2),
         "data_skew_ratio": worst.get("shuffle_read_skew_ratio") or worst.get("input_skew_ratio")},
        {"spark.speculation": "true", "spark.speculation.multiplier": str(multiplier), "spark.speculation.quantile": "0.9"},
        "Slow tasks with normal-sized inputs point at slow nodes or noisy neighbours; speculative copies cut the tail.",
        [s["stage_id"] for s in candidates],
    )


def small_files(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    writers = [s for s in facts.stages if (s.get("output_bytes") or 0) > 0]
    tasks = sum(s.get("task_count") or 0 for s in writers)
    if tasks < p["min_writing_tasks"]:
        return None
    written = sum(s.get("output_bytes") or 0 for s in writers)
    per_task_mb = written / tasks / MB
    severity = severity_for(per_task_mb, p["severity"], higher_is_worse=False)
    if severity is None:
        return None
    target_files = max(1, math.ceil(written / (128 * MB)))
    return Finding(
        "small_files", "sql", severity, f"{tasks} writing tasks wrote {per_task_mb:.2f} MB each on average",
        {"writing_tasks": tasks, "output_bytes": written, "mb_per_task": round(per_task_mb, 3)},
        {"spark.sql.adaptive.coalescePartitions.enabled": "true", "spark.sql.files.maxRecordsPerFile": "0",
         "spark.sql.shuffle.partitions": str(target_files)},
        f"Each task writes at least one file; ~128 MB files need about {target_files} writers "
        f"(or repartition({target_files}) before the write).",
        [s["stage_id"] for s in writers],
    )
