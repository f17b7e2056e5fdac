"""Collect applications from a Spark History Server's REST API (/api/v1) into the same Delta
tables and columns as the event-log path, for teams that only have a History Server.

Example::

    summary = collect_from_history_server(store, "http://history:18080", datetime.now(timezone.utc))
    summary.as_dict()   # {'listed': 12, 'collected': 11, 'failed': 1, 'skipped_before_watermark': 0, ...}

Incremental: only completed attempts that ended after the watermark (the latest `end_time`
among applications whose `source_path` starts with this server's URL) are fetched. Each
attempt's rows replace its previous rows (`replaceWhere` on app_id/attempt_id), so nothing is
ever duplicated. Requests go through `collectors.http` (httpx with retries); an `httpx.Client`
of the caller's (proxies, certificates) may be passed as `http_client`.

Columns the REST API does not provide stay null: see `history_server_rows.NULL_FROM_REST`;
the `tasks` table is not written (the per-task REST endpoint is too heavy for a collector).
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence

import httpx
import pyarrow as pa

from spark_optimizer.collectors import history_server_rows as rows_of
from spark_optimizer.collectors.http import HttpUnavailable, RetryingGetter, base_url_of, url_credentials, with_query, without_credentials
from spark_optimizer.errors import SparkOptimizerError
from spark_optimizer.tables import APPLICATIONS, EXECUTORS, INGEST_LOG, JOBS, SPARK_CONF, SQL_EXECUTIONS, STAGES
from spark_optimizer.tables.app_rows import remove_superseded, replace_applications
from spark_optimizer.tables.instants import epoch_ms, from_epoch_ms
from spark_optimizer.tables.store import TableStore

HS_TABLES = (APPLICATIONS, JOBS, STAGES, EXECUTORS, SQL_EXECUTIONS, SPARK_CONF)
QUANTILE_PARAM = ",".join(str(q) for q in rows_of.QUANTILE_POINTS)


class HistoryServerCollectError(SparkOptimizerError):
    """The History Server could not be reached or did not answer like a History Server."""


class _HttpStatusError(HistoryServerCollectError):
    def __init__(self, url: str, status: int, body: str):
        self.url, self.status = url, status
        super().__init__(f"GET {url} answered HTTP {status}: {body[:200].strip()}")


def normalize_base_url(base_url: str) -> str:
    url = base_url_of(base_url, ("/api/v1/applications", "/api/v1"))
    if url is None:
        raise HistoryServerCollectError(
            f"{without_credentials(base_url)!r} is not an http(s) URL; pass the History Server's base URL, e.g. http://host:18080")
    return url


class HistoryServerClient:
    """GETs JSON from a History Server (retries, auth and headers: `RetryingGetter`)."""

    def __init__(self, base_url: str, *, http_client: httpx.Client | None = None, timeout_s: float = 30, retries: int = 3,
                 auth: tuple[str, str] | str | None = None, headers: Mapping[str, str] | None = None,
                 backoff_s: float = 0.5):
        self.base_url = normalize_base_url(base_url)  # credentials taken out: never printed or stored
        self.http = RetryingGetter(timeout_s=timeout_s, retries=retries, backoff_s=backoff_s,
                                   auth=auth if auth is not None else url_credentials(base_url),
                                   headers=headers, client=http_client)

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        return with_query(f"{self.base_url}/api/v1{path}", params)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        url = self.url(path, params)
        try:
            status, content_type, body = self.http.get(url)
        except HttpUnavailable as exc:
            raise HistoryServerCollectError(
                f"GET {url} failed after {exc.attempts} attempt(s) ({exc.last}); check that the History Server is "
                f"running and reachable at {self.base_url} (and the proxy/auth settings)") from None
        if status >= 400:
            raise _HttpStatusError(url, status, body.decode(errors="replace"))
        try:
            return json.loads(body)
        except ValueError:
            kind = content_type or "non-JSON content"
            raise HistoryServerCollectError(
                f"GET {url} answered {kind}, not JSON: {self.base_url} does not look like a Spark History "
                f"Server; pass the History Server's base URL (e.g. http://host:18080, the address of its web UI)"
            ) from None


@dataclass
class CollectSummary:
    """What one collection did, per application attempt."""

    base_url: str
    watermark_ms: int | None = None
    listed: int = 0
    skipped_before_watermark: int = 0
    skipped_incomplete: int = 0
    records: list[dict] = field(default_factory=list)  # app_id, attempt_id, status, reason, source_path, rows

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.records)

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r["status"] == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def as_dict(self) -> dict:
        return {"base_url": self.base_url, "watermark_ms": self.watermark_ms, "listed": self.listed,
                "collected": self.count("collected"), "failed": self.count("failed"),
                "skipped_before_watermark": self.skipped_before_watermark,
                "skipped_incomplete": self.skipped_incomplete}


def app_source_path(base_url: str, app_id: str, attempt_id: str) -> str:
    path = f"{base_url}/api/v1/applications/{urllib.parse.quote(app_id, safe='')}"
    return f"{path}/{urllib.parse.quote(attempt_id, safe='')}" if attempt_id else path


def format_date_ms(epoch_ms: int) -> str:
    """epoch ms -> '2026-11-23T23:22:40.123GMT' (the format of the REST API's date parameters)."""
    stamp = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}GMT"


