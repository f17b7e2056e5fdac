"""Training: both model families, per-signature choice, MLflow tracking and registry, scaling_models."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from spark_optimizer.ml.model_inputs import GB
from spark_optimizer.ml.runs import RunsSchemaError, normalize_external_runs
from spark_optimizer.ml.runtime_model import blend, size_folds, train_runtime_model
from spark_optimizer.ml.train import NotEnoughRunsError, train_models
from spark_optimizer.ml import tracking
from spark_optimizer.tables import RUNS, SCALING_MODELS
from tests.conftest import PINNED_RUN_TIME


def curve_runs(signature: str, noise: float, seed: int) -> pd.DataFrame:
    """Runs of one job whose runtime follows a scaling curve, with multiplicative noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for executors in (1, 2, 4, 8):
        for cores in (1, 2, 4):
            for size in (1.0, 4.0, 16.0):
                seconds = 8 + 30 * size / (executors * cores) + 1.5 * executors
                for repeat in range(2):
                    rows.append({"run_id": f"{signature}-{executors}-{cores}-{size}-{repeat}", "job_signature": signature,
                                 "job_type": "etl", "executors": executors, "executor_cores": cores, "executor_memory_mb": 8192,
                                 "shuffle_partitions": 64, "aqe_enabled": True, "input_bytes": int(size * GB),
                                 "runtime_ms": seconds * 1000 * (1 + rng.normal(0, noise)), "succeeded": True})
    return pd.DataFrame(rows)


def test_a_job_that_follows_a_scaling_curve_gets_the_curve(spark):
    runs = curve_runs("nightly#a", noise=0.02, seed=1)
    model = train_runtime_model(spark, runs, folds=3)
    assert model.chosen["nightly#a"] == "scaling"
    assert model.validation["nightly#a"]["scaling_mape"] < 0.05
    unseen = pd.DataFrame([{"job_signature": "nightly#a", "executors": 16, "executor_cores": 4, "executor_memory_mb": 8192,
                            "shuffle_partitions": 64, "aqe_enabled": True, "input_bytes": int(64 * GB), "runtime_ms": 1}])
    predicted = model.predict_ms(spark, unseen)[0] / 1000
    assert predicted == pytest.approx(8 + 30 * 64 / 64 + 1.5 * 16, rel=0.15)


def test_each_signature_uses_the_family_that_validated_best_for_the_size_asked_about(spark):
    rng = np.random.default_rng(3)
    irregular = curve_runs("adhoc#b", noise=0.0, seed=2)
    irregular["runtime_ms"] = rng.uniform(5_000, 60_000, len(irregular))  # no curve explains these
    model = train_runtime_model(spark, pd.concat([curve_runs("nightly#a", 0.02, 1), irregular], ignore_index=True), folds=3)
    for signature, validation in model.validation.items():
        held_configs = {name: validation[f"{name}_mdape"] for name in ("scaling", "blend", "forest")}  # median APE chooses
        held_sizes = {name: validation[f"{name}_new_size_mdape"] for name in ("scaling", "blend", "forest")}
        assert model.chosen[signature] == min(held_configs, key=held_configs.get), (signature, held_configs)
        assert model.chosen_new_size[signature] == min(held_sizes, key=held_sizes.get), (signature, held_sizes)
    assert model.sizes_seen["nightly#a"] == {int(size * GB) for size in (1.0, 4.0, 16.0)}


def amdahl_waves_seconds(executors, cores, partitions, size_gb):
    """A job with a serial part, a part that divides among the cores, a cost per executor and per wave of tasks."""
    return 3 + 40 * size_gb / (executors * cores) + 6 * size_gb + 1.5 * executors + 0.05 * partitions / (executors * cores)


def test_beyond_the_sizes_a_job_ran_at_the_richest_identifiable_curve_predicts_and_ranks(spark):
    """Three configurations at each of two sizes (as a job's history usually is): at a 4x larger
    size the model predicts with the curve its six configurations identify, not with the forest,
    whose predictions cannot leave the range of runtimes it was trained on."""
    rng = np.random.default_rng(5)
    measured = {1.0: [(1, 2, 8), (2, 1, 200), (2, 2, 32)], 2.0: [(1, 1, 32), (2, 1, 64), (2, 2, 200)]}
    rows = [{"run_id": f"r{size}-{e}-{c}-{p}-{k}", "job_signature": "nightly#c", "job_type": "etl", "executors": e,
             "executor_cores": c, "executor_memory_mb": 4096, "shuffle_partitions": p, "aqe_enabled": False,
             "input_bytes": int(size * GB), "succeeded": True,
             "runtime_ms": 1000 * amdahl_waves_seconds(e, c, p, size) * (1 + rng.normal(0, 0.01))}
            for size, configs in measured.items() for e, c, p in configs for k in range(2)]
    model = train_runtime_model(spark, pd.DataFrame(rows), folds=3)
    fit = model.scaling["nightly#c"]
    assert fit.beyond is not None and fit.beyond.terms == ("fixed", "per_core", "input", "executors", "waves")
    candidates = pd.DataFrame([{"job_signature": "nightly#c", "executors": e, "executor_cores": c, "executor_memory_mb": 4096,
                                "shuffle_partitions": p, "aqe_enabled": False, "input_bytes": int(8 * GB), "runtime_ms": 1}
                               for e, c, p in ((1, 2, 64), (2, 1, 32), (2, 2, 200), (1, 1, 8))])
    truth = np.array([amdahl_waves_seconds(e, c, p, 8.0) for e, c, p in ((1, 2, 64), (2, 1, 32), (2, 2, 200), (1, 1, 8))])
    predicted = model.predict_ms(spark, candidates) / 1000
    assert np.abs(predicted / truth - 1).max() < 0.10, (predicted, truth)
    assert np.argmin(predicted) == np.argmin(truth)
    assert fit.extrapolates(8 * GB) and not fit.extrapolates(1.5 * GB)  # between two sizes it ran at: not beyond


