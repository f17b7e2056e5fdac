from spark_optimizer.tables._columns import APP_KEY, LINEAGE
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import epoch_ms_to_timestamp

TASKS = TableSpec(
    name="tasks",
    description="One row per task attempt (for scheduling replay, skew and critical-path analysis).",
    keys=("app_id", "attempt_id", "task_id"),
    schema_version=2,
    columns=APP_KEY
    + (
        Column("task_id", "long"),
        Column("stage_id", "long"),
        Column("stage_attempt_id", "long"),
        Column("partition_index", "long", "Task Info Index"),
        Column("task_attempt", "long", "Task Info Attempt"),
        Column("executor_id", "string"),
        Column("host", "string"),
        Column("launch_time", "timestamp"),
        Column("finish_time", "timestamp"),
        Column("duration_ms", "long"),
        Column("status", "string", "success|failed|killed"),
        Column("failure_reason", "string", "Task End Reason: Reason plus class/description for failures"),
        Column("speculative", "boolean"),
        Column("locality", "string"),
        Column("executor_run_time_ms", "long"),
        Column("executor_cpu_time_ms", "double"),
        Column("jvm_gc_time_ms", "long"),
        Column("executor_deserialize_time_ms", "long"),
        Column("result_serialization_time_ms", "long"),
        Column("getting_result_time_ms", "long"),
        Column("input_bytes", "long"),
        Column("output_bytes", "long"),
        Column("shuffle_read_bytes", "long"),
        Column("shuffle_fetch_wait_time_ms", "long"),
        Column("shuffle_write_bytes", "long"),
        Column("memory_bytes_spilled", "long"),
        Column("disk_bytes_spilled", "long"),
        Column("peak_execution_memory_bytes", "long"),
    )
    + LINEAGE,
    upgrades=(ColumnUpgrade("launch_time", "long", epoch_ms_to_timestamp, old_name="launch_time_ms"),
              ColumnUpgrade("finish_time", "long", epoch_ms_to_timestamp, old_name="finish_time_ms"),),
)
