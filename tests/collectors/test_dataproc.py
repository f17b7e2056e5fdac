"""The Dataproc collector through the real google-cloud-dataproc clients (REST transport, anonymous
credentials, an http:// api_endpoint) against a local server serving the documented v1 JSON
(`tests.fakes.dataproc_api`), with nextPageToken paging, a 503, a 429 and 403s.

The two main clusters carry the names, uuids and buckets that real Dataproc event logs of the shared
corpus name (NVIDIA nds_q72_dataproc_2_2.zstd and nds_q66_gpu.zstd), so the linking tests reuse them.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
from google.auth.credentials import AnonymousCredentials
from typer.testing import CliRunner

from spark_optimizer.cli import app as cli_app
from spark_optimizer.collectors.cloud_rows import CloudPermissionError
from spark_optimizer.collectors.dataproc import DataprocClients, collect_from_dataproc, machine_shape
from spark_optimizer.config import load_settings
from tests.fakes.dataproc_api import LocalDataprocApi
from spark_optimizer.tables import CLUSTER_EVENTS, CLUSTER_NODES, CLUSTER_RUNS, CLUSTERS
from spark_optimizer.tables.store import DeltaRsBackend, TableStore

PROJECT, REGION = "rapids-spark", "us-central1"
SCOPE = f"{PROJECT}/{REGION}"
RUN_TIME = datetime(2026, 11, 1, tzinfo=timezone.utc)
NDS_UUID, GPU_UUID, ETL_UUID = ("509a5726-cc60-42e8-80b2-b32cad06e1bd", "cea2d6e0-ca47-48c1-aa8e-30d8aab66efa",
                                "0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b")
MACHINES = "https://www.googleapis.com/compute/v1/projects/rapids-spark/zones/us-central1-f/machineTypes"
POLICY = f"projects/{PROJECT}/regions/{REGION}/autoscalingPolicies/nds-policy"


def nds_cluster() -> dict:
    return {
        "projectId": PROJECT, "clusterName": "psarthi-nds-cpu-test", "clusterUuid": NDS_UUID,
        "config": {
            "configBucket": "mahrens-test", "tempBucket": "dataproc-temp-us-central1-1025407039067-szilpert",
            "gceClusterConfig": {"zoneUri": "https://www.googleapis.com/compute/v1/projects/rapids-spark/zones/us-central1-f"},
            "masterConfig": {"numInstances": 1, "instanceNames": ["psarthi-nds-cpu-test-m"],
                             "machineTypeUri": f"{MACHINES}/n2-standard-16",
                             "diskConfig": {"bootDiskType": "pd-ssd", "bootDiskSizeGb": 500}},
            "workerConfig": {"numInstances": 4, "instanceNames": [f"psarthi-nds-cpu-test-w-{i}" for i in range(4)],
                             "machineTypeUri": f"{MACHINES}/n2-highmem-32",
                             "diskConfig": {"bootDiskType": "pd-balanced", "bootDiskSizeGb": 1000, "numLocalSsds": 2}},
            "secondaryWorkerConfig": {"numInstances": 2, "machineTypeUri": f"{MACHINES}/n2-highmem-32",
                                      "preemptibility": "SPOT"},
            "softwareConfig": {"imageVersion": "2.2.58-debian12", "optionalComponents": ["JUPYTER"],
                               "properties": {"spark:spark.executor.memory": "40g", "yarn:yarn.nodemanager.resource.memory-mb": "250000"}},
            "autoscalingConfig": {"policyUri": POLICY},
        },
        "labels": {"team": "rapids", "goog-dataproc-cluster-uuid": NDS_UUID},
        "status": {"state": "RUNNING", "stateStartTime": "2025-07-02T21:55:10.120Z"},
        "statusHistory": [{"state": "CREATING", "stateStartTime": "2025-07-02T21:52:01.500123Z"}],
    }


def gpu_cluster() -> dict:
    return {
        "projectId": PROJECT, "clusterName": "eord-dataproc-query", "clusterUuid": GPU_UUID,
        "config": {
            "configBucket": "eordentlich", "tempBucket": "dataproc-temp-us-central1-1025407039067-szilpert",
            "masterConfig": {"numInstances": 1, "machineTypeUri": f"{MACHINES}/n1-standard-8"},
            "workerConfig": {"numInstances": 2, "machineTypeUri": f"{MACHINES}/custom-16-65536",
                             "accelerators": [{"acceleratorTypeUri": "nvidia-tesla-t4", "acceleratorCount": 2}]},
            "softwareConfig": {"imageVersion": "2.1.25-ubuntu20",
                               "properties": {"spark:spark.eventLog.dir": "gs://eordentlich/spark-events"}},
        },
        "status": {"state": "STOPPED", "stateStartTime": "2023-11-30T20:00:00Z"},
        "statusHistory": [{"state": "CREATING", "stateStartTime": "2023-11-30T17:40:00Z"},
                          {"state": "RUNNING", "stateStartTime": "2023-11-30T17:43:00Z"},
                          {"state": "STOPPING", "stateStartTime": "2023-11-30T19:59:00Z"}],
    }


def etl_cluster() -> dict:
    return {
        "projectId": PROJECT, "clusterName": "etl-small", "clusterUuid": ETL_UUID,
        "config": {"masterConfig": {"numInstances": 1, "machineTypeUri": f"{MACHINES}/e2-standard-4"},
                   "workerConfig": {"numInstances": 2, "machineTypeUri": f"{MACHINES}/e2-standard-4"}},
        "status": {"state": "ERROR", "detail": "Initialization action failed", "stateStartTime": "2026-10-30T10:00:00Z"},
    }


def policies() -> list[dict]:
    return [{"id": "nds-policy", "name": POLICY,
             "basicAlgorithm": {"yarnConfig": {"scaleUpFactor": 0.5, "scaleDownFactor": 1.0, "gracefulDecommissionTimeout": "3600s"}},
             "workerConfig": {"minInstances": 2, "maxInstances": 10}, "secondaryWorkerConfig": {"minInstances": 0, "maxInstances": 20}}]


def jobs() -> list[dict]:
    return [
        {"reference": {"projectId": PROJECT, "jobId": "nds-q72-7f3a"},
         "placement": {"clusterName": "psarthi-nds-cpu-test", "clusterUuid": NDS_UUID},
         "sparkJob": {"mainClass": "com.nvidia.nds.NDSBenchmark", "jarFileUris": ["gs://rapids-nds/nds.jar"],
                      "args": ["--query", "q72"], "properties": {"spark.executor.memory": "40G"}},
         "status": {"state": "DONE", "stateStartTime": "2025-07-02T22:31:40Z"},
         "statusHistory": [{"state": "PENDING", "stateStartTime": "2025-07-02T22:03:30Z"},
                           {"state": "SETUP_DONE", "stateStartTime": "2025-07-02T22:03:31Z"},
                           {"state": "RUNNING", "stateStartTime": "2025-07-02T22:03:32Z"}],
         "yarnApplications": [{"name": "NDS - Power Run", "state": "FINISHED", "progress": 1,
                               "trackingUrl": "http://psarthi-nds-cpu-test-m:8088/proxy/application_1751493828576_0001/"}],
         "jobUuid": "8a1f3c2e-0d4b-4f6a-9e8d-7c6b5a4f3e2d"},
        {"reference": {"projectId": PROJECT, "jobId": "daily-agg-20261030"},
         "placement": {"clusterName": "etl-small", "clusterUuid": ETL_UUID},
         "pysparkJob": {"mainPythonFileUri": "gs://acme-code/daily_agg.py", "args": ["--date", "2026-10-30"]},
         "status": {"state": "ERROR", "details": "Job failed with message [ValueError]", "stateStartTime": "2026-10-30T09:30:00Z"},
         "statusHistory": [{"state": "PENDING", "stateStartTime": "2026-10-30T09:00:00Z"},
                           {"state": "RUNNING", "stateStartTime": "2026-10-30T09:00:05Z"}],
         "jobUuid": "1b2c3d4e-5f60-4718-8293-a4b5c6d7e8f9"},
        {"reference": {"projectId": PROJECT, "jobId": "stream-sessions"},
         "placement": {"clusterName": "psarthi-nds-cpu-test", "clusterUuid": NDS_UUID},
         "sparkSqlJob": {"queryFileUri": "gs://acme-code/sessions.sql"},
         "status": {"state": "RUNNING", "stateStartTime": "2026-10-31T00:00:02Z"},
         "statusHistory": [{"state": "PENDING", "stateStartTime": "2026-10-31T00:00:00Z"}],
         "jobUuid": "2c3d4e5f-6071-4829-93a4-b5c6d7e8f901"},
    ]


def batch(name: str, uuid: str, created: str, state: str, state_time: str, **extra) -> dict:
    return {"name": f"projects/{PROJECT}/locations/{REGION}/batches/{name}", "uuid": uuid, "createTime": created,
            "sparkBatch": {"mainClass": "com.acme.Nightly", "jarFileUris": ["gs://acme-code/nightly.jar"], "args": ["--full"]},
            "runtimeConfig": {"version": "2.2", "properties": {"spark.executor.instances": "4"}},
            "state": state, "stateTime": state_time, **extra}


def batches() -> list[dict]:
    return [
        batch("nightly-20261029", "3d4e5f60-7182-4930-a4b5-c6d7e8f90112", "2026-10-29T01:00:00Z", "SUCCEEDED",
              "2026-10-29T01:30:00Z", stateHistory=[{"state": "PENDING", "stateStartTime": "2026-10-29T01:00:00Z"},
                                                    {"state": "RUNNING", "stateStartTime": "2026-10-29T01:02:00Z"}],
              runtimeInfo={"approximateUsage": {"milliDcuSeconds": "7200000", "shuffleStorageGbSeconds": "3600"}}),
        batch("nightly-20261030", "4e5f6071-8293-4a41-b5c6-d7e8f9011223", "2026-10-30T01:00:00Z", "FAILED",
              "2026-10-30T01:10:00Z", stateMessage="Driver exited with code 1",
              stateHistory=[{"state": "PENDING", "stateStartTime": "2026-10-30T01:00:00Z"},
                            {"state": "RUNNING", "stateStartTime": "2026-10-30T01:01:00Z"}]),
        batch("nightly-20261031", "5f607182-93a4-4b52-86d7-e8f901122334", "2026-10-31T01:00:00Z", "RUNNING",
              "2026-10-31T01:01:30Z", stateHistory=[{"state": "PENDING", "stateStartTime": "2026-10-31T01:00:00Z"}]),
    ]


def local_region() -> LocalDataprocApi:
    return LocalDataprocApi(PROJECT, REGION, clusters=[nds_cluster(), gpu_cluster(), etl_cluster()], jobs=jobs(),
                            batches=batches(), policies=policies(), page_size=2)


def clients_of(api: LocalDataprocApi, retries: int = 3) -> DataprocClients:
    return DataprocClients(REGION, api_endpoint=api.url, credentials=AnonymousCredentials(), retries=retries,
                           backoff_s=0.05, timeout_s=10)


@pytest.fixture
def api():
    with local_region() as server:
        yield server


@pytest.fixture
def arrow_store(tmp_path):
    return TableStore(None, load_settings(warehouse=str(tmp_path / "wh"), environ={}), backend=DeltaRsBackend())


def _rows(store, spec, **where):
    return [r for r in store.read_arrow(spec).to_pylist(maps_as_pydicts="strict") if all(r[k] == v for k, v in where.items())]


def test_machine_shapes_come_from_the_machine_type_name():
    assert machine_shape("n2-highmem-32") == (32, None)
    assert machine_shape("custom-16-65536") == (16, 65536)
    assert machine_shape("n2-custom-6-23040") == (6, 23040)
    assert machine_shape("e2-medium") == (None, None)


def test_collects_clusters_nodes_history_jobs_and_batches_through_pages_a_503_and_a_429(api, arrow_store):
    api.fault("/clusters", 503)
    api.fault("/jobs", 429)

    summary = collect_from_dataproc(arrow_store, PROJECT, REGION, RUN_TIME, clients=clients_of(api))

    assert summary.exit_code == 0, summary.records
    assert summary.listed == 3 and summary.count("collected") == 3 and summary.runs == 6
    cluster_calls = [q for p, q in api.requests if p.endswith("/clusters")]
    assert len(cluster_calls) == 3 and cluster_calls[-1]["pageToken"] == "2"  # the 503, then two pages
    clusters = {r["cluster_id"]: r for r in _rows(arrow_store, CLUSTERS)}
    nds = clusters[NDS_UUID]
    assert (nds["provider"], nds["scope"], nds["cluster_name"], nds["state"]) == ("dataproc", SCOPE, "psarthi-nds-cpu-test", "RUNNING")
    assert (nds["runtime_version"], nds["applications"], nds["zone"], nds["region"]) == \
        ("2.2.58-debian12", ["JUPYTER"], "us-central1-f", REGION)
    assert nds["created_time"] == datetime(2025, 7, 2, 21, 52, 1, 500123, tzinfo=timezone.utc)  # microseconds kept
    assert nds["ready_time"] == datetime(2025, 7, 2, 21, 55, 10, 120000, tzinfo=timezone.utc) and nds["ended_time"] is None
    assert nds["log_uri"] == "gs://mahrens-test"
    # where Dataproc writes Spark event logs: the bucket and uuid the real nds_q72 log's spark.eventLog.dir names
    assert nds["event_log_dir"] == f"gs://dataproc-temp-us-central1-1025407039067-szilpert/{NDS_UUID}/spark-job-history"
    assert nds["spark_conf"] == {"spark.executor.memory": "40g"} and nds["tags"]["team"] == "rapids"
    assert (nds["master_node_type"], nds["worker_node_type"], nds["num_workers"]) == ("n2-standard-16", "n2-highmem-32", 6)
    assert (nds["autoscale_min_workers"], nds["autoscale_max_workers"], nds["autoscale_policy"]) == (2, 30, POLICY)
    gpu = clusters[GPU_UUID]
    assert gpu["event_log_dir"] == "gs://eordentlich/spark-events" and gpu["ended_time"] == datetime(2023, 11, 30, 20, tzinfo=timezone.utc)
    assert clusters[ETL_UUID]["state_message"] == "Initialization action failed"

    nodes = {(r["cluster_id"], r["role"]): r for r in _rows(arrow_store, CLUSTER_NODES)}
    worker, secondary = nodes[(NDS_UUID, "worker")], nodes[(NDS_UUID, "secondary_worker")]
    assert (worker["node_type"], worker["market"], worker["requested_count"], worker["running_count"]) == \
        ("n2-highmem-32", "ON_DEMAND", 4, 4)
    assert (worker["vcpus"], worker["disk_type"], worker["disk_size_gb"], worker["autoscale_max"]) == (32, "pd-balanced", 1000, 10)
    assert (secondary["market"], secondary["requested_count"], secondary["autoscale_max"]) == ("SPOT", 2, 20)
    gpu_workers = nodes[(GPU_UUID, "worker")]
    assert (gpu_workers["vcpus"], gpu_workers["memory_mb"], gpu_workers["gpus"]) == (16, 65536, 2)  # per node
    assert nodes[(GPU_UUID, "master")]["market"] == "ON_DEMAND"

    history = sorted((e["event_time"], e["event_type"]) for e in _rows(arrow_store, CLUSTER_EVENTS, cluster_id=GPU_UUID))
    assert [t for _, t in history] == ["CREATING", "RUNNING", "STOPPING", "STOPPED"]
    assert history[0][0] == datetime(2023, 11, 30, 17, 40, tzinfo=timezone.utc)
    [failed_event] = _rows(arrow_store, CLUSTER_EVENTS, cluster_id=ETL_UUID)
    assert failed_event["details"] == {"detail": "Initialization action failed"}

    runs = {r["job_id"]: r for r in _rows(arrow_store, CLUSTER_RUNS)}
    q72 = runs["nds-q72-7f3a"]
    assert (q72["run_type"], q72["run_id"], q72["cluster_id"], q72["cluster_name"], q72["job_kind"]) == \
        ("dataproc_job", "8a1f3c2e-0d4b-4f6a-9e8d-7c6b5a4f3e2d", NDS_UUID, "psarthi-nds-cpu-test", "sparkJob")
    assert (q72["main"], q72["arguments"], q72["state"]) == ("com.nvidia.nds.NDSBenchmark", ["--query", "q72"], "DONE")
    assert q72["yarn_application_ids"] == ["application_1751493828576_0001"]
    assert (q72["start_time"], q72["end_time"], q72["duration_ms"]) == \
        (datetime(2025, 7, 2, 22, 3, 32, tzinfo=timezone.utc), datetime(2025, 7, 2, 22, 31, 40, tzinfo=timezone.utc), 1688000)
    assert q72["properties"] == {"spark.executor.memory": "40G"}
    failed = runs["daily-agg-20261030"]
    assert (failed["job_kind"], failed["main"], failed["state_message"]) == \
        ("pysparkJob", "gs://acme-code/daily_agg.py", "Job failed with message [ValueError]")
    assert runs["stream-sessions"]["end_time"] is None and runs["stream-sessions"]["job_kind"] == "sparkSqlJob"
    done = runs["nightly-20261029"]
    assert (done["run_type"], done["run_id"], done["job_kind"], done["state"]) == \
        ("dataproc_batch", "3d4e5f60-7182-4930-a4b5-c6d7e8f90112", "sparkBatch", "SUCCEEDED")
    assert (done["milli_dcu_seconds"], done["shuffle_storage_gb_seconds"], done["duration_ms"]) == (7200000, 3600, 1_680_000)
    assert done["cluster_id"] is None and done["properties"] == {"spark.executor.instances": "4"}
    assert runs["nightly-20261030"]["state_message"] == "Driver exited with code 1"


def test_second_collection_is_incremental(api, arrow_store):
    clients = clients_of(api)
    collect_from_dataproc(arrow_store, PROJECT, REGION, RUN_TIME, clients=clients)
    api.requests.clear()
    second = collect_from_dataproc(arrow_store, PROJECT, REGION, RUN_TIME + timedelta(hours=1), clients=clients)
    assert second.unchanged == 3 and second.count("collected") == 0
    assert second.runs == 2  # the running job and the running batch, again
    [batch_call] = [q for p, q in api.requests if p.endswith("/batches")]
    assert batch_call["filter"] == 'create_time >= "2026-10-31T01:00:00.000Z"'  # the batch still running
    assert not any("autoscalingPolicies" in p for p, _ in api.requests)

    running = nds_cluster()
    running["statusHistory"].append(running["status"])
    running["status"] = {"state": "UPDATING", "stateStartTime": "2026-10-31T12:00:00Z"}
    api.put_cluster(running)
    third = collect_from_dataproc(arrow_store, PROJECT, REGION, RUN_TIME + timedelta(hours=2), clients=clients)
    assert third.count("collected") == 1 and third.unchanged == 2
    events = _rows(arrow_store, CLUSTER_EVENTS, cluster_id=NDS_UUID)
    assert sorted(e["event_type"] for e in events) == ["CREATING", "RUNNING", "UPDATING"]
    assert len(_rows(arrow_store, CLUSTER_RUNS)) == 6 and len(_rows(arrow_store, CLUSTERS)) == 3


def test_permission_errors_name_the_missing_iam_permission(api, arrow_store):
    api.deny("/jobs", "dataproc.jobs.list")
    api.deny("/autoscalingPolicies/nds-policy", "dataproc.autoscalingPolicies.get")
    summary = collect_from_dataproc(arrow_store, PROJECT, REGION, RUN_TIME, clients=clients_of(api))
    reasons = {r["target"]: (r["status"], r["reason"]) for r in summary.failed}
    status, reason = reasons[f"dataproc://{SCOPE}/jobs"]
    assert status == "failed" and "needs the permission dataproc.jobs.list" in reason
    status, reason = reasons[f"dataproc://{SCOPE}/clusters/{NDS_UUID}"]
    assert status == "partial" and "dataproc.autoscalingPolicies.get" in reason
    assert len(_rows(arrow_store, CLUSTERS)) == 3
    assert {r["run_type"] for r in _rows(arrow_store, CLUSTER_RUNS)} == {"dataproc_batch"}

    api.deny("/clusters", "dataproc.clusters.list")
    with pytest.raises(CloudPermissionError) as error:
        collect_from_dataproc(arrow_store, PROJECT, REGION, RUN_TIME, clients=clients_of(api))
    assert error.value.permission == "dataproc.clusters.list"


def _service_account_key(path, token_uri: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.write_text(json.dumps({
        "type": "service_account", "project_id": PROJECT, "private_key_id": "local", "private_key": pem.decode(),
        "client_email": f"collector@{PROJECT}.iam.gserviceaccount.com", "client_id": "1", "token_uri": token_uri}))


def test_the_command_takes_application_default_credentials(api, tmp_path):
    key = tmp_path / "key.json"
    _service_account_key(key, "https://oauth2.googleapis.com/token")
    runner = CliRunner()
    result = runner.invoke(cli_app, ["collect-from-dataproc", "--project", PROJECT, "--region", REGION, "--api-endpoint",
                                     api.url, "--warehouse", str(tmp_path / "wh")],
                           env={"GOOGLE_APPLICATION_CREDENTIALS": str(key)})
    assert result.exit_code == 0, result.output
    assert f"dataproc {SCOPE}: listed 3 cluster(s), collected 3" in result.output
    # every call carried the service account's self-signed JWT (google-auth's JWT access for service accounts)
    tokens = {a.split(" ", 1)[1] for a in api.authorizations if a and a.startswith("Bearer ")}
    # (google-auth may sign more than one during a run — per API client or on renewal — so count the signer, not tokens)
    assert len(api.authorizations) >= 5 and tokens and None not in api.authorizations
    for token in tokens:
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["iss"] == f"collector@{PROJECT}.iam.gserviceaccount.com"
        assert token not in result.output

    missing = runner.invoke(cli_app, ["collect-from-dataproc", "--project", PROJECT, "--region", REGION, "--api-endpoint",
                                      api.url, "--warehouse", str(tmp_path / "wh")],
                            env={"GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "absent.json")})
    assert missing.exit_code == 2 and "no Google credentials found" in missing.output
