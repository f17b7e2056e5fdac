"""The Databricks notebooks run locally: each notebook's cells in order in one namespace with
`spark` set to the test session (no `dbutils`, so the embedded defaults are used, replaced through
the SPARK_OPTIMIZER_NOTEBOOK_<NAME> environment fallback), ingest -> analyze_and_train -> recommend."""

from __future__ import annotations

import contextlib
import io
import json
import shutil

import pytest

from tests.conftest import REPO_ROOT
from tests.recommend.test_end_to_end import GENERATED_LOGS, SAMPLE_LOGS

NOTEBOOKS = REPO_ROOT / "notebooks"


def cells(name: str) -> list[str]:
    text = (NOTEBOOKS / f"{name}.py").read_text()
    assert text.startswith("# Databricks notebook source\n")
    parts = text.split("# COMMAND ----------")
    return ["\n".join(line for line in part.splitlines() if not line.startswith("# MAGIC")) for part in parts]


def run_notebook(name: str, spark) -> tuple[dict, str]:
    namespace = {"spark": spark, "__name__": f"notebook_{name}"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for i, source in enumerate(cells(name)):
            exec(compile(source, f"{name}.py[cell {i}]", "exec"), namespace)  # noqa: S102 - the notebook under test
    return namespace, out.getvalue()


def test_cells_split_and_defaults_are_embedded():
    for name in ("ingest_event_logs", "analyze_and_train", "recommend"):
        sources = cells(name)
        assert len(sources) >= 3 and "DEFAULTS = {" in sources[1] and "notebook_params(DEFAULTS, globals().get(\"dbutils\"))" in sources[1]
        assert not any("# MAGIC" in s for s in sources)


def test_notebooks_in_order_build_the_tables(spark, shared_eventlogs, tmp_path, monkeypatch):
    from spark_optimizer.config import load_settings
    from spark_optimizer.recommender.lookup import latest_build, read_rows
    from spark_optimizer.tables import APP_METRICS, APPLICATIONS, FEATURES, FINDINGS, INGEST_LOG, RUNS, SCALING_MODELS
    from spark_optimizer.tables.store import DeltaRsBackend, TableStore

    logs = tmp_path / "logs"
    logs.mkdir()
    for source in [REPO_ROOT / "samples" / "eventlogs" / n for n in SAMPLE_LOGS] + [shared_eventlogs / "generated" / n for n in GENERATED_LOGS]:
        (shutil.copytree if source.is_dir() else shutil.copy)(source, logs / source.name)
    warehouse = str(tmp_path / "wh")
    for key, value in {"EVENT_LOG_DIR": str(logs), "WAREHOUSE": warehouse, "FOLDS": "2", "JOB_TYPE": "sql", "INPUT_SIZE": "3GB"}.items():
        monkeypatch.setenv(f"SPARK_OPTIMIZER_NOTEBOOK_{key}", value)
    store = TableStore(None, load_settings(warehouse=warehouse, environ={}), backend=DeltaRsBackend())

    ns, out = run_notebook("ingest_event_logs", spark)
    assert ns["params"] == {"event_log_dir": str(logs), "warehouse": warehouse, "force": "false"}
    assert ns["summary"].exit_code == 0 and "ingested 5" in out
    assert store.read_arrow(APPLICATIONS).num_rows == 5
    assert {r["status"] for r in store.read_arrow(INGEST_LOG).to_pylist()} == {"ingested"}

    ns, out = run_notebook("analyze_and_train", spark)
    assert ns["params"]["folds"] == "2" and "analyzed 5 application attempt(s)" in out
    assert store.read_arrow(APP_METRICS).num_rows == 5 and store.exists(FINDINGS)
    assert store.read_arrow(FEATURES).num_rows == 5 and store.read_arrow(RUNS).num_rows == 5
    assert store.read_arrow(SCALING_MODELS).num_rows >= 1 and ns["summary"].signatures == 5

    # The recommend notebook ingests again: the same logs are unchanged and cost nothing.
    ns, out = run_notebook("recommend", spark)
    assert ns["summary"].ingest.unchanged == 5 and ns["summary"].ingest.count("ingested") == 0
    rows = latest_build(read_rows(store.settings))
    assert sum(r["level"] == "signature" for r in rows) == 5 and ns["summary"].build.signature_rows == 5
    doc = json.loads(out[out.index("\n{\n") + 1:])
    assert doc["job_type"] == "sql" and doc["size_band"] == "1-10GB" and doc["recommendation_id"] == ns["answer"].row["recommendation_id"]
    assert ns["answer"].row["spark_submit"] in out and store.read_arrow(APPLICATIONS).num_rows == 5


def test_without_overrides_the_embedded_defaults_are_used(monkeypatch):
    source = cells("ingest_event_logs")[1]
    namespace: dict = {}
    monkeypatch.delenv("SPARK_OPTIMIZER_NOTEBOOK_WAREHOUSE", raising=False)
    monkeypatch.setenv("SPARK_OPTIMIZER_NOTEBOOK_FORCE", "true")
    exec(compile(source, "ingest_event_logs.py[cell 1]", "exec"), namespace)  # noqa: S102
    assert namespace["params"] == {**namespace["DEFAULTS"], "force": "true"}
    assert namespace["params"]["warehouse"] == "./spark-optimizer-warehouse"
