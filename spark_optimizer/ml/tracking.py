"""MLflow tracking for the model families: one experiment each, registered models with an alias
for the version in use. The embedded default is a SQLite store under the warehouse."""

from __future__ import annotations

import json
import logging
import os
from typing import Any, Mapping

import pandas as pd

RUNTIME_EXPERIMENT = "spark-optimizer-runtime"
RESOURCE_EXPERIMENT = "spark-optimizer-resource"
RUNTIME_MODEL_NAME = "spark-optimizer-runtime"
RESOURCE_MODEL_NAME = "spark-optimizer-resource"
CHAMPION_ALIAS = "champion"
# Requirements are declared instead of inferred: inference reloads the model in a subprocess.
PIP_REQUIREMENTS = ["pyspark>=3.5", "pandas", "numpy", "scipy"]


def configure_mlflow(tracking_uri: str, artifact_root: str | None = None):
    """Point MLflow at `tracking_uri`; for a new local SQLite store, artifacts go beside it."""
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    return mlflow


def experiment_id(mlflow, name: str, artifact_root: str | None) -> str:
    existing = mlflow.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    return mlflow.create_experiment(name, artifact_location=artifact_root)


def register_champion(mlflow, model_uri: str, name: str) -> str:
    """Register `model_uri` under `name` and point the champion alias at the new version."""
    version = mlflow.register_model(model_uri, name)
    mlflow.MlflowClient().set_registered_model_alias(name, CHAMPION_ALIAS, version.version)
    return str(version.version)


class ResourceModel:
    """pyfunc wrapper of the per-signature resource fits: input columns job_signature, executors,
    executor_cores, shuffle_partitions, aqe_enabled, input_bytes -> safe_executor_memory_mb."""

    def __init__(self, fits: Mapping[str, Any]):
        self.fits = dict(fits)

    def predict(self, frame: pd.DataFrame) -> pd.Series:
        values = []
        for r in frame.itertuples(index=False):
            fit = self.fits.get(r.job_signature)
            values.append(None if fit is None else fit.safe_executor_memory_mb(
                r.executors, r.executor_cores, r.shuffle_partitions, bool(r.aqe_enabled), r.input_bytes))
        return pd.Series(values, name="safe_executor_memory_mb")


def resource_pyfunc(fits: Mapping[str, Any]):
    import mlflow.pyfunc

    class _ResourcePyfunc(mlflow.pyfunc.PythonModel):
        def __init__(self, model: ResourceModel):
            self.model = model

        def predict(self, context, model_input, params=None):
            return self.model.predict(model_input)

    return _ResourcePyfunc(ResourceModel(fits))


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
