"""Runtime models: a global tree model over model inputs (gradient-boosted trees fitted on the driver with
scikit-learn for run sets up to LOCAL_FIT_MAX_RUNS — a fit of a few hundred runs takes well under a second, which
the many validation fits need; an MLlib random forest beyond that), and the per-signature scaling curve;
validation picks one per signature (lower error wins) among the trees, the curve and their blend (geometric mean:
a curve extrapolating to an input it never saw and trees that cannot extrapolate at all err in opposite
directions). The family is still called "forest" in tables and summaries.

Intervals are split-conformal on relative error: the log ratios actual/predicted of the chosen family's
held-out predictions (configurations held out for sizes a job ran at, whole input sizes held out for sizes it
did not) give the interval's bounds at the asked level."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import numpy as np
import pandas as pd
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.regression import RandomForestRegressor
from pyspark.sql import SparkSession

from spark_optimizer.ml.model_inputs import (
    MODEL_FEATURES, ape, config_key, job_params, job_params_json, model_frame, param_names, signature_profiles, size_band,
)
from spark_optimizer.ml.scaling import FULL_TERMS, ScalingFit, fit_scaling, leave_one_size_out_predictions, select_scaling
from spark_optimizer.spark_rules import DEFAULT_EXECUTOR_MEMORY_MB, DEFAULT_SHUFFLE_PARTITIONS

FOREST_PARAMS = {"numTrees": 60, "maxDepth": 6, "subsamplingRate": 0.8, "featureSubsetStrategy": "onethird", "seed": 7}
BOOSTED_PARAMS = {"n_estimators": 150, "max_depth": 3, "learning_rate": 0.1, "subsample": 0.8, "random_state": 7}
LOCAL_FIT_MAX_RUNS = 50_000
RUN_DEFAULTS = {"executor_memory_mb": DEFAULT_EXECUTOR_MEMORY_MB, "shuffle_partitions": DEFAULT_SHUFFLE_PARTITIONS,
                "aqe_enabled": True, "input_bytes": 0}
MIN_RUNS_FOR_SCALING = 3
MODEL_CHOICES = ("scaling", "blend", "forest")  # ties go to the earlier one
SIZE_FOLDS = 3
INTERVAL_LEVEL = 0.8
MIN_CALIBRATION_RUNS = 20
"""Below this many held-out residuals a signature's interval uses the residuals of every signature."""
MIN_COVERAGE_GROUPS = 5
"""Below this many held-out groups (configurations, sizes or extreme sizes held out, per signature) in a calibration
set its coverage is not measured: a fold would rest on one group, whose errors share one cause."""
COVERAGE_FOLDS = 5
SEEN_RANGE_AXES = ("total_cores", "input_per_memory")
"""The configuration axes whose seen range (per signature) bounds where the trees interpolate: parallelism,
and input per unit of cluster memory (the memory cliff). A candidate outside either range is an extrapolation
like a size beyond the seen ones, and gets the interval calibrated on extrapolations."""


def skip_reasons(runs: pd.DataFrame) -> pd.Series:
    """Why each run cannot train the runtime models (None: it can): the source's own reason (runs.skip_reason),
    else a failed run, no positive runtime, or no executor count or cores."""
    given = runs["skip_reason"] if "skip_reason" in runs.columns else pd.Series([None] * len(runs), index=runs.index)
    checks = [
        (~runs["succeeded"].fillna(True).astype(bool) if "succeeded" in runs.columns else None, "failed run"),
        (~(pd.to_numeric(runs["runtime_ms"], errors="coerce").fillna(0) > 0), "no positive runtime"),
        (runs["executors"].isna(), "no executor count"),
        (runs["executor_cores"].isna(), "no executor cores"),
    ]
    reasons = given.astype(object).where(given.notna(), None)
    for failed, reason in checks:
        if failed is not None:
            reasons = reasons.where(reasons.notna() | ~failed, reason)
    return reasons


