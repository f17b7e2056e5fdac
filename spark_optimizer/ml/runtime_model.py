"""Runtime models: a global MLlib random forest over model inputs (MLlib's gradient-boosted
trees fit sequentially and took 3-7x longer per fit here, which the many validation fits cannot afford), and the
per-signature scaling curve; validation picks one per signature (lower error wins) among the forest, the curve
and their blend (geometric mean: a curve extrapolating to an input it never saw and a forest that cannot
extrapolate at all err in opposite directions)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np
import pandas as pd
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.regression import RandomForestRegressor
from pyspark.sql import SparkSession

from spark_optimizer.ml.model_inputs import MODEL_FEATURES, ape, config_key, model_frame, signature_profiles, size_band
from spark_optimizer.ml.scaling import FULL_TERMS, ScalingFit, fit_scaling, leave_one_size_out_predictions, select_scaling

FOREST_PARAMS = {"numTrees": 60, "maxDepth": 6, "subsamplingRate": 0.8, "featureSubsetStrategy": "onethird", "seed": 7}
MIN_RUNS_FOR_SCALING = 3
MODEL_CHOICES = ("scaling", "blend", "forest")  # ties go to the earlier one
SIZE_FOLDS = 3


def usable_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Successful runs with a positive runtime and a configuration."""
    keep = (runs["runtime_ms"].fillna(0) > 0) & runs["executors"].notna() & runs["executor_cores"].notna()
    if "succeeded" in runs.columns:
        keep &= runs["succeeded"].fillna(True).astype(bool)
    out = runs[keep].copy()
    out["executor_memory_mb"] = out["executor_memory_mb"].fillna(1024)
    out["shuffle_partitions"] = out["shuffle_partitions"].fillna(200)
    out["aqe_enabled"] = out["aqe_enabled"].fillna(True).astype(bool)
    out["input_bytes"] = out["input_bytes"].fillna(0)
    return out.reset_index(drop=True)


def group_folds(runs: pd.DataFrame, folds: int, seed: int = 7) -> np.ndarray:
    """Fold number per run; all runs of one configuration land in the same fold."""
    keys = [config_key(r) for r in runs.to_dict("records")]
    unique = sorted(set(keys))
    order = np.random.default_rng(seed).permutation(len(unique))
    fold_of = {unique[i]: rank % folds for rank, i in enumerate(order)}
    return np.array([fold_of[k] for k in keys])


def _double_schema(names: list[str]):
    from pyspark.sql.types import DoubleType, StructField, StructType

    return StructType([StructField(name, DoubleType(), False) for name in names])


def fit_forest(spark: SparkSession, frame: pd.DataFrame, params: Mapping | None = None) -> PipelineModel:
    """MLlib pipeline (VectorAssembler -> RandomForestRegressor) predicting log runtime in seconds."""
    data = frame[list(MODEL_FEATURES)].astype(float).copy()
    data["label"] = np.log(frame["runtime_ms"].to_numpy(dtype=float) / 1000.0)
    assembler = VectorAssembler(inputCols=list(MODEL_FEATURES), outputCol="features")
    forest = RandomForestRegressor(featuresCol="features", labelCol="label", **{**FOREST_PARAMS, **(params or {})})
    return Pipeline(stages=[assembler, forest]).fit(spark.createDataFrame(data, _double_schema(list(data.columns))))


def predict_forest(spark: SparkSession, model: PipelineModel, frame: pd.DataFrame) -> np.ndarray:
    """Predicted runtime in ms, in the order of `frame`."""
    if frame.empty:
        return np.array([], dtype=float)
    data = frame[list(MODEL_FEATURES)].astype(float).copy()
    data["row"] = np.arange(len(data), dtype=float)
    scored = model.transform(spark.createDataFrame(data, _double_schema(list(data.columns)))).select("row", "prediction")
    scored = scored.toPandas().sort_values("row")
    return np.exp(scored["prediction"].to_numpy()) * 1000.0


