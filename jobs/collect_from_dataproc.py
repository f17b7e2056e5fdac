"""spark-submit entry point: collect Dataproc clusters, jobs and Serverless batches into the Delta tables.

    spark-submit jobs/collect_from_dataproc.py --project my-project --region us-central1 --warehouse gs://bucket/wh
"""

import argparse

from spark_optimizer.collectors.dataproc import collect_from_dataproc
from spark_optimizer.collectors.linking import run_collector_job
from spark_optimizer.config import load_settings
from spark_optimizer.context import AppContext, run_job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--api-endpoint", help="default: <region>-dataproc.googleapis.com")
    parser.add_argument("--since-ms", type=int, help="batches created after this epoch ms (default: watermark)")
    parser.add_argument("--no-jobs", action="store_true")
    parser.add_argument("--no-batches", action="store_true")
    parser.add_argument("--no-link", action="store_true", help="do not link ingested applications")
    parser.add_argument("--warehouse")
    parser.add_argument("--conf")
    args = parser.parse_args(argv)
    ctx = AppContext(load_settings(args.conf, warehouse=args.warehouse))
    return run_collector_job(ctx.store, lambda store, now: collect_from_dataproc(
        store, args.project, args.region, now, api_endpoint=args.api_endpoint, since_ms=args.since_ms,
        jobs=not args.no_jobs, batches=not args.no_batches), not args.no_link)


if __name__ == "__main__":
    run_job(main)
