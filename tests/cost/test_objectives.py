"""Objectives over candidates, the Pareto frontier and side-by-side clouds.

The toy candidates: n executors x 2 cores on toy "small" nodes (n/2 workers + a small master,
each $1.00 VM + $0.10 fee per hour), with runtimes a model might predict:

    executors  nodes  $/h   runtime s  cost = $/h x runtime / 3600
    2          2      2.2   4000       2.444444
    4          3      3.3   2100       1.925
    6          4      4.4   1500       1.833333   <- cheapest
    8          5      5.5   1250       1.909722
    12         7      7.7   1000       2.138889   <- fastest
"""

from __future__ import annotations

import pytest

from spark_optimizer.cost import (
    BALANCED,
    CHEAPEST_WITHIN_DEADLINE,
    FASTEST_WITHIN_BUDGET,
    Candidate,
    ClusterShape,
    InvalidShapeError,
    NoFeasibleCandidateError,
    ObjectiveError,
    choose,
    compare_clouds,
    format_duration,
    pareto_frontier,
    plan_instances,
)

RUNTIMES = {2: 4000, 4: 2100, 6: 1500, 8: 1250, 12: 1000}
COSTS = {2: 2.2 * 4000 / 3600, 4: 3.3 * 2100 / 3600, 6: 4.4 * 1500 / 3600, 8: 5.5 * 1250 / 3600, 12: 7.7 * 1000 / 3600}


@pytest.fixture
def candidates(toy):
    result = {}
    for executors, runtime in RUNTIMES.items():
        plan = plan_instances(ClusterShape(executors, 2, 2048), toy, "toy", "small")
        result[executors] = Candidate.evaluate(plan, runtime, runtime * 0.9, runtime * 1.12, label=f"e{executors}")
    return result


def test_candidate_costs_are_the_hand_computed_ones(candidates):
    for executors, candidate in candidates.items():
        assert candidate.total_cost == pytest.approx(COSTS[executors])
        assert candidate.cost_high == pytest.approx(COSTS[executors] * 1.12)
        assert candidate.cost_low == pytest.approx(COSTS[executors] * 0.9)


def test_cheapest_within_deadline(candidates):
    pool = list(candidates.values())
    assert choose(pool, CHEAPEST_WITHIN_DEADLINE, deadline_s=1300).label == "e8"  # e12 and e8 finish; e8 is cheaper
    assert choose(pool, CHEAPEST_WITHIN_DEADLINE).label == "e6"  # no deadline: the cheapest
    assert choose(pool, CHEAPEST_WITHIN_DEADLINE, deadline_s=1000).label == "e12"  # the bound is inclusive


def test_cheapest_within_deadline_infeasible_names_the_fastest(candidates):
    with pytest.raises(NoFeasibleCandidateError) as info:
        choose(list(candidates.values()), CHEAPEST_WITHIN_DEADLINE, deadline_s=900)
    assert info.value.closest.label == "e12"
    message = str(info.value)
    assert "none of 5 candidates finishes within 15m 0s" in message
    assert "the closest is toy 6 x small (12 executors x 2 cores x 2048 MiB" in message and "16m 40s, USD 2.14" in message
    assert "Relax the deadline" in message


def test_fastest_within_budget(candidates):
    pool = list(candidates.values())
    assert choose(pool, FASTEST_WITHIN_BUDGET, budget=1.95).label == "e8"  # e8, e4 and e6 fit; e8 is fastest
    assert choose(pool, FASTEST_WITHIN_BUDGET).label == "e12"
    with pytest.raises(NoFeasibleCandidateError, match=r"costs at most USD 1\.00.*closest is toy 3 x small") as info:
        choose(pool, FASTEST_WITHIN_BUDGET, budget=1.0)
    assert info.value.closest.label == "e6"  # the cheapest


def test_deadline_and_budget_together(candidates):
    pool = list(candidates.values())
    # Within 1300 s and $2.00 only e8 remains (e12 costs 2.14): both objectives must agree.
    assert choose(pool, FASTEST_WITHIN_BUDGET, deadline_s=1300, budget=2.0).label == "e8"
    assert choose(pool, CHEAPEST_WITHIN_DEADLINE, deadline_s=1300, budget=2.0).label == "e8"
    # Nothing is both <= 1300 s and <= $1.85. Misses (max of runtime/deadline, cost/budget):
    # e12 max(0.77, 1.156) = 1.156, e8 max(0.96, 1.032) = 1.032, e6 max(1.154, 0.991) = 1.154.
    with pytest.raises(NoFeasibleCandidateError, match=r"finishes within 21m 40s and costs at most USD 1\.85") as info:
        choose(pool, BALANCED, deadline_s=1300, budget=1.85)
    assert info.value.closest.label == "e8"


def test_balanced_scores(candidates):
    pool = list(candidates.values())
    # score = w x runtime / 1000 + (1 - w) x cost / 1.833333
    # w = 0.5: e12 0.5 + 0.583 = 1.083, e8 0.625 + 0.521 = 1.146, e6 0.75 + 0.5 = 1.25
    assert choose(pool, BALANCED).label == "e12"
    # w = 0.2: e12 0.2 + 0.933 = 1.133, e8 0.25 + 0.833 = 1.083, e6 0.3 + 0.8 = 1.1
    assert choose(pool, BALANCED, weight=0.2).label == "e8"
    assert choose(pool, BALANCED, weight=1.0).label == "e12"
    assert choose(pool, BALANCED, weight=0.0).label == "e6"
    # Within a 1300 s deadline only e12 and e8 compete (best cost is now e8's 1.9097).
    assert choose(pool, BALANCED, deadline_s=1300, weight=0.2).label == "e8"


