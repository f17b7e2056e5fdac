"""Commands that read and explain what was collected: analyze, jobs, similar, report, tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from spark_optimizer.cli.common import (
    ConfOption, FormatOption, WarehouseOption, context, emit, executor_counts, fail, print_json, run_and_emit, stdout,
    usage_errors,
)
from spark_optimizer.runners.result import RunResult

app = typer.Typer(help="Explain what was collected.")
AppRefArgument = Annotated[str, typer.Argument(metavar="APP_ID[/ATTEMPT]")]
ExecutorsOption = Annotated[Optional[str], typer.Option(help="What-if executor counts, e.g. 1,2,4,8.")]
RefreshOption = Annotated[bool, typer.Option("--refresh", help="Re-run the analysis even if it exists.")]


@app.command()
def analyze(
    app_ref: Annotated[Optional[str], typer.Argument(metavar="[APP_ID[/ATTEMPT]]", help="Omit to analyze every new application.")] = None,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    output_format: FormatOption = "text",
    executors: ExecutorsOption = None,
    refresh: RefreshOption = False,
) -> None:
    """Explain one application (summary, bottleneck, findings with config changes, what-if), or
    analyze every application ingested since the last analysis."""
    counts = executor_counts(executors)
    ctx = context(warehouse, conf)
    with usage_errors():
        if app_ref is None:
            emit(ctx.analyze.run(), output_format)
        report = ctx.analyze.report(app_ref, counts, refresh)
    if output_format == "json":
        print_json(report)
    else:
        from spark_optimizer.cli_render import app_report

        stdout.print(app_report(report, report["spark_submit_conf"]))


@app.command("jobs")
def list_jobs(
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    name: Annotated[Optional[str], typer.Option(help="Substring of the app name or id.")] = None,
    status: Annotated[Optional[str], typer.Option(help="completed or incomplete.")] = None,
    platform: Annotated[Optional[str], typer.Option(help="databricks, emr, dataproc, kubernetes, yarn, standalone, local.")] = None,
    since: Annotated[Optional[str], typer.Option(help="Started on or after this date or ISO date-time, UTC.")] = None,
    until: Annotated[Optional[str], typer.Option(help="Started before this date or ISO date-time, UTC.")] = None,
    min_duration: Annotated[Optional[str], typer.Option(help="Only runs at least this long, e.g. 10m.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.", min=1)] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many rows first (paging).", min=0)] = 0,
    output_format: FormatOption = "text",
) -> None:
    """List ingested applications, newest first (no JVM). The JSON is the REST API's GET /jobs page:
    {total, offset, limit, items}."""
    ctx = context(warehouse, conf)
    with usage_errors():
        page = ctx.jobs.page(name=name, status=status, platform=platform, since=since, until=until,
                             min_duration=min_duration, limit=limit, offset=offset)
    if output_format == "json":
        print_json(page)
    else:
        from spark_optimizer.cli_render import jobs_table

        stdout.print(jobs_table(page))


@app.command()
def similar(
    app_ref: AppRefArgument,
    k: Annotated[int, typer.Option("-k", help="How many runs to list.")] = 5,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    output_format: FormatOption = "text",
) -> None:
    """List the k historical runs most similar to one application, with what differed."""
    ctx = context(warehouse, conf)
    with usage_errors():
        result = ctx.report.similar(app_ref, k)
    if output_format == "json":
        print_json(result.data)
    else:
        from spark_optimizer.cli_render import similar_table

        stdout.print(similar_table(result.data))


@app.command("report")
def report_command(
    app_ref: Annotated[Optional[str], typer.Argument(metavar="[APP_ID[/ATTEMPT]]", help="The application to report on.")] = None,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    app_name: Annotated[Optional[str], typer.Option("--app-name", help="Instead of APP_ID: every run with this app name, over time.")] = None,
    signature: Annotated[Optional[str], typer.Option("--signature", help="Instead of APP_ID: every run of this job signature (or unique prefix), over time.")] = None,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    executors: ExecutorsOption = None,
    refresh: RefreshOption = False,
    output_format: FormatOption = "text",
) -> None:
    """Write a self-contained HTML report with plots for one application (analyzes it first if needed),
    or for the runs of one application name (--app-name) or job signature (--signature) over time."""
    if sum(x is not None for x in (app_ref, app_name, signature)) != 1:
        fail(ValueError("give either an application id (APP_ID or APP_ID/ATTEMPT), --app-name NAME or --signature SIGNATURE"))
    counts = executor_counts(executors)
    run_and_emit(warehouse, conf, output_format, lambda ctx: ctx.report.html(
        out, app_ref=app_ref, app_name=app_name, signature=signature, executor_counts=counts, refresh=refresh))


@app.command()
def tables(warehouse: WarehouseOption = None, conf: ConfOption = None, output_format: FormatOption = "text") -> None:
    """List the tables in the warehouse with their row counts, versions and schema versions (no JVM);
    exit 2 when the warehouse holds none of them."""
    from spark_optimizer.tables import ALL_TABLES

    ctx = context(warehouse, conf)
    store = ctx.arrow_store
    with usage_errors():
        rows = [{"table": spec.name, "exists": store.exists(spec), "path": store.path(spec)} for spec in ALL_TABLES]
        for row, spec in zip(rows, ALL_TABLES):
            if row["exists"]:
                row.update(rows=store.read_arrow(spec).num_rows, version=store.version(spec),
                           schema_version=store.schema_version(spec))
    if not any(row["exists"] for row in rows):
        fail(FileNotFoundError(f"no table of the product under {ctx.settings.warehouse}: check --warehouse, or run "
                               "`spark-optimizer collect` (or `quickstart`) first"))
    if output_format == "json":
        emit(RunResult(rows, {"warehouse": ctx.settings.warehouse, "tables": rows}), "json")
    from rich.table import Table

    table = Table("table", "rows", "version", "schema version", "path")
    for row in rows:
        if row["exists"]:
            table.add_row(row["table"], str(row["rows"]), str(row["version"]), str(row["schema_version"]), row["path"])
        else:
            table.add_row(row["table"], "-", "-", "-", f"{row['path']} (missing)")
    stdout.print(table)
