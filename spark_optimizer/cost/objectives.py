"""Choosing among candidate configurations: cheapest within a deadline, fastest within a budget,
or a weighted balance, and the cost/runtime Pareto frontier.

Every objective honours both constraints when given (runtime <= deadline_s, total cost <= budget);
`conservative=True` checks them against the pessimistic end of the interval (runtime_high_s and
the cost at that runtime). Balanced scores each feasible candidate as
weight x runtime / best runtime + (1 - weight) x cost / best cost (both ratios to the best feasible
value, so a far-off outlier does not squash the others) and takes the lowest score; weight is the
share given to runtime. Ties fall to the cheaper, then the faster, then the earlier candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from spark_optimizer.cost.errors import InvalidShapeError, NoFeasibleCandidateError, ObjectiveError
from spark_optimizer.cost.model import CostBreakdown, run_cost
from spark_optimizer.cost.packing import ClusterShape, InstancePlan

CHEAPEST_WITHIN_DEADLINE = "cheapest-within-deadline"
FASTEST_WITHIN_BUDGET = "fastest-within-budget"
BALANCED = "balanced"
OBJECTIVES = (CHEAPEST_WITHIN_DEADLINE, FASTEST_WITHIN_BUDGET, BALANCED)


@dataclass(frozen=True)
class Candidate:
    """One configuration on one cloud with its predicted runtime interval and cost.

    `cost_low` / `cost_high` are the totals at runtime_low_s / runtime_high_s (None: unknown,
    treated as `cost.total`). Build it with `Candidate.evaluate` to have them computed.
    """

    shape: ClusterShape
    runtime_s: float
    runtime_low_s: float
    runtime_high_s: float
    cost: CostBreakdown
    cloud: str
    plan: InstancePlan
    label: str = ""
    cost_low: float | None = None
    cost_high: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.runtime_low_s <= self.runtime_s <= self.runtime_high_s:
            raise InvalidShapeError(
                f"a candidate needs 0 <= runtime_low_s <= runtime_s <= runtime_high_s, found "
                f"{self.runtime_low_s} / {self.runtime_s} / {self.runtime_high_s}"
            )

    @property
    def total_cost(self) -> float:
        return self.cost.total

    def runtime_for(self, conservative: bool) -> float:
        return self.runtime_high_s if conservative else self.runtime_s

    def cost_for(self, conservative: bool) -> float:
        return self.cost_high if conservative and self.cost_high is not None else self.cost.total

    def describe(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return (f"{name}{self.plan.describe()} for {self.shape.describe()}: "
                f"{format_duration(self.runtime_s)}, {self.cost.currency} {self.cost.total:.2f}")

    @classmethod
    def evaluate(cls, plan: InstancePlan, runtime_s: float, runtime_low_s: float | None = None,
                 runtime_high_s: float | None = None, *, label: str = "", **cost_options: Any) -> "Candidate":
        """Price `plan` at the runtime and both ends of its interval (`cost_options` go to
        `run_cost`: spot_share, tier, rework_fraction, ...)."""
        low = runtime_s if runtime_low_s is None else runtime_low_s
        high = runtime_s if runtime_high_s is None else runtime_high_s
        return cls(
            shape=plan.shape, runtime_s=runtime_s, runtime_low_s=low, runtime_high_s=high,
            cost=run_cost(plan, runtime_s, **cost_options), cloud=plan.cloud, plan=plan, label=label,
            cost_low=run_cost(plan, low, **cost_options).total, cost_high=run_cost(plan, high, **cost_options).total,
        )


def choose(candidates: Sequence[Candidate], objective: str, deadline_s: float | None = None,
           budget: float | None = None, weight: float = 0.5, *, conservative: bool = False) -> Candidate:
    """The candidate that best meets `objective` among those within `deadline_s` and `budget`.

    Raises NoFeasibleCandidateError (with `.closest`) when none meets the constraints.

    Example::

        best = choose(candidates, "cheapest-within-deadline", deadline_s=1800)
    """
    if objective not in OBJECTIVES:
        raise ObjectiveError(f"unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}")
    if not candidates:
        raise ObjectiveError("no candidates to choose from")
    if not 0.0 <= weight <= 1.0:
        raise ObjectiveError(f"weight (the share of the balanced score given to runtime) must be in 0..1, found {weight!r}")
    for name, value in (("deadline_s", deadline_s), ("budget", budget)):
        if value is not None and value <= 0:
            raise ObjectiveError(f"{name} must be greater than 0, found {value!r}")
    indexed = list(enumerate(candidates))
    feasible = [(i, c) for i, c in indexed
                if (deadline_s is None or c.runtime_for(conservative) <= deadline_s)
                and (budget is None or c.cost_for(conservative) <= budget)]
    if not feasible:
        raise _no_feasible(candidates, objective, deadline_s, budget, conservative)

    def cost(c: Candidate) -> float:
        return c.cost_for(conservative)

    def runtime(c: Candidate) -> float:
        return c.runtime_for(conservative)

    if objective == CHEAPEST_WITHIN_DEADLINE:
        return min(feasible, key=lambda ic: (cost(ic[1]), runtime(ic[1]), ic[0]))[1]
    if objective == FASTEST_WITHIN_BUDGET:
        return min(feasible, key=lambda ic: (runtime(ic[1]), cost(ic[1]), ic[0]))[1]
    best_runtime = max(min(runtime(c) for _, c in feasible), 1e-9)
    best_cost = max(min(cost(c) for _, c in feasible), 1e-12)

    def score(c: Candidate) -> float:
        return weight * runtime(c) / best_runtime + (1 - weight) * cost(c) / best_cost

    return min(feasible, key=lambda ic: (round(score(ic[1]), 12), cost(ic[1]), runtime(ic[1]), ic[0]))[1]


def pareto_frontier(candidates: Sequence[Candidate], *, conservative: bool = False) -> list[Candidate]:
    """Candidates no other candidate beats on both runtime and cost, fastest first (so cost
    falls along the list). Of exact (runtime, cost) ties the first one given is kept."""
    order = sorted(enumerate(candidates),
                   key=lambda ic: (ic[1].runtime_for(conservative), ic[1].cost_for(conservative), ic[0]))
    frontier: list[Candidate] = []
    for _, candidate in order:
        if not frontier or candidate.cost_for(conservative) < frontier[-1].cost_for(conservative):
            frontier.append(candidate)
    return frontier


def format_duration(seconds: float) -> str:
    """1234 -> '20m 34s'; 7200 -> '2h 0m 0s'."""
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def _no_feasible(candidates: Sequence[Candidate], objective: str, deadline_s: float | None, budget: float | None,
                 conservative: bool) -> NoFeasibleCandidateError:
    def miss(c: Candidate) -> float:
        factors = []
        if deadline_s is not None:
            factors.append(c.runtime_for(conservative) / deadline_s)
        if budget is not None:
            factors.append(c.cost_for(conservative) / budget)
        return max(factors)

    closest = min(candidates, key=miss)
    currency = closest.cost.currency
    wanted = []
    if deadline_s is not None:
        wanted.append(f"finishes within {format_duration(deadline_s)}")
    if budget is not None:
        wanted.append(f"costs at most {currency} {budget:.2f}")
    bound = " (judged on the high end of the runtime interval)" if conservative else ""
    relax = " and ".join(name for name, given in (("the deadline", deadline_s), ("the budget", budget)) if given is not None)
    return NoFeasibleCandidateError(
        f"{objective}: none of {len(candidates)} candidates {' and '.join(wanted)}{bound}; the closest is "
        f"{closest.cloud} {closest.plan.workers} x {closest.plan.worker_type.name} ({closest.shape.describe()}): "
        f"{format_duration(closest.runtime_for(conservative))}, {currency} {closest.cost_for(conservative):.2f}. "
        f"Relax {relax}, or offer larger or cheaper configurations.",
        closest,
    )
