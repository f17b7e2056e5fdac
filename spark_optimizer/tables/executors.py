from spark_optimizer.tables._columns import APP_KEY, LINEAGE
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import epoch_ms_to_timestamp

# ExecutorMetrics names (SparkListenerStageExecutorMetrics, Task Executor Metrics) -> column.
PEAK_METRIC_COLUMNS = {
    "JVMHeapMemory": "peak_jvm_heap_bytes",
    "JVMOffHeapMemory": "peak_jvm_offheap_bytes",
    "OnHeapExecutionMemory": "peak_onheap_execution_bytes",
    "OffHeapExecutionMemory": "peak_offheap_execution_bytes",
    "OnHeapStorageMemory": "peak_onheap_storage_bytes",
    "OffHeapStorageMemory": "peak_offheap_storage_bytes",
    "DirectPoolMemory": "peak_direct_pool_bytes",
    "MappedPoolMemory": "peak_mapped_pool_bytes",
    "ProcessTreeJVMRSSMemory": "peak_process_tree_jvm_rss_bytes",
    "ProcessTreePythonRSSMemory": "peak_process_tree_python_rss_bytes",
    "ProcessTreeOtherRSSMemory": "peak_process_tree_other_rss_bytes",
    "TotalGCTime": "total_gc_time_ms",
}

EXECUTORS = TableSpec(
    name="executors",
    description="One row per executor (and the driver), with lifetime, size, peak memory and task totals.",
    keys=("app_id", "attempt_id", "executor_id"),
    schema_version=2,
    columns=APP_KEY
    + (
        Column("executor_id", "string", "'driver' for the driver (Spark 1.x '<driver>' is normalised)"),
        Column("is_driver", "boolean"),
        Column("host", "string"),
        Column("total_cores", "int", "Executor Info 'Total Cores'"),
        Column("resource_profile_id", "int"),
        Column("add_time", "timestamp"),
        Column("remove_time", "timestamp"),
        Column("remove_reason", "string", "SparkListenerExecutorRemoved 'Removed Reason'"),
        Column("lost", "boolean", "removed for a failure (not killed by the driver)"),
        Column("max_memory_bytes", "long", "block manager 'Maximum Memory' (storage + execution pool)"),
        Column("task_count", "long"),
        Column("failed_task_count", "long"),
        Column("task_time_ms", "long"),
        Column("executor_run_time_ms", "long"),
        Column("jvm_gc_time_ms", "long"),
        Column("input_bytes", "long"),
        Column("shuffle_read_bytes", "long"),
        Column("shuffle_write_bytes", "long"),
        Column("disk_bytes_spilled", "long"),
    )
    + tuple(Column(name, "long", f"peak of ExecutorMetrics {metric}") for metric, name in PEAK_METRIC_COLUMNS.items())
    + LINEAGE,
    upgrades=(ColumnUpgrade("add_time", "long", epoch_ms_to_timestamp, old_name="add_time_ms"),
              ColumnUpgrade("remove_time", "long", epoch_ms_to_timestamp, old_name="remove_time_ms"),),
)
