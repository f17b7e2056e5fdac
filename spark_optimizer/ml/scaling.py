"""The physically-shaped runtime curve per job signature, in the spirit of Ernest (NSDI'16):

    runtime_s = θ_fixed + θ_per_core · input_GB/cores + θ_input · input_GB + θ_log · log(executors)
              + θ_exec · executors + θ_waves · partitions/cores + θ_mem · input_GB/cores · max(0, pressure − τ)

fitted by non-negative least squares. The last term is the memory cliff Ernest cannot represent:
once a task's data exceeds its share of execution memory (pressure > τ) the job spills and slows
down in proportion to the data per core; τ is chosen from a grid by fit error. Which terms a
signature's curve uses is chosen by leave-one-configuration-out error among nested term sets
(`TERM_SETS`), each allowed only with more measured configurations than terms, so a job measured
at few configurations gets a short curve rather than an overfitted one."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping, Sequence

if TYPE_CHECKING:  # imported where used: evaluating a stored curve (the CLI lookup) needs neither
    import numpy as np
    import pandas as pd

from spark_optimizer.ml.model_inputs import ape, config_key, derived_inputs, size_band

FULL_TERMS = ("fixed", "per_core", "input", "log_executors", "executors", "waves", "memory_cliff")
BASIC_TERMS = ("fixed", "per_core", "executors")
ERNEST_TERMS = ("fixed", "per_core", "log_executors", "executors")
# Work split into a part that scales with cores and a serial part (Amdahl), a cost per executor
# (start-up, cross-JVM shuffle) and per wave of tasks. With one or two executors log(executors) is
# a linear function of executors, so this is the five-term curve that such a history can fit.
AMDAHL_WAVES_TERMS = ("fixed", "per_core", "input", "executors", "waves")
MEMORY_THRESHOLDS = (0.5, 1.0, 2.0, 4.0)
# Candidate curves, shortest first; selection keeps a longer one only if it validates better.
TERM_SETS = (
    ("fixed", "per_core"),
    BASIC_TERMS,
    ERNEST_TERMS,
    AMDAHL_WAVES_TERMS,
    ("fixed", "per_core", "input", "log_executors", "executors", "waves"),
    FULL_TERMS,
)


@dataclass(frozen=True)
class ScalingFit:
    terms: tuple[str, ...]
    coefficients: dict[str, float]
    memory_threshold: float
    profile: dict[str, float] = field(default_factory=dict)
    train_mape: float = float("nan")
    # The curve for input sizes outside the size bands [low, high] this one was fitted on (see
    # runtime_model.extrapolation_curve); None: this curve everywhere.
    beyond: "ScalingFit | None" = None
    seen_bands: tuple[int, int] | None = None

    def extrapolates(self, input_bytes) -> bool:
        """True when `input_bytes` is outside the fitted size range and a curve for beyond it exists."""
        if self.beyond is None or self.seen_bands is None:
            return False
        return not self.seen_bands[0] <= size_band(input_bytes) <= self.seen_bands[1]

    def extrapolation(self) -> dict | None:
        """The curve beyond the fitted sizes and the size range, as stored in scaling_models.extrapolation."""
        if self.beyond is None or self.seen_bands is None:
            return None
        return {"coefficients": dict(sorted(self.beyond.coefficients.items())), "memory_threshold": self.beyond.memory_threshold,
                "seen_bands": list(self.seen_bands)}

    def predict_ms(self, executors, executor_cores, executor_memory_mb, shuffle_partitions, aqe_enabled, input_bytes) -> float:
        if self.extrapolates(input_bytes):
            return self.beyond.predict_ms(executors, executor_cores, executor_memory_mb, shuffle_partitions, aqe_enabled,
                                          input_bytes)
        values = term_values(derived_inputs(executors, executor_cores, executor_memory_mb, shuffle_partitions, aqe_enabled,
                                            input_bytes, self.profile), self.memory_threshold)
        return 1000.0 * sum(self.coefficients.get(t, 0.0) * values[t] for t in self.terms)


def term_values(inputs: Mapping[str, float], memory_threshold: float) -> dict[str, float]:
    per_core = inputs["input_gb_per_core"]
    return {
        "fixed": 1.0,
        "per_core": per_core,
        "input": per_core * inputs["total_cores"],
        "log_executors": math.log(inputs["executors"]),
        "executors": inputs["executors"],
        "waves": inputs["waves"],
        "memory_cliff": per_core * max(0.0, inputs["memory_pressure"] - memory_threshold),
    }


def _designs(frame: pd.DataFrame, profile: Mapping[str, float], terms: Sequence[str], thresholds: Sequence[float]) -> dict[float, np.ndarray]:
    """The design matrix over `terms` at each memory threshold (the run inputs are derived once)."""
    import numpy as np

    ratio = {"shuffle_input_ratio": profile.get("shuffle_input_ratio")} if profile else None  # all term_values reads
    columns = ["executors", "executor_cores", "executor_memory_mb", "shuffle_partitions", "aqe_enabled", "input_bytes"]
    inputs = [derived_inputs(r.executors, r.executor_cores, r.executor_memory_mb, r.shuffle_partitions, bool(r.aqe_enabled),
                             r.input_bytes, ratio) for r in frame[columns].itertuples(index=False)]
    designs = {}
    for threshold in thresholds:
        rows = []
        for values in inputs:
            terms_at = term_values(values, threshold)
            rows.append([terms_at[t] for t in terms])
        designs[threshold] = np.asarray(rows, dtype=float).reshape(len(inputs), len(terms))
    return designs


def _terms_for(config_count: int, terms: Sequence[str]) -> tuple[str, ...]:
    """`terms` when there are more configurations than terms, else the longest candidate set inside
    `terms` that has fewer terms than configurations; two configurations still fix a two-term curve."""
    if config_count > len(terms):
        return tuple(terms)
    for candidate in reversed(TERM_SETS):
        if set(candidate) <= set(terms) and (config_count > len(candidate) or config_count == len(candidate) == 2):
            return candidate
    return ("fixed",)


def _thresholds(terms: Sequence[str]) -> tuple[float, ...]:
    return MEMORY_THRESHOLDS if "memory_cliff" in terms else (MEMORY_THRESHOLDS[-1],)


def _nnls_best(designs: Mapping[float, np.ndarray], target: np.ndarray, columns: list[int]) -> tuple[float, float, np.ndarray]:
    """(training MAPE, τ, θ) of the NNLS fit over `columns` of the design at each τ, lowest error first."""
    import numpy as np
    from scipy.optimize import nnls

    best = None
    for threshold, design in designs.items():
        matrix = design[:, columns]
        # Scale columns so NNLS is not dominated by the units of one term.
        scale = np.maximum(np.abs(matrix).max(axis=0), 1e-12)
        theta, _ = nnls(matrix / scale, target)
        theta = theta / scale
        error = float(np.mean(ape(matrix @ theta, target)))
        if best is None or error < best[0] - 1e-9:
            best = (error, threshold, theta)
    return best


def fit_scaling(runs: pd.DataFrame, profile: Mapping[str, float], terms: Sequence[str] = FULL_TERMS) -> ScalingFit:
    """NNLS fit of runtime_ms over `terms` (seconds internally); τ by the lowest training error.

    Example::

        fit = fit_scaling(runs_of_one_signature, profile)
        fit.predict_ms(executors=4, executor_cores=4, executor_memory_mb=8192, shuffle_partitions=64,
                       aqe_enabled=True, input_bytes=50 * GB)
    """
    if runs.empty:
        raise ValueError("fit_scaling needs at least one run")
    configs = len({config_key(r) for r in runs.to_dict("records")})
    used = _terms_for(configs, terms)
    target = runs["runtime_ms"].to_numpy(dtype=float) / 1000.0
    designs = _designs(runs, profile, used, _thresholds(used))
    error, threshold, theta = _nnls_best(designs, target, list(range(len(used))))
    return ScalingFit(used, {t: float(v) for t, v in zip(used, theta)}, float(threshold), dict(profile), error)


def _held_out_predictions(runs: pd.DataFrame, profile: Mapping[str, float], terms: Sequence[str], groups, minimum: int,
                          keys: Sequence[str] | None = None, full_designs: Mapping[float, np.ndarray] | None = None) -> np.ndarray | None:
    """Each run predicted by the curve fitted without any run of its group (as fit_scaling would fit
    it on the rest); None below `minimum` groups. The design is computed once for all runs (or taken, as
    columns of FULL_TERMS at every memory threshold, from `full_designs`); `keys`: the runs' config keys."""
    import numpy as np

    groups = np.asarray(groups)
    unique = sorted(set(groups.tolist()))
    if len(unique) < minimum:
        return None
    keys = np.array(keys if keys is not None else [config_key(r) for r in runs.to_dict("records")])
    target = runs["runtime_ms"].to_numpy(dtype=float) / 1000.0
    if full_designs is None:
        designs = _designs(runs, profile, terms, _thresholds(terms))
    else:
        columns = [FULL_TERMS.index(t) for t in terms]
        designs = {t: full_designs[t][:, columns] for t in _thresholds(terms)}
    predicted = np.full(len(runs), np.nan)
    for group in unique:
        held = groups == group
        used = _terms_for(len(set(keys[~held].tolist())), terms)
        columns = [list(terms).index(t) for t in used]
        kept = {t: d[~held] for t, d in designs.items() if t in _thresholds(used)}
        _, threshold, theta = _nnls_best(kept, target[~held], columns)
        predicted[held] = 1000.0 * designs[threshold][held][:, columns] @ theta
    return predicted


