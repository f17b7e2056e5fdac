"""The candidate search: a grid of executors x cores x memory x shuffle partitions, each evaluated
with a runtime curve (with adaptive query execution when the job's Spark has it, 3.0+) and priced
with the cost model, then chosen by an objective.

The grid scales with the input: executor counts run from 1 to 512, but a shape gets no more task
slots than the data has ~128 MB partitions to give them (at least 16 slots); shuffle partitions
come from the bytes shuffled (the input times the job's shuffle/input ratio; the input itself when
the ratio is unknown) at 128-200 MB each — the band the partition rules of defaults/rules.toml
accept — rounded up to whole waves of the shape's slots. Executor memory starts at the resource
model's safe memory for the size and partition count (per-task peaks), and at least what lets each
slot's share of execution memory hold one partition (`partition_floor_mb`), bounded by the largest
memory per core any instance type of the cloud offers; a shape whose safe memory is above that
bound is kept at the bound and its rationale says so.

Per shape (executors, cores, memory) the partition count only changes the runtime, not the price,
so the fastest of the shape's partition candidates whose safe memory the shape holds is kept
before pricing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from spark_optimizer.cost import (
    BALANCED, CHEAPEST_WITHIN_DEADLINE, FASTEST_WITHIN_BUDGET, Candidate, ClusterShape, CostModelError,
    NoFeasibleCandidateError, PricingCatalogue, choose, plan_instances,
)
from spark_optimizer.ml.model_inputs import MEMORY_FRACTION, RESERVED_MEMORY_MB
from spark_optimizer.recommender.curves import Curve
from spark_optimizer.spark_rules import MEMORY_OVERHEAD_FACTOR, MIN_EXECUTOR_MEMORY_MB

EXECUTOR_COUNTS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
EXECUTOR_CORES = (2, 4, 8)
MEMORY_PER_CORE_MB = (2048, 4096)
TARGET_PARTITION_BYTES = 128 * 1024 * 1024
"""Bytes per shuffle partition aimed at; defaults/rules.toml: [too_many_shuffle_partitions] target_partition_mb."""
MAX_PARTITION_BYTES = 200 * 1024 * 1024
"""Above this per partition the rules call partitions too few; defaults/rules.toml: [too_few_shuffle_partitions]."""
MAX_PARTITIONS = 100_000
MIN_SLOT_CAP = 16
MAX_HEAP_MB = 64 * 1024
"""Executor heaps beyond ~64 GB spend long in GC; no candidate asks for more."""
SPOT_SHARE = 0.5
"""`--spot` puts half the workers on spot: the on-demand half keeps the job and most shuffle output
alive through a reclaim (the usual instance-fleet practice); the cost model adds the expected rework."""


@dataclass(frozen=True)
class CandidateConfig:
    """A configuration the user asks to compare: an instance type of the catalogue, optionally the node
    count and the executor layout (missing parts are derived: `executor_cores` 4 or the node's vCPUs if
    fewer, as many executors per node as its cores hold, the node's usable memory shared among them)."""

    instance_type: str
    nodes: int | None = None
    executors: int | None = None
    executor_cores: int | None = None
    executor_memory_mb: int | None = None
    cloud: str | None = None
    """Where the instance type is priced; default: the asked cloud, else the cloud whose catalogue has it."""

    @classmethod
    def from_mapping(cls, item: dict) -> "CandidateConfig":
        known = {"instance_type", "nodes", "executors", "executor_cores", "executor_memory_mb", "cloud"}
        unknown = sorted(set(item) - known)
        if unknown or "instance_type" not in item:
            raise ValueError(f"a candidate configuration needs instance_type and may have {sorted(known)}; found {dict(item)!r}")
        values = {}
        for key in known - {"instance_type", "cloud"}:
            value = item.get(key)
            if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
                continue
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise ValueError(f"candidate {item!r}: {key} must be a whole number, found {value!r}") from None
            if number < 1:
                raise ValueError(f"candidate {item!r}: {key} must be at least 1, found {number}")
            values[key] = number
        cloud = str(item["cloud"]).strip() if item.get("cloud") else None
        return cls(str(item["instance_type"]).strip(), cloud=cloud, **values)

    def label(self) -> str:
        layout = "".join(f" {k}={v}" for k, v in (("nodes", self.nodes), ("executors", self.executors),
                                                  ("cores", self.executor_cores), ("memory_mb", self.executor_memory_mb)) if v)
        return f"{self.instance_type}{layout}"


def candidate_plan(config: CandidateConfig, catalogue: PricingCatalogue, cloud: str, driver_memory_mb: int):
    """The shape and the priced plan of one asked configuration, billed for at least its `nodes`."""
    from dataclasses import replace

    if config.cloud:
        cloud = config.cloud
    elif config.instance_type not in catalogue.provider(cloud).instances:
        cloud = next((name for name in catalogue.clouds if not name.startswith("databricks")
                      and config.instance_type in catalogue.provider(name).instances), cloud)
    provider = catalogue.provider(cloud)
    instance = provider.instance(config.instance_type)
    usable_cores = instance.vcpus - provider.reserve.cores
    usable_mb = instance.memory_mb - provider.reserve.memory_mb(instance.memory_gib)
    cores = config.executor_cores or min(4, usable_cores)
    per_node = max(usable_cores // cores, 1)
    memory = config.executor_memory_mb or int(usable_mb / per_node / (1 + MEMORY_OVERHEAD_FACTOR)) // 512 * 512
    executors = config.executors or per_node * (config.nodes or 1)
    shape = ClusterShape(executors=executors, executor_cores=cores, executor_memory_mb=memory, driver_memory_mb=driver_memory_mb)
    plan = plan_instances(shape, catalogue, cloud, config.instance_type)
    if config.nodes and config.nodes > plan.workers:
        extra = config.nodes - plan.workers
        plan = replace(plan, workers=config.nodes, wasted_vcpus=plan.wasted_vcpus + extra * usable_cores,
                       wasted_memory_mb=plan.wasted_memory_mb + extra * usable_mb,
                       hourly_on_demand=plan.hourly_on_demand + extra * provider.node_hourly(instance, plan.tier))
    elif config.nodes and config.nodes < plan.workers:
        raise CostModelError(f"{config.label()}: {executors} executors of {cores} cores and {memory} MB need "
                             f"{plan.workers} x {config.instance_type}, more than the {config.nodes} node(s) given")
    return shape, plan


def shuffled_bytes(curve: Curve, input_bytes: float) -> float:
    """The bytes a run of `input_bytes` shuffles, by the curve's measured shuffle/input ratio (1 when unknown)."""
    ratio = curve.shuffle_input_ratio
    return input_bytes * (ratio if ratio > 0 else 1.0)


def evaluate_configs(curve: Curve, input_bytes: float, interval: tuple[float, float], catalogue: PricingCatalogue, cloud: str,
                     configs: Sequence[CandidateConfig], *, spot_share: float = 0.0, driver_memory_mb: int = 2048,
                     aqe_enabled: bool = True) -> tuple[list[Candidate], dict, dict[str, str]]:
    """The asked configurations priced and predicted (partitions chosen as in the grid), and per label the
    reason a configuration could not be evaluated (not in the catalogue, does not fit, below Spark's minimum)."""
    candidates, partitions, errors = [], {}, {}
    shuffle_bytes = shuffled_bytes(curve, input_bytes)
    for config in configs:
        try:
            shape, plan = candidate_plan(config, catalogue, cloud, driver_memory_mb)
        except (CostModelError, ValueError) as error:
            errors[config.label()] = str(error)
            continue
        if shape.executor_memory_mb < MIN_EXECUTOR_MEMORY_MB:
            errors[config.label()] = (f"executor memory {shape.executor_memory_mb} MB is below Spark's minimum of "
                                      f"{MIN_EXECUTOR_MEMORY_MB} MiB")
            continue
        options = partition_candidates(shape.total_executor_cores, shuffle_bytes)
        runtime_ms, best_p = min((curve.predict_ms(shape.executors, shape.executor_cores, shape.executor_memory_mb, p,
                                                   aqe_enabled, input_bytes), p) for p in options)
        runtime_s = runtime_ms / 1000.0
        candidates.append(Candidate.evaluate(plan, runtime_s, runtime_s * interval[0], runtime_s * interval[1],
                                             spot_share=spot_share, label=config.label()))
        partitions[(shape.executors, shape.executor_cores, shape.executor_memory_mb)] = best_p
    return candidates, partitions, errors


def ranked(candidates: Sequence[Candidate], objective: str, deadline_s: float | None = None,
           budget: float | None = None) -> list[Candidate]:
    """Candidates best first by `objective` (those within the deadline and budget before the others)."""
    rest, order = list(candidates), []
    while rest:
        try:
            best = choose(rest, objective, deadline_s=deadline_s, budget=budget)
        except NoFeasibleCandidateError:
            best = choose(rest, objective)
        order.append(best)
        rest = [c for c in rest if c is not best]
    return order


@dataclass(frozen=True)
class SearchResult:
    best: Candidate
    candidates: tuple[Candidate, ...]
    shuffle_partitions: dict
    """(executors, cores, memory_mb) -> shuffle partitions of that shape's candidate."""
    objective: str
    errors: dict = field(default_factory=dict)
    """label -> why an asked candidate configuration could not be evaluated (empty for the grid)."""

    def partitions_of(self, candidate: Candidate) -> int:
        s = candidate.shape
        return self.shuffle_partitions[(s.executors, s.executor_cores, s.executor_memory_mb)]


def objective_for(deadline_s: float | None, budget: float | None, objective: str | None = None) -> str:
    """Explicit objective, else cheapest within the deadline, fastest within the budget, or balanced."""
    if objective:
        return objective
    if deadline_s is not None:
        return CHEAPEST_WITHIN_DEADLINE
    if budget is not None:
        return FASTEST_WITHIN_BUDGET
    return BALANCED


def partition_candidates(total_cores: int, shuffle_bytes: float) -> list[int]:
    """Partitions of 128-200 MB of the shuffled bytes in whole waves of the slots, and 2 or 4 tasks per
    slot when that keeps partitions at or below 200 MB."""
    fewest = math.ceil(shuffle_bytes / MAX_PARTITION_BYTES) if shuffle_bytes > 0 else 0
    by_size = [math.ceil(shuffle_bytes / size) for size in (MAX_PARTITION_BYTES, TARGET_PARTITION_BYTES)] if shuffle_bytes > 0 else []
    options = {total_cores * w for w in (2, 4) if total_cores * w >= fewest}
    options |= {total_cores * math.ceil(n / total_cores) for n in by_size}
    return sorted({min(p, MAX_PARTITIONS) for p in options})


def slot_cap(input_bytes: float) -> int:
    """Most task slots worth giving a job of this input: one per ~128 MB partition (one wave), at least 16."""
    return max(MIN_SLOT_CAP, math.ceil(max(input_bytes, 0.0) / TARGET_PARTITION_BYTES))


def partition_floor_mb(cores: int, partition_bytes: float) -> int:
    """Executor memory whose execution-memory share per slot holds one partition (memory pressure 1):
    (heap - 300 MB reserved) x spark.memory.fraction 0.6 / cores >= partition bytes; rounded up to 512 MB."""
    need = partition_bytes * cores / MEMORY_FRACTION / (1024 * 1024) + RESERVED_MEMORY_MB
    return int(math.ceil(need / 512) * 512)


def memory_ceiling_mb(catalogue: PricingCatalogue, cloud: str, cores: int) -> int:
    """The largest heap an executor of `cores` cores gets on the cloud's most memory-rich shape (usable
    memory per usable vCPU x cores, less Spark's default overhead), at most 64 GB."""
    provider = catalogue.provider(cloud)
    best = 0.0
    for instance in provider.instances.values():
        usable_cores = instance.vcpus - provider.reserve.cores
        if usable_cores < cores:
            continue
        usable_mb = instance.memory_mb - provider.reserve.memory_mb(instance.memory_gib)
        best = max(best, usable_mb * cores / usable_cores)
    heap = int(best / (1 + MEMORY_OVERHEAD_FACTOR)) // 512 * 512
    return min(heap, MAX_HEAP_MB)


def memory_candidates(cores: int, safe_mb: int, ceiling_mb: int) -> list[int]:
    """The safe memory and 2 / 4 GB per core, none above the ceiling nor below Spark's minimum."""
    floor = max(MIN_EXECUTOR_MEMORY_MB, 1024)
    wanted = {safe_mb} | {max(safe_mb, cores * m) for m in MEMORY_PER_CORE_MB}
    return sorted({max(floor, min(m, ceiling_mb)) for m in wanted})


def evaluate_grid(curve: Curve, input_bytes: float, interval: tuple[float, float], catalogue: PricingCatalogue, cloud: str, *,
                  spot_share: float = 0.0, executor_counts: Sequence[int] = EXECUTOR_COUNTS,
                  executor_cores: Sequence[int] = EXECUTOR_CORES, driver_memory_mb: int = 2048,
                  aqe_enabled: bool = True) -> tuple[list[Candidate], dict]:
    """Every priced candidate of the grid on `cloud`, and the partitions chosen per shape; `interval` is the
    (low, high) multipliers of a predicted runtime (recommender/confidence.py), `aqe_enabled` whether the job's
    Spark has adaptive query execution (3.0+)."""
    candidates, partitions = [], {}
    shuffle_bytes = shuffled_bytes(curve, input_bytes)
    cap = slot_cap(input_bytes)
    driver = None
    for cores in executor_cores:
        ceiling = memory_ceiling_mb(catalogue, cloud, cores)
        if ceiling <= 0:
            continue
        for executors in executor_counts:
            total = executors * cores
            if total > cap and executors > 1:
                continue
            options = partition_candidates(total, shuffle_bytes)
            safe = {p: max(curve.safe_memory_mb(executors, cores, p, aqe_enabled, input_bytes),
                           partition_floor_mb(cores, shuffle_bytes / p)) for p in options}
            for memory in memory_candidates(cores, min(safe.values()), ceiling):
                held = [p for p in options if safe[p] <= memory] or [min(options, key=lambda p: (safe[p], -p))]
                runtime_ms, best_p = min((curve.predict_ms(executors, cores, memory, p, aqe_enabled, input_bytes), p)
                                         for p in held)
                shape = ClusterShape(executors=executors, executor_cores=cores, executor_memory_mb=int(memory),
                                     driver_memory_mb=driver_memory_mb)
                try:  # the driver node depends only on the driver's size: choose it once
                    plan = plan_instances(shape, catalogue, cloud, driver_instance_type=driver)
                except CostModelError:
                    continue  # no instance type of this cloud holds the executor
                driver = plan.driver_type.name
                runtime_s = runtime_ms / 1000.0
                candidates.append(Candidate.evaluate(plan, runtime_s, runtime_s * interval[0], runtime_s * interval[1],
                                                     spot_share=spot_share, label=f"{executors}x{cores}c {memory}MB p{best_p}"))
                partitions[(executors, cores, int(memory))] = best_p
    return candidates, partitions


def search(curve: Curve, input_bytes: float, interval: tuple[float, float], catalogue: PricingCatalogue, cloud: str, *,
           objective: str = BALANCED, deadline_s: float | None = None, budget: float | None = None,
           spot_share: float = 0.0, driver_memory_mb: int = 2048,
           configs: Sequence[CandidateConfig] | None = None, aqe_enabled: bool = True) -> SearchResult:
    """The best candidate by `objective` over the grid, or over `configs` when given (raises
    cost.NoFeasibleCandidateError when none meets the constraints).

    Example::

        result = search(curve, 10 * GB, (0.8, 1.25), load_pricing_catalogue(), "aws", deadline_s=1800,
                        objective="cheapest-within-deadline")
        result.best.shape.describe(), result.best.runtime_s, result.best.cost.total
    """
    errors: dict[str, str] = {}
    if configs is None:
        candidates, partitions = evaluate_grid(curve, input_bytes, interval, catalogue, cloud, spot_share=spot_share,
                                               driver_memory_mb=driver_memory_mb, aqe_enabled=aqe_enabled)
    else:
        candidates, partitions, errors = evaluate_configs(curve, input_bytes, interval, catalogue, cloud, configs,
                                                          spot_share=spot_share, driver_memory_mb=driver_memory_mb,
                                                          aqe_enabled=aqe_enabled)
        if not candidates:
            raise CostModelError("none of the candidate configurations can be evaluated: "
                                 + "; ".join(f"{k}: {v}" for k, v in errors.items()))
    best = choose(candidates, objective, deadline_s=deadline_s, budget=budget)
    return SearchResult(best, tuple(candidates), partitions, objective, errors)
