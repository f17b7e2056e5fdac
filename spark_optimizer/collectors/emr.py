"""Collect AWS EMR clusters, their instance groups or fleets, and their steps with boto3 (extra `[aws]`).

Example::

    summary = collect_from_emr(store, "us-west-2", datetime.now(timezone.utc))
    summary.as_dict()   # {'provider': 'emr', 'scope': 'us-west-2', 'clusters_collected': 3, 'runs': 12, ...}

Credentials come from boto3's standard chain (environment, `--profile`/AWS_PROFILE, SSO, instance or
task role); they are never printed or stored. Throttling and 5xx answers are retried by botocore's
"standard" retry mode (exponential backoff with jitter). Calls made, and the IAM permission each needs:
ListClusters, DescribeCluster, ListInstanceGroups or ListInstanceFleets, ListSteps,
GetManagedScalingPolicy, ListSupportedInstanceTypes (all `elasticmapreduce:<Action>`).

Incremental: only clusters created after the newest one stored for the region (ListClusters
CreatedAfter) are listed, plus stored clusters that were still active and clusters whose last
collection failed; a listed cluster whose timeline and state did not change is skipped, and a
cluster's steps are paged (newest first) only until a page holds nothing new.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from spark_optimizer.collectors.cloud_rows import (
    CloudCollectError,
    CloudPermissionError,
    ClusterRow,
    NodeGroupRow,
    RunRow,
    duration,
    float_or_none,
    instant,
    int_or_none,
    latest,
    pick,
    string_map,
    strings,
)
from spark_optimizer.collectors.cloud_store import (
    CloudBatch,
    CloudCollectSummary,
    CloudState,
    load_state,
    log_row,
    target_path,
    write_batch,
)
from spark_optimizer.tables.store import TableStore

PROVIDER = "emr"
TERMINAL_CLUSTER_STATES = ("TERMINATED", "TERMINATED_WITH_ERRORS")
TERMINAL_STEP_STATES = ("COMPLETED", "CANCELLED", "FAILED", "INTERRUPTED")
_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnrecognizedClientException", "403")


def emr_client(region: str, *, profile: str | None = None, endpoint_url: str | None = None, retries: int = 5,
               timeout_s: float = 30, session: Any = None):
    """A boto3 EMR client from the standard credential chain, with botocore's standard retry mode."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise CloudCollectError("the EMR collector needs boto3: pip install 'spark-optimizer[aws]'") from None
    session = session or boto3.Session(profile_name=profile, region_name=region)
    config = Config(retries={"mode": "standard", "max_attempts": retries}, connect_timeout=timeout_s,
                    read_timeout=timeout_s)
    return session.client("emr", region_name=region, endpoint_url=endpoint_url, config=config)


def _api_error(action: str, exc: Exception) -> CloudCollectError:
    """A boto3 failure as our error: permission errors name the IAM action that was denied."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if isinstance(exc, ClientError):
        code = str(pick(exc.response, "Error", "Code") or "")
        status = pick(exc.response, "ResponseMetadata", "HTTPStatusCode")
        message = str(pick(exc.response, "Error", "Message") or exc)
        if code in _DENIED or status == 403:
            return CloudPermissionError("EMR", action, f"elasticmapreduce:{action}", message)
        return CloudCollectError(f"EMR {action} failed: {code or status}: {message[:300]}")
    if isinstance(exc, NoCredentialsError):
        return CloudCollectError("EMR: no AWS credentials found; configure a profile (--profile / AWS_PROFILE), "
                                 "environment variables, SSO or an instance role")
    if isinstance(exc, BotoCoreError):
        return CloudCollectError(f"EMR {action} failed: {exc}")
    raise exc


def _call(client, action: str, method: str, **kwargs) -> dict:
    try:
        return getattr(client, method)(**kwargs)
    except Exception as exc:  # mapped, or re-raised when not a boto error
        raise _api_error(action, exc) from None


def _pages(client, action: str, method: str, key: str, **kwargs) -> Iterator[list[dict]]:
    """Each page's `key` list; the paginator follows Marker."""
    try:
        for page in client.get_paginator(method).paginate(**kwargs):
            yield page.get(key) or []
    except CloudCollectError:
        raise
    except Exception as exc:
        raise _api_error(action, exc) from None


