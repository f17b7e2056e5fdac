"""Rules about memory: spill, GC, executor heap sized too big or too small, executors lost."""

from __future__ import annotations

import math
import re
from typing import Any, Mapping

from spark_optimizer.rules.model import MB, AppFacts, Finding, memory_mb_text, severity_for
from spark_optimizer.spark_rules import DEFAULT_EXECUTOR_MEMORY_MB, executor_memory_text, size_mb


def heap_use_share(facts: AppFacts) -> float | None:
    """Peak JVM heap / executor memory; None when unknown or above 1 (then the setting is not the heap
    that ran: local mode runs tasks in the driver's heap)."""
    peak, memory = facts.metrics.get("peak_jvm_heap_bytes"), facts.executor_memory_mb
    if not peak or not memory:
        return None
    share = peak / (memory * MB)
    return share if share <= 1 else None


def spill_to_disk(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    """Disk spill in stages that matter (a meaningful share of wall and task time); severity by the
    share of task time that spilled; more partitions only when the shuffled bytes call for them."""
    share_only = {**p, "min_stage_tasks": 0}  # a stage of few tasks spills as much as one of many
    spilled = [s for s in facts.stages if (s.get("disk_bytes_spilled") or 0) > 0 and facts.significant(s, share_only)]
    if not spilled:
        return None
    share = sum(s.get("task_time_ms") or 0 for s in spilled) / (facts.app_task_time_ms or 1)
    severity = severity_for(share, p["severity"]) or "low"
    worst = max(spilled, key=lambda s: s.get("disk_bytes_spilled") or 0)
    stage_bytes = worst.get("shuffle_read_bytes") or 0
    current = facts.conf_int("spark.sql.shuffle.partitions")
    change = {}
    by_bytes = math.ceil(stage_bytes / (p["target_partition_mb"] * MB))
    if stage_bytes and by_bytes > (worst.get("task_count") or current):
        change["spark.sql.shuffle.partitions"] = str(by_bytes)
    memory = facts.executor_memory_mb
    if memory:
        change["spark.executor.memory"] = executor_memory_text(memory * 1.5)
    spill_disk = sum(s.get("disk_bytes_spilled") or 0 for s in spilled)
    return Finding(
        "spill_to_disk", "memory", severity,
        f"{len(spilled)} of {len(facts.stages)} stages spilled {spill_disk / MB:.0f} MB to disk",
        {"spilled_stages": len(spilled), "stages": len(facts.stages), "disk_bytes_spilled": spill_disk,
         "spilled_task_time_share": round(share, 3),
         "memory_bytes_spilled": sum(s.get("memory_bytes_spilled") or 0 for s in spilled),
         "worst_stage_id": worst["stage_id"], "worst_stage_bytes": stage_bytes, "executor_memory_mb": memory},
        change,
        "Spilling writes and re-reads sorted runs; smaller partitions (more of them) or more execution memory "
        "per task keep them in memory.",
        [s["stage_id"] for s in spilled],
    )


def excessive_gc(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    share = facts.metrics.get("gc_share")
    if share is None or (facts.metrics.get("task_run_ms") or 0) < p["min_run_time_ms"]:
        return None
    severity = severity_for(share, p["severity"])
    if severity is None:
        return None
    memory = facts.executor_memory_mb
    heap_share = heap_use_share(facts)
    change = {}
    # A heap that never filled up is not too small: more of it would not cut collections.
    if memory and (heap_share is None or heap_share >= p["grow_heap_above_use_share"]):
        change["spark.executor.memory"] = executor_memory_text(memory * min(2.0, 1 + 2 * share))  # up to doubling it
    java_options = facts.conf_value("spark.executor.extraJavaOptions") or ""
    if "GC" not in java_options:  # the user's own collector choice stays
        change["spark.executor.extraJavaOptions"] = (java_options + " -XX:+UseG1GC").strip()
    return Finding(
        "excessive_gc", "memory", severity, f"Executors spent {share:.0%} of task time in JVM garbage collection",
        {"gc_share": round(share, 3), "jvm_gc_time_ms": facts.app.get("jvm_gc_time_ms"),
         "executor_run_time_ms": facts.metrics.get("task_run_ms"), "executor_memory_mb": memory,
         "heap_use_share": round(heap_share, 3) if heap_share is not None else None},
        change,
        "GC time is CPU not spent on tasks; a larger heap (when the heap did fill up) or fewer concurrent tasks per "
        "executor lowers collection pressure.",
    )


def executor_memory_overprovisioned(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    peak = facts.metrics.get("peak_jvm_heap_bytes")
    memory = facts.executor_memory_mb
    share = heap_use_share(facts)
    if share is None or memory < p["min_executor_memory_mb"] or (facts.app.get("disk_bytes_spilled") or 0) > 0:
        return None
    if share >= p["max_heap_use_share"]:
        return None
    recommended = executor_memory_text(peak / MB * p["headroom"])  # never below Spark's 450 MiB minimum
    change = {"spark.executor.memory": recommended}
    if facts.explicit_executor_overhead:  # sized for the old heap
        new_heap_mb = size_mb("spark.executor.memory", recommended)
        change["spark.executor.memoryOverhead"] = memory_mb_text(facts.executor_overhead_mb(new_heap_mb, keep_explicit=False))
    return Finding(
        "executor_memory_overprovisioned", "cost", "moderate" if share < 0.25 else "low",
        f"Peak executor heap was {share:.0%} of the {memory} MB requested",
        {"peak_jvm_heap_bytes": peak, "executor_memory_mb": memory, "heap_use_share": round(share, 3)},
        change,
        f"Unused heap is paid for; peak x {p['headroom']} keeps headroom for the next run's variation "
        "(Spark refuses less than 450 MiB; overhead: what Spark derives for the new heap, by default max(384 MiB, 10%)).",
    )


def executor_memory_underprovisioned(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    peak = facts.metrics.get("peak_jvm_heap_bytes")
    memory = facts.executor_memory_mb
    # JVM heap exhaustion only: GPU memory (RAPIDS) is failed_tasks' concern
    oom = sum(n for reason, n in facts.failure_reasons.items()
              if re.search(r"java\.lang\.OutOfMemoryError|exceeding (physical )?memory limits", reason))
    share = heap_use_share(facts)
    if not oom and (share is None or share < p["heap_use_share"]):
        return None
    memory = memory or DEFAULT_EXECUTOR_MEMORY_MB
    grown = memory * (p["increase"] if not oom else 1.5)
    # Never below the overhead the run had: an explicit one (Python, off-heap) may exceed the default's share of the heap.
    overhead = max(facts.executor_overhead_mb(memory), facts.executor_overhead_mb(grown, keep_explicit=False)) * (1.5 if oom else 1.0)
    return Finding(
        "executor_memory_underprovisioned", "memory", "severe" if oom else "moderate",
        f"Executors ran out of memory ({oom} OOM task failures)" if oom else f"Peak heap reached {share:.0%} of executor memory",
        {"oom_task_failures": oom, "peak_jvm_heap_bytes": peak, "executor_memory_mb": memory,
         "heap_use_share": round(share, 3) if share else None},
        {"spark.executor.memory": executor_memory_text(grown), "spark.executor.memoryOverhead": memory_mb_text(overhead)},
        "Tasks that hit the heap limit fail or thrash; more heap and overhead (off-heap, Python, netty) avoids retries.",
    )


_CONTAINER_MEMORY = re.compile(r"exceeding (physical )?memory limits|OOMKilled|exit code 137|Exit status: 137", re.I)
_PREEMPTION = re.compile(r"preempt|spot|decommission|node lost|worker lost", re.I)


def executor_loss(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    lost = [e for e in facts.executors if e.get("lost")]
    if not lost:
        return None
    severity = severity_for(len(lost), p["severity"]) or "low"
    reasons = [e.get("remove_reason") or "" for e in lost]
    change: dict[str, str] = {}
    if any(_CONTAINER_MEMORY.search(r) for r in reasons):
        memory = facts.executor_memory_mb or DEFAULT_EXECUTOR_MEMORY_MB
        overhead = facts.executor_overhead_mb(memory)
        change["spark.executor.memoryOverhead"] = memory_mb_text(overhead * p["overhead_increase"])
    if any(_PREEMPTION.search(r) for r in reasons):
        change.update({"spark.decommission.enabled": "true", "spark.storage.decommission.enabled": "true",
                       "spark.storage.decommission.shuffleBlocks.enabled": "true"})
    if not change:  # no cause in the reasons: keep work off the nodes that keep losing executors (not more retries)
        change = {"spark.excludeOnFailure.enabled": "true"}
    return Finding(
        "executor_loss", "reliability", severity, f"{len(lost)} executors were lost during the run",
        {"executors_lost": len(lost), "reasons": sorted({r[:160] for r in reasons})[:5]},
        change,
        "Lost executors take their cached data and shuffle files with them, forcing recomputation; "
        "fix the cause (container memory, preemption) rather than only retrying.",
    )
