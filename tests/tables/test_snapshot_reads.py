"""A command reads the warehouse as of one moment, through one `store.snapshot()`, which reads
`applications` once for all its reads: the generation filter of the tables that hold an
application's rows (tasks, stages, executors...) needs it on each of them."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from spark_optimizer.api.app import create_app
from spark_optimizer.config import load_settings
from spark_optimizer.context import AppContext
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import APPLICATIONS
from spark_optimizer.tables import store as store_module
from spark_optimizer.tables.store import TableStore
from tests.conftest import PINNED_RUN_TIME, REPO_ROOT

HEALTHY = "local-1795535681746"  # tests/fixtures/problem_logs/healthy.zstd
GC = "local-1795535906019"  # tests/fixtures/problem_logs/gc_pressure.zstd


@pytest.fixture(scope="module")
def settings(spark, tmp_path_factory):
    """A warehouse with two real problem logs ingested and analyzed."""
    root = tmp_path_factory.mktemp("snapshot-reads")
    logs = root / "logs"
    logs.mkdir()
    for name in ("healthy.zstd", "gc_pressure.zstd"):
        shutil.copy(REPO_ROOT / "tests" / "fixtures" / "problem_logs" / name, logs / name)
    settings = load_settings(warehouse=str(root / "wh"), environ={})
    ingest_event_logs(spark, TableStore(None, settings), str(logs), PINNED_RUN_TIME)
    assert len(context(settings, spark).analyze.run().summary.analyzed) == 2
    return settings


def context(settings, spark=None) -> AppContext:
    return AppContext(settings, spark=spark, clock=lambda: PINNED_RUN_TIME)


@pytest.fixture
def applications_reads(settings, monkeypatch) -> list[str]:
    """Every load of the `applications` Delta table from now on (Arrow reads, DataFrame reads, key scans)."""
    path = settings.table_path(APPLICATIONS.name)
    loads: list[str] = []
    real = store_module.delta_table

    def counted(table_path, *args, **kwargs):
        if table_path == path:
            loads.append(table_path)
        return real(table_path, *args, **kwargs)

    monkeypatch.setattr(store_module, "delta_table", counted)
    return loads


def test_analyze_reads_applications_once(spark, settings, applications_reads):
    result = context(settings, spark).analyze.run(only=[(HEALTHY, ""), (GC, "")])

    assert len(result.summary.analyzed) == 2
    assert len(applications_reads) == 1


def test_the_html_report_of_an_application_reads_applications_once(settings, applications_reads, tmp_path):
    result = context(settings).report.html(tmp_path / "report.html", app_ref=HEALTHY)

    assert result.data["runs"] == [HEALTHY]  # its one attempt, unnamed
    assert len(applications_reads) == 1


def test_the_analysis_report_reads_applications_once(settings, applications_reads):
    report = context(settings).analyze.report(GC, analyze_missing=False)

    assert report["application"]["app_id"] == GC
    assert len(applications_reads) == 1


@pytest.mark.parametrize("path", ["/jobs", f"/jobs/{HEALTHY}", f"/analyze/{GC}"])
def test_each_api_request_reads_applications_once(settings, applications_reads, path):
    client = TestClient(create_app(settings, clock=lambda: PINNED_RUN_TIME))

    response = client.get(path)

    assert response.status_code == 200, response.text
    assert len(applications_reads) == 1
