"""Two `collect`s over overlapping folders at once, one log per commit: both finish, and every
application is stored once, exactly as one run stores it."""

from __future__ import annotations

import shutil

from spark_optimizer.config import load_settings
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import INGEST_LOG
from spark_optimizer.tables.store import TableStore, is_commit_conflict, with_commit_retry
from tests.conftest import PINNED_RUN_TIME, REPO_ROOT
from tests.eventlog.test_crash_and_readers import (
    WAIT_LIMIT_S, collect_process, readers_find_no_half_application, table_contents,
)

SAMPLES = REPO_ROOT / "samples" / "eventlogs"


def test_two_collects_over_overlapping_folders_store_every_application_once(spark, tmp_path):
    both = tmp_path / "logs"
    shutil.copytree(SAMPLES, both / "shared")
    (both / "only-second").mkdir()
    shutil.copy(REPO_ROOT.parent / "shared" / "eventlogs" / "generated" / "local-1795476299058", both / "only-second")
    reference = TableStore(spark, load_settings(warehouse=str(tmp_path / "reference"), environ={}))
    ingest_event_logs(spark, reference, str(both), PINNED_RUN_TIME)

    warehouse = tmp_path / "warehouse"
    runs = [collect_process(both / "shared", warehouse, tmp_path), collect_process(both, warehouse, tmp_path)]
    assert [run.wait(timeout=WAIT_LIMIT_S) for run in runs] == [0, 0]
    store = TableStore(None, load_settings(warehouse=str(warehouse), environ={}))
    readers_find_no_half_application(store)
    assert table_contents(store) == table_contents(reference)
    assert store.read_arrow(INGEST_LOG).num_rows == reference.read_arrow(INGEST_LOG).num_rows


def test_a_commit_that_lost_a_race_is_tried_again_and_other_errors_are_not():
    tries = []

    def loses_twice():
        tries.append(1)
        if len(tries) < 3:
            raise RuntimeError("CommitFailedError: Transaction failed: a concurrent transaction deleted the same data")
        return "committed"

    assert with_commit_retry(loses_twice, "tasks", backoff_s=0.001) == "committed" and len(tries) == 3
    assert not is_commit_conflict(ValueError("Invalid data found: 1 rows failed validation check"))
    tries.clear()

    def broken():
        tries.append(1)
        raise ValueError("schema mismatch")

    try:
        with_commit_retry(broken, "tasks", backoff_s=0.001)
    except ValueError:
        pass
    assert len(tries) == 1


def test_writers_racing_on_one_table_each_commit_and_leave_every_application_once(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    from spark_optimizer.tables import APPLICATIONS

    store = TableStore(None, load_settings(warehouse=str(tmp_path / "warehouse"), environ={}))
    store.ensure(APPLICATIONS)
    apps = [f"app-{n}" for n in range(12)]

    def write(writer: int) -> None:
        for app in apps:  # both writers replace every application, in the same order
            rows = pa.Table.from_pylist([{"app_id": app, "attempt_id": "", "app_name": f"writer {writer}",
                                          "source_path": f"/logs/{app}"}], schema=APPLICATIONS.arrow_schema())
            store.replace_rows(APPLICATIONS, rows, ("app_id", "attempt_id"), [{"app_id": app, "attempt_id": ""}])

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(write, (1, 2)))
    stored = store.read_arrow(APPLICATIONS).column("app_id").to_pylist()
    assert sorted(stored) == sorted(apps)
