"""Honest evaluation of runtime predictions and recommendations on a corpus of measured runs.

Splits never leak: repeats of one configuration are always held out together (folds over
configuration keys), extrapolation holds out each signature's largest input, and recommendation
regret hides every run of a (workload, scale) before choosing among its measured configurations."""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession

from spark_optimizer.ml.model_inputs import (
    MODEL_FEATURES, MB, config_key, error_summary, input_key, model_frame, param_names, signature_profiles,
)
from spark_optimizer.ml.runtime_model import INTERVAL_LEVEL, fit_forest, group_folds, predict_forest, train_runtime_model
from spark_optimizer.ml.scaling import ERNEST_TERMS, FULL_TERMS, fit_scaling, select_scaling

KNN_K = 3
KNN_COLUMNS = ("log_input_mb", "total_cores", "executors", "executor_memory_gb", "shuffle_partitions", "aqe")

Predictor = Callable[[pd.DataFrame, pd.DataFrame], np.ndarray]


def noise_floor(runs: pd.DataFrame) -> np.ndarray:
    """Each run predicted by the mean of the other repeats of its configuration (NaN without repeats)."""
    keys = pd.Series([config_key(r) for r in runs.to_dict("records")], index=runs.index)
    sums = runs.groupby(keys)["runtime_ms"].transform("sum")
    counts = keys.map(keys.value_counts())
    others = (sums - runs["runtime_ms"]) / (counts - 1)
    return np.where(counts > 1, others, np.nan)


def scaling_predictor(terms: Sequence[str] | None) -> Predictor:
    """Per-signature NNLS curve with `terms` (None: the term set selected by validation, as the
    product does); signatures unseen in training get NaN."""
    def predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        profiles = signature_profiles(train)
        out = np.full(len(test), np.nan)
        for signature, group in train.groupby("job_signature"):
            mask = (test["job_signature"] == signature).to_numpy()
            if not mask.any():
                continue
            profile = profiles.get(signature, {})
            fit = select_scaling(group, profile).fit if terms is None else fit_scaling(group, profile, terms)
            out[mask] = [fit.predict_ms(r.executors, r.executor_cores, r.executor_memory_mb, r.shuffle_partitions,
                                        bool(r.aqe_enabled), r.input_bytes) for r in test[mask].itertuples(index=False)]
        return out
    return predict


def knn_predictor(k: int = KNN_K) -> Predictor:
    """Mean runtime of the k nearest training runs of the same signature (standardized log size and config)."""
    def predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        profiles = signature_profiles(train)
        a, b = model_frame(train, profiles), model_frame(test, profiles)
        cols = list(KNN_COLUMNS)
        scale = a[cols].std().replace(0, 1).fillna(1).to_numpy()
        out = np.full(len(test), np.nan)
        for i, r in enumerate(b.itertuples(index=False)):
            same = a[a["job_signature"] == r.job_signature]
            if same.empty:
                continue
            distance = np.sqrt((((same[cols].to_numpy() - np.array([getattr(r, c) for c in cols])) / scale) ** 2).sum(axis=1))
            nearest = np.argsort(distance, kind="stable")[:k]
            out[i] = same["runtime_ms"].to_numpy()[nearest].mean()
        return out
    return predict


def forest_predictor(spark: SparkSession) -> Predictor:
    """The global tree model alone (no curve, no choice)."""
    def predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        profiles, params = signature_profiles(train), param_names(train)
        model = fit_forest(spark, model_frame(train, profiles, params), columns=tuple(MODEL_FEATURES) + params)
        return predict_forest(spark, model, model_frame(test, profiles, params))
    return predict


