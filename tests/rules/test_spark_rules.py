"""Spark's own rules: property versions, size parsing as Spark reads it, and Spark's checks."""

from __future__ import annotations

import pytest

from spark_optimizer import spark_rules
from spark_optimizer.spark_rules import (
    CORES_PROBLEM, DYNAMIC_ALLOCATION_BOUNDS_PROBLEM, MIN_EXECUTOR_MEMORY_BYTES, MIN_EXECUTOR_MEMORY_MB, SPARK_PROPERTIES,
    UNAVAILABLE_PROBLEM, VALUE_PROBLEM, conf_mb, default_memory_overhead_mb, executor_memory_text, is_local_master,
    local_cluster_shape, local_master_cores, memory_overhead_mb, parse_bytes, parse_version, property_available,
    property_name_for, runs_on_driver_machine, size_bytes, size_mb, validation_problems,
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
    assert size_mb("spark.executor.memory", "4g") == 4096
    assert size_mb("spark.executor.memory", "2048") == 2048  # a bare number is MiB for memory properties
    assert size_bytes("spark.sql.files.maxPartitionBytes", "134217728") == 128 * 1024 * 1024  # bytes for byte properties
    assert size_bytes("spark.shuffle.file.buffer", "32") == 32 * 1024  # and KiB for the shuffle file buffer
    assert size_mb("spark.executor.memory", "1500k") == 1  # whole MiB, truncated as Spark converts
    assert parse_bytes("10485760") == 10 * 1024 * 1024
    assert parse_bytes("64KB") == 64 * 1024
    assert parse_bytes("-1") == -1
    with pytest.raises(ValueError, match="fractional"):
        parse_bytes("1.5g")
    with pytest.raises(ValueError, match="suffix"):
        parse_bytes("4xb")


def test_iec_suffixes_are_read_but_valid_only_from_spark_4_2():
    assert size_mb("spark.executor.memory", "4GiB") == size_mb("spark.executor.memory", "4gi") == 4096
    assert spark_rules.value_problem("spark.executor.memory", "4gib", "4.2.0") is None
    assert "from 4.2 only" in spark_rules.value_problem("spark.executor.memory", "4gib", "4.1.1")
    assert "from 4.2 only" in spark_rules.value_problem("spark.executor.memory", "4gib", None)


def test_a_size_of_a_property_outside_the_table_is_refused_not_guessed():
    with pytest.raises(ValueError, match="not a size property"):
        size_mb("spark.sql.shuffle.partitions", "200")
    with pytest.raises(ValueError, match="not a size property"):
        size_mb("spark.example.unknown", "4g")


def test_a_memory_setting_spark_refuses_reads_as_unknown():
    conf = {"spark.executor.memory": "1.5g", "spark.driver.memory": "2g"}
    assert conf_mb(conf, "spark.executor.memory") is None  # Spark would not have started with it
    assert conf_mb(conf, "spark.driver.memory") == 2048
    assert conf_mb(conf, "spark.executor.memoryOverhead") is None


def test_memory_overhead_is_the_larger_of_384_mib_and_ten_percent():
    assert default_memory_overhead_mb(2048) == 384
    assert default_memory_overhead_mb(20480) == 2048


def test_the_overhead_spark_gives_a_container_follows_the_configuration():
    assert memory_overhead_mb({}, 8192) == 819
    assert memory_overhead_mb({"spark.executor.memoryOverhead": "2g"}, 8192) == 2048
    assert memory_overhead_mb({"spark.yarn.executor.memoryOverhead": "1024"}, 8192) == 1024  # before Spark 2.3, MiB
    assert memory_overhead_mb({"spark.executor.memoryOverheadFactor": "0.4"}, 8192) == 3276
    assert memory_overhead_mb({"spark.executor.minMemoryOverhead": "1g"}, 8192) == 1024
    assert memory_overhead_mb({"spark.driver.memoryOverhead": "512m", "spark.executor.memoryOverhead": "2g"}, 1024, "driver") == 512
    with pytest.raises(ValueError, match="not a number"):
        memory_overhead_mb({"spark.executor.memoryOverheadFactor": "lots"}, 8192)


@pytest.mark.parametrize("master, local, cores, on_driver_machine", [
    ("local", True, 1, True), ("local[4]", True, 4, True), ("local[4,2]", True, 4, True), ("local[*]", True, None, True),
    (" local[2] ", True, 2, True), ("local-cluster[2,1,1024]", False, None, True), ("yarn", False, None, False),
    ("spark://host:7077", False, None, False), ("k8s://https://host", False, None, False), (None, False, None, False),
    ("localhost", False, None, False),
])
def test_local_masters_run_tasks_in_the_driver(master, local, cores, on_driver_machine):
    assert is_local_master(master) is local
    assert local_master_cores(master) == cores
    assert runs_on_driver_machine(master) is on_driver_machine


def test_local_cluster_names_its_executors():
    assert local_cluster_shape("local-cluster[2, 1, 1024]") == (2, 1, 1024)
    assert local_cluster_shape("local[2]") is None


def test_suggested_executor_memory_never_goes_below_sparks_minimum():
    assert executor_memory_text(100) == "512m"
    assert validation_problems({"spark.executor.memory": executor_memory_text(100)}, "4.0.1") == []


def test_validation_names_what_spark_would_refuse():
    problems = validation_problems(
        {"spark.executor.memory": "384m", "spark.sql.adaptive.enabled": "true", "spark.sql.shuffle.partitions": "0",
         "spark.speculation": "yes", "spark.locality.wait": "1.5s"}, "1.6.3")
    found = {(p.kind, p.keys) for p in problems}
    assert found == {(VALUE_PROBLEM, ("spark.executor.memory",)), (UNAVAILABLE_PROBLEM, ("spark.sql.adaptive.enabled",)),
                     (VALUE_PROBLEM, ("spark.sql.shuffle.partitions",)), (VALUE_PROBLEM, ("spark.speculation",)),
                     (VALUE_PROBLEM, ("spark.locality.wait",))}
    messages = [str(p) for p in problems]
    assert any("471859200" in m for m in messages)
    assert "spark.sql.adaptive.enabled does not exist before Spark 3.0 (the application runs 1.6.3)" in messages


def test_executor_counts_must_sit_within_dynamic_allocation_bounds():
    conf = {"spark.dynamicAllocation.enabled": "true", "spark.executor.instances": "32",
            "spark.dynamicAllocation.maxExecutors": "2", "spark.dynamicAllocation.minExecutors": "3"}
    problems = [p for p in validation_problems(conf, "3.3.0") if p.kind == DYNAMIC_ALLOCATION_BOUNDS_PROBLEM]
    assert [(p.keys, str(p)) for p in problems] == [
        (("spark.dynamicAllocation.minExecutors", "spark.dynamicAllocation.maxExecutors"),
         "spark.dynamicAllocation.minExecutors=3 is above spark.dynamicAllocation.maxExecutors=2"),
        (("spark.executor.instances", "spark.dynamicAllocation.maxExecutors"),
         "spark.executor.instances=32 is above spark.dynamicAllocation.maxExecutors=2"),
    ]
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


def test_executor_cores_below_task_cpus_name_both_properties():
    (problem,) = validation_problems({"spark.executor.cores": "1", "spark.task.cpus": "2"}, "3.5.1")
    assert (problem.kind, problem.keys) == (CORES_PROBLEM, ("spark.executor.cores", "spark.task.cpus"))


def test_the_defaults_the_project_assumes_are_sparks():
    assert SPARK_PROPERTIES["spark.sql.shuffle.partitions"].default == "200"
    assert size_mb("spark.executor.memory", SPARK_PROPERTIES["spark.executor.memory"].default) == 1024
