"""Model and recommendation tables written by release d8a4dd8 (curves, profiles, intervals, the Databricks
cluster spec, observed points and job parameters as JSON text; rule properties as "key=value (rule)"
strings) are upgraded to maps, structs and arrays when this release first opens them, rows kept."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

from spark_optimizer.ml.model_inputs import GB, config_key, size_band
from spark_optimizer.ml.scaling import ScalingFit, scaling_from_row
from spark_optimizer.recommender.lookup import as_json, lookup, read_rows
from spark_optimizer.tables import RUNS, SCALING_MODELS
from spark_optimizer.tables.schema import Column, arrow_type_of
from spark_optimizer.tables.store import SparkDeltaBackend, TableStore, session_has_delta

BUILT_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
# {table: [[column, type], ...]} as release d8a4dd8 declared every table (its spark_optimizer/tables/*.py).
RELEASE_D8A4DD8 = json.loads((Path(__file__).parent / "release_d8a4dd8_schemas.json").read_text())

INSIDE = {"fixed": 10.0, "per_core": 20.0}
BEYOND = {"fixed": 2.0, "per_core": 20.0, "input": 6.0}
SEEN_BANDS = [size_band(1 * GB), size_band(2 * GB)]
CALIBRATION = {"level": 0.8, "seen": {"low": 0.9, "high": 1.1, "coverage": 0.8, "model": "scaling"},
               "new_size": {"low": 0.7, "high": 1.35, "coverage": None, "model": "scaling"}}


def write_release_d8a4dd8(settings, table, rows):
    """The table as release d8a4dd8 wrote it: its own schema, through delta-rs."""
    schema = pa.schema([pa.field(name, arrow_type_of(Column(name, kind))) for name, kind in RELEASE_D8A4DD8[table]])
    write_deltalake(settings.table_path(table), pa.Table.from_pylist(rows, schema=schema), mode="append")


def curve_text(signature):
    return {"job_signature": signature, "coefficients": json.dumps(INSIDE, sort_keys=True), "memory_threshold": 4.0,
            "profile": json.dumps({"shuffle_input_ratio": 0.5, "gc_share": None}),
            "extrapolation": json.dumps({"coefficients": BEYOND, "memory_threshold": 2.0, "seen_bands": SEEN_BANDS})}


def test_scaling_models_curves_become_maps_and_a_struct_that_predict_as_the_text_did(settings):
    write_release_d8a4dd8(settings, "scaling_models", [
        {**curve_text("etl#a"), "run_count": 12, "trained_at": BUILT_AT},
        {"job_signature": "etl#b", "coefficients": "not json", "profile": None, "extrapolation": None, "run_count": 1}])
    store = TableStore(None, settings)

    rows = {r["job_signature"]: r for r in store.read_arrow(SCALING_MODELS).to_pylist(maps_as_pydicts="strict")}

    upgraded = rows["etl#a"]
    assert upgraded["coefficients"] == INSIDE and upgraded["run_count"] == 12
    assert upgraded["profile"] == {"shuffle_input_ratio": 0.5}  # an unknown median is left out, as training writes it
    assert upgraded["extrapolation"] == {"coefficients": BEYOND, "memory_threshold": 2.0, "seen_bands": SEEN_BANDS}
    curve = scaling_from_row(upgraded["coefficients"], upgraded["memory_threshold"], upgraded["profile"], upgraded["extrapolation"])
    beyond = ScalingFit(tuple(BEYOND), BEYOND, 2.0, {"shuffle_input_ratio": 0.5})
    for size_gb in (1.5, 8.0):
        expected = (beyond if size_gb == 8.0 else ScalingFit(tuple(INSIDE), INSIDE, 4.0, {})).predict_ms(4, 2, 4096, 32, True, size_gb * GB)
        assert curve.predict_ms(4, 2, 4096, 32, True, size_gb * GB) == pytest.approx(expected)
    assert rows["etl#b"]["coefficients"] is None and rows["etl#b"]["run_count"] == 1  # text that is no JSON: null, row kept
    assert store.schema_version(SCALING_MODELS) == SCALING_MODELS.schema_version


def recommendation_text(signature):
    """A signature row as release d8a4dd8's build wrote it (the fields a lookup reads)."""
    return {
        **curve_text(signature), "recommendation_id": "rec-0123456789ab", "level": "signature", "job_type": "etl",
        "app_name": "nightly", "input_bytes": 2 * GB, "objective": "balanced", "cloud": "aws", "executors": 4,
        "dynamic_allocation": False, "executor_cores": 4, "executor_memory_mb": 8192, "driver_memory_mb": 4096,
        "shuffle_partitions": 64, "spark_version": "3.5.1", "spot_share": 0.0, "runtime_error": 0.1,
        "error_source": "leave-one-configuration-out MAPE", "curve_source": "own", "member_signatures": [signature],
        "curve_scale": 1.0, "run_count": 12, "config_count": 6, "interval_level": 0.8,
        "rule_properties": ["spark.sql.files.maxPartitionBytes=256m (small_files)",
                            "spark.executor.extraJavaOptions=-XX:+UseG1GC -Da=b (excessive_gc)"],
        "databricks_cluster": json.dumps({"node_type_id": "r5.xlarge", "driver_node_type_id": "r5.large", "num_workers": 2,
                                          "spark_conf": {"spark.optimizer.recommendationId": "rec-0123456789ab"}}),
        "interval_calibration": json.dumps(CALIBRATION),
        "observed_points": json.dumps([[1 * GB, 8, 30_000], [2 * GB, 16, 31_000]]),
        "table_versions": {"scaling_models": 3}, "built_at": BUILT_AT,
    }


