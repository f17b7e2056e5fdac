"""spark-submit entry point: collect Dataproc clusters, jobs and Serverless batches into the Delta tables.

    spark-submit jobs/collect_from_dataproc.py --project my-project --region us-central1 --warehouse gs://bucket/wh
"""

from spark_optimizer.context import run_job
from spark_optimizer.runners.spark_submit import add_since, job_context, job_parser, print_result, since_ms


def main(argv: list[str] | None = None) -> int:
    parser = job_parser(__doc__)
    parser.add_argument("--project", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--api-endpoint", help="default: <region>-dataproc.googleapis.com")
    add_since(parser, "batches created")
    parser.add_argument("--no-jobs", action="store_true")
    parser.add_argument("--no-batches", action="store_true")
    parser.add_argument("--no-link", action="store_true", help="do not link ingested applications")
    args = parser.parse_args(argv)
    result = job_context(args).collect.dataproc(args.project, args.region, api_endpoint=args.api_endpoint,
                                                since_ms=since_ms(args), jobs=not args.no_jobs,
                                                batches=not args.no_batches, link=not args.no_link)
    return print_result(result, args.output_format)


if __name__ == "__main__":
    run_job(main)
