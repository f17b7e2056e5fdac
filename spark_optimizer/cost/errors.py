"""The cost model's errors: one root under SparkOptimizerError and one class per failure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spark_optimizer.errors import ConfigurationError, SparkOptimizerError

if TYPE_CHECKING:
    from spark_optimizer.cost.objectives import Candidate


class CostModelError(SparkOptimizerError):
    """Root of the cost model's errors."""


class PricingCatalogueError(CostModelError, ConfigurationError):
    """Thrown when a pricing file is missing, not TOML, or has a missing or unusable field; the
    message names the file and the field."""


class CatalogueLookupError(CostModelError, LookupError):
    """Thrown when a cloud, instance type or workload tier is not in the catalogue; the message
    lists what exists."""


class InvalidShapeError(CostModelError, ValueError):
    """Thrown when a cluster shape or a cost input is impossible (zero cores, negative runtime,
    a spot share outside 0..1)."""


class InstanceFitError(CostModelError):
    """Thrown when no instance type (or not the one asked for) can hold one executor or the
    driver after the node reserve."""


class ObjectiveError(CostModelError, ValueError):
    """Thrown for an unknown objective, an empty candidate list or a weight outside 0..1."""


class NoFeasibleCandidateError(CostModelError):
    """Thrown when no candidate meets the deadline and/or budget; `closest` is the candidate that
    misses them by the smallest factor."""

    def __init__(self, message: str, closest: "Candidate"):
        super().__init__(message)
        self.closest = closest
