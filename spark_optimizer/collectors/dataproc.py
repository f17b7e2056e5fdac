"""Collect Google Cloud Dataproc clusters, jobs and Dataproc Serverless batches with google-cloud-dataproc
(extra `[gcp]`), through its REST transport.

Example::

    summary = collect_from_dataproc(store, "my-project", "us-central1", datetime.now(timezone.utc))
    summary.as_dict()   # {'provider': 'dataproc', 'scope': 'my-project/us-central1', 'runs': 40, ...}

Credentials come from Google's Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS,
`gcloud auth application-default login`, the metadata server); they are never printed or stored.
Throttling (429), 5xx and timeouts are retried with exponential backoff (google-api-core Retry), on
every page. Calls and the IAM permission each needs: ListClusters (dataproc.clusters.list),
GetAutoscalingPolicy (dataproc.autoscalingPolicies.get), ListJobs (dataproc.jobs.list), ListBatches
(dataproc.batches.list); the predefined role roles/dataproc.viewer holds them all.

Incremental: clusters whose state and state start time are stored unchanged are skipped; finished
jobs and batches stored unchanged are not written again; batches are listed with the documented
`create_time >=` filter from the oldest batch still running at the last collection (else the newest
stored) on. Dataproc's job list has no time filter: every job the region still holds is listed.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from spark_optimizer.collectors.cloud_rows import (
    CloudCollectError,
    CloudPermissionError,
    ClusterEventRow,
    ClusterRow,
    NodeGroupRow,
    RunRow,
    duration,
    instant,
    int_or_none,
    pick,
    rfc3339,
    string_map,
    strings,
)
from spark_optimizer.collectors.cloud_store import (
    CloudBatch,
    CloudCollectSummary,
    load_state,
    log_row,
    target_path,
    write_batch,
)
from spark_optimizer.tables.store import TableStore

PROVIDER = "dataproc"
TERMINAL_JOB_STATES = ("DONE", "ERROR", "CANCELLED")
TERMINAL_BATCH_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
PERMISSIONS = {"ListClusters": "dataproc.clusters.list", "GetAutoscalingPolicy": "dataproc.autoscalingPolicies.get",
               "ListJobs": "dataproc.jobs.list", "ListBatches": "dataproc.batches.list"}
_YARN_APP = re.compile(r"application_\d+_\d+")
_PREDEFINED = re.compile(r"-(?:standard|highmem|highcpu|megamem|ultramem|hypermem|highgpu)-(\d+)(?:-[a-z]+)?$")
_CUSTOM = re.compile(r"custom-(\d+)-(\d+)(?:-ext)?$")


class DataprocClients:
    """The four API clients over one REST endpoint, with a retry policy and a per-call timeout."""

    def __init__(self, region: str, *, api_endpoint: str | None = None, credentials: Any = None, transport: str = "rest",
                 retries: int = 5, backoff_s: float = 1.0, timeout_s: float = 60):
        try:
            from google.cloud import dataproc_v1
        except ImportError:
            raise CloudCollectError("the Dataproc collector needs google-cloud-dataproc: pip install 'spark-optimizer[gcp]'") from None
        import google.auth.exceptions

        endpoint = api_endpoint or ("dataproc.googleapis.com" if region == "global" else f"{region}-dataproc.googleapis.com")
        options = {"api_endpoint": endpoint}
        try:
            self.clusters = dataproc_v1.ClusterControllerClient(credentials=credentials, transport=transport, client_options=options)
            self.jobs = dataproc_v1.JobControllerClient(credentials=credentials, transport=transport, client_options=options)
            self.batches = dataproc_v1.BatchControllerClient(credentials=credentials, transport=transport, client_options=options)
            self.policies = dataproc_v1.AutoscalingPolicyServiceClient(credentials=credentials, transport=transport,
                                                                       client_options=options)
        except google.auth.exceptions.DefaultCredentialsError:
            raise CloudCollectError("Dataproc: no Google credentials found; run `gcloud auth application-default login` "
                                    "or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file") from None
        self.retries, self.backoff_s, self.timeout_s = retries, backoff_s, timeout_s

    def retry(self):
        """A fresh google-api-core Retry: exponential backoff on transient errors, at most `retries` times."""
        from google.api_core import exceptions
        from google.api_core.retry import Retry
        import requests

        transient = (exceptions.TooManyRequests, exceptions.InternalServerError, exceptions.BadGateway,
                     exceptions.ServiceUnavailable, exceptions.GatewayTimeout, exceptions.DeadlineExceeded,
                     exceptions.ResourceExhausted, requests.exceptions.ConnectionError, requests.exceptions.Timeout)
        left = [self.retries]

        def predicate(exc: Exception) -> bool:
            if isinstance(exc, transient) and left[0] > 0:
                left[0] -= 1
                return True
            return False
        return Retry(predicate=predicate, initial=self.backoff_s, multiplier=2, maximum=60, timeout=None)

    def call(self, action: str, fn, **kwargs) -> Any:
        """fn(**kwargs, retry=..., timeout=...); a pager is drained here, so every page gets the same policy."""
        from google.api_core import exceptions
        import requests

        def as_json(message) -> dict:  # the v1 JSON the API documents: camelCase, enum names, unset fields left out
            return type(message).to_dict(message, use_integers_for_enums=False, preserving_proto_field_name=False,
                                         always_print_fields_with_no_presence=False)

        try:
            result = fn(**kwargs, retry=self.retry(), timeout=self.timeout_s)
            return [as_json(r) for r in result] if hasattr(result, "pages") else as_json(result)
        except exceptions.Forbidden as exc:
            raise CloudPermissionError("Dataproc", action, PERMISSIONS.get(action, "dataproc.*"), exc.message) from None
        except exceptions.Unauthorized as exc:
            raise CloudCollectError(f"Dataproc {action}: the credentials were rejected ({exc.message}); refresh them with "
                                    f"`gcloud auth application-default login`") from None
        except (exceptions.GoogleAPIError, requests.exceptions.RequestException) as exc:
            raise CloudCollectError(f"Dataproc {action} failed: {type(exc).__name__}: {str(exc)[:300]}") from None


# ---- API payloads (v1 JSON) -> rows ---------------------------------------------------------------

def _short(uri: str | None) -> str | None:
    return uri.rstrip("/").rsplit("/", 1)[-1] if uri else None


def machine_shape(machine_type: str | None) -> tuple[int | None, int | None]:
    """(vCPUs, memory MB) from a Compute Engine machine-type name: predefined types end in their vCPU
    count (n2-standard-8), custom types spell both (custom-6-23040, n2-custom-6-23040)."""
    custom = _CUSTOM.search(machine_type or "")
    if custom:
        return int(custom.group(1)), int(custom.group(2))
    predefined = _PREDEFINED.search(machine_type or "")
    return (int(predefined.group(1)), None) if predefined else (None, None)


def _market(role: str, group: Mapping) -> str:
    preemptibility = group.get("preemptibility") or ("PREEMPTIBLE" if role == "secondary_worker" else "NON_PREEMPTIBLE")
    if preemptibility == "PREEMPTIBILITY_UNSPECIFIED":  # the documented default: secondary workers are preemptible
        preemptibility = "PREEMPTIBLE" if role == "secondary_worker" else "NON_PREEMPTIBLE"
    return {"NON_PREEMPTIBLE": "ON_DEMAND"}.get(preemptibility, preemptibility)


def cluster_from_api(cluster: Mapping, scope: str, policy: Mapping | None = None) -> tuple[ClusterRow, list[NodeGroupRow]]:
    """A ClusterRow and NodeGroupRows from ListClusters' Cluster (v1 JSON) and its AutoscalingPolicy."""
    cid = cluster.get("clusterUuid") or cluster["clusterName"]
    config = cluster.get("config") or {}
    status = cluster.get("status") or {}
    history = list(cluster.get("statusHistory") or []) + [status]
    since = {}
    for s in history:  # the latest start of each state
        since[s.get("state")] = instant(s.get("stateStartTime"))
    software = config.get("softwareConfig") or {}
    properties = software.get("properties") or {}
    spark_conf = {k[len("spark:"):]: v for k, v in properties.items() if k.startswith("spark:")}
    groups = {"master": config.get("masterConfig"), "worker": config.get("workerConfig"),
              "secondary_worker": config.get("secondaryWorkerConfig")}
    limits = {"worker": policy.get("workerConfig") if policy else None,
              "secondary_worker": policy.get("secondaryWorkerConfig") if policy else None}
    nodes = []
    for role, group in groups.items():
        if not group or not (group.get("numInstances") or group.get("machineTypeUri")):
            continue
        machine = _short(group.get("machineTypeUri"))
        vcpus, memory = machine_shape(machine)
        disk = group.get("diskConfig") or {}
        nodes.append(NodeGroupRow(
            provider=PROVIDER, scope=scope, cluster_id=cid, node_group_id=role, group_kind="dataproc_instance_group",
            role=role, node_type=machine, market=_market(role, group),
            requested_count=int_or_none(group.get("numInstances")),
            running_count=len(group.get("instanceNames") or []) if "instanceNames" in group else None,
            vcpus=vcpus, memory_mb=memory,
            gpus=sum(int_or_none(a.get("acceleratorCount")) or 0 for a in group.get("accelerators") or []) or None,
            disk_type=disk.get("bootDiskType"), disk_count=1 if disk.get("bootDiskSizeGb") else None,
            disk_size_gb=int_or_none(disk.get("bootDiskSizeGb")),
            autoscale_min=int_or_none(pick(limits.get(role), "minInstances")),
            autoscale_max=int_or_none(pick(limits.get(role), "maxInstances")), state=status.get("state")))
    workers = [n for n in nodes if n.role != "master"]
    scaled = [n for n in workers if n.autoscale_max is not None]
    temp_bucket, state = config.get("tempBucket"), status.get("state")
    row = ClusterRow(
        provider=PROVIDER, scope=scope, cluster_id=cid, cluster_name=cluster.get("clusterName"), state=state,
        state_message=status.get("detail") or status.get("substate") or None,
        runtime_version=software.get("imageVersion"), applications=strings(software.get("optionalComponents")),
        created_time=since.get("CREATING") or min((t for t in (instant(s.get("stateStartTime")) for s in history) if t),
                                                  default=None),
        ready_time=since.get("RUNNING"), ended_time=since.get(state) if state in ("STOPPED", "ERROR", "DELETING") else None,
        changed_time=instant(status.get("stateStartTime")),
        master_node_type=next((n.node_type for n in nodes if n.role == "master"), None),
        worker_node_type=next((n.node_type for n in nodes if n.role == "worker"), None),
        num_workers=sum(n.requested_count or 0 for n in workers) if workers else None,
        autoscale_min_workers=sum(n.autoscale_min or 0 for n in scaled) if scaled else None,
        autoscale_max_workers=sum(n.autoscale_max or 0 for n in scaled) if scaled else None,
        autoscale_policy=pick(config, "autoscalingConfig", "policyUri"), region=scope.split("/", 1)[-1],
        zone=_short(pick(config, "gceClusterConfig", "zoneUri")),
        log_uri=f"gs://{config['configBucket']}" if config.get("configBucket") else None,
        event_log_dir=spark_conf.get("spark.eventLog.dir") or (f"gs://{temp_bucket}/{cid}/spark-job-history" if temp_bucket else None),
        spark_conf=string_map(spark_conf), tags=string_map(cluster.get("labels")))
    return row, nodes


