"""Rich renderings of CLI reports (kept out of cli.py so commands stay thin)."""

from __future__ import annotations


from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from spark_optimizer.refs import attempt_ref

SEVERITY_STYLE = {"critical": "bold red", "severe": "red", "moderate": "yellow", "low": "cyan", "info": "dim"}


def _seconds(ms: Any) -> str:
    return "-" if ms is None else f"{ms / 1000:,.1f} s"


def _pct(x: Any) -> str:
    """A share as a percentage; a null share is "unknown" (not logged, or the log's figures disagree)."""
    return "unknown" if x is None else f"{x:.0%}"


def _mb(b: Any) -> str:
    return "-" if b is None else f"{b / 1e6:,.1f} MB"


def app_report(report: dict[str, Any], conf: dict[str, str]) -> Group:
    app, m = report["application"], report["metrics"]
    head = Table.grid(padding=(0, 2))
    head.add_row("application", f"{attempt_ref(app['app_id'], app['attempt_id'])}  {app['app_name'] or ''}")
    head.add_row("run", f"Spark {app['spark_version']} on {app['platform']} ({app['master']}), {app['status']}, {_seconds(app['duration_ms'])}")
    head.add_row("resources", f"{app['max_concurrent_executors']} executors x {app['executor_cores']} cores, "
                 f"{app['executor_memory_mb'] or '?'} MB each ({app['executors_added']} added over the run)")
    head.add_row("work", f"{app['job_count']} jobs, {app['stage_count']} stages, {app['task_count']} tasks "
                 f"({app['failed_task_count']} failed); input {_mb(app['input_bytes'])}, shuffle read "
                 f"{_mb(app['shuffle_read_bytes'])}, spill {_mb(app['disk_bytes_spilled'])}")
    if m:
        head.add_row("time", f"executors busy {_seconds(m['executor_busy_ms'])}, driver only {_seconds(m['driver_only_ms'])} "
                     f"({_pct(m['driver_only_share'])}); core utilization {_pct(m['core_utilization'])}, "
                     f"CPU/run {_pct(m['cpu_share_of_run'])}, GC {_pct(m['gc_share'])}")
        head.add_row("bottleneck", Text(m["bottleneck"] or "-", style="bold"))
        if m.get("skipped_reason"):
            head.add_row("not analyzed", m["skipped_reason"])
        if m.get("accelerator"):
            head.add_row("engine", {"rapids": "GPU (NVIDIA RAPIDS)", "photon": "Databricks Photon", "gluten": "Gluten / Velox"}
                         .get(m["accelerator"], m["accelerator"]))
        for reason in m.get("unknown_metrics") or []:
            head.add_row("unknown", reason)
    parts: list[Any] = [Panel(head, title="summary", expand=False)]
    if report.get("heaviest_stages"):
        heavy = Table(title="heaviest stages")
        for column in ("stage", "job", "duration", "tasks", "share of task time", "GC", "CPU/run", "max/median", "critical path", "bottleneck"):
            heavy.add_column(column, justify="right")
        for st in report["heaviest_stages"]:
            heavy.add_row(f"{st['stage_id']}.{st['stage_attempt_id']}", str(st["job_id"]), _seconds(st["duration_ms"]),
                          str(st["task_count"]), _pct(st["task_time_share"]), _pct(st["gc_share"]), _pct(st["cpu_share_of_run"]),
                          "-" if st["task_duration_skew_ratio"] is None else f"{st['task_duration_skew_ratio']:.1f}",
                          "yes" if st["on_critical_path"] else "", st["bottleneck"] or "-")
        parts.append(heavy)
    findings = Table(title="findings", show_lines=True)
    for column in ("severity", "rule", "what was found", "change"):
        findings.add_column(column, overflow="fold")
    for f in report["findings"]:
        findings.add_row(Text(f["severity"], style=SEVERITY_STYLE[f["severity"]]), f["rule_id"],
                         f"{f['title']}\n[dim]{f['rationale']}[/dim]", "\n".join(f"{k}={v}" for k, v in f["recommended_conf"].items()))
    parts.append(findings if report["findings"] else Text("no findings: no rule fired", style="green"))
    whatif = report["whatif"]
    if "error" in whatif:
        parts.append(Text(f"what-if: {whatif['error']}", style="dim"))
    else:
        table = Table(title=f"what-if ({whatif['cores_per_executor']} cores per executor; driver-only time "
                      f"{_seconds(whatif['driver_only_ms'])} kept; replay error at observed size {whatif['calibration_error']:+.0%})")
        for column in ("executors", "estimated wall", "core-hours", "speedup"):
            table.add_column(column, justify="right")
        for p in whatif["points"]:
            mark = " (ideal)" if p["executors"] == whatif["ideal_executors"] else ""
            mark += " (observed)" if p["executors"] == whatif["observed_executors"] else ""
            table.add_row(f"{p['executors']}{mark}", _seconds(p["estimated_wall_ms"]), f"{p['estimated_core_hours']:.3f}",
                          f"{p['speedup_vs_observed']:.2f}x")
        parts.append(table)
    if conf:
        parts.append(Panel(" ".join(f"--conf {k}={v}" for k, v in conf.items()), title="spark-submit", expand=False))
    resolved = report.get("configuration", {}).get("resolved") or []
    if resolved:
        parts.append(Text("conflicts settled:\n" + "\n".join(f"  {r}" for r in resolved), style="dim"))
    return Group(*parts)


