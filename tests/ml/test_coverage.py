"""The coverage stored with an interval is measured on held-out groups of runs, not the in-sample share the
calibration quantile holds by construction, and is null when too few groups were held out to measure it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa

from spark_optimizer.ml.runtime_model import MIN_COVERAGE_GROUPS, conformal_ratios, cross_fitted_coverage, train_runtime_model
from tests.ml.test_external_runs import parametric_runs


def test_coverage_is_not_measured_with_fewer_held_out_groups_than_the_minimum():
    groups = np.repeat([f"config-{i}" for i in range(MIN_COVERAGE_GROUPS - 1)], 25)
    residuals = np.random.default_rng(3).normal(0, 0.1, len(groups))
    assert cross_fitted_coverage(residuals, groups) is None


def test_a_held_out_group_is_checked_against_ratios_calibrated_without_it():
    # Five groups whose runs share one error each: calibrated on all of them the 80% interval spans every run,
    # but a new group like the extreme ones falls outside what the other four groups taught.
    offsets = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    residuals = np.repeat(offsets, 10)
    groups = np.repeat([f"size-{i}" for i in range(5)], 10)
    low, high = conformal_ratios(residuals, 0.8)
    assert np.mean((residuals >= np.log(low)) & (residuals <= np.log(high))) == 1.0
    assert cross_fitted_coverage(residuals, groups, 0.8) == 30 / 50  # the -2 and +2 groups fall outside


def test_a_trained_model_measures_coverage_where_it_held_out_enough_configurations():
    model = train_runtime_model(None, parametric_runs(5), new_sizes=False)
    coverage = model.interval_coverage("sgd", "seen")
    assert coverage is not None and 0.0 <= coverage <= 1.0
    assert model.interval_coverage("sgd", "new_size") is None  # new_sizes=False: no size was held out


def test_a_warehouse_with_the_previous_scaling_models_schema_gains_the_coverage_columns(spark, tmp_path):
    from spark_optimizer.config import load_settings
    from spark_optimizer.tables import SCALING_MODELS
    from spark_optimizer.tables.store import TableStore

    added = ("beyond_interval_low_ratio", "beyond_interval_high_ratio", "interval_coverage", "new_size_interval_coverage",
             "beyond_interval_coverage")
    previous = replace(SCALING_MODELS, columns=tuple(c for c in SCALING_MODELS.columns if c.name not in added), schema_version=5)
    store = TableStore(spark, load_settings(warehouse=str(tmp_path / "wh"), environ={}))
    store.ensure(previous)
    store.append(previous, pa.Table.from_pylist([{"job_signature": "sort", "interval_level": 0.8,
                                                  "trained_at": datetime(2026, 12, 6, tzinfo=timezone.utc)}],
                                                schema=previous.arrow_schema()))
    store.ensure(SCALING_MODELS)
    (row,) = store.read_arrow(SCALING_MODELS).to_pylist()
    assert row["job_signature"] == "sort" and row["interval_level"] == 0.8
    assert all(row[name] is None for name in added)
