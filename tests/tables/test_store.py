"""The table layer writes ordinary Delta tables that delta-rs and Spark both read."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pyarrow as pa
import pytest
from chispa import assert_df_equality
from deltalake import DeltaTable, QueryBuilder

from spark_optimizer.errors import TableNotFoundError, TableSchemaError
from spark_optimizer.tables import APPLICATIONS, INGEST_LOG
from spark_optimizer.tables.schema import Column, TableSpec
from spark_optimizer.tables.store import DeltaRsBackend, SparkDeltaBackend, TableStore, key_predicate, session_has_delta

def read_with_delta_rs(path: str) -> pa.Table:
    """delta-rs' own reader (its DataFusion engine), independent of our table layer."""
    return QueryBuilder().register("t", DeltaTable(path)).execute("SELECT * FROM t").read_all()


RUNS = TableSpec(
    name="runs",
    description="test table",
    keys=("app_id", "attempt_id", "stage_id"),
    schema_version=1,
    columns=(Column("app_id", "string"), Column("attempt_id", "string"), Column("stage_id", "long"),
             Column("duration_ms", "long")),
)


def runs(spark, rows):
    return spark.createDataFrame(rows, RUNS.spark_schema())


def test_the_embedded_default_writes_a_delta_log_that_delta_rs_reads(spark, store):
    store.append(RUNS, runs(spark, [("a", "", 0, 10), ("a", "", 1, 20)]))
    assert isinstance(store.backend, DeltaRsBackend)
    table = read_with_delta_rs(store.path(RUNS))
    assert sorted(table.column("duration_ms").to_pylist()) == [10, 20]
    assert store.schema_version(RUNS) == 1


def test_spark_reads_back_exactly_what_was_written(spark, store):
    written = runs(spark, [("a", "", 0, 10), ("b", "1", 3, None)])
    store.append(RUNS, written)
    assert_df_equality(store.read(RUNS), written, ignore_row_order=True)


def test_replace_rows_swaps_one_applications_rows_and_leaves_the_others(spark, store):
    store.append(RUNS, runs(spark, [("a", "", 0, 10), ("a", "", 1, 20), ("b", "", 0, 30)]))
    store.replace_rows(RUNS, runs(spark, [("a", "", 0, 11)]), ("app_id", "attempt_id"), [{"app_id": "a", "attempt_id": ""}])
    assert_df_equality(store.read(RUNS), runs(spark, [("a", "", 0, 11), ("b", "", 0, 30)]), ignore_row_order=True)


def test_upsert_merges_on_the_natural_key_without_duplicates(spark, store):
    store.upsert(RUNS, runs(spark, [("a", "", 0, 10)]))
    store.upsert(RUNS, pa.table({"app_id": ["a", "c"], "attempt_id": ["", ""], "stage_id": [0, 0], "duration_ms": [99, 5]}))
    assert_df_equality(store.read(RUNS), runs(spark, [("a", "", 0, 99), ("c", "", 0, 5)]), ignore_row_order=True)


def test_a_newer_spec_with_more_columns_migrates_the_table_in_place(spark, store):
    store.append(RUNS, runs(spark, [("a", "", 0, 10)]))
    newer = replace(RUNS, columns=RUNS.columns + (Column("spill_bytes", "long"),), schema_version=2)
    store.append(newer, pa.table({"app_id": ["b"], "attempt_id": [""], "stage_id": [0], "duration_ms": [5], "spill_bytes": [7]}))
    rows = {r["app_id"]: r for r in store.read_arrow(newer).to_pylist()}
    assert rows["a"]["spill_bytes"] is None and rows["b"]["spill_bytes"] == 7
    assert store.schema_version(newer) == 2
    assert store.read(newer).count() == 2


def test_data_with_undeclared_columns_or_missing_keys_is_refused(spark, store):
    with pytest.raises(TableSchemaError, match="does not declare"):
        store.append(RUNS, pa.table({"app_id": ["a"], "surprise": [1]}))
    with pytest.raises(TableSchemaError, match="key column 'stage_id'"):
        store.append(RUNS, pa.table({"app_id": ["a"], "attempt_id": [""]}))


def test_reading_a_missing_table_says_how_to_create_it(store):
    with pytest.raises(TableNotFoundError, match="spark-optimizer collect"):
        store.read_arrow(APPLICATIONS)


def test_key_predicates_quote_values_for_each_engine():
    rows = [{"app_id": "it's", "attempt_id": ""}]
    assert key_predicate(("app_id", "attempt_id"), rows, DeltaRsBackend.quote) == "(app_id = 'it''s' AND attempt_id = '')"
    assert key_predicate(("app_id",), rows, SparkDeltaBackend.quote) == "(app_id = 'it\\'s')"


def test_timestamps_round_trip_in_utc(spark, store):
    when = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    store.upsert(INGEST_LOG, pa.table({"source_path": ["/x"], "ingested_at": pa.array([when], pa.timestamp("us", tz="UTC"))}))
    assert store.read_arrow(INGEST_LOG).column("ingested_at").to_pylist() == [when]


def test_the_spark_delta_backend_writes_tables_delta_rs_reads(spark, settings):
    if not session_has_delta(spark):
        pytest.skip("Delta Lake's Spark jars are not on this session's classpath (no Maven access here)")
    store = TableStore(spark, settings, backend=SparkDeltaBackend(spark))
    store.append(RUNS, runs(spark, [("a", "", 0, 10)]))
    store.replace_rows(RUNS, runs(spark, [("a", "", 0, 12)]), ("app_id", "attempt_id"), [{"app_id": "a", "attempt_id": ""}])
    assert read_with_delta_rs(store.path(RUNS)).column("duration_ms").to_pylist() == [12]
