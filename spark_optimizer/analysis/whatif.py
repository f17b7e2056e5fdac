"""Executor what-if: replay one run's tasks on other executor counts (the Sparklens approach).

The model: the application's wall time is split into *driver-only* time (no task running
anywhere: start-up and executor allocation, planning, collects, gaps between stages) and
*executor* time (the union of task intervals). Driver-only time is kept fixed. Executor time is
re-simulated by replaying the stage DAG with the observed task durations on `executors x cores`
task slots. The observed size is `max_concurrent_executors` x `executor_cores` (local mode:
1 x N); under dynamic allocation that is the peak, so the replay at the observed size may be
optimistic.

- **Job groups.** Jobs whose [submission, completion] spans overlap (transitively) ran
  concurrently, so they form one group and their stages compete for the same slots; groups run
  one after the other. Sparklens first groups jobs by SQL execution id and then splits groups that
  do not overlap; we group by time overlap alone, which yields the same groups for sequential
  queries and also keeps concurrent queries (thread pools, several SQL ids at once) together.
  Jobs without tasks (every stage skipped) are left out: their time is driver-only time.
- **Stages.** Inside a group a stage becomes runnable when its parents that ran in the same
  group have finished (`parent_stage_ids`; skipped parents and parents from earlier groups are
  already done). All attempts of a stage id are one node. Runnable stages are served FIFO by
  (job id, stage id), as Spark's default FIFO pool does.
- **Tasks.** Every task attempt with a duration occupies a slot, failed, killed and speculative
  ones included, since they held a core. Within a stage tasks are launched in their observed
  launch order (what Spark's TaskSetManager does, index order), not longest-first: the replay
  should reproduce the observed run at the observed size. Each free slot takes the next task of
  the highest-priority runnable stage (list scheduling over a min-heap of finish times).
- **Unchanged durations.** Task durations are the observed ones at every size. The model ignores
  that more or fewer executors change per-task times (CPU contention on shared hosts, GC pressure,
  more remote shuffle fetches, executor start-up and locality waits), so treat estimates for
  counts far from the observed one as rough.
- **Calibration.** The replay is also run at the observed configuration; `calibration_error` is
  its relative error against the observed wall time. Positive: a task's Launch -> Finish ends
  when the driver records it, after its slot already took the next task, so replayed tasks sit
  end to end where real ones overlapped a little. Negative: real scheduling had delays the
  replay skips (locality waits, executors lost or added late). With `calibrate=True` the simulated
  executor time of every point is scaled by observed busy / simulated busy at the observed
  configuration, so the observed configuration maps onto the observed wall time exactly.
  The default is `False` (raw replay): on real runs the replay at the observed size lands within
  a few percent of the observed wall time (+0.2% to +2.5% in `benchmarks/whatif.py`, -11% to +4%
  over the shared corpus), so scaling moves estimates by about as much, while the errors across
  sizes come from task durations that change with the size, which no constant factor fixes.

Core-hours are *allocated* core-hours: executors x cores x estimated wall time, driver-only time
included, because executors stay allocated while the driver works.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from spark_optimizer.errors import SparkOptimizerError
from spark_optimizer.tables.instants import epoch_ms, iso_utc

if TYPE_CHECKING:
    from spark_optimizer.tables.store import TableStore

DEFAULT_TOLERANCE = 0.10
MS_PER_HOUR = 3.6e6


class WhatIfError(SparkOptimizerError):
    """Thrown when an application cannot be replayed: no timed tasks, an incomplete log, no
    wall time, or no known executor size."""


@dataclass(frozen=True)
class WhatIfPoint:
    """The estimate for one executor count."""

    executors: int
    cores_per_executor: int
    estimated_wall_ms: int
    estimated_core_hours: float
    speedup_vs_observed: float
    simulated_executor_ms: int
    """Replayed executor time before calibration (the wall estimate adds driver-only time)."""


@dataclass(frozen=True)
class WhatIfResult:
    """What-if estimates for one application attempt, with the replay's own error at the observed size.

    - `driver_only_ms`: observed wall time with no task running (held fixed at every size);
      `executor_busy_ms` = `observed_wall_ms` - `driver_only_ms`, the union of task intervals.
    - `simulated_observed_wall_ms`: the raw replay at the observed size; `calibration_error` its
      signed error against `observed_wall_ms`; `calibrated`: whether the points were scaled by it.
    - `points`: one per requested executor count, ascending; `ideal_executors`: the smallest count
      within the tolerance of the best estimate.
    - `tasks_without_times`: task rows left out because they lack a launch or finish time.
    """

    app_id: str
    attempt_id: str
    observed_wall_ms: int
    driver_only_ms: int
    observed_executors: int
    observed_cores_per_executor: int
    points: tuple[WhatIfPoint, ...]
    ideal_executors: int
    executor_busy_ms: int
    simulated_observed_wall_ms: int
    calibration_error: float
    calibrated: bool
    job_group_count: int
    task_count: int
    tasks_without_times: int

    def point(self, executors: int) -> WhatIfPoint:
        for p in self.points:
            if p.executors == executors:
                return p
        counts = [p.executors for p in self.points]
        raise KeyError(f"no what-if point for {executors} executors; simulated counts are {counts}")


@dataclass
class _Stage:
    stage_id: int
    priority: tuple[int, int]
    durations_ms: list[int]
    parents: set[int]


def _busy_ms(intervals: list[tuple[int, int]], start_ms: int, end_ms: int) -> int:
    """Length of the union of task intervals, clipped to the application's lifetime."""
    busy, cursor = 0, start_ms
    for launch, finish in sorted(intervals):
        launch, finish = max(launch, cursor), min(finish, end_ms)
        if finish > launch:
            busy += finish - launch
            cursor = finish
    return busy


