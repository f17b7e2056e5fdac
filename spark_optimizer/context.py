"""Builds the settings, the SparkSession and the table store once, for jobs, CLI and notebooks."""

from __future__ import annotations

import os
import sys
import traceback
from functools import cached_property
from typing import Callable, NoReturn

from pyspark import SparkContext
from pyspark.sql import SparkSession

from spark_optimizer.config import Settings, load_settings
from spark_optimizer.errors import SparkOptimizerError
from spark_optimizer.session import get_or_create_spark, get_or_create_spark_context, session_has_delta
from spark_optimizer.tables.store import TableStore


class AppContext:
    """Example::

        ctx = AppContext(load_settings(warehouse="/tmp/wh"))
        ingest_event_logs(ctx.spark_context, ctx.store, "/data/spark-events", run_time)

    The SparkSession is built on first use of `spark` (or of a store that needs it): a command
    that only ingests runs on the SparkContext alone."""

    def __init__(self, settings: Settings | None = None, spark: SparkSession | None = None):
        self.settings = settings or load_settings()
        self._spark = spark

    @cached_property
    def spark(self) -> SparkSession:
        return self._spark or get_or_create_spark(self.settings.spark_master, speedups=self.settings.spark_speedups)

    @cached_property
    def spark_context(self) -> SparkContext:
        if self._spark is not None:
            return self._spark.sparkContext
        return get_or_create_spark_context(self.settings.spark_master, speedups=self.settings.spark_speedups)

    @cached_property
    def store(self) -> TableStore:
        backend = self.settings.table_backend
        if "spark" in self.__dict__ or backend == "spark" or (backend == "auto" and session_has_delta(self.spark_context)):
            return TableStore(self.spark, self.settings)
        # Tables through delta-rs: the session is only needed to read one as a DataFrame.
        return TableStore(None, self.settings, session=lambda: self.spark)


def run_job(main: Callable[[], int | None]) -> NoReturn:
    """The spark-submit jobs' entry point: run `main`, stop the SparkContext it started, and exit
    with its code (None is 0), 2 on a refusal of the library (its message on stderr), 1 on any
    other error (its traceback on stderr).

    Stopping the context ends the executors before the JVM exits: without it a standalone cluster
    relaunches executors that lost their driver and reports the application FAILED. On Databricks
    the platform owns the context and it is left running."""
    code = 1
    try:
        code = main() or 0
    except SparkOptimizerError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        code = 2
    except SystemExit as exit_:  # argparse's usage errors, an explicit sys.exit
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported, then the context is stopped and the job fails
        traceback.print_exc()
        code = 1
    finally:
        if not os.environ.get("DATABRICKS_RUNTIME_VERSION") and SparkContext._active_spark_context is not None:
            SparkContext._active_spark_context.stop()
    sys.stdout.flush()
    sys.exit(code)
