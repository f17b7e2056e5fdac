"""Rows of the cloud-metadata tables as frozen dataclasses, and the conversions every cloud collector shares.

Each cloud module (`emr`, `databricks`, `dataproc`) maps its API payloads (plain JSON-like dicts, as
the API documents them) into these rows; `cloud_store` writes them. The dataclass fields are the
table columns (checked below against the table specs), minus `collected_at`, which is stamped when
the rows are written.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from spark_optimizer.errors import SparkOptimizerError
from spark_optimizer.tables import CLUSTER_EVENTS, CLUSTER_NODES, CLUSTER_RUNS, CLUSTERS
from spark_optimizer.tables import instants
from spark_optimizer.tables.upgrades import string_values


class CloudCollectError(SparkOptimizerError):
    """A cloud API could not be used at all (unreachable, no credentials, no permission to list)."""


class CloudPermissionError(CloudCollectError):
    """The caller's identity lacks a permission; the message names it."""

    def __init__(self, provider: str, action: str, permission: str, detail: str):
        self.action, self.permission = action, permission
        super().__init__(f"{provider}: {action} was denied ({detail.strip()[:300]}); the identity the SDK's credential "
                         f"chain found needs the permission {permission}")


@dataclass(frozen=True)
class ClusterRow:
    provider: str
    scope: str
    cluster_id: str
    cluster_name: str | None = None
    cluster_source: str | None = None
    state: str | None = None
    state_message: str | None = None
    runtime_version: str | None = None
    applications: tuple[str, ...] | None = None
    created_time: datetime | None = None  # instants are UTC datetimes
    ready_time: datetime | None = None
    ended_time: datetime | None = None
    changed_time: datetime | None = None
    master_node_type: str | None = None
    worker_node_type: str | None = None
    num_workers: int | None = None
    autoscale_min_workers: int | None = None
    autoscale_max_workers: int | None = None
    autoscale_policy: str | None = None
    region: str | None = None
    zone: str | None = None
    log_uri: str | None = None
    event_log_dir: str | None = None
    spark_conf: tuple[tuple[str, str], ...] | None = None  # (key, value) pairs: a map column
    tags: tuple[tuple[str, str], ...] | None = None
    creator: str | None = None


@dataclass(frozen=True)
class NodeGroupRow:
    provider: str
    scope: str
    cluster_id: str
    node_group_id: str
    node_group_name: str | None = None
    group_kind: str | None = None
    role: str | None = None
    node_type: str | None = None
    market: str | None = None
    requested_count: int | None = None
    running_count: int | None = None
    on_demand_count: int | None = None
    target_on_demand_capacity: int | None = None
    target_spot_capacity: int | None = None
    provisioned_on_demand_capacity: int | None = None
    provisioned_spot_capacity: int | None = None
    weighted_capacity: int | None = None
    bid_price: float | None = None
    bid_price_percent: float | None = None
    vcpus: int | None = None
    memory_mb: int | None = None
    gpus: int | None = None
    disk_type: str | None = None
    disk_count: int | None = None
    disk_size_gb: int | None = None
    autoscale_min: int | None = None
    autoscale_max: int | None = None
    state: str | None = None


@dataclass(frozen=True)
class RunRow:
    provider: str
    scope: str
    run_id: str
    run_type: str
    parent_run_id: str | None = None
    job_id: str | None = None
    cluster_id: str | None = None
    cluster_name: str | None = None
    run_name: str | None = None
    task_key: str | None = None
    job_kind: str | None = None
    main: str | None = None
    arguments: tuple[str, ...] | None = None
    properties: tuple[tuple[str, str], ...] | None = None
    state: str | None = None
    result_state: str | None = None
    state_message: str | None = None
    created_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration_ms: int | None = None
    queue_duration_ms: int | None = None
    setup_duration_ms: int | None = None
    execution_duration_ms: int | None = None
    cleanup_duration_ms: int | None = None
    attempt_number: int | None = None
    spark_context_id: str | None = None
    yarn_application_ids: tuple[str, ...] | None = None
    milli_dcu_seconds: int | None = None
    shuffle_storage_gb_seconds: int | None = None
    changed_time: datetime | None = None


@dataclass(frozen=True)
class ClusterEventRow:
    provider: str
    scope: str
    cluster_id: str
    event_time: datetime
    event_type: str
    current_num_workers: int | None = None
    target_num_workers: int | None = None
    cause: str | None = None
    reason_code: str | None = None
    details: tuple[tuple[str, str], ...] | None = None


ROW_TABLES = {ClusterRow: CLUSTERS, NodeGroupRow: CLUSTER_NODES, RunRow: CLUSTER_RUNS, ClusterEventRow: CLUSTER_EVENTS}
for _cls, _spec in ROW_TABLES.items():
    assert [f.name for f in fields(_cls)] + ["collected_at"] == _spec.column_names, f"{_cls.__name__} out of step with {_spec.name}"


def as_table_row(row: Any, collected_at: datetime) -> dict:
    values = asdict(row)
    for key, value in values.items():
        if isinstance(value, tuple):
            values[key] = list(value)
    values["collected_at"] = collected_at
    return values


# ---- value conversions shared by the cloud modules -----------------------------------------------

_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def instant(value: Any) -> datetime | None:
    """A UTC datetime from a datetime (naive ones are UTC), an RFC 3339 string ('2026-01-02T03:04:05.123456Z')
    or epoch milliseconds (Databricks); None when absent or unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return instants.from_epoch_ms(int(value)) if value > 0 else None
    if isinstance(value, str):
        match = _RFC3339.match(value.strip())
        if not match:
            return None
        date, clock, fraction, zone = match.groups()
        fraction = (fraction or ".0")[:7]  # datetime takes at most microseconds; Google sends nanoseconds
        zone = "+00:00" if zone in (None, "Z") else zone
        try:
            return instant(datetime.fromisoformat(f"{date}T{clock}{fraction}{zone}"))
        except ValueError:
            return None
    return None


def epoch_ms(value: Any) -> int | None:
    """Epoch milliseconds of `instant(value)`, for the APIs that filter by them."""
    return instants.epoch_ms(instant(value))


def rfc3339(stamp: datetime) -> str:
    return stamp.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def duration(start: datetime | None, end: datetime | None) -> int | None:
    """Milliseconds from start to end; None when either is unknown or end comes first."""
    if start is None or end is None or end < start:
        return None
    return (end - start) // timedelta(milliseconds=1)


def string_map(value: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...] | None:
    """A mapping's entries, key-sorted, with values as strings (a nested value as compact JSON), for a
    map<string,string> column; None when empty."""
    if not value:
        return None
    return tuple(sorted(string_values(value).items()))


def int_or_none(value: Any) -> int | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def float_or_none(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def strings(values: Any) -> tuple[str, ...] | None:
    if not values:
        return None
    return tuple(str(v) for v in values)


def pick(payload: Mapping | None, *path: str) -> Any:
    """payload[path[0]][path[1]]... or None when any step is missing."""
    value: Any = payload
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def latest(*stamps: datetime | None) -> datetime | None:
    present = [s for s in stamps if s is not None]
    return max(present) if present else None
