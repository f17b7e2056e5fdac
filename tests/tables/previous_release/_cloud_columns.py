"""Column groups shared by the cloud-metadata tables (clusters, cluster_nodes, cluster_runs, cluster_events)."""

from tests.tables.previous_release.schema import Column

CLOUD_SCOPE = (
    Column("provider", "string", "emr|databricks|dataproc"),
    Column("scope", "string", "where the ids are unique: the AWS region (EMR), the workspace host (Databricks), "
                              "project/region (Dataproc)"),
)

CLUSTER_REF = Column("cluster_id", "string", "EMR cluster id (j-...), Databricks cluster_id, Dataproc clusterUuid")

COLLECTED_AT = (Column("collected_at", "timestamp", "when the row was written (UTC)"),)
