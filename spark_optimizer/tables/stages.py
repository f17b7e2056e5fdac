from spark_optimizer.tables._columns import APP_KEY, STAGE_KEY, LINEAGE, TASK_COUNTS, TASK_METRIC_TOTALS, quantile_columns
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import epoch_ms_to_timestamp, integers

STAGES = TableSpec(
    name="stages",
    description="One row per stage attempt, with task-metric totals, quantiles and skew ratios.",
    keys=("app_id", "attempt_id", "stage_id", "stage_attempt_id"),
    schema_version=3,
    columns=APP_KEY
    + STAGE_KEY
    + (
        Column("stage_name", "string"),
        Column("num_tasks", "long", "Number of Tasks declared by Stage Info"),
        Column("parent_stage_ids", "array<long>", "Stage Info Parent IDs"),
        Column("job_id", "long", "the job that submitted this stage attempt"),
        Column("submission_time", "timestamp"),
        Column("completion_time", "timestamp"),
        Column("duration_ms", "long"),
        Column("status", "string", "succeeded|failed|incomplete"),
        Column("failure_reason", "string"),
        Column("successful_task_count", "long"),
    )
    + TASK_COUNTS
    + TASK_METRIC_TOTALS
    + quantile_columns("task_duration_ms", "task wall time (Finish - Launch)")
    + quantile_columns("input_bytes", "input bytes read")
    + quantile_columns("shuffle_read_bytes", "shuffle bytes read")
    + quantile_columns("disk_bytes_spilled", "disk bytes spilled")
    + quantile_columns("jvm_gc_time_ms", "JVM GC time")
    + (
        Column("task_duration_skew_ratio", "double", "max / median task duration"),
        Column("task_duration_p95_ratio", "double", "p95 / median task duration"),
        Column("shuffle_read_skew_ratio", "double", "max / median shuffle bytes read"),
        Column("input_skew_ratio", "double", "max / median input bytes"),
    )
    + LINEAGE,
    upgrades=(ColumnUpgrade("parent_stage_ids", "array<string>", integers),
              ColumnUpgrade("submission_time", "long", epoch_ms_to_timestamp, old_name="submission_time_ms"),
              ColumnUpgrade("completion_time", "long", epoch_ms_to_timestamp, old_name="completion_time_ms")),
)
