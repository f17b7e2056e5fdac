"""The corpus's Spark workloads: each reads its Parquet inputs and runs to completion.

A workload is `run(spark, inputs, scratch)`: `inputs` maps dataset name -> folder, `scratch` is
an empty folder for outputs that a real job would write (deleted after the run). Results go to
the `noop` sink or to Parquet in `scratch`; nothing is collected to the driver beyond a handful
of rows. No Python UDFs: every task runs in the executor JVMs. `conf` holds properties a
workload needs to show its shape (set on the application, so they are in its event log).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


@dataclass(frozen=True)
class Workload:
    name: str
    datasets: tuple[str, ...]
    run: Callable[[Any, dict[str, str], Path], None]
    shows: str
    conf: dict[str, str] = field(default_factory=dict)


def _noop(df) -> None:
    df.write.format("noop").mode("overwrite").save()


def aggregation(spark, inputs, scratch) -> None:
    """Two group-bys over the sales fact: a low-cardinality report with an exact distinct count,
    and a per-customer roll-up with N/10 groups (large hash aggregates; spill when memory is low)."""
    from pyspark.sql import functions as F

    sales = spark.read.parquet(inputs["sales"]).withColumn("revenue", F.col("quantity") * F.col("unit_price") * (1 - F.col("discount")))
    _noop(sales.groupBy("store_id", "channel", F.trunc("sale_date", "month").alias("month")).agg(
        F.sum("revenue").alias("revenue"), F.avg("discount").alias("avg_discount"),
        F.count("*").alias("sales"), F.countDistinct("customer_id").alias("customers"),
    ))  # fmt: skip
    _noop(sales.groupBy("customer_id").agg(
        F.sum("revenue").alias("revenue"), F.max("sale_date").alias("last_sale"),
        F.collect_set("channel").alias("channels"), F.max("note").alias("longest_note"),
    ))  # fmt: skip


def multi_join(spark, inputs, scratch) -> None:
    """Star join: sales x customers x products x stores, left-joined with returns, then grouped.
    Spark picks each join's strategy from the table sizes (broadcast vs sort-merge)."""
    from pyspark.sql import functions as F

    read = lambda name: spark.read.parquet(inputs[name])  # noqa: E731
    joined = (
        read("sales")
        .join(read("customers"), "customer_id")
        .join(read("products"), "product_id")
        .join(read("stores"), "store_id")
        .join(read("returns").select("sale_id", "refund"), "sale_id", "left")
    )
    _noop(joined.groupBy("region", "category", "segment", F.year("sale_date").alias("year")).agg(
        F.sum(F.col("quantity") * F.col("unit_price")).alias("gross"),
        F.sum(F.coalesce("refund", F.lit(0.0))).alias("refunds"),
        F.countDistinct("customer_id").alias("customers"), F.avg("lifetime_value").alias("avg_ltv"),
    ))  # fmt: skip


def skewed_join(spark, inputs, scratch) -> None:
    """clicks x pages on page_id where 30% of the clicks hit one page: with broadcast off, one
    sort-merge-join partition gets the hot key (AQE's skew-join splitting helps when it is on)."""
    from pyspark.sql import functions as F

    clicks, pages = spark.read.parquet(inputs["clicks"]), spark.read.parquet(inputs["pages"])
    joined = clicks.join(pages, "page_id")
    _noop(joined.groupBy("section", F.to_date("ts").alias("day")).agg(
        F.count("*").alias("clicks"), F.avg("dwell_ms").alias("avg_dwell_ms"),
        F.max(F.length("url")).alias("max_url"), F.approx_count_distinct("user_id").alias("users"),
    ))  # fmt: skip


def wide_sort(spark, inputs, scratch) -> None:
    """A global sort of every sales column (range-partitioned shuffle of whole rows), written as
    Parquet: the shape of a compaction / clustering job; spills when partitions are few and memory small."""
    sales = spark.read.parquet(inputs["sales"])
    sales.orderBy("customer_id", "sale_date", "sale_id").write.mode("overwrite").parquet(str(scratch / "sorted_sales"))