@dataclass
class RuntimeModel:
    """The trained runtime models and which one each signature uses."""

    forest: PipelineModel
    profiles: dict[str, dict[str, float]]
    scaling: dict[str, ScalingFit] = field(default_factory=dict)
    chosen: dict[str, str] = field(default_factory=dict)
    # For an input size the signature has not run at: the family that validated best with whole sizes held out.
    chosen_new_size: dict[str, str] = field(default_factory=dict)
    sizes_seen: dict[str, set[int]] = field(default_factory=dict)
    validation: dict[str, dict[str, float | None]] = field(default_factory=dict)
    overall: dict[str, float] = field(default_factory=dict)

    def predict_ms(self, spark: SparkSession, runs: pd.DataFrame) -> np.ndarray:
        frame = model_frame(runs.reset_index(drop=True), self.profiles)
        predictions = predict_forest(spark, self.forest, frame)
        for i, r in enumerate(frame.itertuples(index=False)):
            fit, chosen = self.scaling.get(r.job_signature), self.chosen.get(r.job_signature)
            if size_band(r.input_bytes) not in self.sizes_seen.get(r.job_signature, ()):
                chosen = self.chosen_new_size.get(r.job_signature, chosen)
            if fit is not None and fit.extrapolates(r.input_bytes):
                chosen = "scaling"  # beyond the sizes it ran at: trees cannot extrapolate, the curve can
            if fit is not None and chosen in ("scaling", "blend"):
                curve = fit.predict_ms(r.executors, r.executor_cores, r.executor_memory_mb, r.shuffle_partitions,
                                       bool(r.aqe_enabled), r.input_bytes)
                predictions[i] = curve if chosen == "scaling" else blend(curve, predictions[i])
        return predictions


def blend(curve_ms, forest_ms):
    """Geometric mean of the two families' predictions (a curve at or below zero counts as the forest)."""
    curve_ms, forest_ms = np.asarray(curve_ms, dtype=float), np.asarray(forest_ms, dtype=float)
    return np.sqrt(np.where(curve_ms > 0, curve_ms, forest_ms) * forest_ms)


def _mape(predicted: np.ndarray, actual: np.ndarray) -> float | None:
    """MAPE over the runs that have a prediction; None when none has."""
    valid = ~np.isnan(predicted)
    return float(np.mean(ape(predicted[valid], actual[valid]))) if valid.any() else None


def size_folds(runs: pd.DataFrame, folds: int = SIZE_FOLDS) -> np.ndarray:
    """Fold number per run by the rank of its input size among its signature's sizes (rank % folds),
    so a fold holds out whole sizes; -1 (never held out) for signatures measured at one size."""
    bands = pd.Series([size_band(b) for b in runs["input_bytes"]], index=runs.index)
    ranks = bands.groupby(runs["job_signature"]).rank(method="dense").astype(int) - 1
    sizes = bands.groupby(runs["job_signature"]).transform("nunique")
    return np.where(sizes >= 2, ranks % folds, -1)


def _lowest(errors: Mapping[str, float | None]) -> str:
    """The family with the lowest validation error (ties: the earlier in MODEL_CHOICES); the forest when none validated."""
    available = [name for name in MODEL_CHOICES if errors.get(name) is not None]
    return min(available, key=lambda name: (errors[name], MODEL_CHOICES.index(name))) if available else "forest"


def out_of_fold_forest(spark: SparkSession, runs: pd.DataFrame, folds: int, params: Mapping | None = None,
                       assignment: np.ndarray | None = None) -> np.ndarray:
    """Forest predictions for every run from a model that never saw its configuration (profiles per
    fold too), or never saw its fold of `assignment` (NaN for runs in no fold)."""
    if assignment is None:
        assignment = group_folds(runs, folds)
    else:
        folds = int(assignment.max()) + 1 if len(assignment) else 0
    predictions = np.full(len(runs), np.nan)
    for fold in range(folds):
        held = assignment == fold
        if not held.any() or held.all():
            continue
        train = runs[~held]
        profiles = signature_profiles(train)
        model = fit_forest(spark, model_frame(train, profiles), params)
        predictions[held] = predict_forest(spark, model, model_frame(runs[held], profiles))
    return predictions


