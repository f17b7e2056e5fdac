"""Column groups shared by several tables (same names, units and meaning everywhere)."""

from tests.tables.previous_release.schema import Column

APP_KEY = (
    Column("app_id", "string", "Spark application id (App ID of SparkListenerApplicationStart)"),
    Column("attempt_id", "string", "App Attempt ID; empty string when the application has no attempts"),
)

STAGE_KEY = (
    Column("stage_id", "long"),
    Column("stage_attempt_id", "long"),
)

TASK_METRIC_TOTALS = (
    Column("executor_run_time_ms", "long", "sum of Task Metrics 'Executor Run Time'"),
    Column("executor_cpu_time_ms", "double", "sum of 'Executor CPU Time' (logged in ns) in ms"),
    Column("jvm_gc_time_ms", "long", "sum of 'JVM GC Time'"),
    Column("executor_deserialize_time_ms", "long", "sum of 'Executor Deserialize Time'"),
    Column("result_serialization_time_ms", "long", "sum of 'Result Serialization Time'"),
    Column("input_bytes", "long", "Input Metrics 'Bytes Read'"),
    Column("input_records", "long", "Input Metrics 'Records Read'"),
    Column("output_bytes", "long", "Output Metrics 'Bytes Written'"),
    Column("output_records", "long", "Output Metrics 'Records Written'"),
    Column("shuffle_read_bytes", "long", "Shuffle Read Metrics 'Remote Bytes Read' + 'Local Bytes Read'"),
    Column("shuffle_remote_bytes_read", "long", "Shuffle Read Metrics 'Remote Bytes Read'"),
    Column("shuffle_read_records", "long", "Shuffle Read Metrics 'Total Records Read'"),
    Column("shuffle_fetch_wait_time_ms", "long", "Shuffle Read Metrics 'Fetch Wait Time'"),
    Column("shuffle_write_bytes", "long", "Shuffle Write Metrics 'Shuffle Bytes Written'"),
    Column("shuffle_write_records", "long", "Shuffle Write Metrics 'Shuffle Records Written'"),
    Column("shuffle_write_time_ms", "double", "Shuffle Write Metrics 'Shuffle Write Time' (logged in ns) in ms"),
    Column("memory_bytes_spilled", "long", "'Memory Bytes Spilled' (deserialized size of spilled data)"),
    Column("disk_bytes_spilled", "long", "'Disk Bytes Spilled' (serialized size on disk)"),
    Column("peak_execution_memory_max_bytes", "long", "max over tasks of 'Peak Execution Memory'"),
)

TASK_COUNTS = (
    Column("task_count", "long", "task attempts that ended (SparkListenerTaskEnd)"),
    Column("failed_task_count", "long", "task attempts that ended failed (Task Info 'Failed' or a failure Task End Reason)"),
    Column("killed_task_count", "long", "task attempts killed (Task Info 'Killed' or Reason TaskKilled)"),
    Column("task_time_ms", "long", "sum of task attempt wall time: Finish Time - Launch Time"),
)

LINEAGE = (
    Column("source_path", "string", "event-log file or folder these rows came from"),
    Column("ingested_at", "timestamp", "when the rows were written (UTC)"),
)


QUANTILES = ("min", "p25", "median", "p75", "p95", "max")


def quantile_columns(metric: str, doc: str) -> tuple[Column, ...]:
    """min/p25/median/p75/p95/max of one task metric over a stage's successful tasks."""
    return tuple(Column(f"{metric}_{q}", "double", f"{q} of {doc} over successful tasks") for q in QUANTILES)
