"""Collect Databricks clusters, cluster events, node types and job runs with the Databricks SDK
(`databricks-sdk`, a core dependency).

Example::

    summary = collect_from_databricks(store, datetime.now(timezone.utc), workspace_url="https://adb-1.2.azuredatabricks.net")
    summary.as_dict()   # {'provider': 'databricks', 'clusters_collected': 14, 'runs': 230, 'events': 1200, ...}

Credentials come from the SDK's unified authentication (DATABRICKS_HOST/DATABRICKS_TOKEN, a
~/.databrickscfg profile, OAuth, Azure CLI / managed identity, Google credentials); they are never
printed or stored. The SDK itself waits out 429/503 answers (Retry-After); 500/502/504, timeouts and
"cannot connect" are retried here with exponential backoff. Endpoints and what the identity needs:
clusters/list and clusters/events (CAN_ATTACH_TO on a cluster; workspace admins see every cluster),
clusters/list-node-types (any user), jobs/runs/list and jobs/runs/get (CAN_VIEW on the jobs).

Incremental: clusters whose state and latest start/restart/termination time are stored unchanged
are skipped; a cluster's events are asked from the newest stored one on; job runs from the start of
the oldest run that was still active at the last collection (else the newest stored run) on.
Runs whose job cluster has left clusters/list (it keeps 30 days) get a cluster row built from the
run's `new_cluster` spec.
"""

from __future__ import annotations

import time
import urllib.parse
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping

