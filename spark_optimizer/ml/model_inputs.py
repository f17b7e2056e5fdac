"""What the runtime and resource models see of a run: its configuration, its input size, and its
job's profile (medians over the job signature's training runs). Everything here is known before a
run starts, so a held-out run's own outcome (its GC share, spill, shuffle bytes) never leaks into
its prediction. Pure pandas/numpy: used in Spark (applyInPandas, MLlib input) and without it
(the recommendation lookup)."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Mapping

from spark_optimizer.spark_rules import DEFAULT_SHUFFLE_PARTITIONS, RESERVED_SYSTEM_MEMORY_BYTES, SPARK_PROPERTIES, default_bytes

if TYPE_CHECKING:  # numpy/pandas are imported where used: the JVM-free CLI lookup needs only derived_inputs
    import numpy as np
    import pandas as pd

MB = 1024 * 1024
GB = 1024 * MB
# Spark's defaults (spark_rules): reserved system memory, spark.memory.fraction, the AQE advisory
# partition size, spark.sql.files.maxPartitionBytes and spark.sql.files.openCostInBytes.
RESERVED_MEMORY_MB = RESERVED_SYSTEM_MEMORY_BYTES // MB
MEMORY_FRACTION = float(SPARK_PROPERTIES["spark.memory.fraction"].default)
ADVISORY_PARTITION_BYTES = default_bytes("spark.sql.adaptive.advisoryPartitionSizeInBytes")
MAX_SPLIT_BYTES = default_bytes("spark.sql.files.maxPartitionBytes")
OPEN_COST_BYTES = default_bytes("spark.sql.files.openCostInBytes")

PROFILE_COLUMNS = ("shuffle_input_ratio", "output_input_ratio", "stage_count", "task_count", "cpu_share_of_run",
                   "gc_share", "op_join", "op_aggregate", "op_sort", "op_window", "op_python")
CONFIG_COLUMNS = ("executors", "executor_cores", "executor_memory_mb", "shuffle_partitions", "aqe_enabled")
MODEL_FEATURES = (
    "log_input_mb", "executors", "executor_cores", "total_cores", "executor_memory_gb", "shuffle_partitions", "aqe",
    "effective_partitions", "waves", "input_gb_per_core", "memory_pressure", "total_memory_gb", "input_per_memory",
) + tuple(f"profile_{c}" for c in PROFILE_COLUMNS)
PARAM_PREFIX = "param_"


def size_band(input_bytes) -> int:
    """Input sizes within ~19% of each other share a band (quarter steps of log2 bytes): for display
    and for the range of sizes a curve was fitted on, never for the identity of a run's input."""
    return round(math.log2(max(float(input_bytes or 0), 1.0)) * 4)


def job_params(value) -> dict[str, float]:
    """A run's job parameters ({name: number}) from the runs table's map (a dict, or the (key, value) pairs Arrow's
    pandas conversion gives) or JSON text; {} when none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return {}
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    return {str(k): float(v) for k, v in dict(value).items() if v is not None}


def stored_job_params(params: Mapping[str, float] | None) -> dict[str, float] | None:
    """Job parameters as the runs table stores them (sorted names, numbers as doubles), None for none."""
    return {k: float(v) for k, v in sorted(params.items())} if params else None


def job_params_json(params: Mapping[str, float] | None) -> str | None:
    """The canonical text of job parameters (sorted keys), None for none: a run's input identity (config_key)."""
    stored = stored_job_params(params)
    return json.dumps(stored, sort_keys=True) if stored else None


def _params_text(value) -> str | None:
    # Canonical text (job_params_json) passes as is; a stored map, or other text, is canonicalized.
    return value if isinstance(value, str) and value.startswith("{") else job_params_json(job_params(value))


def config_key(row: Mapping) -> str:
    """Identity of a configuration at an input: repeats of one configuration share it. A run's
    configuration is its Spark settings and machine type; its input is the exact input size and
    the job parameters (runs of different parameters at one size are not repeats)."""
    params = _params_text(row.get("job_params"))
    return "|".join(str(row.get(k)) for k in ("job_signature",) + CONFIG_COLUMNS + ("machine_type",)) + (
        f"|{int(float(row.get('input_bytes') or 0))}|{params or ''}")


def input_key(row: Mapping) -> str:
    """Identity of a job's input: signature, exact input size and job parameters."""
    params = _params_text(row.get("job_params"))
    return f"{row.get('job_signature')}|{int(float(row.get('input_bytes') or 0))}|{params or ''}"


def signature_profiles(runs: pd.DataFrame) -> dict[str, dict[str, float]]:
    """job_signature -> median of each profile column over its runs (NaN where never known)."""
    present = [c for c in PROFILE_COLUMNS if c in runs.columns]
    medians = runs.groupby("job_signature")[present].median(numeric_only=True)
    return {sig: {c: float(v) for c, v in row.items()} for sig, row in medians.iterrows()}


