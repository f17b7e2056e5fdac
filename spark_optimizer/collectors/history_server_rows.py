"""Spark History Server REST JSON (/api/v1) -> rows of our event-log tables.

Units: the REST API reports times in ms except `executorCpuTime`, `executorDeserializeCpuTime`
and `shuffleWriteTime`, which are ns (converted to ms like the event-log path); dates are
strings such as "2026-11-23T23:22:40.123GMT" (converted to epoch ms).

Columns the REST API does not provide stay null (see NULL_FROM_REST).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from spark_optimizer.eventlog import fields as f
from spark_optimizer.eventlog.aggregates import executor_fleet, stage_skew_ratios
from spark_optimizer.tables._columns import QUANTILES
from spark_optimizer.tables.executors import PEAK_METRIC_COLUMNS
from spark_optimizer.tables.instants import from_epoch_ms

# Quantiles requested from /stages?withSummaries=true, in the order of our QUANTILES.
QUANTILE_POINTS = (0.0, 0.25, 0.5, 0.75, 0.95, 1.0)
NOT_RUN = ("PENDING", "SKIPPED")

# Columns the REST API does not provide: they stay null in rows collected from a History Server.
NULL_FROM_REST = {
    "applications": ("exit_code", "speculative_task_count", "task_time_ms", "event_count", "unknown_event_count",
                     "bad_line_count"),
    "jobs": ("failure_reason",),
    "stages": ("parent_stage_ids", "task_time_ms",
               # when the History Server has no task summary (no successful task, or Spark < 3.1):
               "quantile and skew-ratio columns, peak_execution_memory_max_bytes"),
    "executors": ("executor_run_time_ms", "disk_bytes_spilled",
                  "peak_* / total_gc_time_ms when the History Server reports all zeros (none logged)"),
    "sql_executions": ("root_execution_id", "error_message"),
    "spark_conf": (),
    "tasks": ("the whole table: not collected (the per-task endpoint is too heavy for a collector)",),
}
# Approximations: stage quantiles are the History Server's own task summaries over successful
# tasks (task_duration_ms_* is its `duration` summary, which can differ from Finish - Launch on
# old logs); sql plan_node_names lack InputAdapter / *QueryStage wrappers (not in the REST graph);
# job_ids of a SQL execution are sorted.


def parse_date_ms(value: Any) -> int | None:
    """'2026-11-23T23:22:40.123GMT' -> epoch ms (None for missing or Spark's -1 / 1969 dates)."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return int(value) if value > 0 else None
    text = str(value).strip()
    for suffix in ("GMT", "UTC", "Z"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
            break
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
        try:
            ms = int(datetime.strptime(text, fmt).replace(tzinfo=timezone.utc).timestamp() * 1000)
            return ms if ms > 0 else None
        except ValueError:
            continue
    return None


def _ns_to_ms(value: Any) -> float | None:
    return None if value is None else value / 1_000_000


def stage_ran(stage: Mapping) -> bool:
    ended = stage.get("numCompleteTasks", 0) + stage.get("numFailedTasks", 0) + stage.get("numKilledTasks", 0)
    return stage.get("status") not in NOT_RUN or ended > 0


def _pairs(value: Any) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in (value or [])}


def conf_rows(environment: Mapping) -> list[dict]:
    rows = []
    runtime = environment.get("runtime") or {}
    jvm = {"Java Version": runtime.get("javaVersion"), "Java Home": runtime.get("javaHome"),
           "Scala Version": runtime.get("scalaVersion")}
    for source, props in (("spark", _pairs(environment.get("sparkProperties"))),
                          ("system", _pairs(environment.get("systemProperties"))),
                          ("jvm", {k: v for k, v in jvm.items() if v is not None})):
        for key, value in props.items():
            rows.append({"source": source, "key": key, "value": value})
    return rows


def _stage_totals(s: Mapping) -> dict:
    ended = s.get("numCompleteTasks", 0) + s.get("numFailedTasks", 0) + s.get("numKilledTasks", 0)
    return {
        "task_count": ended,
        "failed_task_count": s.get("numFailedTasks"),
        "killed_task_count": s.get("numKilledTasks"),
        "task_time_ms": None,
        "executor_run_time_ms": s.get("executorRunTime"),
        "executor_cpu_time_ms": _ns_to_ms(s.get("executorCpuTime")),
        "jvm_gc_time_ms": s.get("jvmGcTime"),
        "executor_deserialize_time_ms": s.get("executorDeserializeTime"),
        "result_serialization_time_ms": s.get("resultSerializationTime"),
        "input_bytes": s.get("inputBytes"),
        "input_records": s.get("inputRecords"),
        "output_bytes": s.get("outputBytes"),
        "output_records": s.get("outputRecords"),
        "shuffle_read_bytes": s.get("shuffleReadBytes"),
        "shuffle_remote_bytes_read": s.get("shuffleRemoteBytesRead"),
        "shuffle_read_records": s.get("shuffleReadRecords"),
        "shuffle_fetch_wait_time_ms": s.get("shuffleFetchWaitTime"),
        "shuffle_write_bytes": s.get("shuffleWriteBytes"),
        "shuffle_write_records": s.get("shuffleWriteRecords"),
        "shuffle_write_time_ms": _ns_to_ms(s.get("shuffleWriteTime")),
        "memory_bytes_spilled": s.get("memoryBytesSpilled"),
        "disk_bytes_spilled": s.get("diskBytesSpilled"),
        "peak_execution_memory_max_bytes": None,
    }


def _quantiles(distributions: Mapping | None) -> dict:
    """Quantile columns from taskMetricsDistributions (requested at QUANTILE_POINTS)."""
    row: dict = {}
    d = distributions or {}
    points = list(d.get("quantiles") or [])
    sources = {
        "task_duration_ms": d.get("duration"),
        "input_bytes": (d.get("inputMetrics") or {}).get("bytesRead"),
        "shuffle_read_bytes": (d.get("shuffleReadMetrics") or {}).get("readBytes"),
        "disk_bytes_spilled": d.get("diskBytesSpilled"),
        "jvm_gc_time_ms": d.get("jvmGcTime"),
    }
    for metric, values in sources.items():
        for q, point in zip(QUANTILES, QUANTILE_POINTS):
            value = None
            if values and point in points and len(values) == len(points):
                value = float(values[points.index(point)])
            row[f"{metric}_{q}"] = value
    peaks = d.get("peakExecutionMemory")
    if peaks and 1.0 in points and len(peaks) == len(points):
        row["peak_execution_memory_max_bytes"] = int(peaks[points.index(1.0)])
    return row


def stage_rows(stages: Iterable[Mapping], jobs: Iterable[Mapping]) -> list[dict]:
    first_job: dict[int, int] = {}
    for job in jobs:
        for sid in job.get("stageIds") or []:
            first_job[sid] = min(first_job.get(sid, job["jobId"]), job["jobId"])
    rows = []
    for s in stages:
        if not stage_ran(s):
            continue
        start, end = parse_date_ms(s.get("submissionTime")), parse_date_ms(s.get("completionTime"))
        status = {"COMPLETE": "succeeded", "FAILED": "failed"}.get(s.get("status"), "incomplete")
        row = {
            "stage_id": s["stageId"],
            "stage_attempt_id": s.get("attemptId", 0),
            "stage_name": s.get("name"),
            "num_tasks": s.get("numTasks"),
            "parent_stage_ids": None,
            "job_id": first_job.get(s["stageId"]),
            "submission_time": from_epoch_ms(start),
            "completion_time": from_epoch_ms(end),
            "duration_ms": end - start if start and end else None,
            "status": status,
            "failure_reason": ((s.get("failureReason") or None) and s["failureReason"][:1000]) if status == "failed" else None,
            "successful_task_count": s.get("numCompleteTasks"),
        }
        row.update(_stage_totals(s))
        row.update({f"{m}_{q}": None for m in ("task_duration_ms", "input_bytes", "shuffle_read_bytes",
                                              "disk_bytes_spilled", "jvm_gc_time_ms") for q in QUANTILES})
        row.update(_quantiles(s.get("taskMetricsDistributions")))
        row.update(stage_skew_ratios(row))
        rows.append(row)
    return rows


def job_rows(jobs: Iterable[Mapping], sql: Iterable[Mapping]) -> list[dict]:
    execution_of: dict[int, int] = {}
    for execution in sql:
        for key in ("successJobIds", "failedJobIds", "runningJobIds"):
            for job_id in execution.get(key) or []:
                execution_of[job_id] = execution["id"]
    rows = []
    for j in jobs:
        start, end = parse_date_ms(j.get("submissionTime")), parse_date_ms(j.get("completionTime"))
        rows.append({
            "job_id": j["jobId"],
            "submission_time": from_epoch_ms(start),
            "completion_time": from_epoch_ms(end),
            "duration_ms": end - start if start and end else None,
            "result": {"SUCCEEDED": "succeeded", "FAILED": "failed"}.get(j.get("status"), "unknown"),
            "failure_reason": None,
            "stage_ids": list(j.get("stageIds") or []),
            "task_count": j.get("numTasks"),
            "sql_execution_id": execution_of.get(j["jobId"]),
            "job_group": j.get("jobGroup"),
            "description": j.get("description"),
        })
    return rows


def executor_rows(executors: Iterable[Mapping], master: str | None = None) -> list[dict]:
    """The History Server reports the driver with 0 cores; like the event-log path, the driver
    gets the local master's cores in local mode and no core count otherwise."""
    rows = []
    for e in executors:
        cores = e.get("totalCores")
        if e["id"] == "driver" and not cores:
            cores = f.local_master_cores(master) if f.is_local_master(master) else None
        reason = e.get("removeReason") or None
        peaks = e.get("peakMemoryMetrics") or {}
        if not any(peaks.values()):  # all zeros: no executor metrics were logged for it
            peaks = {}
        rows.append({
            "executor_id": e["id"],
            "is_driver": e["id"] == "driver",
            "host": (e.get("hostPort") or "").rsplit(":", 1)[0] or None,
            "total_cores": cores,
            "resource_profile_id": e.get("resourceProfileId"),
            "add_time": from_epoch_ms(parse_date_ms(e.get("addTime"))),
            "remove_time": from_epoch_ms(parse_date_ms(e.get("removeTime"))),
            "remove_reason": reason and reason[:1000],
            "lost": f.is_executor_loss(reason),
            "max_memory_bytes": e.get("maxMemory"),
            "task_count": e.get("totalTasks"),
            "failed_task_count": e.get("failedTasks"),
            "task_time_ms": e.get("totalDuration") if e.get("totalTasks") else 0,  # the driver's is its uptime
            "executor_run_time_ms": None,
            "jvm_gc_time_ms": e.get("totalGCTime"),
            "input_bytes": e.get("totalInputBytes"),
            "shuffle_read_bytes": e.get("totalShuffleRead"),
            "shuffle_write_bytes": e.get("totalShuffleWrite"),
            "disk_bytes_spilled": None,
            **{column: peaks.get(metric) for metric, column in PEAK_METRIC_COLUMNS.items()},
        })
    return rows


def plan_node_names(nodes: list[Mapping], edges: list[Mapping]) -> list[str]:
    """Operators of the plan graph in pre-order (root first, children by node id), with a
    'WholeStageCodegen (n)' entry where a codegen stage begins, as the event-log path lists them.
    The REST graph has no InputAdapter / *QueryStage wrapper nodes, so those are absent."""
    by_id = {n.get("nodeId"): n for n in nodes}
    children: dict[Any, list] = {}
    has_parent = set()
    for e in edges:
        children.setdefault(e.get("toId"), []).append(e.get("fromId"))
        has_parent.add(e.get("fromId"))
    operators = {i for i, n in by_id.items()
                 if not (str(n.get("nodeName", "")).startswith("WholeStageCodegen (") and n.get("wholeStageCodegenId") is None
                         and i not in has_parent and i not in children)}
    roots = sorted(i for i in operators if i not in has_parent)
    names: list[str] = []
    seen: set = set()
    stack = [(r, None) for r in reversed(roots)]
    while stack:
        node_id, parent_codegen = stack.pop()
        if node_id in seen or node_id not in by_id:
            continue
        seen.add(node_id)
        node = by_id[node_id]
        codegen = node.get("wholeStageCodegenId")
        if codegen is not None and codegen != parent_codegen:
            names.append(f"WholeStageCodegen ({codegen})")
        names.append(node.get("nodeName"))
        for child in sorted(children.get(node_id, []), reverse=True):
            stack.append((child, codegen))
    return names


def sql_rows(sql: Iterable[Mapping]) -> list[dict]:
    rows = []
    for x in sql:
        start, duration = parse_date_ms(x.get("submissionTime")), x.get("duration")
        status = {"COMPLETED": "completed", "FAILED": "failed"}.get(x.get("status"), "incomplete")
        rows.append({
            "execution_id": x["id"],
            "root_execution_id": x.get("rootExecutionId"),
            "description": (x.get("description") or "")[:2000],
            "start_time": from_epoch_ms(start),
            "end_time": from_epoch_ms(start + duration) if start is not None and duration is not None and status != "incomplete" else None,
            "duration_ms": duration if status != "incomplete" else None,
            "status": status,
            "error_message": x.get("errorMessage"),
            "plan_node_names": plan_node_names(x.get("nodes") or [], x.get("edges") or []) or None,
            "job_ids": [str(j) for j in sorted(j for k in ("successJobIds", "failedJobIds", "runningJobIds")
                                               for j in x.get(k) or [])],
        })
    return rows


def _resource_profile_memory_mb(environment: Mapping) -> int | None:
    for profile in environment.get("resourceProfiles") or []:
        if profile.get("id") == 0:
            memory = ((profile.get("executorResources") or {}).get("memory") or {}).get("amount")
            return int(memory) if memory else None
    return None


def application_row(app: Mapping, attempt: Mapping, environment: Mapping, jobs: list, stages: list,
                    executors: list, sql: list, stage_table: list[dict]) -> dict:
    props = _pairs(environment.get("sparkProperties"))
    system = _pairs(environment.get("systemProperties"))
    master = props.get("spark.master")
    version = attempt.get("appSparkVersion")
    workers = [e for e in executors if e["id"] != "driver"]
    if not workers and f.is_local_master(master):
        workers = [e for e in executors if e["id"] == "driver"]
    fleet = executor_fleet([
        (parse_date_ms(e.get("addTime")), parse_date_ms(e.get("removeTime")),
         e.get("totalCores") or (f.local_master_cores(master) if e["id"] == "driver" else None), e.get("removeReason"))
        for e in workers
    ])
    start = attempt.get("startTimeEpoch") or parse_date_ms(attempt.get("startTime"))
    end = attempt.get("endTimeEpoch") or parse_date_ms(attempt.get("endTime"))
    end = end if end and end > 0 else None
    row = {
        "app_name": app.get("name"),
        "user": attempt.get("sparkUser"),
        "spark_version": version,
        "master": master,
        "platform": f.platform_of(master, version, {**props, **system}, False),
        "cluster_id": f.cluster_id_of({**props, **system}),
        "start_time": from_epoch_ms(start),
        "end_time": from_epoch_ms(end),
        "duration_ms": attempt.get("duration"),
        "status": "completed" if attempt.get("completed") else "incomplete",
        "exit_code": None,
        **f.requested_resources(props),
        **fleet,
        "executor_memory_mb": _resource_profile_memory_mb(environment) or f.memory_mb(props.get("spark.executor.memory")),
        "job_count": len(jobs),
        "failed_job_count": sum(j.get("status") == "FAILED" for j in jobs),
        "stage_count": len(stage_table),
        "failed_stage_count": sum(s["status"] == "failed" for s in stage_table),
        "stage_retry_count": sum(s["stage_attempt_id"] > 0 for s in stage_table),
        "speculative_task_count": None,
        "sql_execution_count": len(sql),
        "event_count": None,
        "unknown_event_count": None,
        "bad_line_count": None,
    }
    # Task totals over every stage the History Server lists (as the agreement test compares them).
    totals = [_stage_totals(s) for s in stages]
    for column in _stage_totals({}):
        values = [t[column] for t in totals if t[column] is not None]
        row[column] = sum(values) if values else None
    row["task_time_ms"] = None
    peaks = [s["peak_execution_memory_max_bytes"] for s in stage_table if s.get("peak_execution_memory_max_bytes") is not None]
    row["peak_execution_memory_max_bytes"] = max(peaks) if peaks else None
    return row
