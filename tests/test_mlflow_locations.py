"""Where MLflow keeps runs, artifacts and models for local and object-store warehouses, and the names
experiments and registered models get (workspace paths; Unity Catalog's three-part names)."""

from pathlib import Path

import pytest

from spark_optimizer.config import is_remote_uri, load_settings
from spark_optimizer.ml import tracking


@pytest.mark.parametrize("warehouse", ["s3://bucket/wh", "s3a://bucket/wh/", "abfss://c@acct.dfs.core.windows.net/wh",
                                       "gs://bucket/wh", "dbfs:/mnt/wh"])
def test_an_object_store_warehouse_is_never_made_a_local_path(warehouse, tmp_path):
    settings = load_settings(warehouse=warehouse, environ={})
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    assert is_remote_uri(warehouse)
    uri = settings.resolved_mlflow_tracking_uri(env)
    assert uri.startswith("sqlite:///" + str(tmp_path / "spark-optimizer" / "mlflow")) and uri.endswith("/mlflow.db")
    assert settings.mlflow_artifact_root() == warehouse.rstrip("/") + "/mlflow-artifacts"


def test_two_object_store_warehouses_get_two_tracking_stores(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    first = load_settings(warehouse="s3://a/wh", environ={}).resolved_mlflow_tracking_uri(env)
    second = load_settings(warehouse="s3://b/wh", environ={}).resolved_mlflow_tracking_uri(env)
    assert first != second


@pytest.mark.parametrize("warehouse", ["./wh", "/tmp/wh", "file:///tmp/wh"])
def test_a_local_warehouse_keeps_its_store_and_artifacts_inside(warehouse):
    settings = load_settings(warehouse=warehouse, environ={})
    assert not is_remote_uri(warehouse)
    root = Path(warehouse.removeprefix("file://")).resolve()
    assert settings.resolved_mlflow_tracking_uri({}) == f"sqlite:///{root}/mlflow.db"
    assert settings.mlflow_artifact_root() == (root / "mlflow-artifacts").as_uri()


def test_on_databricks_the_workspace_tracks_and_a_set_uri_always_wins():
    assert load_settings(warehouse="dbfs:/wh", environ={}).resolved_mlflow_tracking_uri(
        {"DATABRICKS_RUNTIME_VERSION": "15.4"}) == "databricks"
    settings = load_settings(warehouse="s3://b/wh", mlflow_tracking_uri="http://mlflow:5000", environ={})
    assert settings.resolved_mlflow_tracking_uri({"DATABRICKS_RUNTIME_VERSION": "15.4"}) == "http://mlflow:5000"
    assert settings.mlflow_artifact_root() is None


def test_experiments_live_under_a_workspace_folder_by_default():
    settings = load_settings(environ={})
    assert tracking.experiment_name(settings, tracking.RUNTIME) == "/Shared/spark-optimizer/runtime"
    custom = load_settings(environ={"SPARK_OPTIMIZER_MLFLOW_EXPERIMENT_DIR": "/Users/me@example.com/so/"})
    assert tracking.experiment_name(custom, tracking.RESOURCE) == "/Users/me@example.com/so/resource"


def test_a_catalog_gives_unity_catalog_three_part_model_names():
    assert tracking.registered_model_name(load_settings(environ={}), tracking.RUNTIME) == tracking.RUNTIME_MODEL_NAME
    settings = load_settings(mlflow_catalog="main", mlflow_schema="ops", environ={})
    assert tracking.registered_model_name(settings, tracking.RUNTIME) == "main.ops.spark_optimizer_runtime"
    assert tracking.registered_model_name(settings, tracking.RESOURCE) == "main.ops.spark_optimizer_resource"