def events_from_api(cluster: Mapping, scope: str) -> list[ClusterEventRow]:
    """The cluster's status history (and current status) as events."""
    cid = cluster.get("clusterUuid") or cluster["clusterName"]
    rows = []
    for s in list(cluster.get("statusHistory") or []) + [cluster.get("status") or {}]:
        stamp = instant(s.get("stateStartTime"))
        if stamp is not None and s.get("state"):
            rows.append(ClusterEventRow(provider=PROVIDER, scope=scope, cluster_id=cid, event_time=stamp, event_type=s["state"],
                                        details=string_map({k: s[k] for k in ("detail", "substate") if s.get(k)})))
    return rows


def _kind(resource: Mapping, suffix: str) -> tuple[str | None, Mapping]:
    for key, value in resource.items():
        if key.endswith(suffix) and isinstance(value, Mapping):
            return key, value
    return None, {}


def _main(spec: Mapping) -> str | None:
    return (spec.get("mainClass") or spec.get("mainJarFileUri") or spec.get("mainPythonFileUri")
            or spec.get("mainRFileUri") or spec.get("queryFileUri"))


def job_from_api(job: Mapping, scope: str) -> RunRow:
    """A RunRow from ListJobs' Job (v1 JSON)."""
    kind, spec = _kind(job, "Job")
    status = job.get("status") or {}
    history = list(job.get("statusHistory") or []) + [status]
    first = {}
    for s in history:  # the first start of each state
        first.setdefault(s.get("state"), instant(s.get("stateStartTime")))
    state = status.get("state")
    start, end = first.get("RUNNING"), instant(status.get("stateStartTime")) if state in TERMINAL_JOB_STATES else None
    placement, reference = job.get("placement") or {}, job.get("reference") or {}
    apps = sorted({m.group(0) for a in job.get("yarnApplications") or [] for m in [_YARN_APP.search(a.get("trackingUrl") or "")] if m})
    return RunRow(
        provider=PROVIDER, scope=scope, run_id=job.get("jobUuid") or reference["jobId"], run_type="dataproc_job",
        job_id=reference.get("jobId"), cluster_id=placement.get("clusterUuid"), cluster_name=placement.get("clusterName"),
        run_name=reference.get("jobId"), job_kind=kind, main=_main(spec), arguments=strings(spec.get("args")),
        properties=string_map(spec.get("properties")), state=state, state_message=status.get("details") or None,
        created_time=first.get("PENDING") or min((v for v in first.values() if v), default=None),
        start_time=start, end_time=end, duration_ms=duration(start, end), yarn_application_ids=strings(apps),
        changed_time=instant(status.get("stateStartTime")))