def read_watermark(store: TableStore, base_url: str) -> int | None:
    """Latest end_time (epoch ms) among applications collected from this History Server."""
    if not store.exists(APPLICATIONS):
        return None
    prefix = f"{normalize_base_url(base_url)}/api/v1/applications/"
    table = store.read_arrow(APPLICATIONS).select(["source_path", "end_time"]).to_pylist()
    ends = [r["end_time"] for r in table if (r["source_path"] or "").startswith(prefix) and r["end_time"]]
    return epoch_ms(max(ends)) if ends else None


SOURCE_KIND = "history_server"


def previously_failed(store: TableStore, base_url: str) -> list[str]:
    """App ids whose last collection from this History Server failed (ingest_log) for another
    reason than a 404, to retry: the watermark alone would skip an app that failed (e.g. a 5xx
    or a timeout) while a later one succeeded."""
    if not store.exists(INGEST_LOG):
        return []
    prefix = f"{normalize_base_url(base_url)}/api/v1/applications/"
    rows = store.read_arrow(INGEST_LOG).select(["source_path", "source_kind", "status", "reason", "attempts"]).to_pylist()
    ids = {app["app_id"] for r in rows
           if r["source_kind"] == SOURCE_KIND and r["status"] == "failed" and (r["source_path"] or "").startswith(prefix)
           and "HTTP 404" not in (r["reason"] or "")  # gone from the server: retrying cannot help
           for app in r["attempts"] or []}
    return sorted(ids)


def _ingest_log_rows(summary: "CollectSummary", ends: dict, collected_at: datetime) -> list[dict]:
    return [{
        "source_path": r["source_path"],
        "source_kind": SOURCE_KIND,
        "fingerprint": f"endTime={ends.get(r['source_path'])}",
        "modification_time": from_epoch_ms(ends.get(r["source_path"])),
        "status": "ingested" if r["status"] == "collected" else "failed",
        "reason": r["reason"],
        "attempts": [{"app_id": r["app_id"], "attempt_id": r["attempt_id"] or ""}],
        "complete": r["status"] == "collected" or None,
        "rows_written": r["rows"],
        "parser_version": "history-server-rest-v1",
        "ingested_at": collected_at,
    } for r in summary.records]


def _check_listing(client: HistoryServerClient, listing: Any, url: str) -> list[dict]:
    if isinstance(listing, dict):
        listing = [listing]
    if not isinstance(listing, list) or not all(
        isinstance(a, dict) and "id" in a and isinstance(a.get("attempts"), list) for a in listing
    ):
        raise HistoryServerCollectError(
            f"GET {url} answered JSON that is not a Spark History Server application list "
            f"(expected [{{'id': ..., 'attempts': [...]}}], got {str(listing)[:120]}); "
            f"pass the History Server's base URL, e.g. http://host:18080")
    return listing


def _pairs_get(environment: Mapping, key: str) -> str | None:
    for pair in environment.get("sparkProperties") or []:
        if len(pair) == 2 and pair[0] == key:
            return pair[1]
    return None


