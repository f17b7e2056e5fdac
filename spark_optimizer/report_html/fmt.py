"""Human-readable numbers shared by the page and the plots."""

from __future__ import annotations

from typing import Any

BYTE_UNITS = ((1024**4, "TiB"), (1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB"))


def duration(ms: Any) -> str:
    """8.6 s, 4 min 47 s, 2 h 5 min; '-' when unknown."""
    if ms is None:
        return "-"
    seconds = ms / 1000
    if seconds < 120:
        return f"{seconds:,.1f} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def byte_unit(num_bytes: float) -> tuple[int, str]:
    """The largest binary unit not above `num_bytes` (for an axis or a value)."""
    for scale, unit in BYTE_UNITS:
        if abs(num_bytes) >= scale:
            return scale, unit
    return 1, "B"


def size(num_bytes: Any) -> str:
    if num_bytes is None:
        return "-"
    scale, unit = byte_unit(num_bytes)
    return f"{num_bytes:,} B" if scale == 1 else f"{num_bytes / scale:,.1f} {unit}"


def pct(x: Any) -> str:
    """A share as a percentage; a null share is "unknown" (not logged, or the log's figures disagree)."""
    return "unknown" if x is None else f"{x:.1%}"


def number(x: Any, digits: int = 2) -> str:
    if x is None:
        return "-"
    return f"{x:,}" if isinstance(x, int) else f"{x:,.{digits}f}"
