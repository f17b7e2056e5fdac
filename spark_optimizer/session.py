"""The one place that builds a SparkSession; library functions take the session as an argument."""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import threading
from importlib import resources
from pathlib import Path

from pyspark import SparkConf, SparkContext
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
LOG_LEVEL_KEY = "spark.log.level"
QUIET_LOG4J2 = "log4j2-quiet.properties"
DRIVER_JIT_ENV = "SPARK_OPTIMIZER_DRIVER_JIT"
# The one switch for every start-up and worker speed-up of local sessions (quick JIT, class-data
# sharing, the worker daemon, imports during the JVM start): off gives Spark's own path.
SPEEDUPS_ENV = "SPARK_OPTIMIZER_SPARK_SPEEDUPS"


def speedups_enabled(environ: dict[str, str] | None = None) -> bool:
    value = (os.environ if environ is None else environ).get(SPEEDUPS_ENV, "true").strip().lower()
    return value not in ("0", "false", "no", "off")


def get_or_create_spark(master: str = "local[2]", app_name: str = "spark-optimizer", speedups: bool | None = None,
                        log_level: str | None = None, **conf: str) -> SparkSession:
    """Reuse the active session (Databricks, spark-submit); otherwise build a local one.
    `speedups=None` reads SPARK_OPTIMIZER_SPARK_SPEEDUPS (default on); `log_level`: see
    get_or_create_spark_context."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    get_or_create_spark_context(master, app_name, speedups, log_level, **conf)
    # The context holds our settings (SQL ones included); options given to the builder would
    # only be applied again to the session's SQL configuration.
    return SparkSession.builder.getOrCreate()


def get_or_create_spark_context(master: str = "local[2]", app_name: str = "spark-optimizer", speedups: bool | None = None,
                                log_level: str | None = None, **conf: str) -> SparkContext:
    """The active session's SparkContext, else spark-submit's, else a local one with our defaults.

    `log_level` (e.g. "ERROR", a CLI command without --verbose): a local driver starts with the
    packaged quiet log4j2 configuration (no start-up lines on stderr) and logs at that level;
    spark-submit's logs at it from its SparkContext's start. None: Spark's own log4j2 defaults,
    then WARN (or spark-submit's spark.log.level).

    For RDD work such as the event-log ingestion: Spark SQL's session is not started, which saves
    ~0.5 s of a local start-up (the JVM loads and links its classes); `get_or_create_spark` later
    builds the session over this same context."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return active.sparkContext
    if SparkContext._active_spark_context is not None:
        return SparkContext._active_spark_context
    if "PYSPARK_GATEWAY_PORT" in os.environ:
        # Launched by spark-submit (or a notebook kernel with a JVM): its --master and --conf
        # are already in the JVM and must win over our local defaults.
        # Spark logs at INFO unless told otherwise: the caller's level, else WARN unless spark-submit set spark.log.level.
        submitted = SparkConf().setAppName(app_name)
        if log_level is not None or not submitted.contains(LOG_LEVEL_KEY):
            submitted.set(LOG_LEVEL_KEY, log_level or "WARN")
        return SparkContext.getOrCreate(submitted)
    # PySpark starts its workers with $PYSPARK_PYTHON, else whatever `python3` is on PATH: a venv's
    # spark-optimizer run by its path (pipx, cron) would get a Python without our package.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    speedups = speedups_enabled() if speedups is None else speedups
    settings = {**LOCAL_DEFAULTS, **(_compiled_worker_daemon() if speedups else {}), **conf}
    if log_level is not None:
        settings[LOG_LEVEL_KEY] = log_level
    # A log4j2 configuration the caller's own Java options name wins over ours.
    own_log4j2 = "log4j2.configurationFile" in settings.get(JAVA_OPTIONS_KEY, "")
    quiet = "" if log_level is None or own_log4j2 else quiet_log_options()
    if speedups and not pyspark_version().startswith("3."):  # 3.5's pyspark.testing.utils imports pandas-on-Spark
        _import_while_the_jvm_starts()

    def start(java_options: str | None) -> SparkContext:
        spark_conf = SparkConf().setMaster(master).setAppName(app_name)
        for key, value in settings.items():
            spark_conf.set(key, value)
        if java_options is not None:
            spark_conf.set(JAVA_OPTIONS_KEY, java_options)
        return SparkContext(conf=spark_conf)

    if _driver_java_options_given():
        context = start(None)
    elif not speedups:
        context = start(" ".join(filter(None, (settings.get(JAVA_OPTIONS_KEY, ""), quiet))) or None)
    else:
        own = " ".join(filter(None, (settings.get(JAVA_OPTIONS_KEY, ""), quiet, quick_jit_options())))
        cds_options, archive = _local_cds_options()
        try:
            context = start(" ".join(filter(None, (own, cds_options))))
        except Exception:
            if archive is None:
                raise
            # A damaged or foreign class-data archive stops the JVM before it starts: drop it, start without.
            archive.unlink(missing_ok=True)
            context = start(own)
    context.setLogLevel(log_level or "WARN")
    return context


def quiet_log_options() -> str:
    """The driver JVM option that points log4j2 at the packaged quiet configuration
    (spark_optimizer/defaults/log4j2-quiet.properties): only errors reach stderr."""
    path = Path(str(resources.files("spark_optimizer.defaults") / QUIET_LOG4J2))
    return f"-Dlog4j2.configurationFile={path.resolve().as_uri()}"


# PySpark's py4j converter for numpy arrays imports pyspark.testing.utils, and with it pandas, on
# the first JVM call that takes an argument (~0.25 s); pyarrow imports pandas on its first array.
_DRIVER_IMPORTS = ("pyspark.testing.utils", "pandas")


def _import_while_the_jvm_starts() -> None:
    """Import what the driver will need anyway on a helper thread while the main thread waits
    for the driver JVM to start: ~0.25 s off a local start-up."""
    def work() -> None:
        for module in _DRIVER_IMPORTS:
            try:
                importlib.import_module(module)
            except Exception:  # the main thread will meet and report the same error, if it matters
                return

    threading.Thread(target=work, name="driver-imports", daemon=True).start()


def quick_jit_options(environ: dict[str, str] | None = None) -> str:
    """JVM options that stop the driver's JIT at its quick tier (C1), unless
    SPARK_OPTIMIZER_DRIVER_JIT=full.

    A local driver of ours lives for one command over small tables and spends its time in Python
    workers and delta-rs: measured on the 2-core host, the optimizing compiler (C2) took half the
    driver JVM's CPU time (1.7 of 3.2 CPU-seconds to start a session) without paying it back.
    Heavy Spark SQL in a long local session is faster with C2: set the variable to `full`."""
    value = (os.environ if environ is None else environ).get(DRIVER_JIT_ENV, "quick").strip().lower()
    if value not in ("quick", "full"):
        raise ValueError(f"{DRIVER_JIT_ENV}={value!r}: expected 'quick' (the default) or 'full'")
    return "-XX:TieredStopAtLevel=1" if value == "quick" else ""


def _compiled_worker_daemon() -> dict[str, str]:
    """Python workers from the installed pyspark instead of pyspark.zip (see pyspark_daemon), when
    the zip Spark would put first is the one inside that installed package, the PySpark version is
    one the daemon was tested with, and the workers run this interpreter (so they can import it)."""
    import pyspark

    from spark_optimizer.pyspark_daemon import is_tested_pyspark

    package = os.path.dirname(os.path.abspath(pyspark.__file__))
    spark_home = os.environ.get("SPARK_HOME")
    if spark_home and os.path.realpath(spark_home) != os.path.realpath(package):
        return {}
    if not os.path.exists(os.path.join(package, "python", "lib", "pyspark.zip")):
        return {}
    if not is_tested_pyspark(pyspark.__version__) or not _workers_can_import_us():
        return {}
    return {"spark.python.daemon.module": "spark_optimizer.pyspark_daemon"}


def _workers_can_import_us() -> bool:
    """The workers run $PYSPARK_PYTHON with the driver's environment and working directory: they
    import this package when that is the driver's interpreter and the package was not found only
    through the driver script's own folder (sys.path[0], which workers do not get)."""
    worker_python = os.environ.get("PYSPARK_PYTHON", "python3")
    # Compared without resolving links: a venv's python links to the base interpreter.
    if os.path.abspath(shutil.which(worker_python) or worker_python) != os.path.abspath(sys.executable):
        return False

    def real(entry: str) -> str:
        return os.path.realpath(entry or os.getcwd())

    home = real(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    through_script_folder_only = (bool(sys.path) and real(sys.path[0]) == home and home != real(os.getcwd())
                                  and home not in {real(p) for p in sys.path[1:]})
    return not through_script_folder_only


def pyspark_version() -> str:
    import pyspark

    return pyspark.__version__


def _driver_java_options_given() -> bool:
    """Driver Java options in spark-submit arguments: ours would override them, so add none."""
    submit_args = os.environ.get("PYSPARK_SUBMIT_ARGS", "")
    return "--driver-java-options" in submit_args or JAVA_OPTIONS_KEY in submit_args


def _local_cds_options():
    """Class-data sharing options for the driver JVM we are about to launch (see jvm_cds)."""
    from spark_optimizer.jvm_cds import driver_cds_options
    import pyspark

    return driver_cds_options(pyspark.__version__)