def _replay_group(stages: Sequence[_Stage], slots: int) -> int:
    """Makespan (ms) of one job group on `slots` task slots: list scheduling that respects the DAG.

    Every stage has at least one task. When slots free up, each takes the next task (in launch
    order) of the highest-priority runnable stage; a stage's children become runnable when its
    last task finishes.
    """
    by_id = {s.stage_id: s for s in stages}
    children: dict[int, list[int]] = {s.stage_id: [] for s in stages}
    waiting: dict[int, int] = {}
    for s in stages:
        parents = [p for p in s.parents if p in by_id and p != s.stage_id]
        waiting[s.stage_id] = len(parents)
        for p in parents:
            children[p].append(s.stage_id)
    unfinished = {s.stage_id: len(s.durations_ms) for s in stages}
    next_task = dict.fromkeys(by_id, 0)
    runnable = [(s.priority, s.stage_id) for s in stages if waiting[s.stage_id] == 0]
    heapq.heapify(runnable)
    running: list[tuple[int, int]] = []  # (finish time, stage id)
    free, now, done = slots, 0, 0
    while True:
        while free and runnable:
            stage = by_id[runnable[0][1]]
            heapq.heappush(running, (now + stage.durations_ms[next_task[stage.stage_id]], stage.stage_id))
            next_task[stage.stage_id] += 1
            free -= 1
            if next_task[stage.stage_id] == len(stage.durations_ms):
                heapq.heappop(runnable)
        if not running:
            break
        now = running[0][0]
        while running and running[0][0] == now:  # free every slot of this instant before refilling
            _, stage_id = heapq.heappop(running)
            free += 1
            unfinished[stage_id] -= 1
            if unfinished[stage_id] == 0:
                done += 1
                for child in children[stage_id]:
                    waiting[child] -= 1
                    if waiting[child] == 0:
                        heapq.heappush(runnable, (by_id[child].priority, child))
    if done != len(stages):
        stuck = sorted(s for s, n in waiting.items() if n > 0)
        raise WhatIfError(
            f"stages {stuck} wait on parents that never finish (a cycle in parent_stage_ids); check the stages table"
        )
    return now


def _job_groups(
    stage_tasks: Mapping[int, list[Mapping]],
    stage_job: Mapping[int, int],
    job_span: Mapping[int, tuple[int | None, int | None]],
) -> list[list[int]]:
    """Stage ids grouped by overlapping job spans, groups in time order."""
    units: dict[int, list[int]] = {}
    for stage_id in stage_tasks:
        units.setdefault(stage_job.get(stage_id, -1 - stage_id), []).append(stage_id)  # unknown job: its own unit
    spans = []
    for job_id, stage_ids in units.items():
        tasks = [t for s in stage_ids for t in stage_tasks[s]]
        start, end = job_span.get(job_id, (None, None))
        start = start if start is not None else min(t["launch_ms"] for t in tasks)
        end = end if end is not None else max(t["finish_ms"] for t in tasks)
        spans.append((start, max(start, end), job_id))
    groups: list[list[int]] = []
    group_end = None
    for start, end, job_id in sorted(spans):
        if group_end is None or start >= group_end:
            groups.append([])
            group_end = end
        groups[-1].extend(units[job_id])
        group_end = max(group_end, end)
    return groups


