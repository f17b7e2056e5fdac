"""`collect` killed (SIGKILL) at random points: a reader never finds an application whose other
rows are missing, the dead run's staging folder goes at the next start, and the re-run ends
with every application once, exactly as an uninterrupted run stores it."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from spark_optimizer.config import load_settings
from spark_optimizer.eventlog.ingest import STAGING_PREFIX, ingest_event_logs
from spark_optimizer.tables import APPLICATIONS, EVENT_LOG_TABLES, EXECUTORS, INGEST_LOG, STAGES, TASKS
from spark_optimizer.tables.store import TableStore
from tests.conftest import PINNED_RUN_TIME, REPO_ROOT

SAMPLES = REPO_ROOT / "samples" / "eventlogs"
KILL_TRIALS = 3
WAIT_LIMIT_S = 300


def collect_process(logs: Path, warehouse: Path, temp: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), TMPDIR=str(temp))
    return subprocess.Popen(
        [sys.executable, "-m", "spark_optimizer.cli", "collect", "--event-log-dir", str(logs),
         "--warehouse", str(warehouse), "--master", "local[2]", "--batch-size", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def commits(warehouse: Path, table: str) -> int:
    log = warehouse / table / "_delta_log"
    return sum(name.endswith(".json") for name in os.listdir(log)) if log.is_dir() else 0


def kill_when(process: subprocess.Popen, warehouse: Path, table: str, count: int) -> bool:
    """SIGKILL the run as soon as `table` has `count` commits; False if the run ended first."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    while process.poll() is None and time.monotonic() < deadline:
        if commits(warehouse, table) >= count:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.005)  # polling a folder for the condition, not waiting a guessed time
    return False


def readers_find_no_half_application(store: TableStore) -> None:
    if not store.exists(APPLICATIONS):
        return
    apps = store.read_arrow(APPLICATIONS).to_pylist()
    tasks = Counter((r["app_id"], r["attempt_id"]) for r in store.read_arrow(TASKS).select(["app_id", "attempt_id"]).to_pylist())
    stages = Counter((r["app_id"], r["attempt_id"]) for r in store.read_arrow(STAGES).select(["app_id", "attempt_id"]).to_pylist())
    executors = Counter((r["app_id"], r["attempt_id"]) for r in store.read_arrow(EXECUTORS).select(["app_id", "attempt_id"]).to_pylist())
    for app in apps:
        key = (app["app_id"], app["attempt_id"])
        assert tasks[key] == app["task_count"], (key, tasks[key], app["task_count"])
        assert stages[key] == app["stage_count"], key
        assert executors[key] >= 1, key
    assert len({(a["app_id"], a["attempt_id"]) for a in apps}) == len(apps), "an application stored twice"


def table_contents(store: TableStore) -> dict[str, list[str]]:
    return {spec.name: sorted(map(repr, store.read_arrow(spec).drop_columns(["ingested_at"]).to_pylist()))
            for spec in EVENT_LOG_TABLES}


def test_collect_killed_at_random_points_never_shows_half_an_application_and_heals(spark, tmp_path):
    logs = tmp_path / "logs"
    shutil.copytree(SAMPLES, logs)
    reference = TableStore(spark, load_settings(warehouse=str(tmp_path / "reference"), environ={}))
    ingest_event_logs(spark, reference, str(logs), PINNED_RUN_TIME)
    expected = table_contents(reference)
    chooser = random.Random(19)
    kills = 0
    for trial in range(KILL_TRIALS):
        warehouse, temp = tmp_path / f"warehouse-{trial}", tmp_path / f"tmp-{trial}"
        temp.mkdir()
        table = chooser.choice([TASKS.name, EXECUTORS.name, APPLICATIONS.name, INGEST_LOG.name])
        count = chooser.randint(2, 5)  # the first commit creates the table
        process = collect_process(logs, warehouse, temp)
        killed = kill_when(process, warehouse, table, count)
        kills += killed
        store = TableStore(None, load_settings(warehouse=str(warehouse), environ={}))
        readers_find_no_half_application(store)
        left_behind = [p for p in temp.iterdir() if p.name.startswith(f"{STAGING_PREFIX}{process.pid}-")]
        assert not killed or left_behind, "a killed run leaves its staging folder"

        rerun = collect_process(logs, warehouse, temp)
        assert rerun.wait(timeout=WAIT_LIMIT_S) == 0, (trial, table, count)
        readers_find_no_half_application(store)
        assert table_contents(store) == expected, (trial, table, count)
        assert store.read_arrow(INGEST_LOG).num_rows == len(reference.read_arrow(INGEST_LOG))
        assert not any(p.exists() for p in left_behind), "the next run removes the dead run's staging folder"
    assert kills >= 2, "most trials must kill the run mid-way"
