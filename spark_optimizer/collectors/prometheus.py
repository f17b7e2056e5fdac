"""Collect executor and driver metric time series from a Prometheus server that scrapes Spark's
PrometheusServlet, into the `executor_metrics` Delta table.

Example::

    summary = collect_from_metrics(store, "http://prometheus:9090", datetime.now(timezone.utc))
    summary.as_dict()   # {'endpoint': ..., 'series': 31, 'rows': 1240, 'apps': ['app-2026...'], ...}

Spark exposes two kinds of series (names checked against Spark 4.0.1):

* the executors endpoint `/metrics/executors/prometheus` (`spark.ui.prometheus.enabled=true`):
  `metrics_executor_<name>{application_id="local-1795538273195", application_name="...",
  executor_id="driver"|"1"|...}`, e.g. `metrics_executor_memoryUsed_bytes`,
  `metrics_executor_activeTasks`, `metrics_executor_totalTasks_total`,
  `metrics_executor_totalGCTime_seconds_total` (seconds);
* the driver's metrics-system servlet (`spark.metrics.conf.*.sink.prometheusServlet.class=
  org.apache.spark.metrics.sink.PrometheusServlet`, `...path=/metrics/prometheus`, and
  `spark.metrics.conf.*.source.jvm.class=org.apache.spark.metrics.source.JvmSource`):
  `metrics_<app id with non-word characters as '_'>_driver_<source>_<name>_Value{type="gauges"}`,
  e.g. `metrics_local_1795538374728_driver_jvm_heap_used_Value`. The application id is only in the
  metric name, in sanitized form: it is mapped back to the real id through the executors
  endpoint's `application_id` labels when those are present, else by known id shapes
  (`local-<n>`, `app-<date>-<n>`; YARN ids keep their underscores).

`METRIC_MAP` lists every series read and the normalized metric (and unit conversion) it becomes.
Samples are downsampled by the query_range `step`. Without `start_ms`, collection starts at the
newest `sample_time` already stored (else one hour before `end_ms`); rows are upserted on
(app_id, attempt_id, executor_id, metric, sample_time), so collecting again never duplicates.
Requests go through `collectors.http` (httpx with retries).
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

import pyarrow as pa

from spark_optimizer.collectors.http import HttpUnavailable, RetryingGetter, base_url_of, url_credentials, with_query, without_credentials
from spark_optimizer.errors import SparkOptimizerError
from spark_optimizer.tables.executor_metrics import EXECUTOR_METRICS
from spark_optimizer.tables.instants import epoch_ms, from_epoch_ms
from spark_optimizer.tables.store import TableStore

DEFAULT_LOOKBACK_MS = 3600 * 1000
MAX_POINTS_PER_QUERY = 10_000  # Prometheus refuses query_range answers over 11,000 points per series


class PrometheusCollectError(SparkOptimizerError):
    """The Prometheus server could not be reached or did not answer like the Prometheus HTTP API."""


@dataclass(frozen=True)
class SeriesMapping:
    metric: str          # our normalized name
    scale: float = 1.0   # multiply the Prometheus value by this to get the normalized unit


# Executors endpoint (/metrics/executors/prometheus): labels application_id and executor_id.
EXECUTOR_ENDPOINT_PREFIX = "metrics_executor_"
EXECUTOR_ENDPOINT_MAP: dict[str, SeriesMapping] = {
    "memoryUsed_bytes": SeriesMapping("memory_used_bytes"),
    "maxMemory_bytes": SeriesMapping("max_memory_bytes"),
    "diskUsed_bytes": SeriesMapping("disk_used_bytes"),
    "rddBlocks": SeriesMapping("rdd_blocks"),
    "totalCores": SeriesMapping("total_cores"),
    "maxTasks": SeriesMapping("max_tasks"),
    "activeTasks": SeriesMapping("active_tasks"),
    "failedTasks_total": SeriesMapping("failed_tasks"),
    "completedTasks_total": SeriesMapping("completed_tasks"),
    "totalTasks_total": SeriesMapping("total_tasks"),
    "totalDuration_seconds_total": SeriesMapping("task_time_ms", 1000.0),
    "totalGCTime_seconds_total": SeriesMapping("task_gc_time_ms", 1000.0),
    "totalInputBytes_bytes_total": SeriesMapping("input_bytes"),
    "totalShuffleRead_bytes_total": SeriesMapping("shuffle_read_bytes"),
    "totalShuffleWrite_bytes_total": SeriesMapping("shuffle_write_bytes"),
    "usedOnHeapStorageMemory_bytes": SeriesMapping("storage_memory_onheap_used_bytes"),
    "usedOffHeapStorageMemory_bytes": SeriesMapping("storage_memory_offheap_used_bytes"),
    # peak values since the executor started (Spark's peakMemoryMetrics)
    "JVMHeapMemory_bytes": SeriesMapping("peak_jvm_heap_bytes"),
    "JVMOffHeapMemory_bytes": SeriesMapping("peak_jvm_offheap_bytes"),
    "OnHeapExecutionMemory_bytes": SeriesMapping("peak_execution_memory_onheap_bytes"),
    "OffHeapExecutionMemory_bytes": SeriesMapping("peak_execution_memory_offheap_bytes"),
    "ProcessTreeJVMRSSMemory_bytes": SeriesMapping("peak_process_tree_jvm_rss_bytes"),
    "MinorGCTime_seconds_total": SeriesMapping("peak_minor_gc_time_ms", 1000.0),
    "MajorGCTime_seconds_total": SeriesMapping("peak_major_gc_time_ms", 1000.0),
}

# Metrics-system servlet (/metrics/prometheus): metrics_<app>_<executor>_<suffix>_Value.
DRIVER_SERVLET_MAP: dict[str, SeriesMapping] = {
    "jvm_heap_used": SeriesMapping("jvm_heap_used_bytes"),
    "jvm_heap_committed": SeriesMapping("jvm_heap_committed_bytes"),
    "jvm_heap_max": SeriesMapping("jvm_heap_max_bytes"),
    "jvm_non_heap_used": SeriesMapping("jvm_offheap_used_bytes"),
    "jvm_direct_used": SeriesMapping("jvm_direct_used_bytes"),
    "ExecutorMetrics_TotalGCTime": SeriesMapping("gc_time_ms"),
    "ExecutorMetrics_MinorGCCount": SeriesMapping("minor_gc_count"),
    "ExecutorMetrics_MajorGCCount": SeriesMapping("major_gc_count"),
    "ExecutorMetrics_ProcessTreeJVMRSSMemory": SeriesMapping("process_tree_jvm_rss_bytes"),
    "ExecutorMetrics_OnHeapExecutionMemory": SeriesMapping("execution_memory_onheap_bytes"),
    "ExecutorMetrics_OffHeapExecutionMemory": SeriesMapping("execution_memory_offheap_bytes"),
    "JVMCPU_jvmCpuTime": SeriesMapping("cpu_time_ns"),
    "executor_threadpool_activeTasks": SeriesMapping("threadpool_active_tasks"),
}

# Every (source series pattern -> normalized metric), for documentation and the CLI.
METRIC_MAP: dict[str, str] = {
    **{f"{EXECUTOR_ENDPOINT_PREFIX}{k}": v.metric for k, v in EXECUTOR_ENDPOINT_MAP.items()},
    **{f"metrics_<app_id>_<executor_id>_{k}_Value": v.metric for k, v in DRIVER_SERVLET_MAP.items()},
}

_EXECUTOR_QUERY = '{__name__=~"%s(%s)"}' % (
    EXECUTOR_ENDPOINT_PREFIX, "|".join(re.escape(k) for k in EXECUTOR_ENDPOINT_MAP))
# Prometheus regexes are anchored; the executor id in the name is 'driver' (executors have no servlet,
# but a numeric id is accepted for set-ups that expose one).
_SERVLET_QUERY = '{__name__=~"metrics_.+_(driver|[0-9]+)_(%s)_Value"}' % "|".join(DRIVER_SERVLET_MAP)
_SERVLET_NAME = re.compile(r"^metrics_(?P<app>.+)_(?P<executor>driver|\d+)_(?P<suffix>%s)_Value$"
                           % "|".join(re.escape(k) for k in DRIVER_SERVLET_MAP))
QUERIES = (_EXECUTOR_QUERY, _SERVLET_QUERY)


def sanitize_app_id(app_id: str) -> str:
    """The form Spark's PrometheusServlet gives an application id inside a metric name."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", app_id)