def fetch_attempt(client: HistoryServerClient, app: Mapping, attempt: Mapping) -> dict[str, list[dict]]:
    """Every table's rows (without key/lineage columns) for one application attempt."""
    app_id, attempt_id = app["id"], str(attempt.get("attemptId") or "")
    base = f"/applications/{urllib.parse.quote(app_id, safe='')}" + (
        f"/{urllib.parse.quote(attempt_id, safe='')}" if attempt_id else "")
    jobs = client.get_json(base + "/jobs")
    try:
        stages = client.get_json(base + "/stages", {"details": "false", "withSummaries": "true",
                                                      "quantiles": QUANTILE_PARAM})
    except _HttpStatusError:  # Spark before 3.4 rejects withSummaries/quantiles
        stages = client.get_json(base + "/stages")
    executors = client.get_json(base + "/allexecutors")
    environment = client.get_json(base + "/environment")
    try:
        sql = client.get_json(base + "/sql", {"details": "true", "planDescription": "false"})
    except _HttpStatusError as exc:  # no SQL endpoint (Spark < 2.4 or SQL not used)
        if exc.status != 404:
            raise
        sql = []
    for name, value in (("jobs", jobs), ("stages", stages), ("allexecutors", executors), ("sql", sql)):
        if not isinstance(value, list):
            raise HistoryServerCollectError(f"{base}/{name} answered {type(value).__name__}, expected a JSON list")
    if not isinstance(environment, dict):
        raise HistoryServerCollectError(f"{base}/environment answered {type(environment).__name__}, expected an object")
    stage_table = rows_of.stage_rows(stages, jobs)
    return {
        APPLICATIONS.name: [rows_of.application_row(app, attempt, environment, jobs, stages, executors, sql,
                                                    stage_table)],
        JOBS.name: rows_of.job_rows(jobs, sql),
        STAGES.name: stage_table,
        EXECUTORS.name: rows_of.executor_rows(executors, _pairs_get(environment, "spark.master")),
        SQL_EXECUTIONS.name: rows_of.sql_rows(sql),
        SPARK_CONF.name: rows_of.conf_rows(environment),
    }


def _list_apps(client: HistoryServerClient, since_ms: int | None, limit: int | None,
               app_ids: Sequence[str] | None, summary: CollectSummary) -> list[dict]:
    if app_ids is not None:
        apps = []
        for app_id in app_ids:
            url = client.url(f"/applications/{urllib.parse.quote(app_id, safe='')}")
            try:
                apps.extend(_check_listing(client, client.get_json(f"/applications/{urllib.parse.quote(app_id, safe='')}"), url))
            except HistoryServerCollectError as exc:
                hint = " (the History Server does not know this application: check the id, or it was cleaned up)" \
                    if isinstance(exc, _HttpStatusError) and exc.status == 404 else ""
                summary.records.append({"app_id": app_id, "attempt_id": "", "status": "failed",
                                        "reason": f"{exc}{hint}", "source_path": url, "rows": 0})
        return apps
    params: dict[str, Any] = {"status": "completed"}
    if since_ms is not None:
        params["minEndDate"] = format_date_ms(since_ms + 1)  # the REST API's date format, e.g. ...00.123GMT
    if limit is not None:
        params["limit"] = limit
    url = client.url("/applications", params)
    try:
        listing = client.get_json("/applications", params)
    except _HttpStatusError as exc:
        if exc.status in (401, 403):
            raise HistoryServerCollectError(f"{exc}; pass credentials (auth=(user, password) or a bearer token)") from None
        raise HistoryServerCollectError(
            f"{exc}: {client.base_url} does not look like a Spark History Server (no REST API at /api/v1); "
            f"pass the History Server's base URL, e.g. http://host:18080") from None
    return _check_listing(client, listing, url)


def _write(store: TableStore, collected: dict[str, list[dict]], scope: list[dict]) -> None:
    """Replace the attempts in `scope` (readers see each one's old rows or its new ones, wholly:
    `tables.app_rows`), then empty the buffers."""
    if scope:
        rows = {spec.name: pa.Table.from_pylist(collected[spec.name], schema=spec.arrow_schema()) for spec in HS_TABLES}
        generation = collected[APPLICATIONS.name][0]["ingested_at"]
        remove_superseded(store, scope, generation, replace_applications(store, rows, scope, generation))
    for rows in collected.values():
        rows.clear()
    scope.clear()


