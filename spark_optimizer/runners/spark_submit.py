"""What every spark-submit entry point in jobs/ shares: the warehouse/settings/format arguments,
the context built from them, and the result printed to the driver's stdout."""

from __future__ import annotations

import argparse

from spark_optimizer.runners.result import RunResult, json_text


def job_parser(doc: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("--warehouse", help="warehouse root (default: the settings' warehouse)")
    parser.add_argument("--conf", help="settings file")
    parser.add_argument("--format", choices=("text", "json"), default="text", dest="output_format")
    return parser


def job_context(args: argparse.Namespace):
    from spark_optimizer.config import load_settings
    from spark_optimizer.context import AppContext

    return AppContext(load_settings(args.conf, warehouse=args.warehouse))


def print_result(result: RunResult, output_format: str = "text") -> int:
    """The result on stdout (its lines, or its JSON); the exit code."""
    text = json_text(result.data) if output_format == "json" else result.text
    print(text, flush=True)
    return result.exit_code


def add_since(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--since", help=f"only {what} after this date or ISO date-time, UTC (default: the stored watermark)")
    parser.add_argument("--since-ms", type=int, help=argparse.SUPPRESS)  # the older spelling, epoch ms


def since_ms(args: argparse.Namespace) -> int | None:
    from spark_optimizer.runners.jobs import time_ms

    return time_ms(args.since, args.since_ms)
