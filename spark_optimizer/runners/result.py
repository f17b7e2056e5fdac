"""What a runner returns, and the exit codes every entry point shares."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from spark_optimizer.tables.instants import iso_utc

EXIT_OK = 0
EXIT_SOME_WORK_FAILED = 1
EXIT_USAGE = 2
EXIT_CODES = {
    EXIT_OK: "everything asked for was done",
    EXIT_SOME_WORK_FAILED: "the run finished, but some of its work failed (an event log, an application, a cluster: "
                           "each is named in the output, and the rest was done)",
    EXIT_USAGE: "nothing was done: a usage error, missing input (no such warehouse, file, application or table) "
                "or a refusal of the library; the message on stderr says what to do",
}


@dataclass(frozen=True)
class RunResult:
    """`summary`: the library's own summary object. `data`: the JSON a program reads (`--format json`).
    `lines`: what a person reads, the result last. `exit_code`: EXIT_OK or EXIT_SOME_WORK_FAILED."""

    summary: Any
    data: dict
    lines: tuple[str, ...] = field(default=())
    exit_code: int = EXIT_OK

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def json_safe(value: Any) -> Any:
    """Data as the CLI's `--format json` and the REST API both write it: NaN and infinities become
    null (JSON has neither), dates and times ISO strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def json_text(data: Any) -> str:
    """The JSON text the CLI and the spark-submit jobs print for `--format json`."""
    return json.dumps(json_safe(data), indent=2, default=str)
