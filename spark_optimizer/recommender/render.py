"""Rich renderings of a lookup answer (kept out of cli.py so the command stays thin)."""

from __future__ import annotations

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from spark_optimizer.cost import format_duration
from spark_optimizer.recommender.answer import human_size
from spark_optimizer.recommender.sparkconf import cluster_json


def _money(currency: str, value) -> str:
    return "-" if value is None else f"{currency} {value:,.2f}"


def recommendation_view(answer) -> Group:
    r = answer.row
    head = Table.grid(padding=(0, 2))
    if r["job_signature"]:
        target = f"{r['app_name']} ({r['job_signature']})" if r["app_name"] else r["job_signature"]
    else:
        target = f"{r['job_type']} jobs, {r['size_band']}"
    head.add_row("for", f"{target} at {human_size(r['input_bytes'])} input")
    executors = (f"{r['executors']} (dynamic allocation {r['min_executors']}..{r['max_executors']})"
                 if r["dynamic_allocation"] else str(r["executors"]))
    head.add_row("executors", f"{executors} x {r['executor_cores']} cores, {r['executor_memory_mb']} MB "
                 f"+ {r['memory_overhead_mb']} MB overhead; driver {r['driver_memory_mb']} MB")
    adaptive = ("AQE on" + (", skew join on" if r["skew_join_enabled"] else "") if r["aqe_enabled"]
                else f"no AQE (Spark {r['spark_version']})")
    head.add_row("shuffle", f"{r['shuffle_partitions']} partitions, {adaptive}")
    head.add_row("instances", f"{r['instance_count']} x {r['instance_type']} on {r['cloud']}"
                 + (f" ({r['spot_share']:.0%} of workers on spot)" if r["spot_share"] else ""))
    level = f"{r['interval_level']:.0%} interval " if r.get("interval_level") else "assumed "
    head.add_row("runtime", f"{format_duration(r['predicted_runtime_ms'] / 1000)} "
                 f"({level}{format_duration(r['runtime_low_ms'] / 1000)} .. {format_duration(r['runtime_high_ms'] / 1000)})")
    head.add_row("cost", f"{_money(r['currency'], r['predicted_cost'])} "
                 f"({_money(r['currency'], r['cost_low'])} .. {_money(r['currency'], r['cost_high'])}) per run, {r['objective']}")
    style = {"high": "green", "medium": "yellow", "low": "red"}[r["confidence_label"]]
    head.add_row("confidence", Text(f"{r['confidence_label']}: {r.get('confidence_reason') or '-'}", style=style))
    head.add_row("methods", f"{', '.join(r['methods'])}; curve: {r['curve_source']}")
    head.add_row("id", r["recommendation_id"])
    parts = [Panel(head, title="recommendation", expand=False), Text(r["rationale"], style="dim"),
             Panel(r["spark_submit"], title="spark-submit", expand=False)]
    if answer.by_cloud:
        parts.append(clouds_table(answer))
    return Group(*parts)


def pareto_table(answer) -> Table:
    r = answer.row
    table = Table("executors x cores", "memory MB", "runtime", "cost", "instances",
                  title=f"cost/runtime Pareto frontier ({len(answer.result.candidates)} candidates on {r['cloud']})")
    for c in answer.frontier:
        mark = " *" if c is answer.result.best else ""
        table.add_row(f"{c.shape.executors} x {c.shape.executor_cores}{mark}", str(c.shape.executor_memory_mb),
                      format_duration(c.runtime_s), _money(c.cost.currency, c.cost.total),
                      f"{c.plan.workers} x {c.plan.worker_type.name}")
    return table


def clouds_table(answer) -> Table:
    table = Table("cloud", "executors x cores", "memory MB", "instances", "runtime", "cost", "cost range",
                  title="side by side (each cloud's best by the objective)")
    for name, (row, _) in answer.by_cloud.items():
        table.add_row(name + (" *" if row["recommendation_id"] == answer.row["recommendation_id"] and name == answer.row["cloud"] else ""),
                      f"{row['executors']} x {row['executor_cores']}", str(row["executor_memory_mb"]),
                      f"{row['instance_count']} x {row['instance_type']}", format_duration(row["predicted_runtime_ms"] / 1000),
                      _money(row["currency"], row["predicted_cost"]),
                      f"{_money(row['currency'], row['cost_low'])} .. {_money(row['currency'], row['cost_high'])}")
    for name, error in (answer.row.get("cloud_errors") or {}).items():
        table.add_row(name, "-", "-", "-", "-", "-", error[:60])
    return table


def databricks_fragment(answer) -> str:
    return cluster_json(answer.row["databricks_cluster"])


def ranking_table(answer) -> Table:
    """The asked candidate configurations, best first by the objective."""
    table = Table("rank", "candidate", "instances", "executors x cores", "memory MB", "runtime", "cost", "confidence", "note",
                  title=f"candidates ranked ({answer.row['objective']})")
    for r in answer.row["ranking"]:
        if r.get("error"):
            table.add_row("-", r["candidate"], "", "", "", "", "", "", r["error"][:120])
            continue
        table.add_row(str(r["rank"]), r["candidate"], f"{r['nodes']} x {r['instance_type']}",
                      f"{r['executors']} x {r['executor_cores']}", str(r["executor_memory_mb"]),
                      format_duration(r["predicted_runtime_s"]), f"{r['currency']} {r['cost']:.2f}", r.get("confidence_label") or "-",
                      "" if r["within_constraints"] else "outside the deadline/budget")
    return table
