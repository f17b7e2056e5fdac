"""`spark-optimizer` command line: thin wrappers over the library."""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from spark_optimizer.config import load_settings
from spark_optimizer.errors import ConfigurationError, SparkOptimizerError

app = typer.Typer(help="Learns from past Spark runs and recommends the resources for the next one.", no_args_is_help=True)
# Wide enough that paths and reasons are not folded when output goes to a file or CI log.
_PIPE_WIDTH = int(os.environ.get("COLUMNS", "200"))


class _LazyConsole:
    """A rich Console built on first use: `recommend --format spark-submit|json` prints without importing
    rich (~20 ms of a cold start that must stay under 0.5 s). Stands in for the Console in attribute
    access and `with console:` (rich's Live and Progress use both); it is no `isinstance` of Console."""

    def __init__(self, **options) -> None:
        self._options, self._console = options, None

    def _real(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str):
        return getattr(self._real(), name)

    def __enter__(self):
        return self._real().__enter__()

    def __exit__(self, *exc_info) -> None:
        self._real().__exit__(*exc_info)


console = _LazyConsole(stderr=True, width=None if sys.stderr.isatty() else _PIPE_WIDTH)
stdout = _LazyConsole(width=None if sys.stdout.isatty() else _PIPE_WIDTH)
SAMPLE_LOGS = Path(__file__).resolve().parents[1] / "samples" / "eventlogs"
# Runs of two corpus workloads at several configurations and sizes, so the models have a job to learn.
SAMPLE_RUNS = Path(__file__).resolve().parents[1] / "samples" / "runs"

WarehouseOption = Annotated[
    Optional[str], typer.Option("--warehouse", help="Warehouse root (env SPARK_OPTIMIZER_WAREHOUSE).")
]
ConfOption = Annotated[Optional[Path], typer.Option("--conf", help="Settings file (env SPARK_OPTIMIZER_CONF).")]


def _print_version(value: bool) -> None:
    if value:
        from spark_optimizer import __version__

        print(f"spark-optimizer {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the spark-optimizer version and exit.")] = False,
) -> None:
    """Learns from past Spark runs and recommends the resources for the next one."""


def _context(warehouse: str | None, conf: Path | None, master: str | None = None):
    from spark_optimizer.context import AppContext

    return AppContext(load_settings(conf, warehouse=warehouse, spark_master=master))


def _fail(error: Exception) -> None:
    console.print(f"[bold red]error:[/] {error}")
    raise typer.Exit(2)


def _run_collect(ctx, event_log_dir: str, force: bool, batch_size: int | None, output_format: str) -> int:
    from rich.progress import Progress

    from spark_optimizer.eventlog.ingest import ingest_event_logs
    from spark_optimizer.reporting import record_line, summary_line

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("ingesting event logs", total=None)

        def on_batch(records: list[dict], done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)
            for record in records:
                if record["status"] != "ingested" or output_format == "text":
                    progress.console.print(record_line(record), markup=False, highlight=False, soft_wrap=True)

        summary = ingest_event_logs(
            ctx.spark_context,
            ctx.store,
            event_log_dir,
            datetime.now(timezone.utc),
            batch_size=batch_size or ctx.settings.ingest_batch_size,
            batch_bytes=ctx.settings.ingest_batch_mb * 1024 * 1024,
            batch_rows=ctx.settings.ingest_batch_rows,
            force=force,
            on_batch=on_batch,
        )
    if output_format == "json":
        print(json.dumps({"summary": summary.as_dict(), "failed": summary.failed}, default=str, indent=2))
    console.print(summary_line(summary), soft_wrap=True)
    if summary.failed:
        console.print(f"[red]{len(summary.failed)} event log(s) failed; their reasons are above and in the ingest_log table[/]")
    return summary.exit_code


