from tests.tables.previous_release._columns import APP_KEY
from tests.tables.previous_release.schema import Column, TableSpec

FINDINGS = TableSpec(
    name="findings",
    description="One row per rule that fired for an application attempt: evidence, concrete Spark properties, rationale.",
    keys=("app_id", "attempt_id", "rule_id"),
    schema_version=1,
    columns=APP_KEY
    + (
        Column("rule_id", "string", "see docs/rules.md"),
        Column("category", "string", "skew|memory|parallelism|resources|reliability|sql|cost"),
        Column("severity", "string", "info|low|moderate|severe|critical"),
        Column("severity_rank", "int", "0 (info) to 4 (critical)"),
        Column("title", "string"),
        Column("evidence", "string", "JSON: the numbers that triggered the rule"),
        Column("stage_ids", "array<string>", "stages the evidence comes from"),
        Column("recommended_conf", "array<string>", "Spark properties to set, as key=value, values computed from the evidence"),
        Column("rationale", "string"),
        Column("analyzed_at", "timestamp"),
    ),
)
