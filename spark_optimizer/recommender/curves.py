"""Runtime curves a recommendation evaluates, and how much to trust them. Pure Python.

A `Curve` is the median of one or more stored per-signature scaling curves (spark_optimizer/ml/scaling.py),
times a scale factor:

- own: the signature's own curve (scale 1);
- job_type: the median of the curves of the signatures of one job type that were fitted on at least
  two configurations, each evaluated at the asked size and configuration (a size-aware pooling: no
  per-GB normalization is needed because each member curve already takes the input size); for a
  signature with too few configurations of its own, scaled so that it reproduces the signature's
  observed median runtime at its median observed configuration (`anchor_scale`);
- single_run: when no signature anywhere has two configurations, an Amdahl prior built from the
  run itself: driver-only time fixed, executor-busy time divided among the task slots
  (`amdahl_prior`).

A member curve that does not depend on the input size (a single run on generated or tiny input:
only a fixed term) would predict the same runtime at 1 GB and at 5 TB. Such a curve gets a size
prior (`SizePrior`): seconds of work per GB per core, measured on the build's runs that read at
least `MIN_MEASURED_INPUT_BYTES` (the row's own runs first, then every run of the build), else the
documented assumption `ASSUMED_SECONDS_PER_GB_CORE`; it adds that work divided among the cores.

How much to trust a curve at a size (its calibrated interval, the confidence label and its reason) is
spark_optimizer/recommender/confidence.py.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from spark_optimizer.ml.model_inputs import GB
from spark_optimizer.recommender.confidence import (
    Interval, Trust, beyond_seen, confidence_label, interval_at, pooled_calibration, score,
)
from spark_optimizer.ml.resource_model import MIN_EXECUTOR_MEMORY_MB, ResourceFit
from spark_optimizer.ml.scaling import ScalingFit, scaling_from_row

MIN_PRIOR_INPUT_BYTES = 64 * 1024 * 1024
"""Below this input (one scan split) a run's time is not driven by its input: the prior keeps it fixed."""
UNKNOWN_ERROR = 1.0
"""Relative runtime error assumed when no validation error exists (a single run): +-100%."""
POOLED_ERROR_PENALTY = 1.5
"""A curve borrowed from other signatures of the type is trusted less than their own validation says."""
MIN_MEASURED_INPUT_BYTES = 256 * 1024 * 1024
"""A run's throughput (seconds per GB per core) is measured only when it read at least this much."""
ASSUMED_SECONDS_PER_GB_CORE = 20.0
"""Without any measured run: ~50 MB/s per core for a scan, shuffle and write (docs/recommendations.md)."""
SIZE_TERMS = ("per_core", "input", "memory_cliff")


@dataclass(frozen=True)
class SizePrior:
    """Work per input GB per core that a size-blind curve adds, and where the figure came from."""

    seconds_per_gb_core: float
    source: str


def size_prior(own_points: Sequence[Sequence[float]], build_points: Sequence[Sequence[float]]) -> SizePrior:
    """The median seconds per GB per core of the runs that read >= 256 MB: the row's own runs, else the
    build's, else the assumption. Points are [input_bytes, total_cores, runtime_ms]."""
    for points, where in ((own_points, "this row's runs"), (build_points, "all runs of the build")):
        rates = [float(p[2]) / 1000.0 * max(float(p[1] or 1), 1.0) / (float(p[0]) / GB)
                 for p in points if float(p[0] or 0) >= MIN_MEASURED_INPUT_BYTES and float(p[2] or 0) > 0]
        if rates:
            value = statistics.median(rates)
            return SizePrior(value, f"{value:.3g} s per GB per core, median of {len(rates)} of {where} with >= 256 MB input")
    return SizePrior(ASSUMED_SECONDS_PER_GB_CORE, f"{ASSUMED_SECONDS_PER_GB_CORE:g} s per GB per core (assumed: no run "
                     "of the build read 256 MB or more)")


