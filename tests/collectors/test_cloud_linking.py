"""Linking Spark applications to their cloud cluster and run, with the properties as real event logs
of the shared corpus carry them.

The application and spark_conf rows come from the project's own event-log parser (AppAccumulator)
reading the head of each real log (up to SparkListenerApplicationStart and EnvironmentUpdate), so the
tests do not pay for parsing 76 MB logs; one slow test ingests small real logs with the Spark job.
The clusters and runs come from the Databricks and Dataproc collectors against their local servers
(seeded with the ids the logs name) and, for EMR, from `emr.cluster_from_api` / `step_from_api` on
DescribeCluster / ListSteps payloads (moto cannot create clusters with given ids).
"""

from __future__ import annotations

import shutil
import zipfile
from datetime import datetime, timezone

import orjson
import pyarrow as pa
import pytest

from spark_optimizer.collectors.cloud_store import CloudBatch, write_batch
from spark_optimizer.collectors.databricks import collect_from_databricks
from spark_optimizer.collectors.dataproc import collect_from_dataproc
from spark_optimizer.collectors.emr import cluster_from_api, instance_group_rows, step_from_api
from spark_optimizer.collectors.linking import ids_from_properties, link_applications
from spark_optimizer.config import load_settings
from spark_optimizer.eventlog.accumulator import AppAccumulator
from spark_optimizer.eventlog.codecs import codec_for_name, iter_lines, open_decompressed
from spark_optimizer.tables import APP_CLUSTER_LINKS, APPLICATIONS, SPARK_CONF
from spark_optimizer.tables.instants import epoch_ms
from spark_optimizer.tables.store import DeltaRsBackend, TableStore
from tests.collectors import test_databricks as databricks_seed
from tests.collectors import test_dataproc as dataproc_seed
from tests.conftest import PINNED_RUN_TIME

LOGS = {
    "databricks_job": "synccomputingcode__spark_log_parser/databricks.zip",
    "databricks_all_purpose": "NVIDIA__spark-rapids-tools/spark-events-qualification/db_subExecution_id.zstd",
    "databricks_photon": "NVIDIA__spark-rapids-tools/event_logs/photon_eventlog.zstd",
    "emr_step": "synccomputingcode__spark_log_parser/emr.zip",
    "emr_cluster": "NVIDIA__spark-rapids-tools/spark-events-qualification/cluster_information/platform/emr",
    "dataproc_nds": "NVIDIA__spark-rapids-tools/spark-events-qualification/nds_q72_dataproc_2_2.zstd",
    "dataproc_gpu": "NVIDIA__spark-rapids-tools/spark-events-profiling/nds_q66_gpu.zstd",
    "local": "NVIDIA__spark-rapids-tools/spark-events-profiling/eventlog_dsv1.zstd",
}
EMR_STEP_CLUSTER, EMR_STEP, EMR_OTHER_CLUSTER = "j-3U1FB91S0HX8A", "s-DVPO6YJMJVE3", "j-123AB678XY321"


def head_of(path) -> AppAccumulator:
    """The parser's state after the log's ApplicationStart and EnvironmentUpdate events."""
    path = str(path)
    if path.endswith(".zip"):
        archive = zipfile.ZipFile(path)
        member = next(n for n in archive.namelist() if not n.startswith("__MACOSX") and not n.endswith(("/", ".json"))
                      and ".DS_Store" not in n)
        stream = open_decompressed(archive.open(member), codec_for_name(member))
    else:
        stream = open_decompressed(open(path, "rb"), codec_for_name(path))
    accumulator, seen = AppAccumulator(path, PINNED_RUN_TIME), set()
    with stream:
        for _, line in iter_lines(stream):
            try:
                event = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            accumulator.accept(event)
            seen.add(event.get("Event"))
            if {"SparkListenerApplicationStart", "SparkListenerEnvironmentUpdate"} <= seen:
                return accumulator
    raise AssertionError(f"{path} has no ApplicationStart/EnvironmentUpdate")


def ingest_heads(store: TableStore, logs: dict) -> dict[str, dict]:
    apps, conf = {}, []
    for label, path in logs.items():
        accumulator = head_of(path)
        apps[label] = accumulator.application_row()
        conf.extend(accumulator.conf_rows())
    store.append(APPLICATIONS, pa.Table.from_pylist(list(apps.values()), schema=APPLICATIONS.arrow_schema()))
    store.append(SPARK_CONF, pa.Table.from_pylist(conf, schema=SPARK_CONF.arrow_schema()))
    return apps