# ---- API payloads -> rows -------------------------------------------------------------------------

def _timeline(status: Mapping | None) -> tuple[datetime | None, datetime | None, datetime | None, datetime | None]:
    timeline = pick(status, "Timeline") or {}
    created, ready = instant(timeline.get("CreationDateTime")), instant(timeline.get("ReadyDateTime"))
    started, ended = instant(timeline.get("StartDateTime")), instant(timeline.get("EndDateTime"))
    return created, ready or started, ended, latest(created, ready, started, ended)


def _configuration(configurations: Iterable[Mapping] | None, classification: str) -> dict:
    for conf in configurations or []:
        if conf.get("Classification") == classification:
            return dict(conf.get("Properties") or {})
    return {}


def _ebs(devices: Sequence[Mapping] | None) -> tuple[str | None, int | None, int | None]:
    """EBS volumes are listed one per device: type and size of the first, and how many."""
    if not devices:
        return None, None, None
    spec = devices[0].get("VolumeSpecification") or {}
    return spec.get("VolumeType"), len(devices), int_or_none(spec.get("SizeInGB"))


def cluster_from_api(cluster: Mapping, scope: str, groups: Sequence[NodeGroupRow],
                     managed_scaling: Mapping | None) -> ClusterRow:
    """A ClusterRow from DescribeCluster's `Cluster`, the cluster's node-group rows and its managed scaling policy."""
    status = cluster.get("Status") or {}
    created, ready, ended, changed = _timeline(status)
    reason = status.get("StateChangeReason") or {}
    spark_defaults = _configuration(cluster.get("Configurations"), "spark-defaults")
    by_role: dict[str, list[NodeGroupRow]] = {}
    for g in groups:
        by_role.setdefault(g.role or "", []).append(g)
    workers = by_role.get("core", []) + by_role.get("task", [])
    limits = pick(managed_scaling, "ComputeLimits")
    if limits:
        scale_min, scale_max = int_or_none(limits.get("MinimumCapacityUnits")), int_or_none(limits.get("MaximumCapacityUnits"))
        policy = f"managed_scaling:{limits.get('UnitType')}"
    elif any(g.autoscale_max is not None for g in workers):
        scale_min = sum(g.autoscale_min or 0 for g in workers)
        scale_max = sum(g.autoscale_max or g.requested_count or 0 for g in workers)
        policy = "instance_group"
    else:
        scale_min = scale_max = policy = None
    counts = [g.requested_count for g in workers]
    return ClusterRow(
        provider=PROVIDER, scope=scope, cluster_id=cluster["Id"], cluster_name=cluster.get("Name"),
        state=status.get("State"),
        state_message=": ".join(str(v) for v in (reason.get("Code"), reason.get("Message")) if v) or None,
        runtime_version=cluster.get("ReleaseLabel") or cluster.get("RunningAmiVersion"),
        applications=strings(" ".join(str(v) for v in (a.get("Name"), a.get("Version")) if v)
                             for a in cluster.get("Applications") or []),
        created_time=created, ready_time=ready, ended_time=ended, changed_time=changed,
        master_node_type=_types(by_role.get("master", [])), worker_node_type=_types(by_role.get("core", [])),
        num_workers=sum(counts) if counts and None not in counts else None,
        autoscale_min_workers=scale_min, autoscale_max_workers=scale_max, autoscale_policy=policy,
        region=scope, zone=pick(cluster, "Ec2InstanceAttributes", "Ec2AvailabilityZone"),
        log_uri=cluster.get("LogUri"), event_log_dir=spark_defaults.get("spark.eventLog.dir"),
        spark_conf=string_map(spark_defaults),
        tags=string_map({t.get("Key"): t.get("Value") for t in cluster.get("Tags") or []}),
    )


