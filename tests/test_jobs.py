"""The spark-submit entry points in jobs/ and the notebooks: a few lines each over one runner, with the
CLI's output and exit codes."""

from __future__ import annotations

import ast
import importlib.util
import json
import shutil

import pytest

from tests.conftest import REPO_ROOT

JOBS = sorted((REPO_ROOT / "jobs").glob("*.py"))
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.py"))


def load_job(name: str):
    spec = importlib.util.spec_from_file_location(f"job_{name}", REPO_ROOT / "jobs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def imported_modules(path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module} | {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}


@pytest.mark.parametrize("path", JOBS, ids=lambda p: p.name)
def test_a_job_is_a_few_lines_over_the_runners(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 40
    project = {m for m in imported_modules(path) if m.startswith("spark_optimizer")}
    assert project <= {"spark_optimizer.context", "spark_optimizer.runners.spark_submit", "spark_optimizer.runners.jobs"}, project


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_notebook_uses_the_runners_not_internal_modules(path):
    project = {m for m in imported_modules(path) if m.startswith("spark_optimizer")}
    assert project == {"spark_optimizer.runners.notebook"}, project
    cells = path.read_text(encoding="utf-8").split("# COMMAND ----------")
    assert all(len([line for line in cell.splitlines() if line.strip() and not line.startswith("#")]) <= 12 for cell in cells)


def test_a_bad_header_is_refused_before_any_request():
    job = load_job("collect_from_history_server")
    with pytest.raises(ValueError, match="'Name: value'"):
        job.main(["--history-server-url", "http://127.0.0.1:9", "--header", "no-colon"])


def test_the_ingest_job_prints_the_clis_json_and_its_exit_code(spark, tmp_path, capsys):
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(REPO_ROOT / "samples" / "eventlogs" / "local-1776286786993.zstd", logs)
    job = load_job("ingest_event_logs")
    assert job.main(["--event-log-dir", str(logs), "--warehouse", str(tmp_path / "wh"), "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["summary"]["ingested"] == 1 and result["failed"] == []
    assert job.main(["--event-log-dir", str(logs), "--warehouse", str(tmp_path / "wh")]) == 0
    assert "skipped unchanged 1" in capsys.readouterr().out


def test_a_jobs_json_is_the_clis_and_the_apis_not_nan_or_python_reprs(capsys):
    from datetime import datetime, timezone

    from spark_optimizer.runners.result import RunResult
    from spark_optimizer.runners.spark_submit import print_result

    collected_at = datetime(2026, 12, 7, 1, 30, tzinfo=timezone.utc)
    assert print_result(RunResult(None, {"wall_share": float("nan"), "collected_at": collected_at}), "json") == 0
    assert json.loads(capsys.readouterr().out) == {"wall_share": None, "collected_at": collected_at.isoformat()}
