# Databricks notebook source
# MAGIC %md
# MAGIC # Ingest Spark event logs
# MAGIC Reads the event logs under `event_log_dir` (e.g. a cluster-log delivery folder on DBFS or S3)
# MAGIC into the Spark Optimizer Delta tables under `warehouse`. Install the package on the cluster first
# MAGIC (`%pip install spark-optimizer` or a wheel). Runs locally too, with the embedded defaults.

# COMMAND ----------

import os
from datetime import datetime, timezone

from spark_optimizer.config import load_settings
from spark_optimizer.context import AppContext
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.reporting import record_line, summary_line

DEFAULTS = {"event_log_dir": "samples/eventlogs", "warehouse": "./spark-optimizer-warehouse", "force": "false"}
try:
    for name, value in DEFAULTS.items():
        dbutils.widgets.text(name, value)  # noqa: F821 - provided by Databricks
    params = {name: dbutils.widgets.get(name) for name in DEFAULTS}  # noqa: F821
except NameError:  # not on Databricks: the defaults, each replaceable by SPARK_OPTIMIZER_NOTEBOOK_<NAME>
    params = {name: os.environ.get(f"SPARK_OPTIMIZER_NOTEBOOK_{name.upper()}", value) for name, value in DEFAULTS.items()}

# COMMAND ----------

ctx = AppContext(load_settings(warehouse=params["warehouse"]), spark=globals().get("spark"))
summary = ingest_event_logs(ctx.spark_context, ctx.store, params["event_log_dir"], datetime.now(timezone.utc),
                            force=params["force"].lower() == "true")
for record in summary.records:
    print(record_line(record))
print(summary_line(summary))
