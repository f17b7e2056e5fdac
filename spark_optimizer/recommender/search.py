"""The candidate search: a grid of executors x cores x memory x shuffle partitions (AQE on),
each evaluated with a runtime curve and priced with the cost model, then chosen by an objective.

Per shape (executors, cores, memory) the partition count only changes the runtime, not the price,
so the fastest of the shape's partition candidates is kept before pricing; memory candidates start
at the resource model's safe memory for the size, so no candidate is below it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from spark_optimizer.cost import (
    BALANCED, CHEAPEST_WITHIN_DEADLINE, FASTEST_WITHIN_BUDGET, Candidate, ClusterShape, CostModelError, PricingCatalogue,
    choose, plan_instances,
)
from spark_optimizer.recommender.curves import Curve

EXECUTOR_COUNTS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
EXECUTOR_CORES = (2, 4, 8)
MEMORY_PER_CORE_MB = (2048, 4096)
TARGET_PARTITION_BYTES = 128 * 1024 * 1024
MAX_PARTITIONS = 20000
SPOT_SHARE = 0.5
"""`--spot` puts half the workers on spot: the on-demand half keeps the job and most shuffle output
alive through a reclaim (the usual instance-fleet practice); the cost model adds the expected rework."""


@dataclass(frozen=True)
class SearchResult:
    best: Candidate
    candidates: tuple[Candidate, ...]
    shuffle_partitions: dict
    """(executors, cores, memory_mb) -> shuffle partitions of that shape's candidate."""
    objective: str

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
    """2 and 4 tasks per core, and enough partitions for ~128 MB each, in whole waves."""
    by_size = math.ceil(shuffle_bytes / TARGET_PARTITION_BYTES) if shuffle_bytes > 0 else 0
    waves = {2, 4, math.ceil(by_size / total_cores) if by_size else 2}
    return sorted({min(total_cores * w, MAX_PARTITIONS) for w in waves})


def memory_candidates(cores: int, safe_mb: int) -> list[int]:
    return sorted({max(safe_mb, cores * m) for m in MEMORY_PER_CORE_MB})


def evaluate_grid(curve: Curve, input_bytes: float, runtime_error: float, catalogue: PricingCatalogue, cloud: str, *,
                  spot_share: float = 0.0, executor_counts: Sequence[int] = EXECUTOR_COUNTS,
                  executor_cores: Sequence[int] = EXECUTOR_CORES, driver_memory_mb: int = 2048) -> tuple[list[Candidate], dict]:
    """Every priced candidate of the grid on `cloud`, and the partitions chosen per shape."""
    candidates, partitions = [], {}
    shuffle_bytes = input_bytes * curve.shuffle_input_ratio
    for cores in executor_cores:
        for executors in executor_counts:
            total = executors * cores
            options = partition_candidates(total, shuffle_bytes)
            safe = curve.safe_memory_mb(executors, cores, options[0], True, input_bytes)
            for memory in memory_candidates(cores, safe):
                runtime_ms, best_p = min((curve.predict_ms(executors, cores, memory, p, True, input_bytes), p) for p in options)
                shape = ClusterShape(executors=executors, executor_cores=cores, executor_memory_mb=int(memory),
                                     driver_memory_mb=driver_memory_mb)
                try:
                    plan = plan_instances(shape, catalogue, cloud)
                except CostModelError:
                    continue  # no instance type of this cloud holds the executor
                runtime_s = runtime_ms / 1000.0
                # Multiplicative interval: runtime / (1 + e) .. runtime x (1 + e); ~ runtime x (1 ± e) for small e,
                # and never below zero for the ±100% of a single run.
                candidates.append(Candidate.evaluate(plan, runtime_s, runtime_s / (1 + runtime_error),
                                                     runtime_s * (1 + runtime_error), spot_share=spot_share,
                                                     label=f"{executors}x{cores}c {memory}MB p{best_p}"))
                partitions[(executors, cores, int(memory))] = best_p
    return candidates, partitions


def search(curve: Curve, input_bytes: float, runtime_error: float, catalogue: PricingCatalogue, cloud: str, *,
           objective: str = BALANCED, deadline_s: float | None = None, budget: float | None = None,
           spot_share: float = 0.0, driver_memory_mb: int = 2048) -> SearchResult:
    """The best candidate by `objective` (raises cost.NoFeasibleCandidateError when none meets the constraints).

    Example::

        result = search(curve, 10 * GB, 0.2, load_pricing_catalogue(), "aws", deadline_s=1800,
                        objective="cheapest-within-deadline")
        result.best.shape.describe(), result.best.runtime_s, result.best.cost.total
    """
    candidates, partitions = evaluate_grid(curve, input_bytes, runtime_error, catalogue, cloud, spot_share=spot_share,
                                           driver_memory_mb=driver_memory_mb)
    best = choose(candidates, objective, deadline_s=deadline_s, budget=budget)
    return SearchResult(best, tuple(candidates), partitions, objective)
