"""spark-submit entry point: collect executor/driver metric series from Prometheus into the executor_metrics table.

    spark-submit jobs/collect_from_metrics.py --metrics-endpoint http://prometheus:9090 --warehouse s3a://bucket/wh
"""

import argparse
import sys
from datetime import datetime, timezone

from spark_optimizer.collectors.prometheus import PrometheusCollectError, collect_from_metrics, summary_line
from spark_optimizer.config import load_settings
from spark_optimizer.context import AppContext, run_job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics-endpoint", required=True, help="Prometheus base URL, e.g. http://prometheus:9090")
    parser.add_argument("--warehouse")
    parser.add_argument("--conf")
    parser.add_argument("--start-ms", type=int, help="window start, epoch ms (default: newest stored sample, else 1 h ago)")
    parser.add_argument("--end-ms", type=int, help="window end, epoch ms (default: now)")
    parser.add_argument("--step", type=float, default=15.0, help="query_range step in seconds (downsampling)")
    parser.add_argument("--app-id", action="append", dest="app_ids", help="keep only this application (repeatable)")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--retries", type=int, default=3)
    args = parser.parse_args(argv)
    ctx = AppContext(load_settings(args.conf, warehouse=args.warehouse))
    try:
        summary = collect_from_metrics(
            ctx.store, args.metrics_endpoint, datetime.now(timezone.utc), start_ms=args.start_ms, end_ms=args.end_ms,
            step_s=args.step, timeout_s=args.timeout, retries=args.retries, app_ids=args.app_ids,
        )
    except PrometheusCollectError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    print(summary_line(summary), flush=True)
    return summary.exit_code


if __name__ == "__main__":
    run_job(main)
