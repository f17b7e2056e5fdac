"""What one run costs on an `InstancePlan`.

    billed_s        = max(billing minimum, ceil((runtime_s + provisioning_s) / increment) x increment)
                      (per node; AWS and GCP: per second with a 60 s minimum, Azure: 300 s minimum)
    instance_hours  = (workers + 1 driver/master node) x billed_s / 3600
    compute_cost    = billed hours x (on-demand workers x on-demand price + spot workers x spot price
                      + driver x on-demand price)              (0 for Databricks serverless tiers)
    platform_fee    = billed hours x sum of the nodes' platform fee (EMR uplift, Dataproc vCPU fee)
    dbu_cost        = billed hours x sum of the nodes' DBU/h x the tier's $/DBU   (Databricks only)
    spot_savings    = billed hours x spot workers x (on-demand - spot price)
    expected interruptions     = interruption rate per spot node-hour x spot workers x runtime hours
    expected extra runtime     = expected interruptions x rework fraction x runtime_s
    expected_interruption_cost = expected extra runtime (hours) x the cluster's hourly cost as run
    total           = compute_cost + platform_fee + dbu_cost + expected_interruption_cost

Spot applies to workers only (round(spot_share x workers) of them, halves rounded up); the driver
or master node stays on-demand because losing it ends the application. The rework fraction is the
share of the run redone after losing one spot node; the simulator should pass it. Its default,
1 / (2 x workers), assumes an interruption strikes on average halfway through the run and costs
the lost node's share of the work done so far (its shuffle output), recomputed at full cluster
speed — no checkpointing, no decommissioning. Expected interruption cost is linear in the rate
(Flint, EuroSys'16: expected cost = E[runtime with re-execution] x price); fine while expected
interruptions per run stay well below one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from spark_optimizer.cost.errors import InvalidShapeError
from spark_optimizer.cost.packing import InstancePlan

HOUR_S = 3600.0


def billable_seconds(duration_s: float, increment_s: int, minimum_s: int) -> int:
    """Seconds a node is billed for `duration_s` of use: rounded up to the increment, at least
    the minimum."""
    if duration_s < 0 or not math.isfinite(duration_s):
        raise InvalidShapeError(f"a duration must be a finite number >= 0 seconds, found {duration_s!r}")
    increments = math.ceil(duration_s / increment_s - 1e-9)
    return max(minimum_s, increments * increment_s)


def default_rework_fraction(workers: int) -> float:
    """Share of the run redone after losing one of `workers` nodes: 1 / (2 x workers)."""
    return 1.0 / (2 * max(workers, 1))


def spot_worker_count(workers: int, spot_share: float) -> int:
    """Workers that run on spot: spot_share x workers, halves rounded up."""
    if not 0.0 <= spot_share <= 1.0:
        raise InvalidShapeError(f"spot_share must be between 0 and 1, found {spot_share!r}")
    return min(workers, math.floor(spot_share * workers + 0.5))


@dataclass(frozen=True)
class CostBreakdown:
    """The cost of one run, in `currency`. `notes` lists every estimate the figure rests on."""

    currency: str
    tier: str | None
    runtime_s: float
    billed_s: int
    """Billed seconds per node (billing increment and minimum applied)."""
    nodes: int
    spot_nodes: int
    instance_hours: float
    compute_cost: float
    platform_fee: float
    dbu_cost: float
    dbus: float
    spot_savings: float
    expected_interruptions: float
    expected_extra_runtime_s: float
    expected_interruption_cost: float
    total: float
    notes: tuple[str, ...] = ()

    @property
    def expected_runtime_s(self) -> float:
        """Runtime including the expected rework after spot interruptions."""
        return self.runtime_s + self.expected_extra_runtime_s


def run_cost(plan: InstancePlan, runtime_s: float, *, spot_share: float = 0.0,
             interruption_rate_per_hour: float | None = None, rework_fraction: float | None = None,
             tier: str | None = None, provisioning_s: float = 0.0) -> CostBreakdown:
    """Cost of running `plan` for `runtime_s` seconds.

    `spot_share` is the share of workers on spot/preemptible VMs; `interruption_rate_per_hour`
    (per spot node-hour) defaults to the catalogue's estimate for the cloud; `rework_fraction`
    defaults to `default_rework_fraction(workers)`; `tier` is the Databricks workload tier
    (default: the plan's); `provisioning_s` adds billed start-up time per node (EMR bills from
    the cluster request; event-log runtimes do not include it).

    Example::

        plan = plan_instances(shape, catalogue, "aws", "m5.2xlarge", driver_instance_type="m5.xlarge")
        run_cost(plan, 900).total  # 3 workers: 3 x 0.25 h x (0.384 + 0.096) + master 0.25 h x (0.192 + 0.048) = 0.42
    """
    if not isinstance(runtime_s, (int, float)) or runtime_s < 0 or not math.isfinite(runtime_s):
        raise InvalidShapeError(f"runtime_s must be a finite number >= 0, found {runtime_s!r}")
    if provisioning_s < 0:
        raise InvalidShapeError(f"provisioning_s must be >= 0, found {provisioning_s!r}")
    provider = plan.provider
    tier = provider.resolve_tier(tier if tier is not None else plan.tier)
    serverless = tier in provider.serverless_tiers
    spot_nodes = spot_worker_count(plan.workers, spot_share)
    if serverless and spot_nodes:
        raise InvalidShapeError(f"the {tier} tier is serverless: its VMs are not yours to run on spot; use spot_share=0")
    rate = provider.spot_interruption_rate_per_hour if interruption_rate_per_hour is None else interruption_rate_per_hour
    if rate < 0:
        raise InvalidShapeError(f"interruption_rate_per_hour must be >= 0, found {rate!r}")
    rework = default_rework_fraction(plan.workers) if rework_fraction is None else rework_fraction
    if not 0.0 <= rework <= 1.0:
        raise InvalidShapeError(f"rework_fraction must be between 0 and 1, found {rework!r}")

    billed_s = billable_seconds(runtime_s + provisioning_s, provider.billing_increment_s, provider.billing_minimum_s)
    hours = billed_s / HOUR_S
    worker, driver = plan.worker_type, plan.driver_type
    on_demand_workers = plan.workers - spot_nodes
    dbu_rate = provider.dbu_rates[tier] if tier else 0.0
    vm_hourly = 0.0 if serverless else (
        on_demand_workers * worker.on_demand_hourly + spot_nodes * worker.spot_hourly + driver.on_demand_hourly)
    fee_hourly = plan.workers * worker.platform_fee_hourly + driver.platform_fee_hourly
    dbus_hourly = plan.workers * worker.dbu_per_hour + driver.dbu_per_hour if tier else 0.0
    cluster_hourly = vm_hourly + fee_hourly + dbus_hourly * dbu_rate

    expected_interruptions = rate * spot_nodes * runtime_s / HOUR_S
    extra_runtime_s = expected_interruptions * rework * runtime_s
    interruption_cost = cluster_hourly * extra_runtime_s / HOUR_S
    compute_cost = vm_hourly * hours
    platform_fee = fee_hourly * hours
    dbus = dbus_hourly * hours
    dbu_cost = dbus * dbu_rate
    savings = 0.0 if serverless else spot_nodes * (worker.on_demand_hourly - worker.spot_hourly) * hours
    return CostBreakdown(
        currency=provider.currency, tier=tier, runtime_s=float(runtime_s), billed_s=billed_s, nodes=plan.nodes,
        spot_nodes=spot_nodes, instance_hours=plan.nodes * hours, compute_cost=compute_cost, platform_fee=platform_fee,
        dbu_cost=dbu_cost, dbus=dbus, spot_savings=savings, expected_interruptions=expected_interruptions,
        expected_extra_runtime_s=extra_runtime_s, expected_interruption_cost=interruption_cost,
        total=compute_cost + platform_fee + dbu_cost + interruption_cost,
        notes=_estimate_notes(plan, tier, serverless, spot_nodes, interruption_rate_per_hour is None,
                              rework_fraction is None),
    )


def _estimate_notes(plan: InstancePlan, tier: str | None, serverless: bool, spot_nodes: int,
                    default_rate: bool, default_rework: bool) -> tuple[str, ...]:
    provider = plan.provider
    relevant = {"on_demand_hourly", "platform_fee_hourly", "memory_gib"} | ({"dbu_per_hour"} if tier else set())
    notes = []
    # The driver/master node is always on-demand, so only the workers' spot price matters.
    for role, instance, spot in (("worker", plan.worker_type, spot_nodes > 0),
                                 (plan.driver_role, plan.driver_type, False)):
        fields = sorted(instance.estimated & (relevant | ({"spot_hourly"} if spot else set())))
        if fields:
            notes.append(f"{role} {instance.name}: {', '.join(fields)} estimated")
    if provider.billing_estimated:
        notes.append(f"{provider.cloud} billing minimum of {provider.billing_minimum_s} s is an estimate")
    if provider.reserve.estimated:
        notes.append(f"{provider.cloud} node reserve (memory kept for OS and daemons) is an estimate")
    if tier in provider.estimated_rates:
        notes.append(f"{provider.cloud} {tier} rate of {provider.dbu_rates[tier]} per DBU is an estimate")
    if serverless:
        notes.append(f"{tier} DBU use approximated by the node types' classic DBU/h; VM cost included in the rate")
    if spot_nodes and default_rate:
        notes.append(f"spot interruption rate {provider.spot_interruption_rate_per_hour}/node-hour is the catalogue estimate")
    if spot_nodes and default_rework:
        notes.append(f"rework after an interruption defaults to 1/(2 x {plan.workers} workers); pass the simulator's value")
    return tuple(notes)
