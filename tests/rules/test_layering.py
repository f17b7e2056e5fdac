"""Where the rules sit: they read the analysis' facts and Spark's own rules, never the event-log reader
or the collectors below the tables; spark_rules itself is a leaf every layer may use (the cost model too)."""

from __future__ import annotations

import ast
from pathlib import Path

import spark_optimizer

PACKAGE = Path(spark_optimizer.__file__).parent


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_rules_do_not_reach_below_the_tables():
    below = ("spark_optimizer.eventlog", "spark_optimizer.collectors")
    offending = {path.name: sorted(m for m in _imports(path) if m.startswith(below))
                 for path in (PACKAGE / "rules").glob("*.py")}
    assert {name: mods for name, mods in offending.items() if mods} == {}


def test_spark_rules_imports_nothing_of_the_project():
    assert [m for m in _imports(PACKAGE / "spark_rules.py") if m.startswith("spark_optimizer")] == []
