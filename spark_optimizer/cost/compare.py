"""One shape priced side by side on several clouds.

The runtime is taken as cloud-independent (the model predicts it from the Spark configuration, not
the CPU generation); each cloud gets its cheapest instance type for the shape. A cloud where the
shape cannot be packed is reported with the reason instead of a price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from spark_optimizer.cost.catalogue import PricingCatalogue
from spark_optimizer.cost.errors import CatalogueLookupError, InstanceFitError, InvalidShapeError
from spark_optimizer.cost.objectives import Candidate
from spark_optimizer.cost.packing import ClusterShape, plan_instances


@dataclass(frozen=True)
class CloudQuote:
    """One cloud's price for the shape, or why it has none."""

    cloud: str
    candidate: Candidate | None
    error: str | None = None


def compare_clouds(shape: ClusterShape, runtime_s: float, catalogue: PricingCatalogue,
                   clouds: Sequence[str] | None = None, *, runtime_low_s: float | None = None,
                   runtime_high_s: float | None = None, spot_share: float = 0.0, tier: str | None = None,
                   instance_types: Mapping[str, str] | None = None, rework_fraction: float | None = None,
                   provisioning_s: float = 0.0) -> list[CloudQuote]:
    """Quotes for `shape` running `runtime_s` on each cloud (default: every cloud in the catalogue,
    in catalogue order). `tier` applies to Databricks clouds only; `instance_types` pins a type
    per cloud.

    Example::

        for quote in compare_clouds(shape, 1800, catalogue, ["aws", "gcp", "azure", "databricks"]):
            print(quote.cloud, quote.candidate.cost.total if quote.candidate else quote.error)
    """
    names = list(clouds) if clouds is not None else list(catalogue.clouds)
    currencies = {catalogue.provider(name).currency for name in names}
    if len(currencies) > 1:
        raise InvalidShapeError(f"cannot compare prices in different currencies {sorted(currencies)}")
    quotes = []
    for name in names:
        provider = catalogue.provider(name)
        cloud_tier = tier if provider.uses_dbus else None
        try:
            plan = plan_instances(shape, catalogue, name, (instance_types or {}).get(name), tier=cloud_tier)
            candidate = Candidate.evaluate(
                plan, runtime_s, runtime_low_s, runtime_high_s, label=name, spot_share=spot_share, tier=cloud_tier,
                rework_fraction=rework_fraction, provisioning_s=provisioning_s,
            )
        except (InstanceFitError, CatalogueLookupError) as exc:
            quotes.append(CloudQuote(cloud=name, candidate=None, error=str(exc)))
            continue
        quotes.append(CloudQuote(cloud=name, candidate=candidate))
    return quotes
