"""Value conversions of the column upgrades (`ColumnUpgrade.convert`): what an earlier release stored
(JSON text, "key=value" strings, numbers as strings, epoch milliseconds) as this release's values."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterable

from spark_optimizer.tables.instants import from_epoch_ms

if TYPE_CHECKING:
    import pyarrow as pa


def json_object(text: str) -> dict[str, Any] | None:
    """A JSON object stored as text; anything else (not JSON, not an object) is null."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def compact_json(value: Any) -> str:
    """Compact, key-sorted JSON: how a value that is no string is kept in a map<string,string> column."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def string_values(mapping: dict[str, Any]) -> dict[str, str | None]:
    """{key: value as a string}: numbers and booleans as Spark writes them in a conf, nested values as compact JSON."""
    return {str(k): None if v is None else v if isinstance(v, str) else compact_json(v) for k, v in mapping.items()}


def json_object_of_strings(text: str) -> dict[str, str] | None:
    """A JSON object stored as text as {key: value as a string} (`string_values`)."""
    value = json_object(text)
    return None if value is None else string_values(value)


def json_list_of_strings(text: str) -> list[str] | None:
    """A JSON list stored as text, its items as strings; anything else is null."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return [item if isinstance(item, str) else json.dumps(item) for item in value] if isinstance(value, list) else None


def json_object_of_longs(text: str) -> dict[str, int] | None:
    value = json_object(text)
    if value is None:
        return None
    return {str(k): int(v) for k, v in value.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def json_object_of_doubles(text: str) -> dict[str, float] | None:
    """A JSON object as {key: number}; null values and values that are no number are left out."""
    value = json_object(text)
    return None if value is None else _doubles(value)


def _doubles(value: dict) -> dict[str, float]:
    return {str(k): float(v) for k, v in value.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def json_curve(text: str) -> dict[str, Any] | None:
    """A stored curve {"coefficients": {...}, "memory_threshold": x, "seen_bands": [low, high]} with typed values."""
    value = json_object(text)
    if value is None:
        return None
    coefficients = value.get("coefficients")
    return {"coefficients": _doubles(coefficients) if isinstance(coefficients, dict) else None,
            "memory_threshold": value.get("memory_threshold"),
            "seen_bands": [int(b) for b in value.get("seen_bands") or []]}


def json_observed_points(text: str) -> list[dict[str, float]] | None:
    """[[input_bytes, total_cores, runtime_ms], ...] stored as text, as a list of named points."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    return [{"input_bytes": p[0], "total_cores": p[1], "runtime_ms": p[2]} for p in value if isinstance(p, list) and len(p) == 3]


def rule_property_items(items: Iterable[str]) -> list[dict[str, str]]:
    """["key=value (rule_id)", ...] as [{"property", "value", "rule_id"}, ...]; items without a key are dropped."""
    out = []
    for item in items:
        text, rule_id = (item or "").strip(), None
        if text.endswith(")") and " (" in text:
            text, _, rule_id = text[:-1].rpartition(" (")
        key, _, value = text.partition("=")
        if key.strip():
            out.append({"property": key.strip(), "value": value.strip(), "rule_id": rule_id})
    return out


def key_value_pairs(items: Iterable[str]) -> dict[str, str]:
    """["k=v", ...] as {k: v} (a value may itself hold '='); items without a key are dropped."""
    out: dict[str, str] = {}
    for item in items:
        key, _, value = (item or "").partition("=")
        if key.strip():
            out.setdefault(key.strip(), value.strip())
    return out


def integers(items: Iterable[str]) -> list[int | None]:
    """["3", "4"] as [3, 4]; an item that is no integer is null."""
    out: list[int | None] = []
    for item in items:
        try:
            out.append(int(item))
        except (TypeError, ValueError):
            out.append(None)
    return out


def attempts_of_app_ids(app_ids: Iterable[str]) -> list[dict[str, str]]:
    """ingest_log's `app_ids` of earlier releases, 'APP_ID#ATTEMPT' strings ('APP_ID#' for an unnamed
    attempt; an App ID may hold '#', an attempt id never does), as `attempts` structs."""
    out = []
    for stored in app_ids:
        app_id, _, attempt_id = str(stored).rpartition("#")
        out.append({"app_id": app_id, "attempt_id": attempt_id} if app_id else {"app_id": str(stored), "attempt_id": ""})
    return out


# Epoch milliseconds (what the earlier releases stored for an instant) as a UTC datetime.
epoch_ms_to_timestamp = from_epoch_ms


def epoch_ms_array_to_timestamp(values: pa.Array | pa.ChunkedArray, target: pa.DataType) -> pa.Array:
    """The whole column at once: a tasks table of millions of rows upgrades in Arrow, not per value."""
    import pyarrow as pa

    return values.cast(pa.timestamp("ms", tz="UTC")).cast(target)


# Conversions that have a column-at-once form, used by tables/migrate.py in place of the per-value one.
WHOLE_COLUMN_CONVERSIONS = {epoch_ms_to_timestamp: epoch_ms_array_to_timestamp}
