from spark_optimizer.tables.scaling_models import COEFFICIENTS, CURVE_UPGRADES, EXTRAPOLATION, PROFILE
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import (
    json_object, json_object_of_longs, json_object_of_strings, json_observed_points, rule_property_items,
)

INSTANCE_PLAN = ("struct<instance_type:string,workers:int,driver_type:string,cost:double,cost_low:double,cost_high:double,"
                 "currency:string,spot_nodes:int,plan:string,error:string>")
INTERVAL = "struct<low:double,high:double,coverage:double,model:string>"
INTERVAL_CALIBRATION = f"struct<level:double,seen:{INTERVAL},new_size:{INTERVAL},beyond:{INTERVAL}>"
DATABRICKS_CLUSTER = ("struct<node_type_id:string,driver_node_type_id:string,num_workers:int,"
                      "autoscale:struct<min_workers:int,max_workers:int>,spark_conf:map<string,string>,"
                      "aws_attributes:struct<availability:string,first_on_demand:int>>")

RECOMMENDATIONS = TableSpec(
    name="recommendations",
    description="One row per job signature and per (job type, input-size band) and build: the recommended Spark configuration, "
    "ready spark-submit and Databricks fragments, instances per cloud, predicted runtime and cost with intervals, confidence, "
    "rationale, and the runtime curve(s) a JVM-free lookup evaluates for any input size (docs/recommendations.md).",
    keys=("recommendation_id",),
    schema_version=4,
    columns=(
        Column("recommendation_id", "string", "rec-<12 hex>; a lookup at another size or objective appends ~e<E>c<C>m<MB>p<P>i<input MB>"),
        Column("level", "string", "signature | job_type | skipped (no recommendation could be built: the reason is in rationale)"),
        Column("job_signature", "string", "null on job_type rows"),
        Column("job_type", "string"),
        Column("app_name", "string", "latest app name of the signature"),
        Column("size_band", "string", "input-size band of job_type rows (<1GB, 1-10GB, 10-100GB, 100GB-1TB, >1TB); the band of the reference size on signature rows"),
        Column("input_bytes", "long", "input size the row's configuration is for: median observed input (signature) or the band's representative size"),
        Column("objective", "string", "balanced | cheapest-within-deadline | fastest-within-budget"),
        Column("cloud", "string", "cloud whose prices chose the configuration"),
        Column("executors", "int", "spark.executor.instances (initial executors under dynamic allocation)"),
        Column("dynamic_allocation", "boolean", "true when the signature's runs used dynamic allocation"),
        Column("min_executors", "int", "spark.dynamicAllocation.minExecutors (null without dynamic allocation)"),
        Column("max_executors", "int", "spark.dynamicAllocation.maxExecutors (null without dynamic allocation)"),
        Column("executor_cores", "int"),
        Column("executor_memory_mb", "long", "at least the resource model's safe memory for the size"),
        Column("memory_overhead_mb", "long", "spark.executor.memoryOverhead: max(384 MB, 10%) unless a rule raised it"),
        Column("driver_memory_mb", "long"),
        Column("shuffle_partitions", "int"),
        Column("aqe_enabled", "boolean", "false when the job's Spark version has no adaptive query execution (before 3.0)"),
        Column("skew_join_enabled", "boolean"),
        Column("spark_version", "string", "Spark version the configuration is written and checked for: the signature's latest "
               "run's (properties it lacks are dropped, renamed ones use its name), else 3.0"),
        Column("spark_conf", "map<string,string>", "{property: value}: the whole recommended configuration, rule properties included"),
        Column("rule_properties", "array<struct<property:string,value:string,rule_id:string>>", "the properties the analysis rules "
               "added (findings.recommended_conf), each with the rule that set it"),
        Column("spark_submit", "string", "ready-to-paste spark-submit --conf ... string (carries spark.optimizer.recommendationId)"),
        Column("databricks_cluster", DATABRICKS_CLUSTER, "fragment of a Databricks cluster spec (node types, num_workers or autoscale, "
               "spark_conf, spot attributes); its JSON leaves out the null fields"),
        Column("instance_type", "string", "worker instance type on `cloud`"),
        Column("instance_count", "int", "worker nodes on `cloud` (the driver/master node comes on top)"),
        Column("instance_plans", f"map<string,{INSTANCE_PLAN}>", "per cloud: worker type and count, driver type, predicted cost "
               "(cost_low/cost_high at the runtime interval's ends), or in `error` why the shape does not fit"),
        Column("spot_share", "double", "share of workers on spot/preemptible VMs priced in"),
        Column("predicted_runtime_ms", "long"),
        Column("runtime_low_ms", "long", "runtime x the calibrated interval's low ratio (interval_calibration); "
               "runtime / (1 + runtime_error) when not calibrated"),
        Column("runtime_high_ms", "long", "runtime x the calibrated interval's high ratio; runtime x (1 + runtime_error) when not calibrated"),
        Column("interval_level", "double", "share of held-out runs the runtime interval is calibrated to hold (0.8); null: "
               "an assumed interval, not calibrated"),
        Column("interval_calibration", INTERVAL_CALIBRATION, "{level, seen: {low, high, coverage, model}, new_size, beyond} from "
               "scaling_models' interval columns (a job type: the widest of its members'); null for single-run priors"),
        Column("predicted_cost", "double", "cost of one run on `cloud` (cost model, docs/cost-model.md)"),
        Column("cost_low", "double", "cost at runtime_low_ms"),
        Column("cost_high", "double", "cost at runtime_high_ms"),
        Column("currency", "string"),
        Column("runtime_error", "double", "relative error behind the interval (validation MAPE; see error_source)"),
        Column("error_source", "string", "which validation error runtime_error is"),
        Column("confidence", "double", "0..1 score ordering recommendations by trust: accuracy x evidence x proximity "
               "(docs/recommendations.md); the label does not come from it"),
        Column("confidence_label", "string", "high | medium | low: the lowest of the interval's width, its measured held-out "
               "coverage, the distance beyond the seen sizes and cores, and the curve's source (docs/recommendations.md)"),
        Column("confidence_reason", "string", "the facts behind confidence_label, limiting ones first"),
        Column("neighbour_distance", "double", "distance, in doublings of input size and total cores, from the nearest observed run"),
        Column("methods", "array<string>", "model | similarity | rules"),
        Column("rationale", "string"),
        Column("curve_source", "string", "own (the signature's fitted curve) | job_type (median of its type's curves, anchored to its runs) | single_run (Amdahl prior from its one run)"),
        Column("member_signatures", "array<string>", "signatures whose curves are evaluated (own: just this one)"),
        Column("curve_scale", "double", "factor applied to the median of the member curves (anchor to the signature's own runs)"),
        Column("coefficients", COEFFICIENTS, "{term: coefficient} of this signature's curve (copied from scaling_models, or the prior)"),
        Column("memory_threshold", "double"),
        Column("extrapolation", EXTRAPOLATION, "curve used beyond the input sizes the signature ran at (scaling_models.extrapolation)"),
        Column("profile", PROFILE, "profile the curve's terms need (scaling_models.profile)"),
        Column("peak_memory_per_core_bytes", "double", "resource fit (scaling_models), null when no peak memory was logged"),
        Column("memory_bytes_per_input_byte", "double"),
        Column("spill_free_data_per_memory", "double", "scaling_models' value when some run of the signature spilled; null when "
               "none did (the highest pressure its runs reached is then no bound)"),
        Column("observed_points", "array<struct<input_bytes:long,total_cores:long,runtime_ms:long>>", "the runs behind the curve(s)"),
        Column("run_count", "int"),
        Column("config_count", "int"),
        Column("model_version", "string", "MLflow model version of the scaling_models rows used"),
        Column("table_versions", "map<string,long>", "Delta version of each table read"),
        Column("pricing_as_of", "string", "dates of the pricing catalogue files"),
        Column("built_at", "timestamp"),
    ),
    upgrades=(
        ColumnUpgrade("spark_conf", "string", json_object_of_strings),
        ColumnUpgrade("instance_plans", "string", json_object),
        ColumnUpgrade("table_versions", "string", json_object_of_longs),
        *CURVE_UPGRADES,
        ColumnUpgrade("observed_points", "string", json_observed_points),
        ColumnUpgrade("interval_calibration", "string", json_object),
        ColumnUpgrade("databricks_cluster", "string", json_object),
        ColumnUpgrade("rule_properties", "array<string>", rule_property_items),
    ),
)
