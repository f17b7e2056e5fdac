"""Resource model per job signature: peak execution memory per task as a function of the data a
task handles, and the smallest executor memory that keeps a run out of spill and out of the OOM zone.

Peak Execution Memory (per task, from the event log) is fitted non-negatively as
`peak = a + b · bytes_per_task`. A safe executor memory for a size and configuration gives every
task slot its predicted peak (plus headroom) inside Spark's unified memory, and keeps the memory
pressure (data per task / memory per slot) at or below the highest pressure seen without spill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: safe_executor_memory_mb runs in the JVM-free CLI lookup
    import pandas as pd

from spark_optimizer.ml.model_inputs import MB, MEMORY_FRACTION, RESERVED_MEMORY_MB, derived_inputs

HEADROOM = 1.25
MIN_EXECUTOR_MEMORY_MB = 1024


@dataclass(frozen=True)
class ResourceFit:
    base_bytes: float
    bytes_per_task_byte: float
    spill_free_pressure: float | None
    runs: int
    profile: dict

    def bytes_per_task(self, executors, executor_cores, executor_memory_mb, shuffle_partitions, aqe_enabled, input_bytes) -> float:
        inputs = derived_inputs(executors, executor_cores, executor_memory_mb, shuffle_partitions, aqe_enabled, input_bytes, self.profile)
        slot = max((float(executor_memory_mb) - RESERVED_MEMORY_MB) * MEMORY_FRACTION * MB / max(float(executor_cores), 1.0), 32 * MB)
        return inputs["memory_pressure"] * slot

    def peak_task_bytes(self, *config) -> float:
        return self.base_bytes + self.bytes_per_task_byte * self.bytes_per_task(*config)

    def safe_executor_memory_mb(self, executors, executor_cores, shuffle_partitions, aqe_enabled, input_bytes) -> int:
        """Smallest executor memory (MB, rounded up to 512) whose slots hold the predicted peak with headroom
        and whose memory pressure stays within what ran without spill."""
        cores = max(int(executor_cores), 1)
        # bytes_per_task does not depend on memory (the pressure's denominator cancels); evaluate at any size.
        per_task = self.bytes_per_task(executors, cores, 4096, shuffle_partitions, aqe_enabled, input_bytes)
        need_slot = (self.base_bytes + self.bytes_per_task_byte * per_task) * HEADROOM
        if self.spill_free_pressure:
            need_slot = max(need_slot, per_task / self.spill_free_pressure)
        memory_mb = need_slot * cores / MEMORY_FRACTION / MB + RESERVED_MEMORY_MB
        return int(max(MIN_EXECUTOR_MEMORY_MB, math.ceil(memory_mb / 512) * 512))


def fit_resource(runs: pd.DataFrame, profile: dict) -> ResourceFit | None:
    """Fit on the runs of one signature that logged Peak Execution Memory; None when none did."""
    import numpy as np
    from scipy.optimize import nnls

    known = runs[runs["peak_execution_memory_bytes"].fillna(0) > 0] if "peak_execution_memory_bytes" in runs else runs.iloc[0:0]
    if known.empty:
        return None
    fit0 = ResourceFit(0.0, 0.0, None, 0, dict(profile))
    x = np.array([fit0.bytes_per_task(r.executors, r.executor_cores, r.executor_memory_mb, r.shuffle_partitions,
                                      bool(r.aqe_enabled), r.input_bytes) for r in known.itertuples(index=False)])
    y = known["peak_execution_memory_bytes"].to_numpy(dtype=float)
    if len(known) >= 2 and np.ptp(x) > 0:
        scale = np.array([1.0, max(x.max(), 1.0)])
        theta, _ = nnls(np.column_stack([np.ones_like(x), x]) / scale, y)
        base, slope = theta / scale
    else:
        base, slope = float(y.max()), 0.0
    pressures = []
    for r in runs.itertuples(index=False):
        spilled = (getattr(r, "spill_bytes", 0) or 0) > 0
        if not spilled:
            inputs = derived_inputs(r.executors, r.executor_cores, r.executor_memory_mb, r.shuffle_partitions,
                                    bool(r.aqe_enabled), r.input_bytes, profile)
            pressures.append(inputs["memory_pressure"])
    spill_free = max(pressures) if pressures else None
    return ResourceFit(float(base), float(slope), spill_free if spill_free and spill_free > 0 else None, len(known), dict(profile))
