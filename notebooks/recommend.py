# Databricks notebook source
# MAGIC %md
# MAGIC # Recommend resources
# MAGIC The main job end to end: ingest the event logs under `event_log_dir` (leave empty to use what is
# MAGIC already ingested), analyze, train the models, build the `recommendations` table under `warehouse`,
# MAGIC and show the recommendation for a job type at an input size. Install the package on the cluster first.

# COMMAND ----------

import os
from datetime import datetime, timezone

from spark_optimizer.config import load_settings
from spark_optimizer.context import AppContext
from spark_optimizer.recommender.lookup import as_json, lookup
from spark_optimizer.recommender.pipeline import run_pipeline
from spark_optimizer.units import parse_size_bytes

DEFAULTS = {"event_log_dir": "samples/eventlogs", "warehouse": "./spark-optimizer-warehouse", "job_type": "etl",
            "input_size": "10GB"}
try:
    for name, value in DEFAULTS.items():
        dbutils.widgets.text(name, value)  # noqa: F821 - provided by Databricks
    params = {name: dbutils.widgets.get(name) for name in DEFAULTS}  # noqa: F821
except NameError:  # not on Databricks: the defaults, each replaceable by SPARK_OPTIMIZER_NOTEBOOK_<NAME>
    params = {name: os.environ.get(f"SPARK_OPTIMIZER_NOTEBOOK_{name.upper()}", value) for name, value in DEFAULTS.items()}

# COMMAND ----------

ctx = AppContext(load_settings(warehouse=params["warehouse"]), spark=globals().get("spark"))
summary = run_pipeline(ctx.spark, ctx.store, ctx.settings, params["event_log_dir"] or None, datetime.now(timezone.utc))
print(f"trained on {summary.train.runs} runs; built {summary.build.signature_rows} signature and "
      f"{summary.build.job_type_rows} job-type recommendations")

# COMMAND ----------

answer = lookup(ctx.settings, job_type=params["job_type"], input_bytes=parse_size_bytes(params["input_size"]))
print(answer.row["rationale"])
print(answer.row["spark_submit"])
print(as_json(answer))
