"""The scaling curve, model inputs and resource model: arithmetic checked by hand."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from spark_optimizer.ml.model_inputs import GB, MB, config_key, derived_inputs, error_summary, signature_profiles, size_band
from spark_optimizer.ml.resource_model import fit_resource
from spark_optimizer.ml.scaling import (
    ERNEST_TERMS, FULL_TERMS, fit_scaling, leave_one_config_out_mape, scaling_from_row, select_scaling,
)
from spark_optimizer.tables import SCALING_MODELS

PROFILE = {"shuffle_input_ratio": 0.5}


def run(executors, cores, memory_mb, partitions, input_gb, runtime_s, aqe=False, signature="job#1", **extra):
    return {"job_signature": signature, "executors": executors, "executor_cores": cores, "executor_memory_mb": memory_mb,
            "shuffle_partitions": partitions, "aqe_enabled": aqe, "input_bytes": int(input_gb * GB),
            "runtime_ms": runtime_s * 1000.0, **extra}


def test_derived_inputs_by_hand():
    values = derived_inputs(4, 2, 4396, 100, False, 8 * GB, PROFILE)
    assert values["total_cores"] == 8
    assert values["input_gb_per_core"] == pytest.approx(1.0)
    assert values["waves"] == pytest.approx(100 / 8)
    # shuffle 4 GB over 100 partitions per task vs (4396 - 300) MB * 0.6 / 2 cores per slot;
    # scan split = min(128 MB, max(4 MB, 8 GB / 8 cores)) = 128 MB.
    per_task = max(4 * GB / 100, 128 * MB)
    assert values["memory_pressure"] == pytest.approx(per_task / ((4396 - 300) * 0.6 * MB / 2))


def test_aqe_coalesces_the_effective_partitions_to_64_mb_each():
    with_aqe = derived_inputs(2, 2, 4096, 1000, True, 2 * GB, PROFILE)      # 1 GB of shuffle -> 16 partitions
    without = derived_inputs(2, 2, 4096, 1000, False, 2 * GB, PROFILE)
    assert with_aqe["effective_partitions"] == 16 and without["effective_partitions"] == 1000


def test_repeats_share_a_config_key_and_sizes_do_not():
    a, b = run(2, 2, 2048, 64, 1.0, 10), run(2, 2, 2048, 64, 1.0, 12)
    assert config_key(a) == config_key(b)
    assert config_key(a) != config_key(run(2, 2, 2048, 64, 4.0, 30))
    assert config_key(a) != config_key(run(2, 2, 2048, 32, 1.0, 10))


def test_nnls_recovers_an_exact_ernest_curve():
    theta = {"fixed": 5.0, "per_core": 40.0, "log_executors": 2.0, "executors": 0.5}
    rows = []
    for executors in (1, 2, 4, 8):
        for cores in (1, 2):
            for size in (1.0, 4.0):
                seconds = theta["fixed"] + theta["per_core"] * size / (executors * cores) + theta["log_executors"] * math.log(executors) + theta["executors"] * executors
                rows.append(run(executors, cores, 8192, 64, size, seconds))
    fit = fit_scaling(pd.DataFrame(rows), PROFILE, ERNEST_TERMS)
    for term, value in theta.items():
        assert fit.coefficients[term] == pytest.approx(value, rel=1e-6, abs=1e-6)
    assert fit.predict_ms(16, 2, 8192, 64, False, 32 * GB) == pytest.approx(
        1000 * (5 + 40 * 32 / 32 + 2 * math.log(16) + 0.5 * 16), rel=1e-6)


def cliff_runs(cliff_s_per_gb: float, noise: float = 0.02, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for memory in (1024, 2048, 8192):
        for executors in (1, 2, 4):
            for size in (0.5, 2.0, 8.0):
                pressure = derived_inputs(executors, 2, memory, 8, False, size * GB, PROFILE)["memory_pressure"]
                per_core = size / (executors * 2)
                seconds = 4 + 30 * per_core + cliff_s_per_gb * per_core * max(0.0, pressure - 1.0)
                rows += [run(executors, 2, memory, 8, size, seconds * (1 + rng.normal(0, noise))) for _ in range(2)]
    return pd.DataFrame(rows)


def test_the_memory_term_captures_a_cliff_that_ernest_cannot():
    runs = cliff_runs(60.0)
    with_memory = leave_one_config_out_mape(runs, PROFILE, FULL_TERMS)
    ernest = leave_one_config_out_mape(runs, PROFILE, ERNEST_TERMS)
    assert with_memory < 0.05 < ernest
    assert fit_scaling(runs, PROFILE, FULL_TERMS).memory_threshold == 1.0


def test_selection_adds_the_memory_term_only_where_a_cliff_is_measured():
    with_cliff = select_scaling(cliff_runs(60.0), PROFILE)
    assert "memory_cliff" in with_cliff.fit.terms and with_cliff.validation_mape < 0.05
    assert with_cliff.validation_mape == min(with_cliff.errors_by_terms.values())
    without = select_scaling(cliff_runs(0.0), PROFILE)
    assert "memory_cliff" not in without.fit.terms and without.validation_mape < 0.05
    assert len(without.validation_predictions) == 54


def test_few_configurations_fall_back_to_fewer_terms():
    runs = pd.DataFrame([run(2, 2, 2048, 64, 1.0, 10), run(4, 2, 2048, 64, 1.0, 6)])
    fit = fit_scaling(runs, PROFILE)
    assert fit.terms == ("fixed", "per_core")
    assert leave_one_config_out_mape(runs, PROFILE) is None


def test_error_summary_and_profiles():
    summary = error_summary(np.array([110.0, 90.0, 150.0]), np.array([100.0, 100.0, 100.0]))
    assert summary["mape"] == pytest.approx((0.1 + 0.1 + 0.5) / 3) and summary["mdape"] == pytest.approx(0.1)
    profiles = signature_profiles(pd.DataFrame([{"job_signature": "a", "shuffle_input_ratio": 1.0},
                                                {"job_signature": "a", "shuffle_input_ratio": 3.0}]))
    assert profiles["a"]["shuffle_input_ratio"] == 2.0


def test_safe_memory_gives_each_slot_its_peak_with_headroom():
    # Peak Execution Memory per task = 64 MB + 1.0 x bytes per task; no spill was observed.
    rows = []
    for size in (0.1, 0.2, 0.3):  # scan splits of size / 4 cores: 25.6, 51.2, 76.8 MB
        per_task = derived_inputs(2, 2, 4096, 8, False, size * GB, {})["memory_pressure"] * (4096 - 300) * 0.6 * MB / 2
        rows.append(run(2, 2, 4096, 8, size, 10, peak_execution_memory_bytes=64 * MB + per_task, spill_bytes=0))
    fit = fit_resource(pd.DataFrame(rows), {})
    assert fit.base_bytes == pytest.approx(64 * MB, rel=1e-3) and fit.bytes_per_task_byte == pytest.approx(1.0, rel=1e-3)
    # 1 GB over 4 cores: scan splits of min(128 MB, 256 MB) per task -> need (64 + 128) MB x 1.25 per slot.
    need_slot = max((64 * MB + 128 * MB) * 1.25, 128 * MB / fit.spill_free_pressure)
    expected = math.ceil((need_slot * 2 / 0.6 / MB + 300) / 512) * 512
    assert fit.safe_executor_memory_mb(2, 2, 8, False, 1 * GB) == max(1024, expected)


def test_a_stored_curve_keeps_its_curve_for_beyond_the_sizes_it_was_fitted_on():
    inside = fit_scaling(pd.DataFrame([run(1, 1, 2048, 8, 1.0, 20), run(2, 2, 2048, 8, 1.0, 9)]), PROFILE, ("fixed", "per_core"))
    beyond = fit_scaling(pd.DataFrame([run(1, 1, 2048, 8, 1.0, 30), run(2, 2, 2048, 8, 4.0, 40)]), PROFILE, ("fixed", "input"))
    fit = replace(inside, beyond=beyond, seen_bands=(size_band(1 * GB), size_band(2 * GB)))
    [row] = pa.Table.from_pylist([{"coefficients": fit.coefficients, "memory_threshold": fit.memory_threshold, "profile": PROFILE,
                                   "extrapolation": fit.extrapolation()}], schema=SCALING_MODELS.arrow_schema()
                                 ).to_pylist(maps_as_pydicts="strict")  # as scaling_models stores and gives it back
    stored = scaling_from_row(row["coefficients"], row["memory_threshold"], row["profile"], row["extrapolation"])
    for size in (0.5, 1.0, 1.5, 2.0, 8.0):
        assert stored.predict_ms(2, 2, 2048, 8, False, size * GB) == pytest.approx(fit.predict_ms(2, 2, 2048, 8, False, size * GB))
    assert stored.predict_ms(2, 2, 2048, 8, False, 8 * GB) == pytest.approx(beyond.predict_ms(2, 2, 2048, 8, False, 8 * GB))
    assert stored.predict_ms(2, 2, 2048, 8, False, 1.5 * GB) == pytest.approx(inside.predict_ms(2, 2, 2048, 8, False, 1.5 * GB))
    assert scaling_from_row(inside.coefficients, inside.memory_threshold, {}).beyond is None
