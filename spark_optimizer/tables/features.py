from spark_optimizer.tables._columns import APP_KEY
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import epoch_ms_to_timestamp

# Plan-operator categories counted per application (spark_optimizer/ml/signature.py maps names).
OPERATOR_CATEGORIES = ("scan", "filter", "project", "join", "aggregate", "sort", "window", "exchange", "python", "write", "union", "expand")

FEATURES = TableSpec(
    name="features",
    description="One feature vector per application attempt (size, structure, operator mix, resource shares, configuration), "
    "with its recurring-job signature and inferred job type.",
    keys=("app_id", "attempt_id"),
    schema_version=2,
    columns=APP_KEY
    + (
        Column("app_name", "string"),
        Column("name_key", "string", "app name lower-cased with dates, numbers, ids and run suffixes removed"),
        Column("structure_hash", "string", "hash of the distinct actions of its stages (call-site files and lines dropped) and plan-operator categories"),
        Column("job_signature", "string", "recurring job identity: name_key + '#' + structure_hash, or the spark.optimizer.signature tag"),
        Column("job_type", "string", "etl|sql|ml|streaming|other"),
        Column("job_type_source", "string", "inferred, or tag (spark.optimizer.jobType)"),
        Column("status", "string", "completed or incomplete"),
        Column("start_time", "timestamp", "SparkListenerApplicationStart Timestamp (UTC)"),
        Column("wall_ms", "long", "application duration (the runtime label)"),
        Column("input_bytes", "long"),
        Column("output_bytes", "long"),
        Column("shuffle_read_bytes", "long"),
        Column("shuffle_write_bytes", "long"),
        Column("spill_bytes", "long", "disk bytes spilled"),
        Column("shuffle_input_ratio", "double", "shuffle write bytes / input bytes (null without input)"),
        Column("output_input_ratio", "double", "output bytes / input bytes (null without input)"),
        Column("job_count", "int"),
        Column("stage_count", "int"),
        Column("task_count", "long"),
        Column("max_stage_tasks", "long", "largest Number of Tasks of a stage"),
        Column("sql_execution_count", "int"),
    )
    + tuple(Column(f"op_{c}", "int", f"plan operators of category {c} over all SQL executions") for c in OPERATOR_CATEGORIES)
    + (
        Column("cpu_share_of_run", "double", "CPU time / executor run time"),
        Column("gc_share", "double"),
        Column("shuffle_fetch_wait_share", "double"),
        Column("spilled_stage_share", "double"),
        Column("core_utilization", "double"),
        Column("executors", "int", "executors that ran the app: max concurrent executors (local mode: 1)"),
        Column("executor_cores", "int"),
        Column("total_cores", "int", "max concurrent task slots"),
        Column("executor_memory_mb", "long"),
        Column("memory_overhead_mb", "long", "spark.executor.memoryOverhead or the default max(384 MB, 10%)"),
        Column("driver_memory_mb", "long"),
        Column("shuffle_partitions", "int", "spark.sql.shuffle.partitions (200 when unset)"),
        Column("aqe_enabled", "boolean", "spark.sql.adaptive.enabled (default true from Spark 3.2)"),
        Column("dynamic_allocation", "boolean"),
        Column("data_per_memory", "double", "(input + shuffle write bytes) / total executor memory: the memory-pressure feature"),
        Column("peak_execution_memory_bytes", "long", "max over tasks of Peak Execution Memory"),
        Column("peak_jvm_heap_bytes", "long", "max over executors of JVMHeapMemory, where logged"),
        Column("recommendation_id", "string", "spark.optimizer.recommendationId tag, when the run applied a recommendation"),
        Column("computed_at", "timestamp"),
    ),
    upgrades=(ColumnUpgrade("start_time", "long", epoch_ms_to_timestamp, old_name="start_time_ms"),),
)
