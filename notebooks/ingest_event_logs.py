# Databricks notebook source
# MAGIC %md
# MAGIC # Ingest Spark event logs
# MAGIC Reads the event logs under `event_log_dir` (e.g. a cluster-log delivery folder on DBFS or S3)
# MAGIC into the Spark Optimizer Delta tables under `warehouse`. Install the package on the cluster first
# MAGIC (`%pip install spark-optimizer` or a wheel). Runs locally too, with the embedded defaults.

# COMMAND ----------

from spark_optimizer.runners.notebook import notebook_context, notebook_params

DEFAULTS = {"event_log_dir": "samples/eventlogs", "warehouse": "./spark-optimizer-warehouse", "force": "false"}
params = notebook_params(DEFAULTS, globals().get("dbutils"))

# COMMAND ----------

ctx = notebook_context(params, spark=globals().get("spark"))
result = ctx.ingest.run(params["event_log_dir"], force=params["force"].lower() == "true")
summary = result.summary
print(result.text)
