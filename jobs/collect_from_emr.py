"""spark-submit entry point: collect EMR clusters, instance groups/fleets and steps into the Delta tables.

    spark-submit jobs/collect_from_emr.py --region us-west-2 --warehouse s3a://bucket/wh
"""

import argparse

from spark_optimizer.collectors.emr import collect_from_emr
from spark_optimizer.collectors.linking import run_collector_job
from spark_optimizer.config import load_settings
from spark_optimizer.context import AppContext, run_job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", required=True)
    parser.add_argument("--profile", help="AWS profile (default: boto3's credential chain)")
    parser.add_argument("--cluster-id", action="append", dest="cluster_ids", help="only this cluster (repeatable)")
    parser.add_argument("--since-ms", type=int, help="clusters created after this epoch ms (default: watermark)")
    parser.add_argument("--retries", type=int, default=5)
    parser.add_argument("--no-link", action="store_true", help="do not link ingested applications")
    parser.add_argument("--warehouse")
    parser.add_argument("--conf")
    args = parser.parse_args(argv)
    ctx = AppContext(load_settings(args.conf, warehouse=args.warehouse))
    return run_collector_job(ctx.store, lambda store, now: collect_from_emr(
        store, args.region, now, profile=args.profile, cluster_ids=args.cluster_ids, since_ms=args.since_ms,
        retries=args.retries), not args.no_link)


if __name__ == "__main__":
    run_job(main)
