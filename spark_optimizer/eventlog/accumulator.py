"""Folds one application's events into the rows of the event-log tables.

Memory is bounded by the application's shape (stages, executors, per-task metric samples),
not by the log's size: task rows are handed out as their TaskEnd arrives.

Instants are folded as the epoch milliseconds the log holds; the rows give them as UTC datetimes,
except task rows (tuples, one per task), whose Launch and Finish Time stay integers until
`arrow_rows` writes them as timestamps, so the hot path builds no datetime per task.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

import msgspec

from spark_optimizer.eventlog import fields as f
from spark_optimizer.eventlog.aggregates import (  # noqa: F401  (quantile is re-exported)
    QUANTILE_POINTS, ExecutorState, Row, StageState, Totals, driver_id, executor_fleet, merged, quantile,
    stage_skew_ratios,
)
from spark_optimizer.eventlog.task_end_struct import PEAK_COLUMNS, TaskEndStruct, struct_task_metrics
from spark_optimizer.tables import APPLICATIONS, EXECUTORS, JOBS, SPARK_CONF, SQL_EXECUTIONS, STAGES, TASKS
from spark_optimizer.tables._columns import QUANTILES
from spark_optimizer.tables.executors import PEAK_METRIC_COLUMNS
from spark_optimizer.tables.instants import from_epoch_ms


class AppAccumulator:
    """Consumes the events of one application attempt; `rows()` gives the table rows.

    `on_task_row` receives each task row (a tuple in `TASKS` column order) as soon as the
    app's identity is known, so a caller can stream task rows out instead of holding them.
    """

    def __init__(self, source_path: str, ingested_at, fallback_app_id: str | None = None,
                 fallback_spark_version: str | None = None, on_task_row: Callable[[tuple], None] | None = None):
        self.source_path = source_path
        self.ingested_at = ingested_at
        self.fallback_app_id = fallback_app_id
        self.spark_version = fallback_spark_version
        self.on_task_row = on_task_row
        self.app_id: str | None = None
        self.attempt_id = ""
        self.app_name = self.user = None
        self.start_time_ms = self.end_time_ms = self.exit_code = None
        self.last_time_ms: int | None = None  # latest task, stage, job, SQL or application event
        self.last_resource_time_ms: int | None = None  # latest executor / block-manager event
        self.has_app_start = self.has_app_end = self.databricks_header = False
        self.spark_properties: dict[str, str] = {}
        self.system_properties: dict[str, str] = {}
        self.jvm_information: dict[str, str] = {}
        self.resource_profiles: dict[int, dict] = {}
        self.executors: dict[str, ExecutorState] = {}
        self.stages: dict[tuple[int, int], StageState] = {}
        self.jobs: dict[int, Row] = {}
        self.stage_to_job: dict[int, int] = {}
        self.sql: dict[int, Row] = {}
        self.totals = Totals()
        self.speculative_task_count = 0
        self.event_count = self.unknown_event_count = 0
        self._pending_tasks: list[tuple] = []
        self._handlers: dict[str, Callable[[dict], None]] = {
            "SparkListenerLogStart": self._log_start,
            "DBCEventLoggingListenerMetadata": self._databricks_header,
            "SparkListenerApplicationStart": self._app_start,
            "SparkListenerApplicationEnd": self._app_end,
            "SparkListenerEnvironmentUpdate": self._environment,
            "SparkListenerResourceProfileAdded": self._resource_profile,
            "SparkListenerExecutorAdded": self._executor_added,
            "SparkListenerExecutorRemoved": self._executor_removed,
            "SparkListenerBlockManagerAdded": self._block_manager_added,
            "SparkListenerJobStart": self._job_start,
            "SparkListenerJobEnd": self._job_end,
            "SparkListenerStageSubmitted": self._stage_submitted,
            "SparkListenerStageCompleted": self._stage_completed,
            "SparkListenerTaskEnd": self._task_end,
            "SparkListenerStageExecutorMetrics": self._stage_executor_metrics,
            "SparkListenerSQLExecutionStart": self._sql_start,
            "SparkListenerSQLExecutionEnd": self._sql_end,
            "SparkListenerSQLAdaptiveExecutionUpdate": self._sql_adaptive_update,
        }
        # Events we know and deliberately ignore (not counted as unknown).
        self._ignored = {
            "SparkListenerTaskStart", "SparkListenerTaskGettingResult", "SparkListenerBlockManagerRemoved",
            "SparkListenerUnpersistRDD", "SparkListenerBlockUpdated", "SparkListenerExecutorMetricsUpdate",
            "SparkListenerSpeculativeTaskSubmitted", "SparkListenerDriverAccumUpdates",
            "SparkListenerExecutorBlacklisted", "SparkListenerExecutorUnblacklisted", "SparkListenerNodeBlacklisted",
            "SparkListenerNodeUnblacklisted", "SparkListenerExecutorExcluded", "SparkListenerExecutorUnexcluded",
            "SparkListenerNodeExcluded", "SparkListenerNodeUnexcluded", "SparkListenerExecutorBlacklistedForStage",
            "SparkListenerNodeBlacklistedForStage", "SparkListenerExecutorExcludedForStage",
            "SparkListenerNodeExcludedForStage", "SparkListenerMiscellaneousProcessAdded",
            "SparkListenerUnschedulableTaskSetAdded", "SparkListenerUnschedulableTaskSetRemoved",
        }

    # ---- dispatch -------------------------------------------------------------------
    def accept(self, event: dict) -> None:
        self.event_count += 1
        name = event.get("Event")
        if not isinstance(name, str):
            self.unknown_event_count += 1
            return
        short = name.rsplit(".", 1)[-1]
        handler = self._handlers.get(short)
        if handler is not None:
            handler(event)
        elif short not in self._ignored:
            self.unknown_event_count += 1

    def _seen_time(self, time_ms: Any) -> None:
        if isinstance(time_ms, int) and time_ms > 0 and (self.last_time_ms is None or time_ms > self.last_time_ms):
            self.last_time_ms = time_ms

    def _seen_resource_time(self, time_ms: Any) -> None:
        if isinstance(time_ms, int) and time_ms > 0 and (self.last_resource_time_ms is None or time_ms > self.last_resource_time_ms):
            self.last_resource_time_ms = time_ms

    @property
    def last_event_time_ms(self) -> int | None:
        """Where an application without ApplicationEnd ends: its last work event (task, stage, job,
        SQL). Executor and block-manager times only count when there is no work at all: hand-edited
        logs carry executor times years after the tasks ran, and time after the last task is not
        observed work."""
        if self.last_time_ms is not None and self.last_time_ms != self.start_time_ms:
            return self.last_time_ms
        seen = [t for t in (self.last_time_ms, self.last_resource_time_ms) if t is not None]
        return max(seen) if seen else None

    @property
    def identified(self) -> bool:
        return self.app_id is not None

    # ---- application ----------------------------------------------------------------
    def _log_start(self, e: dict) -> None:
        self.spark_version = e.get("Spark Version") or self.spark_version

    def _databricks_header(self, e: dict) -> None:
        self.databricks_header = True
        self.spark_version = e.get("Spark Version") or self.spark_version

    def _app_start(self, e: dict) -> None:
        self.has_app_start = True
        self.app_name = e.get("App Name")
        self.user = e.get("User")
        self.start_time_ms = e.get("Timestamp")
        self._seen_time(self.start_time_ms)
        self.app_id = e.get("App ID") or self.fallback_app_id
        attempt = e.get("App Attempt ID")
        self.attempt_id = "" if attempt is None else str(attempt)
        if self.app_id is not None and self.on_task_row is not None:
            for row in self._pending_tasks:
                self.on_task_row((self.app_id, self.attempt_id) + row[2:])
            self._pending_tasks = []

    def _app_end(self, e: dict) -> None:
        self.has_app_end = True
        self.end_time_ms = e.get("Timestamp")
        self._seen_time(self.end_time_ms)
        self.exit_code = e.get("ExitCode")

    def _environment(self, e: dict) -> None:
        for key, target in (
            ("Spark Properties", self.spark_properties),
            ("System Properties", self.system_properties),
            ("JVM Information", self.jvm_information),
        ):
            value = e.get(key) or {}
            items = value.items() if isinstance(value, dict) else value  # very old logs: [[k, v], ...]
            for pair in items:
                k, v = pair
                target[str(k)] = "" if v is None else str(v)

    def _resource_profile(self, e: dict) -> None:
        requests = e.get("Executor Resource Requests") or {}
        self.resource_profiles[int(e.get("Resource Profile Id", 0))] = {
            name: (req or {}).get("Amount") for name, req in requests.items()
        }

    # ---- executors ------------------------------------------------------------------
    def _executor(self, executor_id: Any) -> ExecutorState:
        if executor_id.__class__ is str:  # the usual key as it is: no driver_id() on the per-task path
            executor = self.executors.get(executor_id)
            if executor is not None:
                return executor
        key = driver_id(executor_id)
        executor = self.executors.get(key)
        if executor is None:
            executor = self.executors[key] = ExecutorState(key)
        return executor

    def _executor_added(self, e: dict) -> None:
        info = e.get("Executor Info") or {}
        executor = self._executor(e.get("Executor ID"))
        executor.host = info.get("Host") or executor.host
        executor.total_cores = info.get("Total Cores", executor.total_cores)
        executor.resource_profile_id = info.get("Resource Profile Id", executor.resource_profile_id)
        executor.add_time_ms = e.get("Timestamp")
        self._seen_resource_time(executor.add_time_ms)

    def _executor_removed(self, e: dict) -> None:
        executor = self._executor(e.get("Executor ID"))
        executor.remove_time_ms = e.get("Timestamp")
        executor.remove_reason = e.get("Removed Reason")
        self._seen_resource_time(executor.remove_time_ms)

    def _block_manager_added(self, e: dict) -> None:
        bm = e.get("Block Manager ID") or {}
        executor = self._executor(bm.get("Executor ID"))
        executor.host = executor.host or bm.get("Host")
        executor.max_memory_bytes = e.get("Maximum Memory", executor.max_memory_bytes)
        if executor.add_time_ms is None:  # logs before SparkListenerExecutorAdded existed
            executor.add_time_ms = e.get("Timestamp")
        self._seen_resource_time(e.get("Timestamp"))

    def _stage_executor_metrics(self, e: dict) -> None:
        executor = self._executor(e.get("Executor ID"))
        metrics = e.get("Executor Metrics")
        if metrics:
            self._update_peaks(executor, map(metrics.get, PEAK_METRIC_COLUMNS))

    @staticmethod
    def _update_peaks(executor: ExecutorState, values: Iterable) -> None:
        """Raise the executor's peaks to `values`, given in PEAK_METRIC_COLUMNS order (None: not logged)."""
        peaks = executor.peaks
        for column, value in zip(PEAK_COLUMNS, values):
            if isinstance(value, int) and value > peaks.get(column, -1):
                peaks[column] = value

    # ---- jobs and stages ------------------------------------------------------------
    def _job_start(self, e: dict) -> None:
        if self._malformed(e, "Job ID"):
            return
        job_id = e.get("Job ID")
        props = e.get("Properties") or {}
        stage_ids = e.get("Stage IDs") or [s.get("Stage ID") for s in e.get("Stage Infos") or []]
        for stage_id in stage_ids:
            self.stage_to_job.setdefault(stage_id, job_id)
        self.jobs[job_id] = {
            "job_id": job_id,
            "submission_time": e.get("Submission Time"),
            "completion_time": None,
            "result": "unknown",
            "failure_reason": None,
            "stage_ids": list(stage_ids),
            "task_count": sum(s.get("Number of Tasks", 0) or 0 for s in e.get("Stage Infos") or []),
            "sql_execution_id": f.int_or_none(props.get("spark.sql.execution.id")),
            "job_group": props.get("spark.jobGroup.id"),
            "description": props.get("spark.job.description"),
        }
        self._seen_time(e.get("Submission Time"))
        execution_id = self.jobs[job_id]["sql_execution_id"]
        if execution_id is not None and execution_id in self.sql:
            self.sql[execution_id]["job_ids"].append(str(job_id))

    def _job_end(self, e: dict) -> None:
        job = self.jobs.get(e.get("Job ID"))
        if job is None:  # JobEnd without JobStart: the History Server ignores it too
            return
        job["completion_time"] = e.get("Completion Time")
        result = e.get("Job Result") or {}
        succeeded = result.get("Result") == "JobSucceeded"
        job["result"] = "succeeded" if succeeded else "failed"
        if not succeeded:
            exception = result.get("Exception") or {}
            job["failure_reason"] = (exception.get("Message") or result.get("Result") or "")[:1000]
        self._seen_time(e.get("Completion Time"))

    def _stage(self, info: dict) -> StageState:
        key = (info.get("Stage ID"), info.get("Stage Attempt ID", info.get("Attempt ID", 0)) or 0)
        stage = self.stages.get(key)
        if stage is None:
            stage = self.stages[key] = StageState(*key)
        stage.name = info.get("Stage Name", stage.name)
        stage.num_tasks = info.get("Number of Tasks", stage.num_tasks)
        if info.get("Parent IDs") is not None:
            stage.parent_ids = list(info["Parent IDs"])
        if info.get("Submission Time") is not None:
            stage.submission_time_ms = info["Submission Time"]
        return stage

    def _malformed(self, e: dict, *fields_needed: str, within: str | None = None) -> bool:
        """True (and counted as unknown) when an event lacks an id the tables key on."""
        holder = e.get(within) or {} if within else e
        if any(holder.get(name) is None for name in fields_needed):
            self.unknown_event_count += 1
            return True
        return False

    def _stage_submitted(self, e: dict) -> None:
        if self._malformed(e, "Stage ID", within="Stage Info"):
            return
        stage = self._stage(e.get("Stage Info") or {})
        stage.job_id = self.stage_to_job.get(stage.stage_id, stage.job_id)

    def _stage_completed(self, e: dict) -> None:
        if self._malformed(e, "Stage ID", within="Stage Info"):
            return
        info = e.get("Stage Info") or {}
        stage = self._stage(info)
        stage.completed = True
        stage.completion_time_ms = info.get("Completion Time")
        stage.failure_reason = (info.get("Failure Reason") or None) and info["Failure Reason"][:1000]
        stage.job_id = self.stage_to_job.get(stage.stage_id, stage.job_id)
        self._seen_time(stage.completion_time_ms)

    # ---- tasks ----------------------------------------------------------------------
    def _task_end(self, e: dict) -> None:
        info = e.get("Task Info") or {}
        if e.get("Stage ID") is None or info.get("Task ID") is None:  # hot path: inlined _malformed
            self.unknown_event_count += 1
            return
        reason = e.get("Task End Reason")
        status = f.task_status(reason, info)
        metrics = f.task_metrics(e.get("Task Metrics"))
        launch = info.get("Launch Time") or 0
        finish = info.get("Finish Time") or 0
        # 'Resubmitted' re-announces an earlier successful task whose shuffle output was lost
        # with its executor (same Task ID and times): counted as failed, like the History
        # Server does, but its time was already counted and it gets no second task row.
        resubmitted = (reason or {}).get("Reason") == "Resubmitted"
        duration = 0 if resubmitted else f.task_duration_ms(launch, finish)
        stage_key = (e.get("Stage ID"), e.get("Stage Attempt ID", 0) or 0)
        speculative = bool(info.get("Speculative"))
        executor = self._fold_task(stage_key, info.get("Executor ID"), info.get("Host"), finish, duration, status,
                                   speculative, metrics)
        task_peaks = e.get("Task Executor Metrics")
        if task_peaks and task_peaks.get("JVMHeapMemory"):  # all zeros unless executor metrics polling is on
            self._update_peaks(executor, map(task_peaks.get, PEAK_METRIC_COLUMNS))
        if self.on_task_row is None or resubmitted:
            return
        self._task_row(info.get("Task ID"), stage_key, info.get("Index"), info.get("Attempt"), executor.executor_id,
                       info.get("Host"), launch, finish, duration, status, f.task_failure_reason(reason), speculative,
                       info.get("Locality"), info.get("Getting Result Time"), metrics)

    def accept_successful_task_end(self, event: TaskEndStruct) -> None:
        """A SparkListenerTaskEnd of a successful task, decoded by `decode_successful_task_end`
        (the common case, without building a dict): folded exactly like `_task_end` folds it."""
        self.event_count += 1
        info = event.info
        metrics = struct_task_metrics(event.metrics)
        launch = info.launch_time or 0
        finish = info.finish_time or 0
        duration = f.task_duration_ms(launch, finish)
        stage_key = (event.stage_id, event.stage_attempt_id or 0)
        executor = self._fold_task(stage_key, info.executor_id, info.host, finish, duration, "success",
                                   info.speculative, metrics)
        task_peaks = event.executor_peaks
        if task_peaks is not None and task_peaks.JVMHeapMemory:  # as in _task_end
            self._update_peaks(executor, msgspec.structs.astuple(task_peaks))
        if self.on_task_row is not None:
            self._task_row(info.task_id, stage_key, info.index, info.attempt, executor.executor_id, info.host, launch,
                           finish, duration, "success", None, info.speculative, info.locality,
                           info.getting_result_time, metrics)

    def _fold_task(self, stage_key: tuple, executor_id: Any, host: str | None, finish: int, duration: int, status: str,
                   speculative: bool, metrics: f.TaskMetrics) -> ExecutorState:
        """Add one task end to its stage's and executor's totals and quantile samples."""
        if finish > 0 and (self.last_time_ms is None or finish > self.last_time_ms):  # _seen_time, inlined
            self.last_time_ms = finish
        stage = self.stages.get(stage_key)
        if stage is None:  # rolled log parts or fragments can start mid-stage
            stage = self.stages[stage_key] = StageState(*stage_key)
            stage.job_id = self.stage_to_job.get(stage_key[0])
        executor = self._executor(executor_id)
        if not executor.host:
            executor.host = host
        # Stage, executor and app totals are all summed from these at the end.
        totals = stage.by_executor.get(executor.executor_id)
        if totals is None:
            totals = stage.by_executor[executor.executor_id] = Totals()
        totals.add(status, duration, metrics)
        if speculative:
            self.speculative_task_count += 1
        if status == "success":
            stage.durations.append(duration)
            stage.inputs.append(metrics.input_bytes)
            stage.shuffle_reads.append(metrics.shuffle_read_bytes)
            stage.spills.append(metrics.disk_bytes_spilled)
            stage.gcs.append(metrics.jvm_gc_time_ms)
        return executor

    def _task_row(self, task_id, stage_key, index, attempt, executor_id, host, launch, finish, duration, status,
                  failure_reason, speculative, locality, getting_result_time, metrics: f.TaskMetrics) -> None:
        # A tuple in TASKS column order (checked below): tasks are most rows, dicts cost too much.
        row = (
            self.app_id,
            self.attempt_id,
            task_id,
            stage_key[0],
            stage_key[1],
            index,
            attempt,
            executor_id,
            host,
            launch or None,
            finish or None,
            duration,
            status,
            failure_reason,
            speculative,
            locality,
            metrics.executor_run_time_ms,
            metrics.executor_cpu_time_ms,
            metrics.jvm_gc_time_ms,
            metrics.executor_deserialize_time_ms,
            metrics.result_serialization_time_ms,
            getting_result_time,
            metrics.input_bytes,
            metrics.output_bytes,
            metrics.shuffle_read_bytes,
            metrics.shuffle_fetch_wait_time_ms,
            metrics.shuffle_write_bytes,
            metrics.memory_bytes_spilled,
            metrics.disk_bytes_spilled,
            metrics.peak_execution_memory_bytes,
            self.source_path,
            self.ingested_at,
        )
        if self.app_id is None:
            self._pending_tasks.append(row)
        else:
            self.on_task_row(row)

    # ---- SQL ------------------------------------------------------------------------
    def _sql_start(self, e: dict) -> None:
        if self._malformed(e, "executionId"):
            return
        execution_id = e.get("executionId")
        self.sql[execution_id] = {
            "execution_id": execution_id,
            "root_execution_id": e.get("rootExecutionId"),
            "description": (e.get("description") or "")[:2000],
            "start_time": e.get("time"),
            "end_time": None,
            "status": "incomplete",
            "error_message": None,
            "plan_node_names": f.plan_node_names(e.get("sparkPlanInfo")),
            "job_ids": [str(j) for j, job in self.jobs.items() if job.get("sql_execution_id") == execution_id],
        }
        self._seen_time(e.get("time"))

    def _sql_end(self, e: dict) -> None:
        execution = self.sql.get(e.get("executionId"))
        if execution is None:
            return
        execution["end_time"] = e.get("time")
        error = e.get("errorMessage")
        execution["status"] = "failed" if error else "completed"
        execution["error_message"] = error[:1000] if error else None
        self._seen_time(e.get("time"))

    def _sql_adaptive_update(self, e: dict) -> None:
        execution = self.sql.get(e.get("executionId"))
        if execution is not None and e.get("sparkPlanInfo"):
            execution["plan_node_names"] = f.plan_node_names(e["sparkPlanInfo"])

    # ---- output ---------------------------------------------------------------------
    def _lineage(self, row: Row) -> Row:
        row["app_id"], row["attempt_id"] = self.app_id, self.attempt_id
        row["source_path"], row["ingested_at"] = self.source_path, self.ingested_at
        return row

    @property
    def master(self) -> str | None:
        return self.spark_properties.get("spark.master")

    def _worker_executors(self) -> list[ExecutorState]:
        workers = [e for e in self.executors.values() if e.executor_id != "driver"]
        if workers:
            return workers
        # Local mode runs tasks in the driver: it is the one executor.
        driver = self.executors.get("driver")
        if driver is not None and f.is_local_master(self.master):
            if driver.total_cores is None:
                driver.total_cores = f.local_master_cores(self.master)
            return [driver]
        return []

    def application_row(self) -> Row:
        props = self.spark_properties
        workers = self._worker_executors()
        end = self.end_time_ms if self.has_app_end else self.last_event_time_ms
        profile = self.resource_profiles.get(0, {})
        row = {
            "app_name": self.app_name,
            "user": self.user,
            "spark_version": self.spark_version,
            "master": self.master,
            "platform": f.platform_of(self.master, self.spark_version, {**props, **self.system_properties}, self.databricks_header),
            "cluster_id": f.cluster_id_of({**props, **self.system_properties}),
            "start_time": from_epoch_ms(self.start_time_ms),
            "end_time": from_epoch_ms(end),
            "duration_ms": (end - self.start_time_ms) if end and self.start_time_ms else None,
            "status": "completed" if self.has_app_end else "incomplete",
            "exit_code": self.exit_code,
            **f.requested_resources(props),
            **executor_fleet([(e.add_time_ms, e.remove_time_ms, e.total_cores, e.remove_reason) for e in workers]),
            "executor_memory_mb": profile.get("memory") or f.memory_mb(props.get("spark.executor.memory")),
            "job_count": len(self.jobs),
            "failed_job_count": sum(j.get("result") == "failed" for j in self.jobs.values()),
            "stage_count": len(self.stages),
            "failed_stage_count": sum(s.failure_reason is not None for s in self.stages.values()),
            "stage_retry_count": sum(s.attempt_id > 0 for s in self.stages.values()),
            "speculative_task_count": self.speculative_task_count,
            "sql_execution_count": len(self.sql),
            "event_count": self.event_count,
            "unknown_event_count": self.unknown_event_count,
        }
        totals = Totals()
        for stage in self.stages.values():
            totals.merge(stage.totals)
        self.totals = totals
        row.update(totals.as_row())
        return self._lineage(row)

    def job_rows(self) -> Iterator[Row]:
        for job in self.jobs.values():
            row = dict(job)
            start, end = row.get("submission_time"), row.get("completion_time")
            row["duration_ms"] = end - start if start and end else None
            row["submission_time"], row["completion_time"] = from_epoch_ms(start), from_epoch_ms(end)
            yield self._lineage(row)

    def stage_rows(self) -> Iterator[Row]:
        for stage in self.stages.values():
            row = {
                "stage_id": stage.stage_id,
                "stage_attempt_id": stage.attempt_id,
                "stage_name": stage.name,
                "num_tasks": stage.num_tasks,
                "parent_stage_ids": stage.parent_ids,
                "job_id": stage.job_id,
                "submission_time": from_epoch_ms(stage.submission_time_ms),
                "completion_time": from_epoch_ms(stage.completion_time_ms),
                "duration_ms": (stage.completion_time_ms - stage.submission_time_ms)
                if stage.completion_time_ms and stage.submission_time_ms else None,
                "status": "failed" if stage.failure_reason else "succeeded" if stage.completed else "incomplete",
                "failure_reason": stage.failure_reason,
                "successful_task_count": len(stage.durations),
            }
            row.update(stage.totals.as_row())
            for metric, samples in (
                ("task_duration_ms", stage.durations),
                ("input_bytes", stage.inputs),
                ("shuffle_read_bytes", stage.shuffle_reads),
                ("disk_bytes_spilled", stage.spills),
                ("jvm_gc_time_ms", stage.gcs),
            ):
                ordered = sorted(samples)
                for q in QUANTILES:
                    row[f"{metric}_{q}"] = quantile(ordered, QUANTILE_POINTS[q])
            row.update(stage_skew_ratios(row))
            yield self._lineage(row)

    def executor_rows(self) -> Iterator[Row]:
        for e in self.executors.values():
            totals = merged(stage.by_executor[e.executor_id] for stage in self.stages.values()
                            if e.executor_id in stage.by_executor).as_row()
            row = {
                "executor_id": e.executor_id,
                "is_driver": e.executor_id == "driver",
                "host": e.host,
                "total_cores": e.total_cores,
                "resource_profile_id": e.resource_profile_id,
                "add_time": from_epoch_ms(e.add_time_ms),
                "remove_time": from_epoch_ms(e.remove_time_ms),
                "remove_reason": (e.remove_reason or None) and e.remove_reason[:1000],
                "lost": f.is_executor_loss(e.remove_reason),
                "max_memory_bytes": e.max_memory_bytes,
                **{k: totals[k] for k in ("task_count", "failed_task_count", "task_time_ms", "executor_run_time_ms",
                                          "jvm_gc_time_ms", "input_bytes", "shuffle_read_bytes",
                                          "shuffle_write_bytes", "disk_bytes_spilled")},
                **e.peaks,
            }
            yield self._lineage(row)

    def sql_rows(self) -> Iterator[Row]:
        for execution in self.sql.values():
            row = dict(execution)
            start, end = row.get("start_time"), row.get("end_time")
            row["duration_ms"] = end - start if start and end else None
            row["start_time"], row["end_time"] = from_epoch_ms(start), from_epoch_ms(end)
            yield self._lineage(row)

    def conf_rows(self) -> Iterator[Row]:
        for source, props in (("spark", self.spark_properties), ("system", self.system_properties),
                              ("jvm", self.jvm_information)):
            for key, value in props.items():
                yield self._lineage({"source": source, "key": key, "value": value})

    def table_rows(self) -> Iterator[tuple[str, Row]]:
        """Every non-task row, tagged with its table name."""
        yield APPLICATIONS.name, self.application_row()
        for table, rows in ((JOBS.name, self.job_rows()), (STAGES.name, self.stage_rows()),
                            (EXECUTORS.name, self.executor_rows()), (SQL_EXECUTIONS.name, self.sql_rows()),
                            (SPARK_CONF.name, self.conf_rows())):
            for row in rows:
                yield table, row


TASK_TABLE = TASKS.name
TASK_ROW_FIELDS = ('app_id', 'attempt_id', 'task_id', 'stage_id', 'stage_attempt_id', 'partition_index', 'task_attempt', 'executor_id', 'host', 'launch_time', 'finish_time', 'duration_ms', 'status', 'failure_reason', 'speculative', 'locality', 'executor_run_time_ms', 'executor_cpu_time_ms', 'jvm_gc_time_ms', 'executor_deserialize_time_ms', 'result_serialization_time_ms', 'getting_result_time_ms', 'input_bytes', 'output_bytes', 'shuffle_read_bytes', 'shuffle_fetch_wait_time_ms', 'shuffle_write_bytes', 'memory_bytes_spilled', 'disk_bytes_spilled', 'peak_execution_memory_bytes', 'source_path', 'ingested_at')
assert tuple(TASKS.column_names) == TASK_ROW_FIELDS, "task row tuple out of step with the tasks table"
