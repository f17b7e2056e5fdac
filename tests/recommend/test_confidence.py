"""The confidence label follows the calibrated interval: its width at the stated level, the measured
held-out coverage stored with the model (scaling_models), and whether the asked size and cores are
inside the runs behind the curve; the reason names the facts, the limiting ones first."""

from __future__ import annotations

import math

import pytest

from spark_optimizer.cost import load_pricing_catalogue
from spark_optimizer.ml.model_inputs import GB
from spark_optimizer.ml.scaling import ScalingFit
from spark_optimizer.recommender.answer import recommend
from spark_optimizer.recommender.confidence import (
    Interval, beyond_seen, calibration_from_model, confidence_label, interval_at, pooled_calibration,
)
from spark_optimizer.recommender.curves import Curve, CurveSpec, size_prior

OBSERVED = ((2 * GB, 4, 60_000), (8 * GB, 16, 70_000))  # [input_bytes, total_cores, runtime_ms]
INSIDE = beyond_seen(4 * GB, 8, OBSERVED)


def model_row(low=0.9, high=1.1, coverage=0.8, new_low=0.7, new_high=1.35, new_coverage=0.75, chosen="scaling"):
    """The interval columns of one scaling_models row."""
    return {"interval_level": 0.8, "interval_low_ratio": low, "interval_high_ratio": high, "interval_coverage": coverage,
            "new_size_interval_low_ratio": new_low, "new_size_interval_high_ratio": new_high,
            "new_size_interval_coverage": new_coverage, "chosen_model": chosen, "chosen_model_new_size": chosen}


def test_a_narrow_interval_with_its_coverage_met_inside_the_seen_runs_is_high():
    label, reason = confidence_label(Interval(0.9, 1.12, 0.8, 0.79, "seen", "scaling"), INSIDE, "own")
    assert label == "high"
    assert reason == ("80% interval -10%/+12%; held-out coverage 79% of a stated 80%; "
                      "inside the seen input sizes and total cores")


@pytest.mark.parametrize("interval, beyond, source, label, first", [
    (Interval(0.57, 1.43, 0.8, 0.8, "seen"), INSIDE, "own", "low", "80% interval -43%/+43%"),  # quickstart's old "high"
    (Interval(0.75, 1.3, 0.8, 0.8, "seen"), INSIDE, "own", "medium", "80% interval -25%/+30%"),
    (Interval(0.9, 1.1, 0.8, 0.55, "seen"), INSIDE, "own", "low", "held-out coverage 55% of a stated 80%"),
    (Interval(0.9, 1.1, 0.8, None, "seen"), INSIDE, "own", "medium", "held-out coverage not measured"),
    (Interval(0.9, 1.1, 0.8, 0.8, "new_size"), beyond_seen(12 * GB, 16, OBSERVED), "own", "medium",
     "12 GB is 1.5x beyond the seen input sizes (2 GB..8 GB)"),
    (Interval(0.9, 1.1, 0.8, 0.8, "new_size"), beyond_seen(100 * GB, 512, OBSERVED), "own", "low", "100 GB is 12.5x beyond the seen input sizes"),
    (Interval(0.9, 1.1, 0.8, 0.8, "seen"), INSIDE, "job_type", "medium", "curve borrowed (job_type)"),
    (Interval(0.9, 1.1, 0.8, 0.8, "seen", "forest"), INSIDE, "own", "low", "interval calibrated on the forest model's"),
    (Interval(0.5, 2.0, None, None, "assumed"), INSIDE, "single_run", "low", "no calibrated interval (single_run curve)"),
])
def test_the_label_is_the_lowest_ceiling_and_the_reason_leads_with_it(interval, beyond, source, label, first):
    got, reason = confidence_label(interval, beyond, source)
    assert got == label
    assert reason.startswith(first)


