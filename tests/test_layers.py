"""The package's layering (pyproject.toml, [tool.importlinter]): interfaces -> runners/context ->
session -> reports -> recommendations -> models -> analysis -> tables -> basics, with event-log
ingestion and the collectors beside analysis, importing only tables and the basics."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import grimp
import pytest
from importlinter.configuration import configure
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract

from tests.conftest import REPO_ROOT

CONTRACT_TYPES = {"layers": LayersContract, "forbidden": ForbiddenContract}


def contracts():
    configure()
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    for contract in config["contracts"]:
        options = {k: v if isinstance(v, list) else str(v) for k, v in contract.items() if k not in ("name", "type")}
        yield CONTRACT_TYPES[contract["type"]](name=contract["name"], session_options={"root_packages": [config["root_package"]]},
                                               contract_options=options)


def broken(graph) -> list[str]:
    return [contract.name for contract in contracts() if not contract.check(graph, verbose=False).kept]


@pytest.fixture
def graph():
    return grimp.build_graph("spark_optimizer", cache_dir=None)


def test_lint_imports_keeps_every_contract():
    """What `lint-imports` runs; its report names every broken import when this fails."""
    done = subprocess.run([sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                           "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True))"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_package_keeps_its_layers(graph):
    assert broken(graph) == []


@pytest.mark.parametrize("importer, imported", [
    ("spark_optimizer.recommender.pipeline", "spark_optimizer.eventlog.ingest"),  # the main job belongs to the runners
    ("spark_optimizer.recommender.pipeline", "spark_optimizer.analysis.analyze"),
    ("spark_optimizer.rules.memory", "spark_optimizer.collectors.history_server"),
    ("spark_optimizer.tables.schema", "spark_optimizer.context"),
    ("spark_optimizer.ml.train", "spark_optimizer.runners.train"),
    ("spark_optimizer.eventlog.ingest", "spark_optimizer.analysis.analyze"),
])
def test_a_back_edge_breaks_a_contract(graph, importer, imported):
    graph.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")
    assert broken(graph), f"{importer} -> {imported} should break the layering"
