from spark_optimizer.tables.schema import Column, TableSpec

FEEDBACK = TableSpec(
    name="feedback",
    description="Outcomes of runs that applied a recommendation: from `spark-optimizer feedback` or from an ingested app whose conf "
    "carries spark.optimizer.recommendationId; predicted vs actual runtime and cost.",
    keys=("feedback_id",),
    schema_version=1,
    columns=(
        Column("feedback_id", "string", "cli:<recommendation id>:<recorded_at ms> or app:<app_id>/<attempt_id>"),
        Column("recommendation_id", "string"),
        Column("source", "string", "cli | eventlog"),
        Column("app_id", "string", "the run's application, when known"),
        Column("job_signature", "string"),
        Column("job_type", "string"),
        Column("executors", "int", "configuration that ran (from the recommendation id or the app)"),
        Column("executor_cores", "int"),
        Column("executor_memory_mb", "long"),
        Column("shuffle_partitions", "int"),
        Column("input_bytes", "long"),
        Column("predicted_runtime_ms", "long"),
        Column("actual_runtime_ms", "long"),
        Column("runtime_error", "double", "actual / predicted - 1"),
        Column("predicted_cost", "double"),
        Column("actual_cost", "double"),
        Column("currency", "string"),
        Column("run_id", "string", "row written to `runs` (source=feedback) so the next training uses it; null when none"),
        Column("note", "string"),
        Column("recorded_at", "timestamp"),
    ),
)
