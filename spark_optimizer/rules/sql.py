"""Rules about SQL execution settings: AQE, broadcast joins, serializer."""

from __future__ import annotations

from typing import Any, Mapping

from spark_optimizer.rules.model import MB, AppFacts, Finding
from spark_optimizer.spark_rules import is_true, parse_version, property_available

AQE_DEFAULT_ON = (3, 2)  # SPARK-33679: spark.sql.adaptive.enabled defaults to true from Spark 3.2


def aqe_disabled(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    version = parse_version(facts.spark_version)
    if version is None or not property_available("spark.sql.adaptive.enabled", facts.spark_version) or not facts.plan_node_names:
        return None
    if version[0] < p["min_spark_major"]:
        return None
    explicit = facts.conf_value("spark.sql.adaptive.enabled")
    enabled = is_true(explicit) if explicit is not None else version >= AQE_DEFAULT_ON
    if enabled:
        return None
    return Finding(
        "aqe_disabled", "sql", "moderate", "Adaptive query execution is off",
        {"spark.sql.adaptive.enabled": explicit, "spark_version": facts.app.get("spark_version"),
         "sql_executions": facts.app.get("sql_execution_count")},
        {"spark.sql.adaptive.enabled": "true", "spark.sql.adaptive.coalescePartitions.enabled": "true",
         "spark.sql.adaptive.skewJoin.enabled": "true"},
        "AQE re-plans with real shuffle sizes: it merges tiny partitions, splits skewed ones and switches to broadcast joins.",
    )


def _join_sides(facts: AppFacts) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    """(small, large) shuffle-writing stages that feed one join.

    A join reads two shuffles: either a stage lists both writers as parents, or, under AQE
    (whose join stage points at re-planned, skipped copies of the map stages), both map stages
    ran for the same SQL execution.
    """
    def pair(writers):
        writers = sorted((w for w in writers if (w.get("shuffle_write_bytes") or 0) > 0), key=lambda w: w["shuffle_write_bytes"])
        if len(writers) >= 2 and writers[-1]["shuffle_write_bytes"] >= 4 * writers[0]["shuffle_write_bytes"]:
            return writers[0], writers[-1]
        return None

    by_id = {s["stage_id"]: s for s in facts.stages}
    found = []
    for child in facts.stages:
        found.append(pair([by_id[int(p)] for p in child.get("parent_stage_ids") or [] if int(p) in by_id]))
    by_execution: dict[Any, list] = {}
    for s in facts.stages:
        if s.get("sql_execution_id") is not None and not (s.get("shuffle_read_bytes") or 0):
            by_execution.setdefault(s["sql_execution_id"], []).append(s)
    found.extend(pair(stages) for stages in by_execution.values())
    return [p for p in found if p]


def broadcast_join_opportunity(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    if "SortMergeJoin" not in facts.plan_node_names:
        return None
    candidates = _join_sides(facts)
    if not candidates:
        return None
    small, large = max(candidates, key=lambda pair: pair[1]["shuffle_write_bytes"])
    small_mb = small["shuffle_write_bytes"] / MB
    threshold_conf = facts.conf_value("spark.sql.autoBroadcastJoinThreshold")
    threshold_mb = facts.conf_bytes("spark.sql.autoBroadcastJoinThreshold") / MB
    if small_mb > p["small_side_max_mb"] or (threshold_mb >= 0 and small_mb <= threshold_mb):
        return None
    recommended = max(16, 2 ** int(small_mb * 2).bit_length())
    return Finding(
        "broadcast_join_opportunity", "sql", "moderate",
        f"A sort-merge join shuffles a {small['shuffle_write_bytes'] / 1024:.0f} KB side that could be broadcast"
        if small_mb < 1 else f"A sort-merge join shuffles a {small_mb:.1f} MB side that could be broadcast",
        {"small_side_stage_id": small["stage_id"], "small_side_shuffle_mb": round(small_mb, 2),
         "autoBroadcastJoinThreshold": threshold_conf, "large_side_stage_id": large["stage_id"], "large_side_shuffle_mb": round(large["shuffle_write_bytes"] / MB, 1)},
        {"spark.sql.autoBroadcastJoinThreshold": f"{recommended}m"},
        "Broadcasting the small side avoids shuffling and sorting the large side; the threshold must exceed the small side's size.",
        [small["stage_id"]],
    )


def kryo_not_used(facts: AppFacts, p: Mapping[str, Any]) -> Finding | None:
    serializer = facts.conf_value("spark.serializer") or "org.apache.spark.serializer.JavaSerializer"
    if "Kryo" in serializer:
        return None
    rdd_time = sum(s.get("task_time_ms") or 0 for s in facts.stages if s.get("rdd_stage"))
    total = sum(s.get("task_time_ms") or 0 for s in facts.stages) or 1
    share = rdd_time / total
    if share < p["min_rdd_task_share"] or not (facts.app.get("shuffle_write_bytes") or facts.app.get("memory_bytes_spilled")):
        return None
    return Finding(
        "kryo_not_used", "sql", "low", f"{share:.0%} of task time is RDD code serialized with Java serialization",
        {"rdd_task_time_share": round(share, 3), "spark.serializer": serializer},
        {"spark.serializer": "org.apache.spark.serializer.KryoSerializer", "spark.kryoserializer.buffer.max": "256m"},
        "RDD shuffles and caches serialize objects; Kryo is several times faster and smaller than Java serialization "
        "(DataFrame/SQL code uses its own encoders and does not need it).",
    )
