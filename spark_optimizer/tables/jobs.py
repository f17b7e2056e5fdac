from spark_optimizer.tables._columns import APP_KEY, LINEAGE
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import epoch_ms_to_timestamp, integers

JOBS = TableSpec(
    name="jobs",
    description="One row per Spark job.",
    keys=("app_id", "attempt_id", "job_id"),
    schema_version=3,
    columns=APP_KEY
    + (
        Column("job_id", "long"),
        Column("submission_time", "timestamp"),
        Column("completion_time", "timestamp"),
        Column("duration_ms", "long"),
        Column("result", "string", "succeeded|failed|unknown (no JobEnd logged)"),
        Column("failure_reason", "string", "Job Result Exception message when failed"),
        Column("stage_ids", "array<long>", "Stage IDs of SparkListenerJobStart"),
        Column("task_count", "long", "tasks declared by the job's stages"),
        Column("sql_execution_id", "long", "Properties spark.sql.execution.id"),
        Column("job_group", "string", "Properties spark.jobGroup.id"),
        Column("description", "string", "Properties spark.job.description"),
    )
    + LINEAGE,
    upgrades=(ColumnUpgrade("stage_ids", "array<string>", integers),
              ColumnUpgrade("submission_time", "long", epoch_ms_to_timestamp, old_name="submission_time_ms"),
              ColumnUpgrade("completion_time", "long", epoch_ms_to_timestamp, old_name="completion_time_ms")),
)
