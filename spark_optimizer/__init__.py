"""Spark Optimizer: learns from past Spark runs and recommends the resources for the next.

The SDK (`from spark_optimizer import ingest, analyze, train, recommend, similar, feedback,
fit_runtime_model, predict_runtime`) is loaded on first use, so importing the package stays light (the CLI's
JVM-free commands start in well under a second).
"""

import sys as _sys
from types import ModuleType as _ModuleType

__version__ = "0.1.0"

_SDK = ("ingest", "analyze", "train", "recommend", "similar", "feedback", "fit_runtime_model", "predict_runtime")
__all__ = list(_SDK)


def __getattr__(name: str):
    if name in _SDK:
        from spark_optimizer import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'spark_optimizer' has no attribute {name!r}")


class _Package(_ModuleType):
    """`recommend` names both the SDK function and the `spark_optimizer.recommend` subpackage, and
    importing the subpackage stores the module as this package's attribute. Attribute access lets the
    SDK function win, so `from spark_optimizer import recommend` is the function whatever was imported
    before; the subpackage stays importable by its full name (`from spark_optimizer.recommend import lookup`)."""

    def __getattribute__(self, name: str):
        if name in _SDK:
            from spark_optimizer import sdk

            return getattr(sdk, name)
        return super().__getattribute__(name)


_sys.modules[__name__].__class__ = _Package
