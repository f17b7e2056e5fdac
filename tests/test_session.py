"""The local session helper: what the driver JVM it launches is started with."""

from __future__ import annotations

import pytest

from spark_optimizer.session import DRIVER_JIT_ENV, quick_jit_options


def _jvm_arguments(spark) -> list[str]:
    return list(spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())


def test_a_local_driver_jvm_runs_with_the_quick_jit_tier_by_default(spark):
    assert "-XX:TieredStopAtLevel=1" in _jvm_arguments(spark)


def test_the_full_jit_is_one_environment_variable_away():
    assert quick_jit_options({DRIVER_JIT_ENV: "full"}) == ""
    assert quick_jit_options({DRIVER_JIT_ENV: "QUICK"}) == "-XX:TieredStopAtLevel=1"
    assert quick_jit_options({}) == "-XX:TieredStopAtLevel=1"


def test_an_unknown_jit_setting_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="SPARK_OPTIMIZER_DRIVER_JIT='c2'.*'quick'.*'full'"):
        quick_jit_options({DRIVER_JIT_ENV: "c2"})


def _pyspark_file(_partition):
    import pyspark

    yield pyspark.__file__


def test_local_python_workers_run_the_installed_byte_compiled_pyspark_not_the_zip(spark):
    """Spark puts pyspark.zip first on the workers' path, where nothing can be cached compiled;
    local sessions start the worker daemon through spark_optimizer.pyspark_daemon instead."""
    assert spark.sparkContext.getConf().get("spark.python.daemon.module") == "spark_optimizer.pyspark_daemon"
    [worker_pyspark] = spark.sparkContext.parallelize([0], 1).mapPartitions(_pyspark_file).collect()
    assert "pyspark.zip" not in worker_pyspark and worker_pyspark.endswith("__init__.py")


def test_the_daemon_moves_spark_zips_behind_the_installed_packages():
    from spark_optimizer.pyspark_daemon import installed_first

    path = ["/spark/python/lib/pyspark.zip", "/spark/python/lib/py4j-0.10.9.9-src.zip", "/work", "/venv/site-packages"]
    assert installed_first(path) == ["/work", "/venv/site-packages", "/spark/python/lib/pyspark.zip",
                                     "/spark/python/lib/py4j-0.10.9.9-src.zip"]
