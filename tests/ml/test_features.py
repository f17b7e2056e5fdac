"""Features, job signatures and job types over real Spark 4.0.1 event logs (../shared/eventlogs/generated)."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from spark_optimizer.ml.features import apps_needing_features, refresh_features
from spark_optimizer.ml.signature import call_site, name_key, operator_category
from spark_optimizer.ml.similarity import differences, most_similar
from spark_optimizer.tables import FEATURES
from tests.conftest import PINNED_RUN_TIME

# The same program run with five compression codecs, a rolling-log run with another program,
# and a standalone (local-cluster) join job (see the folder's README.md).
SAME_PROGRAM = ["local-1795476239234", "local-1795476254430", "local-1795476268849", "local-1795476283857", "local-1795476299058"]
KILLED_RUN_OF_SAME_PROGRAM = "local-1795476407826"
JOIN_APP = "app-20261123232240-0000"


@pytest.fixture(scope="module")
def featured(spark, generated_warehouse):
    settings, store = generated_warehouse
    refresh_features(spark, store, PINNED_RUN_TIME)
    return store


def test_one_row_per_attempt_and_incremental(featured):
    rows = featured.read_arrow(FEATURES).to_pylist()
    assert len(rows) == len({(r["app_id"], r["attempt_id"]) for r in rows}) == 8
    assert apps_needing_features(featured) == []


def test_the_same_program_has_one_structure_hash_and_others_differ(featured):
    rows = {r["app_id"]: r for r in featured.read_arrow(FEATURES).to_pylist()}
    hashes = {rows[a]["structure_hash"] for a in SAME_PROGRAM}
    assert len(hashes) == 1
    assert rows[JOIN_APP]["structure_hash"] not in hashes
    assert rows[JOIN_APP]["job_signature"] == "join_orders#" + rows[JOIN_APP]["structure_hash"]


def test_features_come_from_real_fields(featured):
    join = {r["app_id"]: r for r in featured.read_arrow(FEATURES).to_pylist()}[JOIN_APP]
    # local-cluster[1,1,2560]: one standalone executor with 1 core (SparkListenerExecutorAdded), 2 GB heap.
    assert (join["executors"], join["executor_cores"], join["total_cores"], join["executor_memory_mb"]) == (1, 1, 1, 2048)
    assert join["shuffle_partitions"] == 16 and join["aqe_enabled"] is False
    assert join["op_join"] >= 1 and join["op_aggregate"] >= 1 and join["op_exchange"] >= 1
    assert join["shuffle_write_bytes"] > 0 and join["wall_ms"] > 0 and join["job_type"] == "sql"


def test_name_key_call_site_and_operator_categories(spark):
    names = spark.createDataFrame(
        [("Nightly ETL 2026-11-24 run 42",), ("TPC-DS q72 sf100",), ("job_3f2a9c1e-8b7d-4c2a-9e1f-0a1b2c3d4e5f",), ("1234",)], "n string")
    assert [r[0] for r in names.select(name_key(F.col("n"))).collect()] == ["nightly_etl_run", "tpc_ds_q72_sf100", "job", "unnamed"]
    sites = spark.createDataFrame([("collect at /tmp/gen/codecs.py:13",), ("count at MyJob.scala:42",),
                                   ("$anonfun$withThreadLocalCaptured$2 at CompletableFuture.java:1768",)], "s string")
    assert [r[0] for r in sites.select(call_site(F.col("s"))).collect()] == ["collect", "count", None]
    nodes = ["Scan parquet default.sales", "BroadcastHashJoin", "SortMergeJoin", "HashAggregate", "ObjectHashAggregate",
             "Execute InsertIntoHadoopFsRelationCommand", "ArrowEvalPython", "Window", "Exchange", "BroadcastExchange",
             "WholeStageCodegen (2)", "TakeOrderedAndProject", "Range", "Filter"]
    got = [r[0] for r in spark.createDataFrame([(n,) for n in nodes], "n string").select(operator_category(F.col("n"))).collect()]
    assert got == ["scan", "join", "join", "aggregate", "aggregate", "write", "python", "window", "exchange", "exchange",
                   None, "sort", "scan", "filter"]


def test_most_similar_runs_are_the_same_program(featured):
    neighbours = most_similar(featured.read(FEATURES), "local-1795476283857", "", k=7).collect()
    ranked = [n["app_id"] for n in neighbours]
    same = set(SAME_PROGRAM) | {KILLED_RUN_OF_SAME_PROGRAM}
    assert len(ranked) == 7 and "local-1795476283857" not in ranked
    # Every run of the same program ranks above the join job and the rolling-log program.
    assert set(ranked[:5]) == same - {"local-1795476283857"}
    sims = [n["similarity"] for n in neighbours]
    assert sims == sorted(sims, reverse=True) and sims[0] > 0.9 > sims[-1]


def test_differences_name_what_changed():
    target = {"input_bytes": 1_000_000, "executors": 2, "job_signature": "a#1"}
    other = {"input_bytes": 4_000_000, "executors": 8, "job_signature": "a#1"}
    assert differences(target, other) == ["input bytes 4.0x", "executors 8 vs 2"]
