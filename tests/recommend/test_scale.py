"""Recommendations that scale with the input: a size-blind curve gets a measured (or documented)
size prior, the grid reaches hundreds of executors, partitions hold 128-200 MB of the shuffled
bytes, and executor memory follows per-task peaks without going past what the instance shapes hold."""

from __future__ import annotations

import pytest

from spark_optimizer.cost import load_pricing_catalogue
from spark_optimizer.ml.model_inputs import GB, MB
from spark_optimizer.ml.resource_model import ResourceFit
from spark_optimizer.ml.scaling import ScalingFit
from spark_optimizer.recommender.answer import recommend
from spark_optimizer.recommender.curves import (
    ASSUMED_SECONDS_PER_GB_CORE, Curve, CurveSpec, size_blind, size_prior,
)
from spark_optimizer.recommender.search import (
    MAX_PARTITION_BYTES, TARGET_PARTITION_BYTES, CandidateConfig, memory_ceiling_mb, partition_candidates,
)

TB = 1024 * GB


@pytest.fixture(scope="module")
def catalogue():
    return load_pricing_catalogue()


def sql_type_spec(prior, resources=()) -> CurveSpec:
    """A job type whose runs all had generated input: two fixed-only single-run curves (11 s and 18 s)."""
    fits = tuple(ScalingFit(("fixed",), {"fixed": f}, 4.0, {}) for f in (11.3, 18.1))
    return CurveSpec(Curve(fits, 1.0, tuple(resources), prior), "job_type", 1.0, "single-run priors", 1.0, ((0, 2, 11300),))


def test_the_size_prior_is_measured_on_runs_that_read_enough():
    # [input_bytes, total_cores, runtime_ms]: 4 GB on 4 cores in 500 s -> 500 s / (4 GB / 4 cores) = 500 s per GB per core
    measured = size_prior([], [[4 * GB, 4, 500_000], [10 * MB, 2, 9_000]])
    assert measured.seconds_per_gb_core == pytest.approx(500.0) and "median of 1 of all runs of the build" in measured.source
    own = size_prior([[2 * GB, 8, 100_000]], [[4 * GB, 4, 500_000]])
    assert own.seconds_per_gb_core == pytest.approx(400.0) and "this row's runs" in own.source
    assumed = size_prior([[10 * MB, 2, 9_000]], [[0, 2, 11_000]])
    assert assumed.seconds_per_gb_core == ASSUMED_SECONDS_PER_GB_CORE and "assumed" in assumed.source


def test_only_curves_without_a_size_term_take_the_prior():
    blind = ScalingFit(("fixed",), {"fixed": 10.0}, 4.0, {})
    scaling = ScalingFit(("fixed", "per_core"), {"fixed": 10.0, "per_core": 30.0}, 4.0, {})
    assert size_blind(blind) and not size_blind(scaling)
    prior = size_prior([], [[4 * GB, 4, 500_000]])
    with_prior = Curve((scaling,), 1.0, (), prior)
    assert with_prior.predict_ms(4, 4, 8192, 64, True, 64 * GB) == pytest.approx(1000 * (10 + 30 * 64 / 16))
    blind_curve = Curve((blind,), 1.0, (), prior)
    assert blind_curve.predict_ms(4, 4, 8192, 64, True, 64 * GB) == pytest.approx(1000 * (10 + 500 * 64 / 16))


def test_a_job_type_prior_grows_with_size_at_1gb_100gb_and_5tb(catalogue):
    spec = sql_type_spec(size_prior([], [[4 * GB, 4, 500_000]]))
    answers = {size: recommend(spec, size, catalogue, row_id="rec-000000000000")[0] for size in (1 * GB, 100 * GB, 5 * TB)}
    # At one configuration the prior's runtime grows linearly with the input.
    at = [spec.curve.predict_ms(16, 4, 8192, 512, True, size) for size in (1 * GB, 100 * GB, 5 * TB)]
    assert at[0] < at[1] < at[2]
    small, medium, large = (answers[s] for s in (1 * GB, 100 * GB, 5 * TB))
    cores = [r["executors"] * r["executor_cores"] for r in (small, medium, large)]
    assert cores[0] < cores[1] < cores[2]
    assert large["executors"] >= 100  # hundreds of executors for 5 TB
    assert small["predicted_runtime_ms"] < large["predicted_runtime_ms"]
    assert small["predicted_cost"] < medium["predicted_cost"] < large["predicted_cost"]
    for row in answers.values():
        per_partition = row["input_bytes"] / row["shuffle_partitions"]
        assert per_partition <= MAX_PARTITION_BYTES
        if row["input_bytes"] >= 100 * GB:  # big enough to fill its slots: within the rules' 128-200 MB band (whole waves)
            assert per_partition >= TARGET_PARTITION_BYTES * 0.5
        assert "size prior" in row["rationale"]


