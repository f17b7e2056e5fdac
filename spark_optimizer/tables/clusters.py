from spark_optimizer.tables._cloud_columns import CLOUD_SCOPE, CLUSTER_REF, COLLECTED_AT
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import epoch_ms_to_timestamp, json_object_of_strings

CLUSTERS = TableSpec(
    name="clusters",
    description="One row per cloud cluster (EMR cluster, Databricks cluster, Dataproc cluster) as its provider's API "
    "describes it: runtime, timeline, size and autoscaling, where its logs go, tags.",
    keys=("provider", "scope", "cluster_id"),
    schema_version=3,
    columns=CLOUD_SCOPE
    + (
        CLUSTER_REF,
        Column("cluster_name", "string"),
        Column("cluster_source", "string", "Databricks cluster_source (UI, JOB, API...); 'job_run_spec' when the row was "
                                           "built from a job run's new_cluster spec"),
        Column("state", "string", "the provider's state name, e.g. WAITING/TERMINATED (EMR), RUNNING (Databricks, Dataproc)"),
        Column("state_message", "string", "why it is in that state (state-change reason, termination reason, status detail)"),
        Column("runtime_version", "string", "EMR ReleaseLabel, Databricks spark_version, Dataproc imageVersion"),
        Column("applications", "array<string>", "EMR applications 'Name Version', Dataproc optional components, "
                                                    "Databricks runtime_engine (STANDARD/PHOTON)"),
        Column("created_time", "timestamp", "creation, UTC (EMR CreationDateTime, Databricks start_time, Dataproc first "
                                            "status)"),
        Column("ready_time", "timestamp", "EMR ReadyDateTime, Databricks last_restarted_time, Dataproc RUNNING since"),
        Column("ended_time", "timestamp", "EMR EndDateTime, Databricks terminated_time, Dataproc STOPPED/ERROR since"),
        Column("changed_time", "timestamp", "latest state change the API reported; a cluster whose value did not move is "
                                            "not collected again"),
        Column("master_node_type", "string", "EMR master, Databricks driver, Dataproc master instance/machine type"),
        Column("worker_node_type", "string", "EMR core, Databricks worker, Dataproc primary worker type"),
        Column("num_workers", "int", "requested workers (EMR core+task instances, Databricks num_workers, Dataproc primary "
                                     "+ secondary workers)"),
        Column("autoscale_min_workers", "int", "Databricks autoscale.min_workers, EMR managed-scaling minimum units or "
                                               "instance-group scaling minimum, Dataproc policy minimum instances"),
        Column("autoscale_max_workers", "int"),
        Column("autoscale_policy", "string", "EMR managed scaling UnitType or 'instance_group', Dataproc policyUri"),
        Column("region", "string"),
        Column("zone", "string", "availability zone"),
        Column("log_uri", "string", "EMR LogUri, Databricks cluster_log_conf destination, Dataproc config bucket"),
        Column("event_log_dir", "string", "where the cluster's Spark event logs are, to point `collect --event-log-dir` at: "
                                          "spark.eventLog.dir when configured, Databricks <log destination>/<cluster_id>/"
                                          "eventlog, Dataproc gs://<temp bucket>/<clusterUuid>/spark-job-history"),
        Column("spark_conf", "map<string,string>", "cluster-level Spark properties (EMR spark-defaults, Databricks "
                                       "spark_conf, Dataproc 'spark:' software properties)"),
        Column("tags", "map<string,string>", "tags/labels"),
        Column("creator", "string"),
    )
    + COLLECTED_AT,
    upgrades=(ColumnUpgrade("spark_conf", "string", json_object_of_strings),
              ColumnUpgrade("tags", "string", json_object_of_strings))
    + tuple(ColumnUpgrade(instant, "long", epoch_ms_to_timestamp, old_name=f"{instant}_ms")
            for instant in ("created_time", "ready_time", "ended_time", "changed_time")),
)
