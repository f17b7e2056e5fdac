"""What the HTML report plots, computed from table rows (dicts, as `pa.Table.to_pylist()` gives).

Pure functions: no store, no Spark, no clock. Times on the plots are seconds since the
application started; byte counts stay bytes until the plot formats them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Collection, Iterable, Mapping, Protocol, Sequence

import numpy as np

from spark_optimizer.tables.instants import epoch_ms

MS_PER_HOUR = 3.6e6
EXACT_STEP_LIMIT = 2000
"""Concurrency series with more change points than this are averaged over `CONCURRENCY_BINS` bins,
so the SVG stays small for apps with 100k tasks."""
CONCURRENCY_BINS = 400
HEAVY_STAGE_LIMIT = 4
CRITICAL_STAGE_LIMIT = 30
EXECUTOR_BAR_LIMIT = 40
HEAP_METRICS = ("peak_jvm_heap_bytes", "jvm_heap_used_bytes")
"""executor_metrics names (collectors/prometheus.py) holding heap use, as analysis/app_metrics.py reads them."""
EXECUTION_METRICS = ("peak_execution_memory_onheap_bytes", "execution_memory_onheap_bytes", "peak_onheap_execution_bytes")


class CostFunction(Protocol):
    """The cost of running `app` on `executors` x `cores_per_executor` for `wall_ms`.

    The seam for the cost model (spark_optimizer/cost/): pass one to the report functions with its
    unit (`cost_unit="USD"`). Without one, the report prices runs in allocated core-hours.

    Example (an adapter over spark_optimizer.cost)::

        def aws_cost(*, app, executors, cores_per_executor, wall_ms):
            shape = ClusterShape(executors=executors, executor_cores=cores_per_executor,
                                 executor_memory_mb=app["executor_memory_mb"] or 4096)
            return run_cost(plan_instances(shape, catalogue, "aws"), runtime_s=wall_ms / 1000).total

        app_report_html(store, app_id, attempt_id, now, cost=aws_cost, cost_unit="USD")
    """

    def __call__(self, *, app: Mapping[str, Any], executors: int, cores_per_executor: int, wall_ms: int) -> float: ...


def core_hours(*, app: Mapping[str, Any], executors: int, cores_per_executor: int, wall_ms: int) -> float:
    """Allocated core-hours, the what-if's own measure: executors x cores x wall time."""
    return executors * cores_per_executor * wall_ms / MS_PER_HOUR


@dataclass(frozen=True)
class StepSeries:
    """A quantity over time: `values[i]` holds from `times_s[i]` to `times_s[i + 1]`.

    `bin_s` is None for an exact step function, else the width of the bins the values are averaged over.
    """

    times_s: tuple[float, ...]
    values: tuple[float, ...]
    bin_s: float | None = None

    @property
    def peak(self) -> float:
        return max(self.values, default=0.0)


@dataclass(frozen=True)
class ExecutorSpan:
    executor_id: str
    start_s: float
    end_s: float
    cores: int
    lost: bool
    removed: bool
    remove_reason: str | None


@dataclass(frozen=True)
class Timeline:
    """Executor lifetimes, executors alive, task slots alive and running tasks over the run."""

    wall_s: float
    spans: tuple[ExecutorSpan, ...]
    alive: StepSeries
    slots: StepSeries
    running_tasks: StepSeries
    local_mode: bool


@dataclass(frozen=True)
class CriticalStage:
    stage_id: int
    stage_attempt_id: int
    job_id: int | None
    name: str
    start_s: float
    end_s: float
    duration_ms: int
    task_count: int
    bottleneck: str | None


@dataclass(frozen=True)
class CriticalPath:
    stages: tuple[CriticalStage, ...]
    """The longest critical-path stages (at most `CRITICAL_STAGE_LIMIT`), in submission order."""
    total_ms: int
    """Sum of the critical-path lengths of all jobs."""
    stage_count: int
    """Critical-path stage attempts in all, shown or not."""
    untimed_count: int
    """Critical-path stages left out for lack of submission or completion time."""


