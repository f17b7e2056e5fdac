"""Recurring-job identity and job type, as Spark column expressions.

A job signature must stay the same for the nightly run of one job on different days, input sizes
and configurations, and differ between jobs. It is the normalized app name plus a hash of what
the job does: the distinct actions its stages ran (`parquet`, `save`, `collectAsMap`, …) and the
categories of its SQL plan operators. Call-site files and lines are left out: PySpark reports them
as `<unknown>` or `NativeMethodAccessorImpl.java` depending on the path, and Spark's own ML code
runs extra actions in some configurations. Size- and config-dependent details (exchanges,
broadcast vs sort-merge join, AQE nodes and AQE's helper stages, task counts) are left out too;
measured on the labelled corpus, every configuration and scale of a workload got one signature.
"""

from __future__ import annotations

from pyspark.sql import Column as SparkColumn
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_optimizer.tables.features import OPERATOR_CATEGORIES

KEY = ["app_id", "attempt_id"]
SIGNATURE_TAG = "spark.optimizer.signature"
JOB_TYPE_TAG = "spark.optimizer.jobType"
RECOMMENDATION_TAG = "spark.optimizer.recommendationId"
JOB_TYPES = ("etl", "sql", "ml", "streaming", "other")

# Categories that describe what a job computes; exchange is left out because it depends on sizes.
HASHED_CATEGORIES = tuple(c for c in OPERATOR_CATEGORIES if c != "exchange")

ML_STAGE_PATTERN = (
    r"treeAggregate|RandomForest|GradientBoostedTrees|DecisionTree|KMeans|LogisticRegression|LinearRegression|"
    r"GeneralizedLinearRegression|NaiveBayes|ALS\.scala|Word2Vec|LDA|BisectingKMeans|GaussianMixture|"
    r"Instrumentation|org\.apache\.spark\.ml|mllib|RDDLossFunction|Summarizer"
)
STREAMING_OPERATOR_PATTERN = r"StateStore|MicroBatch|Streaming|WriteToDataSourceV2|EventTimeWatermark"
STREAMING_STAGE_PATTERN = r"DStream|foreachRDD|foreachBatch|StreamingContext"


def name_key(app_name: SparkColumn) -> SparkColumn:
    """'Nightly ETL 2026-11-24 run 42' -> 'nightly_etl_run'; 'TPC-DS q72' -> 'tpc_ds_q72': lower case,
    without ids, dates, times and standalone numbers (digits inside a word are kept)."""
    text = F.lower(F.coalesce(app_name, F.lit("")))
    for pattern in (
        r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}",   # uuids
        r"(?<![a-z0-9])(?=[0-9a-f]*[0-9])[0-9a-f]{12,}(?![a-z0-9])",          # long hex ids
        r"(?<![0-9])[0-9]{4}[-_/.]?[0-9]{2}[-_/.]?[0-9]{2}(?![0-9])",          # dates
        r"(?<![0-9])[0-9]{1,2}[:_-][0-9]{2}([:_-][0-9]{2})?(?![0-9])",         # times
        r"(?<![a-z0-9])[0-9]+(?![a-z0-9])",                                    # standalone numbers
    ):
        text = F.regexp_replace(text, pattern, " ")
    words = F.regexp_replace(F.regexp_replace(text, r"[^a-z0-9]+", "_"), r"^_+|_+$", "")
    return F.when(words == "", F.lit("unnamed")).otherwise(words)


# Small driver-side probes that libraries add or skip depending on the plan (MLlib's StandardScaler
# runs `first` only without AQE); they say nothing about what the job computes.
PROBE_ACTIONS = ("first", "take", "head", "isEmpty", "takeAsList", "tail")


def call_site(stage_name: SparkColumn) -> SparkColumn:
    """The action a stage ran: 'collect at /jobs/etl.py:13' -> 'collect'; null for AQE's helper
    stages ('$anonfun$withThreadLocalCaptured$2 at CompletableFuture.java') and for probes."""
    action = F.trim(F.regexp_extract(stage_name, r"^(.*?) at ", 1))
    name = F.when(action == "", F.trim(stage_name)).otherwise(action)
    return F.when(name.startswith("$anonfun$") | name.isin(*PROBE_ACTIONS), F.lit(None)).otherwise(name)


