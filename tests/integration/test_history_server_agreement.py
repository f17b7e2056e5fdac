"""Our tables agree with Apache Spark's own History Server, app by app and stage by stage.

The same folder of real event logs (Spark 2.x to 4.1; local, standalone, YARN, Kubernetes;
plain, zstd and rolling) is replayed by the History Server of the installed pyspark and
ingested by `ingest_event_logs`; every figure below must be equal to what the History
Server's REST API (/api/v1) reports.

Rules used where the two models differ:
- A stage "ran" when the History Server has an attempt of it that is not PENDING or
  SKIPPED, or that has ended tasks. Stages declared by a job but never submitted are
  listed by the History Server only; our stages table holds stage attempts that ran.
- Executors: the History Server's `allexecutors` always lists the driver. Our
  `applications.executors_added` counts the executors that ran tasks besides the driver;
  in local mode (the History Server lists only the driver) the driver is the one executor,
  so ours is 1 there.
- Durations are compared for completed attempts only (the History Server measures
  incomplete ones up to the log's modification time).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest

from spark_optimizer.config import load_settings
from tests.fakes.history_server import LocalHistoryServer
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import APPLICATIONS, EXECUTORS, JOBS, STAGES
from spark_optimizer.tables.store import TableStore

pytestmark = pytest.mark.slow

# (path under shared/eventlogs, app id, attempt id ("" = none), what it covers)
SAMPLES = [
    ("generated/local-1795476283857.zstd", "local-1795476283857", "", "Spark 4.0 local, zstd single file"),
    ("generated/eventlog_v2_local-1795476338167", "local-1795476338167", "", "Spark 4.0 rolling log, 2 parts"),
    ("generated/eventlog_v2_app-20261123232240-0000", "app-20261123232240-0000", "",
     "Spark 4.0 local-cluster (standalone executor JVM), rolling zstd"),
    ("public/apache__spark/application_1538416563558_0014", "application_1538416563558_0014", "",
     "YARN, failed tasks, executors removed"),
    ("public/NVIDIA__spark-rapids-tools/spark-events-profiling/tasks_executors_fail_compressed_eventlog.zstd",
     "application_1603128018386_7846", "", "YARN, 53 failed tasks, failed job/stage, executors removed, 8.6k tasks, 50 'Resubmitted' TaskEnds, "
     "5 JobEnds without JobStart"),
    ("public/apache__spark/local-1642039451826", "local-1642039451826", "", "Spark 3.3 local with SQL"),
    ("public/kubeflow__mcp-apache-spark-history-server/eventlog_v2_spark-cc4d115f011443d787f03a71a476a745",
     "spark-cc4d115f011443d787f03a71a476a745", "", "Spark 3.5 on Kubernetes, several executors"),
    ("public/kubeflow__mcp-apache-spark-history-server/local-1776286786993.zstd", "local-1776286786993", "",
     "Spark 4.1 SQL + AQE, failed tasks retried"),
    ("public/kubeflow__mcp-apache-spark-history-server/application_1713000000000_0001_1.zstd",
     "application_1713000000000_0001", "1", "attempt 1, killed (no ApplicationEnd)"),
    ("public/kubeflow__mcp-apache-spark-history-server/application_1713000000000_0001_2.zstd",
     "application_1713000000000_0001", "2", "attempt 2, failed tasks"),
]
APPS = [pytest.param((app_id, attempt), id=f"{app_id}#{attempt}" if attempt else app_id)
        for _, app_id, attempt, _ in SAMPLES]
NOT_RUN = ("PENDING", "SKIPPED")


def _ended_tasks(stage: dict) -> int:
    """numCompleteTasks + numFailedTasks + numKilledTasks"""
    return stage["numCompleteTasks"] + stage["numFailedTasks"] + stage["numKilledTasks"]


@dataclass
class App:
    """One application attempt as the History Server and as our tables see it."""

    key: tuple[str, str]
    hs_attempt: dict
    hs_jobs: list
    hs_stages: list
    hs_executors: list
    ours: dict
    our_jobs: list = field(default_factory=list)
    our_stages: dict = field(default_factory=dict)  # (stage id, attempt) -> row
    our_executors: list = field(default_factory=list)

    @property
    def name(self) -> str:
        return "#".join(self.key) if self.key[1] else self.key[0]

    def hs_stages_that_ran(self) -> dict:
        return {
            (s["stageId"], s["attemptId"]): s
            for s in self.hs_stages
            if s["status"] not in NOT_RUN or _ended_tasks(s)
        }


def _rows(store: TableStore, spec) -> list[dict]:
    return [row.asDict() for row in store.read(spec).collect()]


@pytest.fixture(scope="module")
def apps(spark, shared_eventlogs, tmp_path_factory) -> dict[tuple[str, str], App]:
    root = tmp_path_factory.mktemp("hs-agreement")
    log_dir = root / "logs"
    log_dir.mkdir()
    for relative, *_ in SAMPLES:
        source = shared_eventlogs / relative
        target = log_dir / source.name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copyfile(source, target)
    expected = {(app_id, attempt) for _, app_id, attempt, _ in SAMPLES}
    with LocalHistoryServer(log_dir) as hs:  # scans the folder while we ingest it
        store = TableStore(spark, load_settings(warehouse=str(root / "wh"), environ={}))
        summary = ingest_event_logs(spark, store, str(log_dir), datetime(2026, 1, 1, tzinfo=timezone.utc))
        assert not summary.failed, f"ingestion failed: {summary.failed}"
        n_apps = len({app_id for app_id, _ in expected})
        listing = hs.wait_for("/api/v1/applications", lambda a: len(a) >= n_apps, timeout=90)
        ours = {(r["app_id"], r["attempt_id"]): r for r in _rows(store, APPLICATIONS)}
        result: dict[tuple[str, str], App] = {}
        for hs_app in listing:
            for attempt in hs_app["attempts"]:
                key = (hs_app["id"], str(attempt.get("attemptId", "")))
                base = f"/api/v1/applications/{key[0]}" + (f"/{key[1]}" if key[1] else "")
                result[key] = App(key, attempt, hs.get_json(base + "/jobs"), hs.get_json(base + "/stages"),
                                  hs.get_json(base + "/allexecutors"), ours.get(key, {}))
    for spec, attr in ((JOBS, "our_jobs"), (EXECUTORS, "our_executors")):
        for row in _rows(store, spec):
            app = result.get((row["app_id"], row["attempt_id"]))
            if app is not None:
                getattr(app, attr).append(row)
    for row in _rows(store, STAGES):
        app = result.get((row["app_id"], row["attempt_id"]))
        if app is not None:
            app.our_stages[(row["stage_id"], row["stage_attempt_id"])] = row
    assert expected <= set(result), f"the History Server did not list {sorted(expected - set(result))}"
    assert expected <= set(ours), f"our applications table lacks {sorted(expected - set(ours))}"
    return result


def _per_stage(app: App, hs_field, our_column: str) -> None:
    """Every stage attempt that ran in both has the same figure (which stages ran is
    test_stages_that_ran_match's business). `hs_field` is a stage JSON key or a function."""
    hs = app.hs_stages_that_ran()
    figure = hs_field if callable(hs_field) else (lambda s: s[hs_field])
    label = hs_field if isinstance(hs_field, str) else hs_field.__doc__
    diffs = [
        f"stage {sid}.{att}: HS {figure(s)} vs ours {app.our_stages[(sid, att)][our_column]}"
        for (sid, att), s in sorted(hs.items())
        if (sid, att) in app.our_stages and figure(s) != app.our_stages[(sid, att)][our_column]
    ]
    assert not diffs, (
        f"{app.name}: {label} (HS) != {our_column} (ours) in {len(diffs)} stage(s): " + "; ".join(diffs[:10])
    )


# ---- application level -----------------------------------------------------------------

@pytest.mark.parametrize("key", APPS)
def test_app_duration_matches_for_completed_attempts(apps, key):
    app = apps[key]
    if not app.hs_attempt["completed"]:
        assert app.ours["status"] == "incomplete", f"{app.name}: HS says incomplete, ours {app.ours['status']}"
        pytest.skip("incomplete attempt: the History Server measures it up to the file's modification time")
    assert app.ours["status"] == "completed"
    assert app.ours["duration_ms"] == app.hs_attempt["duration"], (
        f"{app.name}: duration HS {app.hs_attempt['duration']} ms vs ours {app.ours['duration_ms']} ms"
    )


@pytest.mark.parametrize("key", APPS)
def test_executor_count_matches(apps, key):
    app = apps[key]
    workers = [e["id"] for e in app.hs_executors if e["id"] != "driver"]
    if workers:
        assert app.ours["executors_added"] == len(workers), (
            f"{app.name}: HS lists {len(workers)} executors besides the driver {sorted(workers)}, "
            f"ours executors_added={app.ours['executors_added']}"
        )
    else:  # local mode: the driver runs the tasks and is counted as the one executor
        assert (app.ours["master"] or "").startswith("local"), f"{app.name}: no executor, master {app.ours['master']}"
        assert app.ours["executors_added"] == 1, (
            f"{app.name}: local mode (the driver is the executor), ours executors_added={app.ours['executors_added']}"
        )


@pytest.mark.parametrize("key", APPS)
def test_executor_ids_match(apps, key):
    app = apps[key]
    hs_ids = {e["id"] for e in app.hs_executors}
    our_ids = {e["executor_id"] for e in app.our_executors}
    assert our_ids == hs_ids, (
        f"{app.name}: executors only in ours {sorted(our_ids - hs_ids)}, only in HS {sorted(hs_ids - our_ids)}"
    )


@pytest.mark.parametrize("key", APPS)
def test_jobs_match(apps, key):
    app = apps[key]
    hs_ids = {j["jobId"] for j in app.hs_jobs}
    our_ids = {j["job_id"] for j in app.our_jobs}
    assert our_ids == hs_ids, (
        f"{app.name}: jobs only in ours {sorted(our_ids - hs_ids)}, only in HS {sorted(hs_ids - our_ids)} "
        f"(the History Server ignores a JobEnd whose JobStart it never saw)"
    )
    assert app.ours["job_count"] == len(hs_ids), (
        f"{app.name}: job_count HS {len(hs_ids)} vs ours {app.ours['job_count']}"
    )
    hs_failed = sum(j["status"] == "FAILED" for j in app.hs_jobs)
    assert app.ours["failed_job_count"] == hs_failed, (
        f"{app.name}: failed jobs HS {hs_failed} vs ours {app.ours['failed_job_count']}"
    )


@pytest.mark.parametrize("key", APPS)
def test_stages_that_ran_match(apps, key):
    app = apps[key]
    hs = app.hs_stages_that_ran()
    assert set(app.our_stages) == set(hs), (
        f"{app.name}: stage attempts only in ours {sorted(set(app.our_stages) - set(hs))}, "
        f"only in HS {sorted(set(hs) - set(app.our_stages))}"
    )
    assert app.ours["stage_count"] == len(hs), f"{app.name}: stage_count HS {len(hs)} vs ours {app.ours['stage_count']}"


@pytest.mark.parametrize("key", APPS)
def test_app_executor_run_time_matches(apps, key):
    app = apps[key]
    hs_total = sum(s["executorRunTime"] for s in app.hs_stages)
    assert app.ours["executor_run_time_ms"] == hs_total, (
        f"{app.name}: executor run time over all stages HS {hs_total} ms vs ours {app.ours['executor_run_time_ms']} ms"
    )


@pytest.mark.parametrize("key", APPS)
def test_app_task_count_matches(apps, key):
    app = apps[key]
    hs_total = sum(_ended_tasks(s) for s in app.hs_stages)
    assert app.ours["task_count"] == hs_total, f"{app.name}: ended tasks HS {hs_total} vs ours {app.ours['task_count']}"


# ---- stage level -----------------------------------------------------------------------

@pytest.mark.parametrize("key", APPS)
def test_task_count_per_stage(apps, key):
    app = apps[key]
    _per_stage(app, _ended_tasks, "task_count")


@pytest.mark.parametrize("key", APPS)
def test_failed_and_killed_tasks_per_stage(apps, key):
    app = apps[key]
    _per_stage(app, "numFailedTasks", "failed_task_count")
    _per_stage(app, "numKilledTasks", "killed_task_count")


@pytest.mark.parametrize("key", APPS)
def test_executor_run_time_per_stage(apps, key):
    _per_stage(apps[key], "executorRunTime", "executor_run_time_ms")


@pytest.mark.parametrize("key", APPS)
def test_shuffle_read_bytes_per_stage(apps, key):
    _per_stage(apps[key], "shuffleReadBytes", "shuffle_read_bytes")


@pytest.mark.parametrize("key", APPS)
def test_shuffle_write_bytes_per_stage(apps, key):
    _per_stage(apps[key], "shuffleWriteBytes", "shuffle_write_bytes")


@pytest.mark.parametrize("key", APPS)
def test_memory_bytes_spilled_per_stage(apps, key):
    _per_stage(apps[key], "memoryBytesSpilled", "memory_bytes_spilled")


@pytest.mark.parametrize("key", APPS)
def test_disk_bytes_spilled_per_stage(apps, key):
    _per_stage(apps[key], "diskBytesSpilled", "disk_bytes_spilled")


@pytest.mark.parametrize("key", APPS)
def test_input_bytes_per_stage(apps, key):
    _per_stage(apps[key], "inputBytes", "input_bytes")
