from spark_optimizer.tables._cloud_columns import CLOUD_SCOPE, CLUSTER_REF, COLLECTED_AT
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import epoch_ms_to_timestamp, json_object_of_strings

CLUSTER_EVENTS = TableSpec(
    name="cluster_events",
    description="What happened to a cluster over time: Databricks cluster events (resizes, lost nodes, restarts, "
    "terminations) and Dataproc cluster status history.",
    keys=("provider", "scope", "cluster_id", "event_time", "event_type"),
    schema_version=2,
    columns=CLOUD_SCOPE
    + (
        CLUSTER_REF,
        Column("event_time", "timestamp", "when it happened, UTC (Databricks timestamp, Dataproc stateStartTime)"),
        Column("event_type", "string", "Databricks event type (RESIZING, NODES_LOST, ...), Dataproc state"),
        Column("current_num_workers", "int"),
        Column("target_num_workers", "int"),
        Column("cause", "string", "Databricks details.cause (AUTOSCALE, REPLACE_BAD_NODES...)"),
        Column("reason_code", "string", "Databricks details.reason.code (e.g. SPOT_INSTANCE_TERMINATION)"),
        Column("details", "map<string,string>", "the event's detail fields: Databricks EventDetails (cause, reason, "
               "cluster_size, user, instance_id...), Dataproc detail and substate; a value that is not a string as "
               "compact JSON, e.g. details['reason']"),
    )
    + COLLECTED_AT,
    upgrades=(ColumnUpgrade("event_time", "long", epoch_ms_to_timestamp, old_name="timestamp_ms"),
              ColumnUpgrade("details", "string", json_object_of_strings)),
)
