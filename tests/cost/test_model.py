"""Cost arithmetic against hand computations from the catalogue's numbers."""

from __future__ import annotations

import pytest

from spark_optimizer.cost import (
    CatalogueLookupError,
    ClusterShape,
    InvalidShapeError,
    billable_seconds,
    default_rework_fraction,
    plan_instances,
    run_cost,
    spot_worker_count,
)

SIX_BY_FOUR = ClusterShape(executors=6, executor_cores=4, executor_memory_mb=8192)  # 3 nodes of 8 vCPUs
TOY_SHAPE = ClusterShape(executors=6, executor_cores=2, executor_memory_mb=2048)  # 3 toy "small" workers


def test_emr_run_hand_computed(catalogue):
    plan = plan_instances(SIX_BY_FOUR, catalogue, "aws", "m5.2xlarge", driver_instance_type="m5.xlarge")
    cost = run_cost(plan, runtime_s=900)
    # 15 min = 0.25 h; 3 x m5.2xlarge x 0.25 h x (0.384 EC2 + 0.096 EMR uplift)
    #                 + 1 x m5.xlarge master x 0.25 h x (0.192 + 0.048)
    assert cost.total == pytest.approx(3 * 0.25 * (0.384 + 0.096) + 0.25 * (0.192 + 0.048))  # 0.42
    assert cost.compute_cost == pytest.approx(0.25 * (3 * 0.384 + 0.192))
    assert cost.platform_fee == pytest.approx(0.25 * (3 * 0.096 + 0.048))
    assert (cost.instance_hours, cost.billed_s, cost.nodes, cost.dbu_cost) == (pytest.approx(4 * 0.25), 900, 4, 0.0)
    assert cost.notes == ()  # on-demand m5 prices and EMR fees are published, nothing estimated


def test_dataproc_run_pays_the_vcpu_fee_on_every_node(catalogue):
    plan = plan_instances(SIX_BY_FOUR, catalogue, "gcp", "n2-standard-8", driver_instance_type="n2-standard-4")
    cost = run_cost(plan, runtime_s=1800)
    # 0.5 h x (3 x 0.388472 + 0.194236) VMs + 0.5 h x $0.010 x (3 x 8 + 4) vCPUs
    assert cost.compute_cost == pytest.approx(0.5 * (3 * 0.388472 + 0.194236))
    assert cost.platform_fee == pytest.approx(0.5 * 0.010 * (3 * 8 + 4))
    assert cost.total == pytest.approx(cost.compute_cost + cost.platform_fee)


def test_billing_minimum_and_per_second_rounding(catalogue):
    plan = plan_instances(SIX_BY_FOUR, catalogue, "aws", "m5.2xlarge", driver_instance_type="m5.xlarge")
    short = run_cost(plan, runtime_s=20)
    assert short.billed_s == 60  # 60 s minimum per instance on EC2/EMR
    assert short.total == pytest.approx(60 / 3600 * (3 * (0.384 + 0.096) + 0.192 + 0.048))
    assert run_cost(plan, runtime_s=100.2).billed_s == 101  # per-second, rounded up
    assert run_cost(plan, runtime_s=900, provisioning_s=300).billed_s == 1200  # start-up billed too
    azure = plan_instances(SIX_BY_FOUR, catalogue, "azure", "Standard_D8s_v5", driver_instance_type="Standard_D4s_v5")
    assert run_cost(azure, runtime_s=120).billed_s == 300  # Azure: 300 s minimum per VM start
    assert run_cost(azure, runtime_s=120).total == pytest.approx(300 / 3600 * (3 * 0.384 + 0.192))


@pytest.mark.parametrize("duration, increment, minimum, billed", [
    (0, 1, 60, 60), (59.5, 1, 60, 60), (60, 1, 60, 60), (60.01, 1, 60, 61), (3600, 1, 60, 3600),
    (61, 60, 60, 120), (3599.9, 3600, 0, 3600),
])
def test_billable_seconds(duration, increment, minimum, billed):
    assert billable_seconds(duration, increment, minimum) == billed


def test_spot_savings_and_expected_interruption_cost(toy):
    plan = plan_instances(TOY_SHAPE, toy, "toy")
    assert (plan.workers, plan.worker_type.name, plan.driver_type.name) == (3, "small", "small")
    cost = run_cost(plan, runtime_s=3600, spot_share=0.5)
    # round(0.5 x 3) -> 2 spot workers (halves up), 1 on-demand worker, on-demand master.
    assert cost.spot_nodes == 2
    assert cost.compute_cost == pytest.approx(1.0 * (1 * 1.0 + 2 * 0.25 + 1.0))
    assert cost.platform_fee == pytest.approx(1.0 * 4 * 0.1)
    assert cost.spot_savings == pytest.approx(2 * (1.0 - 0.25))
    # Interruptions: 0.01 per spot node-hour (toy catalogue) x 2 spot nodes x 1 h = 0.02.
    # Rework default 1 / (2 x 3 workers); extra runtime = 0.02 x 1/6 x 3600 s = 12 s, paid at the
    # cluster's hourly cost as run: (1.0 + 2 x 0.25 + 1.0) + 4 x 0.1 = 2.9 /h.
    assert cost.expected_interruptions == pytest.approx(0.02)
    assert cost.expected_extra_runtime_s == pytest.approx(12.0)
    assert cost.expected_runtime_s == pytest.approx(3612.0)
    assert cost.expected_interruption_cost == pytest.approx(2.9 * 12 / 3600)
    assert cost.total == pytest.approx(2.5 + 0.4 + 2.9 * 12 / 3600)