def window_dedup(spark, inputs, scratch) -> None:
    """Deduplicate events by id, then per-user windows (row number, lag, running sum) and the latest
    event per user written as Parquet."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    events = spark.read.parquet(inputs["events"]).dropDuplicates(["event_id"])
    by_user = Window.partitionBy("user_id").orderBy("event_time", "event_id")
    enriched = events.select(
        "*",
        F.row_number().over(by_user).alias("seq"),
        F.lag("event_time").over(by_user).alias("previous_time"),
        F.sum("value").over(by_user.rowsBetween(Window.unboundedPreceding, 0)).alias("running_value"),
        F.count("*").over(Window.partitionBy("user_id")).alias("user_events"),
    )
    latest = enriched.where(F.col("seq") == F.col("user_events"))
    latest.write.mode("overwrite").parquet(str(scratch / "latest_events"))


def ml_kmeans(spark, inputs, scratch) -> None:
    """An iterative MLlib fit: assemble and scale 8 features, K-means (k=6, 10 iterations; the
    input is cached by K-means itself), then score the training set."""
    from pyspark.ml import Pipeline
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.feature import StandardScaler, VectorAssembler

    points = spark.read.parquet(inputs["points"])
    pipeline = Pipeline(stages=[
        VectorAssembler(inputCols=[f"f{i}" for i in range(8)], outputCol="raw"),
        StandardScaler(inputCol="raw", outputCol="features"),
        KMeans(k=6, maxIter=10, tol=0.0, seed=1, initMode="k-means||", initSteps=2),
    ])  # fmt: skip
    model = pipeline.fit(points)
    _noop(model.transform(points).groupBy("prediction", "segment").count())


def cache_reuse(spark, inputs, scratch) -> None:
    """An enriched sales table cached in executor memory and read by four reports: when storage
    memory is too small, partitions are recomputed from Parquet on every read."""
    from pyspark.sql import functions as F

    sales = spark.read.parquet(inputs["sales"])
    products = spark.read.parquet(inputs["products"])
    enriched = (
        sales.join(products, "product_id")
        .withColumn("revenue", F.col("quantity") * F.col("unit_price") * (1 - F.col("discount")))
        .select("sale_id", "customer_id", "store_id", "sale_date", "channel", "category", "brand", "revenue", "note")
        .cache()
    )
    enriched.count()
    _noop(enriched.groupBy("category", "channel").agg(F.sum("revenue"), F.count("*")))
    _noop(enriched.groupBy("brand").agg(F.avg("revenue"), F.max("sale_date")))
    _noop(enriched.groupBy("store_id", F.month("sale_date")).agg(F.sum("revenue")))
    _noop(enriched.groupBy("customer_id").agg(F.sum("revenue"), F.countDistinct("category")))
    enriched.unpersist()


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        Workload("aggregation", ("sales",), aggregation, "group-bys with an exact distinct count and N/10 groups"),
        Workload("multi_join", ("sales", "customers", "products", "stores", "returns"), multi_join,
                 "five-table star join, then a grouped report"),
        Workload("skewed_join", ("clicks", "pages"), skewed_join, "sort-merge join where 30% of rows share one key",
                 {"spark.sql.autoBroadcastJoinThreshold": "-1"}),
        Workload("wide_sort", ("sales",), wide_sort, "global sort of whole rows, written as Parquet"),
        Workload("window_dedup", ("events",), window_dedup, "dropDuplicates then per-user window functions"),
        Workload("ml_kmeans", ("points",), ml_kmeans, "MLlib pipeline: assembler, scaler, K-means (10 iterations)"),
        Workload("cache_reuse", ("sales", "products"), cache_reuse, "a cached join read by four aggregations"),
    ]
}  # fmt: skip