def _types(groups: Sequence[NodeGroupRow]) -> str | None:
    names = sorted({g.node_type for g in groups if g.node_type})
    return "|".join(names) or None


def instance_group_rows(cluster_id: str, scope: str, groups: Sequence[Mapping],
                        types: Mapping[str, tuple[int | None, int | None]]) -> list[NodeGroupRow]:
    """Rows from ListInstanceGroups' `InstanceGroups`; `types` maps an instance type to (vCPUs, memory MB)."""
    rows = []
    for g in groups:
        disk_type, disk_count, disk_size = _ebs(g.get("EbsBlockDevices"))
        constraints = pick(g, "AutoScalingPolicy", "Constraints") or {}
        vcpus, memory = types.get(g.get("InstanceType"), (None, None))
        rows.append(NodeGroupRow(
            provider=PROVIDER, scope=scope, cluster_id=cluster_id, node_group_id=g["Id"], node_group_name=g.get("Name"),
            group_kind="instance_group", role=(g.get("InstanceGroupType") or "").lower() or None,
            node_type=g.get("InstanceType"), market=g.get("Market"),
            requested_count=int_or_none(g.get("RequestedInstanceCount")),
            running_count=int_or_none(g.get("RunningInstanceCount")),
            bid_price=float_or_none(g.get("BidPrice")),  # USD; non-numeric values become null
            vcpus=vcpus, memory_mb=memory, disk_type=disk_type, disk_count=disk_count, disk_size_gb=disk_size,
            autoscale_min=int_or_none(constraints.get("MinCapacity")),
            autoscale_max=int_or_none(constraints.get("MaxCapacity")), state=pick(g, "Status", "State")))
    return rows


def _fleet_market(fleet: Mapping) -> str:
    on_demand, spot = fleet.get("TargetOnDemandCapacity") or 0, fleet.get("TargetSpotCapacity") or 0
    if spot and on_demand:
        return "MIXED"
    if spot:
        action = pick(fleet, "LaunchSpecifications", "SpotSpecification", "TimeoutAction")
        return "SPOT_WITH_FALLBACK" if action == "SWITCH_TO_ON_DEMAND" else "SPOT"
    return "ON_DEMAND"


def instance_fleet_rows(cluster_id: str, scope: str, fleets: Sequence[Mapping],
                        types: Mapping[str, tuple[int | None, int | None]]) -> list[NodeGroupRow]:
    """Rows from ListInstanceFleets' `InstanceFleets`: one per fleet and instance type it may launch."""
    rows = []
    for fleet in fleets:
        for spec in fleet.get("InstanceTypeSpecifications") or [{}]:
            disk_type, disk_count, disk_size = _ebs(spec.get("EbsBlockDevices"))
            vcpus, memory = types.get(spec.get("InstanceType"), (None, None))
            rows.append(NodeGroupRow(
                provider=PROVIDER, scope=scope, cluster_id=cluster_id,
                node_group_id=f"{fleet['Id']}/{spec.get('InstanceType')}", node_group_name=fleet.get("Name"),
                group_kind="instance_fleet", role=(fleet.get("InstanceFleetType") or "").lower() or None,
                node_type=spec.get("InstanceType"), market=_fleet_market(fleet),
                target_on_demand_capacity=int_or_none(fleet.get("TargetOnDemandCapacity")),
                target_spot_capacity=int_or_none(fleet.get("TargetSpotCapacity")),
                provisioned_on_demand_capacity=int_or_none(fleet.get("ProvisionedOnDemandCapacity")),
                provisioned_spot_capacity=int_or_none(fleet.get("ProvisionedSpotCapacity")),
                weighted_capacity=int_or_none(spec.get("WeightedCapacity")),
                bid_price=float_or_none(spec.get("BidPrice")),
                bid_price_percent=float_or_none(spec.get("BidPriceAsPercentageOfOnDemandPrice")),
                vcpus=vcpus, memory_mb=memory, disk_type=disk_type, disk_count=disk_count, disk_size_gb=disk_size,
                state=pick(fleet, "Status", "State")))
    return rows


