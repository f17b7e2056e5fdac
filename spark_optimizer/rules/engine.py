"""The rule engine: a registry of small rules, thresholds from conf/rules.toml, and the Spark
job that evaluates every rule on every application's facts (one application per row)."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Mapping

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spark_optimizer.errors import ConfigurationError
from spark_optimizer.rules import failures, memory, partitioning, resources, sql
from spark_optimizer.rules.model import AppFacts, Finding, Rule
from spark_optimizer.rules.suggestions import fit_to_application
from spark_optimizer.tables.findings import FINDINGS

RULES_FILE = Path(__file__).resolve().parents[2] / "conf" / "rules.toml"
KEY = ["app_id", "attempt_id"]

RULES: dict[str, Rule] = {
    "data_skew": partitioning.data_skew,
    "spill_to_disk": memory.spill_to_disk,
    "excessive_gc": memory.excessive_gc,
    "executor_memory_overprovisioned": memory.executor_memory_overprovisioned,
    "executor_memory_underprovisioned": memory.executor_memory_underprovisioned,
    "too_many_shuffle_partitions": partitioning.too_many_shuffle_partitions,
    "too_few_shuffle_partitions": partitioning.too_few_shuffle_partitions,
    "tasks_too_short": partitioning.tasks_too_short,
    "idle_executors": resources.idle_executors,
    "cores_per_executor": resources.cores_per_executor,
    "driver_bound": resources.driver_bound,
    "failed_tasks": failures.failed_tasks,
    "executor_loss": memory.executor_loss,
    "aqe_disabled": sql.aqe_disabled,
    "broadcast_join_opportunity": sql.broadcast_join_opportunity,
    "kryo_not_used": sql.kryo_not_used,
    "small_files": partitioning.small_files,
    "speculation_for_long_tail": partitioning.speculation_for_long_tail,
    "cost_waste": resources.cost_waste,
    "under_parallelized": partitioning.under_parallelized,
    "dynamic_allocation_without_shuffle_tracking": resources.dynamic_allocation_without_shuffle_tracking,
    "shuffle_fetch_wait": resources.shuffle_fetch_wait,
    "scheduler_delay": resources.scheduler_delay,
}


def _accelerated(facts: AppFacts) -> bool:
    return facts.accelerator is not None


def _databricks(facts: AppFacts) -> bool:
    return facts.app.get("platform") == "databricks"


# Rules that say nothing true about some kinds of application, and stay quiet on them:
# GPU (RAPIDS) and native-engine (Photon, Gluten) runs keep their working memory and serialization
# outside the JVM heap, and size executors by accelerator; Databricks sizes executors by node type
# and scales with its own autoscaler, not Spark's dynamic allocation.
NOT_APPLICABLE = {
    "executor_memory_overprovisioned": _accelerated,
    "kryo_not_used": _accelerated,
    "cores_per_executor": lambda facts: _accelerated(facts) or _databricks(facts),
    "idle_executors": _databricks,
    "dynamic_allocation_without_shuffle_tracking": _databricks,
}


def load_thresholds(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """Thresholds per rule id; every registered rule must have a section."""
    path = Path(path or RULES_FILE)
    try:
        thresholds = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"rule thresholds {path}: {exc}") from None
    missing = sorted(set(RULES) - set(thresholds))
    if missing:
        raise ConfigurationError(f"rule thresholds {path} have no section for {missing}")
    return thresholds


def evaluate(facts: AppFacts, thresholds: Mapping[str, Mapping[str, Any]]) -> list[Finding]:
    """Every rule on one application; a rule that breaks on odd data reports itself, the others still run."""
    findings = []
    significance = thresholds.get("significance", {})
    for rule_id, rule in RULES.items():
        if rule_id in NOT_APPLICABLE and NOT_APPLICABLE[rule_id](facts):
            continue
        try:
            finding = rule(facts, {**significance, **thresholds.get(rule_id, {})})
            if finding is not None:
                finding = fit_to_application(finding, facts.conf, facts.spark_version, facts.app.get("platform"))
        except Exception as exc:  # noqa: BLE001 - one rule must not hide the others' findings
            finding = Finding(rule_id, "internal", "info", f"rule {rule_id} could not be evaluated: {exc!r}", {}, {},
                              "This is a bug in the rule; please report it with the application's event log.")
        if finding is not None:
            findings.append(finding)
    return sorted(findings, key=lambda f: -["info", "low", "moderate", "severe", "critical"].index(f.severity))


def build_app_facts(
    applications: DataFrame, app_metrics: DataFrame, stages: DataFrame, executors: DataFrame,
    spark_conf: DataFrame, sql_executions: DataFrame, jobs: DataFrame, tasks: DataFrame,
) -> DataFrame:
    """One row per application attempt with everything the rules read, nested."""
    job_sql = jobs.select(*KEY, "job_id", "sql_execution_id")
    stage_rows = stages.join(job_sql, KEY + ["job_id"], "left").withColumn(
        "rdd_stage", F.col("job_id").isNotNull() & F.col("sql_execution_id").isNull()
    )
    stage_lists = stage_rows.groupBy(*KEY).agg(F.collect_list(F.struct(*[c for c in stage_rows.columns if c not in KEY])).alias("stages"))
    executor_lists = executors.groupBy(*KEY).agg(
        F.collect_list(F.struct("executor_id", "is_driver", "total_cores", "lost", "remove_reason", "task_count")).alias("executors")
    )
    conf_maps = spark_conf.where(F.col("source") == "spark").groupBy(*KEY).agg(
        F.map_from_entries(F.collect_list(F.struct("key", "value"))).alias("conf")
    )
    plan_names = sql_executions.select(*KEY, F.explode("plan_node_names").alias("node")).groupBy(*KEY).agg(
        F.collect_set("node").alias("plan_node_names")
    )
    # Failure texts as logged (their first 4000 characters hold the exception class and message, and a
    # Python worker's traceback up to the error it raised), the 50 most frequent per application.
    by_count = Window.partitionBy(*KEY).orderBy(F.desc("count"))
    reasons = (
        tasks.where(F.col("failure_reason").isNotNull())
        .withColumn("reason", F.substring("failure_reason", 1, 4000))
        .groupBy(*KEY, "reason").count()
        .withColumn("rank", F.row_number().over(by_count)).where(F.col("rank") <= 50)
        .groupBy(*KEY).agg(F.map_from_entries(F.collect_list(F.struct("reason", "count"))).alias("failure_reasons"))
    )
    job_lists = jobs.groupBy(*KEY).agg(
        F.collect_list(F.struct("job_id", "result", F.substring("failure_reason", 1, 4000).alias("failure_reason"))).alias("jobs"))
    app_struct = F.struct(*[c for c in applications.columns if c not in KEY]).alias("app")
    metrics_struct = F.struct(*[c for c in app_metrics.columns if c not in KEY]).alias("metrics")
    return (
        applications.select(*KEY, app_struct)
        .join(app_metrics.select(*KEY, metrics_struct), KEY, "left")
        .join(stage_lists, KEY, "left")
        .join(executor_lists, KEY, "left")
        .join(conf_maps, KEY, "left")
        .join(plan_names, KEY, "left")
        .join(reasons, KEY, "left")
        .join(job_lists, KEY, "left")
    )


def _facts_from_row(row) -> AppFacts:
    d = row.asDict(recursive=True)
    return AppFacts(
        app=d["app"] or {}, metrics=d.get("metrics") or {}, stages=d.get("stages") or [],
        executors=d.get("executors") or [], conf=d.get("conf") or {},
        plan_node_names=tuple(d.get("plan_node_names") or ()), failure_reasons=d.get("failure_reasons") or {},
        jobs=d.get("jobs") or [],
    )


def run_rules(spark: SparkSession, facts: DataFrame, thresholds: Mapping[str, Mapping[str, Any]], analyzed_at: datetime) -> DataFrame:
    """Evaluate the rules in Spark tasks (one application per row) into `findings` rows."""
    columns = FINDINGS.column_names

    def findings_of(row) -> Iterator[tuple]:
        for finding in evaluate(_facts_from_row(row), thresholds):
            record = finding.as_row(row["app_id"], row["attempt_id"], analyzed_at)
            yield tuple(record[c] for c in columns)

    return spark.createDataFrame(facts.rdd.flatMap(findings_of), FINDINGS.spark_schema())
