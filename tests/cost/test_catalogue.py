"""The pricing catalogue: the shipped files load, carry their published numbers, and every broken
field is refused with the file and field named."""

from __future__ import annotations

import re
import tomllib
from datetime import date

import pytest

from spark_optimizer.cost import (
    DEFAULT_PRICING_DIR,
    CatalogueLookupError,
    PricingCatalogueError,
    load_pricing_catalogue,
)
from spark_optimizer.errors import ConfigurationError
from tests.cost.conftest import TOY_CLOUD, TOY_DATABRICKS, write_pricing

# ---- the shipped catalogue --------------------------------------------------------------------


def test_every_provider_file_is_dated_sourced_and_in_usd(catalogue):
    assert {p.name for p in DEFAULT_PRICING_DIR.glob("*.toml")} == {"aws.toml", "gcp.toml", "azure.toml", "databricks.toml"}
    assert set(catalogue.clouds) == {"aws", "gcp", "azure", "databricks-aws", "databricks-azure", "databricks-gcp"}
    for provider in catalogue.providers.values():
        assert isinstance(provider.as_of, date)
        assert provider.sources and all(re.match(r"https://", s) for s in provider.sources)
        assert provider.currency == "USD"
    assert {catalogue.provider(c).region for c in ("aws", "gcp", "azure")} == {"us-east-1", "us-central1", "eastus"}


def test_published_prices_are_the_ones_in_the_files(catalogue):
    m5 = catalogue.instance("aws", "m5.2xlarge")
    assert (m5.vcpus, m5.memory_gib, m5.on_demand_hourly, m5.platform_fee_hourly) == (8, 32, 0.384, 0.096)  # EC2 + EMR uplift
    r5 = catalogue.instance("aws", "r5.xlarge")
    assert (r5.on_demand_hourly, r5.platform_fee_hourly) == (0.252, 0.063)
    n2 = catalogue.instance("gcp", "n2-standard-4")
    assert n2.on_demand_hourly == pytest.approx(4 * 0.031611 + 16 * 0.004237)  # N2 per-vCPU + per-GB rates
    assert n2.platform_fee_hourly == pytest.approx(0.010 * 4)  # Dataproc: $0.010 per vCPU-hour
    assert catalogue.instance("azure", "Standard_E8s_v5").on_demand_hourly == 0.504
    assert catalogue.instance("azure", "Standard_E8s_v5").platform_fee_hourly == 0.0  # plain VMs, no platform fee


def test_derived_spot_prices_are_marked_as_estimates(catalogue):
    m5 = catalogue.instance("aws", "m5.xlarge")
    assert m5.spot_hourly == pytest.approx(0.192 * 0.50)  # [spot] price_fraction_of_on_demand
    assert "spot_hourly" in m5.estimated
    assert "on_demand_hourly" not in m5.estimated
    assert catalogue.instance("aws", "m5.8xlarge").estimated >= {"platform_fee_hourly"}


def test_databricks_hosts_reuse_vm_prices_without_the_emr_fee(catalogue):
    assert catalogue.provider("databricks").cloud == "databricks-aws"  # default_host alias
    node = catalogue.instance("databricks", "m5.xlarge")
    assert (node.on_demand_hourly, node.platform_fee_hourly, node.dbu_per_hour) == (0.192, 0.0, 0.69)
    assert "dbu_per_hour" in node.estimated
    azure = catalogue.provider("databricks-azure")
    assert (azure.dbu_rates["jobs"], azure.dbu_rates["all_purpose"]) == (0.30, 0.55)
    assert azure.billing_minimum_s == catalogue.provider("azure").billing_minimum_s
    assert catalogue.provider("databricks-aws").serverless_tiers == {"jobs_serverless", "sql_serverless"}


def test_billing_granularity_per_cloud(catalogue):
    for cloud in ("aws", "gcp"):
        provider = catalogue.provider(cloud)
        assert (provider.billing_increment_s, provider.billing_minimum_s) == (1, 60)
    assert catalogue.provider("azure").billing_minimum_s == 300 and catalogue.provider("azure").billing_estimated


def test_emr_reserve_reproduces_emr_yarn_memory_defaults(catalogue):
    # EMR task-configuration tables: yarn.nodemanager.resource.memory-mb per instance type.
    reserve = catalogue.provider("aws").reserve
    for name, yarn_mb in (("m5.xlarge", 12288), ("m5.2xlarge", 24576), ("m5.4xlarge", 57344), ("m5.8xlarge", 122880)):
        instance = catalogue.instance("aws", name)
        assert instance.memory_mb - reserve.memory_mb(instance.memory_gib) == yarn_mb


