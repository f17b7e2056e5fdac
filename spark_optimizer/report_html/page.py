"""The pages around the plots: what each section shows, rendered by the Jinja2 templates in
`templates/` (autoescaped; the only unescaped markup is the templates' own and the plots' SVG) into
one self-contained page (inline CSS and SVG, no script, no URL).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Callable, Mapping, Sequence

import jinja2
from markupsafe import Markup

from spark_optimizer.refs import attempt_ref
from spark_optimizer.report_html import plots
from spark_optimizer.report_html.data import AppReportData, Trend
from spark_optimizer.report_html.fmt import duration, number, pct, size

SEVERITY_COLORS = {"critical": "#b3000c", "severe": "#e45756", "moderate": "#c98a00", "low": "#2a7fb8", "info": "#777777"}

TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("spark_optimizer.report_html", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=lambda value: "-" if value is None else value,  # a missing value reads "-"
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _plot(render: Callable[[], str], available: bool, caption: str, missing: str) -> dict[str, Any]:
    """A plot's SVG (trusted markup: drawn here by matplotlib) with its caption, or why there is none."""
    return {"svg": Markup(render()) if available else None, "caption": caption, "missing": missing}


def _render(template: str, generated_at: datetime, source: str, **context: Any) -> str:
    stamp = generated_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return TEMPLATES.get_template(template).render(generated_at=stamp, source=source, **context)


# ---- one application ---------------------------------------------------------------------------------

SECTIONS = (("summary", "Summary"), ("findings", "Findings"), ("configuration", "Recommended configuration"),
            ("timeline", "Executor timeline"), ("critical-path", "Critical path"), ("skew", "Task durations"),
            ("memory", "Memory and GC"), ("whatif", "What-if"), ("stages", "Heaviest stages"))


def app_page(page: AppReportData, generated_at: datetime) -> str:
    """The report page of one application attempt.

    Example::

        html = app_page(gather_app_report(store, app_id, attempt_id), datetime.now(timezone.utc))
    """
    report = page.report
    app = report["application"]
    ref = attempt_ref(app["app_id"], app["attempt_id"])
    return _render(
        "app.html.j2", generated_at, app.get("source_path") or ref,
        app=app, ref=ref, sections=SECTIONS,
        summary=_summary(report),
        findings=_findings(report["findings"]),
        configuration=_configuration(page.configuration, page.configuration_source,
                                     page.report.get("configuration", {}).get("resolved", []) if page.configuration_source == "rules" else []),
        timeline=_timeline(page),
        critical_path=_critical_path(page),
        skew=_skew(page),
        memory=_memory(page),
        whatif=_whatif(page, report["whatif"]),
        stages=_stages(report["heaviest_stages"]),
    )


def _summary(report: Mapping[str, Any]) -> dict[str, list[tuple[Any, Any]]]:
    app, m = report["application"], report["metrics"]
    cards = [
        (duration(app["duration_ms"]), "wall time"),
        (f"{app['max_concurrent_executors'] or '?'} × {app['executor_cores'] or '?'}", "executors × cores (peak)"),
        (f"{number(app['task_count'])}", f"tasks ({number(app['failed_task_count'])} failed)"),
        (m.get("bottleneck") or "not analyzed", "bottleneck"),
        (str(len(report["findings"])), "findings"),
        (pct(m.get("core_utilization")), "core utilization"),
    ]
    rows = [
        ("application", f"{attempt_ref(app['app_id'], app['attempt_id'])}  {app['app_name'] or ''}"),
        ("user", app["user"]),
        ("run", f"Spark {app['spark_version']} on {app['platform']} ({app['master']}), {app['status']}, {duration(app['duration_ms'])}"),
        ("resources", f"{app['max_concurrent_executors']} executors × {app['executor_cores']} cores, "
                      + (f"{app['executor_memory_mb']} MB each" if app["executor_memory_mb"] else "executor memory not logged")
                      + f" ({app['executors_added']} added over the run)"),
        ("work", f"{app['job_count']} jobs, {app['stage_count']} stages, {app['task_count']} tasks ({app['failed_task_count']} failed)"),
        ("data", f"input {size(app['input_bytes'])}, shuffle read {size(app['shuffle_read_bytes'])}, "
                 f"shuffle write {size(app['shuffle_write_bytes'])}, spilled to disk {size(app['disk_bytes_spilled'])}"),
    ]
    if m:
        rows += [
            ("time", f"executors busy {duration(m.get('executor_busy_ms'))}, driver only {duration(m.get('driver_only_ms'))} "
                     f"({pct(m.get('driver_only_share'))})"),
            ("efficiency", f"core utilization {pct(m.get('core_utilization'))}, CPU / run time {pct(m.get('cpu_share_of_run'))}, "
                           f"GC {pct(m.get('gc_share'))}, wasted {number(m.get('wasted_core_hours'), 3)} core-hours"),
        ]
        rows += _labels(m)
    return {"cards": cards, "rows": rows}


