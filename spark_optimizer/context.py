"""Builds the settings, the SparkSession and the table store once, for jobs, CLI and notebooks."""

from __future__ import annotations

from functools import cached_property

from pyspark.sql import SparkSession

from spark_optimizer.config import Settings, load_settings
from spark_optimizer.session import get_or_create_spark
from spark_optimizer.tables.store import TableStore


class AppContext:
    """Example::

        ctx = AppContext(load_settings(warehouse="/tmp/wh"))
        ingest_event_logs(ctx.spark, ctx.store, "/data/spark-events", run_time)
    """

    def __init__(self, settings: Settings | None = None, spark: SparkSession | None = None):
        self.settings = settings or load_settings()
        self._spark = spark

    @cached_property
    def spark(self) -> SparkSession:
        return self._spark or get_or_create_spark(self.settings.spark_master)

    @cached_property
    def store(self) -> TableStore:
        return TableStore(self.spark, self.settings)