def guess_app_id(sanitized: str) -> str:
    """Best-effort inverse of `sanitize_app_id` for the usual id shapes."""
    match = re.fullmatch(r"local_(\d+)", sanitized)
    if match:
        return f"local-{match.group(1)}"
    match = re.fullmatch(r"app_(\d{14})_(\d+)", sanitized)  # standalone master
    if match:
        return f"app-{match.group(1)}-{match.group(2)}"
    match = re.fullmatch(r"spark_([0-9a-f]{32})", sanitized)  # Kubernetes
    if match:
        return f"spark-{match.group(1)}"
    return sanitized  # YARN application_<ts>_<n> and unknown shapes


def normalize_endpoint(endpoint: str) -> str:
    url = base_url_of(endpoint, ("/api/v1/query_range", "/api/v1/query", "/api/v1", "/graph"))
    if url is None:
        raise PrometheusCollectError(
            f"{without_credentials(endpoint)!r} is not an http(s) URL; pass the Prometheus server's base URL, e.g. http://host:9090")
    return url


class PrometheusClient:
    """GETs the Prometheus HTTP API (/api/v1) and returns the answer's `data` (retries: `RetryingGetter`)."""

    def __init__(self, endpoint: str, *, timeout_s: float = 30, retries: int = 3, backoff_s: float = 0.5,
                 headers: Mapping[str, str] | None = None):
        self.base_url = normalize_endpoint(endpoint)  # credentials taken out: never printed or stored
        self.http = RetryingGetter(timeout_s=timeout_s, retries=retries, backoff_s=backoff_s, headers=headers,
                                   auth=url_credentials(endpoint))

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        return with_query(f"{self.base_url}/api/v1/{path.lstrip('/')}", params)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        url = self.url(path, params)
        try:
            status, content_type, body = self.http.get(url)
        except HttpUnavailable as exc:
            raise PrometheusCollectError(
                f"GET {url} failed after {exc.attempts} attempt(s) ({exc.last}); check that Prometheus is running "
                f"and reachable at {self.base_url}") from None
        answer = _json_or_none(body)
        if not _prometheus_shaped(answer):
            kind = content_type or "non-JSON content"
            raise PrometheusCollectError(
                f"GET {url} answered HTTP {status} with {kind}, not the Prometheus API's JSON "
                f"(body starts {body[:80]!r}): {self.base_url} does not look like a Prometheus server; pass "
                f"its base URL, e.g. http://host:9090 (not a Spark UI or /metrics endpoint)")
        if answer["status"] != "success":
            raise PrometheusCollectError(
                f"GET {url} answered HTTP {status}: {answer.get('errorType', 'error')}: {answer.get('error')}")
        return answer.get("data")

    def query_range(self, query: str, start_ms: int, end_ms: int, step_s: float) -> list[dict]:
        """Matrix result of `query`, split in windows of at most MAX_POINTS_PER_QUERY steps."""
        step_ms = max(1, int(round(step_s * 1000)))
        series: dict[tuple, dict] = {}
        window = step_ms * MAX_POINTS_PER_QUERY
        lo = start_ms
        while lo <= end_ms:
            hi = min(end_ms, lo + window)
            data = self.get("query_range", {"query": query, "start": f"{lo / 1000:.3f}", "end": f"{hi / 1000:.3f}",
                                            "step": f"{step_ms / 1000:g}"})
            if not isinstance(data, dict) or data.get("resultType") != "matrix":
                raise PrometheusCollectError(f"query_range answered {str(data)[:200]}, expected a matrix")
            for item in data.get("result") or []:
                key = tuple(sorted(item.get("metric", {}).items()))
                entry = series.setdefault(key, {"metric": item.get("metric", {}), "values": []})
                entry["values"].extend(item.get("values") or [])
            lo = hi + step_ms
        return list(series.values())


