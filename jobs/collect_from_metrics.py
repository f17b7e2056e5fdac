"""spark-submit entry point: collect executor/driver metric series from Prometheus into the executor_metrics table.

    spark-submit jobs/collect_from_metrics.py --metrics-endpoint http://prometheus:9090 --warehouse s3a://bucket/wh
"""

import argparse

from spark_optimizer.context import run_job
from spark_optimizer.runners.jobs import time_ms
from spark_optimizer.runners.spark_submit import job_context, job_parser, print_result


def main(argv: list[str] | None = None) -> int:
    parser = job_parser(__doc__)
    parser.add_argument("--metrics-endpoint", required=True, help="Prometheus base URL, e.g. http://prometheus:9090")
    parser.add_argument("--since", help="window start, date or ISO date-time (default: newest stored sample, else 1 h ago)")
    parser.add_argument("--until", help="window end, date or ISO date-time (default: now)")
    parser.add_argument("--start-ms", type=int, help=argparse.SUPPRESS)  # older spellings, epoch ms
    parser.add_argument("--end-ms", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--step", type=float, default=15.0, help="query_range step in seconds (downsampling)")
    parser.add_argument("--app-id", action="append", dest="app_ids", help="keep only this application (repeatable)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--retries", type=int, default=3)
    args = parser.parse_args(argv)
    result = job_context(args).collect.metrics(
        args.metrics_endpoint, start_ms=time_ms(args.since, args.start_ms), end_ms=time_ms(args.until, args.end_ms),
        step_s=args.step, app_ids=args.app_ids, timeout_s=args.timeout, retries=args.retries)
    return print_result(result, args.output_format)


if __name__ == "__main__":
    run_job(main)
