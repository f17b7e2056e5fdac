"""The metrics collector against real servers: a Spark application (in a subprocess, UI and
PrometheusServlet on), a real Prometheus scraping it every second, and delta-rs tables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from datetime import datetime, timezone

import pytest

from spark_optimizer.collectors.prometheus import PrometheusCollectError, collect_from_metrics, sanitize_app_id
from spark_optimizer.config import load_settings
from tests.fakes.history_server import _alive, free_port
from tests.fakes.prometheus import PROMETHEUS_BINARY, LocalPrometheus
from spark_optimizer.tables.executor_metrics import EXECUTOR_METRICS
from spark_optimizer.tables.instants import epoch_ms
from spark_optimizer.tables.store import DeltaRsBackend, TableStore

pytestmark = pytest.mark.slow

# Deadlines for conditions the tests poll for (Spark's UI, Prometheus's readiness, scraped series).
# On a loaded 2-core host (load 20) the Spark application alone took ~70 s to start; the condition,
# not the deadline, ends each wait.
SLOW_HOST_S = 300

APP_SCRIPT = textwrap.dedent("""
    import os, sys, time
    from pyspark.sql import SparkSession
    port, stop_file, max_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
    spark = (SparkSession.builder.master("local[2]").appName("prometheus-collector-test")
             .config("spark.ui.enabled", "true").config("spark.ui.port", port).config("spark.port.maxRetries", "0")
             .config("spark.ui.prometheus.enabled", "true")
             .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.metrics.conf.*.sink.prometheusServlet.class",
                     "org.apache.spark.metrics.sink.PrometheusServlet")
             .config("spark.metrics.conf.*.sink.prometheusServlet.path", "/metrics/prometheus")
             .config("spark.metrics.conf.*.source.jvm.class", "org.apache.spark.metrics.source.JvmSource")
             .config("spark.sql.shuffle.partitions", "2").config("spark.driver.memory", "512m")
             .getOrCreate())
    print("APP_ID", spark.sparkContext.applicationId, flush=True)
    started = time.time()
    while time.time() - started < max_s and not os.path.exists(stop_file):
        spark.range(0, 1_000_000, numPartitions=4).selectExpr("id % 97 AS k").groupBy("k").count().collect()
        time.sleep(0.2)
    spark.stop()
