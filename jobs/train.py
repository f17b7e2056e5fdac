"""spark-submit entry point: analyze what is new, refresh features and runs, train the runtime and
resource models and log them to MLflow.

    spark-submit jobs/train.py --warehouse s3a://bucket/optimizer [--folds 3]
"""

import argparse
from datetime import datetime, timezone

from spark_optimizer.analysis.analyze import analyze_applications
from spark_optimizer.config import load_settings
from spark_optimizer.context import AppContext, run_job
from spark_optimizer.ml.train import train_models


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse")
    parser.add_argument("--conf")
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args(argv)
    ctx = AppContext(load_settings(args.conf, warehouse=args.warehouse))
    now = datetime.now(timezone.utc)
    analyze_applications(ctx.spark, ctx.store, now)
    summary = train_models(ctx.spark, ctx.store, ctx.settings, now, folds=args.folds)
    print(f"trained on {summary.runs} runs of {summary.signatures} signature(s); scaling curve for {summary.scaling_wins}, "
          f"random forest for {summary.forest_wins}, their blend for {summary.blend_wins}; runtime model version {summary.runtime_model_version}; "
          f"metrics {summary.metrics}; MLflow run {summary.mlflow_run_id}", flush=True)
    return 0


if __name__ == "__main__":
    run_job(main)
