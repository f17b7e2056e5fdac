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
