"""spark-submit entry point: analyze what is new, refresh features and runs, train the runtime and
resource models and log them to MLflow.

    spark-submit jobs/train.py --warehouse s3a://bucket/optimizer [--folds 3]
"""

from spark_optimizer.context import run_job
from spark_optimizer.runners.spark_submit import job_context, job_parser, print_result


def main(argv: list[str] | None = None) -> int:
    parser = job_parser(__doc__)
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args(argv)
    return print_result(job_context(args).train.run(folds=args.folds), args.output_format)


if __name__ == "__main__":
    run_job(main)
