"""Commands that turn what was learnt into configurations: build-recommendations, recommend, feedback."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from spark_optimizer.cli.common import (
    ConfOption, FormatOption, WarehouseOption, context, print_json, run_and_emit, stdout, usage_errors,
)

app = typer.Typer(help="Recommend configurations.")
RECOMMEND_FORMATS = ("text", "json", "spark-submit", "databricks")


def _check_recommend_format(value: str) -> str:
    value = "text" if value == "table" else value  # "table": the older name of text
    if value not in RECOMMEND_FORMATS:
        raise typer.BadParameter(f"{', '.join(RECOMMEND_FORMATS)}; not {value!r}")
    return value


@app.command("build-recommendations")
def build_recommendations(
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    train_first: Annotated[bool, typer.Option("--train/--no-train", help="Train the models first.")] = False,
    output_format: FormatOption = "text",
) -> None:
    """Build the recommendations table from the trained curves, runs, findings and the pricing catalogue."""
    def work(ctx):
        if train_first:
            ctx.train.run()
        return ctx.build_recommendations.run()

    run_and_emit(warehouse, conf, output_format, work)


@app.command()
def recommend(
    input_size: Annotated[Optional[str], typer.Option("--input-size", help="Input size, e.g. 10GB (default for a job: its typical input).")] = None,
    job_type: Annotated[Optional[str], typer.Option("--job-type", help="etl, sql, ml, streaming, other.")] = None,
    app_name: Annotated[Optional[str], typer.Option("--app-name", help="A job by its application name.")] = None,
    signature: Annotated[Optional[str], typer.Option("--signature", help="A job by its signature (or a unique prefix).")] = None,
    deadline: Annotated[Optional[str], typer.Option("--deadline", help="Finish within, e.g. 30m (default objective: cheapest within it).")] = None,
    budget: Annotated[Optional[float], typer.Option("--budget", help="At most this much per run (default objective: fastest within it).")] = None,
    objective: Annotated[Optional[str], typer.Option("--objective", help="balanced, cheapest-within-deadline or fastest-within-budget.")] = None,
    cloud: Annotated[str, typer.Option("--cloud", help="aws, gcp, azure, databricks or all (side by side).")] = "aws",
    spot: Annotated[bool, typer.Option("--spot/--no-spot", help="Half the workers on spot/preemptible VMs.")] = False,
    output_format: Annotated[str, typer.Option("--format", callback=_check_recommend_format,
                                               help="text, json, spark-submit or databricks (results on stdout).")] = "text",
    pareto: Annotated[bool, typer.Option("--pareto", help="Also print the cost/runtime Pareto frontier.")] = False,
    candidates: Annotated[Optional[str], typer.Option("--candidates", help="Rank these configurations instead of searching: "
                          "a JSON list or CSV file with instance_type[, nodes, executors, executor_cores, executor_memory_mb, cloud].")] = None,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
) -> None:
    """Recommend a configuration for a job or job type at an input size (reads the table with delta-rs; no JVM)."""
    ctx = context(warehouse, conf)
    with usage_errors():
        result = ctx.recommend.run(input_size=input_size, job_type=job_type, signature=signature, app_name=app_name,
                                   deadline=deadline, budget=budget, objective=objective, cloud=cloud, spot=spot,
                                   candidates=candidates)
    answer = result.summary
    if output_format == "json":
        print_json(result.data)
    elif output_format == "spark-submit":
        print(answer.row["spark_submit"])
    elif output_format == "databricks":
        from spark_optimizer.recommender.render import databricks_fragment

        print(databricks_fragment(answer))
    else:
        from spark_optimizer.recommender.render import pareto_table, ranking_table, recommendation_view

        stdout.print(recommendation_view(answer))
        if answer.row.get("ranking"):
            stdout.print(ranking_table(answer))
        if pareto:
            stdout.print(pareto_table(answer))


@app.command()
def feedback(
    recommendation_id: Annotated[str, typer.Argument(metavar="RECOMMENDATION_ID")],
    runtime: Annotated[str, typer.Option("--runtime", help="How long the run took, e.g. 12m.")],
    cost: Annotated[Optional[float], typer.Option("--cost", help="What the run cost, in the catalogue's currency.")] = None,
    app_id: Annotated[Optional[str], typer.Option("--app-id", help="The run's application id, if known.")] = None,
    note: Annotated[Optional[str], typer.Option("--note")] = None,
    warehouse: WarehouseOption = None,
    conf: ConfOption = None,
    output_format: FormatOption = "text",
) -> None:
    """Record how a recommended run went; the next training uses it (no JVM)."""
    run_and_emit(warehouse, conf, output_format, lambda ctx: ctx.feedback.run(
        recommendation_id, runtime, cost=cost, app_id=app_id, note=note))
