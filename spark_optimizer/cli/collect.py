"""Commands that bring runs into the warehouse: event logs, a History Server, Prometheus, EMR,
Databricks, Dataproc."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from spark_optimizer.cli.common import (
    ConfOption, FormatOption, SinceMsOption, SinceOption, TimeoutOption, WarehouseOption, console, context, emit,
    run_and_emit, since_ms, usage_errors,
)

app = typer.Typer(help="Bring runs into the warehouse.")
AppIdOption = Annotated[Optional[list[str]], typer.Option("--app-id", help="Only this application (repeatable).")]
RetriesOption = Annotated[int, typer.Option(help="Retries of throttled or failed calls (exponential backoff).")]
LinkOption = Annotated[bool, typer.Option("--link/--no-link", help="Link ingested Spark applications to the clusters and runs.")]


def run_collect(ctx, event_log_dir: str, force: bool = False, batch_size: int | None = None, live: bool = True):
    """Ingest with a progress bar on stderr; each log that did not ingest cleanly (every log with `live`)
    is printed there as its batch ends."""
    from rich.progress import Progress

    from spark_optimizer.runners.ingest import record_line

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("ingesting event logs", total=None)

        def on_batch(records: list[dict], done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)
            for record in records:
                if live or record["status"] != "ingested":
                    progress.console.print(record_line(record), markup=False, highlight=False, soft_wrap=True)

        with usage_errors():
            return ctx.ingest.run(event_log_dir, force=force, batch_size=batch_size, on_batch=on_batch)


@app.command()
def collect(
    event_log_dir: Annotated[str, typer.Option("--event-log-dir", help="Folder, file or Hadoop-FS URI of event logs.")],
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    master: Annotated[Optional[str], typer.Option(help="Spark master when no session is active.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-ingest logs even when unchanged.")] = False,
    batch_size: Annotated[Optional[int], typer.Option(help="Logs per Spark job and Delta commit (default: ingest_batch_size).")] = None,
    output_format: FormatOption = "text",
) -> None:
    """Ingest Spark event logs into the Delta tables (incremental; exit 1 if a log failed)."""
    emit(run_collect(context(warehouse, conf, master), event_log_dir, force, batch_size, output_format == "text"),
         output_format)


@app.command("collect-from-history-server")
def collect_from_history_server(
    history_server_url: Annotated[str, typer.Option("--history-server-url", help="Base URL, e.g. http://history:18080.")],
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    since: SinceOption = None,
    since_ms_value: SinceMsOption = None,
    limit: Annotated[Optional[int], typer.Option(help="At most this many applications.")] = None,
    app_id: AppIdOption = None,
    user: Annotated[Optional[str], typer.Option(help="Basic-auth user; password from SPARK_HISTORY_PASSWORD.")] = None,
    token_env: Annotated[Optional[str], typer.Option(help="Environment variable holding a bearer token.")] = None,
    header: Annotated[Optional[list[str]], typer.Option(help="Extra header 'Name: value' (repeatable).")] = None,
    timeout: TimeoutOption = 30.0,
    retries: Annotated[int, typer.Option(help="Retries on 5xx and connection errors.")] = 3,
    output_format: FormatOption = "text",
) -> None:
    """Collect applications from a Spark History Server's REST API into the same tables (no event logs needed)."""
    run_and_emit(warehouse, conf, output_format, lambda ctx: ctx.collect.history_server(
        history_server_url, since_ms=since_ms(since, since_ms_value), limit=limit, app_ids=app_id, user=user,
        token_env=token_env, headers=header or (), timeout_s=timeout, retries=retries))


@app.command("collect-from-metrics")
def collect_from_metrics(
    metrics_endpoint: Annotated[str, typer.Option("--metrics-endpoint", help="Prometheus base URL, e.g. http://127.0.0.1:9090.")],
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    since: Annotated[Optional[str], typer.Option(help="Window start, date or ISO date-time (default: the stored watermark, else the last hour).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Window end, date or ISO date-time (default: now).")] = None,
    start_ms: Annotated[Optional[int], typer.Option(hidden=True, help="--since as epoch ms (older spelling).")] = None,
    end_ms: Annotated[Optional[int], typer.Option(hidden=True, help="--until as epoch ms (older spelling).")] = None,
    step: Annotated[int, typer.Option(help="Downsampling step in seconds (query_range step).")] = 15,
    app_id: AppIdOption = None,
    timeout: TimeoutOption = 30.0,
    retries: Annotated[int, typer.Option(help="Retries on 5xx and connection errors.")] = 3,
    output_format: FormatOption = "text",
) -> None:
    """Collect executor and driver metrics that Prometheus scraped from Spark into `executor_metrics`."""
    run_and_emit(warehouse, conf, output_format, lambda ctx: ctx.collect.metrics(
        metrics_endpoint, start_ms=since_ms(since, start_ms), end_ms=since_ms(until, end_ms), step_s=step, app_ids=app_id,
        timeout_s=timeout, retries=retries))


