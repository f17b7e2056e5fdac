"""Renders the table catalogue (docs/tables.md) from the table specs: `python -m spark_optimizer.tables.docs`."""

from __future__ import annotations

import sys

from spark_optimizer.tables import ALL_TABLES


def render() -> str:
    lines = [
        "# Tables",
        "",
        "Generated from `spark_optimizer/tables/*.py` by `python -m spark_optimizer.tables.docs > docs/tables.md`;",
        "a test fails when this file is stale. Each table is a Delta table at `<warehouse>/<name>`.",
        "Times from event logs are epoch milliseconds (`*_ms`); byte counts are bytes.",
        "",
        "Every table has one explicit schema, shared by both writers (Spark's Delta writer and delta-rs).",
        "Figures use Spark's real event-log field names (`Shuffle Read Metrics`' remote + local bytes,",
        "`Shuffle Bytes Written`, `Task End Reason`, `Executor CPU Time` in ns converted to ms, ...); stage",
        "quantiles follow the History Server's rule, so they agree with what its REST API reports. A newer",
        "version of the package that adds columns migrates existing tables in place (Delta schema evolution,",
        "rows kept); every commit records the schema version that wrote it.",
        "",
        "| table | key | what it holds |",
        "|---|---|---|",
    ]
    lines += [f"| [`{spec.name}`](#{spec.name}) | `{', '.join(spec.keys)}` | {spec.description.replace('|', '/')} |"
              for spec in ALL_TABLES]
    lines.append("")
    for spec in ALL_TABLES:
        lines += [f"## `{spec.name}`", "", spec.description, "",
                  f"Key: `{', '.join(spec.keys)}` · schema version {spec.schema_version}", "",
                  "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {c.type} | {c.doc.replace('|', '/')} |" for c in spec.columns]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