def size_blind(fit: ScalingFit) -> bool:
    """True when the curve's runtime does not grow with the input size (no size term, also beyond the fitted range)."""
    fits = [fit] + ([fit.beyond] if fit.beyond is not None else [])
    return not any(f.coefficients.get(t, 0.0) > 0 for f in fits for t in SIZE_TERMS if t in f.terms)


@dataclass(frozen=True)
class Curve:
    fits: tuple[ScalingFit, ...]
    scale: float = 1.0
    resources: tuple[ResourceFit, ...] = ()
    prior: SizePrior | None = None

    def predict_ms(self, executors: int, executor_cores: int, executor_memory_mb: int, shuffle_partitions: int,
                   aqe_enabled: bool, input_bytes: float) -> float:
        prior_ms = 0.0
        if self.prior is not None:
            prior_ms = 1000.0 * self.prior.seconds_per_gb_core * float(input_bytes) / GB / max(executors * executor_cores, 1)
        values = [f.predict_ms(executors, executor_cores, executor_memory_mb, shuffle_partitions, aqe_enabled, input_bytes)
                  + (prior_ms if size_blind(f) else 0.0) for f in self.fits]
        return max(self.scale * statistics.median(values), 1.0)

    @property
    def uses_prior(self) -> bool:
        return self.prior is not None and any(size_blind(f) for f in self.fits)

    def safe_memory_mb(self, executors: int, executor_cores: int, shuffle_partitions: int, aqe_enabled: bool,
                       input_bytes: float) -> int:
        """The resource model's safe executor memory (median over the member fits); the floor without one."""
        values = [r.safe_executor_memory_mb(executors, executor_cores, shuffle_partitions, aqe_enabled, input_bytes)
                  for r in self.resources]
        return int(statistics.median(values)) if values else MIN_EXECUTOR_MEMORY_MB

    @property
    def shuffle_input_ratio(self) -> float:
        ratios = [f.profile.get("shuffle_input_ratio") for f in self.fits]
        ratios = [r for r in ratios if isinstance(r, (int, float)) and not math.isnan(r)]
        return statistics.median(ratios) if ratios else 0.0


def fit_from_row(row: Mapping) -> ScalingFit:
    return scaling_from_row(row["coefficients"], row["memory_threshold"] or 4.0, row.get("profile"), row.get("extrapolation"))


def resource_from_row(row: Mapping) -> ResourceFit | None:
    if row.get("peak_memory_per_core_bytes") is None:
        return None
    return ResourceFit(float(row["peak_memory_per_core_bytes"]), float(row.get("memory_bytes_per_input_byte") or 0.0),
                       row.get("spill_free_data_per_memory"), 0, dict(row.get("profile") or {}))


def amdahl_prior(driver_only_ms: float, runtime_ms: float, input_bytes: float, total_cores: int) -> dict[str, float]:
    """Coefficients (seconds) of a single run's prior: fixed = driver-only time, the executor-busy rest
    scales with input per core. Without a meaningful input size (< 64 MB) the rest stays fixed too."""
    fixed_s = max(min(driver_only_ms, runtime_ms), 0.0) / 1000.0
    busy_s = max(runtime_ms / 1000.0 - fixed_s, 0.0)
    if input_bytes and input_bytes >= MIN_PRIOR_INPUT_BYTES:
        return {"fixed": fixed_s, "per_core": busy_s / (input_bytes / GB / max(total_cores, 1))}
    return {"fixed": fixed_s + busy_s}


def validation_error(row: Mapping) -> tuple[float | None, str]:
    """The signature's validation error of its scaling curve, else of the global model on its runs."""
    if row.get("scaling_mape") is not None and not math.isnan(row["scaling_mape"]):
        return float(row["scaling_mape"]), "leave-one-configuration-out MAPE of the scaling curve"
    for key, value in sorted(row.items()):
        if key.endswith("_mape") and key != "scaling_mape" and value is not None and not math.isnan(value):
            return float(value), f"out-of-fold {key.removesuffix('_mape')} MAPE on this signature's runs"
    return None, "no validation error (fewer than 3 configurations)"


