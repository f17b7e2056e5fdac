"""The evaluation's splits never leak repeats, and its baselines are what they say."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spark_optimizer.ml.evaluation import (
    expected_random_best, knn_predictor, largest_input_held_out, noise_floor, rule_of_thumb_choice, spark_defaults_choice,
)
from spark_optimizer.ml.model_inputs import config_key
from spark_optimizer.ml.runtime_model import group_folds


def runs_frame(rows):
    base = {"job_signature": "w#1", "executor_memory_mb": 1024, "aqe_enabled": True}
    return pd.DataFrame([{**base, **r} for r in rows])


RUNS = runs_frame([
    {"executors": e, "executor_cores": c, "shuffle_partitions": p, "input_bytes": size, "runtime_ms": t}
    for e, c, p, size, t in [
        (1, 1, 200, 10, 100.0), (1, 1, 200, 10, 110.0), (1, 1, 200, 10, 120.0),
        (2, 2, 8, 10, 50.0), (2, 2, 8, 10, 70.0),
        (2, 2, 8, 40, 160.0), (1, 1, 200, 40, 400.0),
    ]
])


def test_repeats_of_a_configuration_always_share_a_fold():
    folds = group_folds(RUNS, 3)
    keys = [config_key(r) for r in RUNS.to_dict("records")]
    for key in set(keys):
        assert len({f for f, k in zip(folds, keys) if k == key}) == 1


def test_noise_floor_predicts_a_run_by_the_mean_of_its_other_repeats():
    floor = noise_floor(RUNS)
    assert floor[:5].tolist() == [115.0, 110.0, 105.0, 70.0, 50.0]
    assert np.isnan(floor[5]) and np.isnan(floor[6])


def test_extrapolation_holds_out_each_signatures_largest_input():
    assert largest_input_held_out(RUNS).tolist() == [False] * 5 + [True, True]


def test_knn_averages_the_nearest_runs_of_the_same_job():
    test = runs_frame([{"executors": 2, "executor_cores": 2, "shuffle_partitions": 8, "input_bytes": 10, "runtime_ms": 1.0}])
    predicted = knn_predictor(k=2)(RUNS.iloc[:5], test)
    assert predicted[0] == pytest.approx(60.0)


def test_baseline_choices():
    candidates = runs_frame([
        {"executors": 1, "executor_cores": 1, "shuffle_partitions": 200},
        {"executors": 2, "executor_cores": 2, "shuffle_partitions": 8},   # 2 partitions per core: rule of thumb
        {"executors": 1, "executor_cores": 2, "shuffle_partitions": 64},
    ])
    assert rule_of_thumb_choice(candidates) == 1
    assert spark_defaults_choice(candidates, {"shuffle_partitions": 200, "aqe_enabled": True}) == 0
    assert spark_defaults_choice(candidates, {"shuffle_partitions": 300}) is None


def test_random_search_expectation():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    assert expected_random_best(values, 4) == 1.0
    assert expected_random_best(values, 1, draws=20000) == pytest.approx(2.5, rel=0.03)


def test_ernest_is_nnls_on_one_size_per_machine_log_machines_and_machines():
    from spark_optimizer.ml.evaluation import ernest_predictor
    from spark_optimizer.ml.model_inputs import MB

    rows = [{"executors": m, "executor_cores": 4, "shuffle_partitions": 200, "input_bytes": size * MB,
             "runtime_ms": 5 + 2 * size / m + 3 * np.log(m) + 1 * m} for m in (2, 4, 6, 8, 12) for size in (100, 400)]
    train = runs_frame(rows)
    test = runs_frame([{"executors": 16, "executor_cores": 4, "shuffle_partitions": 200, "input_bytes": 800 * MB, "runtime_ms": 1}])
    assert ernest_predictor()(train, test)[0] == pytest.approx(5 + 2 * 800 / 16 + 3 * np.log(16) + 16, rel=1e-6)


def test_configuration_folds_hold_out_each_configuration_alone_and_coverage_counts_runs_inside():
    from spark_optimizer.ml.evaluation import configuration_folds, coverage

    folds = configuration_folds(RUNS)
    assert len(set(folds.tolist())) == 4 and folds[0] == folds[1] == folds[2] and folds[3] == folds[4]
    intervals = pd.DataFrame({"runtime_low_ms": [90.0, 90.0, None], "runtime_high_ms": [110.0, 110.0, None]})
    assert coverage(intervals, np.array([100.0, 120.0, 5.0])) == 0.5
