"""What a rule sees (one application's facts) and what it says (a finding)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from spark_optimizer.eventlog.fields import is_local_master

SEVERITIES = ("info", "low", "moderate", "severe", "critical")
MB = 1024 * 1024


@dataclass(frozen=True)
class AppFacts:
    """Everything the rules know about one application attempt (all plain Python values)."""

    app: Mapping[str, Any]
    metrics: Mapping[str, Any]
    stages: Sequence[Mapping[str, Any]]
    executors: Sequence[Mapping[str, Any]]
    conf: Mapping[str, str]
    plan_node_names: Sequence[str] = ()
    failure_reasons: Mapping[str, int] = field(default_factory=dict)

    def conf_value(self, key: str, default: str | None = None) -> str | None:
        return self.conf.get(key, default)

    def conf_bool(self, key: str, default: bool) -> bool:
        value = self.conf.get(key)
        return default if value is None else value.strip().lower() == "true"

    @property
    def is_local(self) -> bool:
        return is_local_master(self.app.get("master"))

    @property
    def total_cores(self) -> int:
        return int(self.app.get("max_concurrent_cores") or self.app.get("executor_cores") or 1)

    def shuffle_stages(self) -> list[Mapping[str, Any]]:
        """Stage attempts that read shuffle data (the ones spark.sql.shuffle.partitions shapes)."""
        return [s for s in self.stages if (s.get("shuffle_read_bytes") or 0) > 0]


@dataclass(frozen=True)
class Finding:
    rule_id: str
    category: str
    severity: str
    title: str
    evidence: Mapping[str, Any]
    recommended_conf: Mapping[str, str]
    rationale: str
    stage_ids: Sequence[int] = ()

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"rule {self.rule_id}: unknown severity {self.severity!r}")

    def as_row(self, app_id: str, attempt_id: str, analyzed_at) -> dict:
        return {
            "app_id": app_id,
            "attempt_id": attempt_id,
            "rule_id": self.rule_id,
            "category": self.category,
            "severity": self.severity,
            "severity_rank": SEVERITIES.index(self.severity),
            "title": self.title,
            "evidence": json.dumps(self.evidence, sort_keys=True, default=str),
            "stage_ids": [str(s) for s in self.stage_ids],
            "recommended_conf": [f"{k}={v}" for k, v in self.recommended_conf.items()],
            "rationale": self.rationale,
            "analyzed_at": analyzed_at,
        }


def severity_for(value: float, thresholds: Sequence[float], higher_is_worse: bool = True) -> str | None:
    """Dr. Elephant-style grading: thresholds for low, moderate, severe, critical."""
    grade = None
    for name, limit in zip(SEVERITIES[1:], thresholds):
        if (value >= limit) if higher_is_worse else (value <= limit):
            grade = name
    return grade


Rule = Callable[[AppFacts, Mapping[str, Any]], "Finding | None"]


def memory_mb_text(mb: float) -> str:
    """Spark memory setting for `mb` MiB, rounded up to a whole 256 MiB (or GiB when large)."""
    mb = int(math.ceil(mb))
    if mb <= 384:  # Spark's minimum memoryOverhead
        return "384m"
    if mb >= 8192:
        return f"{-(-mb // 1024)}g"
    return f"{-(-mb // 256) * 256}m"