def leave_one_config_out_predictions(runs: pd.DataFrame, profile: Mapping[str, float], terms: Sequence[str] = FULL_TERMS,
                                     keys: Sequence[str] | None = None,
                                     full_designs: Mapping[float, np.ndarray] | None = None) -> np.ndarray | None:
    """Each run predicted by the curve fitted without any run of its configuration; None below 3 configurations."""
    keys = keys if keys is not None else [config_key(r) for r in runs.to_dict("records")]
    return _held_out_predictions(runs, profile, terms, keys, 3, keys, full_designs)


def leave_one_size_out_predictions(runs: pd.DataFrame, profile: Mapping[str, float], terms: Sequence[str]) -> np.ndarray | None:
    """Each run predicted by the curve fitted without any run of its input size (band): the error of
    a recommendation for a size the job has not run at; None below 2 sizes."""
    return _held_out_predictions(runs, profile, terms, [size_band(b) for b in runs["input_bytes"]], 2)


def leave_one_config_out_mape(runs: pd.DataFrame, profile: Mapping[str, float], terms: Sequence[str] = FULL_TERMS) -> float | None:
    """Validation error of the curve with each configuration's runs held out together; None below 3 configurations."""
    import numpy as np

    predicted = leave_one_config_out_predictions(runs, profile, terms)
    if predicted is None:
        return None
    return float(np.mean(ape(predicted, runs["runtime_ms"].to_numpy(dtype=float))))


