from spark_optimizer.tables._columns import APP_KEY, STAGE_KEY
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import json_list_of_strings

STAGE_METRICS = TableSpec(
    name="stage_metrics",
    description="One row per stage attempt: its share of the work, resource shares, skew, critical-path membership and bottleneck.",
    keys=("app_id", "attempt_id", "stage_id", "stage_attempt_id"),
    schema_version=2,
    columns=APP_KEY
    + STAGE_KEY
    + (
        Column("job_id", "long"),
        Column("duration_ms", "long"),
        Column("task_count", "long"),
        Column("task_time_share", "double", "this stage's task time / the app's task time"),
        Column("gc_share", "double", "JVM GC time / executor run time"),
        Column("cpu_share_of_run", "double", "CPU time / executor run time"),
        Column("shuffle_fetch_wait_share", "double", "fetch wait / executor run time"),
        Column("disk_bytes_spilled", "long"),
        Column("task_duration_skew_ratio", "double"),
        Column("shuffle_read_skew_ratio", "double"),
        Column("tasks_per_core", "double", "task_count / the app's max concurrent cores"),
        Column("on_critical_path", "boolean", "on the longest chain of dependent stages of its job (Sparklens)"),
        Column("critical_path_ms", "long", "length of its job's critical path (sum of stage durations on it)"),
        Column("bottleneck", "string", "cpu|memory_gc|io|shuffle|skew|scheduling_overhead|under_parallelized|balanced|unknown"),
        Column("wall_time_share", "double", "stage duration / application duration"),
        Column("unknown_metrics", "array<string>", " 'metric: reason' for every share left null although its inputs were logged; null when none"),
        Column("analyzed_at", "timestamp"),
    ),
    upgrades=(ColumnUpgrade("unknown_metrics", "string", json_list_of_strings),),
)
