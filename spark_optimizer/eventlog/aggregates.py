"""Running totals and per-stage / per-executor state the accumulator folds task ends into."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from operator import add
from typing import Any

from spark_optimizer.eventlog import fields as f

Row = dict[str, Any]
_METRIC_FIELDS = f.TaskMetrics._fields
_TOTAL_FIELDS = tuple(n for n in _METRIC_FIELDS if n != "peak_execution_memory_bytes")


def quantile(sorted_values, q: float) -> float | None:
    """The History Server's task-summary quantile: sorted[min(int(q * n), n - 1)]."""
    n = len(sorted_values)
    if n == 0:
        return None
    return float(sorted_values[min(int(q * n), n - 1)])


QUANTILE_POINTS = {"min": 0.0, "p25": 0.25, "median": 0.5, "p75": 0.75, "p95": 0.95, "max": 1.0}


@dataclass
class Totals:
    """Task counts and metric sums for an app, a stage attempt or an executor."""

    task_count: int = 0
    failed_task_count: int = 0
    killed_task_count: int = 0
    task_time_ms: int = 0
    peak_execution_memory_max_bytes: int = 0
    # One sum per TaskMetrics field; the last (peak memory) is summed too but never reported.
    sums: list = field(default_factory=lambda: [0] * len(_METRIC_FIELDS))

    def add(self, status: str, duration_ms: int, metrics: f.TaskMetrics) -> None:
        self.task_count += 1
        self.failed_task_count += status == "failed"
        self.killed_task_count += status == "killed"
        self.task_time_ms += duration_ms
        self.sums = list(map(add, self.sums, metrics))
        if metrics.peak_execution_memory_bytes > self.peak_execution_memory_max_bytes:
            self.peak_execution_memory_max_bytes = metrics.peak_execution_memory_bytes

    def merge(self, other: "Totals") -> None:
        self.task_count += other.task_count
        self.failed_task_count += other.failed_task_count
        self.killed_task_count += other.killed_task_count
        self.task_time_ms += other.task_time_ms
        self.sums = list(map(add, self.sums, other.sums))
        self.peak_execution_memory_max_bytes = max(self.peak_execution_memory_max_bytes, other.peak_execution_memory_max_bytes)

    def as_row(self) -> Row:
        row = {
            "task_count": self.task_count,
            "failed_task_count": self.failed_task_count,
            "killed_task_count": self.killed_task_count,
            "task_time_ms": self.task_time_ms,
            "peak_execution_memory_max_bytes": self.peak_execution_memory_max_bytes,
        }
        row.update(zip(_TOTAL_FIELDS, self.sums))
        return row


def merged(parts) -> Totals:
    total = Totals()
    for part in parts:
        total.merge(part)
    return total


@dataclass
class StageState:
    stage_id: int
    attempt_id: int
    name: str | None = None
    num_tasks: int | None = None
    parent_ids: list | None = None
    job_id: int | None = None
    submission_time_ms: int | None = None
    completion_time_ms: int | None = None
    completed: bool = False
    failure_reason: str | None = None
    # Task totals per executor id: one fold per task gives both the stage's and the executor's.
    by_executor: dict[str, Totals] = field(default_factory=dict)
    # Samples of successful tasks, for quantiles.
    durations: array = field(default_factory=lambda: array("d"))
    inputs: array = field(default_factory=lambda: array("d"))
    shuffle_reads: array = field(default_factory=lambda: array("d"))
    spills: array = field(default_factory=lambda: array("d"))
    gcs: array = field(default_factory=lambda: array("d"))

    @property
    def totals(self) -> Totals:
        return merged(self.by_executor.values())


@dataclass
class ExecutorState:
    executor_id: str
    host: str | None = None
    total_cores: int | None = None
    resource_profile_id: int | None = None
    add_time_ms: int | None = None
    remove_time_ms: int | None = None
    remove_reason: str | None = None
    max_memory_bytes: int | None = None
    peaks: dict = field(default_factory=dict)


def driver_id(executor_id: Any) -> str:
    text = str(executor_id)
    return "driver" if text in ("<driver>", "driver") else text


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def stage_skew_ratios(row: dict) -> dict[str, float | None]:
    """The `stages` skew columns from its quantile columns."""
    return {
        "task_duration_skew_ratio": ratio(row["task_duration_ms_max"], row["task_duration_ms_median"]),
        "task_duration_p95_ratio": ratio(row["task_duration_ms_p95"], row["task_duration_ms_median"]),
        "shuffle_read_skew_ratio": ratio(row["shuffle_read_bytes_max"], row["shuffle_read_bytes_median"]),
        "input_skew_ratio": ratio(row["input_bytes_max"], row["input_bytes_median"]),
    }


def executor_fleet(workers: list[tuple[int | None, int | None, int | None, str | None]]) -> dict[str, Any]:
    """The `applications` columns about granted executors, from (add ms, remove ms, cores, removal
    reason) per worker executor: counts, losses, the most executors and cores alive at once."""
    events = []
    for added, removed, cores, _ in workers:
        if added is not None:
            events.append((added, 1, cores or 0))
        if removed is not None:
            events.append((removed, -1, -(cores or 0)))
    alive = alive_cores = max_alive = max_cores = 0
    for _, delta, core_delta in sorted(events, key=lambda t: (t[0], t[1])):
        alive += delta
        alive_cores += core_delta
        max_alive, max_cores = max(max_alive, alive), max(max_cores, alive_cores)
    cores = [c for _, _, c, _ in workers if c]
    return {
        "executors_added": len(workers),
        "executors_removed": sum(removed is not None for _, removed, _, _ in workers),
        "executors_lost": sum(f.is_executor_loss(reason) for _, _, _, reason in workers),
        "max_concurrent_executors": max_alive or len(workers),
        "executor_cores": max(set(cores), key=cores.count) if cores else None,
        "max_concurrent_cores": max_cores or (sum(cores) if cores else None),
    }