def batch_from_api(batch: Mapping, scope: str) -> RunRow:
    """A RunRow from ListBatches' Batch (v1 JSON)."""
    kind, spec = _kind(batch, "Batch")
    state = batch.get("state")
    running = [instant(s.get("stateStartTime")) for s in batch.get("stateHistory") or [] if s.get("state") == "RUNNING"]
    start = running[0] if running else (instant(batch.get("stateTime")) if state == "RUNNING" else None)
    end = instant(batch.get("stateTime")) if state in TERMINAL_BATCH_STATES else None
    usage = pick(batch, "runtimeInfo", "approximateUsage") or {}
    return RunRow(
        provider=PROVIDER, scope=scope, run_id=batch.get("uuid") or batch["name"], run_type="dataproc_batch",
        job_id=_short(batch.get("name")), run_name=_short(batch.get("name")), job_kind=kind, main=_main(spec),
        arguments=strings(spec.get("args")), properties=string_map(pick(batch, "runtimeConfig", "properties")),
        state=state, state_message=batch.get("stateMessage") or None, created_time=instant(batch.get("createTime")),
        start_time=start, end_time=end, duration_ms=duration(start, end),
        milli_dcu_seconds=int_or_none(usage.get("milliDcuSeconds")),
        shuffle_storage_gb_seconds=int_or_none(usage.get("shuffleStorageGbSeconds")),
        changed_time=instant(batch.get("stateTime")))