def _observed_size(app_row: Mapping) -> tuple[int, int]:
    """(executors, cores per executor) the run had: local mode is one executor with local[N] cores."""
    executors = app_row.get("max_concurrent_executors") or app_row.get("executor_instances_requested")
    cores = app_row.get("executor_cores") or app_row.get("executor_cores_requested")
    if not cores and executors and app_row.get("max_concurrent_cores"):
        cores = app_row["max_concurrent_cores"] // executors
    if not executors or not cores:
        raise WhatIfError(
            f"application {app_row.get('app_id')}: executor count or cores unknown "
            f"(max_concurrent_executors={app_row.get('max_concurrent_executors')}, "
            f"executor_cores={app_row.get('executor_cores')}); "
            "the log has no SparkListenerExecutorAdded and no spark.executor.instances/cores"
        )
    return int(executors), int(cores)


def _wall_window(app_row: Mapping, allow_incomplete: bool) -> tuple[int, int]:
    app_id = app_row.get("app_id")
    if app_row.get("status") == "incomplete" and not allow_incomplete:
        raise WhatIfError(
            f"application {app_id}: the log is incomplete (no ApplicationEnd), so its wall time is unknown; "
            "pass allow_incomplete=True to replay what was logged up to the last event"
        )
    start_ms, end_ms = epoch_ms(app_row.get("start_time")), epoch_ms(app_row.get("end_time"))
    if start_ms is None or end_ms is None or end_ms < start_ms:
        raise WhatIfError(f"application {app_id}: start_time={iso_utc(app_row.get('start_time'))}, "
                          f"end_time={iso_utc(app_row.get('end_time'))}; a wall time is needed")
    return start_ms, end_ms


def _for_app(rows: Iterable[Mapping], app_id: str, attempt_id: str) -> list[Mapping]:
    return [r for r in rows if r.get("app_id", app_id) == app_id and (r.get("attempt_id", attempt_id) or "") == attempt_id]


def _timed_tasks(tasks: Iterable[Mapping]) -> list[dict]:
    """The tasks with a launch and a finish time, as the fields the replay reads (times in epoch ms)."""
    timed = []
    for t in tasks:
        launch, finish = epoch_ms(t.get("launch_time")), epoch_ms(t.get("finish_time"))
        if launch is not None and finish is not None:
            timed.append({"task_id": t.get("task_id"), "stage_id": t["stage_id"], "duration_ms": t.get("duration_ms"),
                          "launch_ms": launch, "finish_ms": finish})
    return timed


def _duration_ms(task: Mapping) -> int:
    duration = task.get("duration_ms")
    return max(0, duration if duration is not None else task["finish_ms"] - task["launch_ms"])


def _stage_groups(timed_tasks: list[Mapping], stages: list[Mapping], jobs: list[Mapping]) -> list[list[_Stage]]:
    """The replay's input: per job group, its stages with parents and task durations in launch order."""
    stage_tasks: dict[int, list[Mapping]] = {}
    for t in sorted(timed_tasks, key=lambda t: (t["launch_ms"], t.get("task_id") or 0)):
        stage_tasks.setdefault(t["stage_id"], []).append(t)
    stage_job: dict[int, int] = {}
    parents: dict[int, set[int]] = {}
    for j in sorted(jobs, key=lambda j: j["job_id"], reverse=True):  # the first job that lists a stage wins
        for s in j.get("stage_ids") or []:
            stage_job[int(s)] = j["job_id"]
    for s in sorted(stages, key=lambda s: s.get("stage_attempt_id") or 0, reverse=True):  # attempt 0 wins
        if s.get("stage_id") is None:
            continue
        if s.get("job_id") is not None:
            stage_job[s["stage_id"]] = s["job_id"]
        parents.setdefault(s["stage_id"], set()).update(int(p) for p in s.get("parent_stage_ids") or [])
    job_span = {j["job_id"]: (epoch_ms(j.get("submission_time")), epoch_ms(j.get("completion_time"))) for j in jobs}
    return [
        [
            _Stage(s, (stage_job.get(s, -1), s), [_duration_ms(t) for t in stage_tasks[s]], parents.get(s, set()))
            for s in group
        ]
        for group in _job_groups(stage_tasks, stage_job, job_span)
    ]


