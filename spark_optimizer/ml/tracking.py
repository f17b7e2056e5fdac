"""MLflow tracking for the model families: one experiment each, registered models with an alias
for the version in use, each logged with its signature and an input example. The embedded default
is a SQLite store under the warehouse (Settings.resolved_mlflow_tracking_uri).

Names work on a Databricks workspace as they are: experiments under `mlflow_experiment_dir`
(default /Shared/spark-optimizer), and registered models named `catalog.schema.spark_optimizer_<family>`
in Unity Catalog when `mlflow_catalog` is set, `spark-optimizer-<family>` in a workspace or local
registry otherwise."""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import logging
import warnings
import os
from typing import Any, Mapping

import pandas as pd

RUNTIME, RESOURCE = "runtime", "resource"
RUNTIME_MODEL_NAME = "spark-optimizer-runtime"
RESOURCE_MODEL_NAME = "spark-optimizer-resource"
CHAMPION_ALIAS = "champion"
# Requirements are declared instead of inferred: inference reloads the model in a subprocess.
PIP_REQUIREMENTS = ["pyspark>=3.5", "pandas", "numpy", "scipy"]
RESOURCE_INPUTS = (("job_signature", "string"), ("executors", "double"), ("executor_cores", "double"),
                   ("shuffle_partitions", "double"), ("aqe_enabled", "boolean"), ("input_bytes", "double"))
EXAMPLE_ROWS = 3


def experiment_name(settings, family: str) -> str:
    """`<mlflow_experiment_dir>/<family>`: a workspace path on Databricks, a plain name elsewhere."""
    return settings.mlflow_experiment_dir.rstrip("/") + "/" + family


def registered_model_name(settings, family: str) -> str:
    """Three-part Unity Catalog name when a catalog is set (UC names take no hyphens)."""
    if settings.mlflow_catalog:
        return f"{settings.mlflow_catalog}.{settings.mlflow_schema}.spark_optimizer_{family}"
    return f"spark-optimizer-{family}"


def _model_path_argument(log_model, path: str) -> dict[str, str]:
    """MLflow 3's pyfunc names a logged model with `name` (`artifact_path` is deprecated there); its
    spark flavour and MLflow 2 only know artifact_path."""
    return {"name": path} if "name" in inspect.signature(log_model).parameters else {"artifact_path": path}


def _schema(columns) -> Any:
    from mlflow.types import ColSpec, Schema

    return Schema([ColSpec(kind, name, required=False) for name, kind in columns])


def log_runtime_forest(mlflow, forest, training_frame: pd.DataFrame) -> Any:
    """The runtime tree model (a `runtime_model.TreeModel`: scikit-learn boosting for small run sets,
    else the Spark ML forest) with its signature (its feature doubles -> prediction, the log runtime
    in seconds) and the first training rows as input example."""
    from mlflow.models import ModelSignature

    features = list(forest.columns)
    signature = ModelSignature(inputs=_schema([(f, "double") for f in features]), outputs=_schema([("prediction", "double")]))
    example = training_frame[features].astype(float).head(EXAMPLE_ROWS).reset_index(drop=True)
    if forest.local is not None:
        import mlflow.sklearn

        # The boosted trees are fitted on arrays; MLflow checks the input example as a named frame.
        with _without_cloudpickle_notice(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="X has feature names", category=UserWarning)
            return mlflow.sklearn.log_model(forest.local, **_model_path_argument(mlflow.sklearn.log_model, "forest"), signature=signature,
                                            input_example=example, pip_requirements=PIP_REQUIREMENTS + ["scikit-learn"],
                                            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE)
    return mlflow.spark.log_model(forest.spark_model, **_model_path_argument(mlflow.spark.log_model, "forest"), signature=signature,
                                  input_example=example, pip_requirements=PIP_REQUIREMENTS)


def log_resource_model(mlflow, fits: Mapping[str, Any], training_frame: pd.DataFrame) -> Any:
    from mlflow.models import ModelSignature

    signature = ModelSignature(inputs=_schema(RESOURCE_INPUTS), outputs=_schema([("safe_executor_memory_mb", "double")]))
    columns = [name for name, _ in RESOURCE_INPUTS]
    example = training_frame[training_frame["job_signature"].isin(fits)][columns].head(EXAMPLE_ROWS).reset_index(drop=True)
    example = example.astype({name: (bool if kind == "boolean" else str if kind == "string" else float)
                              for name, kind in RESOURCE_INPUTS})
    with _without_cloudpickle_notice():
        return mlflow.pyfunc.log_model(**_model_path_argument(mlflow.pyfunc.log_model, "resource"), python_model=resource_pyfunc(fits),
                                       signature=signature, input_example=example, pip_requirements=PIP_REQUIREMENTS)


class _DropCloudPickleNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "cloudpickle" not in record.getMessage().lower()


_PICKLING_LOGGERS = ("mlflow.pyfunc", "mlflow.sklearn")


class _without_cloudpickle_notice:
    """MLflow warns on every pyfunc object it pickles; ours is our own class, loaded by our own code."""

    def __enter__(self):
        self._filter = _DropCloudPickleNotice()
        for name in _PICKLING_LOGGERS:
            logging.getLogger(name).addFilter(self._filter)

    def __exit__(self, *exc_info) -> None:
        for name in _PICKLING_LOGGERS:
            logging.getLogger(name).removeFilter(self._filter)


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
    """Register `model_uri` under `name` and point the champion alias at the new version.
    `mlflow.register_model` (which waits for a version to be ready, as Unity Catalog needs) prints
    each of its steps to stderr: they are not shown."""
    with contextlib.redirect_stderr(io.StringIO()):
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
        # The logged model carries an explicit signature (log_resource_model); MLflow 3's
        # validation from predict's type hints would only warn (a pandas hint is AnyType to it,
        # no hint gets a notice on every training), so it is skipped.
        _skip_type_hint_validation = True

        def __init__(self, model: ResourceModel):
            self.model = model

        def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.Series:
            return self.model.predict(model_input)

    return _ResourcePyfunc(ResourceModel(fits))


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
