"""Per-application metrics: where wall time and allocated cores went."""

from __future__ import annotations

from chispa import assert_df_equality

from spark_optimizer.analysis.app_metrics import compute_app_metrics, executor_busy_time
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import APPLICATIONS, EXECUTORS, STAGES, TASKS
from spark_optimizer.tables.instants import from_epoch_ms as at
from tests.conftest import PINNED_RUN_TIME, REPO_ROOT


def test_busy_time_is_the_union_of_overlapping_task_intervals(spark):
    tasks = spark.createDataFrame(
        [(app, "", task_id, at(launch_ms), at(finish_ms)) for app, task_id, launch_ms, finish_ms in
         (("a", 1, 0, 10), ("a", 2, 5, 15), ("a", 3, 20, 30), ("b", 1, 100, 101))],
        "app_id string, attempt_id string, task_id long, launch_time timestamp, finish_time timestamp",
    )
    expected = spark.createDataFrame([("a", "", 25), ("b", "", 1)], "app_id string, attempt_id string, executor_busy_ms long")
    assert_df_equality(executor_busy_time(tasks), expected, ignore_row_order=True, ignore_nullable=True)


def test_metrics_on_real_logs_split_wall_time_and_name_a_bottleneck(spark, store):
    ingest_event_logs(spark, store, str(REPO_ROOT / "samples" / "eventlogs"), PINNED_RUN_TIME)
    metrics = {
        r["app_id"]: r
        for r in compute_app_metrics(store.read(APPLICATIONS), store.read(STAGES), store.read(TASKS),
                                     store.read(EXECUTORS), PINNED_RUN_TIME).collect()
    }
    assert len(metrics) == 6
    for app_id, m in metrics.items():
        assert m["driver_only_ms"] + m["executor_busy_ms"] == m["wall_ms"], app_id
        assert 0 < m["core_utilization"] <= 1.0, app_id
        assert 0 < m["cpu_share_of_run"] <= 1.0, app_id
    # An interactive spark-shell session: 175 s of wall time, 6 s with tasks running.
    shell = metrics["local-1624371544219"]
    assert shell["bottleneck"] == "driver" and shell["driver_only_share"] > 0.9
    # Kubernetes app with 4 busy executors doing CPU-heavy work.
    taxi = metrics["spark-cc4d115f011443d787f03a71a476a745"]
    assert taxi["bottleneck"] == "cpu" and taxi["idle_executor_count"] == 0


def test_the_critical_path_is_the_longest_chain_of_dependent_stages():
    from spark_optimizer.analysis.stage_metrics import critical_path

    stages = [
        {"stage_id": 0, "job_id": 0, "parent_stage_ids": [], "duration_ms": 10},
        {"stage_id": 1, "job_id": 0, "parent_stage_ids": [], "duration_ms": 50},
        {"stage_id": 2, "job_id": 0, "parent_stage_ids": [0, 1], "duration_ms": 5},
        {"stage_id": 3, "job_id": 1, "parent_stage_ids": [2], "duration_ms": 7},  # parent ran in an earlier job
    ]
    marks = critical_path(stages)
    assert {s: on for s, (on, _) in marks.items()} == {0: False, 1: True, 2: True, 3: True}
    assert marks[2][1] == 55 and marks[3][1] == 7


def test_scraped_metrics_fill_memory_peaks_that_the_event_log_lacks(spark, store):

    import pyarrow as pa

    from spark_optimizer.analysis.app_metrics import metric_peaks
    from spark_optimizer.tables import EXECUTOR_METRICS

    ingest_event_logs(spark, store, str(REPO_ROOT / "samples" / "eventlogs"), PINNED_RUN_TIME)
    store.upsert(EXECUTOR_METRICS, pa.Table.from_pylist([
        {"app_id": "local-1795476283857", "attempt_id": "", "executor_id": "driver", "metric": "jvm_heap_used_bytes",
         "sample_time": at(t), "value": v, "source_series": "metrics_local_1795476283857_driver_jvm_heap_used_Value"}
        for t, v in ((1_000, 200e6), (2_000, 350e6))
    ], schema=EXECUTOR_METRICS.arrow_schema()))
    scraped = metric_peaks(store.read(EXECUTOR_METRICS))
    rows = {r["app_id"]: r for r in compute_app_metrics(store.read(APPLICATIONS), store.read(STAGES), store.read(TASKS),
                                                         store.read(EXECUTORS), PINNED_RUN_TIME, scraped).collect()}
    filled = rows["local-1795476283857"]
    assert filled["peak_jvm_heap_bytes"] == 350_000_000 and filled["memory_peaks_source"] == "prometheus"
    assert filled["heap_headroom_share"] is not None
    # The Kubernetes log has its own peaks: they win.
    assert rows["spark-cc4d115f011443d787f03a71a476a745"]["memory_peaks_source"] == "event_log"


def test_scraped_peak_names_are_ones_the_prometheus_collector_writes():
    from spark_optimizer.analysis.app_metrics import EXECUTION_METRICS, HEAP_METRICS
    from spark_optimizer.collectors.prometheus import DRIVER_SERVLET_MAP, EXECUTOR_ENDPOINT_MAP

    written = {m.metric for m in {**EXECUTOR_ENDPOINT_MAP, **DRIVER_SERVLET_MAP}.values()}
    assert set(EXECUTION_METRICS) <= written and set(HEAP_METRICS) <= written
