"""Rules about memory: spill, GC, executor heap sized too big or too small, executors lost."""

from __future__ import annotations

import math
import re
from typing import Any, Mapping

from spark_optimizer.eventlog.fields import memory_mb
from spark_optimizer.rules.model import MB, AppFacts, Finding, memory_mb_text, severity_for


def _executor_memory_mb(facts: AppFacts) -> float | None:
    return facts.app.get("executor_memory_mb") or memory_mb(facts.conf_value("spark.executor.memory"))


def spill_to_disk(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    spilled = [s for s in facts.stages if (s.get("disk_bytes_spilled") or 0) > 0]
    if not spilled:
        return None
    share = len(spilled) / max(1, len(facts.stages))
    severity = severity_for(share, p["severity"]) or "low"
    worst = max(spilled, key=lambda s: s.get("disk_bytes_spilled") or 0)
    stage_bytes = max(worst.get("shuffle_read_bytes") or 0, worst.get("input_bytes") or 0, worst.get("memory_bytes_spilled") or 0)
    current = int(facts.conf_value("spark.sql.shuffle.partitions", "200") or 200)
    target = max(current * 2, math.ceil(stage_bytes / (p["target_partition_mb"] * MB)))
    change = {"spark.sql.shuffle.partitions": str(target)}
    memory = _executor_memory_mb(facts)
    if memory:
        change["spark.executor.memory"] = memory_mb_text(memory * 1.5)
    spill_disk = sum(s.get("disk_bytes_spilled") or 0 for s in spilled)
    return Finding(
        "spill_to_disk", "memory", severity,
        f"{len(spilled)} of {len(facts.stages)} stages spilled {spill_disk / MB:.0f} MB to disk",
        {"spilled_stages": len(spilled), "stages": len(facts.stages), "disk_bytes_spilled": spill_disk,
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
    memory = _executor_memory_mb(facts) or 1024
    # Grow the heap in proportion to the time lost, up to doubling it.
    grown = memory * min(2.0, 1 + 2 * share)
    return Finding(
        "excessive_gc", "memory", severity, f"Executors spent {share:.0%} of task time in JVM garbage collection",
        {"gc_share": round(share, 3), "jvm_gc_time_ms": facts.app.get("jvm_gc_time_ms"),
         "executor_run_time_ms": facts.metrics.get("task_run_ms"), "executor_memory_mb": memory},
        {"spark.executor.memory": memory_mb_text(grown), "spark.executor.extraJavaOptions": "-XX:+UseG1GC"},
        "GC time is CPU not spent on tasks; a larger heap (or fewer concurrent tasks per executor) lowers collection pressure.",
    )


def executor_memory_overprovisioned(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    peak = facts.metrics.get("peak_jvm_heap_bytes")
    memory = _executor_memory_mb(facts)
    if not peak or not memory or memory < p["min_executor_memory_mb"] or (facts.app.get("disk_bytes_spilled") or 0) > 0:
        return None
    share = peak / (memory * MB)
    if share >= p["max_heap_use_share"]:
        return None
    recommended = peak / MB * p["headroom"]
    return Finding(
        "executor_memory_overprovisioned", "cost", "moderate" if share < 0.25 else "low",
        f"Peak executor heap was {share:.0%} of the {memory} MB requested",
        {"peak_jvm_heap_bytes": peak, "executor_memory_mb": memory, "heap_use_share": round(share, 3)},
        {"spark.executor.memory": memory_mb_text(recommended),
         "spark.executor.memoryOverhead": memory_mb_text(max(384, 0.1 * recommended))},
        f"Unused heap is paid for; peak x {p['headroom']} keeps headroom for the next run's variation "
        "(overhead: Spark's default 10%, at least 384 MB).",
    )


def executor_memory_underprovisioned(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    peak = facts.metrics.get("peak_jvm_heap_bytes")
    memory = _executor_memory_mb(facts)
    oom = sum(n for reason, n in facts.failure_reasons.items() if "OutOfMemory" in reason or "exceeding memory limits" in reason)
    share = (peak / (memory * MB)) if peak and memory else None
    if not oom and (share is None or share < p["heap_use_share"]):
        return None
    memory = memory or 1024
    grown = memory * (p["increase"] if not oom else 1.5)
    overhead = max(384, 0.1 * grown) * (1.5 if oom else 1.0)
    return Finding(
        "executor_memory_underprovisioned", "memory", "severe" if oom else "moderate",
        f"Executors ran out of memory ({oom} OOM task failures)" if oom else f"Peak heap reached {share:.0%} of executor memory",
        {"oom_task_failures": oom, "peak_jvm_heap_bytes": peak, "executor_memory_mb": memory,
         "heap_use_share": round(share, 3) if share else None},
        {"spark.executor.memory": memory_mb_text(grown), "spark.executor.memoryOverhead": memory_mb_text(overhead)},
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
        memory = _executor_memory_mb(facts) or 1024
        overhead = memory_mb(facts.conf_value("spark.executor.memoryOverhead")) or max(384, 0.1 * memory)
        change["spark.executor.memoryOverhead"] = memory_mb_text(overhead * p["overhead_increase"])
    if any(_PREEMPTION.search(r) for r in reasons):
        change.update({"spark.decommission.enabled": "true", "spark.storage.decommission.enabled": "true",
                       "spark.storage.decommission.shuffleBlocks.enabled": "true"})
    if not change:
        change = {"spark.task.maxFailures": "8", "spark.excludeOnFailure.enabled": "true"}
    return Finding(
        "executor_loss", "reliability", severity, f"{len(lost)} executors were lost during the run",
        {"executors_lost": len(lost), "reasons": sorted({r[:160] for r in reasons})[:5]},
        change,
        "Lost executors take their cached data and shuffle files with them, forcing recomputation; "
        "fix the cause (container memory, preemption) rather than only retrying.",
    )
