from spark_optimizer.tables._cloud_columns import CLOUD_SCOPE, COLLECTED_AT
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import epoch_ms_to_timestamp, json_object_of_strings

CLUSTER_RUNS = TableSpec(
    name="cluster_runs",
    description="Work submitted to the clusters: EMR steps, Databricks job runs and their task runs, Dataproc jobs "
    "and Dataproc Serverless batches.",
    keys=("provider", "scope", "run_id"),
    schema_version=3,
    columns=CLOUD_SCOPE
    + (
        Column("run_id", "string", "EMR step id, Databricks run_id (job or task run), Dataproc jobUuid, batch uuid"),
        Column("run_type", "string", "emr_step|databricks_job_run|databricks_task_run|dataproc_job|dataproc_batch"),
        Column("parent_run_id", "string", "the job run of a Databricks task run"),
        Column("job_id", "string", "Databricks job_id, Dataproc reference.jobId, batch id"),
        Column("cluster_id", "string", "cluster it ran on (EMR cluster id, Databricks cluster_instance.cluster_id, "
                                       "Dataproc placement.clusterUuid); null for serverless batches"),
        Column("cluster_name", "string"),
        Column("run_name", "string"),
        Column("task_key", "string", "Databricks task_key"),
        Column("job_kind", "string", "EMR step jar, Databricks task type (spark_jar_task...), Dataproc job/batch type"),
        Column("main", "string", "main class, jar, Python file or notebook"),
        Column("arguments", "array<string>"),
        Column("properties", "map<string,string>", "EMR step properties, Databricks job/task parameters, Dataproc properties "
               "(a value that is not a string as JSON)"),
        Column("state", "string", "the provider's state, e.g. COMPLETED (EMR), TERMINATED (Databricks), DONE (Dataproc)"),
        Column("result_state", "string", "Databricks result_state (SUCCESS, FAILED...); EMR failure reason"),
        Column("state_message", "string"),
        Column("created_time", "timestamp", "submission, UTC"),
        Column("start_time", "timestamp"),
        Column("end_time", "timestamp"),
        Column("duration_ms", "long", "end - start, or the provider's run duration"),
        Column("queue_duration_ms", "long", "Databricks"),
        Column("setup_duration_ms", "long", "Databricks: cluster setup"),
        Column("execution_duration_ms", "long", "Databricks: running the task itself"),
        Column("cleanup_duration_ms", "long", "Databricks"),
        Column("attempt_number", "int", "Databricks retry attempt"),
        Column("spark_context_id", "string", "Databricks cluster_instance.spark_context_id (= spark.databricks.sparkContextId)"),
        Column("yarn_application_ids", "array<string>", "Dataproc: YARN applications the job ran (= Spark app ids)"),
        Column("milli_dcu_seconds", "long", "Dataproc Serverless approximate usage"),
        Column("shuffle_storage_gb_seconds", "long", "Dataproc Serverless approximate usage"),
        Column("changed_time", "timestamp", "latest state change; unchanged finished runs are not written again"),
    )
    + COLLECTED_AT,
    upgrades=(ColumnUpgrade("properties", "string", json_object_of_strings),)
    + tuple(ColumnUpgrade(instant, "long", epoch_ms_to_timestamp, old_name=f"{instant}_ms")
            for instant in ("created_time", "start_time", "end_time", "changed_time")),
)
