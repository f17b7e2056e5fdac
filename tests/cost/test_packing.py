"""Packing executors onto instances: core-bound and memory-bound nodes, executors that fit
nowhere, the driver's node, and the cheapest-type choice checked against brute force."""

from __future__ import annotations

import math

import pytest

from spark_optimizer.cost import (
    ClusterShape,
    InstanceFitError,
    InvalidShapeError,
    fit_executors,
    plan_instances,
)


def test_spark_default_overhead_and_container_size():
    shape = ClusterShape(executors=2, executor_cores=4, executor_memory_mb=8192)
    assert shape.executor_container_mb == 8192 + 819  # max(384, 10% of 8192)
    assert ClusterShape(1, 1, 1024).executor_container_mb == 1024 + 384  # the 384 MiB floor
    explicit = ClusterShape(1, 2, 4096, memory_overhead_mb=1024, offheap_memory_mb=512, pyspark_memory_mb=256)
    assert explicit.executor_container_mb == 4096 + 1024 + 512 + 256
    assert ClusterShape(1, 1, 1024, driver_memory_mb=4096).driver_container_mb == 4096 + 409


def test_core_bound_node(toy):
    # small: 4 vCPUs, 16 GiB - 4 GiB reserve (25%) = 12288 MiB. 2-core 2 GiB executors need
    # 2048 + 384 = 2432 MiB: cores allow 4 // 2 = 2, memory 12288 // 2432 = 5 -> 2, core-bound.
    plan = plan_instances(ClusterShape(executors=5, executor_cores=2, executor_memory_mb=2048), toy, "toy", "small")
    assert (plan.executors_per_node, plan.workers, plan.limited_by) == (2, 3, "cores")  # ceil(5 / 2) = 3
    assert plan.wasted_vcpus == 3 * 4 - 5 * 2
    assert plan.wasted_memory_mb == 3 * 12288 - 5 * 2432
    assert plan.reserved_memory_mb_per_node == 4096


def test_memory_bound_node(toy):
    # 1-core 5 GiB executors: container 5120 + 512 = 5632 MiB; small holds 12288 // 5632 = 2 of
    # them although it has 4 vCPUs -> memory-bound, 2 vCPUs idle per node.
    plan = plan_instances(ClusterShape(executors=4, executor_cores=1, executor_memory_mb=5120), toy, "toy", "small")
    assert (plan.executors_per_node, plan.workers, plan.limited_by) == (2, 2, "memory")
    assert plan.wasted_vcpus == 2 * 4 - 4


def test_real_emr_packing_of_four_core_eight_gib_executors(catalogue):
    # m5.2xlarge: 8 vCPUs, 32 GiB - 8 GiB = 24576 MiB usable; executor 8192 + 819 = 9011 MiB
    # -> cores 8 / 4 = 2.0, memory 24576 / 9011 = 2.7: two per node, the cores run out first.
    plan = plan_instances(ClusterShape(executors=6, executor_cores=4, executor_memory_mb=8192), catalogue, "aws", "m5.2xlarge")
    assert (plan.workers, plan.executors_per_node, plan.limited_by) == (3, 2, "cores")
    assert plan.wasted_memory_mb == 3 * 24576 - 6 * 9011
    assert plan.describe() == "aws: 3 x m5.2xlarge (2 executors each, cores-bound) + 1 x c4.large master"
    # The same executors on r5.2xlarge (64 GiB) are core-bound too; on c5.2xlarge (16 GiB) memory-bound.
    assert plan_instances(plan.shape, catalogue, "aws", "c5.2xlarge").limited_by == "memory"


def test_executor_that_fits_no_instance_type(catalogue):
    shape = ClusterShape(executors=2, executor_cores=4, executor_memory_mb=300 * 1024)
    with pytest.raises(InstanceFitError) as info:
        plan_instances(shape, catalogue, "gcp")
    message = str(info.value)
    assert "no gcp instance type fits one executor of 4 cores and 337920 MiB" in message
    assert "the largest, n2-standard-64" in message and "use smaller executors" in message


