"""One warehouse for the report tests: real problem logs ingested once, most of them analyzed.

- skewed_join, idle_executors (3 executors on local-cluster), gc_pressure: ingested and analyzed.
- healthy: ingested, not analyzed (the `report` command must analyze it first).
- a copy of skewed_join under another application id ("the same job run again"): ingested, not
  analyzed, so `report --app-name skewed_join` has two runs and must analyze the second.
"""

from __future__ import annotations

import shutil

import pytest
import zstandard

from spark_optimizer.analysis.analyze import analyze_applications
from spark_optimizer.config import load_settings
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables.store import TableStore
from tests.conftest import PINNED_RUN_TIME, REPO_ROOT

PROBLEM_LOGS = REPO_ROOT / "tests" / "fixtures" / "problem_logs"
SKEWED = "local-1795535694898"
SKEWED_AGAIN = "local-1795535694899"
IDLE = "app-20261124155742-0000"
GC = "local-1795535906019"
HEALTHY = "local-1795535681746"
ANALYZED = (SKEWED, IDLE, GC)


def _copy_with_app_id(source, target, old_id: str, new_id: str) -> None:
    text = zstandard.ZstdDecompressor().stream_reader(source.open("rb")).read()
    assert old_id.encode() in text
    target.write_bytes(zstandard.ZstdCompressor().compress(text.replace(old_id.encode(), new_id.encode())))


@pytest.fixture(scope="session")
def report_store(spark, tmp_path_factory) -> TableStore:
    root = tmp_path_factory.mktemp("report")
    logs = root / "logs"
    logs.mkdir()
    for name in ("skewed_join", "idle_executors", "gc_pressure", "healthy"):
        shutil.copy(PROBLEM_LOGS / f"{name}.zstd", logs / f"{name}.zstd")
    _copy_with_app_id(PROBLEM_LOGS / "skewed_join.zstd", logs / "skewed_join_again.zstd", SKEWED, SKEWED_AGAIN)
    store = TableStore(spark, load_settings(warehouse=str(root / "warehouse"), environ={}))
    summary = ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME)
    assert summary.exit_code == 0 and summary.count("ingested") == 5, summary.as_dict()
    analyze_applications(spark, store, PINNED_RUN_TIME, only=[(app, "") for app in ANALYZED])
    return store


@pytest.fixture
def arrow_store(report_store) -> TableStore:
    """The same warehouse read the way the CLI reads it: delta-rs, no Spark session."""
    from spark_optimizer.tables.store import DeltaRsBackend

    return TableStore(None, report_store.settings, backend=DeltaRsBackend())
