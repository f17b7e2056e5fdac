"""What a rule sees (one application's facts) and what it says (a finding)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable, Mapping, Sequence

from spark_optimizer.spark_rules import (
    MEMORY_OVERHEAD_MIN_MB, SPARK_PROPERTIES, conf_mb, is_local_master, memory_overhead_keys, memory_overhead_mb,
    memory_text, size_bytes,
)
from spark_optimizer.tables.findings import evidence_to_stored

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
    jobs: Sequence[Mapping[str, Any]] = ()

    @property
    def spark_version(self) -> str | None:
        return self.app.get("spark_version")

    @property
    def accelerator(self) -> str | None:
        """rapids, photon or gluten when the SQL work ran on a GPU / native engine (app_metrics.accelerator)."""
        return self.metrics.get("accelerator")

    @cached_property
    def app_task_time_ms(self) -> int:
        """The application's task time: the sum over its stage attempts (computed once per application)."""
        return sum(s.get("task_time_ms") or 0 for s in self.stages)

    def significant(self, stage: Mapping[str, Any], p: Mapping[str, Any]) -> bool:
        """Whether a stage holds a meaningful share of the application ([significance] in defaults/rules.toml):
        of its wall time and of its task time, with enough tasks to compare."""
        wall = self.metrics.get("wall_ms") or self.app.get("duration_ms") or 0
        return ((stage.get("task_count") or 0) >= p["min_stage_tasks"]
                and (stage.get("task_time_ms") or 0) >= p["min_stage_task_share"] * self.app_task_time_ms
                and (stage.get("duration_ms") or 0) >= p["min_stage_wall_share"] * wall)

    def conf_value(self, key: str, default: str | None = None) -> str | None:
        return self.conf.get(key, default)

    def conf_int(self, key: str, default: int | None = None) -> int:
        """An integer property, or `default` (Spark's own default when not given) when unset or not a number
        (Databricks allows 'auto' partitions)."""
        if default is None:
            default = int(SPARK_PROPERTIES[key].default)
        try:
            return int(str(self.conf.get(key, default)).strip())
        except ValueError:
            return default

    def conf_bytes(self, key: str, default: str | None = None) -> int:
        """A size property in bytes as Spark reads it; `default` (Spark's own default when not given) when unset
        or a value Spark refuses."""
        default = default if default is not None else SPARK_PROPERTIES[key].default
        try:
            return size_bytes(key, self.conf.get(key, default))
        except ValueError:
            return size_bytes(key, default)

    def conf_mb(self, key: str) -> int | None:
        """A memory property in MiB as Spark reads it; None when unset or a value Spark refuses."""
        return conf_mb(self.conf, key)

    @property
    def executor_memory_mb(self) -> int | None:
        """The executors' heap: the resource profile's / ingested figure, else spark.executor.memory."""
        return self.app.get("executor_memory_mb") or self.conf_mb("spark.executor.memory")

    @property
    def explicit_executor_overhead(self) -> bool:
        """Whether the run set the executors' overhead itself (either key Spark reads)."""
        return any(self.conf.get(key) is not None for key in memory_overhead_keys())

    def executor_overhead_mb(self, memory_mb: float, *, keep_explicit: bool = True) -> int:
        """The overhead Spark gives executors of `memory_mb` heap under this run's conf (spark_rules.memory_overhead_mb:
        the explicit value, YARN's older key, the factor, the minimum); `keep_explicit=False` gives what Spark would
        derive for that heap from the factor and minimum alone (for a resized heap). A value Spark refuses (so it
        never ran with it) counts as unset."""
        conf = self.conf if keep_explicit else {k: v for k, v in self.conf.items() if k not in memory_overhead_keys()}
        try:
            return memory_overhead_mb(conf, memory_mb)
        except ValueError:
            return memory_overhead_mb({}, memory_mb)

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
        """Stage attempts whose tasks are shaped by spark.sql.shuffle.partitions: they read shuffle data,
        and at least as much of it as input (a scan stage that also reads a small shuffle side has as
        many tasks as file splits, not as shuffle partitions)."""
        return [s for s in self.stages
                if (s.get("shuffle_read_bytes") or 0) > 0 and (s.get("shuffle_read_bytes") or 0) >= (s.get("input_bytes") or 0)]


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
            "evidence": evidence_to_stored(self.evidence),
            "stage_ids": [int(s) for s in self.stage_ids],
            "recommended_conf": dict(self.recommended_conf),
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
    """Spark memory setting for `mb` MiB (at least Spark's 384 MiB overhead minimum), rounded up to
    256 MiB, or GiB from 8 GiB; for spark.executor.memory use spark_rules.executor_memory_text."""
    return f"{MEMORY_OVERHEAD_MIN_MB}m" if mb <= MEMORY_OVERHEAD_MIN_MB else memory_text(mb)


FAILURE_RULES = frozenset({"failed_tasks", "executor_loss"})


def finding_order(finding: Mapping[str, Any]) -> tuple[int, int]:
    """Sort key: most severe first; among equally severe findings, what failed before advice."""
    return (-(finding.get("severity_rank") or 0), 0 if finding.get("rule_id") in FAILURE_RULES else 1)
