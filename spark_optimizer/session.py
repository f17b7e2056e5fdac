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
JAVA_OPTIONS_KEY = "spark.driver.extraJavaOptions"


def get_or_create_spark(master: str = "local[2]", app_name: str = "spark-optimizer", **conf: str) -> SparkSession:
    """Reuse the active session (Databricks, spark-submit); otherwise build a local one."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if "PYSPARK_GATEWAY_PORT" in os.environ:
        # Launched by spark-submit (or a notebook kernel with a JVM): its --master and --conf
        # are already in the JVM and must win over our local defaults.
        return SparkSession.builder.appName(app_name).getOrCreate()
    settings = {**LOCAL_DEFAULTS, **conf}
    cds_options, archive = _local_cds_options(settings)
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    if cds_options is None:
        spark = builder.getOrCreate()
    else:
        own = settings.get(JAVA_OPTIONS_KEY, "")
        try:
            spark = builder.config(JAVA_OPTIONS_KEY, f"{own} {cds_options}".strip()).getOrCreate()
        except Exception:
            if archive is None:
                raise
            # A damaged or foreign class-data archive stops the JVM before it starts: drop it, start without.
            archive.unlink(missing_ok=True)
            spark = builder.config(JAVA_OPTIONS_KEY, own).getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def _local_cds_options(settings: dict[str, str]):
    """Class-data sharing options for the driver JVM we are about to launch (see jvm_cds), unless
    the user passes driver Java options through spark-submit arguments we would override."""
    from spark_optimizer.jvm_cds import driver_cds_options
    import pyspark

    submit_args = os.environ.get("PYSPARK_SUBMIT_ARGS", "")
    if "--driver-java-options" in submit_args or JAVA_OPTIONS_KEY in submit_args:
        return None, None
    return driver_cds_options(pyspark.__version__)


def session_has_delta(spark: SparkSession) -> bool:
    """True when Delta Lake's Spark classes are on the session's classpath."""
    try:
        spark._jvm.java.lang.Class.forName("io.delta.tables.DeltaTable")  # type: ignore[union-attr]
        return True
    except Exception:
        return False
