"""A local HTTP server that answers the Databricks REST endpoints the Databricks collector uses, with
the documented JSON shapes, for tests of the real `databricks.sdk.WorkspaceClient`::

    with LocalDatabricksApi(clusters=[...], events={"0101-...": [...]}, runs=[...], node_types=[...]) as api:
        w = WorkspaceClient(host=api.url, token=api.token)
        [c.cluster_id for c in w.clusters.list()]

Endpoints: GET /api/2.1/clusters/list (page_token / next_page_token), GET /api/2.1/clusters/get,
POST /api/2.1/clusters/events (offset/limit, start_time/end_time, order; `next_page` holds the next
request), GET /api/2.1/clusters/list-node-types, GET /api/2.2/jobs/runs/list (limit, start_time_from,
expand_tasks, page_token; `has_more` / `next_page_token`; tasks beyond `task_page_size` are cut and
the run says `has_more`), GET /api/2.2/jobs/runs/get (tasks paged with page_token), and the SDK's
GET /.well-known/databricks-config. Errors are `{"error_code": ..., "message": ...}`.

Seeded objects are checked against the SDK's dataclasses (generated from Databricks' OpenAPI spec):
a key the SDK does not know makes the constructor fail, so a test cannot rely on an invented field.
`fault(...)` makes an endpoint answer an error (e.g. 429 with Retry-After) a number of times;
`deny(...)` answers 403 PERMISSION_DENIED.
"""

from __future__ import annotations

import json
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any, Iterable, Mapping

from tests.fakes.local_api import LocalJsonApi


def undocumented_keys(payload: Any, documented: Any, path: str = "") -> list[str]:
    """Keys of `payload` missing from `documented` (the SDK's round trip of it), recursively."""
    missing: list[str] = []
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            if not isinstance(documented, Mapping) or key not in documented:
                missing.append(f"{path}.{key}")
            else:
                missing += undocumented_keys(value, documented[key], f"{path}.{key}")
    elif isinstance(payload, list) and isinstance(documented, list):
        for i, (a, b) in enumerate(zip(payload, documented)):
            missing += undocumented_keys(a, b, f"{path}[{i}]")
    return missing


def check_documented(cls: type, payload: Mapping, what: str) -> None:
    """Raise ValueError when `payload` has a key `cls` (an SDK dataclass) does not declare."""
    missing = undocumented_keys(payload, cls.from_dict(payload).as_dict())
    # as_dict() leaves out empty values; only report keys whose value is not empty
    missing = [m for m in missing if _value_at(payload, m) not in (None, [], {}, "")]
    if missing:
        raise ValueError(f"{what}: {missing} are not fields of databricks.sdk {cls.__name__}")


def _value_at(payload: Any, path: str) -> Any:
    value = payload
    for part in path.replace("]", "").replace("[", ".").strip(".").split("."):
        value = value[int(part)] if isinstance(value, list) else value.get(part)
    return value