def write_emr(store: TableStore, apps: dict) -> None:
    """Two EMR clusters as DescribeCluster/ListInstanceGroups/ListSteps describe them (timestamps as boto3 gives them)."""
    def at(ms):
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)

    step_start = epoch_ms(apps["emr_step"]["start_time"]) - 40_000
    other_start = epoch_ms(apps["emr_cluster"]["start_time"])
    batch = CloudBatch()
    for cid, created, steps in (
        (EMR_STEP_CLUSTER, step_start - 600_000, [{"Id": EMR_STEP, "Name": "AirlineDelay", "Status": {"State": "COMPLETED",
            "Timeline": {"CreationDateTime": at(step_start - 5_000), "StartDateTime": at(step_start),
                         "EndDateTime": at(step_start + 3_600_000)}}, "Config": {"Jar": "command-runner.jar", "Args": ["spark-submit"]}}]),
        (EMR_OTHER_CLUSTER, other_start - 3_600_000, [
            {"Id": "s-EARLIER0000001", "Name": "earlier", "Status": {"State": "COMPLETED", "Timeline": {
                "StartDateTime": at(other_start - 3_000_000), "EndDateTime": at(other_start - 2_000_000)}}},
            {"Id": "s-COVERING000001", "Name": "covering", "Status": {"State": "COMPLETED", "Timeline": {
                "StartDateTime": at(other_start - 20_000), "EndDateTime": at(other_start + 600_000)}}}]),
    ):
        groups = instance_group_rows(cid, "us-east-1", [
            {"Id": f"ig-{cid[2:]}", "InstanceGroupType": "CORE", "InstanceType": "m5.2xlarge", "Market": "SPOT",
             "RequestedInstanceCount": 4, "RunningInstanceCount": 4}], {})
        batch.clusters.append(cluster_from_api({"Id": cid, "Name": cid, "ReleaseLabel": "emr-6.2.0", "Status": {
            "State": "TERMINATED", "Timeline": {"CreationDateTime": at(created)}}}, "us-east-1", groups, None))
        batch.nodes.extend(groups)
        batch.runs.extend(step_from_api(cid, "us-east-1", s) for s in steps)
    write_batch(store, batch, PINNED_RUN_TIME)


@pytest.fixture
def arrow_store(tmp_path):
    return TableStore(None, load_settings(warehouse=str(tmp_path / "wh"), environ={}), backend=DeltaRsBackend())


@pytest.fixture
def corpus(shared_eventlogs):
    return {label: shared_eventlogs / "public" / rel for label, rel in LOGS.items()}


def collect_everything(store: TableStore, apps: dict) -> None:
    from databricks.sdk import WorkspaceClient

    with databricks_seed.local_workspace() as api:
        collect_from_databricks(store, PINNED_RUN_TIME, client=WorkspaceClient(host=api.url, token=api.token))
    with dataproc_seed.local_region() as api:
        collect_from_dataproc(store, dataproc_seed.PROJECT, dataproc_seed.REGION, PINNED_RUN_TIME,
                              clients=dataproc_seed.clients_of(api))
    write_emr(store, apps)


def _links(store) -> dict:
    return {r["app_id"]: r for r in store.read_arrow(APP_CLUSTER_LINKS).to_pylist()}


def test_each_real_application_is_linked_to_its_cluster_and_run(arrow_store, corpus):
    apps = ingest_heads(arrow_store, corpus)
    collect_everything(arrow_store, apps)
    linked_at = datetime(2026, 11, 2, tzinfo=timezone.utc)

    summary = link_applications(arrow_store, linked_at)

    links = _links(arrow_store)
    assert apps["local"]["app_id"] not in links  # no cloud ids: nothing to link
    assert summary.linked == len(links) == 7
    job = links[apps["databricks_job"]["app_id"]]
    assert (job["provider"], job["cluster_id"], job["cluster_found"], job["run_id"], job["run_found"], job["job_id"]) == \
        ("databricks", databricks_seed.JOB_CLUSTER, True, "31144", True, "703")
    assert job["run_evidence"] == "spark.databricks.clusterUsageTags.clusterName=job-703-run-31144"
    assert job["scope"].startswith("127.0.0.1:") and job["linked_at"] == linked_at
    shared = links[apps["databricks_all_purpose"]["app_id"]]  # an all-purpose cluster: its spark context names the task run
    assert (shared["cluster_id"], shared["cluster_found"], shared["run_id"], shared["parent_run_id"], shared["job_id"]) == \
        (databricks_seed.ALL_PURPOSE, True, "901", "900", "42")
    assert shared["run_evidence"].startswith("spark.databricks.sparkContextId=8880912756278443690")
    photon = links[apps["databricks_photon"]["app_id"]]  # its workspace was not collected: ids kept, nothing found
    assert (photon["cluster_id"], photon["cluster_found"], photon["run_id"], photon["run_found"], photon["job_id"]) == \
        ("0602-031250-vt5j31wy", False, "45201782281081", False, "37367558624103")
    step = links[apps["emr_step"]["app_id"]]
    assert (step["provider"], step["scope"], step["cluster_id"], step["cluster_found"], step["run_id"], step["run_found"]) == \
        ("emr", "us-east-1", EMR_STEP_CLUSTER, True, EMR_STEP, True)
    assert step["run_evidence"] == f"EMR_STEP_ID={EMR_STEP}"
    windowed = links[apps["emr_cluster"]["app_id"]]  # no step id logged: the step running when the app started
    assert (windowed["cluster_id"], windowed["run_id"], windowed["run_found"]) == (EMR_OTHER_CLUSTER, "s-COVERING000001", True)
    assert windowed["run_evidence"].startswith("started while run s-COVERING000001 ran on cluster")
    nds = links[apps["dataproc_nds"]["app_id"]]
    assert (nds["provider"], nds["scope"], nds["cluster_id"], nds["cluster_found"]) == \
        ("dataproc", dataproc_seed.SCOPE, dataproc_seed.NDS_UUID, True)
    assert nds["cluster_evidence"].startswith("spark.eventLog.dir=gs://dataproc-temp-us-central1-1025407039067-szilpert/")
    assert (nds["run_id"], nds["job_id"], nds["run_evidence"]) == \
        ("8a1f3c2e-0d4b-4f6a-9e8d-7c6b5a4f3e2d", "nds-q72-7f3a", "YARN application application_1751493828576_0001 listed by the job")
    gpu = links[apps["dataproc_gpu"]["app_id"]]
    assert (gpu["cluster_id"], gpu["cluster_found"], gpu["run_found"]) == (dataproc_seed.GPU_UUID, True, False)
    assert (summary.clusters_found, summary.runs_found) == (6, 5)