def collect_from_history_server(
    store: TableStore,
    base_url: str,
    collected_at: datetime,
    *,
    http_client: httpx.Client | None = None,
    timeout_s: float = 30,
    retries: int = 3,
    auth: tuple[str, str] | str | None = None,
    headers: Mapping[str, str] | None = None,
    since_ms: int | None = None,
    limit: int | None = None,
    app_ids: Sequence[str] | None = None,
    backoff_s: float = 0.5,
    batch_size: int = 50,
) -> CollectSummary:
    """Collect completed application attempts that ended after the watermark (or `since_ms`).

    `app_ids` collects exactly those applications (every attempt, complete or not), ignoring the
    watermark. Raises HistoryServerCollectError when the server cannot be listed at all; a failure
    for one application is recorded in the summary and the others are still collected.
    """
    client = HistoryServerClient(base_url, http_client=http_client, timeout_s=timeout_s, retries=retries, auth=auth,
                                 headers=headers, backoff_s=backoff_s)
    summary = CollectSummary(client.base_url)
    watermark = since_ms if since_ms is not None else read_watermark(store, client.base_url)
    summary.watermark_ms = watermark
    apps = _list_apps(client, watermark if app_ids is None else None, limit, app_ids, summary)
    summary.listed = len(apps)
    retry: set[str] = set()
    if app_ids is None and since_ms is None:
        listed = {a["id"] for a in apps}
        retry = {i for i in previously_failed(store, client.base_url) if i not in listed}
        if retry:
            apps += _list_apps(client, None, None, sorted(retry), summary)
    ends: dict[str, int | None] = {}
    collected: dict[str, list[dict]] = {spec.name: [] for spec in HS_TABLES}
    scope: list[dict] = []
    for app in apps:
        for attempt in app["attempts"]:
            attempt_id = str(attempt.get("attemptId") or "")
            source = app_source_path(client.base_url, app["id"], attempt_id)
            ends[source] = attempt.get("endTimeEpoch") or rows_of.parse_date_ms(attempt.get("endTime"))
            if app_ids is None:
                if not attempt.get("completed", False):
                    summary.skipped_incomplete += 1
                    continue
                end = attempt.get("endTimeEpoch") or rows_of.parse_date_ms(attempt.get("endTime"))
                if watermark is not None and end is not None and end <= watermark and app["id"] not in retry:
                    summary.skipped_before_watermark += 1
                    continue
            record = {"app_id": app["id"], "attempt_id": attempt_id, "status": "collected", "reason": None,
                      "source_path": source, "rows": 0}
            try:
                tables = fetch_attempt(client, app, attempt)
            except HistoryServerCollectError as exc:
                hint = " (the application is no longer on the History Server: it was cleaned up or its log removed)" \
                    if isinstance(exc, _HttpStatusError) and exc.status == 404 else ""
                record.update(status="failed", reason=f"{exc}{hint}")
                summary.records.append(record)
                continue
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                record.update(status="failed", reason=f"unexpected REST answer for {source}: "
                                                      f"{type(exc).__name__}: {exc}")
                summary.records.append(record)
                continue
            lineage = {"app_id": app["id"], "attempt_id": attempt_id, "source_path": source,
                       "ingested_at": collected_at}
            for name, table_rows in tables.items():
                collected[name].extend({**row, **lineage} for row in table_rows)
                record["rows"] += len(table_rows)
            scope.append({"app_id": app["id"], "attempt_id": attempt_id})
            summary.records.append(record)
            if len(scope) >= batch_size:  # bound the rows held in memory
                _write(store, collected, scope)
    _write(store, collected, scope)
    if summary.records:
        store.upsert(INGEST_LOG, pa.Table.from_pylist(_ingest_log_rows(summary, ends, collected_at),
                                                      schema=INGEST_LOG.arrow_schema()))
    return summary


def summary_line(summary: CollectSummary) -> str:
    d = summary.as_dict()
    return (f"{d['base_url']}: listed {d['listed']}, collected {d['collected']}, failed {d['failed']}, "
            f"skipped before watermark {d['skipped_before_watermark']}, skipped incomplete {d['skipped_incomplete']}")


__all__: Iterable[str] = ("CollectSummary", "HistoryServerClient", "HistoryServerCollectError",
                          "collect_from_history_server", "fetch_attempt", "previously_failed", "read_watermark")
