"""What the cloud collectors share around the API calls: the state of earlier collections (watermarks,
unchanged clusters and runs, earlier failures to retry), the summary of one collection, and writing
its rows through the TableStore.

Incremental by design: a cluster whose latest state change (`changed_time`) and state are already
stored is not collected again, a finished run is not written again, and each cloud asks its API only
for what is newer than the watermarks where the API can filter (EMR CreatedAfter, Databricks
start_time_from, Dataproc batch create_time). Clusters and runs that were still active at the last
collection, and every cluster whose collection failed or was partial (recorded in `ingest_log` with
`source_kind` '<provider>_cluster'), are collected again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

import pyarrow as pa

from spark_optimizer.collectors.cloud_rows import (
    ClusterEventRow,
    ClusterRow,
    NodeGroupRow,
    RunRow,
    as_table_row,
    epoch_ms,
)
from spark_optimizer.tables import CLUSTER_EVENTS, CLUSTER_NODES, CLUSTER_RUNS, CLUSTERS, INGEST_LOG
from spark_optimizer.tables.store import TableStore


def target_path(provider: str, scope: str, kind: str, ident: str = "") -> str:
    """The `ingest_log.source_path` of a collected cluster (or run listing): '<provider>://<scope>/<kind>/<id>'."""
    return f"{provider}://{scope}/{kind}" + (f"/{ident}" if ident else "")


@dataclass
class CloudState:
    """What earlier collections stored for one provider and scope (instants as UTC datetimes)."""

    clusters: dict[str, tuple[str | None, datetime | None, datetime | None]] = field(default_factory=dict)  # id -> state, changed, created
    runs: dict[str, tuple[str | None, datetime | None, datetime | None, str]] = field(default_factory=dict)  # id -> state, changed, created, type
    last_event: dict[str, datetime] = field(default_factory=dict)
    retry_clusters: set[str] = field(default_factory=set)

    def cluster_unchanged(self, cluster_id: str, state: str | None, changed: datetime | None) -> bool:
        stored = self.clusters.get(cluster_id)
        return (stored is not None and cluster_id not in self.retry_clusters and changed is not None
                and stored[0] == state and stored[1] == changed)

    def run_unchanged(self, run_id: str, state: str | None, changed: datetime | None) -> bool:
        stored = self.runs.get(run_id)
        return stored is not None and stored[0] == state and stored[1] == changed

    def max_created(self) -> datetime | None:
        created = [c[2] for c in self.clusters.values() if c[2] is not None]
        return max(created) if created else None

    def active_clusters(self, terminal: Iterable[str]) -> set[str]:
        done = set(terminal)
        return {cid for cid, (state, _, _) in self.clusters.items() if state not in done}

    def run_watermark(self, run_types: Iterable[str], terminal: Iterable[str]) -> datetime | None:
        """Creation (else start) of the oldest stored run that was not finished when stored, else of the newest
        stored run: where the next listing must begin so that no run is missed."""
        wanted, done = set(run_types), set(terminal)
        runs = [r for r in self.runs.values() if r[3] in wanted and r[2] is not None]
        active = [r[2] for r in runs if r[0] not in done]
        if active:
            return min(active)
        return max((r[2] for r in runs), default=None)


def load_state(store: TableStore, provider: str, scope: str) -> CloudState:
    import pyarrow.compute as pc

    state = CloudState()

    def rows(spec, columns):
        if not store.exists(spec):
            return []
        table = store.read_arrow(spec)
        mask = pc.and_(pc.equal(table.column("provider"), provider), pc.equal(table.column("scope"), scope))
        return table.filter(mask).select(columns).to_pylist()

    for r in rows(CLUSTERS, ["cluster_id", "state", "changed_time", "created_time"]):
        state.clusters[r["cluster_id"]] = (r["state"], r["changed_time"], r["created_time"])
    for r in rows(CLUSTER_RUNS, ["run_id", "state", "changed_time", "start_time", "created_time", "run_type"]):
        state.runs[r["run_id"]] = (r["state"], r["changed_time"], r["created_time"] or r["start_time"], r["run_type"])
    for r in rows(CLUSTER_EVENTS, ["cluster_id", "event_time"]):
        last = state.last_event.get(r["cluster_id"])
        if r["event_time"] is not None and (last is None or r["event_time"] > last):
            state.last_event[r["cluster_id"]] = r["event_time"]
    if store.exists(INGEST_LOG):
        prefix = target_path(provider, scope, "clusters") + "/"
        log = store.read_arrow(INGEST_LOG).select(["source_path", "source_kind", "status"]).to_pylist()
        state.retry_clusters = {r["source_path"][len(prefix):] for r in log
                                if r["source_kind"] == f"{provider}_cluster" and r["status"] in ("failed", "partial")
                                and (r["source_path"] or "").startswith(prefix)}
    return state


@dataclass
class CloudCollectSummary:
    """What one collection did; `records` holds one entry per cluster collected or failed, and per run
    listing that failed: target, status (collected|partial|failed), reason, rows."""

    provider: str
    scope: str
    watermark: datetime | None = None
    listed: int = 0
    unchanged: int = 0
    node_groups: int = 0
    runs: int = 0
    events: int = 0
    links: int | None = None
    records: list[dict] = field(default_factory=list)

    def record(self, target: str, status: str, reason: str | None = None, rows: int = 0) -> None:
        self.records.append({"target": target, "status": status, "reason": reason, "rows": rows})

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.records)

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r["status"] in ("failed", "partial")]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def as_dict(self) -> dict:
        return {"provider": self.provider, "scope": self.scope, "watermark": self.watermark,
                "clusters_listed": self.listed, "clusters_collected": self.count("collected"),
                "clusters_partial": self.count("partial"), "failed": self.count("failed"),
                "clusters_unchanged": self.unchanged, "node_groups": self.node_groups, "runs": self.runs,
                "events": self.events, "apps_linked": self.links}


def record_line(record: dict) -> str:
    line = f"[{record['status']}] {record['target']} rows={record['rows']}"
    return line + (f"\n    reason: {record['reason']}" if record.get("reason") else "")


def report_lines(summary: CloudCollectSummary) -> list[str]:
    """One line per cluster or listing that failed or was partial, then the summary line."""
    return [record_line(r) for r in summary.records if r["status"] != "collected"] + [summary_line(summary)]


def summary_line(summary: CloudCollectSummary) -> str:
    d = summary.as_dict()
    text = (f"{d['provider']} {d['scope']}: listed {d['clusters_listed']} cluster(s), collected {d['clusters_collected']}, "
            f"partial {d['clusters_partial']}, unchanged {d['clusters_unchanged']}, failed {d['failed']}; "
            f"{d['node_groups']} node group(s), {d['runs']} run(s), {d['events']} event(s)")
    return text + (f"; {d['apps_linked']} application(s) linked" if d["apps_linked"] is not None else "")


@dataclass
class CloudBatch:
    """Rows of one collection, held until `write_batch`."""

    clusters: list[ClusterRow] = field(default_factory=list)
    nodes: list[NodeGroupRow] = field(default_factory=list)
    runs: list[RunRow] = field(default_factory=list)
    events: list[ClusterEventRow] = field(default_factory=list)
    log: list[dict] = field(default_factory=list)  # ingest_log rows


def log_row(provider: str, scope: str, cluster_id: str, status: str, reason: str | None, rows: int,
            changed: datetime | None, state: str | None, collected_at: datetime) -> dict:
    changed_ms = epoch_ms(changed)
    return {"source_path": target_path(provider, scope, "clusters", cluster_id), "source_kind": f"{provider}_cluster",
            "fingerprint": f"state={state};changed={changed_ms}", "modification_time": changed,
            "status": {"collected": "ingested"}.get(status, status), "reason": reason, "rows_written": rows,
            "parser_version": f"{provider}-api", "ingested_at": collected_at}


def write_batch(store: TableStore, batch: CloudBatch, collected_at: datetime) -> None:
    """Upsert clusters, runs and events on their natural keys; replace each collected cluster's node groups
    (a removed group must disappear); one Delta commit per table."""

    def table(spec, items):
        return pa.Table.from_pylist([as_table_row(r, collected_at) for r in items], schema=spec.arrow_schema())

    if batch.clusters:
        store.upsert(CLUSTERS, table(CLUSTERS, _unique(batch.clusters, ("provider", "scope", "cluster_id"))))
    collected = {(c.provider, c.scope, c.cluster_id) for c in batch.clusters}
    if collected:
        scope_rows = [{"provider": p, "scope": s, "cluster_id": c} for p, s, c in sorted(collected)]
        nodes = [n for n in batch.nodes if (n.provider, n.scope, n.cluster_id) in collected]
        store.replace_rows(CLUSTER_NODES, table(CLUSTER_NODES, _unique(nodes, CLUSTER_NODES.keys)),
                           ("provider", "scope", "cluster_id"), scope_rows)
    if batch.runs:
        store.upsert(CLUSTER_RUNS, table(CLUSTER_RUNS, _unique(batch.runs, CLUSTER_RUNS.keys)))
    if batch.events:
        store.upsert(CLUSTER_EVENTS, table(CLUSTER_EVENTS, _unique(batch.events, CLUSTER_EVENTS.keys)))
    if batch.log:
        rows = {r["source_path"]: r for r in batch.log}
        store.upsert(INGEST_LOG, pa.Table.from_pylist(list(rows.values()), schema=INGEST_LOG.arrow_schema()))


def _unique(rows: list, keys: Iterable[str]) -> list:
    """The last row per key: a merge source must not hold two rows for one target row."""
    keys = tuple(keys)
    by_key = {tuple(getattr(r, k) for k in keys): r for r in rows}
    return list(by_key.values())
