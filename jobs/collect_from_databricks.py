"""spark-submit / Databricks job entry point: collect Databricks clusters, events, node types and job runs.

    spark-submit jobs/collect_from_databricks.py --workspace-url https://adb-1.2.azuredatabricks.net --warehouse /wh
"""

from spark_optimizer.context import run_job
from spark_optimizer.runners.spark_submit import add_since, job_context, job_parser, print_result, since_ms


def main(argv: list[str] | None = None) -> int:
    parser = job_parser(__doc__)
    parser.add_argument("--workspace-url", help="default: DATABRICKS_HOST or the profile's host")
    parser.add_argument("--profile", help="profile of ~/.databrickscfg (default: the SDK's credential chain)")
    add_since(parser, "job runs started")
    parser.add_argument("--no-runs", action="store_true")
    parser.add_argument("--no-events", action="store_true")
    parser.add_argument("--no-link", action="store_true", help="do not link ingested applications")
    args = parser.parse_args(argv)
    result = job_context(args).collect.databricks(workspace_url=args.workspace_url, profile=args.profile,
                                                  since_ms=since_ms(args), runs=not args.no_runs,
                                                  events=not args.no_events, link=not args.no_link)
    return print_result(result, args.output_format)


if __name__ == "__main__":
    run_job(main)
