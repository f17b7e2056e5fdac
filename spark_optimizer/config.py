"""Settings: built-in defaults < conf file < SPARK_OPTIMIZER_* environment < explicit overrides.

The conf file is --conf, else $SPARK_OPTIMIZER_CONF, else spark_optimizer.toml of the user's conf
folder, else the packaged one (see spark_optimizer.defaults)."""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

from spark_optimizer import defaults
from spark_optimizer.errors import ConfigurationError

ENV_PREFIX = "SPARK_OPTIMIZER_"
TABLE_BACKENDS = ("auto", "spark", "delta-rs")
_KINDS = {int: int, "int": int, bool: bool, "bool": bool}


@dataclass(frozen=True)
class Settings:
    warehouse: str = "./spark-optimizer-warehouse"
    mlflow_tracking_uri: str = ""
    mlflow_experiment_dir: str = "/Shared/spark-optimizer"
    mlflow_catalog: str = ""
    mlflow_schema: str = "default"
    spark_master: str = "local[2]"
    spark_speedups: bool = True
    table_backend: str = "auto"
    ingest_batch_size: int = 200
    ingest_batch_mb: int = 512
    ingest_batch_rows: int = 500_000
    pricing_dir: str = ""
    api_key: str = field(default="", repr=False)  # a secret: kept out of logs and tracebacks
    api_key_all: bool = False
    table_names: Mapping[str, str] = field(default_factory=dict)

    def table_name(self, logical_name: str) -> str:
        return self.table_names.get(logical_name, logical_name)

    def table_path(self, logical_name: str) -> str:
        return join_uri(self.warehouse, self.table_name(logical_name))

    def resolved_mlflow_tracking_uri(self, environ: Mapping[str, str] | None = None) -> str:
        """The setting; else on Databricks the workspace's tracking server; else a SQLite store under a
        local warehouse, or, for a warehouse on object storage (where SQLite cannot live), in the
        user's cache folder, one per warehouse URI (the artifacts still go to the warehouse)."""
        env = os.environ if environ is None else environ
        if self.mlflow_tracking_uri:
            return self.mlflow_tracking_uri
        if env.get("DATABRICKS_RUNTIME_VERSION"):
            return "databricks"
        if is_remote_uri(self.warehouse):
            cache = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
            key = hashlib.sha256(self.warehouse.rstrip("/").encode()).hexdigest()[:16]
            folder = cache / "spark-optimizer" / "mlflow" / key
            folder.mkdir(parents=True, exist_ok=True)
            return "sqlite:///" + str(folder / "mlflow.db")
        return "sqlite:///" + str(local_path(self.warehouse) / "mlflow.db")

    def mlflow_artifact_root(self, environ: Mapping[str, str] | None = None) -> str | None:
        """Artifacts under the warehouse for the embedded store; a tracking server decides otherwise."""
        env = os.environ if environ is None else environ
        if self.mlflow_tracking_uri or env.get("DATABRICKS_RUNTIME_VERSION"):
            return None
        if is_remote_uri(self.warehouse):
            return join_uri(self.warehouse, "mlflow-artifacts")
        return (local_path(self.warehouse) / "mlflow-artifacts").as_uri()


def is_remote_uri(location: str) -> bool:
    """True for s3://, s3a://, abfss://, gs://, dbfs:/ ... ; False for local paths and file: URIs."""
    scheme = urlparse(location).scheme.lower()
    return len(scheme) > 1 and scheme != "file"  # one letter: a Windows drive


def local_path(location: str) -> Path:
    """An absolute local path for a local warehouse given as a path or a file: URI."""
    if urlparse(location).scheme.lower() == "file":
        from urllib.request import url2pathname

        return Path(url2pathname(urlparse(location).path)).resolve()
    return Path(location).resolve()


def join_uri(root: str, name: str) -> str:
    return root.rstrip("/") + "/" + name


def _coerce(name: str, raw: Any, target_type: type) -> Any:
    if target_type is bool:
        if isinstance(raw, bool):
            return raw
        if str(raw).strip().lower() in ("true", "1", "yes", "on", "false", "0", "no", "off", ""):
            return str(raw).strip().lower() in ("true", "1", "yes", "on")
        raise ConfigurationError(f"setting '{name}' must be true or false, found {raw!r}")
    if target_type is int:
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ConfigurationError(f"setting '{name}' must be an integer, found {raw!r}") from None
    return str(raw)


def load_settings(
    conf_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings; `overrides` whose value is None are ignored (unset CLI flags).

    Example::

        settings = load_settings(warehouse="/tmp/wh")
        settings.table_path("applications")  # '/tmp/wh/applications'
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    path = Path(conf_file or environ.get(ENV_PREFIX + "CONF") or defaults.conf_path(defaults.SETTINGS, environ))
    if conf_file is not None or ENV_PREFIX + "CONF" in environ or path.exists():
        if not path.exists():
            raise ConfigurationError(f"configuration file {path} does not exist; fix SPARK_OPTIMIZER_CONF or --conf")
        try:
            values.update(tomllib.loads(path.read_text()))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"configuration file {path} is not valid TOML: {exc}") from None
    types = {f.name: f.type for f in fields(Settings)}
    for f in fields(Settings):
        env_value = environ.get(ENV_PREFIX + f.name.upper())
        if env_value is not None and f.name != "table_names":
            values[f.name] = env_value
    values.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(values) - set(types))
    if unknown:
        raise ConfigurationError(f"unknown settings {unknown}; known settings are {sorted(types)}")
    settings = Settings()
    coerced = {
        name: (dict(value) if name == "table_names" else _coerce(name, value, _KINDS.get(types[name], str)))
        for name, value in values.items()
    }
    settings = replace(settings, **coerced)
    if settings.table_backend not in TABLE_BACKENDS:
        raise ConfigurationError(
            f"table_backend must be one of {TABLE_BACKENDS}, found {settings.table_backend!r}"
        )
    if settings.ingest_batch_mb < 1:
        raise ConfigurationError(f"ingest_batch_mb must be at least 1, found {settings.ingest_batch_mb}")
    if settings.ingest_batch_rows < 1:
        raise ConfigurationError(f"ingest_batch_rows must be at least 1, found {settings.ingest_batch_rows}")
    if settings.ingest_batch_size < 1:
        raise ConfigurationError(f"ingest_batch_size must be at least 1, found {settings.ingest_batch_size}")
    return settings
