"""Collect from a Spark History Server, Prometheus, EMR, Databricks or Dataproc into the tables
(delta-rs; no JVM). Every collector's request options, credentials and summary in one place."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from spark_optimizer.refs import attempt_ref
from spark_optimizer.runners.result import RunResult

if TYPE_CHECKING:
    from spark_optimizer.context import AppContext

HISTORY_PASSWORD_ENV = "SPARK_HISTORY_PASSWORD"


def request_auth(user: str | None, token_env: str | None, header_lines: Sequence[str] = (),
                 environ: Mapping[str, str] = os.environ) -> tuple[tuple[str, str] | str | None, dict[str, str]]:
    """(auth, headers) of a History Server request: basic auth for `user` (password from
    SPARK_HISTORY_PASSWORD), else a bearer token read from the variable `token_env`; `header_lines`
    are 'Name: value'."""
    bad = [line for line in header_lines if ":" not in line]
    if bad:
        raise ValueError(f"a header is 'Name: value', not {bad[0]!r}")
    headers = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip() for line in header_lines}
    if user:
        return (user, environ.get(HISTORY_PASSWORD_ENV, "")), headers
    return (environ.get(token_env) or None) if token_env else None, headers


def history_record_line(record: dict) -> str:
    line = f"[{record['status']}] {attempt_ref(record['app_id'], record['attempt_id'])} {record['source_path']} rows={record['rows']}"
    return line + (f"\n    reason: {record['reason']}" if record.get("reason") else "")


class CollectRunner:
    def __init__(self, ctx: "AppContext"):
        self.ctx = ctx

    def history_server(self, url: str, *, since_ms: int | None = None, limit: int | None = None,
                       app_ids: Sequence[str] | None = None, user: str | None = None, token_env: str | None = None,
                       headers: Sequence[str] = (), timeout_s: float = 30.0, retries: int = 3) -> RunResult:
        """Applications from a History Server's REST API into the event-log tables (no event logs needed)."""
        from spark_optimizer.collectors.history_server import collect_from_history_server, summary_line

        auth, header_map = request_auth(user, token_env, headers)
        summary = collect_from_history_server(self.ctx.arrow_store, url, self.ctx.now(), timeout_s=timeout_s,
                                              retries=retries, auth=auth, headers=header_map or None, since_ms=since_ms,
                                              limit=limit, app_ids=app_ids or None)
        lines = [history_record_line(r) for r in summary.records if r["status"] != "collected"]
        return RunResult(summary, {"summary": summary.as_dict(), "records": summary.records},
                         (*lines, summary_line(summary)), summary.exit_code)

    def metrics(self, endpoint: str, *, start_ms: int | None = None, end_ms: int | None = None, step_s: float = 15,
                app_ids: Sequence[str] | None = None, timeout_s: float = 30.0, retries: int = 3) -> RunResult:
        """Executor and driver series that Prometheus scraped from Spark into `executor_metrics`."""
        from spark_optimizer.collectors.prometheus import collect_from_metrics, summary_line

        summary = collect_from_metrics(self.ctx.arrow_store, endpoint, self.ctx.now(), start_ms=start_ms, end_ms=end_ms,
                                       step_s=step_s, timeout_s=timeout_s, retries=retries, app_ids=app_ids or None)
        return RunResult(summary, summary.as_dict(), (summary_line(summary),), summary.exit_code)

    def emr(self, region: str, *, profile: str | None = None, endpoint_url: str | None = None, since_ms: int | None = None,
            cluster_ids: Sequence[str] | None = None, retries: int = 5, timeout_s: float = 30.0, link: bool = True,
            client: Any = None) -> RunResult:
        """EMR clusters, instance groups/fleets and steps (pip extra 'aws')."""
        from spark_optimizer.collectors.emr import collect_from_emr

        return self._cloud(lambda store, now: collect_from_emr(
            store, region, now, client=client, profile=profile, endpoint_url=endpoint_url, since_ms=since_ms,
            cluster_ids=cluster_ids or None, retries=retries, timeout_s=timeout_s), link)

    def databricks(self, *, workspace_url: str | None = None, profile: str | None = None, since_ms: int | None = None,
                   runs: bool = True, events: bool = True, retries: int = 3, timeout_s: int = 60,
                   deadline_s: float | None = None, link: bool = True, client: Any = None) -> RunResult:
        """Databricks clusters, cluster events, node types and job runs. `timeout_s`: how long the SDK
        retries one throttled call; `deadline_s`: after it no call is retried (the collection's bound)."""
        from spark_optimizer.collectors.databricks import DEADLINE_S, collect_from_databricks

        return self._cloud(lambda store, now: collect_from_databricks(
            store, now, client=client, workspace_url=workspace_url, profile=profile, since_ms=since_ms, runs=runs,
            events=events, retries=retries, retry_timeout_s=timeout_s,
            deadline_s=DEADLINE_S if deadline_s is None else deadline_s), link)

    def dataproc(self, project: str, region: str, *, api_endpoint: str | None = None, since_ms: int | None = None,
                 jobs: bool = True, batches: bool = True, retries: int = 5, timeout_s: float = 60.0, link: bool = True,
                 clients: Any = None) -> RunResult:
        """Dataproc clusters, jobs and Serverless batches (pip extra 'gcp')."""
        from spark_optimizer.collectors.dataproc import collect_from_dataproc

        return self._cloud(lambda store, now: collect_from_dataproc(
            store, project, region, now, clients=clients, api_endpoint=api_endpoint, since_ms=since_ms, jobs=jobs,
            batches=batches, retries=retries, timeout_s=timeout_s), link)

    def _cloud(self, collect: Callable[[Any, Any], Any], link: bool) -> RunResult:
        """Run one cloud collector, then link the ingested applications to what it collected."""
        from spark_optimizer.collectors.cloud_store import report_lines
        from spark_optimizer.collectors.linking import collect_and_link

        summary = collect_and_link(self.ctx.arrow_store, collect, self.ctx.now(), link)
        return RunResult(summary, {"summary": summary.as_dict(), "records": summary.records}, tuple(report_lines(summary)),
                         summary.exit_code)
