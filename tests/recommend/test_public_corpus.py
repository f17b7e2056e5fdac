"""One odd app never blocks a step (issue 16): collect every public log of ../shared/eventlogs/public,
train, then build-recommendations succeeds, says what it skipped and why (level='skipped' rows with the
reason in rationale, and a one-line summary), and recommend answers for every job type it built."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from spark_optimizer.ml.model_inputs import GB


@pytest.fixture(scope="module")
def public_build(spark, trained_public_corpus):
    from spark_optimizer.recommender.build import build_recommendations

    settings, store, _ = trained_public_corpus  # ingested, analyzed, then trained with 2 folds
    return settings, build_recommendations(spark, store, settings, datetime(2026, 12, 6, 20, 0, tzinfo=timezone.utc))


def test_build_over_every_public_log_finishes_and_names_what_it_skipped(public_build):
    from spark_optimizer.recommender.lookup import latest_build, read_rows

    settings, summary = public_build
    rows = latest_build(read_rows(settings))
    served = [r for r in rows if r["level"] in ("signature", "job_type")]
    skipped = [r for r in rows if r["level"] == "skipped"]
    assert summary.signature_rows >= 10 and summary.job_type_rows >= 5
    assert len(skipped) == len(summary.skipped)
    for r in skipped:
        assert r["rationale"] and ":" in r["rationale"]  # "<ErrorClass>: <first line of the message>"
    line = summary.skipped_line()
    assert line.startswith("skipped nothing") if not skipped else (f"skipped {len(skipped)} (" in line and "level = 'skipped'" in line)
    for r in served:
        conf = r["spark_conf"]
        assert r["executor_memory_mb"] >= 1024 and r["predicted_runtime_ms"] > 0
        assert int(conf["spark.sql.shuffle.partitions"]) >= 1


def test_every_configuration_of_the_public_build_starts_a_real_spark_session(public_build):
    from spark_optimizer.recommender.lookup import latest_build, read_rows
    from spark_optimizer.spark_rules import validation_problems
    from tests.recommend.test_valid_in_spark import start_in_spark

    settings, _ = public_build
    rows = [r for r in latest_build(read_rows(settings)) if r["level"] in ("signature", "job_type")]
    for r in rows:  # each written for its job's Spark version (3.0 for job types)
        assert validation_problems(r["spark_conf"], r["spark_version"]) == [], (r["app_name"], r["spark_version"])
    # Spark 4 accepts every one of them too (older names are deprecated aliases, not errors).
    parsed = [dict(c) for c in sorted({tuple(sorted(r["spark_conf"].items())) for r in rows})]
    assert start_in_spark(parsed) == ["started"] * len(parsed)


def test_recommend_answers_for_every_built_job_type(public_build):
    from spark_optimizer.recommender.lookup import latest_build, lookup, read_rows

    settings, _ = public_build
    types = sorted({r["job_type"] for r in latest_build(read_rows(settings)) if r["level"] == "job_type"})
    assert types
    for job_type in types:
        answer = lookup(settings, job_type=job_type, input_bytes=10 * GB)
        assert answer.row["job_type"] == job_type and answer.row["predicted_cost"] > 0


def test_jobs_before_spark_3_are_recommended_without_aqe(public_build):
    """The public logs include Spark 1.5-2.4 applications: no adaptive query execution there."""
    from spark_optimizer.recommender.lookup import latest_build, lookup, read_rows
    from spark_optimizer.spark_rules import parse_version

    settings, _ = public_build
    rows = [r for r in latest_build(read_rows(settings)) if r["level"] in ("signature", "job_type")]
    old = [r for r in rows if parse_version(r["spark_version"]) < (3, 0)]
    assert len(old) >= 5
    for r in rows:
        conf = r["spark_conf"]
        adaptive = [k for k in conf if k.startswith("spark.sql.adaptive.")]
        if r in old:
            assert not r["aqe_enabled"] and not adaptive, (r["app_name"], r["spark_version"], adaptive)
            assert f"no adaptive query execution in Spark {r['spark_version']}" in r["rationale"]
        else:
            assert r["aqe_enabled"] and conf["spark.sql.adaptive.enabled"] == "true"
    # A lookup at another size keeps the job's version.
    job = next(r for r in old if r["level"] == "signature")
    again = lookup(settings, signature=job["job_signature"], input_bytes=20 * GB).row
    assert again["spark_version"] == job["spark_version"] and not again["aqe_enabled"]
