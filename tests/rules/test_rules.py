"""Each rule fires on facts that show its problem, with values computed from the evidence,
and stays quiet on a healthy application."""

from __future__ import annotations

from dataclasses import replace

import pytest

from spark_optimizer.rules.engine import RULES, evaluate, load_thresholds
from spark_optimizer.rules.model import MB, AppFacts
from tests.conftest import REPO_ROOT

THRESHOLDS = load_thresholds()


def stage(stage_id=0, tasks=40, task_ms=1000, **extra):
    row = {
        "stage_id": stage_id, "task_count": tasks, "successful_task_count": tasks, "task_time_ms": tasks * task_ms,
        "duration_ms": 20_000, "task_duration_ms_median": task_ms, "task_duration_ms_max": task_ms * 1.3,
        "task_duration_ms_p95": task_ms * 1.2, "task_duration_skew_ratio": 1.3, "task_duration_p95_ratio": 1.2,
        "shuffle_read_bytes": tasks * 100 * MB, "shuffle_read_bytes_median": 100 * MB, "shuffle_read_bytes_max": 120 * MB,
        "shuffle_read_skew_ratio": 1.2, "shuffle_write_bytes": tasks * 100 * MB, "input_bytes": 0, "output_bytes": 0,
        "disk_bytes_spilled": 0, "memory_bytes_spilled": 0, "rdd_stage": False,
    }
    row.update(extra)
    return row


def healthy(**changes) -> AppFacts:
    facts = AppFacts(
        app={"spark_version": "3.5.1", "master": "yarn", "max_concurrent_executors": 4, "executor_cores": 4,
             "max_concurrent_cores": 16, "executor_memory_mb": 8192, "task_count": 80, "failed_task_count": 0,
             "task_time_ms": 80_000, "jvm_gc_time_ms": 800, "shuffle_write_bytes": 8000 * MB, "sql_execution_count": 2},
        metrics={"gc_share": 0.01, "task_run_ms": 78_000, "core_utilization": 0.8, "idle_executor_count": 0,
                 "driver_only_share": 0.1, "driver_only_ms": 12_000, "wall_ms": 120_000, "median_task_ms": 1000,
                 "wasted_core_hours": 0.1, "peak_jvm_heap_bytes": 5000 * MB, "scheduler_delay_ms": 1000,
                 "shuffle_fetch_wait_share": 0.01},
        stages=[stage(0), stage(1)],
        executors=[{"executor_id": str(i), "lost": False, "remove_reason": None, "task_count": 20} for i in range(4)],
        conf={"spark.sql.adaptive.enabled": "true", "spark.sql.shuffle.partitions": "40",
              "spark.serializer": "org.apache.spark.serializer.KryoSerializer"},
        plan_node_names=("HashAggregate", "Exchange", "BroadcastHashJoin"),
    )
    return replace(facts, **changes)


def fired(facts: AppFacts) -> dict:
    return {f.rule_id: f for f in evaluate(facts, THRESHOLDS)}


def with_app(**values):
    base = healthy()
    return replace(base, app={**base.app, **values})


def with_metrics(**values):
    base = healthy()
    return replace(base, metrics={**base.metrics, **values})


def test_a_healthy_application_gets_no_finding():
    assert fired(healthy()) == {}


def test_every_rule_has_thresholds_and_documentation():
    catalogue = (REPO_ROOT / "docs" / "rules.md").read_text()
    assert len(RULES) >= 20
    for rule_id in RULES:
        assert rule_id in THRESHOLDS and f"`{rule_id}`" in catalogue


def test_data_skew_sets_aqe_skew_handling_from_the_measured_ratio():
    skewed = stage(1, task_ms=1000, task_duration_ms_max=12_000, task_duration_skew_ratio=12.0,
                   shuffle_read_bytes_max=1200 * MB, shuffle_read_skew_ratio=12.0)
    finding = fired(healthy(stages=[stage(0), skewed]))["data_skew"]
    assert finding.severity == "severe" and finding.stage_ids == [1]
    assert finding.recommended_conf["spark.sql.adaptive.skewJoin.skewedPartitionFactor"] == "6"
    assert finding.recommended_conf["spark.sql.adaptive.skewJoin.skewedPartitionThresholdInBytes"] == "600m"
    assert finding.evidence["shuffle_read_skew_ratio"] == 12.0