@dataclass(frozen=True)
class SelectedCurve:
    """The curve of the term set that validated best, with its out-of-configuration predictions."""

    fit: ScalingFit
    validation_mape: float | None
    validation_predictions: np.ndarray | None
    errors_by_terms: dict[tuple[str, ...], float]


def select_scaling(runs: pd.DataFrame, profile: Mapping[str, float], term_sets: Sequence[Sequence[str]] = TERM_SETS) -> SelectedCurve:
    """Fit each candidate term set that has fewer terms than the signature has configurations, and
    keep the one with the lowest leave-one-configuration-out error (ties: the shorter one)."""
    import numpy as np

    keys = [config_key(r) for r in runs.to_dict("records")]
    configs = len(set(keys))
    actual = runs["runtime_ms"].to_numpy(dtype=float)
    best: tuple[float, tuple[str, ...], np.ndarray] | None = None
    errors: dict[tuple[str, ...], float] = {}
    # Every candidate's design is a choice of columns of the full one: derive the run inputs once.
    full_designs = _designs(runs, profile, FULL_TERMS, MEMORY_THRESHOLDS) if all(set(t) <= set(FULL_TERMS) for t in term_sets) else None
    for terms in term_sets:
        if len(terms) >= configs:
            continue
        predicted = leave_one_config_out_predictions(runs, profile, terms, keys, full_designs)
        if predicted is None:
            continue
        error = float(np.mean(ape(predicted, actual)))
        errors[tuple(terms)] = error
        if best is None or error < best[0] - 1e-9:
            best = (error, tuple(terms), predicted)
    if best is None:
        return SelectedCurve(fit_scaling(runs, profile, FULL_TERMS), None, None, errors)
    return SelectedCurve(fit_scaling(runs, profile, best[1]), best[0], best[2], errors)


def scaling_from_row(coefficients: Mapping[str, float], memory_threshold: float, profile: Mapping[str, float] | None,
                     extrapolation: Mapping | None = None) -> ScalingFit:
    """The curve a scaling_models (or recommendations) row stores: its coefficients, profile and extrapolation."""
    def fit(stored: Mapping[str, float], threshold, **beyond) -> ScalingFit:
        return ScalingFit(tuple(stored), dict(stored), float(threshold), dict(profile or {}), **beyond)

    if not extrapolation:
        return fit(coefficients, memory_threshold)
    return fit(coefficients, memory_threshold, beyond=fit(extrapolation["coefficients"], extrapolation["memory_threshold"]),
               seen_bands=tuple(extrapolation["seen_bands"]))


__all__ = ["AMDAHL_WAVES_TERMS", "BASIC_TERMS", "ERNEST_TERMS", "FULL_TERMS", "TERM_SETS", "ScalingFit", "SelectedCurve", "fit_scaling",
           "leave_one_config_out_mape", "leave_one_config_out_predictions", "leave_one_size_out_predictions", "scaling_from_row",
           "select_scaling"]