def test_interruption_cost_with_the_simulators_rework_and_rate(toy):
    plan = plan_instances(TOY_SHAPE, toy, "toy")
    cost = run_cost(plan, runtime_s=7200, spot_share=1.0, interruption_rate_per_hour=0.5, rework_fraction=0.2)
    # 0.5 x 3 spot nodes x 2 h = 3 interruptions; 3 x 0.2 x 7200 s = 4320 s extra = 1.2 h at
    # (3 x 0.25 spot + 1.0 master) + 4 x 0.1 fees = 2.15 /h.
    assert cost.expected_interruptions == pytest.approx(3.0)
    assert cost.expected_extra_runtime_s == pytest.approx(4320.0)
    assert cost.expected_interruption_cost == pytest.approx(2.15 * 1.2)
    assert not any("rework" in note for note in cost.notes)  # the caller gave it
    assert run_cost(plan, runtime_s=7200).expected_interruption_cost == 0.0  # no spot, no interruptions


def test_spot_worker_count_and_default_rework():
    assert [spot_worker_count(w, s) for w, s in [(3, 0.5), (4, 0.5), (1, 0.4), (5, 0.3), (3, 1.0), (3, 0.0)]] == [2, 2, 0, 2, 3, 0]
    assert default_rework_fraction(1) == 0.5 and default_rework_fraction(10) == 0.05
    with pytest.raises(InvalidShapeError, match=r"spot_share must be between 0 and 1, found 1\.5"):
        spot_worker_count(3, 1.5)


def test_spot_on_real_catalogue_lists_the_estimates(catalogue):
    plan = plan_instances(SIX_BY_FOUR, catalogue, "aws", "m5.2xlarge", driver_instance_type="m5.xlarge")
    cost = run_cost(plan, runtime_s=1800, spot_share=1.0)
    # 3 spot workers at the estimated 50% of on-demand; master on-demand; EMR fee unchanged on spot.
    assert cost.compute_cost == pytest.approx(0.5 * (3 * 0.384 * 0.50 + 0.192))
    assert cost.platform_fee == pytest.approx(0.5 * (3 * 0.096 + 0.048))
    assert "worker m5.2xlarge: spot_hourly estimated" in cost.notes
    assert any("interruption rate 0.000137/node-hour" in note for note in cost.notes)


def test_databricks_dbus_on_every_node(toy):
    plan = plan_instances(TOY_SHAPE, toy, "databricks")
    assert (plan.cloud, plan.workers, plan.driver_type.name) == ("databricks-toy", 3, "small")
    jobs = run_cost(plan, runtime_s=3600)
    # 4 nodes x 1.0 DBU/h x 1 h x $0.5 (jobs) + VMs 4 x 1.0, no platform fee.
    assert (jobs.tier, jobs.dbus) == ("jobs", pytest.approx(4.0))
    assert jobs.dbu_cost == pytest.approx(4 * 1.0 * 0.5)
    assert jobs.compute_cost == pytest.approx(4 * 1.0) and jobs.platform_fee == 0.0
    assert run_cost(plan, runtime_s=3600, tier="all_purpose").total == pytest.approx(4 * 1.0 + 4 * 1.0 * 1.0)
    serverless = run_cost(plan, runtime_s=3600, tier="jobs_serverless")
    assert serverless.compute_cost == 0.0 and serverless.dbu_cost == pytest.approx(4 * 1.0 * 2.0)
    assert any("jobs_serverless DBU use approximated" in note for note in serverless.notes)
    with pytest.raises(InvalidShapeError, match=r"jobs_serverless tier is serverless"):
        run_cost(plan, runtime_s=3600, tier="jobs_serverless", spot_share=0.5)


def test_databricks_on_aws_hand_computed(catalogue):
    plan = plan_instances(SIX_BY_FOUR, catalogue, "databricks", "m5.2xlarge", driver_instance_type="m5.xlarge")
    cost = run_cost(plan, runtime_s=3600)
    # VMs 3 x 0.384 + 0.192; DBUs (3 x 1.37 + 0.69) x $0.15 jobs compute; no EMR uplift.
    assert cost.compute_cost == pytest.approx(3 * 0.384 + 0.192)
    assert cost.dbu_cost == pytest.approx((3 * 1.37 + 0.69) * 0.15)
    assert cost.total == pytest.approx(plan.hourly_on_demand)
    assert any("dbu_per_hour" in note for note in cost.notes)


def test_tiers_only_where_there_are_dbus(catalogue, toy):
    plan = plan_instances(SIX_BY_FOUR, catalogue, "aws")
    with pytest.raises(CatalogueLookupError, match=r"aws has no DBU workload tiers"):
        run_cost(plan, runtime_s=60, tier="jobs")
    with pytest.raises(CatalogueLookupError, match=r"databricks-toy has no workload tier 'sql_pro'"):
        run_cost(plan_instances(TOY_SHAPE, toy, "databricks"), runtime_s=60, tier="sql_pro")


@pytest.mark.parametrize("kwargs, message", [
    ({"runtime_s": -1}, r"runtime_s must be a finite number >= 0"),
    ({"runtime_s": 60, "rework_fraction": 2.0}, r"rework_fraction must be between 0 and 1"),
    ({"runtime_s": 60, "interruption_rate_per_hour": -0.1}, r"interruption_rate_per_hour must be >= 0"),
    ({"runtime_s": 60, "provisioning_s": -5}, r"provisioning_s must be >= 0"),
])
def test_impossible_inputs(toy, kwargs, message):
    with pytest.raises(InvalidShapeError, match=message):
        run_cost(plan_instances(TOY_SHAPE, toy, "toy"), **kwargs)
