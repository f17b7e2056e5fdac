"""Commands that learn from the runs: train, add-runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from spark_optimizer.cli.common import (
    ConfOption, FormatOption, WarehouseOption, context, emit, run_and_emit, stdout, usage_errors,
)

app = typer.Typer(help="Learn from the runs.")


@app.command()
def train(
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    folds: Annotated[int, typer.Option(help="Validation folds (configurations held out together).", min=2)] = 3,
    output_format: FormatOption = "text",
) -> None:
    """Refresh features and runs, train the runtime and resource models, log them to MLflow."""
    ctx = context(warehouse, conf)
    with usage_errors():
        result = ctx.train.run(folds=folds)
    if output_format == "json":
        emit(result, output_format)
    from spark_optimizer.cli_render import train_summary

    stdout.print(train_summary(result.summary, ctx.settings.resolved_mlflow_tracking_uri()))
    stdout.print(result.summary.skipped_line())


@app.command("add-runs")
def add_runs(
    runs_file: Annotated[Path, typer.Argument(metavar="FILE", help="CSV/TSV/Parquet file or Delta table directory of runs.")],
    mapping: Annotated[str, typer.Option(help="Column mapping: a built-in name (c3o) or a TOML/JSON mapping file (docs/models.md).")],
    job: Annotated[Optional[str], typer.Option(help="Job name of every run (default: the mapping's, else the file's stem).")] = None,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    output_format: FormatOption = "text",
) -> None:
    """Add run histories from outside the event logs (benchmarks, other clusters) to the runs table; the next
    `train` learns from them. Machine types resolve through the pricing catalogue. No JVM."""
    run_and_emit(warehouse, conf, output_format, lambda ctx: ctx.add_runs.run(runs_file, mapping, job))
