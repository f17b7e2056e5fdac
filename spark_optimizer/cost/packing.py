"""Packing a Spark cluster shape onto instances: how many workers of which type, plus the node
that holds the driver.

Each executor needs `executor_cores` vCPUs and a container of `executor_memory_mb` +
memoryOverhead (Spark's default, `spark_rules.memory_overhead_mb`: max(384 MiB, 10% of the heap)) + off-heap +
PySpark memory. A worker node offers its vCPUs and memory minus the provider's reserve for the OS
and daemons (see `NodeReserve` and docs/cost-model.md: on EMR min(25% of memory, 8 GiB), which is
exactly what EMR's YARN defaults leave). Executors per node = min(usable vCPUs // executor cores,
usable memory // container); workers = ceil(executors / executors per node). The driver gets its
own node — the EMR/Dataproc primary ("master") node, or a dedicated driver node on Azure VMs and
Databricks — the cheapest one whose usable memory holds the driver container.

Without `instance_type`, every instance type of the cloud is tried and the cheapest cluster per
hour wins (on-demand VM + platform fee + DBUs at the tier), then the one wasting fewer vCPUs.
Not modelled: YARN's allocation rounding (yarn.scheduler.minimum-allocation-mb), executors that
span nodes, and Databricks' one-executor-per-worker layout (which uses the same cores and memory).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

from spark_optimizer.cost.catalogue import InstanceType, PricingCatalogue, ProviderPricing
from spark_optimizer.cost.errors import InstanceFitError, InvalidShapeError
from spark_optimizer.spark_rules import default_memory_overhead_mb, is_true, memory_overhead_mb, size_mb


@dataclass(frozen=True)
class ClusterShape:
    """A Spark resource request. Memory in MiB, as Spark's `4g` = 4096; overheads default to
    Spark's rule when None.

    Example::

        ClusterShape(executors=6, executor_cores=4, executor_memory_mb=8192)  # container 9011 MiB
    """

    executors: int
    executor_cores: int
    executor_memory_mb: int
    memory_overhead_mb: int | None = None
    driver_cores: int = 1
    driver_memory_mb: int = 1024
    driver_memory_overhead_mb: int | None = None
    offheap_memory_mb: int = 0
    pyspark_memory_mb: int = 0

    def __post_init__(self) -> None:
        for name in ("executors", "executor_cores", "executor_memory_mb", "driver_cores", "driver_memory_mb"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidShapeError(f"ClusterShape.{name} must be a positive integer, found {value!r}")
        for name in ("memory_overhead_mb", "driver_memory_overhead_mb", "offheap_memory_mb", "pyspark_memory_mb"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise InvalidShapeError(f"ClusterShape.{name} must be an integer >= 0, found {value!r}")

    @property
    def executor_overhead_mb(self) -> int:
        return self.memory_overhead_mb if self.memory_overhead_mb is not None else default_memory_overhead_mb(self.executor_memory_mb)

    @property
    def executor_container_mb(self) -> int:
        """Memory one executor takes on its node: heap + overhead + off-heap + PySpark."""
        return self.executor_memory_mb + self.executor_overhead_mb + self.offheap_memory_mb + self.pyspark_memory_mb

    @property
    def driver_container_mb(self) -> int:
        overhead = self.driver_memory_overhead_mb
        return self.driver_memory_mb + (overhead if overhead is not None else default_memory_overhead_mb(self.driver_memory_mb))

    @property
    def total_executor_cores(self) -> int:
        return self.executors * self.executor_cores

    def describe(self) -> str:
        return (f"{self.executors} executors x {self.executor_cores} cores x {self.executor_memory_mb} MiB "
                f"(+{self.executor_container_mb - self.executor_memory_mb} MiB overhead)")

    @classmethod
    def from_spark_conf(cls, conf: Mapping[str, str], *, executors: int | None = None) -> "ClusterShape":
        """Build a shape from Spark properties (`spark.executor.memory=4g`, ...); `executors`
        overrides spark.executor.instances (pass it for dynamic allocation)."""
        def size(key: str, default: str | None) -> int | None:
            text = conf.get(key, default)
            try:
                return None if text is None else size_mb(key, text)
            except ValueError as exc:
                raise InvalidShapeError(f"{key} must be a Spark size such as 4g, 512m or 2048 ({exc})") from None

        def integer(key: str, default: int | None) -> int | None:
            text = conf.get(key)
            if text is None:
                return default
            try:
                return int(text)
            except ValueError:
                raise InvalidShapeError(f"{key} must be an integer, found {text!r}") from None

        count = executors if executors is not None else integer("spark.executor.instances", None)
        if count is None:
            raise InvalidShapeError("spark.executor.instances is not set; pass executors= (e.g. the dynamic-allocation maximum)")
        memory = size("spark.executor.memory", "1g")

        def overhead(role: str, heap_mb: int) -> int:
            try:
                return memory_overhead_mb(conf, heap_mb, role)
            except ValueError as exc:
                raise InvalidShapeError(f"the {role} memory overhead: {exc}") from None

        offheap = size("spark.memory.offHeap.size", "0") if is_true(conf.get("spark.memory.offHeap.enabled")) else 0
        driver_memory = size("spark.driver.memory", "1g")
        return cls(
            executors=count,
            executor_cores=integer("spark.executor.cores", 1),
            executor_memory_mb=memory,
            memory_overhead_mb=overhead("executor", memory),
            driver_cores=integer("spark.driver.cores", 1),
            driver_memory_mb=driver_memory,
            driver_memory_overhead_mb=overhead("driver", driver_memory),
            offheap_memory_mb=offheap,
            pyspark_memory_mb=size("spark.executor.pyspark.memory", "0"),
        )


@dataclass(frozen=True)
class NodeFit:
    """How executors fit on one node of an instance type after the reserve."""

    instance: InstanceType
    usable_cores: int
    usable_memory_mb: int
    reserved_memory_mb: int
    executors_per_node: int
    limited_by: str
    """The resource that runs out first: 'cores', 'memory', or 'cores and memory' when both
    run out together."""


def fit_executors(shape: ClusterShape, instance: InstanceType, provider: ProviderPricing) -> NodeFit:
    reserved = provider.reserve.memory_mb(instance.memory_gib)
    usable_cores = max(0, instance.vcpus - provider.reserve.cores)
    usable_memory = max(0, instance.memory_mb - reserved)
    # Compare exact capacities: with 8 usable cores and room for 2.7 containers, two executors fit
    # either way, but the cores run out first.
    by_cores = usable_cores / shape.executor_cores
    by_memory = usable_memory / shape.executor_container_mb
    limited_by = "cores" if by_cores < by_memory else "memory" if by_memory < by_cores else "cores and memory"
    return NodeFit(instance, usable_cores, usable_memory, reserved, int(min(by_cores, by_memory)), limited_by)


def driver_fits(shape: ClusterShape, instance: InstanceType, provider: ProviderPricing) -> bool:
    usable_cores = instance.vcpus - provider.reserve.cores
    usable_memory = instance.memory_mb - provider.reserve.memory_mb(instance.memory_gib)
    return usable_cores >= shape.driver_cores and usable_memory >= shape.driver_container_mb


@dataclass(frozen=True)
class InstancePlan:
    """Workers and the driver node for one shape on one cloud, and what the packing wastes."""

    cloud: str
    provider: ProviderPricing = field(repr=False)
    shape: ClusterShape
    worker_type: InstanceType
    workers: int
    executors_per_node: int
    limited_by: str
    driver_type: InstanceType
    driver_role: str
    """'master' (EMR/Dataproc primary node running the driver) or 'driver' (a dedicated node)."""
    reserved_cores_per_node: int
    reserved_memory_mb_per_node: int
    wasted_vcpus: int
    """Usable (after-reserve) worker vCPUs no executor holds."""
    wasted_memory_mb: int
    """Usable (after-reserve) worker memory no executor container holds."""
    tier: str | None
    hourly_on_demand: float
    """The whole cluster per hour, all on-demand, at `tier` (VMs + platform fee + DBUs)."""

    @property
    def nodes(self) -> int:
        return self.workers + 1

    @property
    def wasted_memory_gib(self) -> float:
        return self.wasted_memory_mb / 1024

    def describe(self) -> str:
        return (f"{self.cloud}: {self.workers} x {self.worker_type.name} "
                f"({self.executors_per_node} executor{'s' if self.executors_per_node != 1 else ''} each, "
                f"{self.limited_by}-bound) + 1 x {self.driver_type.name} {self.driver_role}")


def plan_instances(shape: ClusterShape, catalogue: PricingCatalogue, cloud: str, instance_type: str | None = None,
                   *, driver_instance_type: str | None = None, tier: str | None = None) -> InstancePlan:
    """Pack `shape` onto `cloud`'s instances (the cheapest type per hour when `instance_type` is
    None); `tier` is the Databricks workload tier used to rank types (default: the catalogue's).

    Example::

        plan = plan_instances(ClusterShape(6, 4, 8192), catalogue, "aws")
        plan.describe()  # 'aws: 3 x m5.2xlarge (2 executors each, cores-bound) + 1 x c4.large master'
    """
    provider = catalogue.provider(cloud)
    tier = provider.resolve_tier(tier)
    driver = _choose_driver(shape, provider, driver_instance_type, tier)
    if instance_type is not None:
        fit = fit_executors(shape, provider.instance(instance_type), provider)
        options = [(fit, provider.node_hourly(fit.instance, tier))]
    else:
        options = _node_options(shape, provider, tier)
    usable = [(fit, hourly) for fit, hourly in options if fit.executors_per_node > 0]
    if not usable:
        raise InstanceFitError(_no_fit_message(shape, provider, [fit for fit, _ in options], instance_type))
    driver_hourly = provider.node_hourly(driver, tier)

    def plan_for(fit: NodeFit) -> InstancePlan:
        workers = math.ceil(shape.executors / fit.executors_per_node)
        return InstancePlan(
            cloud=provider.cloud, provider=provider, shape=shape, worker_type=fit.instance, workers=workers,
            executors_per_node=fit.executors_per_node, limited_by=fit.limited_by, driver_type=driver,
            driver_role="master" if provider.driver_placement == "master" else "driver",
            reserved_cores_per_node=provider.reserve.cores, reserved_memory_mb_per_node=fit.reserved_memory_mb,
            wasted_vcpus=workers * fit.usable_cores - shape.total_executor_cores,
            wasted_memory_mb=workers * fit.usable_memory_mb - shape.executors * shape.executor_container_mb,
            tier=tier, hourly_on_demand=workers * provider.node_hourly(fit.instance, tier) + driver_hourly,
        )

    def rank(option: tuple[NodeFit, float]) -> tuple:
        # The order of InstancePlan (hourly, wasted vCPUs, workers, name) without building every plan.
        fit, node_hourly = option
        workers = math.ceil(shape.executors / fit.executors_per_node)
        return (round(workers * node_hourly + driver_hourly, 9), workers * fit.usable_cores - shape.total_executor_cores,
                workers, fit.instance.name)

    return plan_for(min(usable, key=rank)[0])


_NODE_OPTIONS: dict = {}


def _node_options(shape: ClusterShape, provider: ProviderPricing, tier: str | None) -> list[tuple[NodeFit, float]]:
    """Every instance type's fit for the shape's executor (cores and container only) and its hourly price,
    remembered per provider: a search packs hundreds of shapes with few distinct executors."""
    key = (id(provider), tier, shape.executor_cores, shape.executor_container_mb)
    hit = _NODE_OPTIONS.get(key)
    if hit is not None and hit[0] is provider:
        return hit[1]
    options = [(fit_executors(shape, instance, provider), provider.node_hourly(instance, tier))
               for instance in provider.instances.values()]
    if len(_NODE_OPTIONS) > 4096:
        _NODE_OPTIONS.clear()
    _NODE_OPTIONS[key] = (provider, options)
    return options


def _choose_driver(shape: ClusterShape, provider: ProviderPricing, name: str | None, tier: str | None) -> InstanceType:
    role = "primary (master) node" if provider.driver_placement == "master" else "driver node"
    if name is not None:
        instance = provider.instance(name)
        if not driver_fits(shape, instance, provider):
            raise InstanceFitError(
                f"the driver ({shape.driver_cores} cores, {shape.driver_container_mb} MiB with overhead) does not fit "
                f"on a {provider.cloud} {name} {role} ({_usable(instance, provider)}); pick a larger driver type"
            )
        return instance
    candidates = [i for i in provider.instances.values() if driver_fits(shape, i, provider)]
    if not candidates:
        largest = max(provider.instances.values(), key=lambda i: (i.memory_mb, i.vcpus))
        raise InstanceFitError(
            f"no {provider.cloud} instance type can be the {role} for a driver of {shape.driver_cores} cores and "
            f"{shape.driver_container_mb} MiB with overhead; the largest, {largest.name}, offers "
            f"{_usable(largest, provider)}; lower spark.driver.memory or add a larger type to {provider.source_file.name}"
        )
    return min(candidates, key=lambda i: (provider.node_hourly(i, tier), i.memory_mb, i.name))


def _usable(instance: InstanceType, provider: ProviderPricing) -> str:
    reserved = provider.reserve.memory_mb(instance.memory_gib)
    return (f"{instance.vcpus - provider.reserve.cores} usable vCPUs and {instance.memory_mb - reserved} MiB usable "
            f"after a {reserved} MiB reserve")


def _no_fit_message(shape: ClusterShape, provider: ProviderPricing, fits: list[NodeFit], asked: str | None) -> str:
    need = (f"one executor of {shape.executor_cores} cores and {shape.executor_container_mb} MiB "
            f"({shape.executor_memory_mb} MiB heap + {shape.executor_container_mb - shape.executor_memory_mb} MiB overhead)")
    if asked is not None:
        fit = fits[0]
        short = [what for what, lacking in (("vCPUs", fit.usable_cores < shape.executor_cores),
                                            ("memory", fit.usable_memory_mb < shape.executor_container_mb)) if lacking]
        return (f"{need} does not fit on {provider.cloud} {asked} ({_usable(fit.instance, provider)}: not enough "
                f"{' or '.join(short)}); choose a larger instance type or smaller executors")
    largest = max(fits, key=lambda f: (f.usable_memory_mb, f.usable_cores))
    return (f"no {provider.cloud} instance type fits {need}; the largest, {largest.instance.name}, offers "
            f"{_usable(largest.instance, provider)}; use smaller executors or add a larger type to "
            f"{provider.source_file.name}")
