"""A local HTTP server that answers the Dataproc v1 REST endpoints the Dataproc collector uses, with
the documented JSON shapes, for tests of the real google-cloud-dataproc clients (REST transport)::

    with LocalDataprocApi("my-project", "us-central1", clusters=[...], jobs=[...], batches=[...]) as api:
        client = dataproc_v1.ClusterControllerClient(transport="rest", credentials=AnonymousCredentials(),
                                                     client_options={"api_endpoint": api.url})

Endpoints: GET /v1/projects/{p}/regions/{r}/clusters (pageSize/pageToken, nextPageToken),
/v1/projects/{p}/regions/{r}/jobs, /v1/projects/{p}/locations/{r}/batches (with the documented
`create_time >= "<RFC 3339>"` filter) and /v1/projects/{p}/regions/{r}/autoscalingPolicies/{id}.
Errors are Google's `{"error": {"code", "message", "status"}}`.

Seeded resources are parsed by the library's own message types with unknown fields refused, so a
test cannot rely on a field the v1 API does not have. `fault(...)` makes a path answer an error a
number of times; `deny(...)` answers 403 PERMISSION_DENIED.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from http.server import BaseHTTPRequestHandler
from typing import Any, Iterable, Mapping

from tests.fakes.local_api import LocalJsonApi

_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
           500: "INTERNAL", 503: "UNAVAILABLE"}
_CREATE_TIME_FILTER = re.compile(r'^create_time\s*(>=|>)\s*"([^"]+)"$')


def check_documented(message_type: Any, resource: Mapping, what: str) -> None:
    """Raise ValueError when `resource` (v1 JSON) has a field the library's `message_type` does not know."""
    try:
        message_type.from_json(json.dumps(resource), ignore_unknown_fields=False)
    except Exception as exc:  # google.protobuf.json_format.ParseError
        raise ValueError(f"{what} is not a documented Dataproc v1 {message_type.__name__}: {exc}") from None


class LocalDataprocApi(LocalJsonApi):
    """The server on 127.0.0.1:<free port>; `requests` lists (path, query) as received."""

    content_type = "application/json; charset=UTF-8"

    def __init__(self, project: str, region: str, *, clusters: Iterable[Mapping] = (), jobs: Iterable[Mapping] = (),
                 batches: Iterable[Mapping] = (), policies: Iterable[Mapping] = (), page_size: int = 2):
        from google.cloud import dataproc_v1

        super().__init__()
        self._types = dataproc_v1
        self.project, self.region, self.page_size = project, region, page_size
        self.clusters: dict[str, dict] = {}
        self.jobs: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self.policies: dict[str, dict] = {}
        for c in clusters:
            self.put_cluster(c)
        for j in jobs:
            self.put_job(j)
        for b in batches:
            self.put_batch(b)
        for p in policies:
            check_documented(dataproc_v1.AutoscalingPolicy, p, f"policy {p.get('id')}")
            self.policies[p["id"]] = dict(p)
        self.authorizations: list[str | None] = []  # Authorization header of each request

    def put_cluster(self, cluster: Mapping) -> None:
        check_documented(self._types.Cluster, cluster, f"cluster {cluster.get('clusterName')}")
        self.clusters[cluster["clusterName"]] = dict(cluster)

    def put_job(self, job: Mapping) -> None:
        check_documented(self._types.Job, job, f"job {job.get('reference')}")
        self.jobs[job["reference"]["jobId"]] = dict(job)

    def put_batch(self, batch: Mapping) -> None:
        check_documented(self._types.Batch, batch, f"batch {batch.get('name')}")
        self.batches[batch["name"]] = dict(batch)

    def fault(self, path_suffix: str, status: int, times: int = 1) -> None:
        """Answer requests whose path ends with `path_suffix` with `status` the next `times` times."""
        self._faults.append({"suffix": path_suffix, "status": status, "times": times})

    def deny(self, path_suffix: str, permission: str) -> None:
        self._denied[path_suffix] = permission

    # ---- requests -----------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        path, query = parsed.path, {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        with self._lock:
            self.requests.append((path, query))
            self.authorizations.append(handler.headers.get("Authorization"))
            fault = next((f for f in self._faults if f["times"] > 0 and path.endswith(f["suffix"])), None)
            if fault:
                fault["times"] -= 1
        if fault:
            return self._error(handler, fault["status"], f"injected HTTP {fault['status']}")
        if method != "GET":  # the v1 list and get calls the collector makes are all GETs
            return self._error(handler, 404, f"Unknown path {method} {path}")
        for suffix, permission in self._denied.items():
            if path.endswith(suffix):
                return self._error(handler, 403, f"Permission '{permission}' denied on resource "
                                                 f"'//dataproc.googleapis.com/projects/{self.project}/regions/{self.region}' "
                                                 f"(or it may not exist).")
        regional = f"/v1/projects/{self.project}/regions/{self.region}"
        located = f"/v1/projects/{self.project}/locations/{self.region}"
        if path == f"{regional}/clusters":
            return self._list(handler, "clusters", list(self.clusters.values()), query)
        if path.startswith(f"{regional}/clusters/"):
            cluster = self.clusters.get(path.rsplit("/", 1)[1])
            return self._send(handler, 200, cluster) if cluster else self._error(handler, 404, "Not found: cluster")
        if path == f"{regional}/jobs":
            return self._list(handler, "jobs", list(self.jobs.values()), query)
        if path == f"{located}/batches":
            batches = sorted(self.batches.values(), key=lambda b: b.get("createTime", ""), reverse=True)
            if query.get("filter"):
                match = _CREATE_TIME_FILTER.match(query["filter"].strip())
                if not match:
                    return self._error(handler, 400, f"Unsupported filter: {query['filter']}")
                op, bound = match.groups()
                batches = [b for b in batches if (b.get("createTime", "") >= bound if op == ">=" else b.get("createTime", "") > bound)]
            return self._list(handler, "batches", batches, query)
        for prefix in (regional, located):
            if path.startswith(f"{prefix}/autoscalingPolicies/"):
                policy = self.policies.get(path.rsplit("/", 1)[1])
                return self._send(handler, 200, policy) if policy else self._error(handler, 404, "Not found: policy")
        self._error(handler, 404, f"Unknown path {path}")

    def _list(self, handler, key: str, items: list, query: Mapping) -> None:
        size = min(int(query.get("pageSize") or self.page_size), self.page_size)
        page, token = self._page(items, query.get("pageToken"), size)
        self._send(handler, 200, {key: page, **({"nextPageToken": token} if token else {})})

    def _error(self, handler, status: int, message: str) -> None:
        self._send(handler, status, {"error": {"code": status, "message": message, "status": _STATUS.get(status, "UNKNOWN")}})
