"""A warehouse written by the previous release (5f06836: JSON in strings, "key=value" strings, stage ids
as strings) is upgraded to the structured columns when this release first opens a table, rows kept."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from spark_optimizer.recommender.lookup import read_rows
from spark_optimizer.tables import (
    APPLICATIONS,
    APP_METRICS, CLUSTER_RUNS, CLUSTERS, FEATURES, FINDINGS, JOBS, RUNS, SCALING_MODELS, STAGE_METRICS, STAGES,
)
from spark_optimizer.tables.findings import evidence_from_stored
from spark_optimizer.tables.schema import Column, arrow_type_of
from spark_optimizer.tables.store import SparkDeltaBackend, TableStore, session_has_delta

ANALYZED_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
# {table: [[column, type], ...]} of the tables this release changed, as release 5f06836 declared them
# (its spark_optimizer/tables/*.py, `git show 5f06836:spark_optimizer/tables/findings.py`, ...).
PREVIOUS_RELEASE = json.loads((Path(__file__).parent / "previous_release_schemas.json").read_text())


def write_previous_release(settings, table, rows):
    """The table as release 5f06836 wrote it: its own schema, through delta-rs."""
    schema = pa.schema([pa.field(name, arrow_type_of(Column(name, kind))) for name, kind in PREVIOUS_RELEASE[table]])
    write_deltalake(settings.table_path(table), pa.Table.from_pylist(rows, schema=schema), mode="append")


def previous_finding(app_id, rule_id, evidence, stage_ids, conf):
    return {"app_id": app_id, "attempt_id": "", "rule_id": rule_id, "category": "memory", "severity": "severe",
            "severity_rank": 3, "title": f"{rule_id} fired", "evidence": evidence, "stage_ids": stage_ids,
            "recommended_conf": conf, "rationale": "because", "analyzed_at": ANALYZED_AT}


PREVIOUS_FINDINGS = [
    previous_finding("app-1", "excessive_gc", '{"gc_share": 0.25, "heap_use_share": null, "note": "G1"}', ["3", "4"],
                     ["spark.executor.memory=12g", "spark.executor.extraJavaOptions=-XX:+UseG1GC -Da=b"]),
    previous_finding("app-2", "spill_to_disk", '{"spilled_stages": 2, "worst": [1, 2]}', [], []),
    previous_finding("app-3", "internal", None, None, None),
]


def test_findings_of_the_previous_release_become_maps_and_numbers(spark, settings):
    write_previous_release(settings, "findings", PREVIOUS_FINDINGS)
    store = TableStore(spark, settings)

    rows = {r["app_id"]: r for r in store.read_arrow(FINDINGS).to_pylist(maps_as_pydicts="strict")}

    assert len(rows) == len(PREVIOUS_FINDINGS)
    gc = rows["app-1"]
    assert evidence_from_stored(gc["evidence"]) == {"gc_share": 0.25, "heap_use_share": None, "note": "G1"}
    assert gc["stage_ids"] == [3, 4]
    assert gc["recommended_conf"] == {"spark.executor.memory": "12g",
                                      "spark.executor.extraJavaOptions": "-XX:+UseG1GC -Da=b"}
    assert evidence_from_stored(rows["app-2"]["evidence"]) == {"spilled_stages": 2, "worst": [1, 2]}
    assert rows["app-2"]["recommended_conf"] == {} and rows["app-2"]["stage_ids"] == []
    assert rows["app-3"]["evidence"] is None and rows["app-3"]["recommended_conf"] is None
    assert store.schema_version(FINDINGS) == FINDINGS.schema_version


def test_the_upgraded_table_is_read_by_spark_with_sql_on_its_map(spark, settings):
    write_previous_release(settings, "findings", PREVIOUS_FINDINGS)
    findings = TableStore(spark, settings).read(FINDINGS)

    gc = findings.where("app_id = 'app-1'").selectExpr(
        "CAST(evidence['gc_share'] AS DOUBLE) AS gc_share", "recommended_conf['spark.executor.memory'] AS memory",
        "stage_ids[1] AS second_stage").first()

    assert (gc.gc_share, gc.memory, gc.second_stage) == (0.25, "12g", 4)


def test_an_upgrade_is_one_commit_and_the_previous_version_stays_in_the_history(spark, settings):
    write_previous_release(settings, "findings", PREVIOUS_FINDINGS)
    path = settings.table_path("findings")
    store = TableStore(spark, settings)

    assert store.upgrade(FINDINGS) == len(PREVIOUS_FINDINGS)
    assert TableStore(spark, settings).upgrade(FINDINGS) is None  # already current: nothing rewritten
    assert DeltaTable(path).version() == 1
    old = DeltaTable(path, version=0).to_pyarrow_table()
    assert old.column("evidence").type == pa.string() and old.num_rows == len(PREVIOUS_FINDINGS)


def test_rows_written_after_the_upgrade_append_to_the_upgraded_table(spark, settings):
    write_previous_release(settings, "findings", PREVIOUS_FINDINGS)
    store = TableStore(spark, settings)
    new = {**PREVIOUS_FINDINGS[0], "app_id": "app-4", "evidence": {"gc_share": "0.5"}, "stage_ids": [7],
           "recommended_conf": {"spark.executor.cores": "4"}}

    store.append(FINDINGS, pa.Table.from_pylist([new], schema=FINDINGS.arrow_schema()))

    rows = {r["app_id"]: r for r in store.read_arrow(FINDINGS).to_pylist(maps_as_pydicts="strict")}
    assert sorted(rows) == ["app-1", "app-2", "app-3", "app-4"]
    assert rows["app-4"]["stage_ids"] == [7] and rows["app-1"]["stage_ids"] == [3, 4]


def test_the_spark_delta_backend_upgrades_a_previous_release_table(spark, settings):
    if not session_has_delta(spark):
        pytest.skip("Delta Lake's Spark jars are not on this session's classpath (no Maven access here)")
    write_previous_release(settings, "findings", PREVIOUS_FINDINGS)
    store = TableStore(spark, settings, backend=SparkDeltaBackend(spark))

    upgraded = store.read(FINDINGS).where("app_id = 'app-1'").first()

    assert upgraded["recommended_conf"]["spark.executor.memory"] == "12g" and upgraded["stage_ids"] == [3, 4]


PREVIOUS_RECOMMENDATION = {
    "recommendation_id": "rec-0123456789ab", "level": "signature", "job_signature": "etl#abc", "executors": 4,
    "spark_conf": '{"spark.executor.instances": "4", "spark.executor.memory": "8g"}',
    "rule_properties": ["spark.sql.shuffle.partitions=64 (too_few_shuffle_partitions)"],
    "instance_plans": '{"aws": {"instance_type": "m5.2xlarge", "workers": 2, "driver_type": "m5.xlarge", "cost": 0.41, '
                      '"cost_low": 0.37, "cost_high": 0.46, "currency": "USD", "spot_nodes": 0, "plan": "2 x m5.2xlarge"}, '
                      '"gcp": {"error": "no n2 shape has 8 GB per core"}}',
    "table_versions": '{"scaling_models": 3, "runs": 7}', "built_at": ANALYZED_AT,
}


def test_a_recommendations_table_of_the_previous_release_is_upgraded_by_the_jvm_free_lookup(settings):
    write_previous_release(settings, "recommendations", [PREVIOUS_RECOMMENDATION])

    [row] = read_rows(settings)

    assert row["spark_conf"] == {"spark.executor.instances": "4", "spark.executor.memory": "8g"}
    assert row["table_versions"] == {"scaling_models": 3, "runs": 7}
    aws, gcp = row["instance_plans"]["aws"], row["instance_plans"]["gcp"]
    assert (aws["instance_type"], aws["workers"], aws["cost_high"], aws["error"]) == ("m5.2xlarge", 2, 0.46, None)
    assert gcp["error"] == "no n2 shape has 8 GB per core" and gcp["instance_type"] is None
    assert row["rule_properties"] == [{"property": "spark.sql.shuffle.partitions", "value": "64",
                                       "rule_id": "too_few_shuffle_partitions"}] and row["executors"] == 4
    assert DeltaTable(settings.table_path("recommendations")).version() == 1


def test_scaling_models_of_the_previous_release_keep_their_rows_and_read_table_versions_as_a_map(spark, settings):
    previous = [{"job_signature": f"etl#{i}", "run_count": i, "coefficients": '{"fixed": 1.5}',
                 "table_versions": '{"runs": 2, "features": 5}', "trained_at": ANALYZED_AT} for i in range(3)]
    write_previous_release(settings, "scaling_models", previous)

    rows = TableStore(spark, settings).read(SCALING_MODELS).orderBy("job_signature").collect()

    assert [(r.job_signature, r.run_count, r.coefficients) for r in rows] == [
        (p["job_signature"], p["run_count"], {"fixed": 1.5}) for p in previous]
    assert {r.job_signature: r.table_versions for r in rows} == {p["job_signature"]: {"runs": 2, "features": 5} for p in previous}


def test_stage_ids_of_jobs_and_stages_of_the_previous_release_become_integers(spark, settings):
    # The previous release stamped every row of one ingestion with one ingested_at: the generation
    # the applications row names, so its rows stay visible after the upgrade.
    ingested_at = ANALYZED_AT
    write_deltalake(settings.table_path("applications"), pa.Table.from_pylist(
        [{"app_id": "app-1", "attempt_id": "", "ingested_at": ingested_at}], schema=APPLICATIONS.arrow_schema()))
    write_previous_release(settings, "jobs", [
        {"app_id": "app-1", "attempt_id": "", "job_id": 0, "stage_ids": ["0", "1"], "submission_time_ms": 1_000,
         "ingested_at": ingested_at},
        {"app_id": "app-1", "attempt_id": "", "job_id": 1, "stage_ids": None, "ingested_at": ingested_at}])
    write_previous_release(settings, "stages", [
        {"app_id": "app-1", "attempt_id": "", "stage_id": 1, "stage_attempt_id": 0, "parent_stage_ids": ["0"], "job_id": 0,
         "ingested_at": ingested_at}])
    store = TableStore(spark, settings)

    jobs = {r["job_id"]: r for r in store.read_arrow(JOBS).to_pylist()}
    [stage] = store.read(STAGES).collect()

    assert jobs[0]["stage_ids"] == [0, 1] and jobs[0]["submission_time"] == datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc) and jobs[1]["stage_ids"] is None
    assert stage.parent_stage_ids == [0] and stage.job_id == 0


def test_epoch_millisecond_start_times_of_features_and_runs_become_timestamps(spark, settings):
    started_ms = 1_767_225_600_123  # 2026-01-01 00:00:00.123 UTC
    write_previous_release(settings, "features", [
        {"app_id": "app-1", "attempt_id": "", "job_signature": "etl#abc", "start_time_ms": started_ms, "wall_ms": 60_000},
        {"app_id": "app-2", "attempt_id": "", "job_signature": "etl#abc", "start_time_ms": None, "wall_ms": 1}])
    write_previous_release(settings, "runs", [
        {"run_id": "app-1", "source": "eventlog", "start_time_ms": started_ms, "runtime_ms": 60_000}])
    store = TableStore(spark, settings)

    features = {r["app_id"]: r for r in store.read_arrow(FEATURES).to_pylist()}
    [run] = store.read(RUNS).collect()

    started = datetime(2026, 1, 1, 0, 0, 0, 123_000, tzinfo=timezone.utc)
    assert features["app-1"]["start_time"] == started and features["app-1"]["wall_ms"] == 60_000
    assert features["app-2"]["start_time"] is None
    assert "start_time_ms" not in store.read_arrow(FEATURES).column_names
    assert run.start_time.timestamp() == started.timestamp()  # Spark hands back a naive local time
    assert run.runtime_ms == 60_000


def test_cloud_properties_and_tags_of_the_previous_release_become_maps(settings):
    write_previous_release(settings, "clusters", [
        {"provider": "emr", "scope": "us-east-1", "cluster_id": "j-1", "changed_time_ms": 5,
         "spark_conf": '{"spark.dynamicAllocation.enabled":"true"}', "tags": '{"team":"data"}'}])
    write_previous_release(settings, "cluster_runs", [
        {"provider": "databricks", "scope": "ws", "run_id": "901", "run_type": "databricks_task_run",
         "properties": '{"iterations":10,"scale":"100"}'}])
    store = TableStore(None, settings)

    [cluster] = store.read_arrow(CLUSTERS).to_pylist(maps_as_pydicts="strict")
    [run] = store.read_arrow(CLUSTER_RUNS).to_pylist(maps_as_pydicts="strict")

    assert cluster["spark_conf"] == {"spark.dynamicAllocation.enabled": "true"} and cluster["tags"] == {"team": "data"}
    assert cluster["changed_time"] == datetime(1970, 1, 1, 0, 0, 0, 5_000, tzinfo=timezone.utc)  # 5 ms
    assert run["properties"] == {"iterations": "10", "scale": "100"}


def test_unknown_metrics_of_the_previous_release_become_lists_of_reasons(spark, settings):
    reason = "cpu_share_of_run: no executor CPU time is logged for these tasks"
    write_previous_release(settings, "app_metrics", [
        {"app_id": "app-1", "attempt_id": "", "wall_ms": 10, "unknown_metrics": json.dumps([reason])},
        {"app_id": "app-2", "attempt_id": "", "wall_ms": 20, "unknown_metrics": None}])
    write_previous_release(settings, "stage_metrics", [
        {"app_id": "app-1", "attempt_id": "", "stage_id": 0, "stage_attempt_id": 0, "unknown_metrics": json.dumps([reason])}])
    store = TableStore(spark, settings)

    metrics = {r["app_id"]: r for r in store.read_arrow(APP_METRICS).to_pylist()}
    [stage] = store.read(STAGE_METRICS).collect()

    assert metrics["app-1"]["unknown_metrics"] == [reason] and metrics["app-1"]["wall_ms"] == 10
    assert metrics["app-2"]["unknown_metrics"] is None
    assert stage.unknown_metrics == [reason]