def test_conservative_uses_the_high_end(candidates):
    pool = list(candidates.values())
    # e8's high runtime is 1250 x 1.12 = 1400 s > 1300 s, so only e12 (1120 s) qualifies.
    assert choose(pool, CHEAPEST_WITHIN_DEADLINE, deadline_s=1300, conservative=True).label == "e12"
    # High costs (x 1.12): e6 2.053, e8 2.139, e4 2.156, e12 2.396, e2 2.738 -> only e6 within $2.06,
    # nothing within $2.00.
    assert choose(pool, FASTEST_WITHIN_BUDGET, budget=2.06, conservative=True).label == "e6"
    with pytest.raises(NoFeasibleCandidateError, match=r"judged on the high end"):
        choose(pool, FASTEST_WITHIN_BUDGET, budget=2.0, conservative=True)


def test_bad_objective_arguments(candidates):
    pool = list(candidates.values())
    with pytest.raises(ObjectiveError, match=r"unknown objective 'cheap'; use one of cheapest-within-deadline"):
        choose(pool, "cheap")
    with pytest.raises(ObjectiveError, match=r"no candidates"):
        choose([], BALANCED)
    with pytest.raises(ObjectiveError, match=r"weight .* must be in 0\.\.1, found 1\.5"):
        choose(pool, BALANCED, weight=1.5)
    with pytest.raises(ObjectiveError, match=r"deadline_s must be greater than 0"):
        choose(pool, CHEAPEST_WITHIN_DEADLINE, deadline_s=0)


def test_candidate_interval_must_be_ordered(candidates):
    c = candidates[6]
    with pytest.raises(InvalidShapeError, match=r"runtime_low_s <= runtime_s <= runtime_high_s"):
        Candidate(c.shape, 1500, 1600, 1700, c.cost, c.cloud, c.plan)


def test_pareto_frontier(candidates):
    frontier = pareto_frontier(list(candidates.values()))
    # e4 (2100 s, 1.925) is beaten by e6 (1500 s, 1.833); e2 by everything.
    assert [c.label for c in frontier] == ["e12", "e8", "e6"]
    costs = [c.total_cost for c in frontier]
    assert costs == sorted(costs, reverse=True)
    assert pareto_frontier([]) == []
    duplicate = candidates[8]
    assert [c.label for c in pareto_frontier([candidates[8], duplicate, candidates[12]])] == ["e12", "e8"]


def test_compare_clouds_side_by_side(catalogue):
    shape = ClusterShape(executors=6, executor_cores=4, executor_memory_mb=8192)
    quotes = compare_clouds(shape, 1800, catalogue, ["aws", "gcp", "azure", "databricks"], runtime_high_s=2400)
    assert [q.cloud for q in quotes] == ["aws", "gcp", "azure", "databricks"]
    assert all(q.candidate is not None and q.error is None for q in quotes)
    aws = quotes[0].candidate
    # Cheapest EMR layout: 3 x m5.2xlarge (0.384 + 0.096) + c4.large master (0.10 + 0.025), for 0.5 h.
    assert aws.plan.worker_type.name == "m5.2xlarge" and aws.plan.driver_type.name == "c4.large"
    assert aws.total_cost == pytest.approx(0.5 * (3 * (0.384 + 0.096) + 0.10 + 0.025))
    assert aws.cost_high == pytest.approx(aws.total_cost * 2400 / 1800)
    assert quotes[3].candidate.plan.cloud == "databricks-aws" and quotes[3].candidate.cost.tier == "jobs"
    for quote in quotes:
        alone = plan_instances(shape, catalogue, quote.cloud)
        assert quote.candidate.plan.hourly_on_demand == pytest.approx(alone.hourly_on_demand)


def test_compare_clouds_reports_clouds_that_cannot_fit(catalogue):
    # A 200 GiB executor (+20 GiB overhead) fits no GCP or Azure type (at most 204.8 GiB usable);
    # on EMR the cheapest holder is one r5.16xlarge (504 GiB usable: both executors) at 4.032 + 0.27.
    shape = ClusterShape(executors=2, executor_cores=4, executor_memory_mb=200 * 1024)
    quotes = {q.cloud: q for q in compare_clouds(shape, 600, catalogue, spot_share=0.5, tier="all_purpose")}
    assert quotes["aws"].candidate.plan.worker_type.name == "r5.16xlarge"
    assert quotes["aws"].candidate.cost.spot_nodes == 1
    for cloud in ("gcp", "azure", "databricks-aws", "databricks-azure", "databricks-gcp"):
        assert quotes[cloud].candidate is None and "fits one executor" in quotes[cloud].error


def test_format_duration():
    assert [format_duration(s) for s in (5, 65, 1234.5, 7200)] == ["5s", "1m 5s", "20m 34s", "2h 0m 0s"]