""")


def _stop_pid(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if proc.poll() is None and _alive(proc.pid):
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def spark_app(tmp_path_factory):
    """A running Spark application with its UI on a free port: (ui_host_port, app_id, started_ms)."""
    work = tmp_path_factory.mktemp("metrics-app")
    script, stop_file, log = work / "app.py", work / "stop", work / "app.log"
    script.write_text(APP_SCRIPT)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))}
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    started_ms = int(time.time() * 1000)
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, str(script), str(port), str(stop_file), "900"],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + SLOW_HOST_S
        app_id = None
        while time.monotonic() < deadline and proc.poll() is None:
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("APP_ID "):
                    app_id = line.split()[1]
            if app_id:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics/executors/prometheus",
                                                timeout=10) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
            time.sleep(0.2)
        else:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            pytest.fail(f"the Spark application did not start its UI on {port}:\n{tail}")
        yield f"127.0.0.1:{port}", app_id, started_ms
    finally:
        stop_file.touch()
        _stop_pid(proc)


@pytest.fixture(scope="module")
def prometheus(spark_app):
    if not os.access(PROMETHEUS_BINARY, os.X_OK):
        pytest.skip(f"no Prometheus server at {PROMETHEUS_BINARY}")
    target, app_id, _ = spark_app
    jobs = [("spark-executors", target, "/metrics/executors/prometheus"),
            ("spark-driver", target, "/metrics/prometheus/")]
    with LocalPrometheus(jobs, scrape_interval="1s", startup_timeout=SLOW_HOST_S) as prom:
        # several scrapes of both endpoints, so the query_range below has a real series to read
        prom.wait_for_series(f'count_over_time(metrics_executor_activeTasks{{application_id="{app_id}"}}[1m]) >= 4',
                             timeout=SLOW_HOST_S)
        prom.wait_for_series(f"metrics_{sanitize_app_id(app_id)}_driver_jvm_heap_used_Value", timeout=SLOW_HOST_S)
        yield prom


def _store(tmp_path) -> TableStore:
    return TableStore(None, load_settings(warehouse=str(tmp_path / "wh"), environ={}), backend=DeltaRsBackend())


def _window_end_showing(prometheus: LocalPrometheus, start_ms: int, queries: list[str]) -> int:
    """The end of a window from `start_ms` whose 1-second query_range steps (the collector's grid) hold a
    sample for every query; polls until one does, as a scrape that showed it can fall after the last step."""
    deadline = time.monotonic() + SLOW_HOST_S
    last: object = "no answer"
    while time.monotonic() < deadline:
        end_ms = int(time.time() * 1000)
        window = {"start": f"{start_ms / 1000:.3f}", "end": f"{end_ms / 1000:.3f}", "step": "1"}
        try:
            missing = [q for q in queries if not prometheus.api("query_range", {"query": q, **window})["result"]]
        except (OSError, ValueError) as exc:  # a query timing out on a busy host: ask again
            last = exc
            continue
        if not missing:
            return end_ms
        last = f"nothing for {missing}"
        time.sleep(0.25)
    pytest.fail(f"no scrape within {SLOW_HOST_S}s showed all of {queries} (last: {last}; "
                f"targets: {prometheus.targets_health()})")


def test_collects_driver_and_executor_series(spark_app, prometheus, tmp_path):
    _, app_id, started_ms = spark_app
    store = _store(tmp_path)
    start_ms = started_ms - 5000
    # Prometheus may scrape the app before its first job has finished (under load, long before):
    # the window must hold the scrapes that show completed tasks and the storage memory they used.
    executor = f'application_id="{app_id}"'
    end_ms = _window_end_showing(prometheus, start_ms, [f"metrics_executor_totalTasks_total{{{executor}}} > 0",
                                                        f"metrics_executor_memoryUsed_bytes{{{executor}}} > 0"])
    first = collect_from_metrics(store, prometheus.url, datetime.now(timezone.utc), start_ms=start_ms,
                                 end_ms=end_ms, step_s=1, retries=0)
    assert first.rows > 0, first.as_dict()
    assert first.apps == [app_id]
    rows = store.read_arrow(EXECUTOR_METRICS).to_pylist()
    assert len(rows) == first.rows
    assert {r["app_id"] for r in rows} == {app_id}
    assert {r["attempt_id"] for r in rows} == {""}
    assert {r["executor_id"] for r in rows} == {"driver"}  # local mode: the driver runs the tasks
    assert all(start_ms <= epoch_ms(r["sample_time"]) <= end_ms for r in rows)
    assert all(epoch_ms(r["sample_time"]) % 1000 == start_ms % 1000 for r in rows)  # on the step grid

    by_metric: dict[str, list[dict]] = {}
    for r in rows:
        by_metric.setdefault(r["metric"], []).append(r)
    # the driver servlet (app id only in the metric name) ...
    heap = by_metric["jvm_heap_used_bytes"]
    assert all(r["value"] > 0 for r in heap)
    assert {r["source_series"] for r in heap} == {f"metrics_{sanitize_app_id(app_id)}_driver_jvm_heap_used_Value"}
    assert all(r["value"] > 0 for r in by_metric["cpu_time_ns"])
    assert all(r["value"] >= 0 for r in by_metric["gc_time_ms"])
    # ... and the executors endpoint (app id in labels)
    assert all(r["value"] >= 0 for r in by_metric["active_tasks"])
    assert {r["source_series"] for r in by_metric["active_tasks"]} == {"metrics_executor_activeTasks"}
    assert max(r["value"] for r in by_metric["total_tasks"]) > 0
    assert all(r["value"] >= 0 for r in by_metric["memory_used_bytes"])  # 0 until the first job's broadcast
    assert max(r["value"] for r in by_metric["memory_used_bytes"]) > 0
    assert all(r["value"] >= 0 for r in by_metric["task_gc_time_ms"])

    # Collecting the same window again (and from the watermark) adds no duplicate rows.
    again = collect_from_metrics(store, prometheus.url, datetime.now(timezone.utc), start_ms=start_ms,
                                 end_ms=end_ms, step_s=1, retries=0)
    assert again.rows == first.rows
    rows_after = store.read_arrow(EXECUTOR_METRICS).to_pylist()
    assert len(rows_after) == len(rows)
    keys = [(r["app_id"], r["attempt_id"], r["executor_id"], r["metric"], r["sample_time"]) for r in rows_after]
    assert len(set(keys)) == len(keys)

    newest = epoch_ms(max(r["sample_time"] for r in rows_after))
    incremental = collect_from_metrics(store, prometheus.url, datetime.now(timezone.utc), step_s=1, retries=0)
    assert incremental.watermark_ms == newest and incremental.start_ms == newest
    final = store.read_arrow(EXECUTOR_METRICS).to_pylist()
    final_keys = [(r["app_id"], r["executor_id"], r["metric"], r["sample_time"]) for r in final]
    assert len(set(final_keys)) == len(final_keys)
    assert len(final) >= len(rows_after)


def test_app_filter_and_empty_window(prometheus, tmp_path):
    store = _store(tmp_path)
    now = int(time.time() * 1000)
    other = collect_from_metrics(store, prometheus.url, datetime.now(timezone.utc), start_ms=now - 10_000,
                                 end_ms=now, step_s=1, retries=0, app_ids=["app-that-does-not-exist"])
    assert other.rows == 0 and "app-that-does-not-exist" in other.message
    long_ago = collect_from_metrics(store, prometheus.url, datetime.now(timezone.utc), start_ms=now - 7_200_000,
                                    end_ms=now - 7_100_000, step_s=60, retries=0)
    assert long_ago.rows == 0 and long_ago.series == 0 and "no Spark series" in long_ago.message
    assert not store.exists(EXECUTOR_METRICS)


def test_unreachable_and_wrong_endpoints(spark_app, tmp_path):
    store = _store(tmp_path)
    with pytest.raises(PrometheusCollectError, match=r"failed after 2 attempt\(s\).*reachable"):
        collect_from_metrics(store, f"http://127.0.0.1:{free_port()}", datetime.now(timezone.utc),
                             retries=1, timeout_s=2)
    target, _, _ = spark_app  # a Spark UI is not a Prometheus API
    with pytest.raises(PrometheusCollectError, match="does not look like a Prometheus server"):
        collect_from_metrics(store, f"http://{target}", datetime.now(timezone.utc), retries=0, timeout_s=SLOW_HOST_S)
    with pytest.raises(PrometheusCollectError, match="not an http"):
        collect_from_metrics(store, "prometheus:9090", datetime.now(timezone.utc))