def test_size_folds_hold_out_whole_input_sizes_and_never_a_job_seen_at_one_size():
    runs = pd.DataFrame({"job_signature": ["a"] * 4 + ["b"] * 2,
                         "input_bytes": [1 * GB, 1 * GB, 4 * GB, 16 * GB, 2 * GB, 2 * GB]})
    assert size_folds(runs).tolist() == [0, 0, 1, 2, -1, -1]


def test_the_blend_is_the_geometric_mean_of_curve_and_forest():
    assert blend(400.0, 100.0) == pytest.approx(200.0)
    assert blend(-5.0, 100.0) == pytest.approx(100.0)  # a curve at or below zero defers to the forest


def test_external_runs_need_the_required_columns(spark):
    frame = spark.createDataFrame([("r1", 3)], "run_id string, executors int")
    with pytest.raises(RunsSchemaError, match="job_signature.*runtime_ms"):
        normalize_external_runs(frame, "c3o", PINNED_RUN_TIME)
    ok = normalize_external_runs(spark.createDataFrame(curve_runs("x#1", 0.0, 0).head(3)), "c3o", PINNED_RUN_TIME)
    assert ok.columns == RUNS.column_names and {r["source"] for r in ok.collect()} == {"c3o"}


@pytest.fixture(scope="module")
def trained(spark, generated_warehouse):
    settings, store = generated_warehouse
    return settings, store, train_models(spark, store, settings, PINNED_RUN_TIME, folds=2)


def test_training_logs_params_metrics_data_versions_and_a_registered_champion(trained, spark):
    import mlflow

    settings, store, summary = trained
    assert summary.runs == 7  # 8 logs; the killed in-progress run is not a successful run
    assert summary.scaling_wins + summary.forest_wins + summary.blend_wins == summary.signatures
    client = mlflow.MlflowClient(settings.resolved_mlflow_tracking_uri())
    run = client.get_run(summary.mlflow_run_id)
    assert run.data.params["runs"] == "7" and "forest_n_estimators" in run.data.params  # small run sets: boosted trees
    assert run.data.tags["data_version.runs"] == str(store.version(RUNS))
    assert "forest_oof_mape" in run.data.metrics and math.isfinite(run.data.metrics["forest_oof_mape"])
    champion = client.get_model_version_by_alias(tracking.RUNTIME_MODEL_NAME, tracking.CHAMPION_ALIAS)
    assert str(champion.version) == summary.runtime_model_version
    model = mlflow.sklearn.load_model(f"models:/{tracking.RUNTIME_MODEL_NAME}@{tracking.CHAMPION_ALIAS}")
    assert type(model).__name__ == "GradientBoostingRegressor"
    assert run.data.params["skipped_runs"] == str(sum(summary.skipped.values()))


def test_the_registered_resource_model_loads_and_predicts_from_its_input_example(trained):
    import mlflow
    from mlflow.models import Model

    settings, _, _ = trained
    mlflow.set_tracking_uri(settings.resolved_mlflow_tracking_uri())
    uri = f"models:/{tracking.RESOURCE_MODEL_NAME}@{tracking.CHAMPION_ALIAS}"
    example = Model.load(uri).load_input_example(mlflow.artifacts.download_artifacts(uri))
    predicted = mlflow.pyfunc.load_model(uri).predict(example)
    assert len(predicted) == len(example) and (predicted.dropna() > 0).all()


def test_scaling_models_hold_one_row_per_signature_for_jvm_free_lookups(trained):
    settings, store, summary = trained
    rows = store.read_arrow(SCALING_MODELS).to_pylist(maps_as_pydicts="strict")
    assert len(rows) == summary.signatures
    for row in rows:
        assert row["coefficients"] and row["chosen_model"] in ("scaling", "blend", "forest")
        assert row["model_version"] == summary.runtime_model_version
        assert set(row["table_versions"]) == {"runs", "features"}


def test_training_on_an_empty_warehouse_says_what_to_do(spark, store, settings):
    with pytest.raises(NotEnoughRunsError, match="spark-optimizer collect"):
        train_models(spark, store, settings, PINNED_RUN_TIME)


def test_the_sdk_fits_and_predicts_on_any_runs_dataframe(spark):
    from spark_optimizer import fit_runtime_model, predict_runtime

    history = spark.createDataFrame(curve_runs("vendor#1", noise=0.01, seed=3).drop(columns=["shuffle_partitions", "aqe_enabled"]))
    model = fit_runtime_model(history, spark=spark, folds=2)
    candidates = pd.DataFrame([{"job_signature": "vendor#1", "executors": e, "executor_cores": 4, "executor_memory_mb": 8192,
                                "input_bytes": int(32 * GB)} for e in (2, 8)])
    predicted = predict_runtime(model, candidates, spark=spark)["predicted_runtime_ms"].to_numpy() / 1000
    expected = [8 + 30 * 32 / (e * 4) + 1.5 * e for e in (2, 8)]
    assert predicted == pytest.approx(expected, rel=0.15)
    with pytest.raises(ValueError, match="runtime_ms"):
        fit_runtime_model(pd.DataFrame([{"job_signature": "x", "executors": 1}]), spark=spark)