def test_executor_too_big_for_the_requested_type(catalogue):
    shape = ClusterShape(executors=2, executor_cores=8, executor_memory_mb=8192)
    with pytest.raises(InstanceFitError, match=r"does not fit on aws m5\.xlarge \(4 usable vCPUs and 12288 MiB.*not enough vCPUs\)"):
        plan_instances(shape, catalogue, "aws", "m5.xlarge")
    wide = ClusterShape(executors=2, executor_cores=2, executor_memory_mb=16384)
    with pytest.raises(InstanceFitError, match=r"not enough memory"):
        plan_instances(wide, catalogue, "aws", "m5.xlarge")


def test_driver_on_master_or_dedicated_node(toy):
    shape = ClusterShape(executors=2, executor_cores=2, executor_memory_mb=2048, driver_memory_mb=2048)
    assert plan_instances(shape, toy, "toy").driver_role == "master"
    assert plan_instances(shape, toy, "databricks").driver_role == "driver"
    assert plan_instances(shape, toy, "toy").driver_type.name == "small"  # cheapest node that holds 2048 + 384 MiB
    # A 20 GiB driver (+2 GiB overhead) does not fit small's 12 GiB usable: the driver moves to big.
    big_driver = ClusterShape(executors=2, executor_cores=2, executor_memory_mb=2048, driver_memory_mb=20480)
    assert plan_instances(big_driver, toy, "toy").driver_type.name == "big"
    with pytest.raises(InstanceFitError, match=r"driver .* does not fit on a toy small primary \(master\) node"):
        plan_instances(big_driver, toy, "toy", driver_instance_type="small")
    huge_driver = ClusterShape(executors=2, executor_cores=2, executor_memory_mb=2048, driver_memory_mb=100 * 1024)
    with pytest.raises(InstanceFitError, match=r"no toy instance type can be the primary \(master\) node for a driver"):
        plan_instances(huge_driver, toy, "toy")


def test_cheapest_type_matches_brute_force(catalogue):
    shapes = [
        ClusterShape(executors=10, executor_cores=4, executor_memory_mb=8192),
        ClusterShape(executors=7, executor_cores=2, executor_memory_mb=14336),
        ClusterShape(executors=3, executor_cores=5, executor_memory_mb=30720),
        ClusterShape(executors=40, executor_cores=1, executor_memory_mb=1536),
    ]
    for cloud in ("aws", "gcp", "azure", "databricks-aws", "databricks-gcp"):
        provider = catalogue.provider(cloud)
        for shape in shapes:
            chosen = plan_instances(shape, catalogue, cloud)
            hourly = {}
            for instance in provider.instances.values():
                per_node = fit_executors(shape, instance, provider).executors_per_node
                if per_node:
                    hourly[instance.name] = math.ceil(shape.executors / per_node) * provider.node_hourly(instance)
            assert chosen.hourly_on_demand - provider.node_hourly(chosen.driver_type) == pytest.approx(min(hourly.values()))
            assert chosen.worker_type.name in {n for n, h in hourly.items() if h == pytest.approx(min(hourly.values()))}


