from spark_optimizer.tables._cloud_columns import CLOUD_SCOPE, CLUSTER_REF, COLLECTED_AT
from spark_optimizer.tables.schema import Column, TableSpec

CLUSTER_NODES = TableSpec(
    name="cluster_nodes",
    description="The hardware of each cluster: one row per node group (EMR instance group, EMR instance fleet x "
    "instance type, Databricks driver/workers, Dataproc master/worker/secondary worker group).",
    keys=("provider", "scope", "cluster_id", "node_group_id"),
    schema_version=1,
    columns=CLOUD_SCOPE
    + (
        CLUSTER_REF,
        Column("node_group_id", "string", "instance group id, '<fleet id>/<instance type>', 'driver'/'worker', "
                                          "'master'/'worker'/'secondary_worker'"),
        Column("node_group_name", "string"),
        Column("group_kind", "string", "instance_group|instance_fleet|databricks_node|dataproc_instance_group"),
        Column("role", "string", "master|core|task (EMR), driver|worker (Databricks), master|worker|secondary_worker (Dataproc)"),
        Column("node_type", "string", "instance type, node_type_id or machine type"),
        Column("market", "string", "ON_DEMAND|SPOT|SPOT_WITH_FALLBACK|PREEMPTIBLE|PREEMPTIBLE_WITH_FALLBACK|MIXED"),
        Column("requested_count", "int", "nodes asked for (fleets: null, see the capacity columns)"),
        Column("running_count", "int", "nodes running when collected"),
        Column("on_demand_count", "int", "Databricks: workers kept on demand by first_on_demand"),
        Column("target_on_demand_capacity", "int", "EMR fleet target (capacity units)"),
        Column("target_spot_capacity", "int"),
        Column("provisioned_on_demand_capacity", "int"),
        Column("provisioned_spot_capacity", "int"),
        Column("weighted_capacity", "int", "EMR fleet: capacity units one instance of this type counts for"),
        Column("bid_price", "double", "spot bid in USD (EMR BidPrice, Azure spot_bid_max_price)"),
        Column("bid_price_percent", "double", "spot bid as % of the on-demand price"),
        Column("vcpus", "int", "per node: EMR ListSupportedInstanceTypes, Databricks node type num_cores, Dataproc "
                               "machine-type name"),
        Column("memory_mb", "long", "per node, where the API says (EMR supported types, Databricks node types, Dataproc "
                                    "custom machine types)"),
        Column("gpus", "int", "per node"),
        Column("disk_type", "string", "EBS volume type, Dataproc boot disk type"),
        Column("disk_count", "int", "EBS volumes / local SSDs per node"),
        Column("disk_size_gb", "int", "size of each volume"),
        Column("autoscale_min", "int", "group-level scaling limits where the provider sets them"),
        Column("autoscale_max", "int"),
        Column("state", "string"),
    )
    + COLLECTED_AT,
)
