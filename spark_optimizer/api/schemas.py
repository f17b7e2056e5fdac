"""Request and response bodies of the REST API: strict pydantic models (unknown fields are refused,
values are bounded) so a bad request is a clear 422 before any table is read."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from spark_optimizer.units import parse_date, parse_duration_ms, parse_size_bytes

# Bounds that keep the curve search and the what-if replay in a sane range (and out of overflow).
MAX_INPUT_BYTES = 1024 ** 5 * 100  # 100 PB
MAX_DEADLINE_MS = 90 * 86_400_000  # 90 days
MAX_RUNTIME_MS = 365 * 86_400_000
SIZE_PATTERN = r"^\s*\d{1,12}(\.\d{1,6})?\s*([bB]|[kKmMgGtTpP][iI]?[bB])\s*$"
DURATION_PATTERN = r"^\s*\d{1,9}(\.\d{1,6})?\s*(ms|s|m|min|h|d|MS|S|M|MIN|H|D)\s*$"
ID_PATTERN = r"^[A-Za-z0-9_.:\-]+$"
# A table-row id, or a lookup id carrying the configuration: executors, cores, memory MB, partitions, input MB.
REC_ID_PATTERN = r"^rec-[0-9a-f]{12}(~e[1-9]\d{0,3}c[1-9]\d{0,2}m[1-9]\d{2,6}p[1-9]\d{0,5}i\d{1,12})?$"

Objective = Literal["balanced", "cheapest-within-deadline", "fastest-within-budget"]
Cloud = Literal["aws", "gcp", "azure", "databricks", "all"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CandidateSpec(Strict):
    """One configuration to rank: an instance type of the pricing catalogue, and optionally the node
    count and the executor layout (missing parts are derived from the instance type)."""

    instance_type: str = Field(..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$", examples=["r4.2xlarge"])
    nodes: int | None = Field(None, ge=1, le=10_000)
    executors: int | None = Field(None, ge=1, le=100_000)
    executor_cores: int | None = Field(None, ge=1, le=256)
    executor_memory_mb: int | None = Field(None, ge=450, le=4_194_304)
    cloud: Literal["aws", "gcp", "azure", "databricks"] | None = None


class RecommendRequest(Strict):
    """The inputs of `spark-optimizer recommend`: which job (exactly one of job_type, signature,
    app_name), at what input size, under which deadline or budget, on which cloud."""

    input_size: str | None = Field(None, max_length=32, pattern=SIZE_PATTERN, examples=["10GB"],
                                   description="Input size with a unit (binary): 512MB, 10GB, 1.5TB. Default for a job: its typical input.")
    job_type: str | None = Field(None, min_length=1, max_length=32, pattern=r"^[a-z_]+$", examples=["etl"],
                                 description="etl, sql, ml, streaming, other (needs input_size).")
    signature: str | None = Field(None, min_length=1, max_length=200, description="A job signature or a unique prefix of one.")
    app_name: str | None = Field(None, min_length=1, max_length=200, description="A job by its application name.")
    deadline: str | None = Field(None, max_length=32, pattern=DURATION_PATTERN, examples=["30m"],
                                 description="Finish within, e.g. 30m (default objective: cheapest within it).")
    budget: float | None = Field(None, gt=0, le=1e7, description="At most this much per run (default objective: fastest within it).")
    objective: Objective | None = None
    cloud: Cloud = "aws"
    spot: bool = Field(False, description="Half the workers on spot/preemptible VMs.")
    candidates: list[CandidateSpec] | None = Field(None, min_length=1, max_length=200,
                                                   description="Rank these configurations instead of searching; "
                                                               "the answer's `ranking` lists them best first.")

    @field_validator("input_size")
    @classmethod
    def _size(cls, value: str | None) -> str | None:
        if value is not None and not 0 < parse_size_bytes(value) <= MAX_INPUT_BYTES:
            raise ValueError("input_size must be more than 0 bytes and at most 100PB")
        return value

    @field_validator("deadline")
    @classmethod
    def _deadline(cls, value: str | None) -> str | None:
        if value is not None and not 1000 <= parse_duration_ms(value) <= MAX_DEADLINE_MS:
            raise ValueError("deadline must be between 1s and 90d")
        return value

    @model_validator(mode="after")
    def _one_job(self) -> "RecommendRequest":
        given = [k for k in ("job_type", "signature", "app_name") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of job_type, signature or app_name (found {given or 'none'})")
        if self.job_type is not None and self.input_size is None:
            raise ValueError("input_size is needed for a job type (e.g. \"10GB\")")
        return self

    @property
    def input_bytes(self) -> int | None:
        return None if self.input_size is None else parse_size_bytes(self.input_size)

    @property
    def deadline_s(self) -> float | None:
        return None if self.deadline is None else parse_duration_ms(self.deadline) / 1000


class FeedbackRequest(Strict):
    """The outcome of a run that applied a recommendation (`spark-optimizer feedback`)."""

    recommendation_id: str = Field(..., max_length=120, pattern=REC_ID_PATTERN, examples=["rec-1a2b3c4d5e6f~e4c4m8192p64i10240"],
                                   description="From POST /recommend or the recommendations table.")
    runtime: str = Field(..., max_length=32, pattern=DURATION_PATTERN, examples=["12m"], description="How long the run took.")
    cost: float | None = Field(None, ge=0, le=1e7, description="What the run cost, in the catalogue's currency.")
    app_id: str | None = Field(None, min_length=1, max_length=200, pattern=ID_PATTERN)
    note: str | None = Field(None, max_length=2000)

    @field_validator("runtime")
    @classmethod
    def _runtime(cls, value: str) -> str:
        if not 1 <= parse_duration_ms(value) <= MAX_RUNTIME_MS:
            raise ValueError("runtime must be between 1ms and 365d")
        return value

    @property
    def runtime_ms(self) -> int:
        return parse_duration_ms(self.runtime)


class JobsQuery(Strict):
    """Filters of `GET /jobs` (those of `spark-optimizer jobs`) and the page to return."""

    name: str | None = Field(None, max_length=200, description="Substring of the app name or id.")
    status: Literal["completed", "incomplete"] | None = None
    platform: str | None = Field(None, max_length=32, description="databricks, emr, dataproc, kubernetes, yarn, standalone, local.")
    since: str | None = Field(None, max_length=32, examples=["2026-11-01"], description="Started on or after (YYYY-MM-DD).")
    until: str | None = Field(None, max_length=32, description="Started before (YYYY-MM-DD).")
    min_duration: str | None = Field(None, max_length=32, pattern=DURATION_PATTERN, examples=["10m"])
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)

    @field_validator("since", "until")
    @classmethod
    def _date(cls, value: str | None) -> str | None:
        if value is not None:
            parse_date(value)
        return value


class AnalyzeQuery(Strict):
    executors: list[int] | None = Field(None, max_length=16, description="What-if executor counts (repeat the parameter).")

    @field_validator("executors")
    @classmethod
    def _counts(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and not all(1 <= n <= 1000 for n in value):
            raise ValueError("what-if executor counts must be between 1 and 1000")
        return value


class Job(BaseModel):
    ref: str = Field(description="The attempt as the CLI writes and takes it: APP_ID/ATTEMPT (APP_ID alone for an unnamed attempt).")
    app_id: str
    attempt_id: str
    app_name: str | None = None
    start_time: str | None = Field(default=None, description="SparkListenerApplicationStart Timestamp, ISO-8601 UTC.")
    start: str
    status: str | None = None
    duration_ms: int | None = None
    platform: str | None = None
    executors_added: int | None = None
    task_count: int | None = None
    failed_task_count: int | None = None
    bottleneck: str | None = None


class JobsPage(BaseModel):
    total: int = Field(description="Applications matching the filters (all pages).")
    offset: int
    limit: int
    items: list[Job]


class Recommendation(BaseModel):
    """The recommendation as a `recommendations` row (see docs/tables.md) plus the Pareto frontier."""

    model_config = ConfigDict(extra="allow")
    recommendation_id: str
    job_signature: str | None = None
    job_type: str | None = None
    executors: int
    executor_cores: int
    executor_memory_mb: int
    predicted_runtime_ms: int
    predicted_cost: float | None = None
    currency: str | None = None
    spark_submit: str
    pareto: list[dict[str, Any]]


class FeedbackRecorded(BaseModel):
    feedback_id: str
    recommendation_id: str
    run_id: str | None = Field(description="The run added to `runs` for the next training (signature-level ids).")
    predicted_runtime_ms: int | None
    actual_runtime_ms: int
    runtime_error: float | None = Field(description="actual / predicted - 1")


class TableState(BaseModel):
    exists: bool
    version: int | None = None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str = Field(description="The spark-optimizer release serving this API.")
    warehouse_reachable: bool
    tables: dict[str, TableState]
    detail: str | None = None


class Problem(BaseModel):
    """Every error: what was wrong and what to do."""

    detail: str
    error: str
    errors: list[dict[str, Any]] | None = Field(None, description="For invalid requests: each field (loc) and what was wrong.")
