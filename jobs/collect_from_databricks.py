"""spark-submit / Databricks job entry point: collect Databricks clusters, events, node types and job runs.

    spark-submit jobs/collect_from_databricks.py --workspace-url https://adb-1.2.azuredatabricks.net --warehouse /wh
"""

import argparse

from spark_optimizer.collectors.databricks import collect_from_databricks
from spark_optimizer.collectors.linking import run_collector_job
from spark_optimizer.config import load_settings
from spark_optimizer.context import AppContext, run_job


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace-url", help="default: DATABRICKS_HOST or the profile's host")
    parser.add_argument("--profile", help="profile of ~/.databrickscfg (default: the SDK's credential chain)")
    parser.add_argument("--since-ms", type=int, help="job runs started after this epoch ms (default: watermark)")
    parser.add_argument("--no-runs", action="store_true")
    parser.add_argument("--no-events", action="store_true")
    parser.add_argument("--no-link", action="store_true", help="do not link ingested applications")
    parser.add_argument("--warehouse")
    parser.add_argument("--conf")
    args = parser.parse_args(argv)
    ctx = AppContext(load_settings(args.conf, warehouse=args.warehouse))
    return run_collector_job(ctx.store, lambda store, now: collect_from_databricks(
        store, now, workspace_url=args.workspace_url, profile=args.profile, since_ms=args.since_ms,
        runs=not args.no_runs, events=not args.no_events), not args.no_link)


if __name__ == "__main__":
    run_job(main)
