"""spark-submit entry point of the main job: ingest (optional) -> analyze -> train -> build recommendations.

    spark-submit jobs/recommend.py --warehouse /tmp/wh [--event-log-dir samples/eventlogs]
"""

import argparse
from datetime import datetime, timezone

from spark_optimizer.config import load_settings
from spark_optimizer.context import AppContext, run_job
from spark_optimizer.recommender.pipeline import run_pipeline


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--warehouse")
    parser.add_argument("--conf")
    parser.add_argument("--event-log-dir", help="Ingest these logs first (default: use what is already ingested).")
    parser.add_argument("--folds", type=int, default=2)
    args = parser.parse_args()
    ctx = AppContext(load_settings(args.conf, warehouse=args.warehouse))
    summary = run_pipeline(ctx.spark, ctx.store, ctx.settings, args.event_log_dir, datetime.now(timezone.utc), args.folds)
    print(f"analyzed {summary.analyzed}; trained on {summary.train.runs} runs; built {summary.build.signature_rows} signature "
          f"and {summary.build.job_type_rows} job-type recommendations; {summary.build.feedback_linked} runs linked", flush=True)
    return summary.ingest.exit_code if summary.ingest is not None else 0


if __name__ == "__main__":
    run_job(main)