def jobs_table(page: dict[str, Any]) -> Table:
    """A page of `JobsRunner.page`: {total, offset, limit, items}."""
    rows = page["items"]
    shown = f"{page['offset'] + 1}-{page['offset'] + len(rows)} of {page['total']}" if rows else f"0 of {page['total']}"
    table = Table(title=f"application attempts {shown}")
    for column in ("app_id/attempt", "name", "start (UTC)", "status", "duration", "platform", "executors", "tasks", "failed", "bottleneck"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r["ref"], (r["app_name"] or "")[:40], r["start"], r["status"], _seconds(r["duration_ms"]), r["platform"],
                      str(r["executors_added"]), str(r["task_count"]), str(r["failed_task_count"]), r.get("bottleneck") or "-")
    return table


def applications_table(store: Any, warehouse: str) -> Table:
    """Every ingested attempt with its bottleneck and most severe finding (the quickstart's overview)."""
    from spark_optimizer.rules.model import finding_order
    from spark_optimizer.tables import APP_METRICS, APPLICATIONS, FINDINGS
    from spark_optimizer.tables.instants import epoch_ms

    metrics = {(r["app_id"], r["attempt_id"]): r for r in store.read_arrow(APP_METRICS).to_pylist()}
    findings: dict = {}
    for f in sorted(store.read_arrow(FINDINGS).to_pylist(), key=finding_order):
        findings.setdefault((f["app_id"], f["attempt_id"]), []).append(f)
    table = Table("app_id/attempt", "name", "spark", "platform", "duration s", "executors", "tasks", "failed",
                  "bottleneck", "findings", "most severe finding", title=f"applications in {warehouse}")
    for row in sorted(store.read_arrow(APPLICATIONS).to_pylist(), key=lambda r: epoch_ms(r["start_time"]) or 0):
        key = (row["app_id"], row["attempt_id"])
        top = findings.get(key, [])
        table.add_row(attempt_ref(*key), (row["app_name"] or "")[:28], row["spark_version"], row["platform"],
                      f"{(row['duration_ms'] or 0) / 1000:.1f}", str(row["executors_added"]), str(row["task_count"]),
                      str(row["failed_task_count"]), (metrics.get(key) or {}).get("bottleneck") or "-", str(len(top)),
                      f"{top[0]['severity']}: {top[0]['title']}" if top else "-")
    return table


def quickstart_pick(settings: Any) -> dict[str, Any]:
    """The signature-level recommendation with the most evidence: most runs, then the largest input
    (a size its curve can scale), then the highest confidence."""
    from spark_optimizer.recommender.lookup import latest_build, read_rows

    rows = [r for r in latest_build(read_rows(settings)) if r["level"] == "signature"]
    return max(rows, key=lambda r: (r["run_count"] or 0, r["input_bytes"] or 0, r["confidence"]))


def train_summary(summary: Any, tracking_uri: str) -> Group:
    metrics = Table("metric", "value", title="validation (configurations held out together)")
    for name, value in sorted(summary.metrics.items()):
        metrics.add_row(name, _pct(value) if "ap" in name else f"{value:.3f}")
    text = Text(
        f"trained on {summary.runs} runs of {summary.signatures} job signature(s): scaling curve chosen for "
        f"{summary.scaling_wins}, the tree model for {summary.forest_wins}, their blend for {summary.blend_wins}\n"
        f"runtime model version {summary.runtime_model_version}"
        + (f", resource model version {summary.resource_model_version}" if summary.resource_model_version else ", no resource model (no Peak Execution Memory logged)")
        + f" (alias champion)\nMLflow run {summary.mlflow_run_id} in {tracking_uri}"
    )
    return Group(text, metrics)


def similar_table(data: dict[str, Any]) -> Table:
    """`ReportRunner.similar`'s data: the target and its most similar runs."""
    table = Table("app_id/attempt", "name", "similarity", "wall s", "same job", "what differed",
                  title=f"runs most similar to {data['ref']} ({data['app_name']}, {data['job_signature']})")
    for r in data["similar"]:
        table.add_row(r["ref"], (r["app_name"] or "")[:28], f"{r['similarity']:.3f}", f"{(r['wall_ms'] or 0) / 1000:.1f}",
                      "yes" if r["job_signature"] == data["job_signature"] else "no", "; ".join(r["differences"]) or "-")
    return table
