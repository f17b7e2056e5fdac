"""spark-submit entry point: collect applications from a Spark History Server's REST API into the Delta tables.

    spark-submit jobs/collect_from_history_server.py --history-server-url http://history:18080 --warehouse s3a://bucket/wh
"""

from spark_optimizer.context import run_job
from spark_optimizer.runners.spark_submit import add_since, job_context, job_parser, print_result, since_ms


def main(argv: list[str] | None = None) -> int:
    parser = job_parser(__doc__)
    parser.add_argument("--history-server-url", required=True, help="base URL, e.g. http://history:18080")
    add_since(parser, "applications that ended")
    parser.add_argument("--limit", type=int, help="at most this many applications from the listing")
    parser.add_argument("--app-id", action="append", dest="app_ids", help="collect only this application (repeatable)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--retries", type=int, default=3)
    parser.add_argument("--user", help="basic auth user (password from SPARK_HISTORY_PASSWORD)")
    parser.add_argument("--token-env", help="name of an environment variable holding a bearer token")
    parser.add_argument("--header", action="append", default=[], help="extra header 'Name: value' (repeatable)")
    args = parser.parse_args(argv)
    result = job_context(args).collect.history_server(
        args.history_server_url, since_ms=since_ms(args), limit=args.limit, app_ids=args.app_ids, user=args.user,
        token_env=args.token_env, headers=args.header, timeout_s=args.timeout, retries=args.retries)
    return print_result(result, args.output_format)


if __name__ == "__main__":
    run_job(main)
