"""Recommendations: search candidate configurations over the learned runtime curves and the cost
model, store the answer per job signature and per (job type, input-size band), and look it up for
any input size and objective without Spark.

Modules: `curves` (evaluate stored curves; confidence), `search` (candidate grid, objectives),
`sparkconf` (Spark properties, spark-submit and Databricks fragments), `build` (the Spark job that
writes the `recommendations` table), `lookup` (pure Python, reads Delta with delta-rs), `feedback`.
Nothing here imports pyspark at module level except `build`.
"""