def _prometheus_shaped(answer: Any) -> bool:
    """The Prometheus API envelope: {"status": "success", "data": ...} or {"status": "error", "errorType": ...}."""
    if not isinstance(answer, dict):
        return False
    if answer.get("status") == "success":
        return "data" in answer
    return answer.get("status") == "error" and "errorType" in answer


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


@dataclass
class MetricsCollectSummary:
    """What one metrics collection did."""

    endpoint: str
    start_ms: int
    end_ms: int
    step_s: float
    watermark_ms: int | None = None
    series: int = 0
    skipped_series: int = 0
    rows: int = 0
    apps: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def exit_code(self) -> int:
        return 0

    def as_dict(self) -> dict:
        return {"endpoint": self.endpoint, "start_ms": self.start_ms, "end_ms": self.end_ms, "step_s": self.step_s,
                "watermark_ms": self.watermark_ms, "series": self.series, "skipped_series": self.skipped_series,
                "rows": self.rows, "apps": list(self.apps), "metrics": list(self.metrics), "message": self.message}


def summary_line(summary: MetricsCollectSummary) -> str:
    d = summary.as_dict()
    text = (f"metrics from {d['endpoint']} [{d['start_ms']}, {d['end_ms']}] step {d['step_s']:g}s: "
            f"{d['rows']} rows from {d['series']} series, apps {', '.join(d['apps']) or '-'}")
    return f"{text}; {d['message']}" if d["message"] else text


def read_watermark(store: TableStore) -> int | None:
    """Newest `sample_time` already stored in executor_metrics, as epoch ms."""
    if not store.exists(EXECUTOR_METRICS):
        return None
    import pyarrow.compute as pc

    column = store.read_arrow(EXECUTOR_METRICS).column("sample_time")
    return epoch_ms(pc.max(column).as_py()) if len(column) else None


