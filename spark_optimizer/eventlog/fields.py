"""Reading Spark's real event field names (Spark 1.2 to 4.x) into plain values.

Only this module knows the JSON spellings; the accumulator and the History Server path
both go through it.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, NamedTuple

from spark_optimizer.spark_rules import conf_mb, is_local_master, local_cluster_shape, local_master_cores  # noqa: F401 - read as fields.*

NS_PER_MS = 1_000_000


def memory_mb(value: str | None, key: str = "spark.executor.memory") -> int | None:
    """A memory property's value ('4g', '512m', '1024' = MiB) in MiB, read as Spark reads `key`
    (spark_rules); None when absent or a value Spark would refuse."""
    return None if value is None else conf_mb({key: value}, key)


def int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def bool_or_none(value: Any) -> bool | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return True if text == "true" else False if text == "false" else None


class TaskMetrics(NamedTuple):
    executor_run_time_ms: int
    executor_cpu_time_ms: float
    jvm_gc_time_ms: int
    executor_deserialize_time_ms: int
    result_serialization_time_ms: int
    input_bytes: int
    input_records: int
    output_bytes: int
    output_records: int
    shuffle_read_bytes: int
    shuffle_remote_bytes_read: int
    shuffle_read_records: int
    shuffle_fetch_wait_time_ms: int
    shuffle_write_bytes: int
    shuffle_write_records: int
    shuffle_write_time_ms: float
    memory_bytes_spilled: int
    disk_bytes_spilled: int
    peak_execution_memory_bytes: int


ZERO_METRICS = TaskMetrics(*([0] * len(TaskMetrics._fields)))


def task_metrics(metrics: Mapping[str, Any] | None) -> TaskMetrics:
    """The 'Task Metrics' object of SparkListenerTaskEnd; absent (old failed tasks) means zeros."""
    if not metrics:
        return ZERO_METRICS
    g = metrics.get
    read = g("Shuffle Read Metrics") or {}
    write = g("Shuffle Write Metrics") or {}
    inp = g("Input Metrics") or {}
    out = g("Output Metrics") or {}
    remote = read.get("Remote Bytes Read", 0) or 0
    return TaskMetrics(
        g("Executor Run Time", 0) or 0,
        (g("Executor CPU Time", 0) or 0) / NS_PER_MS,
        g("JVM GC Time", 0) or 0,
        g("Executor Deserialize Time", 0) or 0,
        g("Result Serialization Time", 0) or 0,
        inp.get("Bytes Read", 0) or 0,
        inp.get("Records Read", 0) or 0,
        out.get("Bytes Written", 0) or 0,
        out.get("Records Written", 0) or 0,
        remote + (read.get("Local Bytes Read", 0) or 0),
        remote,
        read.get("Total Records Read", 0) or 0,
        read.get("Fetch Wait Time", 0) or 0,
        write.get("Shuffle Bytes Written", 0) or 0,
        write.get("Shuffle Records Written", 0) or 0,
        (write.get("Shuffle Write Time", 0) or 0) / NS_PER_MS,
        g("Memory Bytes Spilled", 0) or 0,
        g("Disk Bytes Spilled", 0) or 0,
        g("Peak Execution Memory", 0) or 0,
    )


def task_duration_ms(launch_ms: int, finish_ms: int) -> int:
    """Finish minus launch; 0 when either is missing or they are out of order."""
    return finish_ms - launch_ms if finish_ms >= launch_ms > 0 else 0


def task_status(reason: Mapping[str, Any] | None, info: Mapping[str, Any]) -> str:
    """success | failed | killed from 'Task End Reason' and the Task Info flags."""
    kind = (reason or {}).get("Reason", "Success")
    if kind == "TaskKilled" or info.get("Killed"):
        return "killed"
    if kind != "Success" or info.get("Failed"):
        return "failed"
    return "success"


def task_failure_reason(reason: Mapping[str, Any] | None) -> str | None:
    """A one-line description of a non-Success 'Task End Reason'."""
    if not reason or reason.get("Reason") == "Success":
        return None
    kind = reason.get("Reason")
    if kind == "ExceptionFailure":
        return f"ExceptionFailure: {reason.get('Class Name', '')}: {(reason.get('Description') or '')[:500]}"
    if kind == "ExecutorLostFailure":
        return f"ExecutorLostFailure: executor {reason.get('Executor ID')}: {(reason.get('Loss Reason') or '')[:500]}"
    if kind == "FetchFailed":
        return f"FetchFailed: shuffle {reason.get('Shuffle ID')} map {reason.get('Map ID')}: {(reason.get('Message') or '')[:300]}"
    if kind == "TaskKilled":
        return f"TaskKilled: {reason.get('Kill Reason', '')}"
    return str(kind)


# Executor removals that the driver asked for are not losses.
_NORMAL_REMOVAL = re.compile(r"killed by driver|explicit termination request|decommission|requested by driver", re.I)


def is_executor_loss(removed_reason: str | None) -> bool:
    return bool(removed_reason) and not _NORMAL_REMOVAL.search(removed_reason or "")


def plan_node_names(plan: Mapping[str, Any] | None) -> list[str]:
    """Operator names of a sparkPlanInfo tree, pre-order."""
    names: list[str] = []
    stack = [plan] if plan else []
    while stack:
        node = stack.pop()
        name = node.get("nodeName")
        if name:
            names.append(name)
        stack.extend(reversed(node.get("children") or []))
    return names


_PLATFORM_KEYS = (
    ("databricks", re.compile(r"^spark\.databricks\.clusterUsageTags\.")),
    ("emr", re.compile(r"^spark\.emr\.|^EMR_CLUSTER_ID$")),
    ("dataproc", re.compile(r"^spark\.dataproc\.|^dataproc\.")),
)


def platform_of(master: str | None, spark_version: str | None, properties: Mapping[str, str], databricks_header: bool) -> str:
    """databricks | emr | dataproc | kubernetes | yarn | standalone | mesos | local | unknown."""
    if databricks_header or any(_PLATFORM_KEYS[0][1].match(k) for k in properties):
        return "databricks"
    if (spark_version and "amzn" in spark_version) or any(_PLATFORM_KEYS[1][1].match(k) for k in properties):
        return "emr"
    if any(_PLATFORM_KEYS[2][1].match(k) for k in properties) or "dataproc" in properties.get("spark.yarn.tags", ""):
        return "dataproc"
    master = (master or "").strip()
    if master.startswith("k8s://"):
        return "kubernetes"
    if master.startswith("yarn"):
        return "yarn"
    if master.startswith("spark://") or local_cluster_shape(master):
        return "standalone"
    if master.startswith("mesos://"):
        return "mesos"
    if is_local_master(master):
        return "local"
    return "unknown"


def cluster_id_of(properties: Mapping[str, str]) -> str | None:
    for key in (
        "spark.databricks.clusterUsageTags.clusterId",
        "EMR_CLUSTER_ID",
        "spark.emr.clusterId",
        "spark.dataproc.cluster.name",
    ):
        if properties.get(key):
            return properties[key]
    return None


def requested_resources(props: Mapping[str, str]) -> dict[str, Any]:
    """The `applications` columns that say what the application asked for, from its Spark properties."""
    return {
        "executor_instances_requested": int_or_none(props.get("spark.executor.instances")),
        "executor_cores_requested": int_or_none(props.get("spark.executor.cores")),
        "executor_memory_mb_requested": memory_mb(props.get("spark.executor.memory")),
        "executor_memory_overhead_mb_requested": memory_mb(
            props.get("spark.executor.memoryOverhead", props.get("spark.yarn.executor.memoryOverhead"))
        ),
        "driver_memory_mb_requested": memory_mb(props.get("spark.driver.memory")),
        "driver_cores_requested": int_or_none(props.get("spark.driver.cores")),
        "dynamic_allocation_enabled": bool_or_none(props.get("spark.dynamicAllocation.enabled")),
        "dynamic_allocation_min_executors": int_or_none(props.get("spark.dynamicAllocation.minExecutors")),
        "dynamic_allocation_max_executors": int_or_none(props.get("spark.dynamicAllocation.maxExecutors")),
        "shuffle_partitions_conf": int_or_none(props.get("spark.sql.shuffle.partitions")),
    }