# ---- collection -----------------------------------------------------------------------------------

def _policy_name(uri: str) -> str:
    """projects/<p>/(locations|regions)/<r>/autoscalingPolicies/<id>, from a name or a full URL."""
    return uri[uri.index("projects/"):] if "projects/" in uri else uri


def collect_from_dataproc(store: TableStore, project: str, region: str, collected_at: datetime, *,
                          clients: DataprocClients | None = None, api_endpoint: str | None = None, credentials: Any = None,
                          since_ms: int | None = None, jobs: bool = True, batches: bool = True, retries: int = 5,
                          backoff_s: float = 1.0, timeout_s: float = 60) -> CloudCollectSummary:
    """Collect the region's clusters (with status history and autoscaling limits), jobs and batches.
    Raises CloudCollectError when clusters cannot be listed; a failure for one cluster, or for the job
    or batch listing, is recorded and the rest is still collected."""
    if collected_at.tzinfo is None:
        collected_at = collected_at.replace(tzinfo=timezone.utc)
    clients = clients or DataprocClients(region, api_endpoint=api_endpoint, credentials=credentials, retries=retries,
                                         backoff_s=backoff_s, timeout_s=timeout_s)
    scope = f"{project}/{region}"
    state = load_state(store, PROVIDER, scope)
    summary, batch = CloudCollectSummary(PROVIDER, scope), CloudBatch()
    listed = clients.call("ListClusters", clients.clusters.list_clusters, project_id=project, region=region)
    summary.listed = len(listed)
    policies: dict[str, Any] = {}
    for cluster in listed:
        row, _ = cluster_from_api(cluster, scope)
        if state.cluster_unchanged(row.cluster_id, row.state, row.changed_time):
            summary.unchanged += 1
            continue
        problem, uri = None, pick(cluster, "config", "autoscalingConfig", "policyUri")
        if uri and uri not in policies:
            try:
                policies[uri] = clients.call("GetAutoscalingPolicy", clients.policies.get_autoscaling_policy, name=_policy_name(uri))
            except CloudCollectError as exc:
                policies[uri], problem = None, str(exc)
        row, nodes = cluster_from_api(cluster, scope, policies.get(uri) if uri else None)
        last = state.last_event.get(row.cluster_id)
        batch.events.extend(e for e in events_from_api(cluster, scope) if last is None or e.event_time > last)
        batch.clusters.append(row)
        batch.nodes.extend(nodes)
        summary.node_groups += len(nodes)
        status = "partial" if problem else "collected"
        summary.record(target_path(PROVIDER, scope, "clusters", row.cluster_id), status, problem, 1 + len(nodes))
        batch.log.append(log_row(PROVIDER, scope, row.cluster_id, status, problem, 1 + len(nodes), row.changed_time,
                                 row.state, collected_at))
    if jobs:
        _runs(summary, batch, state, "jobs", TERMINAL_JOB_STATES, lambda: [job_from_api(j, scope) for j in clients.call(
            "ListJobs", clients.jobs.list_jobs, project_id=project, region=region)])
    if batches:
        start_from = instant(since_ms) if since_ms is not None else state.run_watermark(["dataproc_batch"], TERMINAL_BATCH_STATES)
        summary.watermark = start_from
        query = {"filter": f'create_time >= "{rfc3339(start_from)}"'} if start_from else {}
        _runs(summary, batch, state, "batches", TERMINAL_BATCH_STATES, lambda: [batch_from_api(b, scope) for b in clients.call(
            "ListBatches", clients.batches.list_batches, request={"parent": f"projects/{project}/locations/{region}", **query})])
    summary.events = len(batch.events)
    write_batch(store, batch, collected_at)
    return summary


def _runs(summary: CloudCollectSummary, batch: CloudBatch, state, kind: str, terminal: Sequence[str], fetch) -> None:
    try:
        rows = fetch()
    except CloudCollectError as exc:
        summary.record(target_path(PROVIDER, summary.scope, kind), "failed", str(exc))
        return
    fresh = [r for r in rows if not (state.run_unchanged(r.run_id, r.state, r.changed_time) and r.state in terminal)]
    batch.runs.extend(fresh)
    summary.runs += len(fresh)


__all__ = ["DataprocClients", "batch_from_api", "cluster_from_api", "collect_from_dataproc", "events_from_api",
           "job_from_api", "machine_shape"]
