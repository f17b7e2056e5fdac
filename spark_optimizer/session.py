"""The one place that builds a SparkSession; library functions take the session as an argument."""

from __future__ import annotations

import os

from pyspark.sql import SparkSession

LOCAL_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.memory": "2g",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
}


def get_or_create_spark(master: str = "local[2]", app_name: str = "spark-optimizer", **conf: str) -> SparkSession:
    """Reuse the active session (Databricks, spark-submit); otherwise build a local one."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if "PYSPARK_GATEWAY_PORT" in os.environ:
        # Launched by spark-submit (or a notebook kernel with a JVM): its --master and --conf
        # are already in the JVM and must win over our local defaults.
        return SparkSession.builder.appName(app_name).getOrCreate()
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**LOCAL_DEFAULTS, **conf}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def session_has_delta(spark: SparkSession) -> bool:
    """True when Delta Lake's Spark classes are on the session's classpath."""
    try:
        spark._jvm.java.lang.Class.forName("io.delta.tables.DeltaTable")  # type: ignore[union-attr]
        return True
    except Exception:
        return False
