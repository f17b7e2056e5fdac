"""From rule findings to a configuration Spark will accept: each finding's properties fitted to the
application (its Spark version's names, values Spark validates, nothing it already has), then all
findings merged into one configuration with no contradictions, naming the rule that settled each conflict."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from spark_optimizer.rules.model import Finding
from spark_optimizer.spark_rules import (
    SHUFFLE_FOR_DYNAMIC_ALLOCATION_PROBLEM, SPARK_PROPERTIES, is_true, parse_duration_ms, property_name_for, size_bytes,
    validation_problems, value_problem,
)

# Properties that describe one thing together: the rule that sets one of them sets all of them, so
# two rules' halves never mix (e.g. executor count from one rule, cores from another).
GROUPS = {
    "executor count": ("spark.executor.instances", "spark.executor.cores", "spark.dynamicAllocation.minExecutors",
                       "spark.dynamicAllocation.maxExecutors", "spark.dynamicAllocation.initialExecutors"),
    "executor memory": ("spark.executor.memory", "spark.executor.memoryOverhead", "spark.yarn.executor.memoryOverhead"),
}
_GROUP_OF = {key: name for name, keys in GROUPS.items() for key in keys}

# Properties a platform sets itself: Databricks sizes executors by node type (one executor per
# worker) and scales with its own autoscaler, not Spark's dynamic allocation.
PLATFORM_MANAGED = {"databricks": ("spark.executor.instances", "spark.executor.cores", "spark.dynamicAllocation.")}


def platform_manages(key: str, platform: str | None) -> bool:
    return any(key.startswith(prefix) for prefix in PLATFORM_MANAGED.get(platform or "", ()))


def same_value(key: str, a: str | None, b: str | None) -> bool:
    """Whether two settings of `key` mean the same to Spark ('4096m' == '4g', 'TRUE' == 'true')."""
    if a is None or b is None:
        return False
    prop = SPARK_PROPERTIES.get(key)
    try:
        if prop is not None and prop.kind == "bytes":
            return size_bytes(key, a) == size_bytes(key, b)
        if prop is not None and prop.kind == "time":
            return parse_duration_ms(a, prop.unit) == parse_duration_ms(b, prop.unit)
        if prop is not None and prop.kind in ("int", "double"):
            return float(a) == float(b)
        if prop is not None and prop.kind == "bool":
            return a.strip().lower() == b.strip().lower()
    except ValueError:
        pass
    return a.strip() == b.strip()


def fit_to_application(finding: Finding, current: Mapping[str, str], spark_version: str | None,
                       platform: str | None = None) -> Finding | None:
    """The finding with only properties this application's Spark has (renamed ones under the name its
    version uses), values Spark accepts, and no value the application already runs with.

    A finding whose every property is dropped goes (it had nothing left to say); one that never
    proposed a property (advice only) stays. What was dropped and why is in evidence["not_suggested"].
    """
    kept: dict[str, str] = {}
    dropped: list[str] = []
    for key, value in finding.recommended_conf.items():
        name = property_name_for(key, spark_version)
        if name is None:
            dropped.append(f"{key}: not in Spark {spark_version or '(unknown version)'}")
            continue
        if platform_manages(name, platform):
            dropped.append(f"{name}: {platform} manages it")
            continue
        problem = value_problem(name, value, spark_version)
        if problem:
            dropped.append(problem)
        elif same_value(name, value, current.get(name)):
            dropped.append(f"{name}={value}: already the application's value")
        else:
            kept[name] = value
    if not dropped:
        return finding
    if finding.recommended_conf and not kept:
        return None
    return dataclasses.replace(finding, recommended_conf=kept, evidence={**finding.evidence, "not_suggested": dropped})


@dataclass
class MergedConfiguration:
    """One configuration for the application: `conf`, the rule each value comes from, and how conflicts were settled."""

    conf: dict[str, str] = field(default_factory=dict)
    chosen_by: dict[str, str] = field(default_factory=dict)
    resolved: list[str] = field(default_factory=list)


def merge_findings(findings: Iterable[Mapping], current: Mapping[str, str], spark_version: str | None,
                   platform: str | None = None) -> MergedConfiguration:
    """All findings' properties as one configuration.

    `findings` are rows with rule_id, severity_rank and recommended_conf ({property: value}).
    The most severe finding wins a key (ties: the order given); a group of properties that describe
    one thing (executor count, executor memory) comes whole from the first rule that sets any of it.
    Then the executor count is brought within the dynamic-allocation bounds, and anything Spark would
    still refuse together with the current settings is left out. Every decision is in `resolved`.
    """
    merged = MergedConfiguration()
    group_owner: dict[str, str] = {}
    for f in sorted(findings, key=lambda f: -(f.get("severity_rank") or 0)):
        rule = f.get("rule_id") or "rule"
        for key, value in (f.get("recommended_conf") or {}).items():
            key, value = key.strip(), value.strip()
            if not key or not value or platform_manages(key, platform):
                continue
            group = _GROUP_OF.get(key)
            if group and group_owner.setdefault(group, rule) != rule:
                merged.resolved.append(f"{key}={value} ({rule}) left out: the {group} comes from {group_owner[group]}")
                continue
            if key in merged.conf:
                if not same_value(key, merged.conf[key], value):
                    merged.resolved.append(f"{key}: {merged.conf[key]} ({merged.chosen_by[key]}) kept over {value} ({rule}), "
                                           "the more severe finding")
                continue
            merged.conf[key] = value
            merged.chosen_by[key] = rule
    _drop_unsupported_dynamic_allocation(merged, current, spark_version)
    _fit_executor_count(merged, current)
    _drop_refused(merged, current, spark_version)
    return merged


def _drop_unsupported_dynamic_allocation(merged: MergedConfiguration, current: Mapping[str, str], spark_version: str | None) -> None:
    """Dynamic allocation suggested where Spark would refuse it (no shuffle service, no shuffle tracking
    before 3.0) goes, with every dynamic-allocation property that came with it."""
    if "spark.dynamicAllocation.enabled" not in merged.conf:
        return
    problems = [p for p in validation_problems({**current, **merged.conf}, spark_version)
                if p.kind == SHUFFLE_FOR_DYNAMIC_ALLOCATION_PROBLEM]
    if not problems:
        return
    for key in [k for k in merged.conf if k.startswith("spark.dynamicAllocation.")]:
        merged.resolved.append(f"{key}={merged.conf.pop(key)} ({merged.chosen_by.pop(key)}) left out: {problems[0]}")


def _fit_executor_count(merged: MergedConfiguration, current: Mapping[str, str]) -> None:
    """Under dynamic allocation spark.executor.instances is the initial count: keep it within the bounds
    (the application's own count too, when the merged bounds would no longer hold it)."""
    effective = {**current, **merged.conf}
    if not is_true(effective.get("spark.dynamicAllocation.enabled")) or effective.get("spark.executor.instances") is None:
        return
    try:
        instances = int(effective["spark.executor.instances"])
    except ValueError:
        return
    merged.chosen_by.setdefault("spark.executor.instances", "the application's setting")
    original = instances
    bounds = [("spark.dynamicAllocation.maxExecutors", min), ("spark.dynamicAllocation.minExecutors", max)]
    for key, pick in bounds:
        if effective.get(key) is None:
            continue
        bound = int(effective[key])
        fitted = pick(instances, bound)
        if fitted != instances:
            source = merged.chosen_by.get(key, "the application's setting")
            merged.resolved.append(f"spark.executor.instances: {instances} ({merged.chosen_by['spark.executor.instances']}) "
                                   f"-> {fitted}, within dynamic allocation's {key}={bound} ({source})")
            instances = fitted
    if instances != original or "spark.executor.instances" in merged.conf:
        merged.conf["spark.executor.instances"] = str(instances)
    else:
        merged.chosen_by.pop("spark.executor.instances")


def _drop_refused(merged: MergedConfiguration, current: Mapping[str, str], spark_version: str | None) -> None:
    for problem in validation_problems({**current, **merged.conf}, spark_version):
        for key in list(merged.conf):
            if key in problem.keys:
                merged.resolved.append(f"{key}={merged.conf.pop(key)} ({merged.chosen_by.pop(key)}) left out: {problem}")
                break
    for key in list(merged.conf):
        if same_value(key, merged.conf[key], current.get(key)):
            merged.conf.pop(key)
            merged.chosen_by.pop(key)
