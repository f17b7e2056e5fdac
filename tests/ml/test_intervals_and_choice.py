"""Intervals that widen where the model extrapolates, and choices that do not trust an extrapolation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spark_optimizer.ml.model_inputs import GB, signature_profiles
from spark_optimizer.ml.runtime_model import (
    conformal_ratios, cautious_runtime_ms, predict_forest, train_runtime_model, usable_runs,
)
from spark_optimizer.ml.scaling import fit_scaling
from tests.ml.test_external_runs import parametric_runs


def test_the_symmetric_score_is_the_level_quantile_of_the_absolute_log_error_on_both_sides():
    residuals = np.log(np.concatenate([np.full(10, 0.5), np.linspace(0.95, 1.05, 89)]))  # one block far below, one near
    low, high = conformal_ratios(residuals, 0.8, symmetric=True)
    bound = np.sort(np.abs(residuals))[int(np.ceil(100 * 0.8)) - 1]
    assert (low, high) == (np.exp(-bound), np.exp(bound))
    inside = np.mean(np.abs(residuals) <= bound)
    assert 0.8 <= inside <= 0.82


def candidates(executors, size_gb=8, iterations=10, memory=16384):
    return usable_runs(pd.DataFrame([{"job_signature": "sgd", "executors": e, "executor_cores": 4, "executor_memory_mb": memory,
                                      "input_bytes": size_gb * GB, "job_params": f'{{"iterations": {iterations}}}',
                                      "runtime_ms": 1.0, "succeeded": True} for e in executors]))


def test_a_configuration_outside_the_seen_cores_is_an_extrapolation_with_its_own_interval_and_never_high():
    runs = parametric_runs(11)
    model = train_runtime_model(None, runs[runs["executors"] <= 4])  # 8 executors x 4 cores never ran
    intervals = model.predict_interval(None, candidates([2, 4, 8]))
    assert intervals["size_seen"].all()
    assert intervals["outside_seen_configurations"].tolist() == [False, False, True]
    assert intervals["interval_regime"].tolist() == ["seen", "seen", "beyond"]
    assert intervals.loc[2, "confidence_label"] != "high"
    assert (model.interval_ratios("sgd", "beyond") == intervals.loc[2, ["runtime_low_ms", "runtime_high_ms"]].to_numpy(dtype=float)
            / intervals.loc[2, "predicted_runtime_ms"]).all()


def test_a_model_for_seen_sizes_only_predicts_what_the_whole_model_predicts_there():
    runs = parametric_runs(12)
    whole, seen_only = train_runtime_model(None, runs), train_runtime_model(None, runs, new_sizes=False)
    asked = candidates([2, 4, 8], size_gb=16)
    assert np.allclose(whole.predict_ms(None, asked), seen_only.predict_ms(None, asked))
    assert np.allclose(whole.predict_interval(None, asked)["runtime_high_ms"], seen_only.predict_interval(None, asked)["runtime_high_ms"])


def test_choices_rank_by_the_upper_end_of_the_interval_and_the_trees_order_what_the_chosen_family_cannot_tell_apart():
    runs = usable_runs(parametric_runs(13))
    model = train_runtime_model(None, runs)
    asked = candidates([2, 4, 8])
    cautious = cautious_runtime_ms(model.predict_interval(None, asked))
    assert model.choose(None, asked) == int(np.argmin(cautious))
    price = asked["executors"].to_numpy(dtype=float)
    assert model.choose(None, asked, price) == int(np.argmin(cautious * price))

    # A curve in total cores alone gives 4 GB and 16 GB executors the same runtime: the trees decide.
    model.chosen["sgd"] = "scaling"
    model.scaling["sgd"] = fit_scaling(runs, signature_profiles(runs)["sgd"], ("fixed", "per_core"))
    same_cores = pd.concat([candidates([2], size_gb=16, memory=4096), candidates([2], size_gb=16, memory=16384)], ignore_index=True)
    predicted = model.predict_ms(None, same_cores)
    assert predicted[0] == predicted[1]
    trees = predict_forest(None, model.forest, model._frame(same_cores))
    assert trees[0] != trees[1]
    assert model.choose(None, same_cores) == int(np.argmin(trees))


def test_a_choice_runs_the_trees_once_and_each_interval_is_calibrated_once_per_model(monkeypatch):
    from spark_optimizer.ml import runtime_model

    model = train_runtime_model(None, usable_runs(parametric_runs(14)))
    asked = candidates([2, 4, 8, 16, 32])
    tree_runs, calibrations = [], []
    for name, log in (("predict_forest", tree_runs), ("conformal_ratios", calibrations)):
        real = getattr(runtime_model, name)
        monkeypatch.setattr(runtime_model, name, lambda *args, real=real, log=log, **kwargs: log.append(args) or real(*args, **kwargs))

    model.choose(None, asked)
    model.choose(None, asked, asked["executors"].to_numpy(dtype=float))

    assert len(tree_runs) == 2  # one per choice: the intervals and the tie-break share the trees' run
    regimes = set(model.predict_interval(None, asked)["interval_regime"])
    assert len(regimes) >= 2 and len(calibrations) == len(regimes)  # one per regime, for all the rows and choices
