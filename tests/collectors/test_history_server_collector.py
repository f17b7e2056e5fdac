"""The History Server collector fills the same tables and figures as the event-log path.

A real Spark History Server (the installed pyspark's) replays a few real logs; the collector
reads its REST API into one warehouse, `ingest_event_logs` reads the same logs into another,
and every figure both sources know must agree. Nothing is mocked.
"""

from __future__ import annotations


import base64
import json
import importlib.util
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import sys
import time
import urllib.request

import httpx
import pytest

from tests.conftest import PINNED_RUN_TIME
from spark_optimizer.collectors.history_server import (
    HistoryServerCollectError,
    collect_from_history_server,
    previously_failed,
    read_watermark,
)
from spark_optimizer.config import load_settings
from tests.fakes.history_server import LocalHistoryServer, free_port
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.tables import APPLICATIONS, EXECUTORS, INGEST_LOG, JOBS, SPARK_CONF, SQL_EXECUTIONS, STAGES
from spark_optimizer.tables.store import TableStore

pytestmark = pytest.mark.slow

SAMPLES = {
    "generated/local-1795476299058": "local-1795476299058",
    "generated/eventlog_v2_app-20261123232240-0000": "app-20261123232240-0000",
    "public/kubeflow__mcp-apache-spark-history-server/local-1776286786993.zstd": "local-1776286786993",
    "public/apache__spark/application_1538416563558_0014": "application_1538416563558_0014",
}
APPS = sorted(SAMPLES.values())


def _by_key(store: TableStore, spec, *keys: str) -> dict:
    return {tuple(r[k] for k in keys): r for r in store.read_arrow(spec).to_pylist()}


@pytest.fixture(scope="module")
def env(spark, shared_eventlogs, tmp_path_factory):
    root = tmp_path_factory.mktemp("hs-collector")
    log_dir = root / "logs"
    log_dir.mkdir()
    for relative in SAMPLES:
        source = shared_eventlogs / relative
        (shutil.copytree if source.is_dir() else shutil.copyfile)(source, log_dir / source.name)
    with LocalHistoryServer(log_dir, expected_apps=len(SAMPLES)) as hs:
        hs_store = TableStore(spark, load_settings(warehouse=str(root / "wh-hs"), environ={}))
        log_store = TableStore(spark, load_settings(warehouse=str(root / "wh-log"), environ={}))
        first = collect_from_history_server(hs_store, hs.url, PINNED_RUN_TIME)
        ingest = ingest_event_logs(spark, log_store, str(log_dir), PINNED_RUN_TIME)
        assert not ingest.failed, ingest.failed
        versions = {spec.name: hs_store.version(spec) for spec in (APPLICATIONS, STAGES, JOBS)}
        second = collect_from_history_server(hs_store, hs.url, PINNED_RUN_TIME)
        yield {"hs": hs, "root": root, "first": first, "second": second, "versions": versions,
               "hs_store": hs_store, "log_store": log_store, "spark": spark}


def test_first_collect_collects_every_app(env):
    first = env["first"]
    assert sorted(r["app_id"] for r in first.records if r["status"] == "collected") == APPS, first.records
    assert first.exit_code == 0 and first.watermark_ms is None
    apps = _by_key(env["hs_store"], APPLICATIONS, "app_id")
    for (app_id,), row in apps.items():
        assert row["source_path"] == f"{env['hs'].url}/api/v1/applications/{app_id}"
        assert row["attempt_id"] == ""
    log = {r["source_path"]: r for r in env["hs_store"].read_arrow(INGEST_LOG).to_pylist()}
    assert {log[r["source_path"]]["status"] for r in first.records} == {"ingested"}
    assert all(log[r["source_path"]]["source_kind"] == "history_server" for r in first.records)


