"""Each SDK function once over the API warehouse (which the fixture built with ingest, analyze and
train); recommend and feedback give the same answers as the library functions under them."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from tests.conftest import PINNED_RUN_TIME

TAXI = "spark-cc4d115f011443d787f03a71a476a745"


def test_the_build_went_through_the_sdk(api_warehouse):
    assert api_warehouse.ingested.count("ingested") == 5 and api_warehouse.ingested.exit_code == 0
    assert api_warehouse.trained.signatures == 5 and api_warehouse.built.signature_rows == 5


def test_analyze_one_application(api_warehouse, spark):
    from spark_optimizer import analyze

    report = analyze(TAXI, warehouse=api_warehouse.path, spark=spark, executor_counts=[1, 4])
    assert report["application"]["app_id"] == TAXI and [p["executors"] for p in report["whatif"]["points"]] == [1, 4]


def test_similar(api_warehouse, spark):
    from spark_optimizer import similar

    rows = similar(TAXI, k=2, warehouse=api_warehouse.path, spark=spark)
    assert len(rows) == 2 and all(r["app_id"] != TAXI for r in rows)
    assert rows[0]["similarity"] >= rows[1]["similarity"] and "differences" in rows[0]


def test_fit_and_predict_runtime(api_warehouse, spark):
    from spark_optimizer import fit_runtime_model, predict_runtime
    from spark_optimizer.config import load_settings
    from spark_optimizer.tables import RUNS
    from spark_optimizer.tables.store import DeltaRsBackend, TableStore

    store = TableStore(None, load_settings(warehouse=api_warehouse.path, environ={}), backend=DeltaRsBackend())
    runs = store.read_arrow(RUNS).to_pandas()
    model = fit_runtime_model(runs, spark=spark, folds=2)
    out = predict_runtime(model, runs.drop(columns=["runtime_ms"]).head(2), spark=spark)
    assert isinstance(out, pd.DataFrame) and (out["predicted_runtime_ms"] > 0).all() and len(out) == 2


def test_recommend_and_feedback(api_warehouse):
    from spark_optimizer.config import load_settings
    from spark_optimizer.recommender.lookup import lookup  # the subpackage named like the SDK function is loaded

    from spark_optimizer import feedback, recommend

    assert callable(recommend) and recommend.__module__ == "spark_optimizer.sdk"

    settings = load_settings(warehouse=api_warehouse.path, environ={})
    answer = recommend(job_type="sql", input_size="3GB", deadline="1h", warehouse=api_warehouse.path)
    same = lookup(settings, job_type="sql", input_bytes=3 * 1024 ** 3, deadline_s=3600)
    assert answer.row["recommendation_id"] == same.row["recommendation_id"] and answer.row["objective"] == "cheapest-within-deadline"
    assert recommend(job_type="sql", input_size=3 * 1024 ** 3, deadline=3600.0, warehouse=api_warehouse.path).row == answer.row
    with pytest.raises(ValueError, match="not a data size"):
        recommend(job_type="sql", input_size="3 gigs", warehouse=api_warehouse.path)

    record = feedback(answer.row["recommendation_id"], "90s", cost=0.2, warehouse=api_warehouse.path,
                      recorded_at=PINNED_RUN_TIME + timedelta(days=1))
    assert record.row["actual_runtime_ms"] == 90_000 and record.row["actual_cost"] == 0.2
    assert record.predicted_runtime_ms == answer.row["predicted_runtime_ms"]
    assert record.runtime_error == pytest.approx(90_000 / answer.row["predicted_runtime_ms"] - 1)
