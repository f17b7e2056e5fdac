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
        "Instants (start, end, launch, sample and modification times) are UTC timestamps; durations are",
        "milliseconds (`*_ms`); byte counts are bytes. Structured values are Delta types (`map<string,T>`,",
        "`array<T>`, `struct<name:T,...>`), not JSON in strings.",
        "",
        "Every table has one explicit schema, shared by both writers (Spark's Delta writer and delta-rs).",
        "Figures use Spark's real event-log field names (`Shuffle Read Metrics`' remote + local bytes,",
        "`Shuffle Bytes Written`, `Task End Reason`, `Executor CPU Time` in ns converted to ms, ...); stage",
        "quantiles follow the History Server's rule, so they agree with what its REST API reports. A newer",
        "version of the package that adds columns migrates existing tables in place (Delta schema evolution,",
        "rows kept); every commit records the schema version that wrote it. A table whose columns an earlier",
        "release stored in another form (JSON text, `key=value` strings, ids as strings, epoch-ms instants) is",
        "rewritten in the new form, every row kept, in one commit when this release first reads or writes it",
        "(tables/migrate.py; the earlier version stays in the Delta history). The columns so upgraded are",
        "listed under each table.",
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
        if spec.upgrades:
            lines += ["Upgraded from earlier releases: " + ", ".join(
                f"`{u.source}` ({u.old_type})" + (f" to `{u.column}`" if u.old_name else "") for u in spec.upgrades) + ".", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render())