def step_from_api(cluster_id: str, scope: str, step: Mapping) -> RunRow:
    """A RunRow from ListSteps' StepSummary."""
    status = step.get("Status") or {}
    timeline = status.get("Timeline") or {}
    created, start, end = (instant(timeline.get(k)) for k in ("CreationDateTime", "StartDateTime", "EndDateTime"))
    failure = status.get("FailureDetails") or {}
    config = step.get("Config") or {}
    return RunRow(
        provider=PROVIDER, scope=scope, run_id=step["Id"], run_type="emr_step", cluster_id=cluster_id,
        run_name=step.get("Name"), job_kind=config.get("Jar"), main=config.get("MainClass"),
        arguments=strings(config.get("Args")),
        properties=string_map({**(config.get("Properties") or {}), **({"ActionOnFailure": step["ActionOnFailure"]}
                                                                     if step.get("ActionOnFailure") else {})}),
        state=status.get("State"), result_state=failure.get("Reason"),
        state_message=failure.get("Message") or pick(status, "StateChangeReason", "Message"),
        created_time=created, start_time=start, end_time=end, duration_ms=duration(start, end),
        changed_time=latest(created, start, end))


# ---- collection -----------------------------------------------------------------------------------

class _EmrCluster:
    """Collects one cluster; sub-resource failures are kept as `problems` (the cluster is then partial)."""

    def __init__(self, client, scope: str, state: CloudState, type_cache: dict):
        self.client, self.scope, self.state, self.type_cache = client, scope, state, type_cache
        self.problems: list[str] = []

    def _try(self, what: Callable[[], Any], default: Any) -> Any:
        try:
            return what()
        except CloudCollectError as exc:
            self.problems.append(str(exc))
            return default

    def instance_types(self, release_label: str | None) -> dict[str, tuple[int | None, int | None]]:
        if not release_label:
            return {}
        if release_label not in self.type_cache:
            def fetch() -> dict:
                types, marker = {}, None
                while True:
                    page = _call(self.client, "ListSupportedInstanceTypes", "list_supported_instance_types",
                                 ReleaseLabel=release_label, **({"Marker": marker} if marker else {}))
                    for t in page.get("SupportedInstanceTypes") or []:
                        memory_gb = float_or_none(t.get("MemoryGB"))
                        types[t.get("Type")] = (int_or_none(t.get("VCPU")),
                                                int(round(memory_gb * 1024)) if memory_gb is not None else None)
                    marker = page.get("Marker")
                    if not marker:
                        return types
            self.type_cache[release_label] = self._try(fetch, {})
        return self.type_cache[release_label]

    def node_groups(self, cluster: Mapping, types: Mapping) -> list[NodeGroupRow]:
        cid, kind = cluster["Id"], cluster.get("InstanceCollectionType")

        def groups() -> list[NodeGroupRow]:
            listed = [g for page in _pages(self.client, "ListInstanceGroups", "list_instance_groups", "InstanceGroups",
                                           ClusterId=cid) for g in page]
            return instance_group_rows(cid, self.scope, listed, types)

        def fleets() -> list[NodeGroupRow]:
            listed = [f for page in _pages(self.client, "ListInstanceFleets", "list_instance_fleets", "InstanceFleets",
                                           ClusterId=cid) for f in page]
            return instance_fleet_rows(cid, self.scope, listed, types)

        if kind == "INSTANCE_FLEET":
            return self._try(fleets, [])
        rows = self._try(groups, [])
        return rows if rows or kind == "INSTANCE_GROUP" else self._try(fleets, [])

    def steps(self, cid: str) -> list[RunRow]:
        def fetch() -> list[RunRow]:
            rows = []
            for page in _pages(self.client, "ListSteps", "list_steps", "Steps", ClusterId=cid):  # newest first
                new = [step_from_api(cid, self.scope, s) for s in page]
                fresh = [r for r in new if not (self.state.run_unchanged(r.run_id, r.state, r.changed_time)
                                                 and r.state in TERMINAL_STEP_STATES)]
                rows.extend(fresh)
                if new and not fresh:  # everything older was collected before
                    break
            return rows
        return self._try(fetch, [])

    def collect(self, cid: str, batch: CloudBatch) -> tuple[ClusterRow, str | None]:
        cluster = _call(self.client, "DescribeCluster", "describe_cluster", ClusterId=cid)["Cluster"]
        types = self.instance_types(cluster.get("ReleaseLabel"))
        groups = self.node_groups(cluster, types)
        scaling = self._try(lambda: _call(self.client, "GetManagedScalingPolicy", "get_managed_scaling_policy",
                                          ClusterId=cid).get("ManagedScalingPolicy"), None)
        steps = self.steps(cid)
        row = cluster_from_api(cluster, self.scope, groups, scaling)
        batch.clusters.append(row)
        batch.nodes.extend(groups)
        batch.runs.extend(steps)
        return row, "; ".join(self.problems) or None


