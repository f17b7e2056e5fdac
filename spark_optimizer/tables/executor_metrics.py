"""Time series of executor and driver metrics scraped by Prometheus from Spark's PrometheusServlet."""

from spark_optimizer.tables._columns import APP_KEY
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import epoch_ms_to_timestamp

EXECUTOR_METRICS = TableSpec(
    name="executor_metrics",
    description=(
        "One row per (application, executor, metric, sample time): executor/driver metrics read from a "
        "Prometheus server that scrapes Spark's PrometheusServlet (see collectors/prometheus.py)."
    ),
    keys=("app_id", "attempt_id", "executor_id", "metric", "sample_time"),
    schema_version=2,
    columns=APP_KEY
    + (
        Column("executor_id", "string", "executor id; 'driver' for the driver"),
        Column("metric", "string",
               "normalized metric name, e.g. jvm_heap_used_bytes, gc_time_ms, cpu_time_ns, memory_used_bytes, "
               "active_tasks, total_tasks (collectors/prometheus.py METRIC_MAP lists them all)"),
        Column("sample_time", "timestamp", "sample time (UTC), on the query_range step grid"),
        Column("value", "double", "sample value in the unit the metric name says"),
        Column("source_series", "string", "the Prometheus metric (__name__) the value came from"),
        Column("collected_at", "timestamp", "when the rows were collected (UTC)"),
    ),
    upgrades=(ColumnUpgrade("sample_time", "long", epoch_ms_to_timestamp, old_name="timestamp_ms"),),
)
