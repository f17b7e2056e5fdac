"""Typed decoding of the usual SparkListenerTaskEnd line: a successful task.

TaskEnd lines are most of a log. Decoding one into a dict (orjson) and then reading ~40 fields out
of it with `dict.get` costs more than the rest of the parser; msgspec decodes straight into the
few fields the tables use and skips the rest (the Accumulables array, most of the line, included)
without building objects for them. Field names are Spark's JsonProtocol names; a missing field
takes the same default the dict path gives it (`0` for metrics, `None` for identities).

Only the common case takes this path: `decode_successful_task_end` returns None — and the caller
decodes the line into a dict as before — for failed or killed tasks (their reason needs more
fields), for values of an unexpected type (a null or a
float where Spark writes an integer) and for anything that is not valid JSON. So a line of another
shape costs time, never data.
"""

from __future__ import annotations

from typing import Annotated, Optional

import msgspec

from spark_optimizer.eventlog.fields import NS_PER_MS, TaskMetrics
from spark_optimizer.tables.executors import PEAK_METRIC_COLUMNS

# Ids, times and metrics outside 0..2^63-1 fail the typed decode: the line then takes the dict
# path, where `validate.event_problem` rejects the event with its reason.
Count = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class _EndReason(msgspec.Struct):
    Reason: str = "Success"


class _TaskInfo(msgspec.Struct, rename={
    "task_id": "Task ID", "index": "Index", "attempt": "Attempt", "launch_time": "Launch Time",
    "executor_id": "Executor ID", "host": "Host", "locality": "Locality", "speculative": "Speculative",
    "getting_result_time": "Getting Result Time", "finish_time": "Finish Time", "failed": "Failed",
    "killed": "Killed",
}):
    task_id: Optional[Count] = None
    index: Optional[Count] = None
    attempt: Optional[Count] = None
    launch_time: Optional[Count] = None
    executor_id: Optional[str] = None
    host: Optional[str] = None
    locality: Optional[str] = None
    speculative: bool = False
    getting_result_time: Optional[Count] = None
    finish_time: Optional[Count] = None
    failed: bool = False
    killed: bool = False


class ExecutorPeaks(msgspec.Struct):
    """Task Executor Metrics, in `PEAK_METRIC_COLUMNS` order (checked below); absent means None."""

    JVMHeapMemory: Optional[Count] = None
    JVMOffHeapMemory: Optional[Count] = None
    OnHeapExecutionMemory: Optional[Count] = None
    OffHeapExecutionMemory: Optional[Count] = None
    OnHeapStorageMemory: Optional[Count] = None
    OffHeapStorageMemory: Optional[Count] = None
    DirectPoolMemory: Optional[Count] = None
    MappedPoolMemory: Optional[Count] = None
    ProcessTreeJVMRSSMemory: Optional[Count] = None
    ProcessTreePythonRSSMemory: Optional[Count] = None
    ProcessTreeOtherRSSMemory: Optional[Count] = None
    TotalGCTime: Optional[Count] = None


assert ExecutorPeaks.__struct_fields__ == tuple(PEAK_METRIC_COLUMNS), "ExecutorPeaks out of step with the executors table"
PEAK_COLUMNS = tuple(PEAK_METRIC_COLUMNS.values())


class _ShuffleRead(msgspec.Struct, rename={
    "remote_bytes": "Remote Bytes Read", "local_bytes": "Local Bytes Read", "records": "Total Records Read",
    "fetch_wait_time_ms": "Fetch Wait Time",
}):
    remote_bytes: Count = 0
    local_bytes: Count = 0
    records: Count = 0
    fetch_wait_time_ms: Count = 0


class _ShuffleWrite(msgspec.Struct, rename={
    "bytes": "Shuffle Bytes Written", "records": "Shuffle Records Written", "time_ns": "Shuffle Write Time",
}):
    bytes: Count = 0
    records: Count = 0
    time_ns: Count = 0


class _Input(msgspec.Struct, rename={"bytes": "Bytes Read", "records": "Records Read"}):
    bytes: Count = 0
    records: Count = 0