APP_COLUMNS = ("duration_ms", "start_time", "end_time", "status", "app_name", "user", "spark_version",
               "master", "platform", "executors_added", "max_concurrent_executors", "max_concurrent_cores", "executors_removed", "executors_lost", "executor_cores",
               "job_count", "failed_job_count", "stage_count", "failed_stage_count", "task_count",
               "failed_task_count", "killed_task_count", "executor_run_time_ms", "jvm_gc_time_ms", "input_bytes",
               "output_bytes", "shuffle_read_bytes", "shuffle_write_bytes", "memory_bytes_spilled",
               "disk_bytes_spilled", "sql_execution_count", "executor_memory_mb_requested",
               "shuffle_partitions_conf")


@pytest.mark.parametrize("app_id", APPS)
def test_application_figures_agree(env, app_id):
    ours = _by_key(env["log_store"], APPLICATIONS, "app_id")[(app_id,)]
    hs = _by_key(env["hs_store"], APPLICATIONS, "app_id")[(app_id,)]
    diffs = {c: (hs[c], ours[c]) for c in APP_COLUMNS if hs[c] != ours[c]}
    assert not diffs, f"{app_id}: (History Server, event log) differ: {diffs}"
    assert hs["executor_cpu_time_ms"] == pytest.approx(ours["executor_cpu_time_ms"], rel=1e-9)


STAGE_COLUMNS = ("num_tasks", "status", "task_count", "successful_task_count", "failed_task_count",
                 "killed_task_count", "executor_run_time_ms", "jvm_gc_time_ms", "input_bytes", "input_records",
                 "output_bytes", "shuffle_read_bytes", "shuffle_read_records", "shuffle_write_bytes",
                 "shuffle_write_records", "memory_bytes_spilled", "disk_bytes_spilled", "submission_time",
                 "completion_time", "job_id", "failure_reason", "input_bytes_max", "shuffle_read_bytes_median",
                 "shuffle_read_bytes_max", "disk_bytes_spilled_max", "jvm_gc_time_ms_p95")


@pytest.mark.parametrize("app_id", APPS)
def test_stage_figures_agree(env, app_id):
    keys = ("app_id", "stage_id", "stage_attempt_id")
    ours = {k[1:]: r for k, r in _by_key(env["log_store"], STAGES, *keys).items() if k[0] == app_id}
    hs = {k[1:]: r for k, r in _by_key(env["hs_store"], STAGES, *keys).items() if k[0] == app_id}
    assert set(hs) == set(ours), f"{app_id}: stage attempts only in HS {set(hs) - set(ours)}, only ours {set(ours) - set(hs)}"
    diffs = [f"stage {k}: {c} HS {hs[k][c]} vs log {ours[k][c]}"
             for k in sorted(hs) for c in STAGE_COLUMNS if hs[k][c] != ours[k][c]]
    assert not diffs, f"{app_id}: " + "; ".join(diffs[:10])
    for k in hs:  # task-duration quantiles come from the History Server's own summaries
        assert hs[k]["task_duration_ms_max"] is not None or hs[k]["successful_task_count"] == 0


