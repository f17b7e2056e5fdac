"""The generic `runs` table the models learn from: event-log runs from `features`, plus any other
source (cloud job runs, external benchmark datasets, feedback) in the same shape."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_optimizer.errors import SparkOptimizerError

if TYPE_CHECKING:
    import pandas as pd
from spark_optimizer.tables import FEATURES, RUNS
from spark_optimizer.tables.store import TableStore, conform_dataframe

REQUIRED_RUN_COLUMNS = ("run_id", "job_signature", "executors", "executor_cores", "executor_memory_mb", "input_bytes", "runtime_ms")


class RunsSchemaError(SparkOptimizerError):
    pass


SIZE_EVIDENCE = ("input_bytes", "shuffle_bytes", "output_bytes")
"""What a run's size is taken from, first that is above 0: the bytes it read (Input Metrics), else the
bytes it shuffled (the larger of read and written: generated input such as spark.range, JDBC or
streaming sources logs no Input Metrics), else the bytes it wrote; `input_size_source` names the one used
('none' when all are 0 or unknown). Records read carry no byte size and cached (RDD storage) bytes are
not ingested, so neither is used."""


def run_size(features: DataFrame) -> tuple:
    """(size in bytes, name of the evidence) columns of each features row, as SIZE_EVIDENCE describes."""
    c = F.col
    shuffled = F.greatest(F.coalesce(c("shuffle_read_bytes"), F.lit(0)), F.coalesce(c("shuffle_write_bytes"), F.lit(0)))
    evidence = (("input_bytes", c("input_bytes")), ("shuffle_bytes", shuffled), ("output_bytes", c("output_bytes")))
    size = F.coalesce(*[F.when(value > 0, value) for _, value in evidence], F.lit(0)).cast("long")
    source = F.coalesce(*[F.when(value > 0, F.lit(name)) for name, value in evidence], F.lit("none"))
    return size, source


def runs_from_features(features: DataFrame, updated_at: datetime) -> DataFrame:
    """One run per completed application attempt; failed or incomplete runs are kept with succeeded=false."""
    c = F.col
    size, size_source = run_size(features)
    run_id = F.when(c("attempt_id") == "", c("app_id")).otherwise(F.concat_ws("/", "app_id", "attempt_id"))
    rows = features.select(
        run_id.alias("run_id"),
        F.lit("eventlog").alias("source"),
        "job_signature", "job_type", "app_name", "start_time", "executors", "executor_cores", "executor_memory_mb",
        "memory_overhead_mb", "shuffle_partitions", "aqe_enabled",
        size.alias("input_bytes"),
        size_source.alias("input_size_source"),
        c("wall_ms").alias("runtime_ms"),
        ((c("status") == "completed") & c("wall_ms").isNotNull()).alias("succeeded"),
        "shuffle_input_ratio", "output_input_ratio", "stage_count", "task_count", "cpu_share_of_run", "gc_share",
        "spill_bytes", "op_join", "op_aggregate", "op_sort", "op_window", "op_python",
        "peak_execution_memory_bytes", "peak_jvm_heap_bytes", "recommendation_id",
        F.when(c("status") != "completed", F.concat(F.lit("the application did not complete (status "), c("status"), F.lit(")")))
        .when(c("wall_ms").isNull() | (c("wall_ms") <= 0), F.lit("no run time in the log"))
        .alias("skip_reason"),
        F.lit(updated_at).cast("timestamp").alias("updated_at"),
    )
    return conform_dataframe(RUNS, rows)


def _missing_required(columns, source: str) -> None:
    missing = [name for name in REQUIRED_RUN_COLUMNS if name not in columns]
    if missing:
        raise RunsSchemaError(
            f"runs from {source!r} lack required column(s) {', '.join(missing)}; a run needs "
            f"{', '.join(REQUIRED_RUN_COLUMNS)} (see docs/tables.md, table runs); to load a file with other "
            "columns, use `spark-optimizer add-runs FILE --mapping ...` (docs/models.md)"
        )


def normalize_external_runs(runs: DataFrame, source: str, updated_at: datetime) -> DataFrame:
    """Check and conform runs from another source (missing optional columns become null).

    Example::

        normalize_external_runs(spark.read.parquet("runs.parquet"), "external", now)
    """
    _missing_required(runs.columns, source)
    filled = runs
    defaults = {"source": F.lit(source), "succeeded": F.lit(True), "updated_at": F.lit(updated_at).cast("timestamp")}
    for name, value in defaults.items():
        if name not in filled.columns:
            filled = filled.withColumn(name, value)
    if dict(filled.dtypes).get("job_params") == "string":  # {name: number} as JSON text, as the runs table once stored it
        filled = filled.withColumn("job_params", F.from_json("job_params", "map<string,double>"))
    return conform_dataframe(RUNS, filled)


def external_runs_arrow(runs: "pd.DataFrame", source: str, updated_at: datetime):
    """The pandas counterpart of normalize_external_runs: an Arrow table conforming to RUNS."""
    import pyarrow as pa

    from spark_optimizer.ml.model_inputs import job_params, stored_job_params
    from spark_optimizer.tables.schema import arrow_type_of
    from spark_optimizer.tables.store import conform_arrow

    _missing_required(runs.columns, source)
    frame = runs.copy()
    for name, value in {"source": source, "succeeded": True, "updated_at": updated_at}.items():
        if name not in frame.columns:
            frame[name] = value
    for column in RUNS.columns:  # whole-number columns take measured floats (a runtime of 46378.9 ms) rounded
        if column.type in ("int", "long") and column.name in frame.columns and frame[column.name].dtype.kind == "f":
            frame[column.name] = frame[column.name].round().astype("Int64")
    frame = frame.astype(object).where(frame.notna(), None)
    records = frame.to_dict("records")
    params = [stored_job_params(job_params(r.pop("job_params"))) for r in records] if "job_params" in frame.columns else None
    table = pa.Table.from_pylist(records)
    if params is not None:  # a dict would be taken for a struct
        table = table.append_column("job_params", pa.array(params, type=arrow_type_of(RUNS.column("job_params"))))
    return conform_arrow(RUNS, table)


def add_external_runs(store: TableStore, runs: "DataFrame | pd.DataFrame", source: str, updated_at: datetime) -> int:
    """Upsert runs from another source (a Spark or pandas DataFrame with the runs table's columns) into
    the runs table so the next training uses them; returns how many. A pandas frame needs no JVM."""
    store.ensure(RUNS)
    if not isinstance(runs, DataFrame):
        table = external_runs_arrow(runs, source, updated_at)
        store.upsert(RUNS, table)
        return table.num_rows
    rows = normalize_external_runs(runs, source, updated_at).cache()
    try:
        store.upsert(RUNS, rows)
        return rows.count()
    finally:
        rows.unpersist()


def refresh_runs(spark: SparkSession, store: TableStore, updated_at: datetime) -> int:
    """Upsert the event-log runs derived from `features`; returns the number of runs written."""
    store.ensure(RUNS)
    if not store.exists(FEATURES):
        return 0
    runs = runs_from_features(store.read(FEATURES), updated_at).cache()
    try:
        count = runs.count()
        if count:
            store.upsert(RUNS, runs)
        return count
    finally:
        runs.unpersist()
