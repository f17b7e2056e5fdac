"""Settings come from defaults, the conf file, SPARK_OPTIMIZER_* variables and flags, in that order."""

import pytest

from spark_optimizer.config import load_settings
from spark_optimizer.errors import ConfigurationError


def test_the_warehouse_comes_from_flag_over_environment_over_file(tmp_path):
    conf = tmp_path / "c.toml"
    conf.write_text('warehouse = "/from/file"\n[table_names]\napplications = "apps_v2"\n')
    assert load_settings(conf, environ={}).warehouse == "/from/file"
    env = {"SPARK_OPTIMIZER_WAREHOUSE": "/from/env"}
    assert load_settings(conf, environ=env).warehouse == "/from/env"
    assert load_settings(conf, environ=env, warehouse="/from/flag").warehouse == "/from/flag"
    assert load_settings(conf, environ={}).table_path("applications") == "/from/file/apps_v2"


def test_the_repository_defaults_put_tables_under_a_local_warehouse():
    settings = load_settings(environ={})
    assert settings.table_path("ingest_log") == "./spark-optimizer-warehouse/ingest_log"
    assert settings.resolved_mlflow_tracking_uri().startswith("sqlite:///")


def test_bad_settings_name_the_setting_and_what_is_allowed(tmp_path):
    with pytest.raises(ConfigurationError, match="table_backend must be one of"):
        load_settings(environ={"SPARK_OPTIMIZER_TABLE_BACKEND": "csv"})
    with pytest.raises(ConfigurationError, match="'ingest_batch_size' must be an integer"):
        load_settings(environ={"SPARK_OPTIMIZER_INGEST_BATCH_SIZE": "many"})
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("warehouse = ")
    with pytest.raises(ConfigurationError, match="not valid TOML"):
        load_settings(bad, environ={})