@dataclass(frozen=True)
class StageDurations:
    stage_id: int
    stage_attempt_id: int
    name: str
    durations_ms: tuple[int, ...]
    task_time_share: float | None

    @property
    def skew_ratio(self) -> float | None:
        """max / median of the durations shown (None when the median is 0)."""
        median = float(np.median(self.durations_ms)) if self.durations_ms else 0.0
        return max(self.durations_ms) / median if median > 0 else None

    @property
    def label(self) -> str:
        return f"stage {self.stage_id}.{self.stage_attempt_id}"


@dataclass(frozen=True)
class ExecutorMemory:
    executor_id: str
    peak_heap_bytes: int | None
    peak_execution_bytes: int | None
    peak_storage_bytes: int | None
    unified_memory_bytes: int | None
    gc_share: float | None
    run_time_ms: int


@dataclass(frozen=True)
class MemoryGc:
    executors: tuple[ExecutorMemory, ...]
    """At most `EXECUTOR_BAR_LIMIT` executors, those with the highest heap peak (or run time) first."""
    executor_count: int
    executor_memory_bytes: int | None
    peaks_source: str | None
    """'event_log', 'prometheus' or None when no executor logged a memory peak."""
    stage_gc: tuple[tuple[str, float], ...]
    """(stage label, GC share) of the heaviest stages."""
    app_gc_share: float | None

    @property
    def has_peaks(self) -> bool:
        return any(e.peak_heap_bytes for e in self.executors)


@dataclass(frozen=True)
class WhatIfCurve:
    points: tuple[dict[str, Any], ...]
    """executors, estimated_wall_ms, estimated_core_hours, cost: ascending by executors."""
    observed_executors: int
    ideal_executors: int
    cores_per_executor: int
    cost_unit: str
    calibration_error: float


@dataclass(frozen=True)
class TrendRun:
    app_id: str
    attempt_id: str
    start_time: datetime
    duration_ms: int | None
    input_bytes: int | None
    cost: float | None
    bottleneck: str | None
    status: str | None
    executors: int | None
    finding_count: int


@dataclass(frozen=True)
class Trend:
    app_name: str
    runs: tuple[TrendRun, ...]
    cost_unit: str
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class AppReportData:
    """Everything the HTML page shows for one application attempt."""

    report: dict[str, Any]
    """`analysis.report.build_app_report` (summary, metrics, findings, heaviest stages, what-if)."""
    configuration: dict[str, str]
    configuration_source: str
    timeline: Timeline
    critical_path: CriticalPath
    stage_durations: list[StageDurations]
    memory: MemoryGc
    whatif: WhatIfCurve | None


# ---- executor timeline ----------------------------------------------------------------------------