def ernest_predictor() -> Predictor:
    """Ernest (Venkataraman et al., NSDI'16) per signature: NNLS of runtime on
    [1, size/machines, log machines, machines], machines = executors (one per node for external runs)."""
    from scipy.optimize import nnls

    def design(frame: pd.DataFrame) -> np.ndarray:
        machines = frame["executors"].to_numpy(dtype=float)
        size = frame["input_bytes"].to_numpy(dtype=float) / MB
        return np.column_stack([np.ones(len(frame)), size / machines, np.log(machines), machines])

    def predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        out = np.full(len(test), np.nan)
        for signature, group in train.groupby("job_signature"):
            mask = (test["job_signature"] == signature).to_numpy()
            if mask.any():
                a = design(group)
                scale = np.maximum(np.abs(a).max(axis=0), 1e-12)
                theta, _ = nnls(a / scale, group["runtime_ms"].to_numpy(dtype=float))
                out[mask] = design(test[mask]) @ (theta / scale)
        return out
    return predict


def selected_predictor(spark: SparkSession, inner_folds: int = 3) -> Predictor:
    """The product's model: both families, chosen per signature by inner validation on the training part."""
    def predict(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
        return train_runtime_model(spark, train, folds=inner_folds).predict_ms(spark, test)
    return predict


def standard_predictors(spark: SparkSession, inner_folds: int = 3) -> dict[str, Predictor]:
    return {
        "selected (ours)": selected_predictor(spark, inner_folds),
        "trees alone (global tree model)": forest_predictor(spark),
        "scaling curve (terms selected)": scaling_predictor(None),
        "scaling curve (all 7 terms)": scaling_predictor(FULL_TERMS),
        "ernest (NNLS)": scaling_predictor(ERNEST_TERMS),
        f"knn mean (k={KNN_K})": knn_predictor(),
    }


def cross_validate(runs: pd.DataFrame, predictors: Mapping[str, Predictor], folds: int) -> dict[str, np.ndarray]:
    """Out-of-fold predictions per predictor; folds group runs by configuration (0 = one fold per configuration)."""
    if folds <= 0:
        keys = [config_key(r) for r in runs.to_dict("records")]
        index = {k: i for i, k in enumerate(sorted(set(keys)))}
        assignment, folds = np.array([index[k] for k in keys]), len(index)
    else:
        assignment = group_folds(runs, folds)
    out = {name: np.full(len(runs), np.nan) for name in predictors}
    for fold in range(folds):
        held = assignment == fold
        if not held.any() or held.all():
            continue
        train, test = runs[~held].reset_index(drop=True), runs[held].reset_index(drop=True)
        for name, predictor in predictors.items():
            out[name][held] = predictor(train, test)
    return out


def largest_input_held_out(runs: pd.DataFrame) -> np.ndarray:
    """True for the runs at each signature's largest input size."""
    largest = runs.groupby("job_signature")["input_bytes"].transform("max")
    smaller_exists = runs.groupby("job_signature")["input_bytes"].transform("min") < largest
    return ((runs["input_bytes"] == largest) & smaller_exists).to_numpy()


def extrapolate(runs: pd.DataFrame, predictors: Mapping[str, Predictor]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    held = largest_input_held_out(runs)
    if not held.any():
        return held, {}
    train, test = runs[~held].reset_index(drop=True), runs[held].reset_index(drop=True)
    return held, {name: predictor(train, test) for name, predictor in predictors.items()}


def summarize(predictions: Mapping[str, np.ndarray], actual: np.ndarray) -> pd.DataFrame:
    rows = []
    for name, predicted in predictions.items():
        valid = ~np.isnan(predicted)
        if valid.any():
            rows.append({"model": name, **error_summary(predicted[valid], actual[valid]), "coverage": valid.mean()})
    return pd.DataFrame(rows)


def _measured_configs(group: pd.DataFrame) -> pd.DataFrame:
    keyed = group.assign(config=[config_key(r) for r in group.to_dict("records")])
    measured = keyed.groupby("config").agg(
        runtime_ms=("runtime_ms", "mean"), executors=("executors", "first"), executor_cores=("executor_cores", "first"),
        executor_memory_mb=("executor_memory_mb", "first"), shuffle_partitions=("shuffle_partitions", "first"),
        aqe_enabled=("aqe_enabled", "first"), input_bytes=("input_bytes", "first"), job_signature=("job_signature", "first"),
    ).reset_index()
    measured["core_seconds"] = measured["runtime_ms"] / 1000.0 * measured["executors"] * measured["executor_cores"]
    return measured


def rule_of_thumb_choice(candidates: pd.DataFrame) -> int:
    """Partitions closest to 2.5x the total cores (Data Mechanics: 2-3x); ties go to more cores, then more memory."""
    cores = candidates["executors"] * candidates["executor_cores"]
    score = (candidates["shuffle_partitions"] / cores - 2.5).abs()
    order = np.lexsort((-candidates["executor_memory_mb"].to_numpy(), -cores.to_numpy(), score.to_numpy()))
    return int(order[0])


def spark_defaults_choice(candidates: pd.DataFrame, defaults: Mapping[str, object]) -> int | None:
    """The measured configuration equal to Spark's defaults on this grid, if measured."""
    match = np.ones(len(candidates), dtype=bool)
    for column, value in defaults.items():
        match &= (candidates[column] == value).to_numpy()
    hits = np.flatnonzero(match)
    return int(hits[0]) if len(hits) else None


def expected_random_best(values: np.ndarray, budget: int, draws: int = 2000, seed: int = 7) -> float:
    """Expected best value found by measuring `budget` distinct random configurations."""
    rng = np.random.default_rng(seed)
    budget = min(budget, len(values))
    return float(np.mean([values[rng.choice(len(values), budget, replace=False)].min() for _ in range(draws)]))


def recommendation_regret(spark: SparkSession, runs: pd.DataFrame, defaults: Mapping[str, object],
                          random_budgets: Sequence[int] = (1, 2), inner_folds: int = 3) -> pd.DataFrame:
    """Per (workload, scale): cost(chosen) / cost(best measured) - 1, in runtime and in core-seconds.

    Our choice comes from a model trained without any run of that (workload, scale): the input size
    is new to it, as for a recommendation before a job's first run at a new size."""
    rows = []
    for (workload, scale), group in runs.groupby(["workload", "scale"]):
        candidates = _measured_configs(group)
        if len(candidates) < 2:
            continue
        train = runs[~runs.index.isin(group.index)].reset_index(drop=True)
        model = train_runtime_model(spark, train, folds=inner_folds)
        cores = (candidates["executors"] * candidates["executor_cores"]).to_numpy(dtype=float)
        for objective, measured, cost_per_ms in (
            ("runtime", candidates["runtime_ms"].to_numpy(), None),
            ("core_seconds", candidates["core_seconds"].to_numpy(), cores / 1000.0),
        ):
            best = measured.min()
            choices = {"ours": model.choose(spark, candidates, cost_per_ms), "rule of thumb": rule_of_thumb_choice(candidates)}
            default = spark_defaults_choice(candidates, defaults)
            if default is not None:
                choices["spark defaults"] = default
            row = {"workload": workload, "scale": scale, "objective": objective, "configs": len(candidates)}
            row.update({f"regret {name}": measured[i] / best - 1 for name, i in choices.items()})
            row.update({f"regret random-{b}": expected_random_best(measured, b) / best - 1 for b in random_budgets})
            rows.append(row)
    return pd.DataFrame(rows)


def sizes_seen(train: pd.DataFrame, test: pd.DataFrame) -> bool:
    """True when every test run's exact input size is among its signature's training runs."""
    seen = set(zip(train["job_signature"], train["input_bytes"].astype(float)))
    return all(key in seen for key in zip(test["job_signature"], test["input_bytes"].astype(float)))


def held_out_intervals(spark: SparkSession, runs: pd.DataFrame, assignment: np.ndarray, baselines: Mapping[str, Predictor],
                       level: float = INTERVAL_LEVEL, inner_folds: int = 3) -> pd.DataFrame:
    """For every run in a fold of `assignment` (-1: never held out): the product model's prediction and
    `level` interval from a model trained without that fold, and each baseline's prediction on the same split."""
    parts = []
    for fold in sorted(set(assignment.tolist()) - {-1}):
        held = assignment == fold
        train, test = runs[~held].reset_index(drop=True), runs[held].reset_index(drop=True)
        # A model asked only about sizes its runs have skips the validations of new sizes (same predictions);
        # when a held-out run is an extrapolation after all (a configuration outside the seen ones), it is refitted whole.
        seen = sizes_seen(train, test)
        model = train_runtime_model(spark, train, folds=inner_folds, new_sizes=not seen)
        frame = model.predict_interval(spark, test, level)
        if (frame["interval_regime"] != "seen").any() and seen:
            model = train_runtime_model(spark, train, folds=inner_folds)
            frame = model.predict_interval(spark, test, level)
        for name, predictor in baselines.items():
            frame[f"predicted {name}"] = predictor(train, test)
        frame.index = np.flatnonzero(held)
        parts.append(frame)
    return pd.concat(parts).sort_index() if parts else pd.DataFrame()


def configuration_folds(runs: pd.DataFrame) -> np.ndarray:
    """One fold per configuration (repeats held out together)."""
    keys = [config_key(r) for r in runs.to_dict("records")]
    index = {k: i for i, k in enumerate(sorted(set(keys)))}
    return np.array([index[k] for k in keys])


def largest_size_fold(runs: pd.DataFrame) -> np.ndarray:
    """0 for the runs at each signature's largest input size (held out together), -1 otherwise."""
    return np.where(largest_input_held_out(runs), 0, -1)


def coverage(frame: pd.DataFrame, actual: np.ndarray) -> float | None:
    """Share of runs whose measured runtime lies inside their interval (None without intervals)."""
    has = frame["runtime_low_ms"].notna().to_numpy()
    if not has.any():
        return None
    low, high = frame["runtime_low_ms"].to_numpy(dtype=float)[has], frame["runtime_high_ms"].to_numpy(dtype=float)[has]
    return float(((actual[has] >= low) & (actual[has] <= high)).mean())


def choice_regret(spark: SparkSession, runs: pd.DataFrame, inner_folds: int = 3) -> pd.DataFrame:
    """Per job input (signature, exact size, job parameters) with at least two measured configurations:
    the fastest and the cheapest (runtime x catalogue price_per_hour, i.e. instance-hours x price)
    configuration by a model trained without any run of that input, and its regret against the best
    measured: measured(chosen) / measured(best) - 1, configurations measured by the mean of their repeats."""
    keys = np.array([input_key(r) for r in runs.to_dict("records")])
    rows = []
    for key in sorted(set(keys.tolist())):
        held = keys == key
        group = runs[held].assign(config=[config_key(r) for r in runs[held].to_dict("records")])
        candidates = group.groupby("config", sort=True).agg(
            runtime_ms=("runtime_ms", "mean"), price_per_hour=("price_per_hour", "first")).reset_index()
        if len(candidates) < 2:
            continue
        first = group.drop_duplicates("config").set_index("config").loc[candidates["config"]].reset_index()
        model = train_runtime_model(spark, runs[~held].reset_index(drop=True), folds=inner_folds)
        row = {"job": group["job_signature"].iat[0], "input": key.split("|", 1)[1], "configs": len(candidates)}
        measured_runtime = candidates["runtime_ms"].to_numpy(dtype=float)
        row["regret fastest"] = measured_runtime[model.choose(spark, first)] / measured_runtime.min() - 1
        price = candidates["price_per_hour"].to_numpy(dtype=float)
        if np.isfinite(price).all():
            measured_cost = measured_runtime * price
            row["regret cheapest"] = measured_cost[model.choose(spark, first, price)] / measured_cost.min() - 1
        rows.append(row)
    return pd.DataFrame(rows)
