"""Shared fixtures: one SparkSession for the whole run, warehouses in tmp folders,
and the path to the shared corpus of real event logs."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_EVENTLOGS = Path(os.environ.get("SPARK_OPTIMIZER_SHARED_EVENTLOGS", REPO_ROOT.parent / "shared" / "eventlogs"))
FIXTURE_LOGS = REPO_ROOT / "tests" / "fixtures" / "eventlogs"
PINNED_RUN_TIME = datetime(2026, 1, 1, tzinfo=timezone.utc)


def quick_jit_environ() -> dict[str, str]:
    """The environment for a subprocess that starts Spark JVMs of its own with our JIT setting (C1 only,
    `session.quick_jit_options`), given to the JVM itself so that no Spark property is set."""
    from spark_optimizer.session import quick_jit_options

    return {**os.environ, "JAVA_TOOL_OPTIONS": " ".join(filter(None, (os.environ.get("JAVA_TOOL_OPTIONS"), quick_jit_options())))}


def cache_with_this_sessions_class_archives(folder: Path) -> str:
    """An XDG cache folder of its own for a subprocess (MLflow's store, ...) whose JVM class-data archives are
    this test session's (`jvm_cds.cache_folder`): the subprocess's driver maps the archive there instead of
    writing a 130-180 MB one of its own at exit (~14 s of CPU each time)."""
    from spark_optimizer.jvm_cds import cache_folder

    shared = cache_folder()
    shared.mkdir(parents=True, exist_ok=True)
    own = cache_folder({"XDG_CACHE_HOME": str(folder)})
    own.parent.mkdir(parents=True, exist_ok=True)
    own.symlink_to(shared, target_is_directory=True)
    return str(folder)


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
def ingested_public_corpus(spark, shared_eventlogs, tmp_path_factory) -> Path:
    """The warehouse holding every log of ../shared/eventlogs/public ingested, once per test session. No
    test writes to it: the corpus fixtures below start from a copy (Delta logs hold relative paths)."""
    from spark_optimizer.config import load_settings
    from spark_optimizer.eventlog.ingest import ingest_event_logs
    from spark_optimizer.tables.store import TableStore

    warehouse = tmp_path_factory.mktemp("public_ingested") / "wh"
    ingest_event_logs(spark, TableStore(spark, load_settings(warehouse=str(warehouse), environ={})),
                      str(shared_eventlogs / "public"), PINNED_RUN_TIME)
    return warehouse


def _copied_warehouse(warehouse: Path, tmp_path_factory, name: str):
    """Settings for a copy of `warehouse` in a new tmp folder (file times kept: Delta's time travel reads them)."""
    from spark_optimizer.config import load_settings

    copy = tmp_path_factory.mktemp(name) / "wh"
    shutil.copytree(warehouse, copy)
    return load_settings(warehouse=str(copy), environ={})


@pytest.fixture(scope="session")
def analyzed_shared_corpus(spark, shared_eventlogs, ingested_public_corpus, tmp_path_factory):
    """Every log of ../shared/eventlogs (public, then generated) ingested and analyzed once per test session:
    (TableStore, AnalyzeSummary)."""
    from spark_optimizer.analysis.analyze import analyze_applications
    from spark_optimizer.eventlog.ingest import ingest_event_logs
    from spark_optimizer.tables.store import TableStore

    store = TableStore(spark, _copied_warehouse(ingested_public_corpus, tmp_path_factory, "shared_corpus"))
    ingest_event_logs(spark, store, str(shared_eventlogs / "generated"), PINNED_RUN_TIME)
    return store, analyze_applications(spark, store, PINNED_RUN_TIME)


@pytest.fixture(scope="session")
def trained_public_corpus(spark, ingested_public_corpus, tmp_path_factory):
    """Every log of ../shared/eventlogs/public ingested, analyzed and trained on (2 folds) once per test
    session: (Settings, TableStore, TrainSummary). Its users only read it or append a recommendations build."""
    from spark_optimizer.analysis.analyze import analyze_applications
    from spark_optimizer.ml.train import train_models
    from spark_optimizer.tables.store import TableStore

    settings = _copied_warehouse(ingested_public_corpus, tmp_path_factory, "public_corpus")
    store = TableStore(spark, settings)
    analyze_applications(spark, store, PINNED_RUN_TIME)
    return settings, store, train_models(spark, store, settings, PINNED_RUN_TIME, folds=2)


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
