from spark_optimizer.tables._cloud_columns import CLOUD_SCOPE, CLUSTER_REF, COLLECTED_AT
from spark_optimizer.tables.schema import Column, TableSpec

CLUSTER_EVENTS = TableSpec(
    name="cluster_events",
    description="What happened to a cluster over time: Databricks cluster events (resizes, lost nodes, restarts, "
    "terminations) and Dataproc cluster status history.",
    keys=("provider", "scope", "cluster_id", "timestamp_ms", "event_type"),
    schema_version=1,
    columns=CLOUD_SCOPE
    + (
        CLUSTER_REF,
        Column("timestamp_ms", "long"),
        Column("event_type", "string", "Databricks event type (RESIZING, NODES_LOST, ...), Dataproc state"),
        Column("current_num_workers", "int"),
        Column("target_num_workers", "int"),
        Column("cause", "string", "Databricks details.cause (AUTOSCALE, REPLACE_BAD_NODES...)"),
        Column("reason_code", "string", "Databricks details.reason.code (e.g. SPOT_INSTANCE_TERMINATION)"),
        Column("details", "string", "the event's details as JSON"),
    )
    + COLLECTED_AT,
)