def test_lookups_list_what_exists(catalogue):
    with pytest.raises(CatalogueLookupError, match=r"no pricing for cloud 'oracle'.*known: aws, azure, databricks"):
        catalogue.provider("oracle")
    with pytest.raises(CatalogueLookupError, match=r"aws has no instance type 'm9.huge'.*c5.2xlarge"):
        catalogue.instance("aws", "m9.huge")
    with pytest.raises(CatalogueLookupError, match=r"no workload tier 'gold'; known: all_purpose, jobs"):
        catalogue.provider("databricks").resolve_tier("gold")


def test_default_path_and_explicit_folder_agree(tmp_path, toy):
    assert load_pricing_catalogue(DEFAULT_PRICING_DIR).clouds == load_pricing_catalogue().clouds
    assert toy.clouds == ("toy", "databricks-toy")
    assert toy.instance("toy", "big").spot_hourly == pytest.approx(1.5)  # 3.0 x fraction 0.5


# ---- validation: one broken field at a time ----------------------------------------------------


def _load_cloud(tmp_path, text, databricks=None):
    return load_pricing_catalogue(write_pricing(tmp_path / "p", text, databricks))


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("on_demand_hourly = 1.0", "on_demand_hourly = -1.0",
         r"toy\.toml: instances\[0\] \(small\)\.on_demand_hourly must be greater than 0, found -1\.0"),
        ("on_demand_hourly = 1.0", "on_demand_hourly = \"cheap\"",
         r"instances\[0\] \(small\)\.on_demand_hourly must be a number, found 'cheap'"),
        ("spot_hourly = 0.25", "spot_hourly = 2.0", r"instances\[0\] \(small\)\.spot_hourly must not exceed on_demand_hourly"),
        ("vcpus = 4\n", "vcpus = 0\n", r"instances\[0\] \(small\)\.vcpus must be an integer of at least 1, found 0"),
        ("vcpus = 4\n", "", r"instances\[0\] \(small\)\.vcpus must be an integer of at least 1, found nothing"),
        ("platform_fee_hourly = 0.1\n", "", r"instances\[0\] \(small\)\.platform_fee_hourly must be a number, found nothing"),
        ("memory_gib = 16\n", "memory_gb = 16\n", r"instances\[0\] \(small\) has unknown keys \['memory_gb'\] \(typo\?\)"),
        ("name = \"big\"", "name = \"small\"", r"instances\[1\]\.name 'small' appears twice"),
        ("as_of = 2026-11-24", "as_of = \"last week\"", r"toy\.toml: as_of must be a TOML date"),
        ("schema_version = 1", "schema_version = 7", r"schema_version must be 1, found 7"),
        ("currency = \"USD\"", "currency = \"dollars\"", r"currency must be an ISO 4217 code"),
        ("placement = \"master\"", "placement = \"anywhere\"", r"driver\.placement must be one of \['master', 'dedicated'\]"),
        ("minimum_s = 60", "minimum_s = -5", r"billing\.minimum_s must be an integer of at least 0, found -5"),
        ("price_fraction_of_on_demand = 0.5", "price_fraction_of_on_demand = 1.5",
         r"spot\.price_fraction_of_on_demand must be between 0\.0 and 1\.0, found 1\.5"),
        ("kind = \"per_instance\"", "kind = \"per_vcpu\"", r"platform_fee\.per_vcpu_hourly must be a number, found nothing"),
        ("sources = [\"https://example.invalid/toy-pricing (invented round numbers for tests)\"]", "sources = []",
         r"sources must list at least one source"),
        ("[reserve]\n", "[reserves]\n", r"top level has unknown keys \['reserves'\]"),
    ],
)
def test_a_broken_field_is_named_with_its_file(tmp_path, old, new, message):
    assert old in TOY_CLOUD
    with pytest.raises(PricingCatalogueError, match=message):
        _load_cloud(tmp_path, TOY_CLOUD.replace(old, new, 1))


def test_estimated_must_name_real_fields(tmp_path):
    text = TOY_CLOUD.replace("platform_fee_hourly = 0.2\n", "platform_fee_hourly = 0.2\nestimated = [\"price\"]\n")
    with pytest.raises(PricingCatalogueError, match=r"instances\[1\] \(big\)\.estimated names unknown fields \['price'\]"):
        _load_cloud(tmp_path, text)


