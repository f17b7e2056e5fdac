"""Which listener events, and which row values, cannot be true.

An event log the project did not write can hold anything: a Task ID past 64 bits, a Finish Time
in year 318,000, a string where a metric number belongs, a null Job ID. Such an event is
rejected whole (it is counted in the log's reason with its line, never stored) before the
accumulator folds it, so one impossible value cannot poison an application's totals. Only the
fields the tables read are checked, with Spark's JsonProtocol names; vendor fields pass.

`impossible_figures` is the last guard on the rows themselves (a sum of valid values can still
pass 64 bits, an end logged before its start gives a negative duration): such a figure becomes
null, and the log's reason says which.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

from spark_optimizer.tables.instants import iso_utc
from spark_optimizer.tables.schema import TableSpec

INT64_MAX = 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# A time later than this past the parse is impossible (clocks of a cluster and of the machine
# that parses its logs differ by seconds, not by a day).
FUTURE_MARGIN_MS = 24 * 3600 * 1000
_MISSING = object()


def latest_plausible_time_ms() -> int:
    return int(time.time() * 1000) + FUTURE_MARGIN_MS


def _count(value: Any, _limit: int) -> str | None:
    if value is None:
        return None
    if value.__class__ is not int:
        return f"is {type(value).__name__} {_shown(value)}, not a whole number"
    if not 0 <= value <= INT64_MAX:
        return f"{value} is outside 0..2^63-1"
    return None


def _required_id(value: Any, limit: int) -> str | None:
    return "is null or missing" if value is None else _count(value, limit)


def _small_int(value: Any, _limit: int) -> str | None:
    if value is None:
        return None
    if value.__class__ is not int or not INT32_MIN <= value <= INT32_MAX:
        return f"is {_shown(value)}, not a 32-bit whole number"
    return None


def _time(value: Any, limit: int) -> str | None:
    problem = _count(value, limit)
    if problem is None and value is not None and value > limit:
        return f"{value} is a time after today (epoch ms)"
    return problem


def _text(value: Any, _limit: int) -> str | None:
    return None if value is None or value.__class__ is str else f"is {type(value).__name__}, not a string"


def _executor_id(value: Any, _limit: int) -> str | None:
    if value is None:
        return "is null or missing"
    return None if value.__class__ in (str, int) else f"is {type(value).__name__}, not an id"


def _attempt_id(value: Any, _limit: int) -> str | None:
    if value is None:
        return None
    if value.__class__ not in (str, int) or "#" in str(value):
        return f"is {_shown(value)}, not an attempt id"
    return None


def _flag(value: Any, _limit: int) -> str | None:
    return None if value is None or value.__class__ is bool else f"is {_shown(value)}, not true/false"


def _object(value: Any, _limit: int) -> str | None:
    return None if value is None or value.__class__ is dict else f"is {type(value).__name__}, not an object"


def _list(value: Any, _limit: int) -> str | None:
    return None if value is None or value.__class__ is list else f"is {type(value).__name__}, not a list"


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_TASK_METRICS = (
    "Executor Run Time", "Executor CPU Time", "JVM GC Time", "Executor Deserialize Time",
    "Result Serialization Time", "Memory Bytes Spilled", "Disk Bytes Spilled", "Peak Execution Memory",
)
_TASK_METRIC_GROUPS = {
    "Shuffle Read Metrics": ("Remote Bytes Read", "Local Bytes Read", "Total Records Read", "Fetch Wait Time"),
    "Shuffle Write Metrics": ("Shuffle Bytes Written", "Shuffle Records Written", "Shuffle Write Time"),
    "Input Metrics": ("Bytes Read", "Records Read"),
    "Output Metrics": ("Bytes Written", "Records Written"),
}
_STAGE_INFO = (
    (("Stage Info",), _object), (("Stage Info", "Stage ID"), _required_id),
    (("Stage Info", "Stage Attempt ID"), _count), (("Stage Info", "Attempt ID"), _count),
    (("Stage Info", "Stage Name"), _text), (("Stage Info", "Number of Tasks"), _count),
    (("Stage Info", "Parent IDs"), _list), (("Stage Info", "Parent IDs", "*"), _count),
    (("Stage Info", "Submission Time"), _time), (("Stage Info", "Completion Time"), _time),
    (("Stage Info", "Failure Reason"), _text),
)
# Event name -> (field path, check); "*" walks a list.
CHECKS: dict[str, tuple] = {
    "SparkListenerLogStart": ((("Spark Version",), _text),),
    "SparkListenerApplicationStart": (
        (("App ID",), _text), (("App Attempt ID",), _attempt_id), (("App Name",), _text), (("User",), _text),
        (("Timestamp",), _time),
    ),
    "SparkListenerApplicationEnd": ((("Timestamp",), _time), (("ExitCode",), _small_int)),
    "SparkListenerResourceProfileAdded": (
        (("Resource Profile Id",), _small_int), (("Executor Resource Requests",), _object),
    ),
    "SparkListenerExecutorAdded": (
        (("Executor ID",), _executor_id), (("Timestamp",), _time), (("Executor Info",), _object),
        (("Executor Info", "Host"), _text), (("Executor Info", "Total Cores"), _small_int),
        (("Executor Info", "Resource Profile Id"), _small_int),
    ),
    "SparkListenerExecutorRemoved": (
        (("Executor ID",), _executor_id), (("Timestamp",), _time), (("Removed Reason",), _text),
    ),
    "SparkListenerBlockManagerAdded": (
        (("Block Manager ID",), _object), (("Block Manager ID", "Executor ID"), _executor_id),
        (("Block Manager ID", "Host"), _text), (("Maximum Memory",), _count), (("Timestamp",), _time),
    ),
    "SparkListenerStageExecutorMetrics": (
        (("Executor ID",), _executor_id), (("Executor Metrics",), _object),
    ),
    "SparkListenerJobStart": (
        (("Job ID",), _required_id), (("Submission Time",), _time), (("Stage IDs",), _list),
        (("Stage IDs", "*"), _count), (("Stage Infos",), _list), (("Stage Infos", "*"), _object),
        (("Stage Infos", "*", "Stage ID"), _count), (("Stage Infos", "*", "Number of Tasks"), _count),
        (("Properties",), _object),
    ),
    "SparkListenerJobEnd": (
        (("Job ID",), _required_id), (("Completion Time",), _time), (("Job Result",), _object),
        (("Job Result", "Result"), _text), (("Job Result", "Exception"), _object),
        (("Job Result", "Exception", "Message"), _text),
    ),
    "SparkListenerStageSubmitted": _STAGE_INFO,
    "SparkListenerStageCompleted": _STAGE_INFO,
    "SparkListenerTaskEnd": (
        (("Stage ID",), _required_id), (("Stage Attempt ID",), _count),
        (("Task End Reason",), _object), (("Task End Reason", "Reason"), _text),
        (("Task End Reason", "Description"), _text), (("Task End Reason", "Loss Reason"), _text),
        (("Task End Reason", "Message"), _text),
        (("Task Info",), _object), (("Task Info", "Task ID"), _required_id), (("Task Info", "Index"), _count),
        (("Task Info", "Attempt"), _count), (("Task Info", "Launch Time"), _time),
        (("Task Info", "Finish Time"), _time), (("Task Info", "Getting Result Time"), _time),
        (("Task Info", "Executor ID"), _executor_id), (("Task Info", "Host"), _text),
        (("Task Info", "Locality"), _text), (("Task Info", "Speculative"), _flag),
        (("Task Info", "Failed"), _flag), (("Task Info", "Killed"), _flag),
        (("Task Executor Metrics",), _object), (("Task Metrics",), _object),
        *((("Task Metrics", name), _count) for name in _TASK_METRICS),
        *((("Task Metrics", group), _object) for group in _TASK_METRIC_GROUPS),
        *((("Task Metrics", group, name), _count) for group, names in _TASK_METRIC_GROUPS.items() for name in names),
    ),
    "SparkListenerSQLExecutionStart": (
        (("executionId",), _required_id), (("rootExecutionId",), _count), (("description",), _text),
        (("time",), _time), (("sparkPlanInfo",), _object),
    ),
    "SparkListenerSQLExecutionEnd": (
        (("executionId",), _required_id), (("time",), _time), (("errorMessage",), _text),
    ),
    "SparkListenerSQLAdaptiveExecutionUpdate": ((("executionId",), _required_id), (("sparkPlanInfo",), _object)),
}


def _values(holder: Any, path: tuple[str, ...]) -> Iterator[Any]:
    """The values at `path` below `holder` (a missing field is None; containers are checked by
    their own entries, so a wrong container yields nothing here)."""
    if not path:
        yield holder
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if holder.__class__ is list:
            for item in holder:
                yield from _values(item, rest)
        return
    if holder.__class__ is not dict:
        return
    value = holder.get(head, _MISSING)
    if value is _MISSING or value is None:
        if not rest:
            yield None
        return
    yield from _values(value, rest)


def event_problem(event: dict, short_name: str, latest_time_ms: int) -> str | None:
    """Why `event` cannot be folded as it is (field and value), or None when it can."""
    for path, check in CHECKS.get(short_name, ()):
        for value in _values(event, path):
            problem = check(value, latest_time_ms)
            if problem is not None:
                return f"'{' / '.join(p for p in path if p != '*')}' {problem}"
    return None


_RANGES = {"int": (INT32_MIN, INT32_MAX), "long": (-INT64_MAX - 1, INT64_MAX)}
_NEVER_NEGATIVE = ("_ms", "_bytes", "_count", "_mb", "_records", "_cores", "_executors", "_requested", "_id")
_TYPES = {"string": (str,), "double": (float, int), "boolean": (bool,)}


_INTERVALS = (("start_time", "end_time"), ("submission_time", "completion_time"), ("add_time", "remove_time"))


def impossible_figures(spec: TableSpec, row: dict) -> list[str]:
    """Set each impossible figure of `row` (outside its column's type, negative where a figure
    cannot be, an end before its start) to null; returns the nulled columns as 'name=value'."""
    nulled = []
    for start, end in _INTERVALS:
        began, ended = row.get(start), row.get(end)
        if began is not None and ended is not None and ended < began:
            nulled.append(f"{end}={iso_utc(ended)} (before {start}={iso_utc(began)})")
            row[end] = None
            if row.get("duration_ms") is not None:
                nulled.append(f"duration_ms={row['duration_ms']}")
                row["duration_ms"] = None
    for column in spec.columns:
        value = row.get(column.name)
        if value is None:
            continue
        kind = column.type
        if kind in _RANGES:
            low, high = _RANGES[kind]
            bad = value.__class__ is not int or not low <= value <= high or (
                value < 0 and column.name.endswith(_NEVER_NEGATIVE) and column.name != "exit_code")
        elif kind == "array<string>":
            bad = value.__class__ is not list or any(item is not None and item.__class__ is not str for item in value)
        elif kind == "array<long>":
            bad = value.__class__ is not list or any(item is not None and item.__class__ is not int for item in value)
        elif kind in _TYPES:
            bad = value.__class__ not in _TYPES[kind] or (
                kind == "double" and not 0 <= value < float("inf") and column.name.endswith(_NEVER_NEGATIVE))
        else:
            continue
        if bad:
            nulled.append(f"{column.name}={_shown(value)}")
            row[column.name] = None
    return nulled
