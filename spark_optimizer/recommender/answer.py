"""One recommendation: search a curve at an input size, then describe the winner as a
`recommendations` row (configuration, fragments, instances per cloud, intervals, confidence,
rationale). Shared by the build job and the JVM-free lookup, so both give the same answer."""

from __future__ import annotations

import math
import re
from typing import Mapping, Sequence

from spark_optimizer.cost import PricingCatalogue, compare_clouds, format_duration
from spark_optimizer.errors import SparkOptimizerError
from spark_optimizer.ml.model_inputs import GB
from spark_optimizer.recommender.curves import CurveSpec
from spark_optimizer.recommender.search import CandidateConfig, SearchResult, ranked, search
from spark_optimizer.recommender.sparkconf import Resources, databricks_cluster, spark_properties, spark_submit
from spark_optimizer.spark_rules import (
    memory_overhead_mb, parse_version, property_available, property_name_for, size_mb, validation_problems,
)

SIZE_BANDS = (("<1GB", 0, 1 * GB, 512 * 1024 * 1024), ("1-10GB", 1 * GB, 10 * GB, 3 * GB),
              ("10-100GB", 10 * GB, 100 * GB, 30 * GB), ("100GB-1TB", 100 * GB, 1024 * GB, 300 * GB),
              (">1TB", 1024 * GB, float("inf"), 3 * 1024 * GB))
"""(name, lower bound, upper bound, representative size) of the job-type rows' input-size bands."""
PLAN_CLOUDS = ("aws", "gcp", "azure", "databricks-aws")
RECOMMENDED_FOR_SPARK = "3.0"
"""The Spark version a recommendation is written for when the job's own is unknown (adaptive query
execution on); checked against Spark's own rules for that version (spark_optimizer/spark_rules.py)."""


class InvalidRecommendationError(SparkOptimizerError):
    """Thrown when a recommended configuration would be refused by Spark (a bug, never expected)."""


def target_version(spark_version: str | None) -> str:
    """The Spark version a configuration is checked against: the job's own, else 3.0."""
    return spark_version if parse_version(spark_version) else RECOMMENDED_FOR_SPARK


def has_aqe(spark_version: str | None) -> bool:
    """Whether the target Spark version has adaptive query execution (3.0+, per spark_rules' property table)."""
    return property_available("spark.sql.adaptive.enabled", target_version(spark_version))


def newest_version(versions) -> str | None:
    """The newest parseable Spark version among `versions` (None when none parses)."""
    known = [v for v in versions if parse_version(v)]
    return max(known, key=parse_version) if known else None


def dropped_keys(dropped: list[str]) -> set[str]:
    return {item.partition(":")[0].partition("=")[0] for item in dropped}


def valid_configuration(conf: dict[str, str], kept: list[dict[str, str]],
                        spark_version: str | None = None) -> tuple[dict[str, str], list[dict[str, str]], list[str]]:
    """`conf` for the job's Spark version (a property under the name that version knows, none it lacks) and
    without the rule properties Spark would refuse; the rule properties left; what was dropped and why.
    Raises InvalidRecommendationError when the searched part itself is invalid."""
    version = target_version(spark_version)
    dropped, renamed = [], {}
    for key in list(conf):
        name = property_name_for(key, version)
        if name is None:
            dropped.append(f"{key}: Spark {version} has no such property")
        elif name != key:
            renamed[key] = name
    conf = {renamed.get(k, k): v for k, v in conf.items() if property_name_for(k, version) is not None}
    kept = [item for item in kept if property_name_for(item["property"], version) is not None]
    for item in list(kept):
        key = renamed.get(item["property"], item["property"])
        problems = validation_problems({key: item["value"]}, version)
        if problems:
            conf = {k: v for k, v in conf.items() if k != key}
            kept = [k for k in kept if k != item]
            dropped.append(f"{item['property']}={item['value']} ({item['rule_id']}): {'; '.join(map(str, problems))}")
    if (conf.get("spark.dynamicAllocation.enabled") == "true" and "spark.dynamicAllocation.shuffleTracking.enabled" in dropped_keys(dropped)
            and conf.get("spark.shuffle.service.enabled") != "true"):
        # Before shuffle tracking (Spark 3.0) dynamic allocation ran only with the external shuffle service.
        conf["spark.shuffle.service.enabled"] = "true"
    problems = validation_problems(conf, version)
    if problems:
        raise InvalidRecommendationError("the recommended configuration would not pass Spark's validation: " + "; ".join(map(str, problems)))
    return conf, kept, dropped
_LOOKUP_ID = re.compile(r"^(rec-[0-9a-f]{12})(?:~e(\d+)c(\d+)m(\d+)p(\d+)i(\d+))?$")


def size_band(input_bytes: float) -> str:
    return next(name for name, low, high, _ in SIZE_BANDS if low <= input_bytes < high)


def base_id(*parts: object) -> str:
    import hashlib  # only the build names rows; a lookup need not load OpenSSL

    return "rec-" + hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:12]


