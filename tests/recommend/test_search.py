"""The candidate search, the cost arithmetic of a recommendation, objectives, curves at unseen sizes
and confidence: pure Python, curves with hand-set coefficients."""

from __future__ import annotations

import math

import pytest

from spark_optimizer.cost import NoFeasibleCandidateError, load_pricing_catalogue
from spark_optimizer.ml.model_inputs import GB
from spark_optimizer.ml.resource_model import ResourceFit
from spark_optimizer.ml.scaling import ScalingFit
from spark_optimizer.recommender.answer import parse_recommendation_id, recommend, size_band
from spark_optimizer.recommender.confidence import error_interval, score
from spark_optimizer.recommender.curves import Curve, CurveSpec, amdahl_prior, neighbour_distance
from spark_optimizer.recommender.search import evaluate_grid, objective_for, search
from spark_optimizer.units import parse_size_bytes


@pytest.fixture(scope="module")
def catalogue():
    return load_pricing_catalogue()


def curve(coefficients: dict, profile: dict | None = None, resources=()) -> Curve:
    return Curve((ScalingFit(tuple(coefficients), coefficients, 4.0, profile or {}),), 1.0, tuple(resources))


def test_a_curve_is_evaluated_at_a_size_no_run_had():
    c = curve({"fixed": 10.0, "per_core": 30.0})
    # runtime_s = 10 + 30 * input_GB / total cores: 64 GB on 4 x 4 cores
    assert c.predict_ms(4, 4, 8192, 64, True, 64 * GB) == pytest.approx(1000 * (10 + 30 * 64 / 16))
    assert c.predict_ms(8, 4, 8192, 64, True, 640 * GB) == pytest.approx(1000 * (10 + 30 * 640 / 32))


def test_the_median_of_member_curves_scaled_by_the_anchor():
    fits = tuple(ScalingFit(("fixed", "per_core"), {"fixed": f, "per_core": p}, 4.0, {}) for f, p in ((10, 10), (20, 40), (30, 90)))
    pooled = Curve(fits, 0.5)
    assert pooled.predict_ms(2, 2, 4096, 8, True, 8 * GB) == pytest.approx(0.5 * 1000 * (20 + 40 * 8 / 4))


def test_cost_of_the_recommendation_matches_a_hand_computed_bill(catalogue):
    # 900 s fixed on the only shape offered: 2 executors x 4 cores x 8 GB; on AWS (EMR) the cheapest
    # packing is one m5.2xlarge... whatever it is, the bill is billed hours x (workers x (EC2 + EMR) + master x (EC2 + EMR)).
    candidates, _ = evaluate_grid(curve({"fixed": 900.0}), 1 * GB, ratios(0.2), catalogue, "aws", executor_counts=(2,), executor_cores=(4,))
    c = next(c for c in candidates if c.shape.executor_memory_mb == 8192)
    w, d = c.plan.worker_type, c.plan.driver_type
    hourly = c.plan.workers * (w.on_demand_hourly + w.platform_fee_hourly) + d.on_demand_hourly + d.platform_fee_hourly
    assert c.runtime_s == pytest.approx(900)
    assert c.cost.total == pytest.approx(0.25 * hourly)
    # the interval: 900 / 1.2 s and 900 x 1.2 s, billed per second (60 s minimum)
    assert c.cost_low == pytest.approx(750 / 3600 * hourly)
    assert c.cost_high == pytest.approx(1080 / 3600 * hourly)
    # m5.2xlarge has 8 vCPUs: two 4-core executors with 8 GB + 819 MB overhead fit one node
    if w.name == "m5.2xlarge":
        assert c.cost.total == pytest.approx(0.25 * (1 * (0.384 + 0.096) + d.on_demand_hourly + d.platform_fee_hourly))


def test_spot_halves_the_workers_and_prices_the_interruptions(catalogue):
    on_demand = search(curve({"fixed": 3600.0}), 1 * GB, ratios(0.1), catalogue, "aws", objective="cheapest-within-deadline")
    spot = search(curve({"fixed": 3600.0}), 1 * GB, ratios(0.1), catalogue, "aws", objective="cheapest-within-deadline", spot_share=0.5)
    assert spot.best.cost.spot_nodes == math.floor(0.5 * spot.best.plan.workers + 0.5)
    assert spot.best.cost.total <= on_demand.best.cost.total


