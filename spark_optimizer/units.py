"""Strict parsing of human durations and dates given on the command line."""

from __future__ import annotations

import re
from datetime import datetime, timezone

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)\s*$", re.I)
_DURATION_MS = {"ms": 1, "s": 1000, "m": 60_000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}


def parse_duration_ms(text: str) -> int:
    """'90s', '10m', '1.5h', '250ms' -> milliseconds; anything else is refused with the accepted forms."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(f"{text!r} is not a duration; use a number and a unit: 250ms, 90s, 10m, 1.5h, 2d")
    return int(float(match.group(1)) * _DURATION_MS[match.group(2).lower()])


def parse_date(text: str) -> datetime:
    """'2026-11-24' or an ISO date-time (UTC unless it says otherwise)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