def lookup_id(base: str, r: Resources, input_bytes: float) -> str:
    """The row's id plus the configuration and size asked: feedback can recover both from it."""
    return f"{base}~e{r.executors}c{r.executor_cores}m{r.executor_memory_mb}p{r.shuffle_partitions}i{int(input_bytes // (1024 * 1024))}"


def parse_recommendation_id(text: str) -> tuple[str, dict | None]:
    """'rec-…' or 'rec-…~e4c4m8192p64i10240' -> (row id, configuration or None)."""
    match = _LOOKUP_ID.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a recommendation id; ids look like rec-1a2b3c4d5e6f or "
                         "rec-1a2b3c4d5e6f~e4c4m8192p64i10240 (see `spark-optimizer recommend --format json`)")
    if match.group(2) is None:
        return match.group(1), None
    e, c, m, p, i = (int(match.group(k)) for k in range(2, 7))
    return match.group(1), {"executors": e, "executor_cores": c, "executor_memory_mb": m, "shuffle_partitions": p,
                            "input_bytes": i * 1024 * 1024}


def _plans(result: SearchResult, catalogue: PricingCatalogue, spot_share: float) -> dict:
    best = result.best
    clouds = [c for c in PLAN_CLOUDS if c in catalogue.clouds]
    out = {}
    for quote in compare_clouds(best.shape, best.runtime_s, catalogue, clouds, runtime_low_s=best.runtime_low_s,
                                runtime_high_s=best.runtime_high_s, spot_share=spot_share):
        c = quote.candidate
        out[quote.cloud] = {"error": quote.error} if c is None else {
            "instance_type": c.plan.worker_type.name, "workers": c.plan.workers, "driver_type": c.plan.driver_type.name,
            "cost": round(c.cost.total, 4), "cost_low": round(c.cost_low, 4), "cost_high": round(c.cost_high, 4),
            "currency": c.cost.currency, "spot_nodes": c.cost.spot_nodes, "plan": c.plan.describe()}
    return out


