"""The cost model: a pricing catalogue, packing of Spark executors onto instances, the cost of a
run (billing granularity, platform fees, DBUs, spot with expected interruptions) and objectives
over candidate configurations. Pure Python (tomllib and the standard library only) so the CLI
can import it without starting a JVM. docs/cost-model.md explains formulas, sources and dates.

Example::

    from spark_optimizer.cost import ClusterShape, load_pricing_catalogue, plan_instances, run_cost

    catalogue = load_pricing_catalogue()
    plan = plan_instances(ClusterShape(executors=6, executor_cores=4, executor_memory_mb=8192), catalogue, "aws")
    run_cost(plan, runtime_s=1800, spot_share=0.5).total
"""

from spark_optimizer.cost.catalogue import (
    DEFAULT_PRICING_DIR,
    InstanceType,
    NodeReserve,
    PricingCatalogue,
    ProviderPricing,
    load_pricing_catalogue,
)
from spark_optimizer.cost.compare import CloudQuote, compare_clouds
from spark_optimizer.cost.errors import (
    CatalogueLookupError,
    CostModelError,
    InstanceFitError,
    InvalidShapeError,
    NoFeasibleCandidateError,
    ObjectiveError,
    PricingCatalogueError,
)
from spark_optimizer.cost.model import (
    CostBreakdown,
    billable_seconds,
    default_rework_fraction,
    run_cost,
    spot_worker_count,
)
from spark_optimizer.cost.objectives import (
    BALANCED,
    CHEAPEST_WITHIN_DEADLINE,
    FASTEST_WITHIN_BUDGET,
    OBJECTIVES,
    Candidate,
    choose,
    format_duration,
    pareto_frontier,
)
from spark_optimizer.cost.packing import ClusterShape, InstancePlan, NodeFit, fit_executors, plan_instances

__all__ = [
    "BALANCED",
    "CHEAPEST_WITHIN_DEADLINE",
    "DEFAULT_PRICING_DIR",
    "FASTEST_WITHIN_BUDGET",
    "OBJECTIVES",
    "Candidate",
    "CatalogueLookupError",
    "CloudQuote",
    "ClusterShape",
    "CostBreakdown",
    "CostModelError",
    "InstanceFitError",
    "InstancePlan",
    "InstanceType",
    "InvalidShapeError",
    "NoFeasibleCandidateError",
    "NodeFit",
    "NodeReserve",
    "ObjectiveError",
    "PricingCatalogue",
    "PricingCatalogueError",
    "ProviderPricing",
    "billable_seconds",
    "choose",
    "compare_clouds",
    "default_rework_fraction",
    "fit_executors",
    "format_duration",
    "load_pricing_catalogue",
    "pareto_frontier",
    "plan_instances",
    "run_cost",
    "spot_worker_count",
]
