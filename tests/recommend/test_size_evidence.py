"""A run's size when its input logged 0 bytes (spark.range, JDBC, streaming sources): the bytes it
shuffled, else the bytes it wrote; the evidence used is recorded in runs.input_size_source."""

from __future__ import annotations

from chispa import assert_df_equality

from spark_optimizer.ml.runs import run_size


def test_size_comes_from_the_first_evidence_above_zero(spark):
    features = spark.createDataFrame(
        [("read", 5_000, 100, 200, 10), ("generated", 0, 7_000, 9_000, 50), ("generated_null", None, 0, 300, 0),
         ("write_only", 0, None, 0, 4_000), ("nothing", 0, 0, 0, 0), ("unknown", None, None, None, None)],
        "app string, input_bytes long, shuffle_read_bytes long, shuffle_write_bytes long, output_bytes long",
    )
    size, source = run_size(features)
    expected = spark.createDataFrame(
        [("read", 5_000, "input_bytes"), ("generated", 9_000, "shuffle_bytes"), ("generated_null", 300, "shuffle_bytes"),
         ("write_only", 4_000, "output_bytes"), ("nothing", 0, "none"), ("unknown", 0, "none")],
        "app string, size long, source string",
    )
    actual = features.select("app", size.alias("size"), source.alias("source"))
    assert_df_equality(actual, expected, ignore_nullable=True, ignore_row_order=True)


def test_generated_input_runs_get_a_size_in_the_runs_table(spark, shared_eventlogs, tmp_path):
    """The generated corpus: runs whose logs have no Input Metrics get their size from shuffle or output bytes."""
    from datetime import datetime, timezone

    from spark_optimizer.config import load_settings
    from spark_optimizer.ml.features import refresh_features
    from spark_optimizer.ml.runs import refresh_runs
    from spark_optimizer.analysis.analyze import analyze_applications
    from spark_optimizer.eventlog.ingest import ingest_event_logs
    from spark_optimizer.tables import RUNS
    from spark_optimizer.tables.store import TableStore

    settings = load_settings(warehouse=str(tmp_path / "wh"), environ={})
    store = TableStore(spark, settings)
    now = datetime(2026, 12, 6, tzinfo=timezone.utc)
    ingest_event_logs(spark, store, str(shared_eventlogs / "generated"), now)
    analyze_applications(spark, store, now)
    refresh_features(spark, store, now)
    refresh_runs(spark, store, now)
    runs = store.read_arrow(RUNS).to_pylist()
    assert runs and all(r["input_size_source"] in ("input_bytes", "shuffle_bytes", "output_bytes", "none") for r in runs)
    for r in runs:
        assert (r["input_bytes"] > 0) == (r["input_size_source"] != "none")
    assert any(r["input_size_source"] != "input_bytes" and r["input_bytes"] > 0 for r in runs), \
        "the generated corpus has runs without Input Metrics; they should get a size from other evidence"
