import json
from typing import Any, Iterable, Mapping

from spark_optimizer.tables._columns import APP_KEY
from spark_optimizer.tables.schema import Column, ColumnUpgrade, TableSpec
from spark_optimizer.tables.upgrades import integers, json_object, key_value_pairs


def evidence_to_stored(evidence: Mapping[str, Any]) -> dict[str, str | None]:
    """Each figure as its JSON text, so a number reads back as a number (and as
    CAST(evidence['gc_share'] AS DOUBLE) in SQL); a string is quoted."""
    return {str(k): None if v is None else json.dumps(v, sort_keys=True, default=str) for k, v in evidence.items()}


def evidence_from_stored(stored: Mapping[str, str | None] | Iterable[tuple[str, str | None]] | None) -> dict[str, Any]:
    """The evidence as the rule produced it, from a Spark row's dict or Arrow's (key, value) pairs."""
    items = stored.items() if isinstance(stored, Mapping) else (stored or ())
    return {k: None if v is None else json.loads(v) for k, v in items}


FINDINGS = TableSpec(
    name="findings",
    description="One row per rule that fired for an application attempt: evidence, concrete Spark properties, rationale.",
    keys=("app_id", "attempt_id", "rule_id"),
    schema_version=2,
    columns=APP_KEY
    + (
        Column("rule_id", "string", "see docs/rules.md"),
        Column("category", "string", "skew|memory|parallelism|resources|reliability|sql|cost"),
        Column("severity", "string", "info|low|moderate|severe|critical"),
        Column("severity_rank", "int", "0 (info) to 4 (critical)"),
        Column("title", "string"),
        Column("evidence", "map<string,string>", "the figures that triggered the rule, each as JSON text "
               "(CAST(evidence['gc_share'] AS DOUBLE))"),
        Column("stage_ids", "array<long>", "stages the evidence comes from"),
        Column("recommended_conf", "map<string,string>", "Spark properties to set, values computed from the evidence"),
        Column("rationale", "string"),
        Column("analyzed_at", "timestamp"),
    ),
    upgrades=(
        ColumnUpgrade("evidence", "string", lambda text: evidence_to_stored(json_object(text) or {})),
        ColumnUpgrade("stage_ids", "array<string>", integers),
        ColumnUpgrade("recommended_conf", "array<string>", key_value_pairs),
    ),
)