def simulate_app(
    app_row: Mapping,
    stage_rows: Sequence[Mapping],
    task_rows: Sequence[Mapping],
    job_rows: Sequence[Mapping],
    executor_counts: Sequence[int],
    cores_per_executor: int | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    *,
    calibrate: bool = False,
    allow_incomplete: bool = False,
) -> WhatIfResult:
    """Estimate the wall time and allocated core-hours of one application at other executor counts.

    Rows are table rows as dicts (`applications`, `stages`, `tasks`, `jobs`); rows of other
    applications are ignored. `cores_per_executor` defaults to the observed one. The ideal count
    is the smallest one whose estimate is within `tolerance` of the best estimate. Task
    durations are replayed unchanged at every size (see the module docstring).

    Example::

        result = simulate_app(app, stages, tasks, jobs, executor_counts=[1, 2, 4, 8])
        result.ideal_executors, result.point(4).estimated_wall_ms, result.calibration_error
    """
    if not executor_counts or any(int(n) < 1 for n in executor_counts):
        raise ValueError(f"executor_counts must be positive integers, got {list(executor_counts)}")
    if cores_per_executor is not None and cores_per_executor < 1:
        raise ValueError(f"cores_per_executor must be a positive integer, got {cores_per_executor}")
    if tolerance < 0:
        raise ValueError(f"tolerance is a fraction of the best estimate (e.g. 0.10), got {tolerance}")
    app_id, attempt_id = app_row.get("app_id"), app_row.get("attempt_id") or ""
    start_ms, end_ms = _wall_window(app_row, allow_incomplete)
    observed_wall_ms = end_ms - start_ms
    observed_executors, observed_cores = _observed_size(app_row)
    cores = cores_per_executor or observed_cores

    tasks = _for_app(task_rows, app_id, attempt_id)
    timed = _timed_tasks(tasks)
    if not timed:
        raise WhatIfError(
            f"application {app_id}: {len(tasks)} task rows, none with launch and finish times; nothing to replay "
            "(a driver-only application runs the same at any executor count)"
        )
    groups = _stage_groups(timed, _for_app(stage_rows, app_id, attempt_id), _for_app(job_rows, app_id, attempt_id))
    busy_ms = _busy_ms([(t["launch_ms"], t["finish_ms"]) for t in timed], start_ms, end_ms)
    driver_only_ms = observed_wall_ms - busy_ms

    def executor_ms(slots: int) -> int:
        return sum(_replay_group(g, slots) for g in groups)

    simulated_observed_wall_ms = driver_only_ms + executor_ms(observed_executors * observed_cores)
    simulated_observed_busy_ms = simulated_observed_wall_ms - driver_only_ms
    factor = busy_ms / simulated_observed_busy_ms if calibrate and simulated_observed_busy_ms > 0 else 1.0
    points = []
    for n in sorted({int(n) for n in executor_counts}):
        simulated = executor_ms(n * cores)
        wall_ms = driver_only_ms + round(simulated * factor)
        points.append(
            WhatIfPoint(
                executors=n,
                cores_per_executor=cores,
                estimated_wall_ms=wall_ms,
                estimated_core_hours=n * cores * wall_ms / MS_PER_HOUR,
                speedup_vs_observed=observed_wall_ms / wall_ms if wall_ms else float("inf"),
                simulated_executor_ms=simulated,
            )
        )
    best_ms = min(p.estimated_wall_ms for p in points)
    return WhatIfResult(
        app_id=app_id,
        attempt_id=attempt_id,
        observed_wall_ms=observed_wall_ms,
        driver_only_ms=driver_only_ms,
        observed_executors=observed_executors,
        observed_cores_per_executor=observed_cores,
        points=tuple(points),
        ideal_executors=min(p.executors for p in points if p.estimated_wall_ms <= best_ms * (1 + tolerance)),
        executor_busy_ms=busy_ms,
        simulated_observed_wall_ms=simulated_observed_wall_ms,
        calibration_error=(simulated_observed_wall_ms - observed_wall_ms) / observed_wall_ms if observed_wall_ms else 0.0,
        calibrated=calibrate,
        job_group_count=len(groups),
        task_count=len(timed),
        tasks_without_times=len(tasks) - len(timed),
    )


def simulate_stored_app(
    store: TableStore, app_id: str, attempt_id: str = "", executor_counts: Sequence[int] = (1, 2, 4, 8), **options
) -> WhatIfResult:
    """`simulate_app` over the rows of one application read from a `TableStore` (delta-rs, no JVM).

    Reads whole tables and filters them in Arrow: fine for a warehouse of thousands of apps, not
    for a fleet's history (push the filter into the Delta scan then).

    Example::

        simulate_stored_app(TableStore(None, settings), "application_1_0001", executor_counts=[2, 4, 8])
    """
    import pyarrow.compute as pc

    from spark_optimizer.tables import APPLICATIONS, JOBS, STAGES, TASKS

    def rows(spec) -> list[dict]:
        table = store.read_arrow(spec)
        keep = pc.and_(pc.equal(table["app_id"], app_id), pc.equal(table["attempt_id"], attempt_id))
        return table.filter(keep).to_pylist()

    apps = rows(APPLICATIONS)
    if not apps:
        raise WhatIfError(
            f"application {app_id!r} attempt {attempt_id!r} is not in the applications table; ingest its event log first"
        )
    return simulate_app(apps[0], rows(STAGES), rows(TASKS), rows(JOBS), executor_counts, **options)