@pytest.mark.parametrize("app_id", APPS)
def test_jobs_executors_sql_and_conf_agree(env, app_id):
    def pick(store, spec, key):
        return {r[key]: r for r in store.read_arrow(spec).to_pylist() if r["app_id"] == app_id}

    hs_jobs, our_jobs = pick(env["hs_store"], JOBS, "job_id"), pick(env["log_store"], JOBS, "job_id")
    assert set(hs_jobs) == set(our_jobs)
    for job_id, row in hs_jobs.items():
        for column in ("result", "stage_ids", "submission_time", "completion_time", "sql_execution_id"):
            assert row[column] == our_jobs[job_id][column], f"{app_id} job {job_id} {column}"
    hs_execs, our_execs = pick(env["hs_store"], EXECUTORS, "executor_id"), pick(env["log_store"], EXECUTORS, "executor_id")
    assert set(hs_execs) == set(our_execs)
    for executor_id, row in hs_execs.items():
        for column in ("host", "total_cores", "add_time", "remove_time", "lost", "max_memory_bytes"):
            assert row[column] == our_execs[executor_id][column], f"{app_id} executor {executor_id} {column}"
    hs_sql, our_sql = pick(env["hs_store"], SQL_EXECUTIONS, "execution_id"), pick(env["log_store"], SQL_EXECUTIONS, "execution_id")
    assert set(hs_sql) == set(our_sql)
    wrappers = ("InputAdapter", "ResultQueryStage", "ShuffleQueryStage", "TableCacheQueryStage", "BroadcastQueryStage")
    for execution_id, row in hs_sql.items():
        for column in ("status", "start_time", "duration_ms", "description"):
            assert row[column] == our_sql[execution_id][column], f"{app_id} sql {execution_id} {column}"
        # the REST plan graph of Spark 4 has no InputAdapter / query-stage wrapper nodes (Spark 3.5's has some)
        ours, theirs = ([n for n in names or [] if n not in wrappers]
                        for names in (our_sql[execution_id]["plan_node_names"], row["plan_node_names"]))
        assert theirs == ours, f"{app_id} sql {execution_id} plan"
        assert sorted(row["job_ids"], key=int) == sorted(our_sql[execution_id]["job_ids"], key=int)
    conf = {(r["key"]): r["value"] for r in env["hs_store"].read_arrow(SPARK_CONF).to_pylist()
            if r["app_id"] == app_id and r["source"] == "spark"}
    our_conf = {(r["key"]): r["value"] for r in env["log_store"].read_arrow(SPARK_CONF).to_pylist()
                if r["app_id"] == app_id and r["source"] == "spark"}
    assert conf == our_conf


def test_second_collect_is_a_no_op(env):
    second, hs_store = env["second"], env["hs_store"]
    assert second.records == [] and second.as_dict()["collected"] == 0, second.records
    assert second.watermark_ms == read_watermark(hs_store, env["hs"].url) is not None
    assert {spec.name: hs_store.version(spec) for spec in (APPLICATIONS, STAGES, JOBS)} == env["versions"]
    for spec in (APPLICATIONS, JOBS, STAGES, EXECUTORS, SPARK_CONF):
        rows = hs_store.read_arrow(spec).to_pylist()
        keys = [tuple(r[k] for k in spec.keys) for r in rows]
        assert len(keys) == len(set(keys)), f"{spec.name} holds duplicate keys"
    assert len(hs_store.read_arrow(APPLICATIONS)) == len(APPS)


def test_recollecting_an_app_replaces_its_rows(env, tmp_path):
    store = env["hs_store"]
    before = len(store.read_arrow(STAGES))
    summary = collect_from_history_server(store, env["hs"].url + "/", PINNED_RUN_TIME, since_ms=0, batch_size=3)
    assert summary.as_dict()["collected"] == len(APPS)
    assert len(store.read_arrow(STAGES)) == before
    assert len(store.read_arrow(APPLICATIONS)) == len(APPS)


def test_unknown_app_is_reported_and_others_collected(env, tmp_path):
    store = TableStore(env["spark"], load_settings(warehouse=str(tmp_path / "wh"), environ={}))
    summary = collect_from_history_server(store, env["hs"].url, PINNED_RUN_TIME,
                                          app_ids=["local-1795476299058", "no-such-app-123"])
    status = {r["app_id"]: r for r in summary.records}
    assert status["local-1795476299058"]["status"] == "collected"
    failed = status["no-such-app-123"]
    assert failed["status"] == "failed" and "404" in failed["reason"] and "no-such-app-123" in failed["reason"]
    assert summary.exit_code == 1
    assert [r["app_id"] for r in store.read_arrow(APPLICATIONS).to_pylist()] == ["local-1795476299058"]
    log = {r["source_path"]: r for r in store.read_arrow(INGEST_LOG).to_pylist()}
    assert log[f"{env['hs'].url}/api/v1/applications/no-such-app-123"]["status"] == "failed"
    assert previously_failed(store, env["hs"].url) == []  # a 404 is not retried by later runs


