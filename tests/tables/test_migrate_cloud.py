"""A warehouse whose cloud tables release d8a4dd8 wrote (instants as epoch-millisecond longs named `*_ms`,
cluster_events.details as JSON text) is upgraded in place when this release first opens a table: the
instants become UTC timestamps under their new names, details a map, every row kept."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake
from google.auth.credentials import AnonymousCredentials

from spark_optimizer.collectors.cloud_store import load_state
from spark_optimizer.collectors.dataproc import DataprocClients, collect_from_dataproc
from spark_optimizer.tables import CLUSTER_EVENTS, CLUSTER_RUNS, CLUSTERS
from spark_optimizer.tables.schema import Column, arrow_type_of
from spark_optimizer.tables.store import DeltaRsBackend, TableStore
from tests.fakes.dataproc_api import LocalDataprocApi

# {table: [[column, type], ...]} as release d8a4dd8 declared every table (its spark_optimizer/tables/*.py).
RELEASE_D8A4DD8 = json.loads((Path(__file__).parent / "release_d8a4dd8_schemas.json").read_text())
COLLECTED_AT = datetime(2026, 11, 1, tzinfo=timezone.utc)
CREATED_MS, READY_MS = 1_707_337_006_000, 1_707_337_066_123  # 2024-02-07 20:16:46 UTC, a minute and 123 ms later
CREATED = datetime(2024, 2, 7, 20, 16, 46, tzinfo=timezone.utc)
READY = datetime(2024, 2, 7, 20, 17, 46, 123_000, tzinfo=timezone.utc)


def write_release_d8a4dd8(settings, table: str, rows: list[dict]) -> None:
    """The table as release d8a4dd8 wrote it: its own schema, through delta-rs."""
    schema = pa.schema([pa.field(name, arrow_type_of(Column(name, kind))) for name, kind in RELEASE_D8A4DD8[table]])
    write_deltalake(settings.table_path(table), pa.Table.from_pylist(rows, schema=schema), mode="append")


def rows_of(store: TableStore, spec) -> list[dict]:
    return store.read_arrow(spec).to_pylist(maps_as_pydicts="strict")


def d8a4dd8_cluster(cluster_id: str, **times) -> dict:
    return {"provider": "databricks", "scope": "adb-1.2.azuredatabricks.net", "cluster_id": cluster_id,
            "cluster_name": "etl", "state": "TERMINATED", "spark_conf": {"spark.sql.shuffle.partitions": "200"},
            "collected_at": COLLECTED_AT, **times}


def d8a4dd8_event(timestamp_ms: int, event_type: str, details: str | None, **fields) -> dict:
    return {"provider": "databricks", "scope": "adb-1.2.azuredatabricks.net", "cluster_id": "0207-201646-abc",
            "timestamp_ms": timestamp_ms, "event_type": event_type, "details": details, "collected_at": COLLECTED_AT,
            **fields}


def test_cluster_instants_of_release_d8a4dd8_become_utc_timestamps_with_their_rows(settings):
    write_release_d8a4dd8(settings, "clusters", [
        d8a4dd8_cluster("0207-201646-abc", created_time_ms=CREATED_MS, ready_time_ms=READY_MS,
                        ended_time_ms=CREATED_MS + 3_600_000, changed_time_ms=CREATED_MS + 3_600_000),
        d8a4dd8_cluster("0207-201646-new", created_time_ms=CREATED_MS)])
    store = TableStore(None, settings)

    clusters = {r["cluster_id"]: r for r in rows_of(store, CLUSTERS)}

    ended = datetime(2024, 2, 7, 21, 16, 46, tzinfo=timezone.utc)
    done = clusters["0207-201646-abc"]
    assert (done["created_time"], done["ready_time"], done["ended_time"], done["changed_time"]) == (CREATED, READY, ended, ended)
    assert done["spark_conf"] == {"spark.sql.shuffle.partitions": "200"} and done["cluster_name"] == "etl"
    fresh = clusters["0207-201646-new"]
    assert fresh["created_time"] == CREATED and fresh["ended_time"] is None and fresh["changed_time"] is None
    assert not [c for c in store.read_arrow(CLUSTERS).column_names if c.endswith("_time_ms")]
    assert store.schema_version(CLUSTERS) == CLUSTERS.schema_version


def test_run_instants_become_timestamps_and_run_durations_stay_milliseconds(settings):
    write_release_d8a4dd8(settings, "cluster_runs", [
        {"provider": "emr", "scope": "us-west-2", "run_id": "s-1", "run_type": "emr_step", "state": "COMPLETED",
         "created_time_ms": CREATED_MS, "start_time_ms": READY_MS, "end_time_ms": READY_MS + 600_000,
         "duration_ms": 600_000, "changed_time_ms": READY_MS + 600_000, "properties": {"ActionOnFailure": "CONTINUE"}},
        {"provider": "emr", "scope": "us-west-2", "run_id": "s-2", "run_type": "emr_step", "state": "PENDING",
         "created_time_ms": CREATED_MS}])
    store = TableStore(None, settings)

    runs = {r["run_id"]: r for r in rows_of(store, CLUSTER_RUNS)}

    finished = datetime(2024, 2, 7, 20, 27, 46, 123_000, tzinfo=timezone.utc)
    step = runs["s-1"]
    assert (step["created_time"], step["start_time"], step["end_time"], step["changed_time"]) == (CREATED, READY, finished, finished)
    assert step["duration_ms"] == 600_000 and step["properties"] == {"ActionOnFailure": "CONTINUE"}
    assert (runs["s-2"]["created_time"], runs["s-2"]["start_time"]) == (CREATED, None)
    names = store.read_arrow(CLUSTER_RUNS).column_names
    assert "duration_ms" in names and "start_time_ms" not in names


RELEASE_EVENTS = [
    d8a4dd8_event(CREATED_MS, "CREATING", '{"user":"hazhu@nvidia.com"}'),
    d8a4dd8_event(READY_MS, "NODES_LOST",
                  '{"current_num_workers":5,"reason":{"code":"SPOT_INSTANCE_TERMINATION","type":"CLOUD_FAILURE"},'
                  '"target_num_workers":6}', current_num_workers=5, reason_code="SPOT_INSTANCE_TERMINATION"),
    d8a4dd8_event(READY_MS + 1, "RUNNING", None),
]


def test_cluster_events_get_an_event_time_key_and_their_details_as_a_map(settings):
    write_release_d8a4dd8(settings, "cluster_events", RELEASE_EVENTS)
    store = TableStore(None, settings)

    events = {r["event_type"]: r for r in rows_of(store, CLUSTER_EVENTS)}

    assert len(events) == len(RELEASE_EVENTS)
    assert events["CREATING"]["event_time"] == CREATED and events["CREATING"]["details"] == {"user": "hazhu@nvidia.com"}
    lost = events["NODES_LOST"]
    assert lost["event_time"] == READY and lost["current_num_workers"] == 5
    assert lost["details"]["current_num_workers"] == "5" and lost["details"]["target_num_workers"] == "6"
    assert json.loads(lost["details"]["reason"]) == {"code": "SPOT_INSTANCE_TERMINATION", "type": "CLOUD_FAILURE"}
    assert events["RUNNING"]["details"] is None
    assert DeltaTable(settings.table_path("cluster_events")).version() == 1  # one upgrade commit


def test_spark_reads_the_upgraded_events_as_timestamps_and_a_map(spark, settings):
    write_release_d8a4dd8(settings, "cluster_events", RELEASE_EVENTS)

    lost = TableStore(spark, settings).read(CLUSTER_EVENTS).where("event_type = 'NODES_LOST'").selectExpr(
        "CAST(unix_millis(event_time) AS BIGINT) AS event_ms", "details['target_num_workers'] AS target",
        "get_json_object(details['reason'], '$.code') AS reason").first()

    assert (lost.event_ms, lost.target, lost.reason) == (READY_MS, "6", "SPOT_INSTANCE_TERMINATION")


def test_the_collection_state_read_from_upgraded_tables_is_in_instants(settings):
    write_release_d8a4dd8(settings, "clusters", [d8a4dd8_cluster("0207-201646-abc", created_time_ms=CREATED_MS,
                                                                 changed_time_ms=READY_MS)])
    write_release_d8a4dd8(settings, "cluster_events", RELEASE_EVENTS)

    state = load_state(TableStore(None, settings), "databricks", "adb-1.2.azuredatabricks.net")

    assert state.clusters["0207-201646-abc"] == ("TERMINATED", READY, CREATED)
    assert state.cluster_unchanged("0207-201646-abc", "TERMINATED", READY)
    assert state.last_event["0207-201646-abc"] == datetime(2024, 2, 7, 20, 17, 46, 124_000, tzinfo=timezone.utc)


PROJECT, REGION = "rapids-spark", "us-central1"
ETL_UUID = "5b0f7a9e-1c2d-4e3f-8a9b-0c1d2e3f4a5b"


def test_a_dataproc_collection_continues_an_upgraded_warehouse_without_duplicating_events(settings):
    """The cluster went from RUNNING (stored by release d8a4dd8) to ERROR: the new status is added to the
    upgraded events, the stored ones stay single."""
    scope = f"{PROJECT}/{REGION}"
    created_ms, running_ms = 1_793_350_800_000, 1_793_350_980_000  # 2026-10-30 09:00:00 and 09:03:00 UTC
    stored = {"provider": "dataproc", "scope": scope, "cluster_id": ETL_UUID, "collected_at": COLLECTED_AT}
    write_release_d8a4dd8(settings, "clusters", [{**stored, "cluster_name": "etl-small", "state": "RUNNING",
                                                  "created_time_ms": created_ms, "ready_time_ms": running_ms,
                                                  "changed_time_ms": running_ms}])
    write_release_d8a4dd8(settings, "cluster_events", [
        {**stored, "timestamp_ms": created_ms, "event_type": "CREATING", "details": None},
        {**stored, "timestamp_ms": running_ms, "event_type": "RUNNING", "details": '{"detail":"Cluster is ready"}'}])
    cluster = {"projectId": PROJECT, "clusterName": "etl-small", "clusterUuid": ETL_UUID,
               "config": {"workerConfig": {"numInstances": 2, "machineTypeUri": "e2-standard-4"}},
               "status": {"state": "ERROR", "detail": "Initialization action failed", "stateStartTime": "2026-10-30T10:00:00Z"},
               "statusHistory": [{"state": "CREATING", "stateStartTime": "2026-10-30T09:00:00Z"},
                                 {"state": "RUNNING", "detail": "Cluster is ready", "stateStartTime": "2026-10-30T09:03:00Z"}]}
    store = TableStore(None, settings, backend=DeltaRsBackend())

    with LocalDataprocApi(PROJECT, REGION, clusters=[cluster]) as api:
        clients = DataprocClients(REGION, api_endpoint=api.url, credentials=AnonymousCredentials(), retries=0, timeout_s=10)
        summary = collect_from_dataproc(store, PROJECT, REGION, COLLECTED_AT, clients=clients, jobs=False, batches=False)

    assert summary.exit_code == 0 and summary.count("collected") == 1 and summary.events == 1, summary.records
    events = sorted(rows_of(store, CLUSTER_EVENTS), key=lambda e: e["event_time"])
    assert [(e["event_type"], e["details"]) for e in events] == [
        ("CREATING", None), ("RUNNING", {"detail": "Cluster is ready"}), ("ERROR", {"detail": "Initialization action failed"})]
    assert events[2]["event_time"] == datetime(2026, 10, 30, 10, tzinfo=timezone.utc)
    [row] = rows_of(store, CLUSTERS)
    assert (row["state"], row["created_time"], row["ended_time"]) == \
        ("ERROR", datetime(2026, 10, 30, 9, tzinfo=timezone.utc), datetime(2026, 10, 30, 10, tzinfo=timezone.utc))


@pytest.mark.parametrize("spec", [CLUSTERS, CLUSTER_RUNS, CLUSTER_EVENTS], ids=lambda s: s.name)
def test_every_instant_release_d8a4dd8_stored_in_milliseconds_has_an_upgrade(spec):
    renamed = {u.old_name: u.column for u in spec.upgrades if u.old_name}
    old_instants = [name for name, kind in RELEASE_D8A4DD8[spec.name]
                    if kind == "long" and name.endswith("_ms") and "duration" not in name]

    assert old_instants and sorted(renamed) == sorted(old_instants)
    assert all(spec.column(column).type == "timestamp" for column in renamed.values())