@app.command()
def collect(
    event_log_dir: Annotated[str, typer.Option("--event-log-dir", help="Folder, file or Hadoop-FS URI of event logs.")],
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    master: Annotated[Optional[str], typer.Option(help="Spark master when no session is active.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Re-ingest logs even when unchanged.")] = False,
    batch_size: Annotated[Optional[int], typer.Option(help="Logs per Spark job and Delta commit.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Ingest Spark event logs into the Delta tables (incremental; exit 1 if a log failed)."""
    try:
        raise typer.Exit(_run_collect(_context(warehouse, conf, master), event_log_dir, force, batch_size, output_format))
    except SparkOptimizerError as error:
        _fail(error)


@app.command("collect-from-history-server")
def collect_from_history_server_command(
    history_server_url: Annotated[str, typer.Option("--history-server-url", help="Base URL, e.g. http://history:18080.")],
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    since_ms: Annotated[Optional[int], typer.Option(help="Apps that ended after this epoch ms (default: watermark).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="At most this many applications.")] = None,
    app_id: Annotated[Optional[list[str]], typer.Option(help="Only this application (repeatable).")] = None,
    user: Annotated[Optional[str], typer.Option(help="Basic-auth user; password from SPARK_HISTORY_PASSWORD.")] = None,
    token_env: Annotated[Optional[str], typer.Option(help="Environment variable holding a bearer token.")] = None,
    header: Annotated[Optional[list[str]], typer.Option(help="Extra header 'Name: value' (repeatable).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 30.0,
    retries: Annotated[int, typer.Option(help="Retries on 5xx and connection errors.")] = 3,
) -> None:
    """Collect applications from a Spark History Server's REST API into the same tables (no event logs needed)."""
    from spark_optimizer.collectors.history_server import collect_from_history_server, record_line, summary_line

    bad = [h for h in header or [] if ":" not in h]
    if bad:
        _fail(ValueError(f"--header takes 'Name: value', not {bad}"))
    auth = (user, os.environ.get("SPARK_HISTORY_PASSWORD", "")) if user else (os.environ.get(token_env) if token_env else None)
    headers = {h.split(":", 1)[0].strip(): h.split(":", 1)[1].strip() for h in header or []}
    try:
        store = _arrow_store(load_settings(conf, warehouse=warehouse))
        summary = collect_from_history_server(store, history_server_url, datetime.now(timezone.utc), timeout_s=timeout,
                                              retries=retries, auth=auth, headers=headers or None, since_ms=since_ms,
                                              limit=limit, app_ids=app_id or None)
    except SparkOptimizerError as error:
        _fail(error)
    for record in summary.records:
        console.print(record_line(record), markup=False, highlight=False, soft_wrap=True)
    console.print(summary_line(summary), soft_wrap=True)
    raise typer.Exit(summary.exit_code)


@app.command("collect-from-metrics")
def collect_from_metrics_command(
    metrics_endpoint: Annotated[str, typer.Option("--metrics-endpoint", help="Prometheus base URL, e.g. http://127.0.0.1:9090.")],
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    start_ms: Annotated[Optional[int], typer.Option(help="Window start, epoch ms (default: the stored watermark, else the last hour).")] = None,
    end_ms: Annotated[Optional[int], typer.Option(help="Window end, epoch ms (default: now).")] = None,
    step: Annotated[int, typer.Option(help="Downsampling step in seconds (query_range step).")] = 15,
    app_id: Annotated[Optional[list[str]], typer.Option(help="Only this application (repeatable).")] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 30.0,
    retries: Annotated[int, typer.Option(help="Retries on 5xx and connection errors.")] = 3,
) -> None:
    """Collect executor and driver metrics that Prometheus scraped from Spark into `executor_metrics`."""
    from spark_optimizer.collectors.prometheus import collect_from_metrics, summary_line

    try:
        store = _arrow_store(load_settings(conf, warehouse=warehouse))
        summary = collect_from_metrics(store, metrics_endpoint, datetime.now(timezone.utc), start_ms=start_ms,
                                       end_ms=end_ms, step_s=step, timeout_s=timeout, retries=retries,
                                       app_ids=app_id or None)
    except SparkOptimizerError as error:
        _fail(error)
    console.print(summary_line(summary), soft_wrap=True)
    raise typer.Exit(summary.exit_code)


@app.command()
def tables(warehouse: WarehouseOption = None, conf: ConfOption = None) -> None:
    """List the tables in the warehouse with their row counts, versions and schema versions (no JVM)."""
    from rich.table import Table

    from spark_optimizer.tables import ALL_TABLES

    try:
        settings = load_settings(conf, warehouse=warehouse)
    except SparkOptimizerError as error:
        _fail(error)
    store = _arrow_store(settings)
    table = Table("table", "rows", "version", "schema version", "path")
    for spec in ALL_TABLES:
        if store.exists(spec):
            table.add_row(spec.name, str(store.read_arrow(spec).num_rows), str(store.version(spec)),
                          str(store.schema_version(spec)), store.path(spec))
        else:
            table.add_row(spec.name, "-", "-", "-", f"{store.path(spec)} (missing)")
    stdout.print(table)


def _arrow_store(settings):
    from spark_optimizer.tables.store import DeltaRsBackend, TableStore

    return TableStore(None, settings, backend=DeltaRsBackend())


@app.command()
def quickstart(
    warehouse: WarehouseOption = None,
    event_log_dir: Annotated[Optional[str], typer.Option("--event-log-dir", help="Defaults to the bundled samples.")] = None,
) -> None:
    """Run the main job end to end on the bundled sample logs (samples/eventlogs and samples/runs) with the embedded defaults:
    ingest, analyze, train, build recommendations, and print what was found and one recommendation."""
    try:
        ctx = _context(warehouse, None)
        sources = [event_log_dir] if event_log_dir else [str(SAMPLE_LOGS), str(SAMPLE_RUNS)]
        if not event_log_dir and not SAMPLE_LOGS.is_dir():
            raise ConfigurationError(f"the bundled samples ({SAMPLE_LOGS}) are in the source repository, not in an "
                                     "installed wheel: pass --event-log-dir with a folder of event logs")
        code = max(_run_collect(ctx, source, False, None, "text") for source in sources)
        _run_analysis(ctx)
        from rich.table import Table

        from spark_optimizer.rules.model import finding_order
        from spark_optimizer.tables import APP_METRICS, APPLICATIONS, FINDINGS

        metrics = {(r["app_id"], r["attempt_id"]): r for r in ctx.store.read_arrow(APP_METRICS).to_pylist()}
        findings: dict = {}
        for f in sorted(ctx.store.read_arrow(FINDINGS).to_pylist(), key=finding_order):
            findings.setdefault((f["app_id"], f["attempt_id"]), []).append(f)
        table = Table("app_id", "name", "spark", "platform", "duration s", "executors", "tasks", "failed",
                      "bottleneck", "findings", "most severe finding", title=f"applications in {ctx.settings.warehouse}")
        for row in sorted(ctx.store.read_arrow(APPLICATIONS).to_pylist(), key=lambda r: r["start_time_ms"] or 0):
            key = (row["app_id"], row["attempt_id"])
            top = findings.get(key, [])
            table.add_row(row["app_id"] + (f"/{row['attempt_id']}" if row["attempt_id"] else ""), (row["app_name"] or "")[:28],
                          row["spark_version"], row["platform"], f"{(row['duration_ms'] or 0) / 1000:.1f}",
                          str(row["executors_added"]), str(row["task_count"]), str(row["failed_task_count"]),
                          (metrics.get(key) or {}).get("bottleneck") or "-", str(len(top)),
                          f"{top[0]['severity']}: {top[0]['title']}" if top else "-")
        stdout.print(table)
        _quickstart_recommendation(ctx)
        stdout.print("next: spark-optimizer analyze APP_ID --warehouse " + ctx.settings.warehouse)
        raise typer.Exit(code)
    except SparkOptimizerError as error:
        _fail(error)


def _quickstart_recommendation(ctx) -> None:
    from spark_optimizer.recommender.lookup import lookup
    from spark_optimizer.recommender.pipeline import train_and_build
    from spark_optimizer.recommender.render import recommendation_view

    trained, built = train_and_build(ctx.spark, ctx.store, ctx.settings, datetime.now(timezone.utc))
    console.print(f"trained on {trained.runs} runs of {trained.signatures} job signature(s); built {built.signature_rows} "
                  f"signature and {built.job_type_rows} job-type recommendation(s)")
    from spark_optimizer.recommender.lookup import latest_build, read_rows

    rows = [r for r in latest_build(read_rows(ctx.settings)) if r["level"] == "signature"]
    # Show the job with the most evidence: most runs, then the largest input (a size its curve can scale).
    best = max(rows, key=lambda r: (r["run_count"] or 0, r["input_bytes"] or 0, r["confidence"]))
    stdout.print(recommendation_view(lookup(ctx.settings, signature=best["job_signature"])))
    stdout.print(f"next: spark-optimizer recommend --job-type {best['job_type']} --input-size 10GB --warehouse {ctx.settings.warehouse}")


def _run_analysis(ctx, only=None) -> int:
    from spark_optimizer.analysis.analyze import analyze_applications

    summary = analyze_applications(ctx.spark, ctx.store, datetime.now(timezone.utc), only=only)
    console.print(f"analyzed {len(summary.analyzed)} application attempt(s); {summary.findings} finding(s)")
    if summary.skipped:
        console.print(summary.skipped_line())
    return len(summary.analyzed)


@app.command()
def analyze(
    app_ref: Annotated[Optional[str], typer.Argument(metavar="[APP_ID[/ATTEMPT]]", help="Omit to analyze every new application.")] = None,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    executors: Annotated[Optional[str], typer.Option(help="What-if executor counts, e.g. 1,2,4,8.")] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Re-run the analysis even if it exists.")] = False,
) -> None:
    """Explain one application (summary, bottleneck, findings with config changes, what-if), or
    analyze every application ingested since the last analysis."""
    from spark_optimizer.analysis.report import build_app_report, is_analyzed, merged_conf, resolve_attempt
    from spark_optimizer.cli_render import app_report

    if output_format not in ("text", "json"):
        _fail(ValueError(f"--format must be text or json, not {output_format!r}"))
    try:
        counts = [int(x) for x in executors.split(",")] if executors else None
    except ValueError:
        _fail(ValueError(f"--executors takes comma-separated whole numbers such as 1,2,4,8, not {executors!r}"))
    try:
        settings = load_settings(conf, warehouse=warehouse)
        if app_ref is None:
            from spark_optimizer.context import AppContext

            _run_analysis(AppContext(settings))
            return
        store = _arrow_store(settings)
        app_id, attempt_id = resolve_attempt(store, app_ref)
        if refresh or not is_analyzed(store, app_id, attempt_id):
            from spark_optimizer.context import AppContext

            ctx = AppContext(settings)
            _run_analysis(ctx, only=[(app_id, attempt_id)])
        report = build_app_report(store, app_id, attempt_id, counts)
    except SparkOptimizerError as error:
        _fail(error)
    if output_format == "json":
        print(json.dumps({**report, "spark_submit_conf": merged_conf(report)}, indent=2, default=str))
    else:
        stdout.print(app_report(report, merged_conf(report)))


@app.command("jobs")
def list_jobs(
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    name: Annotated[Optional[str], typer.Option(help="Substring of the app name or id.")] = None,
    status: Annotated[Optional[str], typer.Option(help="completed or incomplete.")] = None,
    platform: Annotated[Optional[str], typer.Option(help="databricks, emr, dataproc, kubernetes, yarn, standalone, local.")] = None,
    since: Annotated[Optional[str], typer.Option(help="Started on or after (YYYY-MM-DD).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Started before (YYYY-MM-DD).")] = None,
    min_duration: Annotated[Optional[str], typer.Option(help="Only runs at least this long, e.g. 10m.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    output_format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """List ingested applications, newest first (no JVM)."""
    from spark_optimizer.analysis.report import list_applications
    from spark_optimizer.cli_render import jobs_table
    from spark_optimizer.units import parse_date, parse_duration_ms

    try:
        since_ms = int(parse_date(since).timestamp() * 1000) if since else None
        until_ms = int(parse_date(until).timestamp() * 1000) if until else None
        duration_ms = parse_duration_ms(min_duration) if min_duration else None
    except ValueError as error:
        _fail(error)
    if status and status not in ("completed", "incomplete"):
        _fail(ValueError(f"--status must be completed or incomplete, not {status!r}"))
    try:
        rows = list_applications(_arrow_store(load_settings(conf, warehouse=warehouse)), name, status, platform,
                                 since_ms, until_ms, duration_ms, limit)
    except SparkOptimizerError as error:
        _fail(error)
    if output_format == "json":
        print(json.dumps(rows, indent=2, default=str))
    else:
        stdout.print(jobs_table(rows))

@app.command()
def train(
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    folds: Annotated[int, typer.Option(help="Validation folds (configurations held out together).")] = 3,
) -> None:
    """Refresh features and runs, train the runtime and resource models, log them to MLflow."""
    from spark_optimizer.ml.train import train_models

    from spark_optimizer.tables import APPLICATIONS

    try:
        ctx = _context(warehouse, conf)
        if ctx.store.exists(APPLICATIONS):  # a warehouse may hold external runs only (add-runs)
            _run_analysis(ctx)
        summary = train_models(ctx.spark, ctx.store, ctx.settings, datetime.now(timezone.utc), folds=folds)
    except (SparkOptimizerError, ValueError) as error:
        _fail(error)
    from spark_optimizer.cli_render import train_summary

    stdout.print(train_summary(summary, ctx.settings.resolved_mlflow_tracking_uri()))
    stdout.print(summary.skipped_line())


@app.command("add-runs")
def add_runs_command(
    runs_file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV/TSV/Parquet file or Delta table directory of runs.")],
    mapping: Annotated[str, typer.Option(help="Column mapping: a built-in name (c3o) or a TOML/JSON mapping file (docs/models.md).")],
    job: Annotated[Optional[str], typer.Option(help="Job name of every run (default: the mapping's, else the file's stem).")] = None,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
) -> None:
    """Add run histories from outside the event logs (benchmarks, other clusters) to the runs table; the next
    `train` learns from them. Machine types resolve through the pricing catalogue. No JVM."""
    from spark_optimizer.ml.external_runs import add_runs_file

    try:
        summary = add_runs_file(_arrow_store(load_settings(conf, warehouse=warehouse)), runs_file, mapping,
                                datetime.now(timezone.utc), job=job)
    except (SparkOptimizerError, ValueError, OSError) as error:
        _fail(error)
    stdout.print(summary.line(str(runs_file)))


@app.command()
def similar(
    app_ref: Annotated[str, typer.Argument(metavar="APP_ID[/ATTEMPT]")],
    k: Annotated[int, typer.Option("-k", help="How many runs to list.")] = 5,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    output_format: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """List the k historical runs most similar to one application, with what differed."""
    from spark_optimizer.analysis.report import resolve_attempt
    from spark_optimizer.ml.similarity import similar_runs

    if output_format not in ("text", "json"):
        _fail(ValueError(f"--format must be text or json, not {output_format!r}"))
    try:
        ctx = _context(warehouse, conf)
        app_id, attempt_id = resolve_attempt(_arrow_store(ctx.settings), app_ref)
        _run_analysis(ctx)
        target, neighbours = similar_runs(ctx.spark, ctx.store, app_id, attempt_id, k, datetime.now(timezone.utc))
    except (SparkOptimizerError, ValueError) as error:
        _fail(error)
    rows = [{"app_id": n["app_id"], "attempt_id": n["attempt_id"], "app_name": n["app_name"], "job_signature": n["job_signature"],
             "similarity": round(n["similarity"], 4), "distance": round(n["distance"], 4), "wall_s": (n["wall_ms"] or 0) / 1000,
             "differences": n["differences"]} for n in neighbours]
    if output_format == "json":
        print(json.dumps({"app_id": app_id, "attempt_id": attempt_id, "job_signature": target["job_signature"], "similar": rows}, indent=2, default=str))
    else:
        from spark_optimizer.cli_render import similar_table

        stdout.print(similar_table(target, rows))


@app.command("report")
def report_command(
    app_ref: Annotated[Optional[str], typer.Argument(metavar="[APP_ID[/ATTEMPT]]", help="The application to report on.")] = None,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    app_name: Annotated[Optional[str], typer.Option("--app-name", help="Instead of APP_ID: every run with this app name, over time.")] = None,
    signature: Annotated[Optional[str], typer.Option("--signature", help="Instead of APP_ID: every run of this job signature (or unique prefix), over time.")] = None,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    executors: Annotated[Optional[str], typer.Option(help="What-if executor counts, e.g. 1,2,4,8.")] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Re-run the analysis even if it exists.")] = False,
) -> None:
    """Write a self-contained HTML report with plots for one application (analyzes it first if needed),
    or for the runs of one application name (--app-name) or job signature (--signature) over time."""
    from spark_optimizer.analysis.report import is_analyzed, resolve_attempt
    from spark_optimizer.report_html import (
        app_report_html, runs_named, runs_with_signature, signature_trend_html, trend_report_html,
    )

    if sum(x is not None for x in (app_ref, app_name, signature)) != 1:
        _fail(ValueError("give either an application id (APP_ID or APP_ID/ATTEMPT), --app-name NAME or --signature SIGNATURE"))
    try:
        counts = [int(x) for x in executors.split(",")] if executors else None
    except ValueError:
        _fail(ValueError(f"--executors takes comma-separated whole numbers such as 1,2,4,8, not {executors!r}"))
    try:
        settings = load_settings(conf, warehouse=warehouse)
        store = _arrow_store(settings)
        if signature is not None:
            signature, keys = runs_with_signature(store, signature)
        else:
            keys = [resolve_attempt(store, app_ref)] if app_ref else runs_named(store, app_name)
        pending = [key for key in keys if refresh or not is_analyzed(store, *key)]
        if pending:
            from spark_optimizer.context import AppContext

            _run_analysis(AppContext(settings), only=pending)
        now = datetime.now(timezone.utc)
        if signature is not None:
            page = signature_trend_html(store, signature, keys, now)
        else:
            page = app_report_html(store, *keys[0], now, counts) if app_ref else trend_report_html(store, app_name, now)
    except SparkOptimizerError as error:
        _fail(error)
    out.write_text(page, encoding="utf-8")
    console.print(f"wrote {out} ({len(page) // 1024} KB)")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to bind; 0.0.0.0 exposes the API to the network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8080,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
) -> None:
    """Serve the REST API (pip extra 'api') over the warehouse; OpenAPI document at /openapi.json, docs at /docs.
    The API key comes from the settings (api_key, env SPARK_OPTIMIZER_API_KEY), never from the command line."""
    try:
        import uvicorn

        from spark_optimizer.api import create_app
    except ImportError as error:
        _fail(ImportError(f"the REST API needs the 'api' extra (pip install 'spark-optimizer[api]'): {error}"))
    try:
        settings = load_settings(conf, warehouse=warehouse)
    except SparkOptimizerError as error:
        _fail(error)
    console.print(f"serving {settings.warehouse} on http://{host}:{port} (docs: /docs)"
                  + ("; X-API-Key required for " + ("every endpoint" if settings.api_key_all else "writes") if settings.api_key else ""))
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


def _run_cloud_collector(collect, warehouse: str | None, conf: Path | None, link: bool) -> None:
    """Run one cloud collector (`collect(store, now)`), link ingested applications, print what happened."""
    from spark_optimizer.collectors.cloud_store import report_lines
    from spark_optimizer.collectors.linking import collect_and_link

    try:
        summary = collect_and_link(_arrow_store(load_settings(conf, warehouse=warehouse)), collect,
                                   datetime.now(timezone.utc), link)
    except SparkOptimizerError as error:
        _fail(error)
    for line in report_lines(summary):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(summary.exit_code)


SinceOption = Annotated[Optional[int], typer.Option(help="Only what was created/started after this epoch ms (default: the stored watermark).")]
RetriesOption = Annotated[int, typer.Option(help="Retries of throttled or failed calls (exponential backoff).")]
LinkOption = Annotated[bool, typer.Option("--link/--no-link", help="Link ingested Spark applications to the clusters and runs.")]


@app.command("collect-from-emr")
def collect_from_emr_command(
    region: Annotated[str, typer.Option("--region", help="AWS region, e.g. us-west-2.")],
    profile: Annotated[Optional[str], typer.Option(help="AWS profile (default: boto3's credential chain).")] = None,
    endpoint_url: Annotated[Optional[str], typer.Option(help="EMR endpoint (VPC endpoint); default: AWS's.")] = None,
    cluster_id: Annotated[Optional[list[str]], typer.Option(help="Only this cluster (repeatable), ignoring the watermark.")] = None,
    since_ms: SinceOption = None,
    retries: RetriesOption = 5,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 30.0,
    link: LinkOption = True,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
) -> None:
    """Collect EMR clusters, instance groups/fleets and steps (pip extra 'aws') into clusters, cluster_nodes, cluster_runs."""
    from spark_optimizer.collectors.emr import collect_from_emr

    _run_cloud_collector(lambda store, now: collect_from_emr(
        store, region, now, profile=profile, endpoint_url=endpoint_url, since_ms=since_ms, cluster_ids=cluster_id or None,
        retries=retries, timeout_s=timeout), warehouse, conf, link)


@app.command("collect-from-databricks")
def collect_from_databricks_command(
    workspace_url: Annotated[Optional[str], typer.Option(help="Workspace URL (default: DATABRICKS_HOST or the profile's host).")] = None,
    profile: Annotated[Optional[str], typer.Option(help="Profile of ~/.databrickscfg (default: the SDK's credential chain).")] = None,
    since_ms: SinceOption = None,
    runs: Annotated[bool, typer.Option("--runs/--no-runs", help="Collect job runs.")] = True,
    events: Annotated[bool, typer.Option("--events/--no-events", help="Collect cluster events.")] = True,
    retries: RetriesOption = 3,
    timeout: Annotated[int, typer.Option(help="Seconds the SDK keeps retrying a throttled call.")] = 60,
    deadline: Annotated[float, typer.Option(help="Seconds after which no call is retried (the whole collection's bound).")] = 300,
    link: LinkOption = True,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
) -> None:
    """Collect Databricks clusters, cluster events, node types and job runs into clusters, cluster_nodes, cluster_runs, cluster_events."""
    from spark_optimizer.collectors.databricks import collect_from_databricks

    _run_cloud_collector(lambda store, now: collect_from_databricks(
        store, now, workspace_url=workspace_url, profile=profile, since_ms=since_ms, runs=runs, events=events,
        retries=retries, retry_timeout_s=timeout, deadline_s=deadline), warehouse, conf, link)


@app.command("collect-from-dataproc")
def collect_from_dataproc_command(
    project: Annotated[str, typer.Option("--project", help="GCP project id.")],
    region: Annotated[str, typer.Option("--region", help="Dataproc region, e.g. us-central1.")],
    api_endpoint: Annotated[Optional[str], typer.Option(help="API endpoint (default: <region>-dataproc.googleapis.com).")] = None,
    since_ms: SinceOption = None,
    jobs: Annotated[bool, typer.Option("--jobs/--no-jobs", help="Collect jobs.")] = True,
    batches: Annotated[bool, typer.Option("--batches/--no-batches", help="Collect Dataproc Serverless batches.")] = True,
    retries: RetriesOption = 5,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 60.0,
    link: LinkOption = True,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
) -> None:
    """Collect Dataproc clusters, jobs and batches (pip extra 'gcp') into clusters, cluster_nodes, cluster_runs, cluster_events."""
    from spark_optimizer.collectors.dataproc import collect_from_dataproc

    _run_cloud_collector(lambda store, now: collect_from_dataproc(
        store, project, region, now, api_endpoint=api_endpoint, since_ms=since_ms, jobs=jobs, batches=batches,
        retries=retries, timeout_s=timeout), warehouse, conf, link)


@app.command("build-recommendations")
def build_recommendations_command(
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    train_first: Annotated[bool, typer.Option("--train/--no-train", help="Train the models first.")] = False,
) -> None:
    """Build the recommendations table from the trained curves, runs, findings and the pricing catalogue."""
    from spark_optimizer.recommender.build import build_recommendations

    try:
        ctx = _context(warehouse, conf)
        now = datetime.now(timezone.utc)
        if train_first:
            from spark_optimizer.ml.train import train_models

            _run_analysis(ctx)
            train_models(ctx.spark, ctx.store, ctx.settings, now)
        summary = build_recommendations(ctx.spark, ctx.store, ctx.settings, now)
    except (SparkOptimizerError, ValueError) as error:
        _fail(error)
    console.print(f"built {summary.signature_rows} signature and {summary.job_type_rows} job-type recommendation(s) at "
                  f"{summary.built_at:%Y-%m-%d %H:%M:%S} UTC; {summary.feedback_linked} ingested run(s) linked to a recommendation; "
                  f"{summary.skipped_line()}")


@app.command()
def recommend(
    input_size: Annotated[Optional[str], typer.Option("--input-size", help="Input size, e.g. 10GB (default for a job: its typical input).")] = None,
    job_type: Annotated[Optional[str], typer.Option("--job-type", help="etl, sql, ml, streaming, other.")] = None,
    app_name: Annotated[Optional[str], typer.Option("--app-name", help="A job by its application name.")] = None,
    signature: Annotated[Optional[str], typer.Option("--signature", help="A job by its signature (or a unique prefix).")] = None,
    deadline: Annotated[Optional[str], typer.Option("--deadline", help="Finish within, e.g. 30m (default objective: cheapest within it).")] = None,
    budget: Annotated[Optional[float], typer.Option("--budget", help="At most this much per run (default objective: fastest within it).")] = None,
    objective: Annotated[Optional[str], typer.Option("--objective", help="balanced, cheapest-within-deadline or fastest-within-budget.")] = None,
    cloud: Annotated[str, typer.Option("--cloud", help="aws, gcp, azure, databricks or all (side by side).")] = "aws",
    spot: Annotated[bool, typer.Option("--spot/--no-spot", help="Half the workers on spot/preemptible VMs.")] = False,
    output_format: Annotated[str, typer.Option("--format", help="table, json, spark-submit or databricks.")] = "table",
    pareto: Annotated[bool, typer.Option("--pareto", help="Also print the cost/runtime Pareto frontier.")] = False,
    candidates: Annotated[Optional[str], typer.Option("--candidates", help="Rank these configurations instead of searching: "
                          "a JSON list or CSV file with instance_type[, nodes, executors, executor_cores, executor_memory_mb, cloud].")] = None,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
) -> None:
    """Recommend a configuration for a job or job type at an input size (reads the table with delta-rs; no JVM)."""
    from spark_optimizer.recommender.lookup import as_json, lookup
    from spark_optimizer.units import parse_duration_ms, parse_size_bytes

    if output_format not in ("table", "json", "spark-submit", "databricks"):
        _fail(ValueError(f"--format must be table, json, spark-submit or databricks, not {output_format!r}"))
    try:
        size = parse_size_bytes(input_size) if input_size is not None else None
        deadline_s = parse_duration_ms(deadline) / 1000 if deadline is not None else None
        if budget is not None and budget <= 0:
            raise ValueError(f"--budget must be a positive amount, not {budget}")
        from spark_optimizer.recommender.lookup import read_candidates

        asked = read_candidates(candidates) if candidates is not None else None
        answer = lookup(load_settings(conf, warehouse=warehouse), input_bytes=size, job_type=job_type, signature=signature,
                        app_name=app_name, deadline_s=deadline_s, budget=budget, objective=objective, cloud=cloud, spot=spot,
                        candidates=asked)
    except (SparkOptimizerError, ValueError) as error:
        _fail(error)
    if output_format == "json":
        print(as_json(answer))
    elif output_format == "spark-submit":
        print(answer.row["spark_submit"])
    elif output_format == "databricks":
        print(answer.row["databricks_cluster"])
    else:
        from spark_optimizer.recommender.render import pareto_table, recommendation_view

        stdout.print(recommendation_view(answer))
        if answer.row.get("ranking"):
            from spark_optimizer.recommender.render import ranking_table

            stdout.print(ranking_table(answer))
        if pareto:
            stdout.print(pareto_table(answer))


@app.command()
def feedback(
    recommendation_id: Annotated[str, typer.Argument(metavar="RECOMMENDATION_ID")],
    runtime: Annotated[str, typer.Option("--runtime", help="How long the run took, e.g. 12m.")],
    cost: Annotated[Optional[float], typer.Option("--cost", help="What the run cost, in the catalogue's currency.")] = None,
    app_id: Annotated[Optional[str], typer.Option("--app-id", help="The run's application id, if known.")] = None,
    note: Annotated[Optional[str], typer.Option("--note")] = None,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
) -> None:
    """Record how a recommended run went; the next training uses it (no JVM)."""
    from spark_optimizer.recommender.feedback import record_feedback
    from spark_optimizer.units import parse_duration_ms

    try:
        record = record_feedback(load_settings(conf, warehouse=warehouse), recommendation_id, parse_duration_ms(runtime),
                                 datetime.now(timezone.utc), cost=cost, app_id=app_id, note=note)
    except (SparkOptimizerError, ValueError) as error:
        _fail(error)
    error_text = "" if record.runtime_error is None else f" ({record.runtime_error:+.0%} vs predicted {record.predicted_runtime_ms / 1000:.0f} s)"
    console.print(f"recorded {record.feedback_id}{error_text}"
                  + (f"; run {record.run_id} added to runs for the next training" if record.run_id else ""))


def main() -> None:
    code = 0
    try:
        app(prog_name="spark-optimizer")
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    # Native thread pools of delta-rs / Arrow can abort the interpreter's final teardown
    # ("terminate called without an active exception", delta-io/delta-rs#2184) after all work
    # is done, turning a success into exit 134; skip that teardown. The SparkContext is not
    # stopped here either: the driver JVM stops it from its own shutdown hook when it sees this
    # process end (PySpark's gateway exits on EOF of its stdin), and the command returns ~0.8 s
    # sooner than after an explicit stop() (measured on the 2-core host).
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
