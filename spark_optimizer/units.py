"""Strict parsing of human durations, data sizes and dates given on the command line."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from spark_optimizer.spark_rules import BYTE_SUFFIX_POWER

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)\s*$", re.I)
_DURATION_MS = {"ms": 1, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration_ms(text: str) -> int:
    """'90s', '10m', '1.5h', '250ms' -> milliseconds; anything else is refused with the accepted forms."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a duration; use a number and a unit: 250ms, 90s, 10m, 1.5h, 2d")
    return int(float(match.group(1)) * _DURATION_MS[match.group(2).lower()])


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:([kmgtp])i?)?b\s*$", re.I)


def parse_size_bytes(text: str) -> int:
    """'10GB', '512MiB', '1.5TB' -> bytes. Units are binary whichever way they are written: 1 GB = 1 GiB =
    1024^3 bytes, as Spark's own '1g', the Spark UI and the recommendations' size bands count; a unit is
    required, anything else is refused with the accepted forms."""
    match = _SIZE.match(text or "")
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a data size; use a positive number and a unit: 512MB, 10GB, 1.5TB "
                         "(binary: 1 GB = 1 GiB = 1024^3 bytes)")
    return int(float(match.group(1)) * 1024 ** BYTE_SUFFIX_POWER[(match.group(2) or "b").lower()])


def parse_date(text: str) -> datetime:
    """'2026-11-24' or an ISO date-time (UTC unless it says otherwise)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
