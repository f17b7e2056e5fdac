"""Link each ingested Spark application attempt to the cloud cluster and run it ran on, into
`app_cluster_links`, from the ids its Spark and system properties (`spark_conf`) carry.

The properties, as they appear in real event logs (the shared corpus holds each):

* Databricks: `spark.databricks.clusterUsageTags.clusterId`; `spark.databricks.sparkContextId`, which
  the Jobs API reports as a run's `cluster_instance.spark_context_id`; a job cluster's
  `clusterUsageTags.clusterName` 'job-<job id>-run-<run id>[-<key>]' and its `clusterAllTags` JobId;
  and `spark.databricks.job.runId` / `spark.databricks.job.id`, which job runs set in the session.
* EMR: the system properties `EMR_CLUSTER_ID` and `EMR_STEP_ID` (steps also run in
  `user.dir` = /mnt/var/lib/hadoop/steps/<step id>).
* Dataproc: `spark.yarn.tags` with `dataproc_job_<job id>` and `dataproc_uuid_<job uuid>` for jobs
  submitted through the Jobs API; `spark.eventLog.dir` gs://<temp bucket>/<clusterUuid>/spark-job-history;
  `spark.driver.host` '<cluster name>-m[.<domain>]'; and the YARN application id, which a job lists
  in `yarnApplications`.

A run is found by an explicit id first; failing that, as the run on the same cluster whose time
window holds the application's start. Example::

    summary = link_applications(store, datetime.now(timezone.utc))
    summary.linked, summary.clusters_found, summary.runs_found
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping

import pyarrow as pa

from spark_optimizer.collectors.cloud_rows import instant
from spark_optimizer.tables import APP_CLUSTER_LINKS, APPLICATIONS, CLUSTER_RUNS, CLUSTERS, SPARK_CONF
from spark_optimizer.tables.instants import EPOCH  # orders rows without an instant first
from spark_optimizer.tables.store import TableStore

DATABRICKS_KEYS = ("spark.databricks.clusterUsageTags.clusterId", "spark.databricks.clusterUsageTags.clusterName",
                   "spark.databricks.clusterUsageTags.clusterAllTags", "spark.databricks.sparkContextId",
                   "spark.databricks.job.id", "spark.databricks.job.runId", "spark.databricks.job.parentRunId")
EMR_KEYS = ("EMR_CLUSTER_ID", "EMR_STEP_ID", "user.dir", "spark.yarn.tags")
DATAPROC_KEYS = ("spark.yarn.tags", "spark.eventLog.dir", "spark.history.fs.logDirectory", "spark.driver.host",
                 "spark.dataproc.metrics.listener.metrics.collector.hostname")
LINK_KEYS = tuple(sorted(set(DATABRICKS_KEYS + EMR_KEYS + DATAPROC_KEYS)))

_JOB_CLUSTER_NAME = re.compile(r"^job-(\d+)-run-(\d+)")
_STEP_DIR = re.compile(r"/steps/(s-[A-Z0-9]+)/?$")
_UUID_IN_PATH = re.compile(r"^gs://[^/]+/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/")
_MASTER_HOST = re.compile(r"^(?P<cluster>[a-z][-a-z0-9]*?)-m(-\d+)?$")


@dataclass(frozen=True)
class AppIds:
    """The cloud ids one application's properties carry, and which property said so."""

    provider: str | None = None
    cluster_id: str | None = None
    cluster_name: str | None = None
    cluster_evidence: str | None = None
    run_id: str | None = None
    job_id: str | None = None
    run_evidence: str | None = None
    spark_context_id: str | None = None


def _tags(text: str | None) -> dict:
    try:
        return {t["key"]: t["value"] for t in json.loads(text or "[]") if isinstance(t, dict) and "key" in t}
    except (ValueError, TypeError, KeyError):
        return {}


def _yarn_tag(tags: str | None, prefix: str, exclude: str | None = None) -> str | None:
    for tag in (tags or "").split(","):
        tag = tag.strip()
        if tag.startswith(prefix) and not (exclude and tag.startswith(exclude)):
            return tag[len(prefix):]
    return None


