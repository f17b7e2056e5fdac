"""Spark Optimizer: learns from past Spark runs and recommends the resources for the next.

The SDK (`from spark_optimizer import ingest, analyze, train, build_recommendations, recommend, similar, feedback,
fit_runtime_model, predict_runtime`) is loaded on first use, so importing the package stays light (the CLI's
JVM-free commands start in well under a second).
"""

__version__ = "0.1.0"

_SDK = ("ingest", "analyze", "train", "build_recommendations", "recommend", "similar", "feedback", "fit_runtime_model", "predict_runtime")
__all__ = list(_SDK)


def __getattr__(name: str):
    if name in _SDK:
        from spark_optimizer import sdk

        return getattr(sdk, name)
    raise AttributeError(f"module 'spark_optimizer' has no attribute {name!r}")
