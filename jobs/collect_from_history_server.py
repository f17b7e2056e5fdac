"""spark-submit entry point: collect applications from a Spark History Server's REST API into the Delta tables.

    spark-submit jobs/collect_from_history_server.py --history-server-url http://history:18080 --warehouse s3a://bucket/wh
"""

import argparse
import os
import sys
from datetime import datetime, timezone

from spark_optimizer.collectors.history_server import (
    HistoryServerCollectError,
    collect_from_history_server,
    record_line,
    summary_line,
)
from spark_optimizer.config import load_settings
from spark_optimizer.context import AppContext, run_job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history-server-url", required=True, help="base URL, e.g. http://history:18080")
    parser.add_argument("--warehouse")
    parser.add_argument("--conf")
    parser.add_argument("--since-ms", type=int, help="collect apps that ended after this epoch ms (default: watermark)")
    parser.add_argument("--limit", type=int, help="at most this many applications from the listing")
    parser.add_argument("--app-id", action="append", dest="app_ids", help="collect only this application (repeatable)")
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--retries", type=int, default=3)
    parser.add_argument("--user", help="basic auth user (password from SPARK_HISTORY_PASSWORD)")
    parser.add_argument("--token-env", help="name of an environment variable holding a bearer token")
    parser.add_argument("--header", action="append", default=[], help="extra header 'Name: value' (repeatable)")
    args = parser.parse_args(argv)
    auth = None
    if args.user:
        auth = (args.user, os.environ.get("SPARK_HISTORY_PASSWORD", ""))
    elif args.token_env:
        auth = os.environ.get(args.token_env) or None
    bad = [h for h in args.header if ":" not in h]
    if bad:
        parser.error(f"--header {bad[0]!r}: expected 'Name: value'")
    headers = {h.split(":", 1)[0].strip(): h.split(":", 1)[1].strip() for h in args.header}
    ctx = AppContext(load_settings(args.conf, warehouse=args.warehouse))
    try:
        summary = collect_from_history_server(
            ctx.store, args.history_server_url, datetime.now(timezone.utc), timeout_s=args.timeout,
            retries=args.retries, auth=auth, headers=headers, since_ms=args.since_ms, limit=args.limit,
            app_ids=args.app_ids,
        )
    except HistoryServerCollectError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    for record in summary.records:
        print(record_line(record), flush=True)
    print(summary_line(summary), flush=True)
    return summary.exit_code


if __name__ == "__main__":
    run_job(main)