def ids_from_properties(props: Mapping[str, str]) -> AppIds:
    """The ids in one application's Spark and system properties (one mapping of key -> value)."""
    cluster = props.get("spark.databricks.clusterUsageTags.clusterId")
    if cluster:
        name = props.get("spark.databricks.clusterUsageTags.clusterName")
        job_cluster = _JOB_CLUSTER_NAME.match(name or "")
        job_id = props.get("spark.databricks.job.id") or _tags(props.get("spark.databricks.clusterUsageTags.clusterAllTags")).get("JobId")
        if props.get("spark.databricks.job.runId"):
            run_id, run_evidence = props["spark.databricks.job.runId"], f"spark.databricks.job.runId={props['spark.databricks.job.runId']}"
        elif job_cluster:
            run_id, run_evidence = job_cluster.group(2), f"spark.databricks.clusterUsageTags.clusterName={name}"
        else:
            run_id = run_evidence = None
        return AppIds("databricks", cluster, name, f"spark.databricks.clusterUsageTags.clusterId={cluster}", run_id,
                      job_id or (job_cluster.group(1) if job_cluster else None), run_evidence,
                      props.get("spark.databricks.sparkContextId"))
    if props.get("EMR_CLUSTER_ID") or props.get("EMR_STEP_ID"):
        step = props.get("EMR_STEP_ID")
        step_dir = _STEP_DIR.search(props.get("user.dir") or "")
        evidence = f"EMR_STEP_ID={step}" if step else (f"user.dir={props['user.dir']}" if step_dir else None)
        return AppIds("emr", props.get("EMR_CLUSTER_ID"), None,
                      f"EMR_CLUSTER_ID={props['EMR_CLUSTER_ID']}" if props.get("EMR_CLUSTER_ID") else None,
                      step or (step_dir.group(1) if step_dir else None), None, evidence)
    tags = props.get("spark.yarn.tags")
    job_uuid, job_id = _yarn_tag(tags, "dataproc_uuid_"), _yarn_tag(tags, "dataproc_job_", "dataproc_job_attempt_timestamp_")
    dataproc = job_id or job_uuid or any(k.startswith("spark.dataproc.") for k in props)
    if not dataproc:
        return AppIds()
    uuid = None
    for key in ("spark.eventLog.dir", "spark.history.fs.logDirectory"):
        match = _UUID_IN_PATH.match(props.get(key) or "")
        if match:
            uuid, cluster_evidence = match.group(1), f"{key}={props[key]}"
            break
    host = (props.get("spark.driver.host") or "").split(".", 1)[0]
    master = _MASTER_HOST.match(host) or _MASTER_HOST.match(props.get("spark.dataproc.metrics.listener.metrics.collector.hostname") or "")
    name = master.group("cluster") if master else None
    if uuid is None:
        cluster_evidence = f"spark.driver.host={props.get('spark.driver.host')}" if name else None
    run_evidence = (f"spark.yarn.tags dataproc_uuid_{job_uuid}" if job_uuid else
                    f"spark.yarn.tags dataproc_job_{job_id}" if job_id else None)
    return AppIds("dataproc", uuid, name, cluster_evidence, job_uuid, job_id, run_evidence)


def link_rows(apps: Iterable[Mapping], properties: Mapping[tuple[str, str], Mapping[str, str]],
              clusters: Iterable[Mapping], runs: Iterable[Mapping], linked_at: datetime) -> list[dict]:
    """`app_cluster_links` rows: `apps` are applications rows, `properties` maps (app_id, attempt_id) to its
    properties, `clusters` and `runs` are clusters / cluster_runs rows."""
    by_id: dict[tuple, list[Mapping]] = {}
    by_name: dict[tuple, list[Mapping]] = {}
    for c in clusters:
        by_id.setdefault((c["provider"], c["cluster_id"]), []).append(c)
        if c.get("cluster_name"):
            by_name.setdefault((c["provider"], c["cluster_name"]), []).append(c)
    runs = list(runs)
    run_by_id: dict[tuple, Mapping] = {(r["provider"], r["run_id"]): r for r in runs}
    rows = []
    for app in apps:
        key = (app["app_id"], app["attempt_id"])
        ids = ids_from_properties(properties.get(key, {}))
        if ids.provider is None:
            continue
        start = instant(app.get("start_time"))
        cluster = _cluster(ids, by_id, by_name, start)
        cluster_id = cluster["cluster_id"] if cluster else ids.cluster_id
        run, evidence = _run(ids, app["app_id"], cluster_id, start, runs, run_by_id)
        rows.append({
            "app_id": app["app_id"], "attempt_id": app["attempt_id"], "provider": ids.provider,
            "scope": (cluster or run or {}).get("scope"), "cluster_id": cluster_id or (run or {}).get("cluster_id"),
            "cluster_found": cluster is not None,
            "cluster_evidence": ids.cluster_evidence,
            "run_id": run["run_id"] if run else ids.run_id, "run_found": run is not None,
            "run_evidence": evidence if run else ids.run_evidence,
            "parent_run_id": (run or {}).get("parent_run_id"), "job_id": (run or {}).get("job_id") or ids.job_id,
            "linked_at": linked_at})
    return rows