def _profile_value(profile: Mapping[str, float] | None, name: str, default: float = 0.0) -> float:
    value = (profile or {}).get(name)
    return default if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def derived_inputs(executors: float, executor_cores: float, executor_memory_mb: float, shuffle_partitions: float,
                   aqe_enabled: bool, input_bytes: float, profile: Mapping[str, float] | None) -> dict[str, float]:
    """The model inputs of one run or candidate configuration."""
    executors = max(float(executors), 1.0)
    cores = max(float(executor_cores), 1.0)
    total_cores = executors * cores
    input_bytes = max(float(input_bytes or 0), 0.0)
    shuffle_bytes = input_bytes * _profile_value(profile, "shuffle_input_ratio")
    partitions = max(float(shuffle_partitions or DEFAULT_SHUFFLE_PARTITIONS), 1.0)
    effective = min(partitions, max(math.ceil(shuffle_bytes / ADVISORY_PARTITION_BYTES), 1.0)) if aqe_enabled else partitions
    slot_memory = max((float(executor_memory_mb) - RESERVED_MEMORY_MB) * MEMORY_FRACTION * MB / cores, 32 * MB)
    # Scan splits as Spark sizes them: min(maxPartitionBytes, max(openCostInBytes, bytes / parallelism)).
    scan_split = min(MAX_SPLIT_BYTES, max(OPEN_COST_BYTES, input_bytes / total_cores)) if input_bytes else 0.0
    bytes_per_task = max(shuffle_bytes / effective if shuffle_bytes else 0.0, scan_split)
    values = {
        "log_input_mb": math.log1p(input_bytes / MB),
        "executors": executors,
        "executor_cores": cores,
        "total_cores": total_cores,
        "executor_memory_gb": float(executor_memory_mb) / 1024,
        "shuffle_partitions": partitions,
        "aqe": 1.0 if aqe_enabled else 0.0,
        "effective_partitions": effective,
        "waves": effective / total_cores,
        "input_gb_per_core": input_bytes / GB / total_cores,
        "memory_pressure": bytes_per_task / slot_memory,
        "total_memory_gb": executors * float(executor_memory_mb) / 1024,
        # Data per unit of cluster memory: a job that caches its input (iterative ML) slows down many
        # times once the input no longer fits.
        "input_per_memory": input_bytes / (executors * max(float(executor_memory_mb), 1.0) * MB),
    }
    values.update(profile_inputs(profile))
    return values


def profile_inputs(profile: Mapping[str, float] | None) -> dict[str, float]:
    return {f"profile_{c}": _profile_value(profile, c) for c in PROFILE_COLUMNS}


def param_names(runs: pd.DataFrame) -> tuple[str, ...]:
    """The model-input columns of the job parameters found in `runs` (param_<name>), sorted."""
    if "job_params" not in runs.columns:
        return ()
    names = {name for value in runs["job_params"] for name in job_params(value)}
    return tuple(f"{PARAM_PREFIX}{name}" for name in sorted(names))


def model_frame(runs: pd.DataFrame, profiles: Mapping[str, Mapping[str, float]], params: tuple[str, ...] = ()) -> pd.DataFrame:
    """runs + one column per MODEL_FEATURES, profiles looked up by signature (unknown signature: zeros),
    + one column per job parameter in `params` (log1p of its value; 0 where a run lacks it)."""
    import numpy as np
    import pandas as pd

    # One dict of profile inputs per signature, shared by its runs (derived_inputs would rebuild it per run).
    shared = {sig: ({"shuffle_input_ratio": _profile_value(profiles.get(sig), "shuffle_input_ratio")}, profile_inputs(profiles.get(sig)))
              for sig in set(runs["job_signature"])}
    rows = []
    for r in runs[["job_signature", "executors", "executor_cores", "executor_memory_mb", "shuffle_partitions", "aqe_enabled",
                   "input_bytes"]].itertuples(index=False):
        ratio, profile_values = shared[r.job_signature]
        values = derived_inputs(r.executors, r.executor_cores, r.executor_memory_mb, r.shuffle_partitions, bool(r.aqe_enabled),
                                r.input_bytes, ratio)
        values.update(profile_values)
        rows.append(values)
    derived = pd.DataFrame(rows, columns=list(MODEL_FEATURES), index=runs.index)
    if params:
        given = [job_params(v) for v in runs["job_params"]] if "job_params" in runs.columns else [{}] * len(runs)
        for column in params:
            name = column[len(PARAM_PREFIX):]
            values = np.array([p.get(name, 0.0) for p in given], dtype=float)
            derived[column] = np.sign(values) * np.log1p(np.abs(values))
    return pd.concat([runs.drop(columns=[c for c in derived.columns if c in runs.columns]), derived], axis=1)


def ape(predicted: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Absolute percentage errors (fractions)."""
    import numpy as np

    actual = np.asarray(actual, dtype=float)
    return np.abs(np.asarray(predicted, dtype=float) - actual) / actual


def error_summary(predicted, actual) -> dict[str, float]:
    import numpy as np

    errors = ape(predicted, actual)
    residual = np.asarray(predicted, dtype=float) - np.asarray(actual, dtype=float)
    return {
        "mape": float(np.mean(errors)),
        "mdape": float(np.median(errors)),
        "p90_ape": float(np.quantile(errors, 0.9)),
        "rmse_s": float(np.sqrt(np.mean(residual ** 2)) / 1000.0),
        "count": int(len(errors)),
    }
