"""Look up a recommendation and record how a recommended run went: delta-rs only, no JVM, no pandas
or Arrow (the CLI's `recommend` must start in well under half a second)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from spark_optimizer.runners.result import RunResult

if TYPE_CHECKING:
    from spark_optimizer.context import AppContext


def _size_bytes(value: "str | float | None") -> float | None:
    from spark_optimizer.units import parse_size_bytes

    return parse_size_bytes(value) if isinstance(value, str) else value


def _duration_ms(value: "str | float | None") -> float | None:
    from spark_optimizer.units import parse_duration_ms

    return parse_duration_ms(value) if isinstance(value, str) else value


class RecommendRunner:
    def __init__(self, ctx: "AppContext"):
        self.ctx = ctx

    def run(self, *, input_size: "str | float | None" = None, job_type: str | None = None, signature: str | None = None,
            app_name: str | None = None, deadline: "str | float | None" = None, budget: float | None = None,
            objective: str | None = None, cloud: str = "aws", spot: bool = False,
            candidates: "str | list[dict] | Any | None" = None) -> RunResult:
        """`input_size`: bytes or text such as "10GB"; `deadline`: seconds or text such as "30m";
        `candidates`: a JSON/CSV file, a list of dicts or a pandas DataFrame of configurations to rank."""
        from spark_optimizer.recommender.lookup import as_json, lookup, read_candidates

        if budget is not None and budget <= 0:
            raise ValueError(f"budget must be a positive amount, not {budget}")
        deadline_s = _duration_ms(deadline) / 1000 if isinstance(deadline, str) else deadline
        if isinstance(candidates, str):
            candidates = read_candidates(candidates)
        elif hasattr(candidates, "to_dict"):
            candidates = candidates.to_dict("records")
        answer = lookup(self.ctx.settings, input_bytes=_size_bytes(input_size), job_type=job_type, signature=signature,
                        app_name=app_name, deadline_s=deadline_s, budget=budget, objective=objective, cloud=cloud,
                        spot=spot, candidates=candidates)
        return RunResult(answer, json.loads(as_json(answer)), (answer.row["rationale"],))


class FeedbackRunner:
    def __init__(self, ctx: "AppContext"):
        self.ctx = ctx

    def run(self, recommendation_id: str, runtime: "str | int", *, cost: float | None = None, app_id: str | None = None,
            note: str | None = None, recorded_at: datetime | None = None) -> RunResult:
        """`runtime`: milliseconds or text such as "12m"; `cost` in the catalogue's currency."""
        from spark_optimizer.recommender.feedback import record_feedback

        runtime_ms = int(_duration_ms(runtime))
        record = record_feedback(self.ctx.settings, recommendation_id, runtime_ms, recorded_at or self.ctx.now(),
                                 cost=cost, app_id=app_id, note=note)
        error = "" if record.runtime_error is None else \
            f" ({record.runtime_error:+.0%} vs predicted {record.predicted_runtime_ms / 1000:.0f} s)"
        line = f"recorded {record.feedback_id}{error}" + (f"; run {record.run_id} added to runs for the next training"
                                                         if record.run_id else "")
        data = {"feedback_id": record.feedback_id, "recommendation_id": recommendation_id, "run_id": record.run_id,
                "predicted_runtime_ms": record.predicted_runtime_ms, "actual_runtime_ms": runtime_ms,
                "runtime_error": record.runtime_error}
        return RunResult(record, data, (line,))
