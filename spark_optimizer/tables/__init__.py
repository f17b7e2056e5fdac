"""Every Delta table of the product, one module each, and the store that reads and writes them."""

from spark_optimizer.tables.app_metrics import APP_METRICS
from spark_optimizer.tables.app_cluster_links import APP_CLUSTER_LINKS
from spark_optimizer.tables.applications import APPLICATIONS
from spark_optimizer.tables.cluster_events import CLUSTER_EVENTS
from spark_optimizer.tables.cluster_nodes import CLUSTER_NODES
from spark_optimizer.tables.cluster_runs import CLUSTER_RUNS
from spark_optimizer.tables.clusters import CLUSTERS
from spark_optimizer.tables.executor_metrics import EXECUTOR_METRICS
from spark_optimizer.tables.executors import EXECUTORS
from spark_optimizer.tables.feedback import FEEDBACK
from spark_optimizer.tables.features import FEATURES
from spark_optimizer.tables.findings import FINDINGS
from spark_optimizer.tables.ingest_log import INGEST_LOG
from spark_optimizer.tables.jobs import JOBS
from spark_optimizer.tables.recommendations import RECOMMENDATIONS
from spark_optimizer.tables.runs import RUNS
from spark_optimizer.tables.scaling_models import SCALING_MODELS
from spark_optimizer.tables.schema import Column, TableSpec
from spark_optimizer.tables.spark_conf import SPARK_CONF
from spark_optimizer.tables.sql_executions import SQL_EXECUTIONS
from spark_optimizer.tables.stage_metrics import STAGE_METRICS
from spark_optimizer.tables.stages import STAGES
from spark_optimizer.tables.tasks import TASKS

EVENT_LOG_TABLES = (APPLICATIONS, JOBS, STAGES, TASKS, EXECUTORS, SQL_EXECUTIONS, SPARK_CONF)
ANALYSIS_TABLES = (APP_METRICS, STAGE_METRICS, FINDINGS)
METRICS_TABLES = (EXECUTOR_METRICS,)
ML_TABLES = (FEATURES, RUNS, SCALING_MODELS)
RECOMMENDATION_TABLES = (RECOMMENDATIONS, FEEDBACK)
CLOUD_TABLES = (CLUSTERS, CLUSTER_NODES, CLUSTER_RUNS, CLUSTER_EVENTS, APP_CLUSTER_LINKS)
ALL_TABLES = EVENT_LOG_TABLES + (INGEST_LOG,) + ANALYSIS_TABLES + METRICS_TABLES + ML_TABLES + RECOMMENDATION_TABLES + CLOUD_TABLES

__all__ = [
    "ALL_TABLES",
    "ANALYSIS_TABLES",
    "APP_METRICS",
    "APPLICATIONS",
    "APP_CLUSTER_LINKS",
    "CLOUD_TABLES",
    "CLUSTERS",
    "CLUSTER_EVENTS",
    "CLUSTER_NODES",
    "CLUSTER_RUNS",
    "Column",
    "EVENT_LOG_TABLES",
    "EXECUTORS",
    "EXECUTOR_METRICS",
    "FEATURES",
    "FEEDBACK",
    "FINDINGS",
    "INGEST_LOG",
    "JOBS",
    "ML_TABLES",
    "RECOMMENDATIONS",
    "RECOMMENDATION_TABLES",
    "RUNS",
    "SCALING_MODELS",
    "SPARK_CONF",
    "SQL_EXECUTIONS",
    "STAGES",
    "STAGE_METRICS",
    "TASKS",
    "TableSpec",
]
