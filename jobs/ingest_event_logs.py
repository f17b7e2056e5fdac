"""spark-submit entry point: ingest event logs into the Delta tables.

    spark-submit jobs/ingest_event_logs.py --event-log-dir s3a://bucket/spark-events --warehouse s3a://bucket/wh
"""

from spark_optimizer.context import run_job
from spark_optimizer.runners.spark_submit import job_context, job_parser, print_result


def main(argv: list[str] | None = None) -> int:
    parser = job_parser(__doc__)
    parser.add_argument("--event-log-dir", required=True)
    parser.add_argument("--force", action="store_true", help="re-ingest logs even when unchanged")
    parser.add_argument("--batch-size", type=int, help="logs per Spark job and Delta commit (default: ingest_batch_size)")
    args = parser.parse_args(argv)
    result = job_context(args).ingest.run(args.event_log_dir, force=args.force, batch_size=args.batch_size)
    return print_result(result, args.output_format)


if __name__ == "__main__":
    run_job(main)
