"""spark-submit entry point: collect EMR clusters, instance groups/fleets and steps into the Delta tables.

    spark-submit jobs/collect_from_emr.py --region us-west-2 --warehouse s3a://bucket/wh
"""

from spark_optimizer.context import run_job
from spark_optimizer.runners.spark_submit import add_since, job_context, job_parser, print_result, since_ms


def main(argv: list[str] | None = None) -> int:
    parser = job_parser(__doc__)
    parser.add_argument("--region", required=True)
    parser.add_argument("--profile", help="AWS profile (default: boto3's credential chain)")
    parser.add_argument("--cluster-id", action="append", dest="cluster_ids", help="only this cluster (repeatable)")
    add_since(parser, "clusters created")
    parser.add_argument("--retries", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--no-link", action="store_true", help="do not link ingested applications")
    args = parser.parse_args(argv)
    result = job_context(args).collect.emr(args.region, profile=args.profile, cluster_ids=args.cluster_ids,
                                           since_ms=since_ms(args), retries=args.retries, timeout_s=args.timeout,
                                           link=not args.no_link)
    return print_result(result, args.output_format)


if __name__ == "__main__":
    run_job(main)
