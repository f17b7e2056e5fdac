"""An application already stored is replaced (its log grew, and is ingested again): a reader
sees the old application or the new one, wholly - never its old `applications` row beside new
tasks, stages or jobs, nor the reverse."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import APPLICATIONS, EXECUTORS, JOBS, STAGES, TASKS
from spark_optimizer.tables.store import TableStore
from tests.conftest import PINNED_RUN_TIME

APP = "local-1795476299058"  # a real uncompressed log in ../shared/eventlogs/generated
WAIT_LIMIT_S = 600


def stored_then_grown(spark, store, tmp_path, shared_eventlogs):
    """The real log stored as it stood while the application ran (up to half its task ends),
    then grown to its whole: the folder to ingest again."""
    logs = tmp_path / "logs"
    logs.mkdir()
    whole_log = (shared_eventlogs / "generated" / APP).read_bytes()
    lines = whole_log.splitlines(keepends=True)
    task_ends = [i for i, line in enumerate(lines) if b'"SparkListenerTaskEnd"' in line]
    (logs / APP).write_bytes(b"".join(lines[: task_ends[len(task_ends) // 2]]))
    ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME)
    old = state_of(store)
    (logs / APP).write_bytes(whole_log)
    return logs, old


def state_of(store: TableStore) -> tuple | None:
    """What a reader sees of the application, read as of one moment: its row's figures, and
    per table the rows it finds and the generations (ingested_at) they carry."""
    snapshot = store.snapshot()
    if not snapshot.exists(APPLICATIONS):
        return None
    apps = [r for r in snapshot.read_arrow(APPLICATIONS).to_pylist() if r["app_id"] == APP]
    if not apps:
        return None
    [app] = apps
    found = {}
    for spec in (TASKS, STAGES, JOBS, EXECUTORS):
        rows = [r for r in snapshot.read_arrow(spec).select(["app_id", "ingested_at"]).to_pylist() if r["app_id"] == APP]
        found[spec.name] = (len(rows), frozenset(r["ingested_at"] for r in rows))
    return app["ingested_at"], app["task_count"], app["stage_count"], app["job_count"], found


def whole(state: tuple) -> bool:
    generation, task_count, stage_count, job_count, found = state
    return (found["tasks"][0] == task_count and found["stages"][0] == stage_count and found["jobs"][0] == job_count
            and found["executors"][0] > 0
            and all(generations == {generation} for _, generations in found.values()))


class ObservedStore(TableStore):
    """The real store, with a reader looking at the application after each of the writer's commits
    (through `reader`, else a store reading the tables as they are then)."""

    def __init__(self, *args, reader: TableStore | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.reader = reader
        self.seen: list[tuple] = []

    def _look(self) -> None:
        state = state_of(self.reader or TableStore(None, self.settings))
        if state is not None:
            self.seen.append(state)

    def replace_rows(self, *args, **kwargs) -> None:
        super().replace_rows(*args, **kwargs)
        self._look()

    def remove_older_rows(self, *args, **kwargs) -> None:
        super().remove_older_rows(*args, **kwargs)
        self._look()

    def upsert(self, *args, **kwargs) -> None:
        super().upsert(*args, **kwargs)
        self._look()


def test_after_every_commit_of_a_replacement_a_reader_sees_the_old_or_the_new_application_wholly(
        spark, store, tmp_path, shared_eventlogs):
    logs, old = stored_then_grown(spark, store, tmp_path, shared_eventlogs)
    observed = ObservedStore(None, store.settings)

    ingest_event_logs(spark, observed, str(logs), PINNED_RUN_TIME + timedelta(hours=1))

    new = state_of(store)
    assert whole(old) and whole(new) and new[1] > old[1]  # the grown log has more tasks
    assert observed.seen and all(state in (old, new) for state in observed.seen), \
        [state for state in observed.seen if state not in (old, new)]
    assert observed.seen[0] == old and observed.seen[-1] == new


def test_a_snapshot_taken_before_a_replacement_reads_the_old_application_wholly_after_every_commit_of_it(
        spark, store, tmp_path, shared_eventlogs, monkeypatch):
    from spark_optimizer.tables import store as store_module

    logs, old = stored_then_grown(spark, store, tmp_path, shared_eventlogs)
    snapshot = store.snapshot()
    applications = store.path(APPLICATIONS)
    snapshot_loads = []
    real_delta_table = store_module.delta_table

    def counted(path, *args, **kwargs):  # loads of `applications` as of the snapshot's moment
        if path == applications and kwargs.get("as_of", args[1] if len(args) > 1 else None) == snapshot.as_of:
            snapshot_loads.append(path)
        return real_delta_table(path, *args, **kwargs)

    monkeypatch.setattr(store_module, "delta_table", counted)
    observed = ObservedStore(None, store.settings, reader=snapshot)

    ingest_event_logs(spark, observed, str(logs), PINNED_RUN_TIME + timedelta(hours=1))

    new = state_of(store)
    assert whole(new) and new != old  # the writer committed: now the tables hold the new application only
    assert len(observed.seen) >= 5 and all(state == old for state in observed.seen), \
        [state for state in observed.seen if state != old]
    assert len(snapshot_loads) == 1  # every read through the snapshot shared its one read of `applications`


def test_a_reader_polling_while_an_application_is_replaced_sees_it_whole_each_time(
        spark, store, tmp_path, shared_eventlogs):
    logs, old = stored_then_grown(spark, store, tmp_path, shared_eventlogs)
    assert whole(old)
    seen: Counter = Counter()
    broken: list[tuple] = []
    writer_done = threading.Event()

    def poll() -> None:
        deadline = time.monotonic() + WAIT_LIMIT_S
        while not writer_done.is_set() and time.monotonic() < deadline:
            state = state_of(TableStore(None, store.settings))
            seen[state[0]] += 1
            if not whole(state):
                broken.append(state)

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME + timedelta(hours=1))
    finally:
        writer_done.set()
        reader.join()

    assert not broken
    assert sum(seen.values()) > 1 and set(seen) <= {PINNED_RUN_TIME, PINNED_RUN_TIME + timedelta(hours=1)}
