"""A warehouse written by the previous release (5f06836: JSON in strings, "key=value" strings, stage ids
as strings) is upgraded to the structured columns when this release first opens a table, rows kept."""

from __future__ import annotations

from datetime import datetime, timezone

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from spark_optimizer.session import session_has_delta
from spark_optimizer.tables import FINDINGS
from spark_optimizer.tables.findings import evidence_from_stored
from spark_optimizer.tables.store import SparkDeltaBackend, TableStore
from tests.tables.previous_release import findings as previous_findings

ANALYZED_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)


def write_previous_release(settings, spec, rows):
    """The table as release 5f06836 wrote it: its own schema, through delta-rs."""
    write_deltalake(settings.table_path(spec.name), pa.Table.from_pylist(rows, schema=spec.arrow_schema()),
                    mode="append", commit_properties=None)


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
    write_previous_release(settings, previous_findings.FINDINGS, PREVIOUS_FINDINGS)
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
    write_previous_release(settings, previous_findings.FINDINGS, PREVIOUS_FINDINGS)
    findings = TableStore(spark, settings).read(FINDINGS)

    gc = findings.where("app_id = 'app-1'").selectExpr(
        "CAST(evidence['gc_share'] AS DOUBLE) AS gc_share", "recommended_conf['spark.executor.memory'] AS memory",
        "stage_ids[1] AS second_stage").first()

    assert (gc.gc_share, gc.memory, gc.second_stage) == (0.25, "12g", 4)


def test_an_upgrade_is_one_commit_and_the_previous_version_stays_in_the_history(spark, settings):
    write_previous_release(settings, previous_findings.FINDINGS, PREVIOUS_FINDINGS)
    path = settings.table_path("findings")
    store = TableStore(spark, settings)

    assert store.upgrade(FINDINGS) == len(PREVIOUS_FINDINGS)
    assert TableStore(spark, settings).upgrade(FINDINGS) is None  # already current: nothing rewritten
    assert DeltaTable(path).version() == 1
    old = DeltaTable(path, version=0).to_pyarrow_table()
    assert old.column("evidence").type == pa.string() and old.num_rows == len(PREVIOUS_FINDINGS)


def test_rows_written_after_the_upgrade_append_to_the_upgraded_table(spark, settings):
    write_previous_release(settings, previous_findings.FINDINGS, PREVIOUS_FINDINGS)
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
    write_previous_release(settings, previous_findings.FINDINGS, PREVIOUS_FINDINGS)
    store = TableStore(spark, settings, backend=SparkDeltaBackend(spark))

    upgraded = store.read(FINDINGS).where("app_id = 'app-1'").first()

    assert upgraded["recommended_conf"]["spark.executor.memory"] == "12g" and upgraded["stage_ids"] == [3, 4]
