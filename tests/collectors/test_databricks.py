"""The Databricks collector through the real `databricks.sdk.WorkspaceClient`, against a local server
serving the documented REST 2.x shapes (`tests.fakes.databricks_api`), with pagination,
a 429 with Retry-After, a 500 and 403s.

The ids are those of real Databricks event logs in the shared corpus (synccomputingcode databricks.zip:
cluster 0304-221748-fngq99ev named job-703-run-31144, spark context 5706921391408253054;
NVIDIA db_subExecution_id.zstd: cluster 0207-201646-mku1a74m, spark context 8880912756278443690),
so the linking tests can reuse these workspaces.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from databricks.sdk import WorkspaceClient
from typer.testing import CliRunner

from spark_optimizer.cli import app as cli_app
from spark_optimizer.collectors.cloud_rows import CloudPermissionError
from spark_optimizer.collectors.databricks import collect_from_databricks
from spark_optimizer.config import load_settings
from tests.fakes.databricks_api import LocalDatabricksApi
from spark_optimizer.tables import CLUSTER_EVENTS, CLUSTER_NODES, CLUSTER_RUNS, CLUSTERS, INGEST_LOG
from spark_optimizer.tables.store import DeltaRsBackend, TableStore

RUN_TIME = datetime(2026, 11, 1, tzinfo=timezone.utc)
JOB_CLUSTER, ALL_PURPOSE, GCP_CLUSTER, OLD_JOB_CLUSTER = ("0304-221748-fngq99ev", "0207-201646-mku1a74m",
                                                          "1219-192941-mm5ky6be", "0101-000000-old12345")
T0 = 1646432268000  # 2022-03-04 22:17:48 UTC, when the job cluster was created (its id says 0304-221748)

NODE_TYPES = [
    {"node_type_id": "m5.4xlarge", "memory_mb": 65536, "num_cores": 16.0, "num_gpus": 0, "description": "m5.4xlarge",
     "instance_type_id": "m5.4xlarge", "category": "General Purpose"},
    {"node_type_id": "m5.xlarge", "memory_mb": 16384, "num_cores": 4.0, "num_gpus": 0, "description": "m5.xlarge",
     "instance_type_id": "m5.xlarge", "category": "General Purpose"},
    {"node_type_id": "Standard_E8s_v3", "memory_mb": 65536, "num_cores": 8.0, "num_gpus": 0,
     "description": "Standard_E8s_v3", "instance_type_id": "Standard_E8s_v3", "category": "Memory Optimized"},
    {"node_type_id": "Standard_DS3_v2", "memory_mb": 14336, "num_cores": 4.0, "num_gpus": 0,
     "description": "Standard_DS3_v2", "instance_type_id": "Standard_DS3_v2", "category": "General Purpose"},
    {"node_type_id": "n2-highmem-8", "memory_mb": 65536, "num_cores": 8.0, "num_gpus": 0, "description": "n2-highmem-8",
     "instance_type_id": "n2-highmem-8", "category": "Memory Optimized"},
]


def job_cluster() -> dict:
    return {
        "cluster_id": JOB_CLUSTER, "cluster_name": "job-703-run-31144", "cluster_source": "JOB",
        "spark_version": "9.1.x-scala2.12", "node_type_id": "m5.4xlarge", "driver_node_type_id": "m5.xlarge",
        "num_workers": 4, "state": "TERMINATED", "start_time": T0, "terminated_time": T0 + 3_600_000,
        "termination_reason": {"code": "JOB_FINISHED", "type": "SUCCESS"},
        "aws_attributes": {"availability": "SPOT_WITH_FALLBACK", "first_on_demand": 1, "spot_bid_price_percent": 100,
                           "zone_id": "us-west-2a", "ebs_volume_type": "GENERAL_PURPOSE_SSD", "ebs_volume_count": 1,
                           "ebs_volume_size": 100},
        "cluster_log_conf": {"s3": {"destination": "s3://job-bank-temp/databricks/9.1.x-scala2.12/AirlineDelayLR_gz/arianna",
                                    "region": "us-west-2"}},
        "default_tags": {"Vendor": "Databricks", "ClusterId": JOB_CLUSTER, "JobId": "703", "RunName": "AirlineDelayLR_gz"},
        "custom_tags": {"team": "ml"}, "creator_user_name": "arianna@synccomputing.com",
        "spark_context_id": 5706921391408253054,
    }


def all_purpose_cluster(state: str = "RUNNING", restarted: int | None = None) -> dict:
    cluster = {
        "cluster_id": ALL_PURPOSE, "cluster_name": "113cpu", "cluster_source": "UI", "spark_version": "11.3.x-scala2.12",
        "node_type_id": "Standard_E8s_v3", "driver_node_type_id": "Standard_DS3_v2", "num_workers": 2,
        "autoscale": {"min_workers": 2, "max_workers": 8}, "state": state, "start_time": 1707337006000,
        "azure_attributes": {"availability": "SPOT_WITH_FALLBACK_AZURE", "first_on_demand": 3, "spot_bid_max_price": -1},
        "cluster_log_conf": {"dbfs": {"destination": "dbfs:/cluster-logs/hao/113cpu/20240213/"}},
        "spark_conf": {"spark.sql.shuffle.partitions": "200"}, "runtime_engine": "STANDARD",
        "driver": {"node_id": "d1", "private_ip": "10.13.1.10"},
        "executors": [{"node_id": "e1", "private_ip": "10.13.1.11"}, {"node_id": "e2", "private_ip": "10.13.1.12"}],
        "spark_context_id": 8880912756278443690,
    }
    if restarted:
        cluster["last_restarted_time"] = restarted
    return cluster


def gcp_cluster() -> dict:
    return {
        "cluster_id": GCP_CLUSTER, "cluster_name": "eo-standalone-10.4 (CPU) - xgboost latest", "cluster_source": "UI",
        "spark_version": "10.4.x-scala2.12", "node_type_id": "n2-highmem-8", "num_workers": 3, "state": "TERMINATED",
        "start_time": 1671478181000, "terminated_time": 1671490000000, "state_message": "Inactive cluster terminated",
        "gcp_attributes": {"availability": "PREEMPTIBLE_WITH_FALLBACK_GCP", "first_on_demand": 1, "boot_disk_size": 100,
                           "zone_id": "us-central1-a"},
    }


def events() -> list[dict]:
    base = 1707337006000
    return [
        {"cluster_id": ALL_PURPOSE, "timestamp": base, "type": "CREATING", "details": {"user": "hazhu@nvidia.com"}},
        {"cluster_id": ALL_PURPOSE, "timestamp": base + 60_000, "type": "RUNNING", "details": {"current_num_workers": 2}},
        {"cluster_id": ALL_PURPOSE, "timestamp": base + 600_000, "type": "RESIZING",
         "details": {"current_num_workers": 2, "target_num_workers": 6, "cause": "AUTOSCALE"}},
        {"cluster_id": ALL_PURPOSE, "timestamp": base + 700_000, "type": "UPSIZE_COMPLETED",
         "details": {"current_num_workers": 6, "target_num_workers": 6}},
        {"cluster_id": ALL_PURPOSE, "timestamp": base + 900_000, "type": "NODES_LOST",
         "details": {"current_num_workers": 5, "target_num_workers": 6,
                     "reason": {"code": "SPOT_INSTANCE_TERMINATION", "type": "CLOUD_FAILURE"}}},
    ]


def task(run_id: int, key: str, kind: str, spec: dict, start: int, cluster: dict | None, state: str = "TERMINATED",
         result: str | None = "SUCCESS", **extra) -> dict:
    return {"run_id": run_id, "task_key": key, kind: spec, "start_time": start, "end_time": start + 600_000 if result else 0,
            "setup_duration": 20_000, "execution_duration": 560_000 if result else 0, "cleanup_duration": 1_000,
            "attempt_number": 0, "state": {"life_cycle_state": state, **({"result_state": result} if result else {})},
            **({"cluster_instance": cluster} if cluster else {}), **extra}


def runs() -> list[dict]:
    ap_start = 1707850702370 - 5_000
    return [
        {"job_id": 703, "run_id": 31144, "run_name": "AirlineDelayLR_gz", "run_type": "JOB_RUN", "start_time": T0 + 60_000,
         "end_time": T0 + 3_500_000, "run_duration": 3_440_000, "state": {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS"},
         "cluster_instance": {"cluster_id": JOB_CLUSTER, "spark_context_id": "5706921391408253054"},
         "tasks": [task(31145, "AirlineDelayLR_gz", "spark_python_task",
                        {"python_file": "dbfs:/jobs/airline_delay_lr.py", "parameters": ["--input", "s3://bank/airline"]},
                        T0 + 60_000, {"cluster_id": JOB_CLUSTER, "spark_context_id": "5706921391408253054"},
                        existing_cluster_id=None)]},
        {"job_id": 42, "run_id": 900, "run_name": "merge perf", "run_type": "JOB_RUN", "start_time": ap_start,
         "end_time": ap_start + 1_900_000, "state": {"life_cycle_state": "TERMINATED", "result_state": "FAILED",
                                                     "state_message": "Task jar failed"},
         "job_parameters": [{"name": "date", "default": "2024-02-13", "value": "2024-02-13"}],
         "tasks": [
             task(901, "prepare", "notebook_task", {"notebook_path": "/Users/hazhu/merge_perf_cpu",
                                                   "base_parameters": {"scale": "100"}}, ap_start,
                  {"cluster_id": ALL_PURPOSE, "spark_context_id": "8880912756278443690"}, existing_cluster_id=ALL_PURPOSE),
             task(902, "jar", "spark_jar_task", {"main_class_name": "com.acme.Merge", "parameters": ["--mode", "full"]},
                  ap_start + 700_000, {"cluster_id": ALL_PURPOSE, "spark_context_id": "8880912756278443690"},
                  result="FAILED", existing_cluster_id=ALL_PURPOSE),
             task(903, "report", "spark_python_task", {"python_file": "dbfs:/report.py"}, ap_start + 1_300_000,
                  {"cluster_id": ALL_PURPOSE, "spark_context_id": "8880912756278443690"}, result="UPSTREAM_FAILED",
                  existing_cluster_id=ALL_PURPOSE)]},
        {"job_id": 77, "run_id": 5000, "run_name": "old etl", "run_type": "JOB_RUN", "start_time": 1600000000000,
         "end_time": 1600000900000, "state": {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS"},
         "job_clusters": [{"job_cluster_key": "etl", "new_cluster": {
             "spark_version": "7.3.x-scala2.12", "node_type_id": "m5.xlarge", "autoscale": {"min_workers": 1, "max_workers": 5},
             "aws_attributes": {"availability": "SPOT", "first_on_demand": 0, "spot_bid_price_percent": 90}}}],
         "tasks": [task(5001, "etl", "spark_submit_task", {"parameters": ["--class", "com.acme.Etl", "dbfs:/etl.jar"]},
                        1600000000000, {"cluster_id": OLD_JOB_CLUSTER, "spark_context_id": "111"}, job_cluster_key="etl")]},
        {"job_id": 42, "run_id": 910, "run_name": "merge perf", "run_type": "JOB_RUN", "start_time": ap_start + 86_400_000,
         "state": {"life_cycle_state": "RUNNING"},
         "tasks": [task(911, "prepare", "notebook_task", {"notebook_path": "/Users/hazhu/merge_perf_cpu"},
                        ap_start + 86_400_000, {"cluster_id": ALL_PURPOSE, "spark_context_id": "8880912756278443690"},
                        state="RUNNING", result=None)]},
    ]


def local_workspace(**kwargs) -> LocalDatabricksApi:
    return LocalDatabricksApi(clusters=[job_cluster(), all_purpose_cluster(), gcp_cluster()], events={ALL_PURPOSE: events()},
                              runs=runs(), node_types=NODE_TYPES, page_size=2, task_page_size=2, **kwargs)


@pytest.fixture
def api():
    with local_workspace() as server:
        yield server


@pytest.fixture
def arrow_store(tmp_path):
    return TableStore(None, load_settings(warehouse=str(tmp_path / "wh"), environ={}), backend=DeltaRsBackend())


def client_of(api: LocalDatabricksApi) -> WorkspaceClient:
    return WorkspaceClient(host=api.url, token=api.token)


def utc_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _rows(store, spec, **where):
    return [r for r in store.read_arrow(spec).to_pylist(maps_as_pydicts="strict") if all(r[k] == v for k, v in where.items())]


def test_collects_clusters_nodes_events_and_runs_through_pages_and_a_429(api, arrow_store):
    api.fault("GET", "/api/2.1/clusters/list", 429, "REQUEST_LIMIT_EXCEEDED", headers={"Retry-After": "1"})
    api.fault("GET", "/api/2.2/jobs/runs/list", 500, "INTERNAL_ERROR")

    summary = collect_from_databricks(arrow_store, RUN_TIME, client=client_of(api), backoff_s=0.05)

    assert summary.exit_code == 0, summary.records
    scope = f"127.0.0.1:{api.port}"
    assert summary.scope == scope and summary.listed == 3
    listed = [q for m, p, q in api.requests if p == "/api/2.1/clusters/list"]
    assert len(listed) == 3 and listed[-1]["page_token"] == "2"  # the 429, then two pages of two
    clusters = {r["cluster_id"]: r for r in _rows(arrow_store, CLUSTERS)}
    assert set(clusters) == {JOB_CLUSTER, ALL_PURPOSE, GCP_CLUSTER, OLD_JOB_CLUSTER}
    job = clusters[JOB_CLUSTER]
    assert (job["cluster_name"], job["cluster_source"], job["state"], job["runtime_version"]) == \
        ("job-703-run-31144", "JOB", "TERMINATED", "9.1.x-scala2.12")
    assert (job["state_message"], job["created_time"], job["ended_time"]) == \
        ("JOB_FINISHED: SUCCESS", utc_ms(T0), utc_ms(T0 + 3_600_000))
    assert (job["master_node_type"], job["worker_node_type"], job["num_workers"], job["zone"]) == \
        ("m5.xlarge", "m5.4xlarge", 4, "us-west-2a")
    assert job["log_uri"] == "s3://job-bank-temp/databricks/9.1.x-scala2.12/AirlineDelayLR_gz/arianna"
    assert job["event_log_dir"] == f"{job['log_uri']}/{JOB_CLUSTER}/eventlog"
    assert job["tags"]["JobId"] == "703" and job["tags"]["team"] == "ml"
    ap = clusters[ALL_PURPOSE]
    assert (ap["autoscale_min_workers"], ap["autoscale_max_workers"], ap["applications"]) == (2, 8, ["STANDARD"])
    assert ap["spark_conf"] == {"spark.sql.shuffle.partitions": "200"}
    assert ap["event_log_dir"] == f"dbfs:/cluster-logs/hao/113cpu/20240213/{ALL_PURPOSE}/eventlog"
    old = clusters[OLD_JOB_CLUSTER]  # gone from clusters/list: built from the run's job cluster spec
    assert (old["cluster_source"], old["runtime_version"], old["created_time"]) == \
        ("job_run_spec", "7.3.x-scala2.12", datetime(2020, 9, 13, 12, 26, 40, tzinfo=timezone.utc))  # 1600000000000

    nodes = {(r["cluster_id"], r["role"]): r for r in _rows(arrow_store, CLUSTER_NODES)}
    driver, workers = nodes[(JOB_CLUSTER, "driver")], nodes[(JOB_CLUSTER, "worker")]
    assert (driver["node_type"], driver["market"], driver["vcpus"], driver["memory_mb"]) == ("m5.xlarge", "ON_DEMAND", 4, 16384)
    assert (workers["node_type"], workers["market"], workers["requested_count"], workers["on_demand_count"]) == \
        ("m5.4xlarge", "SPOT_WITH_FALLBACK", 4, 0)
    assert (workers["vcpus"], workers["memory_mb"], workers["bid_price_percent"]) == (16, 65536, 100.0)
    assert (workers["disk_type"], workers["disk_count"], workers["disk_size_gb"]) == ("GENERAL_PURPOSE_SSD", 1, 100)
    ap_workers = nodes[(ALL_PURPOSE, "worker")]
    assert (ap_workers["market"], ap_workers["on_demand_count"], ap_workers["running_count"]) == ("SPOT_WITH_FALLBACK", 2, 2)
    assert (ap_workers["autoscale_min"], ap_workers["autoscale_max"], ap_workers["vcpus"]) == (2, 8, 8)
    assert nodes[(GCP_CLUSTER, "worker")]["market"] == "PREEMPTIBLE_WITH_FALLBACK"
    assert (nodes[(GCP_CLUSTER, "worker")]["disk_type"], nodes[(GCP_CLUSTER, "worker")]["disk_size_gb"]) == ("boot_disk", 100)
    assert (nodes[(OLD_JOB_CLUSTER, "driver")]["market"], nodes[(OLD_JOB_CLUSTER, "worker")]["requested_count"]) == ("SPOT", 1)

    evts = sorted(_rows(arrow_store, CLUSTER_EVENTS), key=lambda e: e["event_time"])
    assert [e["event_type"] for e in evts] == ["CREATING", "RUNNING", "RESIZING", "UPSIZE_COMPLETED", "NODES_LOST"]
    assert evts[0]["event_time"] == datetime(2024, 2, 7, 20, 16, 46, tzinfo=timezone.utc)  # 1707337006000
    assert evts[0]["details"] == {"user": "hazhu@nvidia.com"}
    assert evts[2]["details"] == {"cause": "AUTOSCALE", "current_num_workers": "2", "target_num_workers": "6"}
    assert json.loads(evts[4]["details"]["reason"]) == {"code": "SPOT_INSTANCE_TERMINATION", "type": "CLOUD_FAILURE"}
    assert (evts[2]["cause"], evts[2]["target_num_workers"]) == ("AUTOSCALE", 6)
    assert (evts[4]["reason_code"], evts[4]["current_num_workers"]) == ("SPOT_INSTANCE_TERMINATION", 5)
    event_calls = [b for _, p, b in api.requests if p == "/api/2.1/clusters/events" and b["cluster_id"] == ALL_PURPOSE]
    assert [b.get("offset") for b in event_calls] == [None, 2, 4]  # next_page followed

    runs_by_id = {r["run_id"]: r for r in _rows(arrow_store, CLUSTER_RUNS)}
    assert set(runs_by_id) == {"31144", "31145", "900", "901", "902", "903", "5000", "5001", "910", "911"}
    assert any(p == "/api/2.2/jobs/runs/get" for _, p, _ in api.requests)  # run 900 has 3 tasks, pages of 2
    parent = runs_by_id["900"]
    assert (parent["run_type"], parent["job_id"], parent["state"], parent["result_state"]) == \
        ("databricks_job_run", "42", "TERMINATED", "FAILED")
    assert parent["properties"] == {"date": "2024-02-13"} and parent["duration_ms"] == 1_900_000
    jar = runs_by_id["902"]
    assert (jar["run_type"], jar["parent_run_id"], jar["task_key"], jar["job_kind"], jar["main"]) == \
        ("databricks_task_run", "900", "jar", "spark_jar_task", "com.acme.Merge")
    assert (jar["arguments"], jar["cluster_id"], jar["spark_context_id"]) == (["--mode", "full"], ALL_PURPOSE, "8880912756278443690")
    assert (jar["setup_duration_ms"], jar["execution_duration_ms"], jar["result_state"]) == (20_000, 560_000, "FAILED")
    assert runs_by_id["901"]["properties"] == {"scale": "100"}
    assert runs_by_id["5001"]["cluster_name"] == "etl" and runs_by_id["911"]["state"] == "RUNNING"


def test_second_collection_skips_what_did_not_change_and_never_duplicates(api, arrow_store):
    client = client_of(api)
    collect_from_databricks(arrow_store, RUN_TIME, client=client)
    api.requests.clear()
    second = collect_from_databricks(arrow_store, RUN_TIME + timedelta(hours=1), client=client)
    assert second.unchanged == 3 and second.count("collected") == 0 and second.runs == 2  # the running run, again
    assert not any(p == "/api/2.1/clusters/events" for _, p, _ in api.requests)
    run_list = [q for _, p, q in api.requests if p == "/api/2.2/jobs/runs/list"]
    assert int(run_list[0]["start_time_from"]) == 1707850702370 - 5_000 + 86_400_000  # the oldest run still active

    # The all-purpose cluster restarts and loses a node; the running run finishes.
    restart = 1707337006000 + 2_000_000
    api.put_cluster(all_purpose_cluster(restarted=restart))
    api.add_events(ALL_PURPOSE, [{"cluster_id": ALL_PURPOSE, "timestamp": restart, "type": "RESTARTING",
                                  "details": {"user": "hazhu@nvidia.com"}}])
    finished = runs()[3]
    finished["state"], finished["end_time"] = {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS"}, finished["start_time"] + 60_000
    api.put_run(finished)
    api.requests.clear()
    third = collect_from_databricks(arrow_store, RUN_TIME + timedelta(hours=2), client=client)
    assert third.count("collected") == 1 and third.unchanged == 2
    [events_call] = [b for _, p, b in api.requests if p == "/api/2.1/clusters/events"]
    assert events_call["start_time"] == 1707337006000 + 900_000  # from the newest stored event on
    evts = _rows(arrow_store, CLUSTER_EVENTS)
    assert len(evts) == 6 and len({(e["event_time"], e["event_type"]) for e in evts}) == 6
    runs_now = _rows(arrow_store, CLUSTER_RUNS)
    assert len(runs_now) == 10 and {r["run_id"]: r["state"] for r in runs_now}["910"] == "TERMINATED"
    assert {r["cluster_id"]: r["ready_time"] for r in _rows(arrow_store, CLUSTERS)}[ALL_PURPOSE] == utc_ms(restart)


def test_permission_errors_name_what_is_missing_and_the_rest_is_collected(api, arrow_store):
    api.deny("/api/2.2/jobs/runs/list")
    api.deny("/api/2.1/clusters/events")
    summary = collect_from_databricks(arrow_store, RUN_TIME, client=client_of(api))
    assert summary.exit_code == 1
    failures = {r["target"].rsplit("/", 2)[-2] + "/" + r["target"].rsplit("/", 1)[-1]: r for r in summary.failed}
    assert "CAN_VIEW" in failures["jobs/runs"]["reason"] and "jobs/runs/list was denied" in failures["jobs/runs"]["reason"]
    partial = failures[f"clusters/{ALL_PURPOSE}"]
    assert partial["status"] == "partial" and "CAN_ATTACH_TO" in partial["reason"]
    assert len(_rows(arrow_store, CLUSTERS)) == 3 and not arrow_store.exists(CLUSTER_RUNS)
    log = _rows(arrow_store, INGEST_LOG, source_kind="databricks_cluster")
    assert {r["status"] for r in log} == {"partial"}  # every cluster is re-collected next time

    api.deny("/api/2.1/clusters/list")
    with pytest.raises(CloudPermissionError) as error:
        collect_from_databricks(arrow_store, RUN_TIME, client=client_of(api))
    assert "clusters/list was denied" in str(error.value) and "CAN_ATTACH_TO" in str(error.value)


def test_the_command_uses_the_sdk_credential_chain_and_links_nothing_without_applications(api, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli_app, ["collect-from-databricks", "--workspace-url", api.url, "--warehouse",
                                     str(tmp_path / "wh")],
                           env={"DATABRICKS_TOKEN": api.token, "DATABRICKS_CONFIG_FILE": str(tmp_path / "none.cfg")})
    assert result.exit_code == 0, result.output
    assert f"databricks 127.0.0.1:{api.port}: listed 3 cluster(s), collected 4" in result.output
    assert api.token not in result.output
    again = runner.invoke(cli_app, ["collect-from-databricks", "--workspace-url", api.url, "--warehouse",
                                    str(tmp_path / "wh"), "--format", "json"],
                          env={"DATABRICKS_TOKEN": api.token, "DATABRICKS_CONFIG_FILE": str(tmp_path / "none.cfg")})
    summary = json.loads(again.output)["summary"]
    # instants in the JSON are ISO-8601 UTC: here the start of the oldest run still active at the first collection
    assert (summary["clusters_unchanged"], summary["watermark"]) == (3, "2024-02-14T18:58:17.370000+00:00")
    wrong = runner.invoke(cli_app, ["collect-from-databricks", "--workspace-url", api.url, "--warehouse",
                                    str(tmp_path / "wh")],
                          env={"DATABRICKS_TOKEN": "dapi-wrong", "DATABRICKS_CONFIG_FILE": str(tmp_path / "none.cfg")})
    assert wrong.exit_code == 2 and "rejected the credentials" in wrong.output and "dapi-wrong" not in wrong.output


@pytest.mark.slow
def test_the_spark_submit_job_collects_through_the_session_store(api, spark, tmp_path, monkeypatch, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "jobs" / "collect_from_databricks.py"
    spec = importlib.util.spec_from_file_location("collect_from_databricks_job", path)
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    monkeypatch.setenv("DATABRICKS_TOKEN", api.token)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "none.cfg"))
    assert job.main(["--workspace-url", api.url, "--warehouse", str(tmp_path / "wh")]) == 0
    assert "listed 3 cluster(s), collected 4" in capsys.readouterr().out
    store = TableStore(None, load_settings(warehouse=str(tmp_path / "wh"), environ={}), backend=DeltaRsBackend())
    assert len(_rows(store, CLUSTER_RUNS)) == 10


def test_an_unreachable_workspace_is_given_up_on_at_the_deadline_saying_what_was_waited_for():
    from spark_optimizer.collectors.databricks import _Caller
    from spark_optimizer.collectors.cloud_rows import CloudCollectError

    attempts = []

    def unreachable():
        attempts.append(1)
        raise ConnectionError("Connection refused")

    call = _Caller(retries=1_000, backoff_s=0.01, deadline_s=0.2, host="adb-1.azuredatabricks.net")
    with pytest.raises(CloudCollectError) as failure:
        call("clusters/list", unreachable)
    message = str(failure.value)
    assert "clusters/list: gave up after" in message and "waiting for adb-1.azuredatabricks.net" in message
    assert "ConnectionError: Connection refused" in message and 1 < len(attempts) < 1_000