def extrapolation_curve(runs: pd.DataFrame, profile: Mapping[str, float]) -> ScalingFit:
    """The curve for input sizes beyond those a signature ran at: the most terms of FULL_TERMS that
    its configurations identify (fewer terms than configurations), fitted non-negatively.

    Validation cannot choose this one: holding out a configuration or a size leaves too few
    configurations to fit the longer curves, so it would always prefer two terms. The
    non-negative fit of physical terms is the regularizer instead, and trees are no alternative
    there: a forest's prediction never leaves the range of the runtimes it was trained on."""
    return fit_scaling(runs, profile, FULL_TERMS)


def train_runtime_model(spark: SparkSession, runs: pd.DataFrame, folds: int = 3, params: Mapping | None = None) -> RuntimeModel:
    """Fit both model families on `runs` (the runs table as pandas) and choose per signature among the
    forest, the curve and their blend: by configurations held out for input sizes the job ran at, by
    whole sizes held out for sizes it did not.

    Example::

        model = train_runtime_model(spark, store.read(RUNS).toPandas())
        model.predict_ms(spark, candidate_runs)
    """
    runs = usable_runs(runs)
    if len(runs) < 2:
        raise ValueError(f"a runtime model needs at least 2 successful runs, the runs table has {len(runs)}")
    config_count = len({config_key(r) for r in runs.to_dict("records")})
    folds = max(2, min(folds, config_count))
    oof = out_of_fold_forest(spark, runs, folds, params) if config_count >= 2 else np.full(len(runs), np.nan)
    # Recommendations are mostly for an input size the job has not run at: validate on that too.
    by_size = size_folds(runs)
    oof_size = out_of_fold_forest(spark, runs, 0, params, assignment=by_size) if (by_size >= 0).any() else np.full(len(runs), np.nan)
    profiles = signature_profiles(runs)
    model = RuntimeModel(fit_forest(spark, model_frame(runs, profiles), params), profiles)
    for signature, group in runs.groupby("job_signature"):
        profile = profiles.get(signature, {})
        mask = (runs["job_signature"] == signature).to_numpy()
        actual = group["runtime_ms"].to_numpy(dtype=float)
        errors = {"forest": _mape(oof[mask], actual)}
        size_errors = {"forest": _mape(oof_size[mask], actual)}
        if len(group) >= MIN_RUNS_FOR_SCALING:
            selected = select_scaling(group, profile)
            model.scaling[signature] = selected.fit
            errors["scaling"] = selected.validation_mape
            if selected.validation_predictions is not None:
                errors["blend"] = _mape(blend(selected.validation_predictions, oof[mask]), actual)
            curve_by_size = leave_one_size_out_predictions(group, profile, selected.fit.terms)
            if curve_by_size is not None:
                size_errors["scaling"] = _mape(curve_by_size, actual)
                size_errors["blend"] = _mape(blend(curve_by_size, oof_size[mask]), actual)
        else:
            model.scaling[signature] = fit_scaling(group, profile)
        model.chosen[signature] = _lowest(errors)
        model.chosen_new_size[signature] = _lowest(size_errors) if any(v is not None for v in size_errors.values()) else model.chosen[signature]
        model.sizes_seen[signature] = bands = {size_band(b) for b in group["input_bytes"]}
        if len(bands) >= 2 and len(group) >= MIN_RUNS_FOR_SCALING:
            model.scaling[signature] = replace(model.scaling[signature], beyond=extrapolation_curve(group, profile),
                                               seen_bands=(min(bands), max(bands)))
        model.validation[signature] = {"forest_mape": errors.get("forest"), "scaling_mape": errors.get("scaling"),
                                       "blend_mape": errors.get("blend"), "runs": len(group),
                                       **{f"{name}_new_size_mape": size_errors.get(name) for name in MODEL_CHOICES}}
    valid = ~np.isnan(oof)
    if valid.any():
        actual = runs["runtime_ms"].to_numpy(dtype=float)
        model.overall = {"forest_oof_mape": float(np.mean(np.abs(oof[valid] - actual[valid]) / actual[valid])),
                         "forest_oof_mdape": float(np.median(np.abs(oof[valid] - actual[valid]) / actual[valid]))}
    return model