def ratios(runtime_error: float) -> tuple[float, float]:
    """The (low, high) multipliers of an assumed ±runtime_error interval."""
    i = error_interval(runtime_error)
    return i.low_ratio, i.high_ratio


SCALING = {"fixed": 20.0, "per_core": 60.0, "executors": 0.5}


def test_each_objective_picks_what_it_promises(catalogue):
    c = curve(SCALING)
    everything, _ = evaluate_grid(c, 100 * GB, ratios(0.15), catalogue, "aws")
    deadline = 600.0
    cheap = search(c, 100 * GB, ratios(0.15), catalogue, "aws", objective=objective_for(deadline, None), deadline_s=deadline).best
    assert cheap.runtime_s <= deadline
    assert cheap.cost.total == pytest.approx(min(x.cost.total for x in everything if x.runtime_s <= deadline))
    budget = 2.0
    fast = search(c, 100 * GB, ratios(0.15), catalogue, "aws", objective=objective_for(None, budget), budget=budget).best
    assert fast.cost.total <= budget
    assert fast.runtime_s == pytest.approx(min(x.runtime_s for x in everything if x.cost.total <= budget))
    balanced = search(c, 100 * GB, ratios(0.15), catalogue, "aws", objective=objective_for(None, None)).best
    best_r, best_c = min(x.runtime_s for x in everything), min(x.cost.total for x in everything)
    score = lambda x: 0.5 * x.runtime_s / best_r + 0.5 * x.cost.total / best_c  # noqa: E731
    assert score(balanced) == pytest.approx(min(score(x) for x in everything))
    assert fast.runtime_s < balanced.runtime_s or fast.cost.total <= budget
    with pytest.raises(NoFeasibleCandidateError, match="none of .* finishes within"):
        search(c, 100 * GB, ratios(0.15), catalogue, "aws", objective="cheapest-within-deadline", deadline_s=5)


def test_no_candidate_gets_less_than_the_safe_memory(catalogue):
    hungry = ResourceFit(base_bytes=3 * GB, bytes_per_task_byte=0.0, spill_free_pressure=None, runs=3, profile={})
    c = curve(SCALING, resources=[hungry])
    candidates, _ = evaluate_grid(c, 10 * GB, ratios(0.1), catalogue, "aws")
    for x in candidates:
        safe = hungry.safe_executor_memory_mb(x.shape.executors, x.shape.executor_cores, 8, True, 10 * GB)
        assert x.shape.executor_memory_mb >= safe >= 3 * 1024 * 1.25 * x.shape.executor_cores / 0.6


def test_the_recommendation_row_carries_fragments_interval_and_rationale(catalogue):
    spec = CurveSpec(curve(SCALING, {"shuffle_input_ratio": 0.5}), "own", 0.12, "leave-one-configuration-out MAPE", 9,
                     ((10 * GB, 8, 90_000), (20 * GB, 16, 95_000)))
    row, result = recommend(spec, 40 * GB, catalogue, row_id="rec-0123456789ab",
                            rules={"spark.sql.autoBroadcastJoinThreshold": ("64m", "broadcast_opportunity"),
                                   "spark.executor.instances": ("99", "idle_executors")})
    conf = row["spark_conf"]
    assert conf["spark.executor.instances"] == str(result.best.shape.executors)  # the search wins over a rule
    assert conf["spark.sql.autoBroadcastJoinThreshold"] == "64m" and row["methods"] == ["model", "rules"]
    assert "--conf spark.optimizer.recommendationId=rec-0123456789ab" in row["spark_submit"]
    assert row["databricks_cluster"]["spark_conf"]["spark.optimizer.recommendationId"] == "rec-0123456789ab"
    assert row["runtime_low_ms"] < row["predicted_runtime_ms"] < row["runtime_high_ms"]
    assert row["runtime_high_ms"] == pytest.approx(row["predicted_runtime_ms"] * 1.12, rel=1e-3)
    assert set(row["instance_plans"]) == {"aws", "gcp", "azure", "databricks-aws"}
    assert row["size_band"] == "10-100GB" and "40 GB" in row["rationale"]


