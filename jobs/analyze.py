"""spark-submit entry point: metrics and findings for every application ingested since the last run.

    spark-submit jobs/analyze.py --warehouse s3a://bucket/optimizer
"""

import argparse
from datetime import datetime, timezone

from spark_optimizer.analysis.analyze import analyze_applications
from spark_optimizer.config import load_settings
from spark_optimizer.context import AppContext, run_job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse")
    parser.add_argument("--conf")
    args = parser.parse_args(argv)
    ctx = AppContext(load_settings(args.conf, warehouse=args.warehouse))
    summary = analyze_applications(ctx.spark, ctx.store, datetime.now(timezone.utc))
    print(f"analyzed {len(summary.analyzed)} application attempt(s); {summary.findings} finding(s)", flush=True)
    return 0


if __name__ == "__main__":
    run_job(main)