def collect_from_emr(store: TableStore, region: str, collected_at: datetime, *, client: Any = None,
                     profile: str | None = None, endpoint_url: str | None = None, since_ms: int | None = None,
                     cluster_ids: Sequence[str] | None = None, retries: int = 5, timeout_s: float = 30) -> CloudCollectSummary:
    """Collect the region's EMR clusters created after the watermark (or `since_ms`), or exactly `cluster_ids`.

    Raises CloudCollectError (CloudPermissionError for a denied ListClusters) when the region cannot be
    listed; a failure for one cluster is recorded in the summary and in `ingest_log`, and the others
    are still collected.
    """
    if collected_at.tzinfo is None:
        collected_at = collected_at.replace(tzinfo=timezone.utc)
    client = client or emr_client(region, profile=profile, endpoint_url=endpoint_url, retries=retries, timeout_s=timeout_s)
    state = load_state(store, PROVIDER, region)
    summary = CloudCollectSummary(PROVIDER, region)
    targets: dict[str, tuple[str | None, datetime | None]] = {}  # id -> listed (state, changed) or (None, None)
    if cluster_ids:
        targets = {cid: (None, None) for cid in cluster_ids}
    else:
        created_after = instant(since_ms) if since_ms is not None else state.max_created()
        summary.watermark = created_after
        # A second of overlap (the API takes whole seconds); clusters listed again are skipped as unchanged.
        kwargs = {"CreatedAfter": created_after.replace(microsecond=0) - timedelta(seconds=1)} if created_after else {}
        for page in _pages(client, "ListClusters", "list_clusters", "Clusters", **kwargs):
            for c in page:
                summary.listed += 1
                status = c.get("Status") or {}
                changed = _timeline(status)[3]
                if state.cluster_unchanged(c["Id"], status.get("State"), changed):
                    summary.unchanged += 1
                    continue
                targets[c["Id"]] = (status.get("State"), changed)
        for cid in sorted(state.active_clusters(TERMINAL_CLUSTER_STATES) | state.retry_clusters):
            targets.setdefault(cid, (None, None))
    batch, type_cache = CloudBatch(), {}
    for cid in targets:
        target = target_path(PROVIDER, region, "clusters", cid)
        try:
            row, problem = _EmrCluster(client, region, state, type_cache).collect(cid, batch)
        except CloudCollectError as exc:
            summary.record(target, "failed", str(exc))
            batch.log.append(log_row(PROVIDER, region, cid, "failed", str(exc), 0, None, None, collected_at))
            continue
        rows = 1 + sum(n.cluster_id == cid for n in batch.nodes) + sum(r.cluster_id == cid for r in batch.runs)
        status = "partial" if problem else "collected"
        summary.record(target, status, problem, rows)
        batch.log.append(log_row(PROVIDER, region, cid, status, problem, rows, row.changed_time, row.state,
                                 collected_at))
    summary.node_groups, summary.runs = len(batch.nodes), len(batch.runs)
    write_batch(store, batch, collected_at)
    return summary


__all__ = ["collect_from_emr", "cluster_from_api", "emr_client", "instance_fleet_rows", "instance_group_rows",
           "step_from_api"]
