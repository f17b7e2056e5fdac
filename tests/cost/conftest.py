"""Fixtures for the cost model: the real pricing catalogue, and a small synthetic cloud whose
round numbers make hand computations obvious (and whose TOML the validation tests mutate)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spark_optimizer.cost import load_pricing_catalogue

# A valid one-cloud pricing file. Tests replace single lines to break one field at a time.
TOY_CLOUD = """\
schema_version = 1
cloud = "toy"
platform = "Toy cloud (YARN)"
region = "toy-east-1"
currency = "USD"
as_of = 2026-11-24
sources = ["https://example.invalid/toy-pricing (invented round numbers for tests)"]

[billing]
increment_s = 1
minimum_s = 60

[driver]
placement = "master"

[reserve]
cores = 0
memory_fraction = 0.25
memory_max_gib = 8.0

[spot]
price_fraction_of_on_demand = 0.5
interruption_rate_per_hour = 0.01

[platform_fee]
kind = "per_instance"

[[instances]]
name = "small"
vcpus = 4
memory_gib = 16
on_demand_hourly = 1.0
spot_hourly = 0.25
platform_fee_hourly = 0.1

[[instances]]
name = "big"
vcpus = 8
memory_gib = 64
on_demand_hourly = 3.0
platform_fee_hourly = 0.2
"""

TOY_DATABRICKS = """\
schema_version = 1
provider = "databricks"
platform = "Databricks classic compute"
currency = "USD"
as_of = 2026-11-24
sources = ["https://example.invalid/toy-dbu (invented)"]
default_host = "toy"
default_tier = "jobs"
serverless_tiers = ["jobs_serverless"]

[driver]
placement = "dedicated"

[reserve]
memory_fraction = 0.25
memory_max_gib = 8.0

[hosts.toy]
plan = "Premium"
region = "toy-east-1"

[hosts.toy.dbu_rates]
jobs = 0.5
all_purpose = 1.0
jobs_serverless = 2.0

[[hosts.toy.node_types]]
name = "small"
dbu_per_hour = 1.0

[[hosts.toy.node_types]]
name = "big"
dbu_per_hour = 2.0
"""


@pytest.fixture(scope="session")
def catalogue():
    """The repository's real catalogue, conf/pricing/."""
    return load_pricing_catalogue()


def write_pricing(folder: Path, cloud: str = TOY_CLOUD, databricks: str | None = TOY_DATABRICKS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "toy.toml").write_text(cloud)
    if databricks is not None:
        (folder / "databricks.toml").write_text(databricks)
    return folder


@pytest.fixture
def toy(tmp_path):
    """Catalogue with the toy cloud and its Databricks host `databricks-toy` (alias `databricks`)."""
    return load_pricing_catalogue(write_pricing(tmp_path / "pricing"))