def test_links_improve_when_clusters_arrive_later_without_duplicates(arrow_store, corpus):
    apps = ingest_heads(arrow_store, {k: corpus[k] for k in ("databricks_job", "emr_step", "dataproc_nds")})
    before = link_applications(arrow_store, PINNED_RUN_TIME)
    assert before.linked == 3 and before.clusters_found == before.runs_found == 0
    assert {r["run_id"] for r in _links(arrow_store).values()} == {"31144", EMR_STEP, None}  # ids known from the logs

    collect_everything(arrow_store, {**apps, "emr_cluster": head_of(corpus["emr_cluster"]).application_row()})
    after = link_applications(arrow_store, PINNED_RUN_TIME)
    assert (after.linked, after.clusters_found, after.runs_found) == (3, 3, 3)
    assert len(arrow_store.read_arrow(APP_CLUSTER_LINKS)) == 3


def test_ids_from_other_real_property_forms():
    # Dataproc Jobs API submissions tag the YARN application; this tag string is the one the
    # spark-bigquery-connector's tests copy from a real Dataproc job.
    tags = ("dataproc_hash_2cc09905-1a77-3473-9070-d067ea047f4f,dataproc_job_56324553ed9110908c83b6317f4faab,"
            "dataproc_master_index_0,dataproc_uuid_4342a069-0b69-504e-bea4-44986422f720")
    ids = ids_from_properties({"spark.yarn.tags": tags, "spark.driver.host": "etl-m-1.us-central1-a.c.acme.internal"})
    assert (ids.provider, ids.job_id, ids.run_id, ids.cluster_name) == \
        ("dataproc", "56324553ed9110908c83b6317f4faab", "4342a069-0b69-504e-bea4-44986422f720", "etl")
    attempt = ids_from_properties({"spark.yarn.tags": "dataproc_job_attempt_timestamp_1700000000,dataproc_job_abc"})
    assert attempt.job_id == "abc"
    # job runs set these in the Spark session; EMR steps run in their step folder
    dbx = ids_from_properties({"spark.databricks.clusterUsageTags.clusterId": "0101-1", "spark.databricks.job.id": "7",
                               "spark.databricks.job.runId": "99"})
    assert (dbx.job_id, dbx.run_id, dbx.run_evidence) == ("7", "99", "spark.databricks.job.runId=99")
    emr = ids_from_properties({"EMR_CLUSTER_ID": "j-1", "user.dir": "/mnt/var/lib/hadoop/steps/s-ABC123"})
    assert (emr.cluster_id, emr.run_id) == ("j-1", "s-ABC123")


@pytest.mark.slow
def test_linking_works_on_tables_written_by_the_ingestion_job(spark, shared_eventlogs, tmp_path):
    from spark_optimizer.eventlog.ingest import ingest_event_logs

    logs = tmp_path / "logs"
    logs.mkdir()
    for label in ("databricks_photon", "emr_cluster", "local"):
        shutil.copyfile(shared_eventlogs / "public" / LOGS[label], logs / LOGS[label].rsplit("/", 1)[1])
    store = TableStore(spark, load_settings(warehouse=str(tmp_path / "wh"), environ={}))
    assert not ingest_event_logs(spark, store, str(logs), PINNED_RUN_TIME).failed
    write_emr(store, {"emr_step": head_of(shared_eventlogs / "public" / LOGS["emr_step"]).application_row(),
                      "emr_cluster": head_of(shared_eventlogs / "public" / LOGS["emr_cluster"]).application_row()})

    summary = link_applications(store, PINNED_RUN_TIME)

    links = sorted((r["provider"], r["cluster_id"], r["cluster_found"], r["run_id"])
                   for r in store.read_arrow(APP_CLUSTER_LINKS).to_pylist())
    assert summary.linked == 2
    assert links == [("databricks", "0602-031250-vt5j31wy", False, "45201782281081"),
                     ("emr", EMR_OTHER_CLUSTER, True, "s-COVERING000001")]
