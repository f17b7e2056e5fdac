# Databricks notebook source
# MAGIC %md
# MAGIC # Analyze runs and train the models
# MAGIC Analyzes every application ingested since the last run (metrics, findings), refreshes the
# MAGIC `features` and `runs` tables and trains the runtime and resource models, logged to MLflow
# MAGIC (on Databricks the workspace's tracking server by default; experiments under `mlflow_experiment_dir`,
# MAGIC models in Unity Catalog as `<mlflow_catalog>.<mlflow_schema>.spark_optimizer_runtime` when a catalog is set).

# COMMAND ----------

import os
from datetime import datetime, timezone

from spark_optimizer.analysis.analyze import analyze_applications
from spark_optimizer.config import load_settings
from spark_optimizer.context import AppContext
from spark_optimizer.ml.train import train_models

DEFAULTS = {"warehouse": "./spark-optimizer-warehouse", "mlflow_tracking_uri": "", "mlflow_experiment_dir": "/Shared/spark-optimizer",
            "mlflow_catalog": "", "mlflow_schema": "default", "folds": "3"}
MLFLOW_SETTINGS = ("mlflow_tracking_uri", "mlflow_experiment_dir", "mlflow_catalog", "mlflow_schema")
try:
    for name, value in DEFAULTS.items():
        dbutils.widgets.text(name, value)  # noqa: F821 - provided by Databricks
    params = {name: dbutils.widgets.get(name) for name in DEFAULTS}  # noqa: F821
except NameError:  # not on Databricks: the defaults, each replaceable by SPARK_OPTIMIZER_NOTEBOOK_<NAME>
    params = {name: os.environ.get(f"SPARK_OPTIMIZER_NOTEBOOK_{name.upper()}", value) for name, value in DEFAULTS.items()}

# COMMAND ----------

overrides = {name: params[name] for name in MLFLOW_SETTINGS if params[name]}
ctx = AppContext(load_settings(warehouse=params["warehouse"], **overrides), spark=globals().get("spark"))
now = datetime.now(timezone.utc)
analyzed = analyze_applications(ctx.spark, ctx.store, now)
print(f"analyzed {len(analyzed.analyzed)} application attempt(s); {analyzed.findings} finding(s)")

# COMMAND ----------

summary = train_models(ctx.spark, ctx.store, ctx.settings, now, folds=int(params["folds"]))
print(f"trained on {summary.runs} runs of {summary.signatures} job signature(s): scaling curve for {summary.scaling_wins}, "
      f"random forest for {summary.forest_wins}, their blend for {summary.blend_wins}")
print(f"validation: {summary.metrics}")
print(f"runtime model version {summary.runtime_model_version} (alias champion), MLflow run {summary.mlflow_run_id}")
