from spark_optimizer.tables._columns import APP_KEY, LINEAGE
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import epoch_ms_to_timestamp

SQL_EXECUTIONS = TableSpec(
    name="sql_executions",
    description="One row per SQL execution (query), with its plan operators.",
    keys=("app_id", "attempt_id", "execution_id"),
    schema_version=2,
    columns=APP_KEY
    + (
        Column("execution_id", "long"),
        Column("root_execution_id", "long", "parent execution for nested sub-executions (Spark 3.4+)"),
        Column("description", "string"),
        Column("start_time", "timestamp"),
        Column("end_time", "timestamp"),
        Column("duration_ms", "long"),
        Column("status", "string", "completed|failed|incomplete (no SQLExecutionEnd logged)"),
        Column("error_message", "string"),
        Column("plan_node_names", "array<string>", "operators of the final (AQE-updated) plan, pre-order"),
        Column("job_ids", "array<string>"),
    )
    + LINEAGE,
    upgrades=(ColumnUpgrade("start_time", "long", epoch_ms_to_timestamp, old_name="start_time_ms"),
              ColumnUpgrade("end_time", "long", epoch_ms_to_timestamp, old_name="end_time_ms"),),
)