class _Output(msgspec.Struct, rename={"bytes": "Bytes Written", "records": "Records Written"}):
    bytes: Count = 0
    records: Count = 0


class _Metrics(msgspec.Struct, rename={
    "run_time_ms": "Executor Run Time", "cpu_time_ns": "Executor CPU Time", "gc_time_ms": "JVM GC Time",
    "deserialize_time_ms": "Executor Deserialize Time", "serialize_time_ms": "Result Serialization Time",
    "memory_spilled": "Memory Bytes Spilled", "disk_spilled": "Disk Bytes Spilled",
    "peak_execution_memory": "Peak Execution Memory", "shuffle_read": "Shuffle Read Metrics",
    "shuffle_write": "Shuffle Write Metrics", "input": "Input Metrics", "output": "Output Metrics",
}):
    run_time_ms: Count = 0
    cpu_time_ns: Count = 0
    gc_time_ms: Count = 0
    deserialize_time_ms: Count = 0
    serialize_time_ms: Count = 0
    memory_spilled: Count = 0
    disk_spilled: Count = 0
    peak_execution_memory: Count = 0
    shuffle_read: Optional[_ShuffleRead] = None
    shuffle_write: Optional[_ShuffleWrite] = None
    input: Optional[_Input] = None
    output: Optional[_Output] = None


class TaskEndStruct(msgspec.Struct, rename={
    "stage_id": "Stage ID", "stage_attempt_id": "Stage Attempt ID", "reason": "Task End Reason",
    "info": "Task Info", "executor_peaks": "Task Executor Metrics", "metrics": "Task Metrics",
}):
    stage_id: Optional[Count] = None
    stage_attempt_id: Optional[Count] = None
    reason: Optional[_EndReason] = None
    info: Optional[_TaskInfo] = None
    executor_peaks: Optional[ExecutorPeaks] = None
    metrics: Optional[_Metrics] = None


_EMPTY_READ, _EMPTY_WRITE, _EMPTY_INPUT, _EMPTY_OUTPUT = _ShuffleRead(), _ShuffleWrite(), _Input(), _Output()
_decode = msgspec.json.Decoder(TaskEndStruct).decode
_ZERO = TaskMetrics(*([0] * len(TaskMetrics._fields)))


def decode_successful_task_end(line: bytes) -> TaskEndStruct | None:
    """The TaskEnd line of a successful task, or None (decode it as a dict instead)."""
    try:
        event = _decode(line)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    info = event.info
    if info is None or event.stage_id is None or info.task_id is None or info.failed or info.killed:
        return None
    if event.reason is not None and event.reason.Reason != "Success":
        return None
    return event


def plausible_times(event: TaskEndStruct, latest_time_ms: int) -> bool:
    """False when a Task Info time lies after `latest_time_ms` (the dict path rejects the event)."""
    info = event.info
    return ((info.finish_time or 0) <= latest_time_ms and (info.launch_time or 0) <= latest_time_ms
            and (info.getting_result_time or 0) <= latest_time_ms)


def struct_task_metrics(metrics: _Metrics | None) -> TaskMetrics:
    """`fields.task_metrics` for the typed event."""
    if metrics is None:
        return _ZERO
    read = metrics.shuffle_read or _EMPTY_READ
    write = metrics.shuffle_write or _EMPTY_WRITE
    inp = metrics.input or _EMPTY_INPUT
    out = metrics.output or _EMPTY_OUTPUT
    return TaskMetrics(
        metrics.run_time_ms,
        metrics.cpu_time_ns / NS_PER_MS,
        metrics.gc_time_ms,
        metrics.deserialize_time_ms,
        metrics.serialize_time_ms,
        inp.bytes,
        inp.records,
        out.bytes,
        out.records,
        read.remote_bytes + read.local_bytes,
        read.remote_bytes,
        read.records,
        read.fetch_wait_time_ms,
        write.bytes,
        write.records,
        write.time_ns / NS_PER_MS,
        metrics.memory_spilled,
        metrics.disk_spilled,
        metrics.peak_execution_memory,
    )
