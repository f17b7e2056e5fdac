"""The packaged defaults (rules, pricing, settings) are found without a repository around them, and
a user's conf folder overrides them file by file."""

import pytest

from spark_optimizer import defaults
from spark_optimizer.config import load_settings
from spark_optimizer.cost.catalogue import load_pricing_catalogue
from spark_optimizer.errors import ConfigurationError
from spark_optimizer.rules.engine import RULES, load_thresholds


def test_the_package_holds_every_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./conf here
    monkeypatch.delenv(defaults.CONF_DIR_ENV, raising=False)
    assert defaults.conf_path(defaults.RULES) == defaults.packaged(defaults.RULES)
    assert set(load_thresholds()) >= set(RULES)
    assert {"aws", "gcp", "azure"} <= set(load_pricing_catalogue().clouds)
    assert load_settings(environ={}).warehouse == "./spark-optimizer-warehouse"


def test_a_user_conf_folder_overrides_the_files_it_has(tmp_path, monkeypatch):
    conf = tmp_path / "myconf"
    (conf / "pricing").mkdir(parents=True)
    (conf / "pricing" / "aws.toml").write_text(defaults.packaged("pricing/aws.toml").read_text())
    (conf / "spark_optimizer.toml").write_text('warehouse = "/from/user/conf"\n')
    monkeypatch.setenv(defaults.CONF_DIR_ENV, str(conf))
    assert load_settings(environ={defaults.CONF_DIR_ENV: str(conf)}).warehouse == "/from/user/conf"
    assert set(load_pricing_catalogue().clouds) == {"aws"}
    # No rules.toml in the user's folder: the packaged one is used.
    assert defaults.conf_path(defaults.RULES) == defaults.packaged(defaults.RULES)


def test_conf_in_the_working_directory_is_the_user_conf_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(defaults.CONF_DIR_ENV, raising=False)
    (tmp_path / "conf").mkdir()
    rules = defaults.packaged(defaults.RULES).read_text().replace("[data_skew]", "[data_skew]\nuser_marker = 1", 1)
    (tmp_path / "conf" / "rules.toml").write_text(rules)
    monkeypatch.chdir(tmp_path)
    assert load_thresholds()["data_skew"]["user_marker"] == 1


def test_a_conf_dir_variable_naming_no_folder_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv(defaults.CONF_DIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError, match="SPARK_OPTIMIZER_CONF_DIR"):
        load_thresholds()
