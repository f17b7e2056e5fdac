"""`spark-optimizer` command line: one Typer sub-app per group of commands, each command a thin
wrapper over one runner (spark_optimizer/runners).

Every command that prints a result takes `--format text|json` (`recommend` also spark-submit and
databricks) and prints it on stdout; progress and logs go to stderr, and Spark's, MLflow's and
scikit-learn's own log lines and warnings stay off unless `--verbose` comes before the command.
Times are dates or ISO date-times (`--since 2026-11-01`, `--until 2026-11-02T06:00`), UTC unless
they name a zone; `--timeout` is always seconds per request. An application attempt is written
`APP_ID/ATTEMPT`, or `APP_ID` for its latest attempt, in arguments, tables, JSON (`ref`) and the
REST API. The JSON of `jobs` is the REST API's `GET /jobs` page, `{total, offset, limit, items}`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from spark_optimizer.cli import analysis, collect, models, recommend
from spark_optimizer.cli.common import (
    ConfOption, FormatOption, WarehouseOption, console, context, emit, fail, quiet_libraries, settings, stdout,
    usage_errors, verbosity,
)
from spark_optimizer.errors import ConfigurationError

app = typer.Typer(help="Learns from past Spark runs and recommends the resources for the next one.", no_args_is_help=True)
for group in (collect.app, analysis.app, models.app, recommend.app):
    app.add_typer(group)

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_LOGS = REPO_ROOT / "samples" / "eventlogs"
# Runs of two corpus workloads at several configurations and sizes, so the models have a job to learn.
SAMPLE_RUNS = REPO_ROOT / "samples" / "runs"


def _print_version(value: bool) -> None:
    if value:
        from spark_optimizer import __version__

        print(f"spark-optimizer {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the spark-optimizer version and exit.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Keep Spark's, MLflow's and scikit-learn's own log lines and warnings.")] = False,
) -> None:
    """Learns from past Spark runs and recommends the resources for the next one."""
    verbosity["verbose"] = verbose
    if not verbose:
        quiet_libraries()


@app.command()
def quickstart(
    warehouse: WarehouseOption = None,
    event_log_dir: Annotated[Optional[str], typer.Option("--event-log-dir", help="Defaults to the bundled samples.")] = None,
    output_format: FormatOption = "text",
) -> None:
    """Run the main job end to end on the bundled sample logs (samples/eventlogs and samples/runs) with the embedded defaults:
    ingest, analyze, train, build recommendations, and print what was found and one recommendation."""
    if not event_log_dir and not SAMPLE_LOGS.is_dir():
        fail(ConfigurationError(f"the bundled samples ({SAMPLE_LOGS}) are in the source repository, not in an "
                                "installed wheel: pass --event-log-dir with a folder of event logs"))
    ctx = context(warehouse, None)
    sources = [event_log_dir] if event_log_dir else [str(SAMPLE_LOGS), str(SAMPLE_RUNS)]
    collected = [collect.run_collect(ctx, source, live=output_format == "text") for source in sources]
    from spark_optimizer.runners.result import RunResult

    with usage_errors():
        built = ctx.main_job.run()
    result = RunResult(built.summary, {**built.data, "ingest": [c.data for c in collected]},
                       (*(line for c in collected for line in c.lines), *built.lines),
                       max(built.exit_code, *(c.exit_code for c in collected)))
    if output_format == "json":
        emit(result, output_format)
    print(result.text)
    from spark_optimizer.cli_render import applications_table, quickstart_pick
    from spark_optimizer.recommender.render import recommendation_view

    stdout.print(applications_table(ctx.arrow_store, ctx.settings.warehouse))
    best = quickstart_pick(ctx.settings)
    stdout.print(recommendation_view(ctx.recommend.run(signature=best["job_signature"]).summary))
    stdout.print(f"next: spark-optimizer analyze APP_ID --warehouse {ctx.settings.warehouse}")
    stdout.print(f"next: spark-optimizer recommend --job-type {best['job_type']} --input-size 10GB --warehouse {ctx.settings.warehouse}")
    raise typer.Exit(result.exit_code)


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
        fail(ImportError(f"the REST API needs the 'api' extra (pip install 'spark-optimizer[api]'): {error}"))
    served = settings(warehouse, conf)
    console.print(f"serving {served.warehouse} on http://{host}:{port} (docs: /docs)"
                  + ("; X-API-Key required for " + ("every endpoint" if served.api_key_all else "writes") if served.api_key else ""))
    uvicorn.run(create_app(served), host=host, port=port, log_level="info")


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
