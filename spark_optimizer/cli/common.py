"""What every command shares: the warehouse/settings options, one `--format`, errors as exit 2,
results on stdout and progress on stderr, and Spark/MLflow noise off unless `--verbose`."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Callable, Iterator, NoReturn, Optional

import typer

from spark_optimizer.config import load_settings
from spark_optimizer.errors import SparkOptimizerError
from spark_optimizer.runners.result import EXIT_USAGE, RunResult, json_text

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

WarehouseOption = Annotated[
    Optional[str], typer.Option("--warehouse", help="Warehouse root (env SPARK_OPTIMIZER_WAREHOUSE).")
]
ConfOption = Annotated[Optional[Path], typer.Option("--conf", help="Settings file (env SPARK_OPTIMIZER_CONF).")]
FORMATS = ("text", "json")


def _check_format(value: str) -> str:
    if value not in FORMATS:
        raise typer.BadParameter(f"text or json, not {value!r}")
    return value


FormatOption = Annotated[str, typer.Option("--format", help="text or json (results on stdout).", callback=_check_format)]
SinceOption = Annotated[Optional[str], typer.Option(
    "--since", help="Only what ended/was created after this date or ISO date-time, UTC (default: the stored watermark).")]
SinceMsOption = Annotated[Optional[int], typer.Option("--since-ms", hidden=True, help="--since as epoch ms (older spelling).")]
TimeoutOption = Annotated[float, typer.Option("--timeout", help="Seconds per request.")]

verbosity = {"verbose": False}


def quiet_libraries() -> None:
    """MLflow's notices, scikit-learn's and PySpark's warnings off: a command prints its result and
    its own progress only (`--verbose` keeps them)."""
    for name in ("mlflow", "py4j", "alembic", "urllib3", "databricks.sdk", "botocore", "google"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def fail(error: Exception) -> NoReturn:
    console.print(f"[bold red]error:[/] {error}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_USAGE)


@contextmanager
def usage_errors() -> Iterator[None]:
    """A refusal of the library (SparkOptimizerError), a bad value (ValueError) or a missing file
    (OSError) ends the command with its message on stderr and exit code 2."""
    try:
        yield
    except (SparkOptimizerError, ValueError, OSError) as error:
        fail(error)


def settings(warehouse: str | None, conf: Path | None, master: str | None = None):
    with usage_errors():
        return load_settings(conf, warehouse=warehouse, spark_master=master)


def context(warehouse: str | None, conf: Path | None, master: str | None = None):
    from spark_optimizer.context import AppContext

    return AppContext(settings(warehouse, conf, master), log_level=None if verbosity["verbose"] else "ERROR")


def run_and_emit(warehouse: str | None, conf: Path | None, output_format: str, work: Callable[..., RunResult]) -> NoReturn:
    """`work(context)` with the library's refusals as exit 2, then its result on stdout and its exit code."""
    ctx = context(warehouse, conf)
    with usage_errors():
        result = work(ctx)
    emit(result, output_format)


def emit(result: RunResult, output_format: str) -> NoReturn:
    """The result on stdout (its lines, or its JSON) and its exit code."""
    if output_format == "json":
        print_json(result.data)
    elif result.lines:
        print(result.text)
    raise typer.Exit(result.exit_code)


def print_json(data: object) -> None:
    """The same JSON as the REST API's (spark_optimizer.runners.result.json_safe)."""
    print(json_text(data))


def since_ms(since: str | None, since_ms_value: int | None) -> int | None:
    from spark_optimizer.runners.jobs import time_ms

    with usage_errors():
        return time_ms(since, since_ms_value)


def executor_counts(text: str | None) -> list[int] | None:
    try:
        return [int(x) for x in text.split(",")] if text else None
    except ValueError:
        fail(ValueError(f"--executors takes comma-separated whole numbers such as 1,2,4,8, not {text!r}"))
