from spark_optimizer.tables._columns import APP_KEY, LINEAGE
from spark_optimizer.tables.schema import Column, TableSpec

SQL_EXECUTIONS = TableSpec(
    name="sql_executions",
    description="One row per SQL execution (query), with its plan operators.",
    keys=("app_id", "attempt_id", "execution_id"),
    schema_version=1,
    columns=APP_KEY
    + (
        Column("execution_id", "long"),
        Column("root_execution_id", "long", "parent execution for nested sub-executions (Spark 3.4+)"),
        Column("description", "string"),
        Column("start_time_ms", "long"),
        Column("end_time_ms", "long"),
        Column("duration_ms", "long"),
        Column("status", "string", "completed|failed|incomplete (no SQLExecutionEnd logged)"),
        Column("error_message", "string"),
        Column("plan_node_names", "array<string>", "operators of the final (AQE-updated) plan, pre-order"),
        Column("job_ids", "array<string>"),
    )
    + LINEAGE,
)
