# Databricks notebook source
# MAGIC %md
# MAGIC # Analyze runs and train the models
# MAGIC Analyzes every application ingested since the last run (metrics, findings), refreshes the
# MAGIC `features` and `runs` tables and trains the runtime and resource models, logged to MLflow
# MAGIC (on Databricks the workspace's tracking server by default; experiments under `mlflow_experiment_dir`,
# MAGIC models in Unity Catalog as `<mlflow_catalog>.<mlflow_schema>.spark_optimizer_runtime` when a catalog is set).

# COMMAND ----------

from spark_optimizer.runners.notebook import notebook_context, notebook_params

DEFAULTS = {"warehouse": "./spark-optimizer-warehouse", "mlflow_tracking_uri": "", "mlflow_experiment_dir": "/Shared/spark-optimizer",
            "mlflow_catalog": "", "mlflow_schema": "default", "folds": "3"}
params = notebook_params(DEFAULTS, globals().get("dbutils"))

# COMMAND ----------

ctx = notebook_context(params, spark=globals().get("spark"),
                       settings=("mlflow_tracking_uri", "mlflow_experiment_dir", "mlflow_catalog", "mlflow_schema"))
print(ctx.analyze.run().text)

# COMMAND ----------

trained = ctx.train.run(folds=int(params["folds"]))
summary = trained.summary
print(trained.text)
print(f"validation: {summary.metrics}")