def _step(changes: Iterable[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """(time, delta) pairs -> change times and the value holding from each."""
    pairs = sorted(changes)
    if not pairs:
        return np.array([0.0]), np.array([0.0])
    times = np.array([t for t, _ in pairs], dtype=float)
    deltas = np.array([d for _, d in pairs], dtype=float)
    unique, index = np.unique(times, return_inverse=True)
    summed = np.zeros(len(unique))
    np.add.at(summed, index, deltas)
    return unique, np.cumsum(summed)


def step_series(changes: Iterable[tuple[float, float]], start_s: float, end_s: float,
                exact_limit: int = EXACT_STEP_LIMIT, bins: int = CONCURRENCY_BINS) -> StepSeries:
    """A step function from (time, +/-delta) changes over [start_s, end_s].

    Up to `exact_limit` change points it is returned exactly; beyond, as the time-weighted mean
    over `bins` equal bins (the area under a step function is piecewise linear between change
    points, so interpolating the cumulative area at the bin edges is exact).
    """
    times, values = _step(changes)
    if times[0] > start_s:
        times, values = np.concatenate(([start_s], times)), np.concatenate(([0.0], values))
    if len(times) <= exact_limit or end_s <= start_s:
        return StepSeries(tuple(float(t) for t in times), tuple(float(v) for v in values))
    area = np.concatenate(([0.0], np.cumsum(values[:-1] * np.diff(times))))
    edges = np.linspace(start_s, end_s, bins + 1)
    tail = area[-1] + values[-1] * np.maximum(edges - times[-1], 0)
    at_edges = np.where(edges > times[-1], tail, np.interp(edges, times, area))
    width = (end_s - start_s) / bins
    return StepSeries(tuple(float(t) for t in edges[:-1]), tuple(float(v) for v in np.diff(at_edges) / width), width)


def executor_spans(executor_rows: Sequence[Mapping], start_ms: int, end_ms: int) -> tuple[list[ExecutorSpan], bool]:
    """Executor lifetimes in seconds since `start_ms`, and whether this is local mode (the driver runs the tasks)."""
    executors = [e for e in executor_rows if not e.get("is_driver")]
    local_mode = not executors
    if local_mode:
        executors = [e for e in executor_rows if e.get("is_driver")]
    spans = []
    for e in executors:
        add = epoch_ms(e.get("add_time"))
        remove = epoch_ms(e.get("remove_time"))
        add_s = max(0.0, ((add if add is not None else start_ms) - start_ms) / 1000)
        end_s = ((min(remove, end_ms) if remove is not None else end_ms) - start_ms) / 1000
        spans.append(ExecutorSpan(str(e.get("executor_id")), add_s, max(add_s, end_s), int(e.get("total_cores") or 1),
                                  bool(e.get("lost")), remove is not None, e.get("remove_reason")))
    spans.sort(key=lambda s: (s.start_s, _natural(s.executor_id)))
    return spans, local_mode


def _natural(executor_id: str) -> tuple[int, str]:
    return (int(executor_id), "") if executor_id.isdigit() else (1 << 30, executor_id)


def executor_timeline(app: Mapping, executor_rows: Sequence[Mapping], task_rows: Sequence[Mapping]) -> Timeline:
    """Executors alive, task slots and running tasks over the application's lifetime.

    Running tasks count every task attempt between its launch and finish (failed and speculative
    ones included: they held a slot).
    """
    timed = [(launch, finish) for t in task_rows
             if (launch := epoch_ms(t.get("launch_time"))) is not None and (finish := epoch_ms(t.get("finish_time"))) is not None]
    start_ms = epoch_ms(app.get("start_time"))
    if start_ms is None:
        start_ms = min((launch for launch, _ in timed), default=0)
    end_ms = epoch_ms(app.get("end_time"))
    if end_ms is None:
        end_ms = max((finish for _, finish in timed), default=start_ms)
    wall_s = max(0.0, (end_ms - start_ms) / 1000)
    spans, local_mode = executor_spans(executor_rows, start_ms, end_ms)
    alive = step_series([(s.start_s, 1) for s in spans] + [(s.end_s, -1) for s in spans if s.removed], 0.0, wall_s)
    slots = step_series([(s.start_s, s.cores) for s in spans] + [(s.end_s, -s.cores) for s in spans if s.removed], 0.0, wall_s)
    running = step_series(
        [((launch - start_ms) / 1000, 1) for launch, _ in timed] + [((finish - start_ms) / 1000, -1) for _, finish in timed],
        0.0, wall_s,
    )
    return Timeline(wall_s, tuple(spans), alive, slots, running, local_mode)


# ---- stages ------------------------------------------------------------------------------------------

def critical_path(app: Mapping, stage_metric_rows: Sequence[Mapping], stage_rows: Sequence[Mapping],
                  limit: int = CRITICAL_STAGE_LIMIT) -> CriticalPath:
    """The stages on their job's critical path (stage_metrics.on_critical_path) with their start and end."""
    start_ms = epoch_ms(app.get("start_time")) or 0  # None: times stay epoch-based, the bars keep their lengths
    info = {(s["stage_id"], s["stage_attempt_id"]): s for s in stage_rows}
    critical = [m for m in stage_metric_rows if m.get("on_critical_path")]
    per_job = {m.get("job_id"): m.get("critical_path_ms") or 0 for m in critical}
    timed, untimed = [], 0
    for m in critical:
        s = info.get((m["stage_id"], m["stage_attempt_id"]), {})
        submitted, completed = epoch_ms(s.get("submission_time")), epoch_ms(s.get("completion_time"))
        if submitted is None or completed is None:
            untimed += 1
            continue
        timed.append(CriticalStage(m["stage_id"], m["stage_attempt_id"], m.get("job_id"), s.get("stage_name") or "",
                                   (submitted - start_ms) / 1000, (completed - start_ms) / 1000,
                                   int(m.get("duration_ms") or completed - submitted), int(m.get("task_count") or 0),
                                   m.get("bottleneck")))
    kept = sorted(timed, key=lambda c: -c.duration_ms)[:limit]
    return CriticalPath(tuple(sorted(kept, key=lambda c: (c.start_s, c.stage_id))), int(sum(per_job.values())),
                        len(critical), untimed)


def heavy_stage_durations(stage_metric_rows: Sequence[Mapping], stage_rows: Sequence[Mapping], task_rows: Sequence[Mapping],
                          limit: int = HEAVY_STAGE_LIMIT) -> list[StageDurations]:
    """Durations of the successful tasks of the stages with the largest share of task time (>= 2 tasks)."""
    names = {(s["stage_id"], s["stage_attempt_id"]): s.get("stage_name") or "" for s in stage_rows}
    heavy = sorted((m for m in stage_metric_rows if (m.get("task_count") or 0) >= 2),
                   key=lambda m: -(m.get("task_time_share") or 0))[:limit]
    wanted = {(m["stage_id"], m["stage_attempt_id"]) for m in heavy}
    durations: dict[tuple[int, int], list[int]] = {key: [] for key in wanted}
    for t in task_rows:
        key = (t.get("stage_id"), t.get("stage_attempt_id"))
        if key in wanted and t.get("status") == "success" and t.get("duration_ms") is not None:
            durations[key].append(int(t["duration_ms"]))
    return [
        StageDurations(m["stage_id"], m["stage_attempt_id"], names.get((m["stage_id"], m["stage_attempt_id"]), ""),
                       tuple(sorted(durations[(m["stage_id"], m["stage_attempt_id"])])), m.get("task_time_share"))
        for m in heavy if durations[(m["stage_id"], m["stage_attempt_id"])]
    ]


# ---- memory and GC -----------------------------------------------------------------------------------

def _scraped_peaks(metric_rows: Sequence[Mapping], names: Sequence[str]) -> dict[str, int]:
    peaks: dict[str, int] = {}
    for r in metric_rows:
        if r.get("metric") in names and r.get("value") is not None:
            executor = str(r.get("executor_id"))
            peaks[executor] = max(peaks.get(executor, 0), int(r["value"]))
    return peaks


def memory_gc(app: Mapping, executor_rows: Sequence[Mapping], stage_metric_rows: Sequence[Mapping],
              metrics: Mapping | None = None, executor_metric_rows: Sequence[Mapping] = (),
              limit: int = EXECUTOR_BAR_LIMIT) -> MemoryGc:
    """Per executor: heap, execution and storage peaks against the executor memory, and GC share of run time.

    Peaks come from the event log (ExecutorMetrics, Spark 3.0+); executors without them take the
    maxima scraped by Prometheus (`executor_metrics`) where present.
    """
    workers = [e for e in executor_rows if not e.get("is_driver")] or [e for e in executor_rows if e.get("is_driver")]
    scraped_heap = _scraped_peaks(executor_metric_rows, HEAP_METRICS)
    scraped_execution = _scraped_peaks(executor_metric_rows, EXECUTION_METRICS)
    logged = any(e.get("peak_jvm_heap_bytes") for e in workers)
    rows = []
    for e in workers:
        executor_id = str(e.get("executor_id"))
        run_ms = int(e.get("executor_run_time_ms") or 0)
        heap = e.get("peak_jvm_heap_bytes") or scraped_heap.get(executor_id)
        execution = e.get("peak_onheap_execution_bytes") or scraped_execution.get(executor_id)
        gc_ms = e.get("jvm_gc_time_ms") or 0
        # GC above the run time it is part of is the log's inconsistency (JVM-wide GC counted by concurrent tasks): unknown
        rows.append(ExecutorMemory(executor_id, heap, execution, e.get("peak_onheap_storage_bytes"), e.get("max_memory_bytes"),
                                   gc_ms / run_ms if run_ms and gc_ms <= run_ms else None, run_ms))
    rows.sort(key=lambda r: (-(r.peak_heap_bytes or 0), -r.run_time_ms, _natural(r.executor_id)))
    shown = sorted(rows[:limit], key=lambda r: _natural(r.executor_id))
    source = "event_log" if logged else ("prometheus" if any(r.peak_heap_bytes for r in rows) else None)
    memory_mb = app.get("executor_memory_mb")
    heavy = sorted(stage_metric_rows, key=lambda m: -(m.get("task_time_share") or 0))[:12]
    stage_gc = tuple((f"{m['stage_id']}.{m['stage_attempt_id']}", m.get("gc_share"))
                     for m in sorted(heavy, key=lambda m: (m["stage_id"], m["stage_attempt_id"])))
    return MemoryGc(tuple(shown), len(rows), memory_mb * 1024 * 1024 if memory_mb else None, source, stage_gc,
                    (metrics or {}).get("gc_share"))


# ---- what-if -----------------------------------------------------------------------------------------

def whatif_counts(observed_executors: int) -> list[int]:
    """Executor counts for a readable curve: powers of two and their midpoints up to 4x the observed
    count (at least 8), plus the observed count, its half, double and quadruple."""
    top = max(8, 4 * observed_executors)
    counts = {1, max(1, observed_executors // 2), observed_executors, 2 * observed_executors, 4 * observed_executors}
    n = 2
    while n <= top:
        counts.update({n, n + n // 2} if n + n // 2 <= top else {n})
        n *= 2
    return sorted(counts)


def whatif_curve(whatif: Mapping[str, Any], app: Mapping[str, Any], cost: CostFunction | None = None,
                 cost_unit: str | None = None) -> WhatIfCurve | None:
    """The what-if points of `build_app_report` priced by `cost` (default: allocated core-hours)."""
    if "error" in whatif or not whatif.get("points"):
        return None
    price = cost or core_hours
    unit = cost_unit or ("core-hours" if cost is None else "cost")
    cores = int(whatif["cores_per_executor"])
    points = tuple(
        {**p, "cost": float(price(app=app, executors=int(p["executors"]), cores_per_executor=cores, wall_ms=int(p["estimated_wall_ms"])))}
        for p in sorted(whatif["points"], key=lambda p: p["executors"])
    )
    return WhatIfCurve(points, int(whatif["observed_executors"]), int(whatif["ideal_executors"]), cores, unit,
                       float(whatif.get("calibration_error") or 0.0))


# ---- runs of one application name over time ----------------------------------------------------------

def trend(app_name: str, app_rows: Sequence[Mapping], metric_rows: Sequence[Mapping] = (), finding_rows: Sequence[Mapping] = (),
          cost: CostFunction | None = None, cost_unit: str | None = None, *, keys: Collection[tuple[str, str]] | None = None) -> Trend:
    """Every run named `app_name` (exact match), oldest first, with duration, input, cost and bottleneck.
    With `keys` ((app_id, attempt_id) pairs, e.g. the runs of one job signature) those runs instead,
    whatever their names, and `app_name` is only the title.

    Without `cost`, a run costs its allocated core-hours (`app_metrics.allocated_core_ms`), or
    executors x cores x wall time when it was not analyzed.
    """
    metrics = {(m["app_id"], m["attempt_id"]): m for m in metric_rows}
    findings: dict[tuple[str, str], int] = {}
    for f in finding_rows:
        findings[(f["app_id"], f["attempt_id"])] = findings.get((f["app_id"], f["attempt_id"]), 0) + 1
    runs = []
    for a in app_rows:
        key = (a["app_id"], a.get("attempt_id") or "")
        if (key not in keys if keys is not None else a.get("app_name") != app_name) or a.get("start_time") is None:
            continue
        m = metrics.get(key, {})
        executors, cores, wall_ms = a.get("max_concurrent_executors"), a.get("executor_cores"), a.get("duration_ms")
        if cost is not None:
            price = cost(app=a, executors=executors or 0, cores_per_executor=cores or 0, wall_ms=wall_ms or 0) if wall_ms is not None else None
        elif m.get("allocated_core_ms") is not None:
            price = m["allocated_core_ms"] / MS_PER_HOUR
        elif executors and cores and wall_ms is not None:
            price = core_hours(app=a, executors=executors, cores_per_executor=cores, wall_ms=wall_ms)
        else:
            price = None
        runs.append(TrendRun(key[0], key[1], a["start_time"], wall_ms, a.get("input_bytes"), price,
                             m.get("bottleneck"), a.get("status"), executors, findings.get(key, 0)))
    runs.sort(key=lambda r: (r.start_time, r.app_id, r.attempt_id))
    unit = cost_unit or ("core-hours" if cost is None else "cost")
    notes = () if all(r.bottleneck for r in runs) else ("runs without a bottleneck were not analyzed",)
    return Trend(app_name, tuple(runs), unit, notes)