def test_catalogue_errors_are_configuration_errors(tmp_path):
    with pytest.raises(ConfigurationError):
        _load_cloud(tmp_path, TOY_CLOUD.replace("vcpus = 4\n", "vcpus = -4\n"))


def test_invalid_toml_missing_folder_and_empty_folder(tmp_path):
    with pytest.raises(PricingCatalogueError, match=r"toy\.toml is not valid TOML"):
        _load_cloud(tmp_path, TOY_CLOUD + "\n[[instances]\n")
    with pytest.raises(PricingCatalogueError, match=r"does not exist"):
        load_pricing_catalogue(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(PricingCatalogueError, match=r"holds no \*\.toml pricing file"):
        load_pricing_catalogue(tmp_path / "empty")


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("region = \"toy-east-1\"", "region = \"toy-west-2\"",
         r"databricks\.toml: hosts\.toy\.region must match toy\.toml \('toy-east-1'\), found 'toy-west-2'"),
        ("name = \"big\"", "name = \"huge\"",
         r"hosts\.toy\.node_types\[1\] \(huge\)\.name is not an instance type of toy\.toml; add it there first"),
        ("dbu_per_hour = 2.0", "dbu_per_hour = 0", r"node_types\[1\] \(big\)\.dbu_per_hour must be greater than 0"),
        ("default_host = \"toy\"", "default_host = \"aws\"", r"default_host must be one of the \[hosts\.\*\] tables \['toy'\]"),
        ("jobs = 0.5\n", "", r"hosts\.toy\.dbu_rates must price the default tier 'jobs'"),
        ("[hosts.toy]", "[hosts.oracle]\nplan = \"x\"\nregion = \"y\"\n[hosts.toy]",
         r"hosts\.oracle needs the 'oracle' VM prices, but no pricing file defines cloud = 'oracle'"),
    ],
)
def test_databricks_file_errors_name_the_host_and_field(tmp_path, old, new, message):
    assert old in TOY_DATABRICKS
    with pytest.raises(PricingCatalogueError, match=message):
        _load_cloud(tmp_path, TOY_CLOUD, TOY_DATABRICKS.replace(old, new, 1))


def test_a_databricks_file_alone_cannot_price_vms(tmp_path):
    (tmp_path / "databricks.toml").write_text(TOY_DATABRICKS)
    with pytest.raises(PricingCatalogueError, match=r"needs the 'toy' VM prices"):
        load_pricing_catalogue(tmp_path / "databricks.toml")


def test_shipped_files_are_plain_toml_with_the_declared_schema():
    for file in DEFAULT_PRICING_DIR.glob("*.toml"):
        doc = tomllib.loads(file.read_text())
        assert doc["schema_version"] == 1, file
        assert doc["as_of"] == date(2026, 11, 24), file


def test_the_c3o_worker_types_resolve_to_their_shapes(catalogue):
    # The C3O runs (../shared/datasets/c3o) used c4/m4/r4 large..2xlarge workers on EMR.
    shapes = {"c4.large": (2, 3.75), "c4.xlarge": (4, 7.5), "c4.2xlarge": (8, 15), "m4.large": (2, 8), "m4.xlarge": (4, 16),
              "m4.2xlarge": (8, 32), "r4.large": (2, 15.25), "r4.xlarge": (4, 30.5), "r4.2xlarge": (8, 61)}
    for name, (vcpus, memory_gib) in shapes.items():
        instance = catalogue.instance("aws", name)
        assert (instance.vcpus, instance.memory_gib) == (vcpus, memory_gib)
    assert catalogue.instance("aws", "r4.2xlarge").on_demand_hourly == 0.532
    assert catalogue.instance("aws", "c4.2xlarge").platform_fee_hourly == 0.105
    assert "platform_fee_hourly" in catalogue.instance("aws", "r4.2xlarge").estimated


def test_gcp_machine_prices_are_the_per_vcpu_and_per_gb_rates(catalogue):
    rates = {"n2": (0.031611, 0.004237), "e2": (0.021811, 0.002923), "c2": (0.03398, 0.00455)}
    for instance in catalogue.instance_types("gcp"):
        per_vcpu, per_gb = rates[instance.name[:2]]
        assert instance.on_demand_hourly == pytest.approx(instance.vcpus * per_vcpu + instance.memory_gib * per_gb, abs=1e-6)
    families = {i.family for i in catalogue.instance_types("gcp")}
    assert {"n2-highcpu", "e2-highcpu", "c2-standard"} <= families
    assert max(i.vcpus for i in catalogue.instance_types("gcp")) >= 32
    assert max(i.vcpus for i in catalogue.instance_types("aws")) >= 32
