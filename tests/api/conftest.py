"""One trained warehouse with recommendations for the API and SDK tests, built through the SDK from
the real logs of tests/recommend/test_end_to_end.py, plus one more application ingested after the
build and never analyzed; and real `spark-optimizer serve` processes on free 127.0.0.1 ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import PINNED_RUN_TIME, REPO_ROOT
from tests.recommend.test_end_to_end import GENERATED_LOGS, SAMPLE_LOGS

API_KEY = "test-key-4f1c"
NOT_ANALYZED = "local-1795535681746"  # tests/fixtures/problem_logs/healthy.zstd


@dataclass(frozen=True)
class Warehouse:
    path: str
    ingested: object
    trained: object
    built: object


@pytest.fixture(scope="session")
def api_warehouse(spark, shared_eventlogs, tmp_path_factory) -> Warehouse:
    from spark_optimizer import analyze, ingest, train
    from spark_optimizer.config import load_settings
    from spark_optimizer.recommender.build import build_recommendations
    from spark_optimizer.tables.store import TableStore

    root = tmp_path_factory.mktemp("api")
    logs, late = root / "logs", root / "late"
    logs.mkdir(), late.mkdir()
    for source in [REPO_ROOT / "samples" / "eventlogs" / n for n in SAMPLE_LOGS] + [shared_eventlogs / "generated" / n for n in GENERATED_LOGS]:
        (shutil.copytree if source.is_dir() else shutil.copy)(source, logs / source.name)
    shutil.copy(REPO_ROOT / "tests" / "fixtures" / "problem_logs" / "healthy.zstd", late / "healthy.zstd")
    warehouse = str(root / "wh")
    ingested = ingest(str(logs), warehouse=warehouse, spark=spark)
    assert ingested.exit_code == 0
    assert len(analyze(warehouse=warehouse, spark=spark).analyzed) == 5
    trained = train(warehouse=warehouse, spark=spark, folds=2)
    settings = load_settings(warehouse=warehouse, environ={})
    built = build_recommendations(spark, TableStore(spark, settings), settings, PINNED_RUN_TIME)
    assert ingest(str(late), warehouse=warehouse, spark=spark).exit_code == 0  # ingested, not analyzed
    return Warehouse(warehouse, ingested, trained, built)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Server:
    url: str
    log: Path
    warehouse: str


def _start(warehouse: str, log: Path, env: dict[str, str]):
    port = free_port()
    with log.open("wb") as out:
        # no --host: the default must be 127.0.0.1
        proc = subprocess.Popen([sys.executable, "-m", "spark_optimizer.cli", "serve", "--port", str(port), "--warehouse", warehouse],
                                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **env}, cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/openapi.json", timeout=2):
                break
        except urllib.error.HTTPError:
            break  # answering (401 when every endpoint needs the key)
        except (urllib.error.URLError, ConnectionError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"the server did not start: {log.read_text()}") from None
            time.sleep(0.1)  # wait for the port to answer
    return proc, Server(url, log, warehouse)


def _stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def server(api_warehouse, tmp_path_factory):
    """API key for writes only."""
    proc, srv = _start(api_warehouse.path, tmp_path_factory.mktemp("srv") / "serve.log",
                       {"SPARK_OPTIMIZER_API_KEY": API_KEY, "SPARK_OPTIMIZER_API_KEY_ALL": "false"})
    yield srv
    _stop(proc)


@pytest.fixture(scope="session")
def locked_server(api_warehouse, tmp_path_factory):
    """API key for every endpoint, over a copy of the warehouse (the property-based run may write feedback)."""
    root = tmp_path_factory.mktemp("locked")
    shutil.copytree(api_warehouse.path, root / "wh")
    proc, srv = _start(str(root / "wh"), root / "serve.log",
                       {"SPARK_OPTIMIZER_API_KEY": API_KEY, "SPARK_OPTIMIZER_API_KEY_ALL": "true"})
    yield srv
    _stop(proc)
