"""Rules about the resources an application held: idle executors, cores, driver time, cost,
dynamic allocation, scheduling and shuffle-fetch overheads."""

from __future__ import annotations

import math
from typing import Any, Mapping

from spark_optimizer.rules.model import AppFacts, Finding, severity_for


def idle_executors(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    executors = facts.app.get("max_concurrent_executors") or 0
    utilization = facts.metrics.get("core_utilization")
    idle = facts.metrics.get("idle_executor_count") or 0
    if facts.is_local or executors < p["min_executors"] or utilization is None:
        return None
    severity = severity_for(utilization, p["severity"], higher_is_worse=False)
    if severity is None and not idle:
        return None
    needed = max(1, math.ceil(executors * utilization / p["target_utilization"]))
    return Finding(
        "idle_executors", "resources", severity or "low",
        (f"{idle} of {executors} executors ran no task; " if idle else "")
        + f"cores were busy {utilization:.0%} of the time they were held",
        {"executors": executors, "idle_executors": idle, "core_utilization": round(utilization, 3),
         "allocated_core_ms": facts.metrics.get("allocated_core_ms"), "task_run_ms": facts.metrics.get("task_run_ms")},
        {"spark.dynamicAllocation.enabled": "true", "spark.dynamicAllocation.shuffleTracking.enabled": "true",
         "spark.dynamicAllocation.minExecutors": "1", "spark.dynamicAllocation.maxExecutors": str(max(needed, 2)),
         "spark.dynamicAllocation.executorIdleTimeout": "60s"},
        f"At {p['target_utilization']:.0%} target utilization this work needs about {needed} executors; "
        "dynamic allocation releases the rest while they would sit idle.",
    )


def cores_per_executor(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    cores = facts.app.get("executor_cores")
    executors = facts.app.get("max_concurrent_executors") or 0
    if facts.is_local or not cores or p["low"] <= cores <= p["high"] or executors == 0:
        return None
    total = cores * executors
    new_cores = min(p["recommended"], total)
    new_executors = max(1, math.ceil(total / new_cores))
    too_many = cores > p["high"]
    return Finding(
        "cores_per_executor", "resources", "moderate" if too_many and cores >= 8 else "low",
        f"{executors} executors with {cores} cores each",
        {"executor_cores": cores, "executors": executors, "total_cores": total},
        {"spark.executor.cores": str(new_cores), "spark.executor.instances": str(new_executors)},
        ("Many cores per executor share one heap (long GC pauses) and one HDFS/S3 client; "
         if too_many else "One-core executors cannot share broadcast variables or cached blocks and pay JVM overhead per core; ")
        + f"{new_executors} executors x {new_cores} cores keep the same {total} cores.",
    )


def driver_bound(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    share = facts.metrics.get("driver_only_share")
    wall = facts.metrics.get("wall_ms") or 0
    # In local mode the driver is the executor: nothing is held idle while it works.
    if share is None or wall < p["min_wall_ms"] or facts.is_local:
        return None
    severity = severity_for(share, p["severity"])
    if severity is None:
        return None
    change = {"spark.dynamicAllocation.enabled": "true", "spark.dynamicAllocation.shuffleTracking.enabled": "true",
              "spark.dynamicAllocation.executorIdleTimeout": "30s"}
    return Finding(
        "driver_bound", "resources", severity,
        f"No task ran for {share:.0%} of the wall time ({(facts.metrics.get('driver_only_ms') or 0) / 1000:.0f} s)",
        {"driver_only_ms": facts.metrics.get("driver_only_ms"), "wall_ms": wall, "driver_only_share": round(share, 3)},
        change,
        "Executors wait while the driver plans, collects, or runs Python/pandas code; move that work into Spark "
        "(avoid collect/toPandas on large data) and release executors while the driver works.",
    )


def cost_waste(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    wasted = facts.metrics.get("wasted_core_hours")
    utilization = facts.metrics.get("core_utilization")
    if wasted is None or utilization is None or utilization > p["max_utilization"]:
        return None
    severity = severity_for(wasted, p["severity"])
    if severity is None:
        return None
    executors = facts.app.get("max_concurrent_executors") or 1
    target = max(1, math.ceil(executors * utilization / 0.7))
    # Under dynamic allocation the executor count is its bounds', not spark.executor.instances.
    change = ({"spark.dynamicAllocation.maxExecutors": str(target)} if facts.conf_bool("spark.dynamicAllocation.enabled", False)
              else {"spark.executor.instances": str(target)})
    return Finding(
        "cost_waste", "cost", severity, f"{wasted:.1f} allocated core-hours did no task work ({utilization:.0%} used)",
        {"wasted_core_hours": round(wasted, 2), "core_utilization": round(utilization, 3), "executors": executors,
         "incomplete": bool(facts.metrics.get("incomplete"))},
        change,
        "Allocated but unused cores are billed like used ones; size the executor count to the work actually done.",
    )


def dynamic_allocation_without_shuffle_tracking(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    if not facts.conf_bool("spark.dynamicAllocation.enabled", False):
        return None
    if facts.conf_bool("spark.shuffle.service.enabled", False) or facts.conf_bool("spark.dynamicAllocation.shuffleTracking.enabled", False):
        return None
    if facts.is_local:
        return None
    return Finding(
        "dynamic_allocation_without_shuffle_tracking", "reliability", "moderate",
        "Dynamic allocation is on without the external shuffle service or shuffle tracking",
        {"spark.dynamicAllocation.enabled": "true", "spark.shuffle.service.enabled": facts.conf_value("spark.shuffle.service.enabled"),
         "spark.dynamicAllocation.shuffleTracking.enabled": facts.conf_value("spark.dynamicAllocation.shuffleTracking.enabled")},
        {"spark.dynamicAllocation.shuffleTracking.enabled": "true"},
        "Without one of them, removing an executor loses its shuffle files and forces stage retries.",
    )


def scheduler_delay(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    delay = facts.metrics.get("scheduler_delay_ms") or 0
    task_time = facts.app.get("task_time_ms") or 0
    if (facts.app.get("task_count") or 0) < p["min_tasks"] or not task_time:
        return None
    share = delay / task_time
    severity = severity_for(share, p["severity"])
    if severity is None:
        return None
    return Finding(
        "scheduler_delay", "parallelism", severity, f"{share:.0%} of task time was scheduler delay and result fetching",
        {"scheduler_delay_ms": delay, "task_time_ms": task_time, "share": round(share, 3)},
        {"spark.locality.wait": "0s", "spark.sql.adaptive.coalescePartitions.enabled": "true"},
        "Time between a task being ready and running its code (locality waits, serialization, large task "
        "closures) adds up over many tasks; stop waiting for locality and run fewer, larger tasks.",
    )


def shuffle_fetch_wait(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    share = facts.metrics.get("shuffle_fetch_wait_share")
    if share is None:
        return None
    severity = severity_for(share, p["severity"])
    if severity is None:
        return None
    return Finding(
        "shuffle_fetch_wait", "parallelism", severity, f"Tasks waited on shuffle fetches for {share:.0%} of their run time",
        {"shuffle_fetch_wait_share": round(share, 3), "shuffle_read_bytes": facts.app.get("shuffle_read_bytes")},
        {"spark.reducer.maxSizeInFlight": "96m", "spark.shuffle.io.numConnectionsPerPeer": "2",
         "spark.shuffle.file.buffer": "1m"},
        "Reducers idle while remote blocks arrive; more bytes in flight and connections per peer overlap the fetches.",
    )