def test_partitions_come_from_bytes_in_whole_waves():
    options = partition_candidates(4096, 5 * TB)
    assert all(o % 4096 == 0 for o in options)
    assert all(5 * TB / o <= MAX_PARTITION_BYTES for o in options)
    assert min(options) >= 5 * TB / MAX_PARTITION_BYTES
    # Small data on many slots: one wave of small partitions, or 2 and 4 per slot.
    assert partition_candidates(64, 1 * GB) == [64, 128, 256]


def test_executor_memory_follows_task_peaks_but_stays_within_instance_shapes(catalogue):
    # A peak-memory model fitted on MB-sized inputs: 40 MB base plus 0.9 bytes per byte of task data,
    # and no spill seen above pressure 0.01 -> at 500 GB it asks for far more than any node holds per core.
    greedy = ResourceFit(40 * MB, 0.9, 0.01, 3, {"shuffle_input_ratio": 1.0})
    spec = sql_type_spec(size_prior([], [[4 * GB, 4, 500_000]]), resources=(greedy,))
    row, result = recommend(spec, 500 * GB, catalogue, row_id="rec-000000000000")
    ceiling = memory_ceiling_mb(catalogue, "aws", row["executor_cores"])
    assert row["executor_memory_mb"] <= ceiling
    assert all(c.shape.executor_memory_mb <= memory_ceiling_mb(catalogue, "aws", c.shape.executor_cores)
               for c in result.candidates)
    assert "expect spill" in row["rationale"]


def test_memory_ceiling_is_the_richest_shape_per_core(catalogue):
    # EMR's richest memory per vCPU: r4/r5 (8 GiB per vCPU less the min(25%, 8 GiB) reserve); at 8 cores
    # that is just under 64 GiB of node memory, less Spark's 10% overhead.
    assert 40 * 1024 <= memory_ceiling_mb(catalogue, "aws", 8) <= 64 * 1024
    assert memory_ceiling_mb(catalogue, "aws", 2) < memory_ceiling_mb(catalogue, "aws", 8)


def test_asked_configurations_are_ranked_by_the_objective(catalogue):
    spec = sql_type_spec(size_prior([], [[4 * GB, 4, 500_000]]))
    asked = [CandidateConfig.from_mapping(c) for c in (
        {"instance_type": "r4.2xlarge", "nodes": 10}, {"instance_type": "c4.2xlarge", "nodes": "40"},
        {"instance_type": "n2-highcpu-8", "nodes": 40}, {"instance_type": "m5.xlarge", "nodes": 2, "executors": 8, "executor_cores": 4},
        {"instance_type": "x9.huge"})]
    row, result = recommend(spec, 100 * GB, catalogue, objective="cheapest-within-deadline", deadline_s=600,
                            row_id="rec-000000000000", configs=asked)
    ranking = row["ranking"]
    ranked_ok = [r for r in ranking if r["error"] is None]
    assert [r["rank"] for r in ranked_ok] == [1, 2, 3]
    # Within the deadline first, cheapest first among them; the 10-node r4 cluster misses the deadline.
    inside = [r for r in ranked_ok if r["within_constraints"]]
    assert [r["cost"] for r in inside] == sorted(r["cost"] for r in inside)
    assert ranked_ok[-1]["candidate"] == "r4.2xlarge nodes=10" and not ranked_ok[-1]["within_constraints"]
    # Billed for the nodes asked: 40 c4.2xlarge (8 vCPUs) hold 80 executors of 4 cores.
    c4 = next(r for r in ranked_ok if r["instance_type"] == "c4.2xlarge")
    assert (c4["nodes"], c4["executors"], c4["executor_cores"]) == (40, 80, 4)
    n2 = next(r for r in ranked_ok if r["instance_type"] == "n2-highcpu-8")
    assert n2["currency"] == "USD"  # priced on gcp, the catalogue that has the type
    errors = {r["candidate"]: r["error"] for r in ranking if r["error"]}
    assert "more than the 2 node(s) given" in errors["m5.xlarge nodes=2 executors=8 cores=4"]
    assert "no instance type 'x9.huge'" in errors["x9.huge"]
    assert row["instance_type"] == ranked_ok[0]["instance_type"] and row["cloud"] == result.best.plan.cloud
    assert all(r["confidence_label"] == "low" for r in ranked_ok)  # an uncalibrated job-type prior


def test_a_candidate_needs_an_instance_type_and_whole_numbers():
    with pytest.raises(ValueError, match="needs instance_type"):
        CandidateConfig.from_mapping({"nodes": 3})
    with pytest.raises(ValueError, match="nodes must be a whole number"):
        CandidateConfig.from_mapping({"instance_type": "m5.xlarge", "nodes": "three"})