from spark_optimizer.collectors.cloud_rows import (
    CloudCollectError,
    CloudPermissionError,
    ClusterEventRow,
    ClusterRow,
    NodeGroupRow,
    RunRow,
    duration,
    epoch_ms,
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

PROVIDER = "databricks"
TERMINAL_RUN_STATES = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")
PERMISSIONS = {
    "clusters/list": "CAN_ATTACH_TO (or higher) on the clusters to collect; workspace admins see every cluster",
    "clusters/events": "CAN_ATTACH_TO (or higher) on the cluster",
    "clusters/list-node-types": "workspace access",
    "jobs/runs/list": "CAN_VIEW (or higher) on the jobs whose runs to collect",
}


def workspace_client(workspace_url: str | None = None, *, profile: str | None = None, retry_timeout_s: int = 300,
                     http_timeout_s: int = 60):
    """A WorkspaceClient from the SDK's unified authentication (host from the argument, the environment or
    the profile)."""
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    try:
        return WorkspaceClient(config=Config(host=workspace_url, profile=profile, retry_timeout_seconds=retry_timeout_s,
                                             http_timeout_seconds=http_timeout_s))
    except ValueError as exc:  # no host, no credentials, unknown profile
        raise CloudCollectError(f"Databricks: cannot configure the SDK ({exc}); pass --workspace-url and set "
                                f"DATABRICKS_TOKEN, or use a profile of ~/.databrickscfg (--profile)") from None


DEADLINE_S = 300.0


class _Caller:
    """Runs SDK calls: permission errors become CloudPermissionError, transient ones are retried,
    and no retry starts after the collection's total deadline (an unreachable workspace is given
    up on within minutes, with what was waited for)."""

    def __init__(self, retries: int, backoff_s: float, deadline_s: float = DEADLINE_S, host: str = "the workspace"):
        self.retries, self.backoff_s, self.deadline_s, self.host = retries, backoff_s, deadline_s, host
        self.started = time.monotonic()

    def _check_deadline(self, action: str, last: Exception | None) -> None:
        waited = time.monotonic() - self.started
        if waited >= self.deadline_s:
            cause = f"; last error {type(last).__name__}: {_message(last)}" if last is not None else ""
            raise CloudCollectError(f"Databricks {action}: gave up after {waited:.0f} s waiting for {self.host} "
                                    f"(the collection's deadline is {self.deadline_s:.0f} s; --deadline raises it){cause}")

    def __call__(self, action: str, fn: Callable[[], Any]) -> Any:
        from databricks.sdk import errors

        transient = (errors.InternalError, errors.TemporarilyUnavailable, errors.TooManyRequests,
                     errors.DeadlineExceeded, errors.ResourceExhausted, TimeoutError, ConnectionError)
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            self._check_deadline(action, last)
            if attempt:
                remaining = self.deadline_s - (time.monotonic() - self.started)
                time.sleep(max(0.0, min(self.backoff_s * 2 ** (attempt - 1), remaining)))
                self._check_deadline(action, last)
            try:
                return fn()
            except errors.PermissionDenied as exc:
                raise CloudPermissionError("Databricks", action, PERMISSIONS.get(action, "access"), _message(exc)) from None
            except errors.Unauthenticated as exc:
                raise CloudCollectError(f"Databricks {action}: the workspace rejected the credentials the SDK found "
                                        f"({_message(exc)}); check DATABRICKS_TOKEN or the --profile") from None
            except transient as exc:
                last = exc
            except errors.DatabricksError as exc:
                raise CloudCollectError(f"Databricks {action} failed: {type(exc).__name__}: {_message(exc)}") from None
        raise CloudCollectError(f"Databricks {action} failed after {self.retries + 1} attempt(s): "
                                f"{type(last).__name__}: {_message(last)}")


def _message(exc: BaseException | None) -> str:
    return str(exc).split(" Config: ", 1)[0][:300]  # the SDK appends its (masked) config


# ---- API payloads -> rows -------------------------------------------------------------------------

def _availability(value: str | None) -> str | None:
    """ON_DEMAND_AZURE -> ON_DEMAND, SPOT_WITH_FALLBACK -> itself, PREEMPTIBLE_WITH_FALLBACK_GCP -> PREEMPTIBLE_WITH_FALLBACK."""
    if not value:
        return None
    for suffix in ("_AZURE", "_GCP"):
        if value.endswith(suffix):
            return value[: -len(suffix)]
    return value


def _log_destination(cluster: Mapping) -> str | None:
    conf = cluster.get("cluster_log_conf") or {}
    for kind in ("dbfs", "s3", "volumes"):
        if pick(conf, kind, "destination"):
            return conf[kind]["destination"]
    return None


def cluster_from_api(cluster: Mapping, scope: str, node_types: Mapping[str, Mapping],
                     source: str | None = None) -> tuple[ClusterRow, list[NodeGroupRow]]:
    """A ClusterRow and its driver/worker NodeGroupRows from clusters/list's ClusterDetails (or a job run's
    new_cluster spec, with `source='job_run_spec'`); `node_types` maps node_type_id to list-node-types entries."""
    cid = cluster["cluster_id"]
    attrs = cluster.get("aws_attributes") or cluster.get("azure_attributes") or cluster.get("gcp_attributes") or {}
    availability = _availability(attrs.get("availability"))
    first_on_demand = int_or_none(attrs.get("first_on_demand"))
    autoscale = cluster.get("autoscale") or {}
    started, restarted = instant(cluster.get("start_time")), instant(cluster.get("last_restarted_time"))
    terminated, lost = instant(cluster.get("terminated_time")), instant(cluster.get("last_state_loss_time"))
    reason = cluster.get("termination_reason") or {}
    destination = _log_destination(cluster)
    worker_type = cluster.get("node_type_id")
    driver_type = cluster.get("driver_node_type_id") or worker_type
    pooled = cluster.get("instance_pool_id") is not None
    row = ClusterRow(
        provider=PROVIDER, scope=scope, cluster_id=cid, cluster_name=cluster.get("cluster_name"),
        cluster_source=source or cluster.get("cluster_source"), state=cluster.get("state"),
        state_message=": ".join(str(v) for v in (reason.get("code"), reason.get("type")) if v) or cluster.get("state_message") or None,
        runtime_version=cluster.get("spark_version"), applications=strings([cluster["runtime_engine"]])
        if cluster.get("runtime_engine") else None,
        created_time=started, ready_time=restarted, ended_time=terminated,
        changed_time=latest(started, restarted, terminated, lost),
        master_node_type=driver_type, worker_node_type=worker_type,
        num_workers=int_or_none(cluster.get("num_workers")),
        autoscale_min_workers=int_or_none(autoscale.get("min_workers")),
        autoscale_max_workers=int_or_none(autoscale.get("max_workers")),
        zone=attrs.get("zone_id"), log_uri=destination,
        event_log_dir=f"{destination.rstrip('/')}/{cid}/eventlog" if destination else None,
        spark_conf=string_map(cluster.get("spark_conf")),
        tags=string_map({**(cluster.get("default_tags") or {}), **(cluster.get("custom_tags") or {})}),
        creator=cluster.get("creator_user_name"))
    disks = (attrs.get("ebs_volume_type"), int_or_none(attrs.get("ebs_volume_count")), int_or_none(attrs.get("ebs_volume_size")))
    if disks == (None, None, None) and attrs.get("boot_disk_size"):
        disks = ("boot_disk", 1, int_or_none(attrs["boot_disk_size"]))
    bid = float_or_none(attrs.get("spot_bid_max_price"))

    def group(role: str, node_type: str | None, requested: int | None, running: int | None, market: str | None,
              on_demand: int | None, scale_min: int | None, scale_max: int | None) -> NodeGroupRow:
        spec = node_types.get(node_type or "") or {}
        cores = float_or_none(spec.get("num_cores"))
        return NodeGroupRow(
            provider=PROVIDER, scope=scope, cluster_id=cid, node_group_id=role,
            node_group_name=f"pool {cluster.get('instance_pool_id')}" if pooled else None, group_kind="databricks_node",
            role=role, node_type=node_type, market=None if pooled else market, requested_count=requested,
            running_count=running, on_demand_count=on_demand, bid_price=bid if bid and bid > 0 else None,
            bid_price_percent=float_or_none(attrs.get("spot_bid_price_percent")) if market != "ON_DEMAND" else None,
            vcpus=int(cores) if cores is not None else None, memory_mb=int_or_none(spec.get("memory_mb")),
            gpus=int_or_none(spec.get("num_gpus")), disk_type=disks[0], disk_count=disks[1], disk_size_gb=disks[2],
            autoscale_min=scale_min, autoscale_max=scale_max, state=cluster.get("state"))

    # first_on_demand counts the driver first: 1 keeps only the driver on demand.
    driver_market = "ON_DEMAND" if availability is None or first_on_demand is None or first_on_demand >= 1 else availability
    requested = int_or_none(cluster.get("num_workers"))
    if requested is None and autoscale:  # a spec: the cluster starts at min_workers
        requested = int_or_none(autoscale.get("min_workers"))
    workers_on_demand = None if first_on_demand is None else max(0, min(first_on_demand - 1, requested or 0))
    described = "state" in cluster  # clusters/list describes live nodes; a job run's spec does not
    nodes = [
        group("driver", driver_type, 1, (1 if cluster.get("driver") else 0) if described else None, driver_market,
              None, None, None),
        group("worker", worker_type, requested, len(cluster.get("executors") or []) if described else None,
              availability or "ON_DEMAND", workers_on_demand, int_or_none(autoscale.get("min_workers")),
              int_or_none(autoscale.get("max_workers"))),
    ]
    return row, nodes


def event_from_api(event: Mapping, scope: str) -> ClusterEventRow:
    """A ClusterEventRow from clusters/events' ClusterEvent."""
    details = event.get("details") or {}
    return ClusterEventRow(
        provider=PROVIDER, scope=scope, cluster_id=event["cluster_id"], event_time=instant(int(event["timestamp"])),
        event_type=event.get("type") or "UNKNOWN", current_num_workers=int_or_none(details.get("current_num_workers")),
        target_num_workers=int_or_none(details.get("target_num_workers")), cause=details.get("cause"),
        reason_code=pick(details, "reason", "code"), details=string_map(details))


_TASK_MAIN = {
    "spark_jar_task": lambda t: t.get("main_class_name") or t.get("jar_uri"),
    "spark_python_task": lambda t: t.get("python_file"),
    "notebook_task": lambda t: t.get("notebook_path"),
    "python_wheel_task": lambda t: ":".join(v for v in (t.get("package_name"), t.get("entry_point")) if v) or None,
    "pipeline_task": lambda t: t.get("pipeline_id"),
    "run_job_task": lambda t: str(t.get("job_id")) if t.get("job_id") else None,
}


def _state(item: Mapping) -> tuple[str | None, str | None, str | None]:
    state, status = item.get("state") or {}, item.get("status") or {}
    termination = status.get("termination_details") or {}
    return (state.get("life_cycle_state") or status.get("state"), state.get("result_state") or termination.get("code"),
            state.get("state_message") or termination.get("message") or None)


def _timing(item: Mapping) -> dict:
    start, end = instant(item.get("start_time")), instant(item.get("end_time"))
    return {"start_time": start, "end_time": end, "created_time": start,
            "duration_ms": item.get("run_duration") or duration(start, end),
            "queue_duration_ms": item.get("queue_duration"), "setup_duration_ms": item.get("setup_duration"),
            "execution_duration_ms": item.get("execution_duration"), "cleanup_duration_ms": item.get("cleanup_duration"),
            "changed_time": latest(start, end)}


def runs_from_api(run: Mapping, scope: str) -> list[RunRow]:
    """The job run's RunRow and one per task run, from jobs/runs/list (expand_tasks) or jobs/runs/get."""
    state, result, message = _state(run)
    instance = run.get("cluster_instance") or {}
    parameters = {p.get("name"): p.get("value", p.get("default")) for p in run.get("job_parameters") or []}
    rows = [RunRow(
        provider=PROVIDER, scope=scope, run_id=str(run["run_id"]), run_type="databricks_job_run",
        job_id=str(run["job_id"]) if run.get("job_id") is not None else None, cluster_id=instance.get("cluster_id"),
        run_name=run.get("run_name"), job_kind=run.get("run_type"), properties=string_map(parameters),
        state=state, result_state=result, state_message=message, attempt_number=int_or_none(run.get("attempt_number")),
        spark_context_id=instance.get("spark_context_id"), **_timing(run))]
    for task in run.get("tasks") or []:
        kind = next((k for k in task if k.endswith("_task") and isinstance(task[k], Mapping)), None)
        spec = task.get(kind) or {}
        state, result, message = _state(task)
        instance = task.get("cluster_instance") or {}
        rows.append(RunRow(
            provider=PROVIDER, scope=scope, run_id=str(task["run_id"]), run_type="databricks_task_run",
            parent_run_id=str(run["run_id"]), job_id=rows[0].job_id,
            cluster_id=instance.get("cluster_id") or task.get("existing_cluster_id"), cluster_name=task.get("job_cluster_key"),
            run_name=run.get("run_name"), task_key=task.get("task_key"), job_kind=kind,
            main=_TASK_MAIN.get(kind, lambda t: None)(spec), arguments=strings(spec.get("parameters")),
            properties=string_map(spec.get("base_parameters") or spec.get("named_parameters")),
            state=state, result_state=result, state_message=message, attempt_number=int_or_none(task.get("attempt_number")),
            spark_context_id=instance.get("spark_context_id"), **_timing(task)))
    return rows


def job_cluster_specs(run: Mapping) -> Iterable[tuple[Mapping, Mapping]]:
    """(task, new_cluster spec) for each task run on a job cluster whose id the run reports."""
    shared = {c.get("job_cluster_key"): c.get("new_cluster") for c in run.get("job_clusters") or []}
    for task in run.get("tasks") or []:
        spec = task.get("new_cluster") or shared.get(task.get("job_cluster_key"))
        if spec and pick(task, "cluster_instance", "cluster_id"):
            yield task, spec


# ---- collection -----------------------------------------------------------------------------------

def scope_of(host: str) -> str:
    """The workspace host without scheme, e.g. 'adb-1234.5.azuredatabricks.net'."""
    parsed = urllib.parse.urlsplit(host if "://" in host else f"https://{host}")
    return parsed.netloc or host


def collect_from_databricks(store: TableStore, collected_at: datetime, *, client: Any = None,
                            workspace_url: str | None = None, profile: str | None = None, since_ms: int | None = None,
                            retries: int = 3, backoff_s: float = 1.0, runs: bool = True, events: bool = True,
                            retry_timeout_s: int = 60, deadline_s: float = DEADLINE_S) -> CloudCollectSummary:
    """Collect the workspace's clusters (with events and node types) and the job runs started since the
    watermark (or `since_ms`). Raises CloudCollectError when clusters cannot be listed; a failure for one
    cluster, or for the run listing, is recorded and the rest is still collected."""
    if collected_at.tzinfo is None:
        collected_at = collected_at.replace(tzinfo=timezone.utc)
    # One SDK call waits at most retry_timeout_s (the SDK's own retries), and none starts after the
    # deadline: the whole collection ends within deadline_s + retry_timeout_s.
    client = client or workspace_client(workspace_url, profile=profile,
                                        retry_timeout_s=int(min(retry_timeout_s, deadline_s)))
    scope = scope_of(client.config.host)
    call = _Caller(retries, backoff_s, deadline_s, host=scope)
    state = load_state(store, PROVIDER, scope)
    summary, batch = CloudCollectSummary(PROVIDER, scope), CloudBatch()
    try:
        node_types = {n.node_type_id: n.as_dict() for n in call("clusters/list-node-types", client.clusters.list_node_types).node_types or []}
    except CloudCollectError as exc:  # vCPUs and memory stay unknown; the rest is still worth collecting
        node_types = {}
        summary.record(target_path(PROVIDER, scope, "node-types"), "failed", str(exc))
    listed = call("clusters/list", lambda: [c.as_dict() for c in client.clusters.list()])
    summary.listed = len(listed)
    known = set(state.clusters)
    for cluster in listed:
        cid = cluster["cluster_id"]
        known.add(cid)
        row, nodes = cluster_from_api(cluster, scope, node_types)
        if state.cluster_unchanged(cid, row.state, row.changed_time):
            summary.unchanged += 1
            continue
        problem = None
        if events:
            try:
                since = epoch_ms(state.last_event.get(cid))
                batch.events.extend(event_from_api(e.as_dict(), scope) for e in call(
                    "clusters/events", lambda: list(client.clusters.events(cid, start_time=since, order=_asc(), limit=500))))
            except CloudCollectError as exc:
                problem = str(exc)
        _add_cluster(batch, summary, row, nodes, problem, collected_at)
    if runs:
        _collect_runs(client, call, scope, state, summary, batch, node_types, known, since_ms, collected_at)
    summary.events = len(batch.events)
    write_batch(store, batch, collected_at)
    return summary


def _asc():
    from databricks.sdk.service.compute import GetEventsOrder

    return GetEventsOrder.ASC


def _add_cluster(batch: CloudBatch, summary: CloudCollectSummary, row: ClusterRow, nodes: list[NodeGroupRow],
                 problem: str | None, collected_at: datetime) -> None:
    batch.clusters.append(row)
    batch.nodes.extend(nodes)
    summary.node_groups += len(nodes)
    status = "partial" if problem else "collected"
    rows = 1 + len(nodes) + sum(e.cluster_id == row.cluster_id for e in batch.events)
    summary.record(target_path(PROVIDER, row.scope, "clusters", row.cluster_id), status, problem, rows)
    batch.log.append(log_row(PROVIDER, row.scope, row.cluster_id, status, problem, rows, row.changed_time, row.state,
                             collected_at))


def _collect_runs(client, call: _Caller, scope: str, state: CloudState, summary: CloudCollectSummary, batch: CloudBatch,
                  node_types: Mapping, known_clusters: set[str], since_ms: int | None, collected_at: datetime) -> None:
    start_from = instant(since_ms) if since_ms is not None else state.run_watermark(["databricks_job_run"], TERMINAL_RUN_STATES)
    summary.watermark = start_from
    try:
        listed = call("jobs/runs/list", lambda: [r.as_dict() for r in client.jobs.list_runs(
            expand_tasks=True, start_time_from=epoch_ms(start_from), limit=25)])
    except CloudCollectError as exc:
        summary.record(target_path(PROVIDER, scope, "jobs/runs"), "failed", str(exc))
        return
    for run in listed:
        rows = runs_from_api(run, scope)
        if all(state.run_unchanged(r.run_id, r.state, r.changed_time) and r.state in TERMINAL_RUN_STATES for r in rows):
            continue
        batch.runs.extend(rows)
        summary.runs += len(rows)
        for task, spec in job_cluster_specs(run):
            cid = task["cluster_instance"]["cluster_id"]
            if cid in known_clusters:
                continue
            known_clusters.add(cid)
            row, nodes = cluster_from_api({**spec, "cluster_id": cid}, scope, node_types, source="job_run_spec")
            row = _with_times(row, instant(task.get("start_time")), instant(task.get("end_time")))
            _add_cluster(batch, summary, row, nodes, None, collected_at)


def _with_times(row: ClusterRow, start: datetime | None, end: datetime | None) -> ClusterRow:
    from dataclasses import replace

    return replace(row, created_time=start, ended_time=end, changed_time=latest(start, end))


__all__ = ["collect_from_databricks", "cluster_from_api", "event_from_api", "runs_from_api", "workspace_client"]
