"""What every notebook in notebooks/ shares: its parameters (Databricks widgets, else the embedded
defaults, each replaceable by SPARK_OPTIMIZER_NOTEBOOK_<NAME>) and the context built from them."""

from __future__ import annotations

import os
from typing import Any, Mapping


def notebook_params(defaults: Mapping[str, str], dbutils: Any = None,
                    environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """On Databricks (`dbutils` given): one text widget per default, and their values; elsewhere the
    defaults, each replaced by the environment variable SPARK_OPTIMIZER_NOTEBOOK_<NAME> when set."""
    if dbutils is not None:
        for name, value in defaults.items():
            dbutils.widgets.text(name, value)
        return {name: dbutils.widgets.get(name) for name in defaults}
    return {name: environ.get(f"SPARK_OPTIMIZER_NOTEBOOK_{name.upper()}", value) for name, value in defaults.items()}


def notebook_context(params: Mapping[str, str], spark: Any = None, settings: tuple[str, ...] = ()):
    """The context of the notebook's `warehouse`, with the `settings` named among `params` that are not empty."""
    from spark_optimizer.config import load_settings
    from spark_optimizer.context import AppContext

    overrides = {name: params[name] for name in settings if params[name]}
    return AppContext(load_settings(warehouse=params["warehouse"], **overrides), spark=spark)