def test_cheapest_emr_choice_for_memory_heavy_executors(catalogue):
    # 4 executors x 2 cores x 28 GiB: container 28672 + 2867 = 31539 MiB. Usable memory after the
    # min(25%, 8 GiB) reserve and executors per node (memory-bound everywhere):
    #   r5.2xlarge  56 GiB -> 1 -> 4 nodes x (0.504 + 0.126)  = 2.52 /h
    #   r5.4xlarge 120 GiB -> 3 -> 2 nodes x (1.008 + 0.252)  = 2.52 /h
    #   r5.8xlarge  248 GiB -> 8 -> 1 node  x (2.016 + 0.27)   = 2.286 /h
    #   m4.10xlarge 152 GiB -> 4 -> 1 node  x (2.00 + 0.27)    = 2.27 /h  <- cheapest
    #   r4.8xlarge  236 GiB -> 7 -> 1 node  x (2.128 + 0.27)   = 2.398 /h
    #   i3.4xlarge  114 GiB -> 3 -> 2 nodes x (1.248 + 0.312)  = 3.12 /h
    #   m5.8xlarge  120 GiB -> 3 -> 2 nodes x (1.536 + 0.27)   = 3.612 /h
    plan = plan_instances(ClusterShape(executors=4, executor_cores=2, executor_memory_mb=28672), catalogue, "aws")
    per_hour = {"r5.2xlarge": 4 * (0.504 + 0.126), "r5.4xlarge": 2 * (1.008 + 0.252), "r5.8xlarge": 1 * (2.016 + 0.27),
                "m4.10xlarge": 1 * (2.00 + 0.27), "r4.8xlarge": 1 * (2.128 + 0.27),
                "i3.4xlarge": 2 * (1.248 + 0.312), "m5.8xlarge": 2 * (1.536 + 0.27)}
    assert (plan.worker_type.name, plan.workers, plan.executors_per_node) == ("m4.10xlarge", 1, 4)
    assert plan.worker_type.name == min(per_hour, key=per_hour.get)
    assert plan_instances(plan.shape, catalogue, "aws", "r5.2xlarge").limited_by == "memory"
    assert plan.hourly_on_demand == pytest.approx(per_hour["m4.10xlarge"] + plan.driver_type.on_demand_hourly
                                                  + plan.driver_type.platform_fee_hourly)


def test_invalid_shapes_are_refused():
    with pytest.raises(InvalidShapeError, match=r"ClusterShape\.executor_cores must be a positive integer, found 0"):
        ClusterShape(executors=1, executor_cores=0, executor_memory_mb=1024)
    with pytest.raises(InvalidShapeError, match=r"ClusterShape\.memory_overhead_mb must be an integer >= 0"):
        ClusterShape(executors=1, executor_cores=1, executor_memory_mb=1024, memory_overhead_mb=-1)


def test_shape_from_spark_conf():
    conf = {
        "spark.executor.instances": "6", "spark.executor.cores": "4", "spark.executor.memory": "8g",
        "spark.driver.memory": "2g", "spark.memory.offHeap.enabled": "true", "spark.memory.offHeap.size": "1g",
    }
    shape = ClusterShape.from_spark_conf(conf)
    assert (shape.executors, shape.executor_cores, shape.executor_memory_mb) == (6, 4, 8192)
    assert (shape.executor_overhead_mb, shape.offheap_memory_mb, shape.driver_memory_mb) == (819, 1024, 2048)
    assert ClusterShape.from_spark_conf({**conf, "spark.executor.memoryOverhead": "2048"}, executors=9).executor_overhead_mb == 2048
    assert ClusterShape.from_spark_conf({**conf, "spark.executor.memoryOverheadFactor": "0.4"}).executor_overhead_mb == 3276
    with pytest.raises(InvalidShapeError, match=r"spark\.executor\.instances is not set; pass executors="):
        ClusterShape.from_spark_conf({"spark.executor.cores": "4"})


@pytest.mark.parametrize("key, text, mb", [
    ("spark.executor.memory", "4g", 4096), ("spark.executor.memory", "2048", 2048), ("spark.executor.memory", "2gb", 2048),
    ("spark.executor.memoryOverhead", "1024", 1024),
    ("spark.memory.offHeap.size", "1073741824", 1024),  # a bare number is bytes for this one, as Spark reads it
])
def test_shape_sizes_are_read_in_each_propertys_own_unit(key, text, mb):
    conf = {"spark.executor.instances": "1", "spark.memory.offHeap.enabled": "true", key: text}
    shape = ClusterShape.from_spark_conf(conf)
    read = {"spark.executor.memory": shape.executor_memory_mb, "spark.executor.memoryOverhead": shape.executor_overhead_mb,
            "spark.memory.offHeap.size": shape.offheap_memory_mb}
    assert read[key] == mb


@pytest.mark.parametrize("text", ["lots", "1.5g", "4xb"])
def test_a_size_spark_refuses_is_a_bad_shape(text):
    with pytest.raises(InvalidShapeError, match=r"spark\.executor\.memory must be a Spark size"):
        ClusterShape.from_spark_conf({"spark.executor.instances": "1", "spark.executor.memory": text})