def neighbour_distance(input_bytes: float, total_cores: int, observed: Sequence[Sequence[float]]) -> float:
    """Doublings of input size plus doublings of total cores to the nearest observed run."""
    if not observed:
        return 10.0
    size = max(float(input_bytes), 1.0)
    return min(abs(math.log2(size / max(float(p[0] or 0), 1.0))) + abs(math.log2(max(total_cores, 1) / max(float(p[1] or 1), 1.0)))
               for p in observed)


@dataclass(frozen=True)
class CurveSpec:
    """Everything a lookup needs to rebuild a row's curve and judge it."""

    curve: Curve
    source: str
    runtime_error: float
    error_source: str
    configurations: float
    observed: tuple[tuple[float, float, float], ...] = field(default_factory=tuple)
    calibration: Mapping | None = None
    """`recommendations.interval_calibration` (confidence.calibration_from_model); None: not calibrated."""

    def interval_at(self, input_bytes: float) -> Interval:
        return interval_at(self.calibration, self.runtime_error, input_bytes, self.observed)

    def trust_at(self, input_bytes: float, total_cores: int) -> Trust:
        """The interval at `input_bytes`, and the label, reason and score of a configuration of `total_cores`."""
        interval = self.interval_at(input_bytes)
        distance = neighbour_distance(input_bytes, total_cores, self.observed)
        label, reason = confidence_label(interval, beyond_seen(input_bytes, total_cores, self.observed), self.source)
        return Trust(interval, label, reason, score(interval, self.configurations, distance), distance)


def stored_points(points: Sequence[Sequence[float]]) -> list[dict[str, int]]:
    """(input_bytes, total_cores, runtime_ms) points as `recommendations.observed_points` stores them."""
    return [{"input_bytes": int(p[0] or 0), "total_cores": int(p[1] or 1), "runtime_ms": int(p[2] or 0)} for p in points]


def point_tuples(stored: Sequence[Mapping] | None) -> tuple[tuple[int, int, int], ...]:
    """Stored `observed_points` as (input_bytes, total_cores, runtime_ms) tuples."""
    return tuple((p["input_bytes"], p["total_cores"], p["runtime_ms"]) for p in stored or ())


def spec_from_row(row: Mapping, signature_rows: Mapping[str, Mapping]) -> CurveSpec:
    """Rebuild a `recommendations` row's curve: its own coefficients, or its member signatures' curves."""
    members = list(row.get("member_signatures") or [])
    if row["curve_source"] == "job_type":
        missing = [m for m in members if m not in signature_rows]
        if missing:
            raise KeyError(f"member signatures {missing} of {row['recommendation_id']} are not in the same build")
        member_rows = [signature_rows[m] for m in members]
    else:
        member_rows = [row]
    fits = tuple(fit_from_row(r) for r in member_rows)
    resources = tuple(r for r in (resource_from_row(m) for m in member_rows) if r is not None)
    pooled = row["curve_source"] != "own"
    configurations = float(row.get("config_count") or 0) * (0.5 if pooled else 1.0)
    observed = point_tuples(row.get("observed_points"))
    build_points = [p for r in signature_rows.values() for p in point_tuples(r.get("observed_points"))]
    prior = size_prior(observed, build_points)
    # A single-run prior is not the model the training calibrated; a borrowed curve takes its members' intervals.
    calibration = {"own": row.get("interval_calibration"), "single_run": None}.get(
        row["curve_source"], pooled_calibration([r.get("interval_calibration") if r.get("curve_source") == "own" else None
                                                 for r in member_rows]))
    return CurveSpec(Curve(fits, float(row.get("curve_scale") or 1.0), resources, prior), row["curve_source"],
                     float(row["runtime_error"]), row.get("error_source") or "", configurations, observed, calibration)
