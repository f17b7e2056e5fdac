"""The pricing catalogue: instance types, prices, platform fees and DBU rates per cloud, loaded
from the versioned TOML files in `pricing/` of the packaged defaults or the user's conf folder (one per provider, each with its date and
sources). docs/cost-model.md describes the files; this module only reads and checks them.

Clouds are named `aws` (EMR on EC2), `gcp` (Dataproc), `azure` (plain VMs) and
`databricks-aws`, `databricks-azure`, `databricks-gcp`; `databricks` is an alias for the
Databricks host named by `default_host` in databricks.toml.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Mapping

from spark_optimizer import defaults
from spark_optimizer.cost.errors import CatalogueLookupError, PricingCatalogueError

DEFAULT_PRICING_DIR = defaults.packaged(defaults.PRICING)
SCHEMA_VERSION = 1
DRIVER_PLACEMENTS = ("master", "dedicated")
PLATFORM_FEE_KINDS = ("none", "per_instance", "per_vcpu")
ESTIMABLE_INSTANCE_FIELDS = ("on_demand_hourly", "spot_hourly", "platform_fee_hourly", "dbu_per_hour", "memory_gib")


@dataclass(frozen=True)
class InstanceType:
    """One node type of one cloud with its hourly prices (in the provider's currency).

    `platform_fee_hourly` is the EMR uplift or the Dataproc vCPU fee of this node; `dbu_per_hour`
    is the Databricks Units the node consumes per hour (0 outside Databricks). `estimated` names
    the fields whose values are estimates rather than published prices.
    """

    cloud: str
    name: str
    vcpus: int
    memory_gib: float
    on_demand_hourly: float
    spot_hourly: float
    platform_fee_hourly: float = 0.0
    dbu_per_hour: float = 0.0
    family: str = ""
    estimated: frozenset[str] = frozenset()

    @property
    def memory_mb(self) -> int:
        return int(round(self.memory_gib * 1024))


@dataclass(frozen=True)
class NodeReserve:
    """What a node keeps for the OS and daemons: `cores` vCPUs and
    clamp(memory_fraction x memory, memory_min_gib, memory_max_gib) of memory."""

    cores: int = 0
    memory_fraction: float = 0.0
    memory_min_gib: float = 0.0
    memory_max_gib: float | None = None
    estimated: bool = False

    def memory_mb(self, memory_gib: float) -> int:
        reserve_gib = max(memory_gib * self.memory_fraction, self.memory_min_gib)
        if self.memory_max_gib is not None:
            reserve_gib = min(reserve_gib, self.memory_max_gib)
        return math.ceil(reserve_gib * 1024 - 1e-9)


@dataclass(frozen=True)
class ProviderPricing:
    """Everything the cost model knows about one cloud (or one Databricks host)."""

    cloud: str
    platform: str
    region: str
    currency: str
    as_of: date
    sources: tuple[str, ...]
    source_file: Path
    billing_increment_s: int
    billing_minimum_s: int
    billing_estimated: bool
    driver_placement: str
    reserve: NodeReserve
    spot_interruption_rate_per_hour: float
    instances: Mapping[str, InstanceType]
    dbu_rates: Mapping[str, float] = field(default_factory=dict)
    estimated_rates: frozenset[str] = frozenset()
    serverless_tiers: frozenset[str] = frozenset()
    default_tier: str | None = None

    @property
    def uses_dbus(self) -> bool:
        return bool(self.dbu_rates)

    def instance(self, name: str) -> InstanceType:
        try:
            return self.instances[name]
        except KeyError:
            raise CatalogueLookupError(
                f"{self.cloud} has no instance type {name!r} in {self.source_file.name}; "
                f"known: {', '.join(sorted(self.instances))}"
            ) from None

    def resolve_tier(self, tier: str | None) -> str | None:
        """The tier to price DBUs at: `tier`, or the default one; None for clouds without DBUs."""
        if not self.uses_dbus:
            if tier is not None:
                raise CatalogueLookupError(f"{self.cloud} has no DBU workload tiers; pass tier=None (found {tier!r})")
            return None
        tier = tier or self.default_tier
        if tier not in self.dbu_rates:
            raise CatalogueLookupError(
                f"{self.cloud} has no workload tier {tier!r}; known: {', '.join(sorted(self.dbu_rates))}"
            )
        return tier

    def node_hourly(self, instance: InstanceType, tier: str | None = None, *, spot: bool = False) -> float:
        """What one node of `instance` costs per hour at `tier`: VM (unless the tier is
        serverless) + platform fee + DBUs."""
        tier = self.resolve_tier(tier)
        dbu = instance.dbu_per_hour * self.dbu_rates[tier] if tier else 0.0
        if tier in self.serverless_tiers:
            return dbu
        vm = instance.spot_hourly if spot else instance.on_demand_hourly
        return vm + instance.platform_fee_hourly + dbu


@dataclass(frozen=True)
class PricingCatalogue:
    """All providers loaded from one pricing folder; `aliases` maps e.g. `databricks` to
    `databricks-aws`."""

    providers: Mapping[str, ProviderPricing]
    aliases: Mapping[str, str]
    directory: Path

    @property
    def clouds(self) -> tuple[str, ...]:
        return tuple(self.providers)

    def provider(self, cloud: str) -> ProviderPricing:
        name = self.aliases.get(cloud, cloud)
        try:
            return self.providers[name]
        except KeyError:
            known = sorted(set(self.providers) | set(self.aliases))
            raise CatalogueLookupError(
                f"no pricing for cloud {cloud!r} in {self.directory}; known: {', '.join(known)}"
            ) from None

    def instance_types(self, cloud: str) -> list[InstanceType]:
        return list(self.provider(cloud).instances.values())

    def instance(self, cloud: str, name: str) -> InstanceType:
        return self.provider(cloud).instance(name)


def load_pricing_catalogue(path: str | Path | None = None) -> PricingCatalogue:
    """Read every `*.toml` of a pricing folder (default: `pricing/` of the user's conf folder, else the packaged one) or
    one pricing file, and check it.

    Example::

        catalogue = load_pricing_catalogue()
        catalogue.instance("aws", "m5.2xlarge").on_demand_hourly  # 0.384
    """
    root = Path(path) if path is not None else defaults.conf_path(defaults.PRICING)
    if root.is_dir():
        files = sorted(root.glob("*.toml"))
        if not files:
            raise PricingCatalogueError(f"{root} holds no *.toml pricing file; expected aws.toml, gcp.toml, ...")
    elif root.is_file():
        files = [root]
    else:
        raise PricingCatalogueError(f"pricing catalogue {root} does not exist; pass a folder of pricing TOML files")
    documents = {file: _read_toml(file) for file in files}
    providers: dict[str, ProviderPricing] = {}
    databricks_files = []
    for file, doc in documents.items():
        if doc.get("provider") == "databricks":
            databricks_files.append((file, doc))
            continue
        pricing = _parse_cloud(_Reader(file), doc)
        if pricing.cloud in providers:
            raise PricingCatalogueError(
                f"{file}: cloud {pricing.cloud!r} is already defined in {providers[pricing.cloud].source_file}"
            )
        providers[pricing.cloud] = pricing
    aliases: dict[str, str] = {}
    for file, doc in databricks_files:
        hosts, default = _parse_databricks(_Reader(file), doc, providers)
        for host in hosts:
            providers[host.cloud] = host
        aliases["databricks"] = default
    return PricingCatalogue(providers=providers, aliases=aliases, directory=root)


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise PricingCatalogueError(f"{file} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise PricingCatalogueError(f"cannot read pricing file {file}: {exc}") from None


class _Reader:
    """Typed access to one file's tables; every error names the file and the dotted field."""

    def __init__(self, file: Path):
        self.file = file

    def fail(self, where: str, message: str) -> PricingCatalogueError:
        return PricingCatalogueError(f"{self.file}: {where} {message}")

    def table(self, doc: Mapping[str, Any], key: str, where: str = "", required: bool = True) -> dict[str, Any]:
        value = doc.get(key)
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            raise self.fail(_join(where, key), f"must be a table ([{_join(where, key)}]), found {_shown(value)}")
        return value

    def text(self, doc: Mapping[str, Any], key: str, where: str = "", default: str | None = None) -> str:
        value = doc.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(_join(where, key), f"must be a non-empty string, found {_shown(value)}")
        return value

    def number(self, doc: Mapping[str, Any], key: str, where: str = "", *, default: float | None = None,
               minimum: float = 0.0, positive: bool = False, maximum: float | None = None) -> float:
        value = doc.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(_join(where, key), f"must be a number, found {_shown(value)}")
        if positive and value <= 0:
            raise self.fail(_join(where, key), f"must be greater than 0, found {value!r}")
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise self.fail(_join(where, key), f"must be {bounds}, found {value!r}")
        return float(value)

    def integer(self, doc: Mapping[str, Any], key: str, where: str = "", *, default: int | None = None,
                minimum: int = 0) -> int:
        value = doc.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(_join(where, key), f"must be an integer of at least {minimum}, found {_shown(value)}")
        return value

    def flag(self, doc: Mapping[str, Any], key: str, where: str = "") -> bool:
        value = doc.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(_join(where, key), f"must be true or false, found {_shown(value)}")
        return value

    def strings(self, doc: Mapping[str, Any], key: str, where: str = "", allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
        value = doc.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(_join(where, key), f"must be a list of strings, found {_shown(value)}")
        if allowed is not None:
            unknown = [v for v in value if v not in allowed]
            if unknown:
                raise self.fail(_join(where, key), f"names unknown fields {unknown}; allowed: {list(allowed)}")
        return tuple(value)

    def choice(self, doc: Mapping[str, Any], key: str, where: str, allowed: tuple[str, ...]) -> str:
        value = self.text(doc, key, where)
        if value not in allowed:
            raise self.fail(_join(where, key), f"must be one of {list(allowed)}, found {value!r}")
        return value

    def known_keys(self, doc: Mapping[str, Any], where: str, allowed: set[str]) -> None:
        unknown = sorted(set(doc) - allowed)
        if unknown:
            raise self.fail(where or "top level", f"has unknown keys {unknown} (typo?); known: {sorted(allowed)}")

    def header(self, doc: Mapping[str, Any]) -> tuple[date, tuple[str, ...], str]:
        version = doc.get("schema_version")
        if version != SCHEMA_VERSION:
            raise self.fail("schema_version", f"must be {SCHEMA_VERSION}, found {_shown(version)}")
        as_of = doc.get("as_of")
        if not isinstance(as_of, date):
            raise self.fail("as_of", f"must be a TOML date such as 2026-11-24, found {_shown(as_of)}")
        sources = self.strings(doc, "sources")
        if not sources:
            raise self.fail("sources", "must list at least one source (URL and what it gave)")
        currency = self.text(doc, "currency")
        if len(currency) != 3 or not currency.isupper():
            raise self.fail("currency", f"must be an ISO 4217 code such as 'USD', found {currency!r}")
        return as_of, sources, currency


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _shown(value: Any) -> str:
    return "nothing (the field is missing)" if value is None else repr(value)


_CLOUD_KEYS = {"schema_version", "cloud", "platform", "region", "currency", "as_of", "sources", "billing",
               "driver", "reserve", "spot", "platform_fee", "instances"}
_INSTANCE_KEYS = {"name", "family", "vcpus", "memory_gib", "on_demand_hourly", "spot_hourly",
                  "platform_fee_hourly", "estimated"}


def _parse_cloud(r: _Reader, doc: Mapping[str, Any]) -> ProviderPricing:
    r.known_keys(doc, "", _CLOUD_KEYS)
    as_of, sources, currency = r.header(doc)
    cloud = r.text(doc, "cloud")
    if cloud.startswith("databricks"):
        raise r.fail("cloud", f"{cloud!r} is reserved for Databricks hosts, which live in databricks.toml")
    billing = r.table(doc, "billing")
    r.known_keys(billing, "billing", {"increment_s", "minimum_s", "estimated"})
    driver = r.table(doc, "driver")
    r.known_keys(driver, "driver", {"placement"})
    spot = r.table(doc, "spot")
    r.known_keys(spot, "spot", {"price_fraction_of_on_demand", "interruption_rate_per_hour"})
    fraction = r.number(spot, "price_fraction_of_on_demand", "spot", positive=True, maximum=1.0)
    fee = r.table(doc, "platform_fee")
    r.known_keys(fee, "platform_fee", {"kind", "per_vcpu_hourly"})
    fee_kind = r.choice(fee, "kind", "platform_fee", PLATFORM_FEE_KINDS)
    per_vcpu = r.number(fee, "per_vcpu_hourly", "platform_fee", positive=True) if fee_kind == "per_vcpu" else 0.0
    rows = doc.get("instances")
    if not isinstance(rows, list) or not rows:
        raise r.fail("instances", f"must be a non-empty array of [[instances]] tables, found {_shown(rows)}")
    instances: dict[str, InstanceType] = {}
    for index, row in enumerate(rows):
        instance = _parse_instance(r, row, index, cloud, fraction, fee_kind, per_vcpu)
        if instance.name in instances:
            raise r.fail(f"instances[{index}].name", f"{instance.name!r} appears twice")
        instances[instance.name] = instance
    return ProviderPricing(
        cloud=cloud,
        platform=r.text(doc, "platform"),
        region=r.text(doc, "region"),
        currency=currency,
        as_of=as_of,
        sources=sources,
        source_file=r.file,
        billing_increment_s=r.integer(billing, "increment_s", "billing", minimum=1),
        billing_minimum_s=r.integer(billing, "minimum_s", "billing", minimum=0),
        billing_estimated=r.flag(billing, "estimated", "billing"),
        driver_placement=r.choice(driver, "placement", "driver", DRIVER_PLACEMENTS),
        reserve=_parse_reserve(r, doc),
        spot_interruption_rate_per_hour=r.number(spot, "interruption_rate_per_hour", "spot", maximum=1.0),
        instances=instances,
    )


def _parse_instance(r: _Reader, row: Any, index: int, cloud: str, spot_fraction: float, fee_kind: str,
                    per_vcpu: float) -> InstanceType:
    where = f"instances[{index}]"
    if not isinstance(row, dict):
        raise r.fail(where, f"must be a table, found {_shown(row)}")
    name = r.text(row, "name", where)
    where = f"{where} ({name})"
    r.known_keys(row, where, _INSTANCE_KEYS)
    estimated = set(r.strings(row, "estimated", where, ESTIMABLE_INSTANCE_FIELDS))
    on_demand = r.number(row, "on_demand_hourly", where, positive=True)
    if "spot_hourly" in row:
        spot = r.number(row, "spot_hourly", where, positive=True)
        if spot > on_demand:
            raise r.fail(f"{where}.spot_hourly", f"must not exceed on_demand_hourly ({on_demand}), found {spot}")
    else:
        spot = round(on_demand * spot_fraction, 6)
        estimated.add("spot_hourly")  # derived from [spot] price_fraction_of_on_demand
    if fee_kind == "per_instance":
        fee = r.number(row, "platform_fee_hourly", where)
    elif "platform_fee_hourly" in row:
        raise r.fail(f"{where}.platform_fee_hourly", f"is not allowed with platform_fee.kind = {fee_kind!r}")
    else:
        fee = 0.0
    vcpus = r.integer(row, "vcpus", where, minimum=1)
    if fee_kind == "per_vcpu":
        fee = round(per_vcpu * vcpus, 6)
    return InstanceType(
        cloud=cloud,
        name=name,
        vcpus=vcpus,
        memory_gib=r.number(row, "memory_gib", where, positive=True),
        on_demand_hourly=on_demand,
        spot_hourly=spot,
        platform_fee_hourly=fee,
        family=str(row.get("family", "")),
        estimated=frozenset(estimated),
    )


def _parse_reserve(r: _Reader, doc: Mapping[str, Any]) -> NodeReserve:
    table = r.table(doc, "reserve")
    r.known_keys(table, "reserve", {"cores", "memory_fraction", "memory_min_gib", "memory_max_gib", "estimated"})
    maximum = r.number(table, "memory_max_gib", "reserve") if "memory_max_gib" in table else None
    reserve = NodeReserve(
        cores=r.integer(table, "cores", "reserve", default=0),
        memory_fraction=r.number(table, "memory_fraction", "reserve", default=0.0, maximum=0.9),
        memory_min_gib=r.number(table, "memory_min_gib", "reserve", default=0.0),
        memory_max_gib=maximum,
        estimated=r.flag(table, "estimated", "reserve"),
    )
    if maximum is not None and maximum < reserve.memory_min_gib:
        raise r.fail("reserve.memory_max_gib", f"must be at least memory_min_gib ({reserve.memory_min_gib}), found {maximum}")
    return reserve


_DATABRICKS_KEYS = {"schema_version", "provider", "platform", "currency", "as_of", "sources", "default_host",
                    "default_tier", "serverless_tiers", "driver", "reserve", "hosts"}
_HOST_KEYS = {"plan", "region", "dbu_rates", "estimated_rates", "node_types"}
_HOST_NAMES = {"aws": "AWS", "azure": "Azure", "gcp": "Google Cloud"}


def _parse_databricks(r: _Reader, doc: Mapping[str, Any],
                      clouds: Mapping[str, ProviderPricing]) -> tuple[list[ProviderPricing], str]:
    """Databricks hosts reuse their cloud's VM prices, billing and spot data, drop its platform
    fee, and add DBUs; returns the hosts and the provider name `databricks` stands for."""
    r.known_keys(doc, "", _DATABRICKS_KEYS)
    as_of, sources, currency = r.header(doc)
    hosts = r.table(doc, "hosts")
    if not hosts:
        raise r.fail("hosts", "must define at least one host cloud ([hosts.aws], [hosts.azure], [hosts.gcp])")
    default_host = r.text(doc, "default_host")
    if default_host not in hosts:
        raise r.fail("default_host", f"must be one of the [hosts.*] tables {sorted(hosts)}, found {default_host!r}")
    default_tier = r.text(doc, "default_tier")
    serverless = frozenset(r.strings(doc, "serverless_tiers"))
    driver = r.table(doc, "driver")
    r.known_keys(driver, "driver", {"placement"})
    placement = r.choice(driver, "placement", "driver", DRIVER_PLACEMENTS)
    reserve = _parse_reserve(r, doc)
    platform = r.text(doc, "platform")
    result = []
    for host_name, host in hosts.items():
        where = f"hosts.{host_name}"
        if not isinstance(host, dict):
            raise r.fail(where, f"must be a table, found {_shown(host)}")
        r.known_keys(host, where, _HOST_KEYS)
        base = clouds.get(host_name)
        if base is None:
            raise r.fail(where, f"needs the {host_name!r} VM prices, but no pricing file defines cloud = {host_name!r}")
        if base.currency != currency:
            raise r.fail("currency", f"is {currency} but {base.source_file.name} prices VMs in {base.currency}")
        region = r.text(host, "region", where)
        if region != base.region:
            raise r.fail(f"{where}.region", f"must match {base.source_file.name} ({base.region!r}), found {region!r}")
        rates_table = r.table(host, "dbu_rates", where)
        rates = {tier: r.number(rates_table, tier, f"{where}.dbu_rates", positive=True) for tier in rates_table}
        if default_tier not in rates:
            raise r.fail(f"{where}.dbu_rates", f"must price the default tier {default_tier!r}; found {sorted(rates)}")
        estimated_rates = frozenset(r.strings(host, "estimated_rates", where, tuple(rates)))
        rows = host.get("node_types")
        if not isinstance(rows, list) or not rows:
            raise r.fail(f"{where}.node_types", f"must be a non-empty array of tables, found {_shown(rows)}")
        cloud = f"databricks-{host_name}"
        instances: dict[str, InstanceType] = {}
        for index, row in enumerate(rows):
            node_where = f"{where}.node_types[{index}]"
            if not isinstance(row, dict):
                raise r.fail(node_where, f"must be a table, found {_shown(row)}")
            name = r.text(row, "name", node_where)
            node_where = f"{node_where} ({name})"
            r.known_keys(row, node_where, {"name", "dbu_per_hour", "estimated"})
            vm = base.instances.get(name)
            if vm is None:
                raise r.fail(f"{node_where}.name", f"is not an instance type of {base.source_file.name}; add it there first")
            if name in instances:
                raise r.fail(f"{node_where}.name", f"{name!r} appears twice")
            estimated = set(r.strings(row, "estimated", node_where, ("dbu_per_hour",)))
            instances[name] = InstanceType(
                cloud=cloud, name=name, vcpus=vm.vcpus, memory_gib=vm.memory_gib,
                on_demand_hourly=vm.on_demand_hourly, spot_hourly=vm.spot_hourly, platform_fee_hourly=0.0,
                dbu_per_hour=r.number(row, "dbu_per_hour", node_where, positive=True), family=vm.family,
                estimated=frozenset(estimated | (vm.estimated - {"platform_fee_hourly"})),
            )
        result.append(ProviderPricing(
            cloud=cloud,
            platform=f"{platform} on {_HOST_NAMES.get(host_name, host_name)} ({r.text(host, 'plan', where)} plan)",
            region=region, currency=currency, as_of=as_of, sources=sources + base.sources, source_file=r.file,
            billing_increment_s=base.billing_increment_s, billing_minimum_s=base.billing_minimum_s,
            billing_estimated=base.billing_estimated, driver_placement=placement, reserve=reserve,
            spot_interruption_rate_per_hour=base.spot_interruption_rate_per_hour, instances=instances,
            dbu_rates=rates, estimated_rates=estimated_rates, serverless_tiers=serverless & frozenset(rates),
            default_tier=default_tier,
        ))
    return result, f"databricks-{default_host}"