def recommend(spec: CurveSpec, input_bytes: float, catalogue: PricingCatalogue, *, cloud: str = "aws",
              objective: str = "balanced", deadline_s: float | None = None, budget: float | None = None,
              spot_share: float = 0.0, driver_memory_mb: int = 2048, dynamic_allocation: bool = False,
              rules: Mapping[str, tuple[str, str]] | None = None, row_id: str, context: str = "",
              configs: Sequence[CandidateConfig] | None = None, spark_version: str | None = None) -> tuple[dict, SearchResult]:
    """Search `spec`'s curve at `input_bytes` (over the grid, or over the asked `configs`) and describe the
    best candidate as row fields; with `configs` the row also has `ranking`, every asked configuration best first."""
    aqe = has_aqe(spark_version)
    interval = spec.interval_at(input_bytes)
    result = search(spec.curve, input_bytes, (interval.low_ratio, interval.high_ratio), catalogue, cloud, objective=objective,
                    deadline_s=deadline_s, budget=budget, spot_share=spot_share, driver_memory_mb=driver_memory_mb,
                    configs=configs, aqe_enabled=aqe)
    best = result.best
    shape = best.shape
    resources = Resources(shape.executors, shape.executor_cores, shape.executor_memory_mb, result.partitions_of(best),
                          driver_memory_mb, dynamic_allocation)
    conf, kept = spark_properties(resources, rules or {}, aqe)
    conf, kept, dropped = valid_configuration(conf, kept, spark_version)
    rec_id = row_id
    plans = _plans(result, catalogue, spot_share)
    databricks_plan = None
    if "databricks-aws" in catalogue.clouds:
        from spark_optimizer.cost import CostModelError, plan_instances

        try:
            databricks_plan = plan_instances(shape, catalogue, "databricks-aws")
        except CostModelError:
            databricks_plan = None
    trust = spec.trust_at(input_bytes, shape.total_executor_cores)
    methods = ["model"] + (["similarity"] if spec.source == "job_type" else []) + (["rules"] if kept else [])
    safe = spec.curve.safe_memory_mb(shape.executors, shape.executor_cores, resources.shuffle_partitions, aqe, input_bytes)
    memory_note = (f"safe executor memory {safe} MB from the peak-memory model" if spec.curve.resources
                   else "no peak execution memory logged: memory from the grid")
    if safe > shape.executor_memory_mb:
        memory_note += (f"; the asked configuration has {shape.executor_memory_mb} MB: expect spill" if configs is not None
                        else f", held at {shape.executor_memory_mb} MB (the most per core the {cloud} instance types "
                        "offer): expect spill")
    size_note = (f"; size prior {spec.curve.prior.source} (the curve alone does not grow with the input)"
                 if spec.curve.uses_prior else "")
    curve_note = {"own": f"its own scaling curve ({spec.configurations:g} configurations)",
                  "job_type": "the median curve of its job type (too few configurations of its own; LOW confidence)",
                  "single_run": "a single-run prior (driver-only time fixed, executor time divided among task slots; LOW confidence)",
                  }[spec.source]
    rationale = (f"{context}{shape.executors} x {shape.executor_cores} cores, {shape.executor_memory_mb} MB, "
                 f"{resources.shuffle_partitions} partitions: predicted {format_duration(best.runtime_s)} "
                 f"({trust.interval.describe()}), {best.cost.currency} {best.cost.total:.2f} on {best.plan.describe()}; "
                 f"{objective} over {len(result.candidates)} candidates at {human_size(input_bytes)}; runtime from "
                 f"{curve_note}, error: {spec.error_source}{size_note}; {memory_note}"
                 + ("" if aqe else f"; no adaptive query execution in Spark {target_version(spark_version)}: predicted "
                    "and configured without it")
                 + (f"; rules added {', '.join(k['property'] for k in kept)}" if kept else "")
                 + (f"; dropped for Spark {target_version(spark_version)}: {'; '.join(dropped)}" if dropped else "") + ".")
    row = {
        "recommendation_id": rec_id, "size_band": size_band(input_bytes), "input_bytes": int(input_bytes),
        "objective": objective, "cloud": best.plan.cloud, "executors": shape.executors, "dynamic_allocation": dynamic_allocation,
        "min_executors": resources.min_executors, "max_executors": resources.max_executors,
        "executor_cores": shape.executor_cores, "executor_memory_mb": shape.executor_memory_mb,
        "memory_overhead_mb": memory_overhead_mb(conf, shape.executor_memory_mb),
        "driver_memory_mb": size_mb("spark.driver.memory", conf["spark.driver.memory"]),
        "shuffle_partitions": resources.shuffle_partitions, "aqe_enabled": conf.get("spark.sql.adaptive.enabled") == "true",
        "skew_join_enabled": conf.get("spark.sql.adaptive.skewJoin.enabled") == "true", "spark_version": target_version(spark_version),
        "spark_conf": conf, "rule_properties": kept, "spark_submit": spark_submit(conf, rec_id),
        "databricks_cluster": databricks_cluster(conf, resources, databricks_plan, rec_id, spot_share),
        "instance_type": best.plan.worker_type.name, "instance_count": best.plan.workers, "instance_plans": plans,
        "spot_share": spot_share, "predicted_runtime_ms": int(best.runtime_s * 1000),
        "runtime_low_ms": int(best.runtime_low_s * 1000), "runtime_high_ms": int(best.runtime_high_s * 1000),
        "predicted_cost": best.cost.total, "cost_low": best.cost_low, "cost_high": best.cost_high,
        "currency": best.cost.currency, "runtime_error": spec.runtime_error, "error_source": spec.error_source,
        "interval_level": trust.interval.level, "interval_calibration": spec.calibration,
        "confidence": trust.score, "confidence_label": trust.label, "confidence_reason": trust.reason,
        "neighbour_distance": round(trust.distance, 3),
        "methods": methods, "rationale": rationale, "curve_source": spec.source,
    }
    if configs is not None:
        row["ranking"] = ranking(result, objective, deadline_s, budget, lambda cores: spec.trust_at(input_bytes, cores).label)
    return row, result


def ranking(result: SearchResult, objective: str, deadline_s: float | None, budget: float | None,
            label_at=lambda total_cores: None) -> list[dict]:
    """Every asked configuration, best first by the objective (with its confidence label: `label_at(total cores)`),
    then those that could not be evaluated."""
    out = []
    for rank, c in enumerate(ranked(result.candidates, objective, deadline_s, budget), start=1):
        within = (deadline_s is None or c.runtime_s <= deadline_s) and (budget is None or c.cost.total <= budget)
        out.append({"rank": rank, "candidate": c.label, "instance_type": c.plan.worker_type.name, "nodes": c.plan.workers,
                    "executors": c.shape.executors, "executor_cores": c.shape.executor_cores,
                    "executor_memory_mb": c.shape.executor_memory_mb, "shuffle_partitions": result.partitions_of(c),
                    "predicted_runtime_s": round(c.runtime_s, 1), "cost": round(c.cost.total, 4),
                    "cost_low": round(c.cost_low, 4), "cost_high": round(c.cost_high, 4), "currency": c.cost.currency,
                    "within_constraints": within, "confidence_label": label_at(c.shape.total_executor_cores), "error": None})
    out.extend({"rank": None, "candidate": label, "error": error} for label, error in result.errors.items())
    return out


def human_size(num_bytes: float) -> str:
    for unit, power in (("TB", 4), ("GB", 3), ("MB", 2), ("KB", 1)):
        if num_bytes >= 1024 ** power:
            return f"{num_bytes / 1024 ** power:,.3g} {unit}"
    return f"{int(num_bytes)} B"


def nan_to_none(value):
    return None if isinstance(value, float) and math.isnan(value) else value