def series_rows(series: Iterable[Mapping], collected_at: datetime, app_ids: Sequence[str] | None = None
                ) -> tuple[list[dict], int]:
    """Table rows from query_range matrix series; also the number of series that could not be mapped."""
    series = list(series)
    real_ids: dict[str, str] = {}  # sanitized -> real, learned from the executors endpoint's labels
    for item in series:
        app = item.get("metric", {}).get("application_id")
        if app:
            real_ids[sanitize_app_id(app)] = app
    wanted = set(app_ids) if app_ids else None
    rows: dict[tuple, dict] = {}
    skipped = 0
    for item in series:
        labels = item.get("metric", {})
        name = labels.get("__name__", "")
        mapped = _map_series(name, labels, real_ids)
        if mapped is None:
            skipped += 1
            continue
        app_id, executor_id, mapping = mapped
        if wanted is not None and app_id not in wanted:
            continue
        for point in item.get("values") or []:
            try:
                ts_s, raw = point
                value = float(raw) * mapping.scale
            except (TypeError, ValueError):
                continue
            if math.isnan(value) or math.isinf(value):
                continue
            ts_ms = int(round(float(ts_s) * 1000))
            key = (app_id, "", executor_id, mapping.metric, ts_ms)
            rows[key] = {"app_id": app_id, "attempt_id": "", "executor_id": executor_id, "metric": mapping.metric,
                         "sample_time": from_epoch_ms(ts_ms), "value": value, "source_series": name, "collected_at": collected_at}
    return list(rows.values()), skipped


def _map_series(name: str, labels: Mapping[str, str], real_ids: Mapping[str, str]
                ) -> tuple[str, str, SeriesMapping] | None:
    if name.startswith(EXECUTOR_ENDPOINT_PREFIX):
        mapping = EXECUTOR_ENDPOINT_MAP.get(name[len(EXECUTOR_ENDPOINT_PREFIX):])
        app_id, executor_id = labels.get("application_id"), labels.get("executor_id")
        if mapping is None or not app_id or not executor_id:
            return None
        return app_id, executor_id, mapping
    match = _SERVLET_NAME.match(name)
    if match is None:
        return None
    sanitized = match.group("app")
    app_id = real_ids.get(sanitized) or guess_app_id(sanitized)
    return app_id, match.group("executor"), DRIVER_SERVLET_MAP[match.group("suffix")]


def collect_from_metrics(store: TableStore, endpoint: str, collected_at: datetime, *, start_ms: int | None = None,
                         end_ms: int | None = None, step_s: float = 15, timeout_s: float = 30, retries: int = 3,
                         app_ids: Sequence[str] | None = None) -> MetricsCollectSummary:
    """Read Spark's executor/driver series from Prometheus over [start_ms, end_ms] at `step_s` and upsert
    them into `executor_metrics`. Raises PrometheusCollectError when the endpoint is unreachable or is
    not a Prometheus API; returns a summary with a message when there is simply nothing to collect."""
    if step_s <= 0:
        raise PrometheusCollectError(f"step must be a positive number of seconds, got {step_s}")
    if collected_at.tzinfo is None:
        collected_at = collected_at.replace(tzinfo=timezone.utc)
    client = PrometheusClient(endpoint, timeout_s=timeout_s, retries=retries)
    if end_ms is None:
        end_ms = int(time.time() * 1000)
    watermark = None
    if start_ms is None:
        watermark = read_watermark(store)
        start_ms = watermark if watermark is not None else end_ms - DEFAULT_LOOKBACK_MS
    summary = MetricsCollectSummary(client.base_url, int(start_ms), int(end_ms), float(step_s), watermark)
    if start_ms > end_ms:
        summary.message = f"nothing to collect: start {start_ms} is after end {end_ms}"
        return summary
    client.get("status/buildinfo")  # fails clearly when the endpoint is not a Prometheus server
    series: list[dict] = []
    for query in QUERIES:
        series.extend(client.query_range(query, int(start_ms), int(end_ms), step_s))
    summary.series = len(series)
    if not series:
        summary.message = ("no Spark series in this window: check that Prometheus scrapes the driver's "
                           "/metrics/executors/prometheus (spark.ui.prometheus.enabled=true) and/or "
                           "/metrics/prometheus (PrometheusServlet sink) endpoints")
        return summary
    rows, summary.skipped_series = series_rows(series, collected_at, app_ids)
    if not rows:
        summary.message = ("series found, but none for the requested applications " + ", ".join(app_ids)
                           if app_ids else "series found, but no usable samples")
        return summary
    store.upsert(EXECUTOR_METRICS, pa.Table.from_pylist(rows, schema=EXECUTOR_METRICS.arrow_schema()))
    summary.rows = len(rows)
    summary.apps = sorted({r["app_id"] for r in rows})
    summary.metrics = sorted({r["metric"] for r in rows})
    return summary
