"""spark-submit entry point: metrics and findings for every application ingested since the last run.

    spark-submit jobs/analyze.py --warehouse s3a://bucket/optimizer
"""

from spark_optimizer.context import run_job
from spark_optimizer.runners.spark_submit import job_context, job_parser, print_result


def main(argv: list[str] | None = None) -> int:
    args = job_parser(__doc__).parse_args(argv)
    return print_result(job_context(args).analyze.run(), args.output_format)


if __name__ == "__main__":
    run_job(main)
