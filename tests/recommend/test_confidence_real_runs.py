"""On real cluster runs the project did not make (C3O's EMR runs of sort, ../shared/datasets/c3o), a
recommendation states the interval the training calibrated for that job and regime, and its confidence
label and reason follow from that interval, the coverage stored with it, and how far the asked size and
cores are from the runs."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from spark_optimizer.ml.model_inputs import GB
from tests.conftest import REPO_ROOT

C3O = Path(REPO_ROOT.parent / "shared" / "datasets" / "c3o")


@pytest.fixture(scope="module")
def c3o_build(spark, tmp_path_factory):
    if not (C3O / "sort.tsv").exists():
        pytest.skip(f"the C3O runs are not at {C3O}")
    from spark_optimizer.config import load_settings
    from spark_optimizer.ml.train import train_models
    from spark_optimizer.recommender.build import build_recommendations
    from spark_optimizer.sdk import add_runs
    from spark_optimizer.tables import SCALING_MODELS
    from spark_optimizer.tables.store import TableStore

    warehouse = str(tmp_path_factory.mktemp("c3o") / "wh")
    add_runs(str(C3O / "sort.tsv"), mapping="c3o", warehouse=warehouse)
    settings = load_settings(warehouse=warehouse, environ={})
    store = TableStore(spark, settings)
    now = datetime(2026, 12, 6, 23, 0, tzinfo=timezone.utc)
    train_models(spark, store, settings, now, folds=2)
    build_recommendations(spark, store, settings, now)
    model = next(r for r in store.read_arrow(SCALING_MODELS).to_pylist() if r["job_signature"].startswith("sort"))
    return settings, model


def test_the_signature_row_states_the_calibrated_interval_and_its_reason(c3o_build):
    from spark_optimizer.recommender.confidence import beyond_seen, confidence_label
    from spark_optimizer.recommender.curves import spec_from_row
    from spark_optimizer.recommender.lookup import latest_build, read_rows

    settings, model = c3o_build
    row = next(r for r in latest_build(read_rows(settings)) if r["level"] == "signature")
    calibration = row["interval_calibration"]
    assert calibration["level"] == model["interval_level"] == row["interval_level"]
    assert calibration["seen"]["low"] == model["interval_low_ratio"] and calibration["seen"]["high"] == model["interval_high_ratio"]
    assert calibration["new_size"]["high"] == model["new_size_interval_high_ratio"]
    # At the signature's median input, a size it ran at: the "seen" ratios around the prediction.
    assert row["runtime_low_ms"] == pytest.approx(row["predicted_runtime_ms"] * model["interval_low_ratio"], abs=2)
    assert row["runtime_high_ms"] == pytest.approx(row["predicted_runtime_ms"] * model["interval_high_ratio"], abs=2)
    spec = spec_from_row(row, {row["job_signature"]: row})
    cores = row["executors"] * row["executor_cores"]
    assert (row["confidence_label"], row["confidence_reason"]) == confidence_label(
        spec.interval_at(row["input_bytes"]), beyond_seen(row["input_bytes"], cores, spec.observed), "own")
    width = max(model["interval_high_ratio"] - 1, 1 - model["interval_low_ratio"])
    assert row["confidence_label"] != "high" or width <= 0.15
    assert f"{model['interval_level']:.0%} interval" in row["confidence_reason"]


def test_far_beyond_the_seen_sizes_the_label_drops_and_says_why(c3o_build):
    from spark_optimizer.recommender.lookup import lookup

    settings, model = c3o_build
    answer = lookup(settings, signature=model["job_signature"])
    row = answer.row
    largest = max(p["input_bytes"] for p in answer.base["observed_points"])
    far = lookup(settings, signature=model["job_signature"], input_bytes=largest * 8).row
    assert far["confidence_label"] == "low"
    assert "8x beyond the seen input sizes" in far["confidence_reason"]
    calibration = far["interval_calibration"]
    regime = calibration.get("beyond") or calibration["new_size"]  # ratios calibrated on extrapolations when stored
    assert far["runtime_high_ms"] / far["predicted_runtime_ms"] == pytest.approx(regime["high"], rel=1e-3)
    assert far["input_bytes"] > 10 * GB and far["predicted_runtime_ms"] > row["predicted_runtime_ms"]


def test_the_stored_coverage_is_measured_and_the_reason_states_it(c3o_build):
    from spark_optimizer.recommender.lookup import latest_build, read_rows

    settings, model = c3o_build
    coverage = model["interval_coverage"]
    assert coverage is not None and 0.0 <= coverage <= 1.0
    for name in ("new_size_interval_coverage", "beyond_interval_coverage"):
        assert model[name] is None or 0.0 <= model[name] <= 1.0
    row = next(r for r in latest_build(read_rows(settings)) if r["level"] == "signature")
    assert row["interval_calibration"]["seen"]["coverage"] == coverage
    assert f"held-out coverage {coverage:.0%} of a stated {model['interval_level']:.0%}" in row["confidence_reason"]
    assert "not measured" not in row["confidence_reason"]
