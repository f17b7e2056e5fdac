"""The accumulator turns real-spelled listener events into table rows."""

from spark_optimizer.eventlog.accumulator import AppAccumulator, quantile
from spark_optimizer.tables import TASKS
from spark_optimizer.tables.instants import from_epoch_ms
from tests.eventlog import factories as ev


def accumulate(*events, source="/logs/app-1"):
    tasks = []
    acc = AppAccumulator(source_path=source, ingested_at=None,
                         on_task_row=lambda row: tasks.append(dict(zip(TASKS.column_names, row))))
    for event in events:
        acc.accept(event)
    return acc, tasks


def one_stage_app(*task_events, extra=()):
    return accumulate(
        ev.log_start(), ev.app_start(), ev.environment(spark__master="yarn", spark__executor__memory="4g"),
        ev.executor_added("1", cores=4), ev.executor_added("2", cores=4, time=2_500),
        ev.job_start(), ev.stage_submitted(), *task_events, ev.stage_completed(), ev.job_end(), *extra, ev.app_end(),
    )


def test_shuffle_read_is_remote_plus_local_bytes_and_write_comes_from_shuffle_bytes_written():
    acc, _ = one_stage_app(
        ev.task_end(0, remote_read=700, local_read=300, shuffle_written=50),
        ev.task_end(1, remote_read=0, local_read=1000, shuffle_written=70),
    )
    app = acc.application_row()
    assert app["shuffle_read_bytes"] == 2000
    assert app["shuffle_remote_bytes_read"] == 700
    assert app["shuffle_write_bytes"] == 120


def test_cpu_time_is_logged_in_nanoseconds_and_stored_in_milliseconds():
    acc, tasks = one_stage_app(ev.task_end(0, cpu_time_ns=1_500_000_000), ev.task_end(1, cpu_time_ns=500_000_000))
    assert acc.application_row()["executor_cpu_time_ms"] == 2000.0
    assert [t["executor_cpu_time_ms"] for t in tasks] == [1500.0, 500.0]


def test_failed_and_killed_tasks_come_from_task_end_reason_and_task_info():
    acc, tasks = one_stage_app(
        ev.task_end(0),
        ev.task_end(1, reason="ExceptionFailure"),
        ev.task_end(2, reason="TaskKilled"),
        ev.task_end(3, reason="ExecutorLostFailure", metrics=False),
    )
    app = acc.application_row()
    assert (app["task_count"], app["failed_task_count"], app["killed_task_count"]) == (4, 2, 1)
    assert [t["status"] for t in tasks] == ["success", "failed", "killed", "failed"]
    assert tasks[1]["failure_reason"] == "ExceptionFailure: java.lang.OutOfMemoryError: Java heap space"


def test_failed_jobs_and_stages_are_counted_from_job_result_and_failure_reason():
    acc, _ = accumulate(
        ev.app_start(), ev.job_start(stage_ids=(0,)), ev.stage_submitted(),
        ev.stage_completed(failure="Job aborted: task 1 failed 4 times"), ev.job_end(failed=True), ev.app_end(),
    )
    app = acc.application_row()
    assert (app["failed_job_count"], app["failed_stage_count"]) == (1, 1)
    [stage] = list(acc.stage_rows())
    assert stage["status"] == "failed"


def test_executors_and_cores_come_from_executor_added_not_from_configuration():
    acc, _ = one_stage_app(ev.task_end(0), extra=(ev.executor_removed("2", reason="Container killed by YARN for exceeding memory limits"),))
    app = acc.application_row()
    assert (app["executors_added"], app["executor_cores"], app["max_concurrent_cores"]) == (2, 4, 8)
    assert (app["executors_removed"], app["executors_lost"]) == (1, 1)
    assert app["executor_memory_mb_requested"] == 4096


def test_local_mode_counts_the_driver_as_the_only_executor_with_the_cores_of_local_n():
    acc, _ = accumulate(ev.app_start(app_id="local-1"), ev.environment(spark__master="local[3]"),
                        ev.job_start(), ev.task_end(0, executor_id="driver"), ev.app_end())
    app = acc.application_row()
    assert (app["platform"], app["executors_added"], app["executor_cores"]) == ("local", 1, 3)