class LocalDatabricksApi(LocalJsonApi):
    """The server on 127.0.0.1:<free port>; `requests` lists (method, path, query or body) as received."""

    def __init__(self, *, clusters: Iterable[Mapping] = (), events: Mapping[str, Iterable[Mapping]] | None = None,
                 runs: Iterable[Mapping] = (), node_types: Iterable[Mapping] = (), token: str = "dapi-local-test",
                 page_size: int = 2, task_page_size: int = 100, workspace_id: str = "1234567890"):
        from databricks.sdk.service import compute, jobs

        super().__init__()
        self._compute, self._jobs = compute, jobs
        self.token, self.page_size, self.task_page_size, self.workspace_id = token, page_size, task_page_size, workspace_id
        self.clusters: dict[str, dict] = {}
        self.events: dict[str, list[dict]] = {}
        self.runs: dict[int, dict] = {}
        self.node_types: list[dict] = []
        for c in clusters:
            self.put_cluster(c)
        for cluster_id, items in (events or {}).items():
            self.add_events(cluster_id, items)
        for r in runs:
            self.put_run(r)
        for n in node_types:
            check_documented(compute.NodeType, n, "node type")
            self.node_types.append(dict(n))

    # ---- seeding ------------------------------------------------------------------------------------
    def put_cluster(self, cluster: Mapping) -> None:
        check_documented(self._compute.ClusterDetails, cluster, f"cluster {cluster.get('cluster_id')}")
        self.clusters[cluster["cluster_id"]] = dict(cluster)

    def add_events(self, cluster_id: str, events: Iterable[Mapping]) -> None:
        for e in events:
            check_documented(self._compute.ClusterEvent, e, f"event of {cluster_id}")
            self.events.setdefault(cluster_id, []).append(dict(e))

    def put_run(self, run: Mapping) -> None:
        check_documented(self._jobs.Run, run, f"run {run.get('run_id')}")
        self.runs[int(run["run_id"])] = dict(run)

    def fault(self, method: str, path: str, status: int, error_code: str, times: int = 1,
              headers: Mapping[str, str] | None = None) -> None:
        """Answer `method path` with `status` and this error the next `times` times."""
        self._faults.append({"method": method, "path": path, "status": status, "error_code": error_code,
                             "times": times, "headers": dict(headers or {})})

    def deny(self, path: str, message: str = "User does not have permission") -> None:
        self._denied[path] = message

    # ---- requests -----------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        path, query = parsed.path, {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        body = {}
        if method == "POST":
            raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
            body = json.loads(raw or b"{}")
        with self._lock:
            self.requests.append((method, path, body if method == "POST" else query))
            fault = next((f for f in self._faults if f["times"] > 0 and f["method"] == method and f["path"] == path), None)
            if fault:
                fault["times"] -= 1
        if fault:
            return self._send(handler, fault["status"], {"error_code": fault["error_code"],
                                                         "message": f"injected {fault['error_code']}"}, fault["headers"])
        if path == "/.well-known/databricks-config":
            return self._send(handler, 200, {"oidc_endpoint": f"{self.url}/oidc", "workspace_id": self.workspace_id})
        if handler.headers.get("Authorization") != f"Bearer {self.token}":
            return self._send(handler, 401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."})
        if path in self._denied:
            return self._send(handler, 403, {"error_code": "PERMISSION_DENIED", "message": self._denied[path]})
        route = {("GET", "/api/2.1/clusters/list"): self._clusters_list,
                 ("GET", "/api/2.1/clusters/get"): self._clusters_get,
                 ("POST", "/api/2.1/clusters/events"): self._cluster_events,
                 ("GET", "/api/2.1/clusters/list-node-types"): lambda q: (200, {"node_types": self.node_types}),
                 ("GET", "/api/2.2/jobs/runs/list"): self._runs_list,
                 ("GET", "/api/2.2/jobs/runs/get"): self._runs_get}.get((method, path))
        if route is None:
            return self._send(handler, 404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for '{method} {path}'"})
        status, payload = route(body if method == "POST" else query)
        self._send(handler, status, payload)

    def _clusters_list(self, query: Mapping) -> tuple[int, dict]:
        size = min(int(query.get("page_size") or self.page_size), self.page_size)
        page, token = self._page(list(self.clusters.values()), query.get("page_token"), size)
        return 200, {"clusters": page, **({"next_page_token": token} if token else {})}

    def _clusters_get(self, query: Mapping) -> tuple[int, dict]:
        cluster = self.clusters.get(query.get("cluster_id", ""))
        if cluster is None:
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": f"Cluster {query.get('cluster_id')} does not exist"}
        return 200, cluster

    def _cluster_events(self, body: Mapping) -> tuple[int, dict]:
        cluster_id = body.get("cluster_id")
        if cluster_id not in self.clusters:
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": f"Cluster {cluster_id} does not exist"}
        events = [e for e in self.events.get(cluster_id, [])
                  if e["timestamp"] >= (body.get("start_time") or 0)
                  and (body.get("end_time") is None or e["timestamp"] <= body["end_time"])]
        events.sort(key=lambda e: e["timestamp"], reverse=body.get("order", "DESC") == "DESC")
        offset, limit = int(body.get("offset") or 0), min(int(body.get("limit") or 50), self.page_size)
        page = events[offset:offset + limit]
        answer: dict = {"events": page, "total_count": len(events)}
        if offset + limit < len(events):
            answer["next_page"] = {**body, "offset": offset + limit, "limit": limit}
        return 200, answer

    def _run_view(self, run: Mapping, task_token: str | None) -> dict:
        tasks, token = self._page(list(run.get("tasks") or []), task_token, self.task_page_size)
        view = {**run, "tasks": tasks} if run.get("tasks") else dict(run)
        return view, token

    def _runs_list(self, query: Mapping) -> tuple[int, dict]:
        limit = int(query.get("limit") or 20)
        if not 0 < limit <= 25:
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": "limit must be between 1 and 25"}
        runs = sorted(self.runs.values(), key=lambda r: r.get("start_time") or 0, reverse=True)
        if query.get("start_time_from"):
            runs = [r for r in runs if (r.get("start_time") or 0) >= int(query["start_time_from"])]
        if query.get("completed_only") == "true":
            runs = [r for r in runs if (r.get("state") or {}).get("life_cycle_state") in ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")]
        page, token = self._page(runs, query.get("page_token"), min(limit, self.page_size))
        views = []
        for run in page:
            if query.get("expand_tasks") == "true":
                view, more = self._run_view(run, None)
                views.append({**view, **({"has_more": True} if more else {})})
            else:
                views.append({k: v for k, v in run.items() if k not in ("tasks", "job_clusters")})
        return 200, {"runs": views, "has_more": token is not None, **({"next_page_token": token} if token else {})}

    def _runs_get(self, query: Mapping) -> tuple[int, dict]:
        run = self.runs.get(int(query.get("run_id") or -1))
        if run is None:
            return 400, {"error_code": "INVALID_PARAMETER_VALUE", "message": f"Run {query.get('run_id')} does not exist"}
        view, token = self._run_view(run, query.get("page_token"))
        return 200, {**view, **({"next_page_token": token} if token else {})}