@app.command("collect-from-emr")
def collect_from_emr(
    region: Annotated[str, typer.Option("--region", help="AWS region, e.g. us-west-2.")],
    profile: Annotated[Optional[str], typer.Option(help="AWS profile (default: boto3's credential chain).")] = None,
    endpoint_url: Annotated[Optional[str], typer.Option(help="EMR endpoint (VPC endpoint); default: AWS's.")] = None,
    cluster_id: Annotated[Optional[list[str]], typer.Option(help="Only this cluster (repeatable), ignoring the watermark.")] = None,
    link: LinkOption = True,
    since: SinceOption = None,
    since_ms_value: SinceMsOption = None,
    retries: RetriesOption = 5,
    timeout: TimeoutOption = 30.0,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    output_format: FormatOption = "text",
) -> None:
    """Collect EMR clusters, instance groups/fleets and steps (pip extra 'aws') into clusters, cluster_nodes, cluster_runs."""
    run_and_emit(warehouse, conf, output_format, lambda ctx: ctx.collect.emr(
        region, profile=profile, endpoint_url=endpoint_url, since_ms=since_ms(since, since_ms_value), cluster_ids=cluster_id,
        retries=retries, timeout_s=timeout, link=link))


@app.command("collect-from-databricks")
def collect_from_databricks(
    workspace_url: Annotated[Optional[str], typer.Option(help="Workspace URL (default: DATABRICKS_HOST or the profile's host).")] = None,
    profile: Annotated[Optional[str], typer.Option(help="Profile of ~/.databrickscfg (default: the SDK's credential chain).")] = None,
    link: LinkOption = True,
    since: SinceOption = None,
    since_ms_value: SinceMsOption = None,
    runs: Annotated[bool, typer.Option("--runs/--no-runs", help="Collect job runs.")] = True,
    events: Annotated[bool, typer.Option("--events/--no-events", help="Collect cluster events.")] = True,
    retries: RetriesOption = 3,
    retry_timeout: Annotated[int, typer.Option("--retry-timeout", help="Seconds the SDK keeps retrying one throttled call.")] = 60,
    deadline: Annotated[float, typer.Option(help="Seconds after which no call is retried (the whole collection's bound).")] = 300,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    output_format: FormatOption = "text",
) -> None:
    """Collect Databricks clusters, cluster events, node types and job runs into clusters, cluster_nodes, cluster_runs, cluster_events."""
    run_and_emit(warehouse, conf, output_format, lambda ctx: ctx.collect.databricks(
        workspace_url=workspace_url, profile=profile, since_ms=since_ms(since, since_ms_value), runs=runs, events=events,
        retries=retries, timeout_s=retry_timeout, deadline_s=deadline, link=link))


@app.command("collect-from-dataproc")
def collect_from_dataproc(
    project: Annotated[str, typer.Option("--project", help="GCP project id.")],
    region: Annotated[str, typer.Option("--region", help="Dataproc region, e.g. us-central1.")],
    api_endpoint: Annotated[Optional[str], typer.Option(help="API endpoint (default: <region>-dataproc.googleapis.com).")] = None,
    since: SinceOption = None,
    since_ms_value: SinceMsOption = None,
    jobs: Annotated[bool, typer.Option("--jobs/--no-jobs", help="Collect jobs.")] = True,
    batches: Annotated[bool, typer.Option("--batches/--no-batches", help="Collect Dataproc Serverless batches.")] = True,
    retries: RetriesOption = 5,
    timeout: TimeoutOption = 60.0,
    link: LinkOption = True,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    output_format: FormatOption = "text",
) -> None:
    """Collect Dataproc clusters, jobs and batches (pip extra 'gcp') into clusters, cluster_nodes, cluster_runs, cluster_events."""
    run_and_emit(warehouse, conf, output_format, lambda ctx: ctx.collect.dataproc(
        project, region, api_endpoint=api_endpoint, since_ms=since_ms(since, since_ms_value), jobs=jobs, batches=batches,
        retries=retries, timeout_s=timeout, link=link))