def test_spill_raises_partitions_from_the_spilled_stage_volume():
    spilled = stage(1, tasks=40, disk_bytes_spilled=900 * MB, memory_bytes_spilled=3000 * MB, shuffle_read_bytes=40_000 * MB)
    finding = fired(healthy(stages=[stage(0), spilled]))["spill_to_disk"]
    assert finding.recommended_conf["spark.sql.shuffle.partitions"] == str(40_000 // 128 + 1)
    assert finding.recommended_conf["spark.executor.memory"] == "12g"


def test_gc_pressure_grows_the_heap_in_proportion():
    finding = fired(with_metrics(gc_share=0.25, task_run_ms=600_000))["excessive_gc"]
    assert finding.severity == "severe" and finding.recommended_conf["spark.executor.memory"] == "12g"


def test_memory_over_and_under_provisioning():
    over = fired(with_metrics(peak_jvm_heap_bytes=1000 * MB))["executor_memory_overprovisioned"]
    assert over.recommended_conf == {"spark.executor.memory": "1536m"}  # Spark's default overhead follows on its own
    tiny_peak = fired(with_metrics(peak_jvm_heap_bytes=100 * MB))["executor_memory_overprovisioned"]
    assert tiny_peak.recommended_conf["spark.executor.memory"] == "512m"  # never below Spark's 450 MiB minimum
    under = fired(healthy(failure_reasons={"ExceptionFailure: java.lang.OutOfMemoryError": 3}))
    assert under["executor_memory_underprovisioned"].recommended_conf["spark.executor.memory"] == "12g"


def test_partition_count_rules_compute_a_target_from_shuffle_bytes():
    tiny = stage(1, tasks=1000, shuffle_read_bytes=500 * MB, shuffle_read_bytes_median=int(0.5 * MB), shuffle_read_bytes_max=MB)
    # 500 MB shuffled at ~128 MB per partition: 4, whatever the core count
    assert fired(healthy(stages=[stage(0), tiny]))["too_many_shuffle_partitions"].recommended_conf["spark.sql.shuffle.partitions"] == "4"
    huge = stage(1, tasks=8, shuffle_read_bytes=8000 * MB, shuffle_read_bytes_median=1000 * MB, shuffle_read_bytes_max=1100 * MB)
    eight = {**healthy().conf, "spark.sql.shuffle.partitions": "8"}
    assert fired(healthy(stages=[stage(0), huge], conf=eight))["too_few_shuffle_partitions"].recommended_conf == {
        "spark.sql.shuffle.partitions": "40"}  # AQE is already on: not suggested again
    # the same advice as the application's own setting is no finding
    assert "too_few_shuffle_partitions" not in fired(healthy(stages=[stage(0), huge]))


def test_tiny_tasks_and_under_parallelism():
    many = stage(1, tasks=2000, task_ms=20)
    facts = healthy(stages=[stage(0), many], app={**healthy().app, "task_count": 2040}, metrics={**healthy().metrics, "median_task_ms": 20})
    assert fired(facts)["tasks_too_short"].severity == "severe"  # 20 ms median: the 20 ms step
    few = stage(1, tasks=4, task_ms=30_000)
    narrow = healthy(stages=[stage(0), few], metrics={**healthy().metrics, "tasks_per_core": 0.3})
    assert fired(narrow)["under_parallelized"].recommended_conf["spark.sql.shuffle.partitions"] == "48"
    # weighted by task time the work ran wide: one narrow stage does not make the app under-parallelized
    wide = healthy(stages=[stage(0), few], metrics={**healthy().metrics, "tasks_per_core": 37.0})
    assert "under_parallelized" not in fired(wide)


def test_idle_executors_and_cost_waste_size_the_executor_count_to_the_work():
    facts = with_metrics(core_utilization=0.2, idle_executor_count=2, wasted_core_hours=6.0)
    findings = fired(facts)
    assert findings["idle_executors"].recommended_conf["spark.dynamicAllocation.maxExecutors"] == "2"
    assert findings["cost_waste"].recommended_conf["spark.executor.instances"] == "2"


def test_cores_per_executor_keeps_the_total():
    finding = fired(with_app(executor_cores=16, max_concurrent_executors=2))["cores_per_executor"]
    assert finding.recommended_conf == {"spark.executor.cores": "4", "spark.executor.instances": "8"}


def test_driver_bound_only_outside_local_mode():
    assert "driver_bound" in fired(with_metrics(driver_only_share=0.8, driver_only_ms=96_000))
    local = replace(with_metrics(driver_only_share=0.8), app={**healthy().app, "master": "local[4]"})
    assert "driver_bound" not in fired(local)


def test_failures_and_lost_executors_get_reason_specific_fixes():
    facts = replace(with_app(failed_task_count=10, failed_job_count=0), failure_reasons={"FetchFailed": 10},
                    executors=[{"executor_id": "1", "lost": True, "remove_reason": "Container killed by YARN for exceeding physical memory limits"}])
    findings = fired(facts)
    # the cause (lost shuffle output, container memory) is addressed, not retried
    assert findings["failed_tasks"].recommended_conf == {"spark.executor.memoryOverhead": "1280m", "spark.sql.shuffle.partitions": "80"}
    assert findings["executor_loss"].recommended_conf["spark.executor.memoryOverhead"] == "1280m"


@pytest.mark.parametrize("overhead_conf", [
    {"spark.yarn.executor.memoryOverhead": "2048"},  # Spark before 2.3 (and later, as the fallback key)
    {"spark.executor.memoryOverheadFactor": "0.25"},  # 25% of the 8192 MB heap
])
def test_the_overhead_grown_after_lost_containers_starts_from_the_one_spark_gave(overhead_conf):
    def overhead_fixes(conf):
        facts = replace(with_app(failed_task_count=10, failed_job_count=0), failure_reasons={"FetchFailed": 10},
                        conf={**healthy().conf, **conf},
                        executors=[{"executor_id": "1", "lost": True, "remove_reason": "Container killed by YARN for exceeding physical memory limits"}])
        findings = fired(facts)
        return [findings[rule].recommended_conf["spark.executor.memoryOverhead"] for rule in ("failed_tasks", "executor_loss")]

    explicit = overhead_fixes({"spark.executor.memoryOverhead": "2048m"})
    assert overhead_fixes(overhead_conf) == explicit != overhead_fixes({})


def test_a_resized_heap_gets_the_overhead_its_runs_factor_gives():
    over = with_metrics(peak_jvm_heap_bytes=1000 * MB)
    base = fired(replace(over, conf={**over.conf, "spark.executor.memoryOverhead": "2g"}))["executor_memory_overprovisioned"]
    factor = fired(replace(over, conf={**over.conf, "spark.yarn.executor.memoryOverhead": "2g",
                                       "spark.executor.memoryOverheadFactor": "0.5"}))["executor_memory_overprovisioned"]
    heap_mb = int(factor.recommended_conf["spark.executor.memory"].rstrip("m"))
    assert factor.recommended_conf["spark.executor.memoryOverhead"] == f"{heap_mb // 2}m"
    assert base.recommended_conf["spark.executor.memoryOverhead"] == "384m"  # Spark's minimum: 10% of the small heap is less


def test_sql_settings_rules():
    assert "aqe_disabled" in fired(healthy(conf={**healthy().conf, "spark.sql.adaptive.enabled": "false"}))
    small = stage(2, tasks=1, shuffle_write_bytes=3 * MB)
    join = stage(3, parent_stage_ids=[1, 2])
    smj = healthy(stages=[stage(0), stage(1), small, join], plan_node_names=("SortMergeJoin",),
                  conf={**healthy().conf, "spark.sql.autoBroadcastJoinThreshold": "-1"})
    assert fired(smj)["broadcast_join_opportunity"].recommended_conf["spark.sql.autoBroadcastJoinThreshold"] == "16m"
    unrelated = replace(smj, stages=[stage(0), stage(1), small, stage(3, parent_stage_ids=[1])])
    assert "broadcast_join_opportunity" not in fired(unrelated)
    rdd = healthy(stages=[stage(0, rdd_stage=True), stage(1, rdd_stage=True)], conf={})
    assert "kryo_not_used" in fired(rdd)


def test_small_files_long_tails_and_overheads():
    writers = stage(1, tasks=200, output_bytes=200 * MB)
    assert fired(healthy(stages=[stage(0), writers]))["small_files"].severity == "critical"
    tail = stage(1, tasks=100, task_duration_p95_ratio=6.0)  # 1 s median tasks
    assert fired(healthy(stages=[stage(0), tail]))["speculation_for_long_tail"].recommended_conf["spark.speculation.multiplier"] == "3.0"
    assert "shuffle_fetch_wait" in fired(with_metrics(shuffle_fetch_wait_share=0.4))
    delayed = replace(with_metrics(scheduler_delay_ms=30_000), app={**healthy().app, "task_count": 200})
    assert fired(delayed)["scheduler_delay"].evidence["share"] == 0.375
    dynamic = healthy(conf={**healthy().conf, "spark.dynamicAllocation.enabled": "true"})
    assert "dynamic_allocation_without_shuffle_tracking" in fired(dynamic)


def test_a_rule_that_breaks_reports_itself_and_the_others_still_run(monkeypatch):
    def broken(facts, thresholds):
        raise KeyError("surprise")

    monkeypatch.setitem(RULES, "data_skew", broken)
    findings = fired(with_metrics(gc_share=0.25, task_run_ms=600_000))
    assert findings["data_skew"].category == "internal" and "excessive_gc" in findings


@pytest.mark.parametrize("value, expected", [(383, "384m"), (1000, "1024m"), (5000, "5120m"), (9000, "9g")])
def test_memory_settings_are_rounded_up_to_whole_units(value, expected):
    from spark_optimizer.rules.model import memory_mb_text

    assert memory_mb_text(value) == expected


def test_skew_spill_and_partition_findings_need_a_stage_that_matters():
    # 43x skew in a 2.7 s stage of a 110 s application (application_1701368813061_0008's listing stage)
    skewed = stage(1, tasks=2000, task_ms=10, duration_ms=2_700, task_duration_skew_ratio=43.0, task_duration_ms_max=4_000,
                   shuffle_read_bytes=0, shuffle_read_bytes_median=0, shuffle_read_bytes_max=0)
    app = healthy(stages=[stage(0, duration_ms=100_000), skewed], metrics={**healthy().metrics, "wall_ms": 110_000})
    assert "data_skew" not in fired(app)
    spilled = stage(1, tasks=20, duration_ms=2_000, disk_bytes_spilled=100 * MB)
    assert "spill_to_disk" not in fired(healthy(stages=[stage(0, duration_ms=100_000), spilled]))
    assert "spill_to_disk" in fired(healthy(stages=[stage(0), stage(1, disk_bytes_spilled=100 * MB)]))


def test_failures_name_their_cause_and_failed_jobs_are_at_least_severe():
    gpu = ("ExceptionFailure: com.nvidia.spark.rapids.jni.GpuSplitAndRetryOOM: GPU OutOfMemory: could not split inputs "
           "and retry.\n\tat com.nvidia...")
    jobs = [{"job_id": 0, "result": "succeeded"}, {"job_id": 1, "result": "failed", "failure_reason": "Job aborted"},
            {"job_id": 2, "result": "succeeded"}]
    facts = replace(with_app(failed_task_count=112, task_count=12416), failure_reasons={gpu: 112}, jobs=jobs,
                    metrics={**healthy().metrics, "accelerator": "rapids"},
                    conf={**healthy().conf, "spark.rapids.sql.concurrentGpuTasks": "4"})
    finding = fired(facts)["failed_tasks"]
    assert finding.severity == "severe"
    assert "GpuSplitAndRetryOOM: GPU OutOfMemory: could not split inputs and retry." in finding.title
    assert finding.recommended_conf["spark.rapids.sql.concurrentGpuTasks"] == "2"
    assert finding.recommended_conf["spark.rapids.sql.batchSizeBytes"] == "512m"
    assert "spark.task.maxFailures" not in finding.recommended_conf
    last_failed = replace(facts, jobs=jobs[:1] + [{"job_id": 3, "result": "failed", "failure_reason": "x"}])
    assert fired(last_failed)["failed_tasks"].severity == "critical"


def test_application_errors_are_named_and_not_retried():
    python = ("ExceptionFailure: org.apache.spark.api.python.PythonException: Traceback (most recent call last):\n"
              '  File "/app/job.py", line 60, in fail\nValueError: bad row 17\n')
    finding = fired(replace(with_app(failed_task_count=4, task_count=80), failure_reasons={python: 4}))["failed_tasks"]
    assert "PythonException (ValueError: bad row 17)" in finding.title
    assert finding.recommended_conf == {} and "application's own code" in finding.rationale


@pytest.mark.parametrize("text, cause", [
    ("ExecutorLostFailure: executor 2: Container killed by YARN for exceeding physical memory limits. 5.5 GB of 5.5 GB",
     "ExecutorLostFailure: Container killed by YARN for exceeding physical memory limits. 5.5 GB of 5.5 GB"),
    ("FetchFailed: shuffle 54 map 8347: org.apache.spark.shuffle.FetchFailedException: /hadoop/disk0/shuffle_54.index",
     "FetchFailedException: /hadoop/disk0/shuffle_54.index"),
    ("Job aborted due to stage failure: Task 51 in stage 34.0 failed 4 times, most recent failure: Lost task 51.3 in stage "
     "34.0 (TID 12417) (host executor 0): java.lang.OutOfMemoryError: Java heap space", "OutOfMemoryError: Java heap space"),
    ("ExceptionFailure: com.nvidia.spark.rapids.jni.GpuSplitAndRetryOOM: GPU OutOfMemory: could not split inputs and retry. "
     "The current attempt: {HostMemoryBuffer{address=0x7fac24b85210, length=729491223, id=974}}",
     "GpuSplitAndRetryOOM: GPU OutOfMemory: could not split inputs and retry."),
    ('ExceptionFailure: org.apache.spark.api.python.PythonException: Traceback (most recent call last):\n'
     '  File "/app/generate_events.py", line 37, in flaky_partition\n    raise Exception("x")\nException: transient fail',
     "PythonException (Exception: transient fail)"),
    ('ExceptionFailure: org.apache.spark.api.python.PythonException: Traceback (most recent call last):\n'
     '  File "/app/generate_events.py", line 37, in flaky_partition\n    raise Exc',
     "PythonException (raised in flaky_partition at generate_events.py:37; the message is cut off in the log)"),
])
def test_failure_causes_are_the_exception_class_and_first_message_line(text, cause):
    from spark_optimizer.rules.failures import failure_cause

    assert failure_cause(text) == cause


def test_suggestions_fit_the_applications_spark_version_and_current_values():
    old = healthy(app={**healthy().app, "spark_version": "1.6.3"}, conf={"spark.sql.adaptive.enabled": "false"})
    assert "aqe_disabled" not in fired(old)  # no AQE before Spark 3.0
    # a value the application already has is no suggestion; a finding left with none goes
    wide = with_app(executor_cores=16, max_concurrent_executors=2)
    assert "cores_per_executor" in fired(wide)
    asked = replace(wide, conf={**wide.conf, "spark.executor.cores": "4", "spark.executor.instances": "8"})
    assert "cores_per_executor" not in fired(asked)
    half = replace(wide, conf={**wide.conf, "spark.executor.cores": "4"})
    kept = fired(half)["cores_per_executor"]
    assert kept.recommended_conf == {"spark.executor.instances": "8"}
    assert kept.evidence["not_suggested"] == ["spark.executor.cores=4: already the application's value"]


def test_rules_that_do_not_apply_to_gpu_and_databricks_runs_stay_quiet():
    gpu = with_metrics(peak_jvm_heap_bytes=1000 * MB, accelerator="rapids")
    assert "executor_memory_overprovisioned" not in fired(gpu)
    assert "cores_per_executor" not in fired(replace(gpu, app={**gpu.app, "executor_cores": 16}))
    databricks = with_app(platform="databricks", executor_cores=16)
    assert "cores_per_executor" not in fired(databricks)


def test_a_scan_stage_that_also_reads_a_small_shuffle_is_not_shaped_by_shuffle_partitions():
    # app-20240919162642-0000 (Photon): 5 GB scanned in ~1 s tasks beside a 31 KB shuffle read
    scan = stage(1, tasks=1000, input_bytes=5000 * MB, shuffle_read_bytes=31 * 1024,
                 shuffle_read_bytes_median=31, shuffle_read_bytes_max=64)
    assert "too_many_shuffle_partitions" not in fired(healthy(stages=[stage(0), scan]))
    shuffled = stage(1, tasks=1000, shuffle_read_bytes=500 * MB, shuffle_read_bytes_median=int(0.5 * MB), shuffle_read_bytes_max=MB)
    assert "too_many_shuffle_partitions" in fired(healthy(stages=[stage(0), shuffled]))


def test_a_long_tail_in_a_stage_that_holds_little_of_the_run_asks_for_no_speculation():
    # application_1751493828576_0001: the tail was in a stage holding under 10% of the run time
    minor_tail = stage(1, tasks=100, task_ms=20, duration_ms=5_000, task_duration_p95_ratio=6.0, task_duration_ms_median=600)
    app = healthy(stages=[stage(0, duration_ms=100_000), minor_tail])
    assert "speculation_for_long_tail" not in fired(app)


def test_equally_severe_findings_put_what_failed_before_advice():
    from spark_optimizer.rules.model import finding_order

    rows = [{"rule_id": "idle_executors", "severity_rank": 4}, {"rule_id": "aqe_disabled", "severity_rank": 2},
            {"rule_id": "failed_tasks", "severity_rank": 4}]
    assert [r["rule_id"] for r in sorted(rows, key=finding_order)] == ["failed_tasks", "idle_executors", "aqe_disabled"]
