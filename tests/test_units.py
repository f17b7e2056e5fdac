"""Sizes, durations and dates given on the command line, the SDK and the API.

A data size's unit is binary however it is written (GB = GiB = 1024^3 bytes): the recommendations'
size bands, the sizes they print, Spark's own '1g' and the Spark UI all count that way, and the
error message says so."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from spark_optimizer.units import parse_date, parse_duration_ms, parse_size_bytes

GIB = 1024**3


@pytest.mark.parametrize("text, expected", [
    ("10GB", 10 * GIB), ("10GiB", 10 * GIB), ("10 gb", 10 * GIB), ("512MB", GIB // 2), ("512 MiB", GIB // 2),
    ("1.5TB", 1536 * GIB), ("2KiB", 2048), ("100B", 100), ("1PB", 1024**5),
])
def test_sizes_are_binary_whichever_way_the_unit_is_written(text, expected):
    assert parse_size_bytes(text) == expected


@pytest.mark.parametrize("text", ["10", "10G", "10iB", "0GB", "-1GB", "GB", "10 GBs", "ten GB", ""])
def test_a_size_without_a_known_unit_or_not_positive_is_refused_with_the_accepted_forms(text):
    with pytest.raises(ValueError, match=r"512MB, 10GB, 1\.5TB \(binary: 1 GB = 1 GiB = 1024\^3 bytes\)"):
        parse_size_bytes(text)


def test_durations_and_dates():
    assert parse_duration_ms("1.5h") == 5_400_000 and parse_duration_ms("250ms") == 250
    assert parse_date("2026-11-24") == datetime(2026, 11, 24, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration_ms("soon")
