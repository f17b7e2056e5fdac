"""spark-submit entry point of the main job: ingest (optional) -> analyze -> train -> build recommendations.

    spark-submit jobs/recommend.py --warehouse /tmp/wh [--event-log-dir samples/eventlogs]
"""

from spark_optimizer.context import run_job
from spark_optimizer.runners.spark_submit import job_context, job_parser, print_result


def main(argv: list[str] | None = None) -> int:
    parser = job_parser(__doc__)
    parser.add_argument("--event-log-dir", action="append", default=[], help="ingest these logs first (repeatable)")
    parser.add_argument("--folds", type=int, default=2)
    args = parser.parse_args(argv)
    return print_result(job_context(args).main_job.run(args.event_log_dir, folds=args.folds), args.output_format)


if __name__ == "__main__":
    run_job(main)