def operator_category(node_name: SparkColumn) -> SparkColumn:
    """Physical plan node name -> category (null for wrappers such as WholeStageCodegen or InputAdapter)."""
    n = node_name
    return (
        F.when(n.rlike(r"Python|InPandas|InArrow|ArrowEval"), "python")
        .when(n.rlike(r"^Execute (InsertInto|CreateDataSourceTableAsSelect|CreateHiveTableAsSelect|SaveIntoDataSource|"
                      r"OptimizedCreateHiveTable|InsertIntoHive)|^WriteFiles$|^AppendData|^OverwriteByExpression|"
                      r"^OverwritePartitionsDynamic|^ReplaceData|^WriteDelta|^MergeInto"), "write")
        .when(n.rlike(r"Join|^CartesianProduct"), "join")
        .when(n.rlike(r"Aggregate$"), "aggregate")
        .when(n.rlike(r"^Window"), "window")
        .when(n.isin("Sort", "TakeOrderedAndProject"), "sort")
        .when(n.rlike(r"Exchange$"), "exchange")
        .when(n.rlike(r"^Scan |Scan$|^FileScan|^BatchScan|TableScan|^Range$|^Scan\b|ExistingRDD"), "scan")
        .when(n == "Filter", "filter")
        .when(n == "Project", "project")
        .when(n == "Union", "union")
        .when(n.isin("Expand", "Generate"), "expand")
    )


def structure_parts(stages: DataFrame, sql_executions: DataFrame) -> DataFrame:
    """app key -> call_sites (sorted distinct), operator counts per category, ml/streaming hints."""
    sites = stages.where(F.col("stage_name").isNotNull()).groupBy(*KEY).agg(
        F.array_sort(F.collect_set(call_site(F.col("stage_name")))).alias("call_sites"),  # collect_set drops nulls
        F.max(F.col("stage_name").rlike(ML_STAGE_PATTERN).cast("int")).alias("ml_hint"),
        F.max(F.col("stage_name").rlike(STREAMING_STAGE_PATTERN).cast("int")).alias("streaming_stage_hint"),
    )
    nodes = sql_executions.select(*KEY, F.explode_outer("plan_node_names").alias("node"))
    categorized = nodes.withColumn("category", operator_category(F.col("node")))
    operators = categorized.groupBy(*KEY).agg(
        *[F.sum((F.col("category") == c).cast("int")).alias(f"op_{c}") for c in OPERATOR_CATEGORIES],
        F.max(F.coalesce(F.col("node"), F.lit("")).rlike(STREAMING_OPERATOR_PATTERN).cast("int")).alias("streaming_op_hint"),
    )
    return sites.join(operators, KEY, "full_outer")


def structure_hash(parts: DataFrame) -> SparkColumn:
    """First 16 hex digits of SHA-256 over the call sites and the operator categories present."""
    present = F.array_compact(F.array(*[F.when(F.col(f"op_{c}") > 0, F.lit(c)) for c in HASHED_CATEGORIES]))
    text = F.concat_ws("|", F.concat_ws(";", F.coalesce("call_sites", F.array())), F.concat_ws(";", present))
    return F.substring(F.sha2(text, 256), 1, 16)


def inferred_job_type(parts_and_sizes: DataFrame) -> SparkColumn:
    """streaming > ml > etl (writes output) > sql (queries) > other."""
    c = F.col
    return (
        F.when((F.coalesce(c("streaming_op_hint"), F.lit(0)) + F.coalesce(c("streaming_stage_hint"), F.lit(0))) > 0, "streaming")
        .when(F.coalesce(c("ml_hint"), F.lit(0)) > 0, "ml")
        .when((F.coalesce(c("output_bytes"), F.lit(0)) > 0) | (F.coalesce(c("op_write"), F.lit(0)) > 0), "etl")
        .when(F.coalesce(c("sql_execution_count"), F.lit(0)) > 0, "sql")
        .otherwise("other")
    )