def test_a_recommendation_of_release_d8a4dd8_is_upgraded_by_the_jvm_free_lookup_and_answers(settings):
    write_release_d8a4dd8(settings, "recommendations", [recommendation_text("etl#a")])

    [row] = read_rows(settings)
    answer = lookup(settings, signature="etl#a", input_bytes=2 * GB)

    assert row["observed_points"] == [{"input_bytes": 1 * GB, "total_cores": 8, "runtime_ms": 30_000},
                                      {"input_bytes": 2 * GB, "total_cores": 16, "runtime_ms": 31_000}]
    assert row["interval_calibration"] == {**CALIBRATION, "beyond": None}
    assert row["rule_properties"] == [
        {"property": "spark.sql.files.maxPartitionBytes", "value": "256m", "rule_id": "small_files"},
        {"property": "spark.executor.extraJavaOptions", "value": "-XX:+UseG1GC -Da=b", "rule_id": "excessive_gc"}]
    assert row["databricks_cluster"]["num_workers"] == 2 and row["databricks_cluster"]["autoscale"] is None
    assert row["coefficients"] == INSIDE and row["extrapolation"]["seen_bands"] == SEEN_BANDS
    assert DeltaTable(settings.table_path("recommendations")).version() == 1
    # The answer at a size the job ran at uses the stored "seen" ratios and keeps the rules' properties.
    assert answer.row["runtime_high_ms"] == pytest.approx(answer.row["predicted_runtime_ms"] * 1.1, rel=1e-3)
    assert answer.row["spark_conf"]["spark.executor.extraJavaOptions"] == "-XX:+UseG1GC -Da=b"
    doc = json.loads(as_json(answer))
    assert doc["interval_calibration"]["seen"]["high"] == 1.1
    assert doc["databricks_cluster"]["spark_conf"]["spark.optimizer.recommendationId"] == doc["recommendation_id"]
    assert None not in doc["databricks_cluster"].values()  # the cluster spec as the Databricks API takes it


def test_job_parameters_of_runs_become_a_map_of_numbers(settings):
    write_release_d8a4dd8(settings, "runs", [
        {"run_id": "c3o-1", "source": "external", "job_signature": "sgd", "input_bytes": GB, "runtime_ms": 60_000,
         "job_params": '{"features": 5.0, "iterations": 10.0}'},  # job_params_json's canonical text
        {"run_id": "c3o-2", "source": "external", "job_signature": "sgd", "input_bytes": GB, "runtime_ms": 61_000,
         "job_params": None}])
    store = TableStore(None, settings)

    runs = {r["run_id"]: r for r in store.read_arrow(RUNS).to_pylist(maps_as_pydicts="strict")}
    frame = store.read_arrow(RUNS).to_pandas()

    assert runs["c3o-1"]["job_params"] == {"iterations": 10.0, "features": 5.0} and runs["c3o-2"]["job_params"] is None
    # A run's input identity is the one the text gave: runs with other parameters are other inputs, not repeats.
    run = frame[frame["run_id"] == "c3o-1"].iloc[0].to_dict()
    assert config_key(run) == config_key({**run, "job_params": '{"features": 5.0, "iterations": 10.0}'})
    assert config_key(run) != config_key({**run, "job_params": '{"features": 5.0, "iterations": 20.0}'})


def test_the_spark_delta_backend_upgrades_release_d8a4dd8_scaling_models(spark, settings):
    if not session_has_delta(spark):
        pytest.skip("Delta Lake's Spark jars are not on this session's classpath (no Maven access here)")
    write_release_d8a4dd8(settings, "scaling_models", [{**curve_text("etl#a"), "trained_at": BUILT_AT}])
    store = TableStore(spark, settings, backend=SparkDeltaBackend(spark))

    upgraded = store.read(SCALING_MODELS).selectExpr("coefficients['per_core'] AS per_core",
                                                     "extrapolation.memory_threshold AS threshold").first()

    assert (upgraded.per_core, upgraded.threshold) == (20.0, 2.0)