def _cluster(ids: AppIds, by_id: Mapping, by_name: Mapping, start: datetime | None) -> Mapping | None:
    if ids.cluster_id and by_id.get((ids.provider, ids.cluster_id)):
        return by_id[(ids.provider, ids.cluster_id)][0]
    if ids.cluster_id is None and ids.cluster_name:  # a name can be reused: the latest cluster created before the app
        named = [c for c in by_name.get((ids.provider, ids.cluster_name), [])
                 if start is None or (c.get("created_time") or EPOCH) <= start]
        return max(named, key=lambda c: c.get("created_time") or EPOCH) if named else None
    return None


def _run(ids: AppIds, app_id: str, cluster_id: str | None, start: datetime | None, runs: list[Mapping],
         run_by_id: Mapping) -> tuple[Mapping | None, str | None]:
    provider = ids.provider
    if ids.run_id and (provider, ids.run_id) in run_by_id:
        return run_by_id[(provider, ids.run_id)], ids.run_evidence
    mine = [r for r in runs if r["provider"] == provider]
    if provider == "dataproc":
        for r in mine:
            if app_id in (r.get("yarn_application_ids") or []):
                return r, f"YARN application {app_id} listed by the job"
        if ids.job_id:
            named = [r for r in mine if r.get("job_id") == ids.job_id and r.get("run_type") == "dataproc_job"
                     and (cluster_id is None or r.get("cluster_id") in (None, cluster_id))]
            if named:
                return max(named, key=lambda r: r.get("start_time") or EPOCH), ids.run_evidence
    if provider == "databricks" and ids.spark_context_id:
        candidates = [r for r in mine if r.get("spark_context_id") == ids.spark_context_id]
        found = _in_window(candidates, start)
        if found:
            return found, f"spark.databricks.sparkContextId={ids.spark_context_id} = cluster_instance.spark_context_id"
    if cluster_id and start is not None:
        found = _in_window([r for r in mine if r.get("cluster_id") == cluster_id], start)
        if found:
            return found, f"started while run {found['run_id']} ran on cluster {cluster_id}"
    return None, None


def _in_window(runs: list[Mapping], start: datetime | None) -> Mapping | None:
    """The run (task runs before job runs) whose [start, end] holds `start`, the latest started first."""
    if start is None:
        return None
    slack = timedelta(minutes=5)  # run start is logged before the driver's ApplicationStart; clocks differ a little
    inside = [r for r in runs if r.get("start_time") is not None and r["start_time"] - slack <= start
              and (r.get("end_time") is None or start <= r["end_time"] + slack)]
    if not inside:
        return None
    return max(inside, key=lambda r: (r.get("run_type") != "databricks_job_run", r["start_time"]))


@dataclass
class LinkSummary:
    linked: int = 0
    clusters_found: int = 0
    runs_found: int = 0


def link_applications(store: TableStore, linked_at: datetime) -> LinkSummary:
    """Link every ingested application attempt that carries cloud ids (upsert on app_id/attempt_id, so a
    link improves when its cluster or run is collected later). Reads with delta-rs; no JVM."""
    import pyarrow.compute as pc

    summary = LinkSummary()
    if not (store.exists(APPLICATIONS) and store.exists(SPARK_CONF)):
        return summary
    conf = store.read_arrow(SPARK_CONF)
    conf = conf.filter(pc.is_in(conf.column("key"), value_set=pa.array(LINK_KEYS))).select(["app_id", "attempt_id", "key", "value"])
    properties: dict[tuple[str, str], dict[str, str]] = {}
    for r in conf.to_pylist():
        properties.setdefault((r["app_id"], r["attempt_id"]), {})[r["key"]] = r["value"]
    apps = store.read_arrow(APPLICATIONS).select(["app_id", "attempt_id", "start_time"]).to_pylist()
    clusters = store.read_arrow(CLUSTERS).to_pylist() if store.exists(CLUSTERS) else []
    runs = store.read_arrow(CLUSTER_RUNS).to_pylist() if store.exists(CLUSTER_RUNS) else []
    rows = link_rows(apps, properties, clusters, runs, linked_at)
    if rows:
        store.upsert(APP_CLUSTER_LINKS, pa.Table.from_pylist(rows, schema=APP_CLUSTER_LINKS.arrow_schema()))
    summary.linked = len(rows)
    summary.clusters_found = sum(r["cluster_found"] for r in rows)
    summary.runs_found = sum(r["run_found"] for r in rows)
    return summary


def collect_and_link(store: TableStore, collect: Callable[[TableStore, datetime], Any], collected_at: datetime,
                     link: bool = True):
    """Run one cloud collector (`collect(store, collected_at)` -> CloudCollectSummary), then link the ingested
    applications so they pick up what was just collected; the summary says how many were linked."""
    summary = collect(store, collected_at)
    if link:
        summary.links = link_applications(store, collected_at).linked
    return summary