def test_stage_quantiles_use_successful_tasks_and_the_history_server_index_rule():
    durations = [100, 200, 300, 400, 5000]
    tasks = [ev.task_end(i, launch=10_000, finish=10_000 + d, remote_read=d) for i, d in enumerate(durations)]
    acc, _ = one_stage_app(*tasks, ev.task_end(9, launch=10_000, finish=99_000, reason="ExceptionFailure"))
    [stage] = list(acc.stage_rows())
    assert stage["task_count"] == 6 and stage["successful_task_count"] == 5
    assert (stage["task_duration_ms_min"], stage["task_duration_ms_median"], stage["task_duration_ms_max"]) == (100, 300, 5000)
    assert stage["task_duration_skew_ratio"] == 5000 / 300
    assert stage["shuffle_read_bytes_median"] == 300


def test_quantile_matches_the_history_server_definition():
    assert quantile([1, 2, 3, 4], 0.5) == 3
    assert quantile([1, 2, 3, 4], 0.25) == 2
    assert quantile([7], 0.75) == 7
    assert quantile([], 0.5) is None


def test_task_rows_seen_before_the_application_start_are_released_once_the_app_is_known():
    acc, tasks = accumulate(ev.task_end(0), ev.app_start(app_id="app-9", attempt="2"))
    assert [(t["app_id"], t["attempt_id"]) for t in tasks] == [("app-9", "2")]


def test_unknown_and_vendor_events_are_counted_not_fatal():
    acc, _ = accumulate(ev.app_start(), {"Event": "com.nvidia.spark.rapids.SparkRapidsBuildInfoEvent"},
                        {"Event": "SparkListenerStageSubmittedBAD"}, ev.app_end())
    assert acc.application_row()["unknown_event_count"] == 2


def test_incomplete_application_ends_at_its_last_event():
    acc, _ = accumulate(ev.app_start(time=1_000), ev.job_start(time=2_000), ev.task_end(0, launch=2_100, finish=7_000))
    app = acc.application_row()
    assert (app["status"], app["end_time"], app["duration_ms"]) == ("incomplete", from_epoch_ms(7_000), 6_000)


def test_platform_hints_from_properties_and_version():
    acc, _ = accumulate(ev.app_start(), ev.environment(spark__master="yarn", spark__databricks__clusterUsageTags__clusterId="0101-abc"))
    assert (acc.application_row()["platform"], acc.application_row()["cluster_id"]) == ("databricks", "0101-abc")
    acc, _ = accumulate(ev.log_start("3.3.0-amzn-0"), ev.app_start(), ev.environment(spark__master="yarn"))
    assert acc.application_row()["platform"] == "emr"
    acc, _ = accumulate(ev.app_start(), ev.environment(spark__master="k8s://https://kubernetes.default.svc"))
    assert acc.application_row()["platform"] == "kubernetes"


def test_a_resubmitted_task_counts_as_failed_without_a_second_row_or_double_time():
    acc, tasks = one_stage_app(ev.task_end(0, launch=1_000, finish=3_000), ev.task_end(0, launch=1_000, finish=3_000, reason="Resubmitted", metrics=False))
    app = acc.application_row()
    assert (app["task_count"], app["failed_task_count"], app["task_time_ms"]) == (2, 1, 2_000)
    assert len(tasks) == 1 and tasks[0]["status"] == "success"


def test_a_job_end_without_its_job_start_is_ignored_as_the_history_server_does():
    acc, _ = accumulate(ev.app_start(), ev.job_start(job_id=0), ev.job_end(job_id=0), ev.job_end(job_id=7), ev.app_end())
    assert [j["job_id"] for j in acc.job_rows()] == [0]


def test_events_without_the_ids_tables_key_on_are_counted_and_skipped():
    broken_stage = {"Event": "SparkListenerStageCompleted", "Stage Info": {"Stage Name": "no id", "Completion Time": 5}}
    broken_task = ev.task_end(0)
    del broken_task["Stage ID"]
    acc, tasks = accumulate(ev.app_start(), broken_stage, broken_task, ev.app_end())
    assert list(acc.stage_rows()) == [] and tasks == []
    assert acc.application_row()["unknown_event_count"] == 2
