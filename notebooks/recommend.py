# Databricks notebook source
# MAGIC %md
# MAGIC # Recommend resources
# MAGIC The main job end to end: ingest the event logs under `event_log_dir` (leave empty to use what is
# MAGIC already ingested), analyze, train the models, build the `recommendations` table under `warehouse`,
# MAGIC and show the recommendation for a job type at an input size. Install the package on the cluster first.

# COMMAND ----------

import json

from spark_optimizer.runners.notebook import notebook_context, notebook_params

DEFAULTS = {"event_log_dir": "samples/eventlogs", "warehouse": "./spark-optimizer-warehouse", "job_type": "etl",
            "input_size": "10GB"}
params = notebook_params(DEFAULTS, globals().get("dbutils"))

# COMMAND ----------

ctx = notebook_context(params, spark=globals().get("spark"))
summary = ctx.main_job.run([params["event_log_dir"]] if params["event_log_dir"] else []).summary
print(f"trained on {summary.train.runs} runs; built {summary.build.signature_rows} signature and "
      f"{summary.build.job_type_rows} job-type recommendations")

# COMMAND ----------

recommended = ctx.recommend.run(job_type=params["job_type"], input_size=params["input_size"])
answer = recommended.summary
print(answer.row["rationale"])
print(answer.row["spark_submit"])
print(json.dumps(recommended.data, indent=2))
