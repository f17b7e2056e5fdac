"""Spark properties of a recommended configuration, and the ready-to-paste fragments:
a `spark-submit --conf ...` string and a Databricks cluster JSON fragment."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Iterable, Mapping

from spark_optimizer.spark_rules import conf_mb, default_memory_overhead_mb, is_true

RECOMMENDATION_TAG = "spark.optimizer.recommendationId"  # the tag spark_optimizer/ml/signature.py reads back
# Properties the search sets itself; a rule's value for one of them is superseded by the search.
SEARCHED = {"spark.executor.instances", "spark.executor.cores", "spark.executor.memory", "spark.sql.shuffle.partitions",
            "spark.dynamicAllocation.enabled", "spark.dynamicAllocation.minExecutors", "spark.dynamicAllocation.maxExecutors",
            "spark.dynamicAllocation.initialExecutors", "spark.sql.adaptive.enabled", "spark.default.parallelism"}


@dataclass(frozen=True)
class Resources:
    executors: int
    executor_cores: int
    executor_memory_mb: int
    shuffle_partitions: int
    driver_memory_mb: int
    dynamic_allocation: bool = False

    @property
    def min_executors(self) -> int | None:
        # Half the recommended count stays up; the job scales out to the count the search chose.
        return max(1, math.ceil(self.executors / 2)) if self.dynamic_allocation else None

    @property
    def max_executors(self) -> int | None:
        return self.executors if self.dynamic_allocation else None


def mb_to_spark(mb: int) -> str:
    return f"{mb // 1024}g" if mb % 1024 == 0 else f"{mb}m"


def rule_properties(findings: Iterable[Mapping]) -> dict[str, tuple[str, str]]:
    """{property: (value, rule_id)} from findings' recommended_conf, most severe rule first wins."""
    chosen: dict[str, tuple[str, str]] = {}
    for f in sorted(findings, key=lambda f: -(f.get("severity_rank") or 0)):
        for key, value in (f.get("recommended_conf") or {}).items():
            if key and value and key.strip() not in chosen:
                chosen[key.strip()] = (value.strip(), f.get("rule_id") or "rule")
    return chosen


def spark_properties(r: Resources, rules: Mapping[str, tuple[str, str]],
                     aqe_enabled: bool = True) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The whole configuration, and the rule properties kept ({property, value, rule_id}); adaptive query
    execution only when the job's Spark has it (`aqe_enabled`: 3.0+)."""
    rule_values = {key: value for key, (value, _) in rules.items()}
    overhead = max(default_memory_overhead_mb(r.executor_memory_mb), conf_mb(rule_values, "spark.executor.memoryOverhead") or 0)
    driver_mb = max(r.driver_memory_mb, conf_mb(rule_values, "spark.driver.memory") or 0)
    conf = {
        "spark.executor.cores": str(r.executor_cores),
        "spark.executor.memory": mb_to_spark(r.executor_memory_mb),
        "spark.executor.memoryOverhead": mb_to_spark(overhead),
        "spark.driver.memory": mb_to_spark(driver_mb),
        "spark.sql.shuffle.partitions": str(r.shuffle_partitions),
        "spark.default.parallelism": str(r.shuffle_partitions),  # RDD stages get the same task count
    }
    if aqe_enabled:
        conf.update({"spark.sql.adaptive.enabled": "true", "spark.sql.adaptive.coalescePartitions.enabled": "true",
                     "spark.sql.adaptive.skewJoin.enabled": "true"})
    if r.dynamic_allocation:
        conf.update({"spark.dynamicAllocation.enabled": "true", "spark.dynamicAllocation.minExecutors": str(r.min_executors),
                     "spark.dynamicAllocation.maxExecutors": str(r.max_executors),
                     "spark.dynamicAllocation.initialExecutors": str(r.executors)})
        if not is_true(rules.get("spark.shuffle.service.enabled", (None, ""))[0]):
            # Spark refuses dynamic allocation with no way to keep shuffle files when executors go.
            conf["spark.dynamicAllocation.shuffleTracking.enabled"] = "true"
    else:
        conf["spark.executor.instances"] = str(r.executors)
    kept = []
    for key, (value, rule_id) in sorted(rules.items()):
        if key in SEARCHED or key in ("spark.executor.memoryOverhead", "spark.driver.memory"):
            continue
        conf[key] = value
        kept.append({"property": key, "value": value, "rule_id": rule_id})
    return conf, kept


def spark_submit(conf: Mapping[str, str], recommendation_id: str) -> str:
    items = {**conf, RECOMMENDATION_TAG: recommendation_id}
    return "spark-submit " + " ".join(f"--conf {k}={v}" for k, v in items.items())


def rules_of(kept: Iterable[Mapping[str, str]] | None) -> dict[str, tuple[str, str]]:
    """{property: (value, rule_id)} of stored `recommendations.rule_properties` (the inverse of spark_properties' `kept`)."""
    return {item["property"]: (item["value"], item["rule_id"]) for item in kept or []}


def databricks_cluster(conf: Mapping[str, str], r: Resources, plan, recommendation_id: str, spot_share: float) -> dict:
    """Cluster spec for the Jobs/Clusters API (`recommendations.databricks_cluster`): Databricks runs one executor
    per worker node, so the worker count is the number of nodes the cost model packed the executors onto."""
    spark_conf = {k: v for k, v in conf.items() if k not in (
        "spark.executor.instances", "spark.executor.cores", "spark.executor.memory", "spark.executor.memoryOverhead",
        "spark.driver.memory", "spark.dynamicAllocation.enabled", "spark.dynamicAllocation.minExecutors",
        "spark.dynamicAllocation.maxExecutors", "spark.dynamicAllocation.initialExecutors")}
    spark_conf[RECOMMENDATION_TAG] = recommendation_id
    cluster: dict = {} if plan is None else {"node_type_id": plan.worker_type.name, "driver_node_type_id": plan.driver_type.name}
    workers = plan.workers if plan is not None else r.executors
    if r.dynamic_allocation:
        cluster["autoscale"] = {"min_workers": max(1, math.ceil(workers / 2)), "max_workers": workers}
    else:
        cluster["num_workers"] = workers
    cluster["spark_conf"] = spark_conf
    if spot_share > 0 and plan is not None:
        on_demand = workers - round(spot_share * workers)
        cluster["aws_attributes"] = {"availability": "SPOT_WITH_FALLBACK", "first_on_demand": on_demand + 1}
    return cluster


def without_nulls(value):
    """A stored struct as the API takes it: its null fields left out (a struct read back has every field)."""
    if isinstance(value, Mapping):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    return value


def cluster_json(cluster: Mapping | None) -> str:
    """The Databricks cluster spec as ready-to-paste JSON."""
    return json.dumps(without_nulls(cluster or {}), indent=2)