def test_the_trust_score_follows_interval_width_evidence_and_distance():
    near = neighbour_distance(10 * GB, 16, [(10 * GB, 16, 1)])
    far = neighbour_distance(160 * GB, 16, [(10 * GB, 16, 1)])
    assert near == 0 and far == pytest.approx(4)
    narrow, wide = error_interval(0.1), error_interval(0.5)
    assert score(narrow, 12, near) > score(narrow, 12, far)
    assert score(narrow, 12, near) > score(wide, 12, near)
    assert score(narrow, 12, near) > score(narrow, 2, near)
    assert 0 < score(error_interval(1.0), 0.5, 10) < 0.1


def test_a_single_run_prior_keeps_driver_time_and_spreads_the_rest():
    prior = amdahl_prior(driver_only_ms=20_000, runtime_ms=120_000, input_bytes=4 * GB, total_cores=8)
    assert prior == {"fixed": 20.0, "per_core": pytest.approx(100 / (4 / 8))}
    assert amdahl_prior(5_000, 10_000, 1000, 2) == {"fixed": 10.0}  # no meaningful input: nothing scales


def test_ids_sizes_and_bands_parse_strictly():
    assert parse_recommendation_id("rec-0123456789ab") == ("rec-0123456789ab", None)
    assert parse_recommendation_id("rec-0123456789ab~e4c4m8192p64i10240")[1] == {
        "executors": 4, "executor_cores": 4, "executor_memory_mb": 8192, "shuffle_partitions": 64, "input_bytes": 10 * GB}
    with pytest.raises(ValueError, match="not a recommendation id"):
        parse_recommendation_id("app-123")
    assert parse_size_bytes("10GB") == 10 * GB and parse_size_bytes("512 MiB") == GB // 2
    for bad in ("10", "10 GBs", "-1GB", "0GB"):
        with pytest.raises(ValueError, match="not a data size"):
            parse_size_bytes(bad)
    assert [size_band(x) for x in (GB // 2, 5 * GB, 50 * GB, 500 * GB, 5000 * GB)] == ["<1GB", "1-10GB", "10-100GB", "100GB-1TB", ">1TB"]


def test_a_signature_row_evaluates_its_curve_for_beyond_the_sizes_it_ran_at():
    """scaling_models.extrapolation travels into the recommendation row, and the JVM-free lookup
    evaluates it for input sizes outside those the job ran at (the runtime model's own rule)."""
    from spark_optimizer.ml.model_inputs import size_band as band_of
    from spark_optimizer.recommender.build import _signature_row
    from spark_optimizer.recommender.curves import spec_from_row

    inside = {"fixed": 10.0, "per_core": 20.0}
    beyond = {"fixed": 2.0, "per_core": 20.0, "input": 6.0, "executors": 1.5, "waves": 0.05}
    model_row = {"job_signature": "nightly#c", "job_type": "etl", "run_count": 12, "config_count": 6,
                 "coefficients": inside, "memory_threshold": 4.0, "profile": {}, "scaling_mape": 0.05,
                 "extrapolation": {"coefficients": beyond, "memory_threshold": 4.0, "seen_bands": [band_of(1 * GB), band_of(2 * GB)]}}
    row = _signature_row(model_row, {"points": [(1 * GB, 2, 30_000), (2 * GB, 4, 30_000)]})
    predicted = spec_from_row(row, {}).curve.predict_ms
    assert predicted(2, 2, 4096, 32, False, 8 * GB) == pytest.approx(1000 * (2 + 20 * 2 + 6 * 8 + 1.5 * 2 + 0.05 * 8))
    assert predicted(2, 2, 4096, 32, False, 1.5 * GB) == pytest.approx(1000 * (10 + 20 * 1.5 / 4))
