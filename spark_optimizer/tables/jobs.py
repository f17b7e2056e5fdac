from spark_optimizer.tables._columns import APP_KEY, LINEAGE
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import integers

JOBS = TableSpec(
    name="jobs",
    description="One row per Spark job.",
    keys=("app_id", "attempt_id", "job_id"),
    schema_version=2,
    columns=APP_KEY
    + (
        Column("job_id", "long"),
        Column("submission_time_ms", "long"),
        Column("completion_time_ms", "long"),
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
    upgrades=(ColumnUpgrade("stage_ids", "array<string>", integers),),
)
