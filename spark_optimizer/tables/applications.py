from spark_optimizer.tables._columns import APP_KEY, LINEAGE, TASK_COUNTS, TASK_METRIC_TOTALS
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import epoch_ms_to_timestamp

APPLICATIONS = TableSpec(
    name="applications",
    description="One row per application attempt, with its resources and task-metric totals.",
    keys=("app_id", "attempt_id"),
    schema_version=2,
    columns=APP_KEY
    + (
        Column("app_name", "string"),
        Column("user", "string"),
        Column("spark_version", "string", "from SparkListenerLogStart, DBCEventLoggingListenerMetadata or SPARK_VERSION_*"),
        Column("master", "string", "spark.master"),
        Column("platform", "string", "databricks|emr|dataproc|kubernetes|yarn|standalone|local|unknown"),
        Column("cluster_id", "string", "Databricks cluster id, EMR cluster id or Dataproc cluster name when logged"),
        Column("start_time", "timestamp", "SparkListenerApplicationStart Timestamp (UTC)"),
        Column("end_time", "timestamp", "SparkListenerApplicationEnd Timestamp (UTC); for incomplete logs the last event time seen"),
        Column("duration_ms", "long"),
        Column("status", "string", "completed (ApplicationEnd logged) or incomplete"),
        Column("exit_code", "int", "ApplicationEnd ExitCode (Spark 3.4+)"),
        Column("executor_instances_requested", "int", "spark.executor.instances"),
        Column("executor_cores_requested", "int", "spark.executor.cores"),
        Column("executor_memory_mb_requested", "long", "spark.executor.memory"),
        Column("executor_memory_overhead_mb_requested", "long", "spark.executor.memoryOverhead"),
        Column("driver_memory_mb_requested", "long", "spark.driver.memory"),
        Column("driver_cores_requested", "int", "spark.driver.cores"),
        Column("dynamic_allocation_enabled", "boolean", "spark.dynamicAllocation.enabled"),
        Column("dynamic_allocation_min_executors", "int"),
        Column("dynamic_allocation_max_executors", "int"),
        Column("shuffle_partitions_conf", "int", "spark.sql.shuffle.partitions"),
        Column("executors_added", "int", "executors added during the run, driver excluded (local mode: the driver)"),
        Column("executors_removed", "int"),
        Column("executors_lost", "int", "executors removed for a failure rather than by the driver"),
        Column("max_concurrent_executors", "int"),
        Column("executor_cores", "int", "cores per executor as granted (Total Cores of SparkListenerExecutorAdded)"),
        Column("max_concurrent_cores", "int", "most task slots alive at once"),
        Column("executor_memory_mb", "long", "executor heap as granted: resource profile memory, else spark.executor.memory"),
        Column("job_count", "int"),
        Column("failed_job_count", "int", "jobs whose Job Result is not JobSucceeded"),
        Column("stage_count", "int", "stage attempts submitted or completed"),
        Column("failed_stage_count", "int", "stage attempts with a Failure Reason"),
        Column("stage_retry_count", "int", "stage attempts with Stage Attempt ID > 0"),
        Column("speculative_task_count", "long"),
    )
    + TASK_COUNTS
    + TASK_METRIC_TOTALS
    + (
        Column("sql_execution_count", "int"),
        Column("event_count", "long", "events parsed"),
        Column("unknown_event_count", "long", "vendor or unknown events skipped"),
        Column("bad_line_count", "long", "lines that were not valid JSON events (skipped)"),
    )
    + LINEAGE,
    upgrades=(ColumnUpgrade("start_time", "long", epoch_ms_to_timestamp, old_name="start_time_ms"),
              ColumnUpgrade("end_time", "long", epoch_ms_to_timestamp, old_name="end_time_ms"),),
)
