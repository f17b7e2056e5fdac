"""Spark's own rules: property versions, size parsing as Spark reads it, and Spark's checks."""

from __future__ import annotations

import pytest

from spark_optimizer import spark_rules
from spark_optimizer.spark_rules import (
    MIN_EXECUTOR_MEMORY_BYTES, MIN_EXECUTOR_MEMORY_MB, default_memory_overhead_mb, executor_memory_text, parse_bytes,
    parse_memory_mb, parse_version, property_available, property_name_for, validation_problems,
)


def test_the_executor_memory_minimum_is_the_one_spark_reports():
    # INVALID_EXECUTOR_MEMORY: "Executor memory 402653184 must be at least 471859200"
    assert MIN_EXECUTOR_MEMORY_BYTES == 471859200
    assert MIN_EXECUTOR_MEMORY_MB == 450


def test_versions_are_read_from_vendor_spellings():
    assert parse_version("3.3.0-amzn-1") == (3, 3)
    assert parse_version("3.1.1.3.1.7270.0-253") == (3, 1)
    assert parse_version("4.0.1") == (4, 0)
    assert parse_version("") is None and parse_version(None) is None


@pytest.mark.parametrize("key, version, available", [
    ("spark.sql.adaptive.enabled", "1.6.0", False),
    ("spark.sql.adaptive.enabled", "2.4.8", False),
    ("spark.sql.adaptive.enabled", "3.0.1", True),
    ("spark.dynamicAllocation.shuffleTracking.enabled", "2.4.8", False),
    ("spark.dynamicAllocation.shuffleTracking.enabled", "3.0.0", True),
    ("spark.excludeOnFailure.enabled", "3.0.1", False),
    ("spark.excludeOnFailure.enabled", "3.1.1", True),
    ("spark.blacklist.enabled", "2.4.8", True),
    ("spark.blacklist.enabled", "3.1.1", False),
    ("spark.executor.memoryOverhead", "2.2.3", False),
    ("spark.executor.memory", "1.2.0", True),
    ("spark.executor.memory", None, True),
    ("spark.sql.adaptive.enabled", None, False),
])
def test_property_availability_follows_the_version_it_appeared_in(key, version, available):
    assert property_available(key, version) is available


def test_a_renamed_property_is_named_as_the_version_knows_it():
    assert property_name_for("spark.excludeOnFailure.enabled", "2.4.8") == "spark.blacklist.enabled"
    assert property_name_for("spark.executor.memoryOverhead", "2.2.3") == "spark.yarn.executor.memoryOverhead"
    assert property_name_for("spark.blacklist.enabled", "3.5.0") == "spark.excludeOnFailure.enabled"
    assert property_name_for("spark.excludeOnFailure.enabled", "1.6.0") is None


def test_sizes_are_read_with_sparks_semantics():
    assert parse_memory_mb("4g") == 4096
    assert parse_memory_mb("2048") == 2048  # a bare number is MiB for memory properties
    assert parse_bytes("10485760") == 10 * 1024 * 1024  # bytes for byte properties
    assert parse_bytes("64KB") == 64 * 1024
    assert parse_bytes("-1") == -1
    with pytest.raises(ValueError, match="fractional"):
        parse_bytes("1.5g")
    with pytest.raises(ValueError, match="suffix"):
        parse_bytes("4gib")


def test_memory_overhead_is_the_larger_of_384_mib_and_ten_percent():
    assert default_memory_overhead_mb(2048) == 384
    assert default_memory_overhead_mb(20480) == 2048


def test_suggested_executor_memory_never_goes_below_sparks_minimum():
    assert executor_memory_text(100) == "512m"
    assert validation_problems({"spark.executor.memory": executor_memory_text(100)}, "4.0.1") == []


def test_validation_names_what_spark_would_refuse():
    problems = validation_problems(
        {"spark.executor.memory": "384m", "spark.sql.adaptive.enabled": "true", "spark.sql.shuffle.partitions": "0",
         "spark.speculation": "yes", "spark.locality.wait": "1.5s"}, "1.6.3")
    assert any("471859200" in p for p in problems)
    assert any("spark.sql.adaptive.enabled does not exist before Spark 3.0" in p for p in problems)
    assert any(p.startswith("spark.sql.shuffle.partitions=0") for p in problems)
    assert any(p.startswith("spark.speculation=yes") for p in problems)
    assert any(p.startswith("spark.locality.wait") for p in problems)


def test_executor_counts_must_sit_within_dynamic_allocation_bounds():
    conf = {"spark.dynamicAllocation.enabled": "true", "spark.executor.instances": "32",
            "spark.dynamicAllocation.maxExecutors": "2", "spark.dynamicAllocation.minExecutors": "3"}
    problems = validation_problems(conf, "3.3.0")
    assert "spark.executor.instances=32 is above spark.dynamicAllocation.maxExecutors=2" in problems
    assert "spark.dynamicAllocation.minExecutors=3 is above spark.dynamicAllocation.maxExecutors=2" in problems
    conf["spark.dynamicAllocation.enabled"] = "false"
    assert validation_problems(conf, "3.3.0") == []


def test_a_valid_configuration_has_no_problems():
    conf = {"spark.executor.memory": "2560m", "spark.executor.memoryOverhead": "384m", "spark.executor.cores": "4",
            "spark.sql.autoBroadcastJoinThreshold": "-1", "spark.sql.adaptive.skewJoin.skewedPartitionThresholdInBytes": "256m",
            "spark.dynamicAllocation.executorIdleTimeout": "60s", "spark.speculation.multiplier": "1.5"}
    assert validation_problems(conf, "3.5.1") == []


def test_keys_outside_the_table_are_not_judged():
    assert property_available("spark.optimizer.recommendationId", "1.6.0")
    assert spark_rules.value_problem("spark.optimizer.recommendationId", "anything") is None