def test_unreachable_server_gives_a_clear_error(tmp_path):
    store = TableStore(None, load_settings(warehouse=str(tmp_path / "wh"), environ={}))
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(HistoryServerCollectError, match="failed after 2 attempt") as info:
        collect_from_history_server(store, url, PINNED_RUN_TIME, retries=1, backoff_s=0.05, timeout_s=2)
    assert url in str(info.value) and "running and reachable" in str(info.value)
    assert time.monotonic() - started < 10


@pytest.fixture
def plain_http_server(tmp_path):
    """`python -m http.server` over a folder: a web server that is not a History Server."""
    site = tmp_path / "site"
    (site / "html" / "api" / "v1").mkdir(parents=True)
    (site / "html" / "api" / "v1" / "applications").write_text("<html><body>Hello</body></html>")
    (site / "shape" / "api" / "v1").mkdir(parents=True)
    (site / "shape" / "api" / "v1" / "applications").write_text('{"status": "ok"}')
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                "--directory", str(site)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/", timeout=1).read()
            break
        except OSError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.parametrize("suffix, message", [
    ("", "does not look like a Spark History Server"),
    ("/html", "not JSON"),
    ("/shape", "not a Spark History Server application list"),
])
def test_non_history_server_url_gives_a_clear_error(plain_http_server, tmp_path, suffix, message):
    store = TableStore(None, load_settings(warehouse=str(tmp_path / "wh"), environ={}))
    with pytest.raises(HistoryServerCollectError, match=message) as info:
        collect_from_history_server(store, plain_http_server + suffix, PINNED_RUN_TIME, retries=0)
    assert plain_http_server + suffix in str(info.value) and "base URL" in str(info.value)


def test_history_server_web_page_is_not_taken_for_the_api(env, tmp_path):
    store = TableStore(None, load_settings(warehouse=str(tmp_path / "wh"), environ={}))
    with pytest.raises(HistoryServerCollectError, match="History Server"):
        collect_from_history_server(store, env["hs"].url + "/history/nothing", PINNED_RUN_TIME, retries=0)


class _FlakyHandler(BaseHTTPRequestHandler):
    """A real HTTP server that fails twice with 503, then wants the expected credentials."""

    def do_GET(self):  # noqa: N802
        server = self.server
        server.seen.append(dict(self.headers))
        if len(server.seen) <= server.failures:
            self.send_response(503)
            self.end_headers()
            self.wfile.write(b"busy")
            return
        if self.headers.get("Authorization") != server.expected_auth:
            self.send_response(401)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"[]")

    def log_message(self, *args):
        pass


@pytest.fixture
def flaky_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyHandler)
    server.seen, server.failures, server.expected_auth = [], 2, None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("client", ["default", "the caller's httpx.Client"])
def test_retries_5xx_with_basic_auth_and_headers(flaky_server, tmp_path, client):
    flaky_server.expected_auth = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    store = TableStore(None, load_settings(warehouse=str(tmp_path / "wh"), environ={}))
    url = f"http://127.0.0.1:{flaky_server.server_address[1]}"
    with httpx.Client(headers={"User-Agent": "team-collector"}) as own:
        summary = collect_from_history_server(store, url, PINNED_RUN_TIME, retries=3, backoff_s=0.01,
                                              auth=("alice", "s3cret"), headers={"X-Team": "data"},
                                              http_client=None if client == "default" else own)
    assert summary.listed == 0 and summary.records == []
    assert len(flaky_server.seen) == 3
    assert all(h.get("X-Team") == "data" for h in flaky_server.seen)
    assert all((h.get("User-Agent") == "team-collector") == (client != "default") for h in flaky_server.seen)


def test_credentials_written_in_the_url_are_sent_as_basic_auth(flaky_server, tmp_path):
    flaky_server.failures = 0
    flaky_server.expected_auth = "Basic " + base64.b64encode(b"alice:s3cret").decode()
    store = TableStore(None, load_settings(warehouse=str(tmp_path / "wh"), environ={}))
    url = f"http://alice:s3cret@127.0.0.1:{flaky_server.server_address[1]}"
    summary = collect_from_history_server(store, url, PINNED_RUN_TIME)
    assert summary.listed == 0 and summary.base_url == f"http://127.0.0.1:{flaky_server.server_address[1]}"
    flaky_server.expected_auth = "Basic " + base64.b64encode(b"alice:other").decode()
    with pytest.raises(HistoryServerCollectError, match="HTTP 401") as refused:
        collect_from_history_server(store, url, PINNED_RUN_TIME)
    assert "s3cret" not in str(refused.value) and "127.0.0.1" in str(refused.value)