def test_distance_counts_doublings_of_size_and_cores_outside_the_seen_range():
    assert INSIDE[0] == 0
    assert beyond_seen(16 * GB, 16, OBSERVED)[0] == pytest.approx(1.0)  # twice the largest input
    assert beyond_seen(1 * GB, 2, OBSERVED)[0] == pytest.approx(2.0)  # half the smallest size and half the fewest cores
    assert beyond_seen(GB, 4, ())[0] == math.inf


def test_calibration_comes_from_the_scaling_models_columns_and_pools_to_the_widest():
    own = calibration_from_model(model_row())
    assert own == {"level": 0.8, "seen": {"low": 0.9, "high": 1.1, "coverage": 0.8, "model": "scaling"},
                   "new_size": {"low": 0.7, "high": 1.35, "coverage": 0.75, "model": "scaling"}}
    assert calibration_from_model({"interval_level": 0.8, "interval_low_ratio": None}) is None
    # Coverage columns the table does not have yet read as "not measured".
    no_coverage = {k: v for k, v in model_row().items() if "coverage" not in k}
    assert calibration_from_model(no_coverage)["seen"]["coverage"] is None
    pooled = pooled_calibration([calibration_from_model(model_row()),
                                 calibration_from_model(model_row(low=0.8, high=1.05, coverage=0.7))])
    assert pooled["seen"] == {"low": 0.8, "high": 1.1, "coverage": 0.7, "model": "scaling"}
    assert pooled_calibration([calibration_from_model(model_row()), None]) is None  # a single-run member


def test_the_seen_ratios_apply_at_a_size_the_job_ran_at_and_the_new_size_ones_elsewhere():
    calibration = calibration_from_model(model_row())
    at_seen = interval_at(calibration, 0.3, 2 * GB * 1.005, OBSERVED)
    elsewhere = interval_at(calibration, 0.3, 3 * GB, OBSERVED)
    assert (at_seen.regime, at_seen.low_ratio, at_seen.high_ratio) == ("seen", 0.9, 1.1)
    assert (elsewhere.regime, elsewhere.low_ratio, elsewhere.high_ratio) == ("new_size", 0.7, 1.35)
    # Ratios calibrated on extrapolations, when the table has them, apply beyond the seen sizes only.
    with_beyond = {**calibration, "beyond": {"low": 0.5, "high": 1.8, "coverage": 0.8, "model": None}}
    assert interval_at(with_beyond, 0.3, 3 * GB, OBSERVED).regime == "new_size"
    assert (interval_at(with_beyond, 0.3, 30 * GB, OBSERVED).regime, interval_at(with_beyond, 0.3, 30 * GB, OBSERVED).high_ratio) == ("beyond", 1.8)
    assumed = interval_at(None, 0.3, 3 * GB, OBSERVED)
    assert assumed.level is None and assumed.low_ratio == pytest.approx(1 / 1.3) and assumed.high_ratio == 1.3


def test_a_recommendation_states_the_calibrated_interval_and_why_it_is_trusted():
    curve = Curve((ScalingFit(("fixed", "per_core"), {"fixed": 20.0, "per_core": 40.0}, 4.0, {}),), 1.0, (), size_prior([], []))
    spec = CurveSpec(curve, "own", 0.12, "leave-one-configuration-out MAPE", 6, OBSERVED, calibration_from_model(model_row()))
    row, result = recommend(spec, 4 * GB, load_pricing_catalogue(), row_id="rec-000000000000")
    assert row["interval_level"] == 0.8
    assert row["runtime_low_ms"] == pytest.approx(row["predicted_runtime_ms"] * 0.7, abs=2)
    assert row["runtime_high_ms"] == pytest.approx(row["predicted_runtime_ms"] * 1.35, abs=2)
    assert row["cost_low"] <= row["predicted_cost"] <= row["cost_high"]  # billed per second, 60 s minimum
    label, reason = confidence_label(spec.interval_at(4 * GB), beyond_seen(4 * GB, result.best.shape.total_executor_cores,
                                                                           OBSERVED), "own")
    assert (row["confidence_label"], row["confidence_reason"]) == (label, reason)
    assert "80% interval -30%/+35% (at a size it did not run at; held-out coverage 75%)" in row["rationale"]
