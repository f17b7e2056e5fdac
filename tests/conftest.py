"""Shared fixtures: one SparkSession for the whole run, warehouses in tmp folders,
and the path to the shared corpus of real event logs."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_EVENTLOGS = Path(os.environ.get("SPARK_OPTIMIZER_SHARED_EVENTLOGS", REPO_ROOT.parent / "shared" / "eventlogs"))
FIXTURE_LOGS = REPO_ROOT / "tests" / "fixtures" / "eventlogs"
PINNED_RUN_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def spark():
    from spark_optimizer.session import get_or_create_spark

    session = get_or_create_spark(
        "local[2]",
        "spark-optimizer-tests",
        **{"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2"},
    )
    yield session
    session.stop()


@pytest.fixture
def settings(tmp_path):
    from spark_optimizer.config import load_settings

    return load_settings(warehouse=str(tmp_path / "warehouse"), environ={})


@pytest.fixture
def store(spark, settings):
    from spark_optimizer.tables.store import TableStore

    return TableStore(spark, settings)


@pytest.fixture(scope="session")
def shared_eventlogs() -> Path:
    if not (SHARED_EVENTLOGS / "public" / "MANIFEST.tsv").exists():
        pytest.skip(f"the shared event-log corpus is not at {SHARED_EVENTLOGS} (CI places shared/ beside the clone)")
    return SHARED_EVENTLOGS


@pytest.fixture(scope="session")
def analyzed_shared_corpus(spark, shared_eventlogs, tmp_path_factory):
    """Every log of ../shared/eventlogs (public and generated) ingested and analyzed once per test session:
    (TableStore, AnalyzeSummary)."""
    from spark_optimizer.analysis.analyze import analyze_applications
    from spark_optimizer.config import load_settings
    from spark_optimizer.eventlog.ingest import ingest_event_logs
    from spark_optimizer.tables.store import TableStore

    store = TableStore(spark, load_settings(warehouse=str(tmp_path_factory.mktemp("shared_corpus") / "wh"), environ={}))
    for part in ("public", "generated"):
        ingest_event_logs(spark, store, str(shared_eventlogs / part), PINNED_RUN_TIME)
    return store, analyze_applications(spark, store, PINNED_RUN_TIME)


_EXIT_STATUS = {"code": 0}


def pytest_sessionfinish(session, exitstatus):
    _EXIT_STATUS["code"] = int(exitstatus)


def pytest_unconfigure(config):
    """Leave without the interpreter's final teardown, where delta-rs / Arrow native threads can
    abort the process (delta-io/delta-rs#2184) after every test has passed and been reported."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_EXIT_STATUS["code"])
