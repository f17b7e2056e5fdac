"""spark-submit entry point: ingest event logs into the Delta tables.

    spark-submit jobs/ingest_event_logs.py --event-log-dir s3a://bucket/spark-events --warehouse s3a://bucket/wh
"""

import argparse
from datetime import datetime, timezone

from spark_optimizer.config import load_settings
from spark_optimizer.context import AppContext, run_job
from spark_optimizer.eventlog.ingest import ingest_event_logs
from spark_optimizer.reporting import record_line, summary_line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--event-log-dir", required=True)
    parser.add_argument("--warehouse")
    parser.add_argument("--conf")
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--batch-size", type=int)
    args = parser.parse_args(argv)
    ctx = AppContext(load_settings(args.conf, warehouse=args.warehouse))
    summary = ingest_event_logs(
        ctx.spark_context, ctx.store, args.event_log_dir, datetime.now(timezone.utc),
        batch_size=args.batch_size or ctx.settings.ingest_batch_size,
        batch_bytes=ctx.settings.ingest_batch_mb * 1024 * 1024, force=args.force,
        on_batch=lambda records, done, total: [print(record_line(r), flush=True) for r in records],
    )
    print(summary_line(summary), flush=True)
    return summary.exit_code


if __name__ == "__main__":
    run_job(main)