def test_bearer_token_and_missing_credentials(flaky_server, tmp_path):
    flaky_server.failures, flaky_server.expected_auth = 0, "Bearer tok-123"
    store = TableStore(None, load_settings(warehouse=str(tmp_path / "wh"), environ={}))
    url = f"http://127.0.0.1:{flaky_server.server_address[1]}"
    assert collect_from_history_server(store, url, PINNED_RUN_TIME, auth="tok-123").listed == 0
    with pytest.raises(HistoryServerCollectError, match="HTTP 401.*credentials"):
        collect_from_history_server(store, url, PINNED_RUN_TIME)


def test_gives_up_after_retries_on_5xx(flaky_server, tmp_path):
    flaky_server.failures = 100
    store = TableStore(None, load_settings(warehouse=str(tmp_path / "wh"), environ={}))
    url = f"http://127.0.0.1:{flaky_server.server_address[1]}"
    with pytest.raises(HistoryServerCollectError, match="failed after 3 attempt.*HTTP 503"):
        collect_from_history_server(store, url, PINNED_RUN_TIME, retries=2, backoff_s=0.01)
    assert len(flaky_server.seen) == 3


def _job_main():
    from tests.conftest import REPO_ROOT

    spec = importlib.util.spec_from_file_location("collect_job", REPO_ROOT / "jobs" / "collect_from_history_server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def test_job_entry_point(env, tmp_path, capsys):
    main = _job_main()
    assert main(["--history-server-url", env["hs"].url, "--warehouse", str(tmp_path / "wh"), "--format", "json"]) == 0
    collected = json.loads(capsys.readouterr().out)
    assert collected["summary"]["collected"] == len(APPS) and collected["summary"]["failed"] == 0
    assert {r["app_id"] for r in collected["records"] if r["status"] == "collected"} >= {"local-1795476299058"}
    assert main(["--history-server-url", env["hs"].url, "--warehouse", str(tmp_path / "wh")]) == 0
    assert "collected 0, failed 0" in capsys.readouterr().out
    # run_job (spark_optimizer.context) turns the library's refusal into exit code 2 with this message
    with pytest.raises(HistoryServerCollectError, match="GET http://127.0.0.1:.*check that the History Server"):
        main(["--history-server-url", f"http://127.0.0.1:{free_port()}", "--warehouse", str(tmp_path / "wh2"),
              "--retries", "0"])


def test_an_app_that_failed_before_is_retried_past_the_watermark(env, tmp_path):
    import pyarrow as pa

    store = TableStore(env["spark"], load_settings(warehouse=str(tmp_path / "wh"), environ={}))
    assert collect_from_history_server(store, env["hs"].url, PINNED_RUN_TIME).as_dict()["collected"] == len(APPS)
    source = f"{env['hs'].url}/api/v1/applications/app-20261123232240-0000"
    failure = {"source_path": source, "source_kind": "history_server", "status": "failed",
               "reason": "GET ... failed after 4 attempt(s) (HTTP 503: busy)", "attempts": [{"app_id": "app-20261123232240-0000", "attempt_id": ""}]}
    store.upsert(INGEST_LOG, pa.Table.from_pylist([failure], schema=INGEST_LOG.arrow_schema()))
    assert previously_failed(store, env["hs"].url) == ["app-20261123232240-0000"]
    again = collect_from_history_server(store, env["hs"].url, PINNED_RUN_TIME)
    assert [(r["app_id"], r["status"]) for r in again.records] == [("app-20261123232240-0000", "collected")]
    assert previously_failed(store, env["hs"].url) == []
    assert len(store.read_arrow(APPLICATIONS)) == len(APPS)
