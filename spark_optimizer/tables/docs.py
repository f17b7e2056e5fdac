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
    ]
    for spec in ALL_TABLES:
        lines += [f"## `{spec.name}`", "", spec.description, "",
                  f"Key: `{', '.join(spec.keys)}` · schema version {spec.schema_version}", "",
                  "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{c.name}` | {c.type} | {c.doc.replace('|', '/')} |" for c in spec.columns]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