def _labels(m: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What kind of run it was and which figures are unknown, and why."""
    rows = [("not analyzed", m["skipped_reason"])] if m.get("skipped_reason") else []
    if m.get("accelerator"):
        rows.append(("engine", {"rapids": "GPU (NVIDIA RAPIDS plugin)", "photon": "Databricks Photon",
                                "gluten": "Gluten / Velox native engine"}.get(m["accelerator"], m["accelerator"])))
    if m.get("incomplete"):
        rows.append(("incomplete", "no ApplicationEnd: the run is measured up to its last task, stage, job or SQL event"))
    for reason in m.get("unknown_metrics") or []:
        rows.append(("unknown", reason))
    return rows


def _evidence_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _findings(findings: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{
        "color": SEVERITY_COLORS.get(f["severity"], "#777777"),
        "severity": f["severity"], "title": f["title"], "rule_id": f["rule_id"], "category": f["category"],
        "rationale": f["rationale"],
        "evidence": [(k, _evidence_value(v)) for k, v in (f["evidence"] or {}).items()],
        "changes": [f"{k}={v}" for k, v in (f["recommended_conf"] or {}).items()],
        "stage_ids": ", ".join(map(str, f["stage_ids"])) if f.get("stage_ids") else "",
    } for f in findings]


def _configuration(conf: Mapping[str, str], source: str, resolved: Sequence[str] = ()) -> dict[str, Any]:
    note = ("The Spark properties the rules computed from this run's evidence, merged into one configuration Spark accepts "
            "(the most severe finding wins a conflict; each settled conflict is listed)." if source == "rules" else f"From the {source}.")
    submit = " \\\n  ".join(f"--conf {k}={v}" for k, v in conf.items())
    return {"properties": list(conf.items()), "note": note, "submit": submit, "resolved": list(resolved)}


def _timeline(page: AppReportData) -> dict[str, Any]:
    t = page.timeline
    lost = sum(s.lost for s in t.spans)
    caption = (f"{len(t.spans)} executor(s){f', {lost} lost' if lost else ''}; running tasks peaked at {t.running_tasks.peak:.0f} "
               f"with at most {t.slots.peak:.0f} task slots alive. Gaps with no running task are driver-only time; brief spikes "
               "above the slots line are tasks whose end the driver logged after their slot had started the next task.")
    return _plot(lambda: plots.executor_timeline(t), bool(t.spans) and t.wall_s > 0, caption,
                 "No executor lifetimes were logged, so there is no timeline.")


def _critical_path(page: AppReportData) -> dict[str, Any]:
    c = page.critical_path
    shown = "" if len(c.stages) == c.stage_count else f" The {len(c.stages)} longest of {c.stage_count} critical-path stages are shown."
    untimed = f" {c.untimed_count} stage(s) had no submission or completion time." if c.untimed_count else ""
    caption = (f"Stages on the longest chain of dependent stages of each job (Sparklens); their jobs' critical paths add up to "
               f"{duration(c.total_ms)} of the {duration(page.report['application']['duration_ms'])} run.{shown}{untimed}")
    return _plot(lambda: plots.critical_path(c, page.timeline.wall_s), bool(c.stages), caption,
                 "No stage metrics with critical-path information (analyze the application first).")


def _skew(page: AppReportData) -> dict[str, Any]:
    stages = page.stage_durations
    caption = ("Successful task durations of the stages with the largest share of task time. A long whisker or a lone point far "
               "right of the box is a straggler; max/median above ~4x on a heavy stage is skew.")
    return _plot(lambda: plots.task_durations(stages), bool(stages), caption, "No stage with two or more timed successful tasks.")


def _memory(page: AppReportData) -> dict[str, Any]:
    mem = page.memory
    caption = ("Peaks per executor against the executor heap (dashed red) and Spark's unified memory pool (dotted); "
               "GC time as a share of executor run time per executor and per heavy stage (dashed: the whole application).")
    return _plot(lambda: plots.memory_gc(mem), bool(mem.executors), caption, "No executors were logged.")


def _whatif(page: AppReportData, whatif: Mapping[str, Any]) -> dict[str, Any]:
    curve = page.whatif
    if curve is None:
        return {"plot": None, "error": whatif.get("error")}
    rows = []
    for p in curve.points:
        mark = " (observed)" if p["executors"] == curve.observed_executors else ""
        mark += " (ideal)" if p["executors"] == curve.ideal_executors else ""
        rows.append((f"{p['executors']}{mark}", duration(p["estimated_wall_ms"]), f"{p['estimated_core_hours']:.3f}",
                     f"{p['cost']:,.3f}", f"{p['speedup_vs_observed']:.2f}x"))
    cores = f"{curve.cores_per_executor} {'core' if curve.cores_per_executor == 1 else 'cores'} each"
    caption = (f"The run's tasks replayed on other executor counts ({cores}), driver-only time "
               f"{duration(whatif['driver_only_ms'])} held fixed; the replay at the observed size is off by "
               f"{curve.calibration_error:+.1%}. Ideal: the fewest executors within 10% of the fastest estimate.")
    return {"plot": _plot(lambda: plots.whatif(curve), True, caption, ""), "rows": rows,
            "headers": ("executors", "estimated wall time", "core-hours", f"cost ({curve.cost_unit})", "speedup")}


def _stages(stages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    rows = [(f"{s['stage_id']}.{s['stage_attempt_id']}", s["job_id"], duration(s["duration_ms"]), s["task_count"],
             pct(s["task_time_share"]), pct(s["gc_share"]), pct(s["cpu_share_of_run"]),
             "-" if s["task_duration_skew_ratio"] is None else f"{s['task_duration_skew_ratio']:.1f}",
             "yes" if s["on_critical_path"] else "", s["bottleneck"]) for s in stages]
    headers = ("stage", "job", "duration", "tasks", "share of task time", "GC", "CPU / run", "max/median", "critical path", "bottleneck")
    return {"headers": headers, "rows": rows}


# ---- one application name over time ------------------------------------------------------------------

def trend_page(trend: Trend, generated_at: datetime) -> str:
    """The runs of one application name over time."""
    runs = trend.runs
    rows = [(r.start_time.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M"),
             attempt_ref(r.app_id, r.attempt_id), r.status, duration(r.duration_ms), r.executors,
             size(r.input_bytes), number(r.cost, 3), r.bottleneck or "not analyzed", r.finding_count) for r in runs]
    headers = ("start (UTC)", "application", "status", "duration", "executors", "input", f"cost ({trend.cost_unit})", "bottleneck", "findings")
    return _render("trend.html.j2", generated_at, f"{len(runs)} runs named {trend.app_name}",
                   app_name=trend.app_name, run_count=len(runs), headers=headers, rows=rows, notes=trend.notes,
                   plot=_plot(lambda: plots.trend(trend), bool(runs), "Each point is one run, coloured by its bottleneck class.",
                              "No run with a start time."))
