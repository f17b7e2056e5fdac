from spark_optimizer.tables._columns import APP_KEY
from spark_optimizer.tables.schema import Column, TableSpec

APP_CLUSTER_LINKS = TableSpec(
    name="app_cluster_links",
    description="Which cloud cluster and run each ingested Spark application attempt ran on, found from the ids "
    "its Spark and system properties carry.",
    keys=("app_id", "attempt_id"),
    schema_version=1,
    columns=APP_KEY
    + (
        Column("provider", "string", "emr|databricks|dataproc"),
        Column("scope", "string", "scope of the matched cluster or run; null when neither was collected"),
        Column("cluster_id", "string", "cluster id as in `clusters` (Dataproc: clusterUuid when known)"),
        Column("cluster_found", "boolean", "a `clusters` row matched"),
        Column("cluster_evidence", "string", "property and value the cluster was recognised by"),
        Column("run_id", "string", "as in `cluster_runs`"),
        Column("run_found", "boolean", "a `cluster_runs` row matched"),
        Column("run_evidence", "string", "how the run was found: property match or time window on the cluster"),
        Column("parent_run_id", "string", "Databricks job run of the task run"),
        Column("job_id", "string"),
        Column("linked_at", "timestamp"),
    ),
)