def usable_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs that can train the runtime models (no skip reason), with RUN_DEFAULTS filled in."""
    keep = skip_reasons(runs).isna().to_numpy()
    return with_run_defaults(runs[keep].copy()).reset_index(drop=True)


def with_run_defaults(runs: pd.DataFrame) -> pd.DataFrame:
    """`runs` with RUN_DEFAULTS where a value (or the column) is missing."""
    out = runs.copy()
    for column, default in RUN_DEFAULTS.items():
        out[column] = out[column].astype(object).where(out[column].notna(), default) if column in out.columns else default
    out["aqe_enabled"] = out["aqe_enabled"].astype(bool)
    for column in ("executor_memory_mb", "shuffle_partitions", "input_bytes"):
        out[column] = out[column].astype(float)
    if "job_params" in out.columns:
        out["job_params"] = [job_params_json(job_params(v)) for v in out["job_params"]]
    return out


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


@dataclass
class TreeModel:
    """The global tree model: `columns` are its inputs (MODEL_FEATURES + job parameters); exactly one of
    `local` (scikit-learn gradient boosting) and `spark_model` (MLlib pipeline) is set. Predicts log seconds."""

    columns: tuple[str, ...]
    local: Any = None
    spark_model: PipelineModel | None = None

    @property
    def params(self) -> tuple[str, ...]:
        return self.columns[len(MODEL_FEATURES):]


def fit_forest(spark: SparkSession, frame: pd.DataFrame, params: Mapping | None = None, columns: tuple[str, ...] | None = None) -> TreeModel:
    """The tree model predicting log runtime in seconds from `columns` of `frame` (a model_frame)."""
    columns = tuple(columns or MODEL_FEATURES)
    data = frame[list(columns)].astype(float).copy()
    label = np.log(frame["runtime_ms"].to_numpy(dtype=float) / 1000.0)
    if len(frame) <= LOCAL_FIT_MAX_RUNS:
        from sklearn.ensemble import GradientBoostingRegressor

        # Repeats share every input: fit their mean log runtime once, weighted by how many there are.
        data["label"] = label
        grouped = data.groupby(list(columns), sort=False)["label"].agg(["mean", "size"]).reset_index()
        from sklearn import config_context

        model = GradientBoostingRegressor(**{**BOOSTED_PARAMS, **(params or {})})
        # The parameters are fixed here: sklearn's validation of them for each of the 150 trees is a third of a fit.
        with config_context(skip_parameter_validation=True, assume_finite=True):
            model.fit(grouped[list(columns)].to_numpy(), grouped["mean"].to_numpy(), sample_weight=grouped["size"].to_numpy(dtype=float))
        return TreeModel(columns, local=model)
    data["label"] = label
    assembler = VectorAssembler(inputCols=list(columns), outputCol="features")
    forest = RandomForestRegressor(featuresCol="features", labelCol="label", **{**FOREST_PARAMS, **(params or {})})
    return TreeModel(columns, spark_model=Pipeline(stages=[assembler, forest]).fit(
        spark.createDataFrame(data, _double_schema(list(data.columns)))))


def predict_forest(spark: SparkSession, model: TreeModel, frame: pd.DataFrame) -> np.ndarray:
    """Predicted runtime in ms, in the order of `frame` (a model_frame with the model's columns)."""
    if frame.empty:
        return np.array([], dtype=float)
    data = frame[list(model.columns)].astype(float).copy()
    if model.local is not None:
        from sklearn import config_context

        with config_context(skip_parameter_validation=True, assume_finite=True):
            return np.exp(model.local.predict(data.to_numpy())) * 1000.0
    data["row"] = np.arange(len(data), dtype=float)
    scored = model.spark_model.transform(spark.createDataFrame(data, _double_schema(list(data.columns)))).select("row", "prediction")
    scored = scored.toPandas().sort_values("row")
    return np.exp(scored["prediction"].to_numpy()) * 1000.0


def conformal_ratios(log_residuals: np.ndarray, level: float = INTERVAL_LEVEL, symmetric: bool = False) -> tuple[float, float] | None:
    """(low, high) multipliers of a prediction such that a share `level` of runs like the held-out ones
    fall inside: split-conformal quantiles of log(actual / predicted), with the finite-sample correction.
    `symmetric`: the `level` quantile of |log(actual / predicted)| on both sides (the standard absolute-residual
    score), for calibration sets made of few held-out blocks whose signs differ (extrapolations down and up),
    where each tail alone rests on one block. None without residuals."""
    r = np.asarray(log_residuals, dtype=float)
    r = np.sort(r[~np.isnan(r)])
    n = len(r)
    if n == 0:
        return None
    if symmetric:
        scores = np.sort(np.abs(r))
        bound = float(scores[min(math.ceil((n + 1) * level) - 1, n - 1)])
        return float(math.exp(-bound)), float(math.exp(bound))
    tail = (1.0 - level) / 2.0
    low_rank = max(math.floor((n + 1) * tail) - 1, 0)
    high_rank = min(math.ceil((n + 1) * (1.0 - tail)) - 1, n - 1)
    return float(math.exp(min(r[low_rank], 0.0))), float(math.exp(max(r[high_rank], 0.0)))


def cross_fitted_coverage(log_residuals: np.ndarray, groups: np.ndarray, level: float = INTERVAL_LEVEL,
                          symmetric: bool = False, folds: int = COVERAGE_FOLDS) -> float | None:
    """Measured coverage of conformal_ratios on a calibration set: its held-out groups split into `folds`, each
    fold's log(actual / predicted) checked against the ratios calibrated on the other folds; the share inside.
    The in-sample share is `level` by construction; this one is what a new group of runs would see. None below
    MIN_COVERAGE_GROUPS groups."""
    r = np.asarray(log_residuals, dtype=float)
    valid = ~np.isnan(r)
    r, labels = r[valid], np.asarray(groups, dtype=object)[valid]
    unique = sorted(set(labels.tolist()), key=str)
    if len(unique) < MIN_COVERAGE_GROUPS:
        return None
    folds = min(folds, len(unique))
    order = np.random.default_rng(7).permutation(len(unique))
    fold_of = {unique[i]: rank % folds for rank, i in enumerate(order)}
    assignment = np.array([fold_of[label] for label in labels.tolist()])
    inside = 0
    for fold in range(folds):
        held = assignment == fold
        low, high = conformal_ratios(r[~held], level, symmetric)
        inside += int(((r[held] >= math.log(low) - 1e-12) & (r[held] <= math.log(high) + 1e-12)).sum())
    return inside / len(r)


def confidence_label(low_ratio: float, high_ratio: float, beyond_seen_sizes: bool) -> str:
    """From the calibrated interval (measured held-out error at this distance from the data): high when it
    spans at most ±15%, medium up to ±40%; never high beyond the input sizes a job ran at."""
    spread = high_ratio / max(low_ratio, 1e-9)
    label = "high" if spread <= 1.15 / 0.85 else "medium" if spread <= 1.4 / 0.6 else "low"
    return "medium" if beyond_seen_sizes and label == "high" else label


@dataclass
class RuntimeModel:
    """The trained runtime models, which one each signature uses, and the calibrated intervals."""

    forest: TreeModel
    profiles: dict[str, dict[str, float]]
    scaling: dict[str, ScalingFit] = field(default_factory=dict)
    chosen: dict[str, str] = field(default_factory=dict)
    # For an input size the signature has not run at: the family that validated best with whole sizes held out.
    chosen_new_size: dict[str, str] = field(default_factory=dict)
    sizes_seen: dict[str, set[int]] = field(default_factory=dict)
    validation: dict[str, dict[str, float | None]] = field(default_factory=dict)
    overall: dict[str, float] = field(default_factory=dict)
    # Held-out log(actual / predicted) of the chosen family, per signature and regime ("seen": a size the
    # job ran at, "new_size": a size it did not, "beyond": outside the range of sizes it ran at, from the
    # extrapolation curve with the smallest or the largest size held out), the intervals' calibration set.
    residuals: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    # Per residual: the held-out group it was predicted without ("signature|configuration", "|size band" or
    # "|held-out size"), the folds of interval_coverage.
    residual_groups: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    # Outside the range of sizes it ran at: "scaling" (the extrapolation curve) or "scaled_forest" (the trees
    # times the curve's growth from the nearest seen size), by validation with the extreme sizes held out.
    chosen_beyond: dict[str, str] = field(default_factory=dict)
    # Per signature and SEEN_RANGE_AXES axis: (lowest, highest) value among its training runs.
    seen_ranges: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)

    def _frame(self, runs: pd.DataFrame) -> pd.DataFrame:
        return model_frame(with_run_defaults(runs.reset_index(drop=True)), self.profiles, self.forest.params)

    def predict_ms(self, spark: SparkSession, runs: pd.DataFrame) -> np.ndarray:
        return self._predictions(spark, self._frame(runs))[0]

    def _predictions(self, spark: SparkSession, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per row of a model frame: (the prediction of the family its signature uses, the tree model's)."""
        trees = predict_forest(spark, self.forest, frame)
        predictions = trees.copy()
        for i, r in enumerate(frame.itertuples(index=False)):
            fit, chosen = self.scaling.get(r.job_signature), self.chosen.get(r.job_signature)
            if not self.size_seen(r.job_signature, r.input_bytes):
                chosen = self.chosen_new_size.get(r.job_signature, chosen)
            if fit is not None and fit.extrapolates(r.input_bytes):
                # Beyond the sizes it ran at trees cannot extrapolate alone: the curve, or the trees scaled by it.
                if self.chosen_beyond.get(r.job_signature) == "scaled_forest":
                    seen = self.sizes_seen.get(r.job_signature) or {r.input_bytes}
                    nearest = min(seen) if r.input_bytes < min(seen) else max(seen)
                    predictions[i] = scaled_trees(predictions[i:i + 1], fit.beyond, frame.iloc[i:i + 1], nearest)[0]
                    continue
                chosen = "scaling"
            if fit is not None and chosen in ("scaling", "blend"):
                curve = fit.predict_ms(r.executors, r.executor_cores, r.executor_memory_mb, r.shuffle_partitions,
                                       bool(r.aqe_enabled), r.input_bytes)
                predictions[i] = curve if chosen == "scaling" else blend(curve, predictions[i])
        return predictions, trees

    def size_seen(self, signature: str, input_bytes) -> bool:
        return int(float(input_bytes or 0)) in self.sizes_seen.get(signature, ())

    def interval_ratios(self, signature: str, regime: str, level: float = INTERVAL_LEVEL) -> tuple[float, float] | None:
        """(low, high) multipliers of a prediction for `signature` at `level`; the signature's own held-out
        residuals when it has MIN_CALIBRATION_RUNS of them, else every signature's; None without any.
        Computed once per model (its residuals are fixed once trained), not for every row asked about."""
        computed = self.__dict__.setdefault("_interval_ratios", {})  # not a field: models pickled before it load too
        if (signature, regime, level) not in computed:
            computed[signature, regime, level] = conformal_ratios(self._calibration_set(signature, regime)[0], level,
                                                                  symmetric=regime == "beyond")
        return computed[signature, regime, level]

    def interval_coverage(self, signature: str, regime: str, level: float = INTERVAL_LEVEL) -> float | None:
        """Measured held-out coverage of interval_ratios(signature, regime): cross_fitted_coverage over the same
        calibration set; None below MIN_COVERAGE_GROUPS held-out groups or without group labels."""
        residuals, groups = self._calibration_set(signature, regime)
        if groups is None or len(residuals) == 0:
            return None
        return cross_fitted_coverage(residuals, groups, level, symmetric=regime == "beyond")

    def _calibration_set(self, signature: str, regime: str) -> tuple[np.ndarray, np.ndarray | None]:
        """(log residuals, their held-out groups or None) calibrating `signature` in `regime`: its own when it has
        MIN_CALIBRATION_RUNS, else every signature's."""
        own = self.residuals.get(signature, {}).get(regime)
        signatures = [signature] if own is not None and (~np.isnan(own)).sum() >= MIN_CALIBRATION_RUNS else \
            [s for s, r in self.residuals.items() if regime in r]
        if not signatures:
            return np.array([]), None
        groups = [self.residual_groups.get(s, {}).get(regime) for s in signatures]
        return (np.concatenate([self.residuals[s][regime] for s in signatures]),
                None if any(g is None for g in groups) else np.concatenate(groups))

    def _has_regime(self, regime: str) -> bool:
        return any(regime in r for r in self.residuals.values())

    def outside_seen_configurations(self, frame: pd.DataFrame) -> np.ndarray:
        """Per row of a model frame: True when one of SEEN_RANGE_AXES lies outside the range its signature's
        training runs span (fewer cores or less memory per input than any run had, or more): the trees
        there repeat the nearest seen runs, and the interval is that of an extrapolation."""
        out = np.zeros(len(frame), dtype=bool)
        for axis in SEEN_RANGE_AXES:
            values = frame[axis].to_numpy(dtype=float)
            bounds = [self.seen_ranges.get(sig, {}).get(axis) for sig in frame["job_signature"]]
            low = np.array([b[0] if b else -np.inf for b in bounds])
            high = np.array([b[1] if b else np.inf for b in bounds])
            out |= (values < low * (1 - 1e-9)) | (values > high * (1 + 1e-9))
        return out

    def predict_interval(self, spark: SparkSession, runs: pd.DataFrame, level: float = INTERVAL_LEVEL) -> pd.DataFrame:
        """Per run: predicted_runtime_ms, runtime_low_ms and runtime_high_ms (a `level` interval, null when no
        held-out residual exists), interval_level, size_seen, beyond_seen_sizes, outside_seen_configurations,
        interval_regime (which held-out errors calibrated it: seen, new_size or beyond) and confidence_label.

        Regimes: a size the job ran at, inside the seen configurations: configurations held out; a new size
        inside the range: whole sizes held out; beyond the range of sizes or outside the seen configurations
        (SEEN_RANGE_AXES): the smallest and the largest size held out, i.e. measured extrapolations."""
        return self._intervals(spark, runs.reset_index(drop=True), level)[0]

    def _intervals(self, spark: SparkSession, runs: pd.DataFrame, level: float) -> tuple[pd.DataFrame, np.ndarray]:
        """(`predict_interval` of `runs`, the tree model's prediction of each): one model frame, the trees run once."""
        frame = self._frame(runs)
        predicted, trees = self._predictions(spark, frame)
        outside = self.outside_seen_configurations(frame)
        rows = []
        for value, out_of_range, r in zip(predicted, outside, runs.itertuples(index=False)):
            seen = self.size_seen(r.job_signature, r.input_bytes)
            fit = self.scaling.get(r.job_signature)
            beyond = bool(fit is not None and fit.seen_bands is not None
                          and not fit.seen_bands[0] <= size_band(r.input_bytes) <= fit.seen_bands[1])
            extrapolated = beyond or bool(out_of_range)
            regime = "seen" if seen and not extrapolated else "beyond" if extrapolated and self._has_regime("beyond") else "new_size"
            ratios = self.interval_ratios(r.job_signature, regime, level)
            low, high = (None, None) if ratios is None else (value * ratios[0], value * ratios[1])
            rows.append({"predicted_runtime_ms": value, "runtime_low_ms": low, "runtime_high_ms": high, "interval_level": level,
                         "size_seen": seen, "beyond_seen_sizes": beyond, "outside_seen_configurations": bool(out_of_range),
                         "interval_regime": regime,
                         "confidence_label": "low" if ratios is None else confidence_label(*ratios, extrapolated)})
        return pd.DataFrame(rows), trees

    def choose(self, spark: SparkSession, candidates: pd.DataFrame, cost_per_ms=None) -> int:
        """Position in `candidates` of the one with the lowest cost: runtime x `cost_per_ms` (one value per
        candidate, e.g. price per hour; None: runtime alone), runtime taken as the upper end of the calibrated
        interval (cautious_runtime_ms). Candidates the chosen family cannot tell apart (equal costs, e.g. a curve
        that depends on total cores only) are ordered by the tree model, which sees every setting."""
        candidates = candidates.reset_index(drop=True)
        weight = np.ones(len(candidates)) if cost_per_ms is None else np.asarray(cost_per_ms, dtype=float)
        intervals, trees = self._intervals(spark, candidates, INTERVAL_LEVEL)
        cost = cautious_runtime_ms(intervals) * weight
        trees = trees * weight
        with np.errstate(divide="ignore", invalid="ignore"):
            primary = np.round(np.log(cost), 9)  # equal up to rounding counts as a tie
        return int(np.lexsort((trees, np.where(np.isfinite(primary), primary, np.inf)))[0])


def cautious_runtime_ms(intervals: pd.DataFrame) -> np.ndarray:
    """What a choice among candidate configurations ranks by: the upper end of each one's calibrated interval
    (the predicted runtime where it has none). Candidates in one calibration regime keep the order of their
    predictions; one outside the seen configurations or sizes is ranked by how wrong such extrapolations turned
    out on held-out runs, so an untested shape that merely looks cheapest (a small cluster past the memory
    cliff, which the trees price like the nearest shape they saw) does not win on that guess."""
    high = pd.to_numeric(intervals["runtime_high_ms"], errors="coerce").to_numpy(dtype=float)
    predicted = intervals["predicted_runtime_ms"].to_numpy(dtype=float)
    return np.where(np.isnan(high), predicted, high)


def blend(curve_ms, forest_ms):
    """Geometric mean of the two families' predictions (a curve at or below zero counts as the forest)."""
    curve_ms, forest_ms = np.asarray(curve_ms, dtype=float), np.asarray(forest_ms, dtype=float)
    return np.sqrt(np.where(curve_ms > 0, curve_ms, forest_ms) * forest_ms)


def _mape(predicted: np.ndarray, actual: np.ndarray) -> float | None:
    """MAPE over the runs that have a prediction; None when none has."""
    valid = ~np.isnan(predicted)
    return float(np.mean(ape(predicted[valid], actual[valid]))) if valid.any() else None


def _mdape(predicted: np.ndarray | None, actual: np.ndarray) -> float | None:
    """Median APE over the runs that have a prediction: what chooses the family. A signature's validation
    holds out few configurations, and one held-out configuration the curve cannot reach (the only run past
    a memory cliff) would otherwise decide the choice for all the others."""
    if predicted is None:
        return None
    valid = ~np.isnan(predicted)
    return float(np.median(ape(predicted[valid], actual[valid]))) if valid.any() else None


def size_folds(runs: pd.DataFrame, folds: int = SIZE_FOLDS) -> np.ndarray:
    """Fold number per run by the rank of its input size band among its signature's (rank % folds), so a
    fold holds out whole sizes (and sizes within ~19% of them); -1 (never held out) for signatures
    measured at one size."""
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
    columns = tuple(MODEL_FEATURES) + param_names(runs)
    predictions = np.full(len(runs), np.nan)
    for fold in range(folds):
        held = assignment == fold
        if not held.any() or held.all():
            continue
        train = runs[~held]
        profiles = signature_profiles(train)
        model = fit_forest(spark, model_frame(train, profiles, columns[len(MODEL_FEATURES):]), params, columns)
        predictions[held] = predict_forest(spark, model, model_frame(runs[held], profiles, columns[len(MODEL_FEATURES):]))
    return predictions


def extrapolation_curve(runs: pd.DataFrame, profile: Mapping[str, float]) -> ScalingFit:
    """The curve for input sizes beyond those a signature ran at: the most terms of FULL_TERMS that
    its configurations identify (fewer terms than configurations), fitted non-negatively.

    Validation cannot choose this one: holding out a configuration or a size leaves too few
    configurations to fit the longer curves, so it would always prefer two terms. The
    non-negative fit of physical terms is the regularizer instead, and trees are no alternative
    there: a forest's prediction never leaves the range of the runtimes it was trained on."""
    return fit_scaling(runs, profile, FULL_TERMS)


def _curve_ms(curve: ScalingFit, rows: pd.DataFrame, input_bytes=None) -> np.ndarray:
    """`curve` at each row's configuration, at its own input size or at `input_bytes` (one per row)."""
    sizes = rows["input_bytes"].to_numpy(dtype=float) if input_bytes is None else np.asarray(input_bytes, dtype=float)
    return np.array([curve.predict_ms(r.executors, r.executor_cores, r.executor_memory_mb, r.shuffle_partitions,
                                      bool(r.aqe_enabled), size) for r, size in zip(rows.itertuples(index=False), sizes)])


def scaled_trees(trees_ms: np.ndarray, curve: ScalingFit, rows: pd.DataFrame, nearest_bytes: float) -> np.ndarray:
    """Beyond the sizes a job ran at: the trees' prediction (which stays at the nearest seen size) times
    the curve's growth from that size to the asked one, per configuration."""
    at_nearest = _curve_ms(curve, rows, np.full(len(rows), nearest_bytes))
    ratio = np.where(at_nearest > 0, _curve_ms(curve, rows) / np.where(at_nearest > 0, at_nearest, 1.0), 1.0)
    return trees_ms * np.clip(ratio, 0.0, None)


def beyond_validation(spark: SparkSession, runs: pd.DataFrame, signature: str, params: Mapping | None) -> dict[str, np.ndarray] | None:
    """For the signature's smallest and largest input size (exact, not its band: a band can merge two sizes,
    and predicting both from the rest is a longer extrapolation than the one asked), each held out in turn as a
    prediction beyond the seen sizes is made: the extrapolation curve's and the curve-scaled trees' predictions,
    with the actual runtimes under "actual"; None below 2 size bands (with two sizes, each is predicted from
    the other alone: a harder extrapolation than the one asked, so the interval errs wide); "held_size": the
    size held out for each run."""
    mine = (runs["job_signature"] == signature).to_numpy()
    group = runs[mine]
    if len({size_band(b) for b in group["input_bytes"]}) < 2:
        return None
    sizes_all = group["input_bytes"].to_numpy(dtype=float)
    out: dict[str, list] = {"actual": [], "scaling": [], "scaled_forest": [], "held_size": []}
    for held_size in (sizes_all.min(), sizes_all.max()):
        held = sizes_all == held_size
        rest, test = group[~held], group[held]
        if len({config_key(r) for r in rest.to_dict("records")}) < 2:
            continue
        profiles = signature_profiles(rest)
        curve = extrapolation_curve(rest, profiles.get(signature, {}))
        train = runs.drop(index=group.index[held])
        columns = tuple(MODEL_FEATURES) + param_names(train)
        trees = fit_forest(spark, model_frame(train, signature_profiles(train), columns[len(MODEL_FEATURES):]), params, columns)
        tree_ms = predict_forest(spark, trees, model_frame(test, signature_profiles(train), columns[len(MODEL_FEATURES):]))
        sizes = rest["input_bytes"].to_numpy(dtype=float)
        nearest = sizes.min() if held_size == sizes_all.min() else sizes.max()
        out["actual"].append(test["runtime_ms"].to_numpy(dtype=float))
        out["held_size"].append(np.full(len(test), held_size))
        out["scaling"].append(_curve_ms(curve, test))
        out["scaled_forest"].append(scaled_trees(tree_ms, curve, test, nearest))
    return {k: np.concatenate(v) for k, v in out.items()} if out["actual"] else None


def _chosen_predictions(chosen: str, forest: np.ndarray, curve: np.ndarray | None) -> np.ndarray:
    if chosen == "forest" or curve is None:
        return forest
    return curve if chosen == "scaling" else blend(curve, forest)


def _labels(signature: str, groups) -> np.ndarray:
    return np.array([f"{signature}|{g}" for g in groups], dtype=object)


def _log_ratio(actual: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(actual / predicted)
    return np.where(np.isfinite(out), out, np.nan)


def train_runtime_model(spark: SparkSession, runs: pd.DataFrame, folds: int = 3, params: Mapping | None = None,
                        new_sizes: bool = True) -> RuntimeModel:
    """Fit both model families on `runs` (the runs table as pandas) and choose per signature among the
    forest, the curve and their blend: by configurations held out for input sizes the job ran at, by
    whole sizes held out for sizes it did not. The chosen family's held-out errors calibrate the intervals.
    `new_sizes=False` skips the validations that only sizes the job has not run at use (whole sizes and the
    extreme sizes held out): a model asked only about sizes in its runs predicts the same, in a third of the time.

    Example::

        model = train_runtime_model(spark, store.read(RUNS).toPandas())
        model.predict_interval(spark, candidate_runs)
    """
    runs = usable_runs(runs)
    if len(runs) < 2:
        raise ValueError(f"a runtime model needs at least 2 successful runs, the runs table has {len(runs)}")
    config_count = len({config_key(r) for r in runs.to_dict("records")})
    folds = max(2, min(folds, config_count))
    oof = out_of_fold_forest(spark, runs, folds, params) if config_count >= 2 else np.full(len(runs), np.nan)
    # Recommendations are mostly for an input size the job has not run at: validate on that too.
    by_size = size_folds(runs) if new_sizes else np.full(len(runs), -1)
    oof_size = out_of_fold_forest(spark, runs, 0, params, assignment=by_size) if (by_size >= 0).any() else np.full(len(runs), np.nan)
    profiles = signature_profiles(runs)
    columns = tuple(MODEL_FEATURES) + param_names(runs)
    frame = model_frame(runs, profiles, columns[len(MODEL_FEATURES):])
    model = RuntimeModel(fit_forest(spark, frame, params, columns), profiles)
    for signature, part in frame.groupby("job_signature"):
        model.seen_ranges[signature] = {axis: (float(part[axis].min()), float(part[axis].max())) for axis in SEEN_RANGE_AXES}
    for signature, group in runs.groupby("job_signature"):
        profile = profiles.get(signature, {})
        mask = (runs["job_signature"] == signature).to_numpy()
        actual = group["runtime_ms"].to_numpy(dtype=float)
        errors = {"forest": _mape(oof[mask], actual)}
        size_errors = {"forest": _mape(oof_size[mask], actual)}
        curve_by_config = curve_by_size = None
        if len(group) >= MIN_RUNS_FOR_SCALING:
            selected = select_scaling(group, profile)
            model.scaling[signature] = selected.fit
            errors["scaling"] = selected.validation_mape
            curve_by_config = selected.validation_predictions
            if curve_by_config is not None:
                errors["blend"] = _mape(blend(curve_by_config, oof[mask]), actual)
            curve_by_size = leave_one_size_out_predictions(group, profile, selected.fit.terms) if new_sizes else None
            if curve_by_size is not None:
                size_errors["scaling"] = _mape(curve_by_size, actual)
                size_errors["blend"] = _mape(blend(curve_by_size, oof_size[mask]), actual)
        else:
            model.scaling[signature] = fit_scaling(group, profile)
        held_configs = {"forest": oof[mask], "scaling": curve_by_config,
                        "blend": None if curve_by_config is None else blend(curve_by_config, oof[mask])}
        held_sizes = {"forest": oof_size[mask], "scaling": curve_by_size,
                      "blend": None if curve_by_size is None else blend(curve_by_size, oof_size[mask])}
        medians = {name: _mdape(p, actual) for name, p in held_configs.items()}
        size_medians = {name: _mdape(p, actual) for name, p in held_sizes.items()}
        model.chosen[signature] = _lowest(medians)
        model.chosen_new_size[signature] = _lowest(size_medians) if any(v is not None for v in size_errors.values()) else model.chosen[signature]
        model.residuals[signature] = {
            "seen": _log_ratio(actual, _chosen_predictions(model.chosen[signature], oof[mask], curve_by_config)),
            "new_size": _log_ratio(actual, _chosen_predictions(model.chosen_new_size[signature], oof_size[mask], curve_by_size)),
        }
        model.residual_groups[signature] = {
            "seen": _labels(signature, [config_key(r) for r in group.to_dict("records")]),
            "new_size": _labels(signature, [size_band(b) for b in group["input_bytes"]]),
        }
        model.validation[signature] = {"forest_mape": errors.get("forest"), "scaling_mape": errors.get("scaling"),
                                       "blend_mape": errors.get("blend"), "runs": len(group),
                                       **{f"{name}_new_size_mape": size_errors.get(name) for name in MODEL_CHOICES},
                                       **{f"{name}_mdape": medians.get(name) for name in MODEL_CHOICES},
                                       **{f"{name}_new_size_mdape": size_medians.get(name) for name in MODEL_CHOICES}}
        model.sizes_seen[signature] = {int(b) for b in group["input_bytes"]}
        bands = {size_band(b) for b in group["input_bytes"]}
        if len(bands) >= 2 and len(group) >= MIN_RUNS_FOR_SCALING:
            model.scaling[signature] = replace(model.scaling[signature], beyond=extrapolation_curve(group, profile),
                                               seen_bands=(min(bands), max(bands)))
            beyond = beyond_validation(spark, runs, signature, params) if new_sizes else None
            if beyond is not None:
                errors_beyond = {name: _mdape(beyond[name], beyond["actual"]) for name in ("scaling", "scaled_forest")}
                model.chosen_beyond[signature] = min(errors_beyond, key=lambda name: (errors_beyond[name], name != "scaling"))
                model.residuals[signature]["beyond"] = _log_ratio(beyond["actual"], beyond[model.chosen_beyond[signature]])
                model.residual_groups[signature]["beyond"] = _labels(signature, beyond["held_size"])
                model.validation[signature].update({f"{name}_beyond_mdape": v for name, v in errors_beyond.items()})
    valid = ~np.isnan(oof)
    if valid.any():
        actual = runs["runtime_ms"].to_numpy(dtype=float)
        model.overall = {"forest_oof_mape": float(np.mean(np.abs(oof[valid] - actual[valid]) / actual[valid])),
                         "forest_oof_mdape": float(np.median(np.abs(oof[valid] - actual[valid]) / actual[valid]))}
    return model
