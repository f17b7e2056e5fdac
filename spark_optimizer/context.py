"""Builds the settings, the SparkSession, the table stores and the runners once, for the CLI, the jobs,
the notebooks, the SDK and the API."""

from __future__ import annotations

import os
import sys
import traceback
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Callable, NoReturn

from spark_optimizer.config import Settings, load_settings
from spark_optimizer.errors import SparkOptimizerError

if TYPE_CHECKING:
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    from spark_optimizer.tables.store import TableStore


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class AppContext:
    """Example::

        ctx = AppContext(load_settings(warehouse="/tmp/wh"))
        ctx.ingest.run("/data/spark-events").exit_code

    The SparkSession is built on first use of `spark` (or of a store that needs it): a command
    that only ingests runs on the SparkContext alone, and one that only reads tables
    (`arrow_store`, `recommend`, `feedback`, `jobs`) starts no JVM. `clock` gives the run time of
    every runner (pinned in tests); `log_level` (e.g. "ERROR") the Spark log level of a session it
    builds, whose driver then prints none of Spark's start-up lines (session.get_or_create_spark_context)."""

    def __init__(self, settings: Settings | None = None, spark: "SparkSession | None" = None,
                 clock: Callable[[], datetime] = utc_now, log_level: str | None = None):
        self.settings = settings or load_settings()
        self._spark = spark
        self.now = clock
        self.log_level = log_level

    @cached_property
    def spark(self) -> "SparkSession":
        from spark_optimizer.session import get_or_create_spark

        if self._spark is not None:
            return self._spark
        spark = get_or_create_spark(self.settings.spark_master, speedups=self.settings.spark_speedups,
                                    log_level=self.log_level)
        if self.log_level:  # an active session is only set to it
            spark.sparkContext.setLogLevel(self.log_level)
        return spark

    @cached_property
    def spark_context(self) -> "SparkContext":
        if self._spark is not None:
            return self._spark.sparkContext
        from spark_optimizer.session import get_or_create_spark_context

        context = get_or_create_spark_context(self.settings.spark_master, speedups=self.settings.spark_speedups,
                                              log_level=self.log_level)
        if self.log_level:
            context.setLogLevel(self.log_level)
        return context

    @cached_property
    def store(self) -> "TableStore":
        from spark_optimizer.tables.store import TableStore, session_has_delta

        backend = self.settings.table_backend
        if "spark" in self.__dict__ or backend == "spark" or (backend == "auto" and session_has_delta(self.spark_context)):
            return TableStore(self.spark, self.settings)
        # Tables through delta-rs: the session is only needed to read one as a DataFrame.
        return TableStore(None, self.settings, session=lambda: self.spark)

    @cached_property
    def arrow_store(self) -> "TableStore":
        from spark_optimizer.tables.store import delta_rs_store

        return delta_rs_store(self.settings)

    # One runner per workflow (spark_optimizer/runners); each is cheap to build and starts nothing.
    @cached_property
    def ingest(self):
        from spark_optimizer.runners.ingest import IngestRunner

        return IngestRunner(self)

    @cached_property
    def analyze(self):
        from spark_optimizer.runners.analyze import AnalyzeRunner

        return AnalyzeRunner(self)

    @cached_property
    def train(self):
        from spark_optimizer.runners.train import TrainRunner

        return TrainRunner(self)

    @cached_property
    def build_recommendations(self):
        from spark_optimizer.runners.recommendations import BuildRecommendationsRunner

        return BuildRecommendationsRunner(self)

    @cached_property
    def main_job(self):
        from spark_optimizer.runners.recommendations import MainJobRunner

        return MainJobRunner(self)

    @cached_property
    def recommend(self):
        from spark_optimizer.runners.recommend import RecommendRunner

        return RecommendRunner(self)

    @cached_property
    def feedback(self):
        from spark_optimizer.runners.recommend import FeedbackRunner

        return FeedbackRunner(self)

    @cached_property
    def add_runs(self):
        from spark_optimizer.runners.train import AddRunsRunner

        return AddRunsRunner(self)

    @cached_property
    def jobs(self):
        from spark_optimizer.runners.jobs import JobsRunner

        return JobsRunner(self)

    @cached_property
    def report(self):
        from spark_optimizer.runners.report import ReportRunner

        return ReportRunner(self)

    @cached_property
    def collect(self):
        from spark_optimizer.runners.collect import CollectRunner

        return CollectRunner(self)


def run_job(main: Callable[[], int | None]) -> NoReturn:
    """The spark-submit jobs' entry point: run `main`, stop the SparkContext it started, and exit
    with its code (None is 0), 2 on a refusal of the library or a bad argument value (its message on
    stderr), 1 on any other error (its traceback on stderr): the CLI's exit codes.

    Stopping the context ends the executors before the JVM exits: without it a standalone cluster
    relaunches executors that lost their driver and reports the application FAILED. On Databricks
    the platform owns the context and it is left running."""
    from pyspark import SparkContext

    code = 1
    try:
        code = main() or 0
    except (SparkOptimizerError, ValueError) as error:  # a refusal, or a bad argument value: nothing was done
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
