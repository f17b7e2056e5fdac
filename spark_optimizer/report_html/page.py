"""The HTML around the plots: one self-contained page (inline CSS and SVG, no script, no URL).

Every value that comes from a log or a table (names, descriptions, reasons, evidence, conf values)
goes through `esc`; the only unescaped markup is this module's own and the plots' SVG.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from html import escape
from string import Template
from typing import Any, Callable, Iterable, Mapping, Sequence

from spark_optimizer.report_html import plots
from spark_optimizer.report_html.data import Trend
from spark_optimizer.report_html.gather import AppReportData

SEVERITY_COLORS = {"critical": "#b3000c", "severe": "#e45756", "moderate": "#c98a00", "low": "#2a7fb8", "info": "#777777"}

CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#222;margin:0;background:#f6f7f9}
main{max-width:1060px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;margin:36px 0 8px;padding-bottom:4px;border-bottom:2px solid #e3e6ea}
h3{font-size:1.05em;margin:0}
.sub{color:#555;margin:0 0 16px}nav{font-size:.9em;margin:8px 0 0}nav a{margin-right:14px;color:#2a5d9f}
table{border-collapse:collapse;margin:8px 0;font-size:.92em}th,td{padding:4px 10px;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{background:#f0f2f5}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.kv th{background:none;color:#555;font-weight:600;white-space:nowrap}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}.card{border:1px solid #e3e6ea;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:1.3em}.card span{color:#555;font-size:.85em}
.finding{border:1px solid #e3e6ea;border-left:6px solid var(--sev);border-radius:4px;padding:10px 14px;margin:12px 0}
.badge{display:inline-block;color:#fff;background:var(--sev);border-radius:3px;padding:0 7px;font-size:.8em;font-weight:700;text-transform:uppercase;margin-right:8px}
.meta{color:#666;font-size:.85em;margin:2px 0}.finding table{margin:6px 0}.finding p{margin:4px 0}
.cols{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:18px}ul.conf{margin:4px 0;padding-left:18px}
summary{cursor:pointer;color:#2a5d9f;font-size:.9em}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.88em}
pre{background:#f0f2f5;padding:10px;border-radius:4px;white-space:pre-wrap;word-break:break-all}
figure{margin:8px 0 16px}figure svg{display:block;width:100%;height:auto}figcaption{color:#555;font-size:.88em;margin-top:4px}
.missing{color:#666;font-style:italic}.ok{color:#2c7a2c}footer{margin-top:40px;color:#777;font-size:.8em}
"""

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="spark-optimizer">
<title>$title</title>
<style>$css</style>
</head>
<body>
<main>
$body
<footer>$footer</footer>
</main>
</body>
</html>
""")


def esc(value: Any) -> str:
    """Text for HTML: '-' for missing values, everything else escaped (quotes included)."""
    return "-" if value is None else escape(str(value), quote=True)


def duration(ms: Any) -> str:
    if ms is None:
        return "-"
    seconds = ms / 1000
    if seconds < 120:
        return f"{seconds:,.1f} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def size(num_bytes: Any) -> str:
    if num_bytes is None:
        return "-"
    for scale, unit in ((1024**4, "TiB"), (1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
        if abs(num_bytes) >= scale:
            return f"{num_bytes / scale:,.1f} {unit}"
    return f"{num_bytes:,} B"


def pct(x: Any) -> str:
    return "-" if x is None else f"{x:.1%}"


def number(x: Any, digits: int = 2) -> str:
    if x is None:
        return "-"
    return f"{x:,}" if isinstance(x, int) else f"{x:,.{digits}f}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[int] = (), css: str = "") -> str:
    """An HTML table; every cell is escaped."""
    cls = lambda i: ' class="num"' if i in numeric else ""  # noqa: E731
    head = "".join(f"<th{cls(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{esc(c)}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<table{f" class={css!r}" if css else ""}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def key_values(rows: Iterable[tuple[str, Any]]) -> str:
    return '<table class="kv"><tbody>' + "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows) + "</tbody></table>"


def figure(svg: str | None, caption: str, missing: str) -> str:
    """A plot with its caption, or why there is none."""
    if svg is None:
        return f'<p class="missing">{esc(missing)}</p>'
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"


def _plot(render: Callable[[], str], available: bool) -> str | None:
    return render() if available else None


def _page(title: str, body: str, generated_at: datetime, source: str) -> str:
    stamp = generated_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    footer = f"Generated by spark-optimizer at {esc(stamp)} from {esc(source)}. Self-contained: no script, no network."
    return PAGE.substitute(title=esc(title), css=CSS, body=body, footer=footer)


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
    ref = app["app_id"] + (f"/{app['attempt_id']}" if app["attempt_id"] else "")
    nav = "<nav>" + "".join(f'<a href="#{key}">{esc(label)}</a>' for key, label in SECTIONS) + "</nav>"
    parts = [
        f"<header><h1>{esc(app['app_name'] or app['app_id'])}</h1>"
        f'<p class="sub">Spark run report · <code>{esc(ref)}</code> · Spark {esc(app["spark_version"])} on {esc(app["platform"])}</p>{nav}</header>',
        _summary(report),
        _findings(report["findings"]),
        _configuration(page.configuration, page.configuration_source),
        _timeline(page),
        _critical_path(page),
        _skew(page),
        _memory(page),
        _whatif(page, report["whatif"]),
        _stages(report["heaviest_stages"]),
    ]
    return _page(f"Spark run report: {app['app_name'] or ''} ({ref})", "\n".join(parts), generated_at, app.get("source_path") or ref)


def _summary(report: Mapping[str, Any]) -> str:
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
        ("application", f"{app['app_id']}{'/' + app['attempt_id'] if app['attempt_id'] else ''}  {app['app_name'] or ''}"),
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
    html_cards = "".join(f'<div class="card"><b>{esc(v)}</b><span>{esc(k)}</span></div>' for v, k in cards)
    return f'<section id="summary"><h2>Summary</h2><div class="cards">{html_cards}</div>{key_values(rows)}</section>'


def _evidence_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def _findings(findings: Sequence[Mapping[str, Any]]) -> str:
    if not findings:
        return '<section id="findings"><h2>Findings</h2><p class="ok">No rule fired: nothing to change.</p></section>'
    items = []
    for f in findings:
        color = SEVERITY_COLORS.get(f["severity"], "#777777")
        evidence = key_values((k, _evidence_value(v)) for k, v in (f["evidence"] or {}).items()) if f["evidence"] else ""
        changes = "".join(f"<li><code>{esc(c)}</code></li>" for c in f["recommended_conf"] or [])
        stages = f' · stages {esc(", ".join(f["stage_ids"]))}' if f.get("stage_ids") else ""
        items.append(
            f'<article class="finding" style="--sev:{color}">'
            f'<h3><span class="badge">{esc(f["severity"])}</span>{esc(f["title"])}</h3>'
            f'<p class="meta">rule <code>{esc(f["rule_id"])}</code> · {esc(f["category"])}{stages}</p>'
            f'<div class="cols"><div><p>{esc(f["rationale"])}</p>'
            f"<details><summary>evidence</summary>{evidence}</details></div>"
            + (f'<div><b>Change</b><ul class="conf">{changes}</ul></div>' if changes else "")
            + "</div></article>"
        )
    return f'<section id="findings"><h2>Findings ({len(findings)})</h2>{"".join(items)}</section>'


def _configuration(conf: Mapping[str, str], source: str) -> str:
    if not conf:
        return ('<section id="configuration"><h2>Recommended configuration</h2>'
                '<p class="ok">No property to change.</p></section>')
    note = ("The Spark properties the rules computed from this run's evidence, merged (the most severe finding wins a conflict)."
            if source == "rules" else f"From the {source}.")
    submit = " \\\n  ".join(f"--conf {k}={v}" for k, v in conf.items())
    return (f'<section id="configuration"><h2>Recommended configuration</h2><p>{esc(note)}</p>'
            f'{table(("property", "value"), conf.items())}<pre>spark-submit \\\n  {esc(submit)}</pre></section>')


def _timeline(page: AppReportData) -> str:
    t = page.timeline
    svg = _plot(lambda: plots.executor_timeline(t), bool(t.spans) and t.wall_s > 0)
    lost = sum(s.lost for s in t.spans)
    caption = (f"{len(t.spans)} executor(s){f', {lost} lost' if lost else ''}; running tasks peaked at {t.running_tasks.peak:.0f} "
               f"with at most {t.slots.peak:.0f} task slots alive. Gaps with no running task are driver-only time; brief spikes "
               "above the slots line are tasks whose end the driver logged after their slot had started the next task.")
    return ('<section id="timeline"><h2>Executor timeline</h2>'
            + figure(svg, caption, "No executor lifetimes were logged, so there is no timeline.") + "</section>")


def _critical_path(page: AppReportData) -> str:
    c = page.critical_path
    svg = _plot(lambda: plots.critical_path(c, page.timeline.wall_s), bool(c.stages))
    shown = "" if len(c.stages) == c.stage_count else f" The {len(c.stages)} longest of {c.stage_count} critical-path stages are shown."
    untimed = f" {c.untimed_count} stage(s) had no submission or completion time." if c.untimed_count else ""
    caption = (f"Stages on the longest chain of dependent stages of each job (Sparklens); their jobs' critical paths add up to "
               f"{duration(c.total_ms)} of the {duration(page.report['application']['duration_ms'])} run.{shown}{untimed}")
    return ('<section id="critical-path"><h2>Critical path</h2>'
            + figure(svg, caption, "No stage metrics with critical-path information (analyze the application first).") + "</section>")


def _skew(page: AppReportData) -> str:
    stages = page.stage_durations
    svg = _plot(lambda: plots.task_durations(stages), bool(stages))
    caption = ("Successful task durations of the stages with the largest share of task time. A long whisker or a lone point far "
               "right of the box is a straggler; max/median above ~4x on a heavy stage is skew.")
    return ('<section id="skew"><h2>Task durations (skew)</h2>'
            + figure(svg, caption, "No stage with two or more timed successful tasks.") + "</section>")


def _memory(page: AppReportData) -> str:
    mem = page.memory
    svg = _plot(lambda: plots.memory_gc(mem), bool(mem.executors))
    caption = ("Peaks per executor against the executor heap (dashed red) and Spark's unified memory pool (dotted); "
               "GC time as a share of executor run time per executor and per heavy stage (dashed: the whole application).")
    return ('<section id="memory"><h2>Memory and GC</h2>'
            + figure(svg, caption, "No executors were logged.") + "</section>")


def _whatif(page: AppReportData, whatif: Mapping[str, Any]) -> str:
    curve = page.whatif
    if curve is None:
        return (f'<section id="whatif"><h2>What-if</h2><p class="missing">No what-if estimate: {esc(whatif.get("error"))}</p></section>')
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
    return ('<section id="whatif"><h2>What-if: executors</h2>' + figure(plots.whatif(curve), caption, "")
            + table(("executors", "estimated wall time", "core-hours", f"cost ({curve.cost_unit})", "speedup"), rows, numeric=(1, 2, 3, 4))
            + "</section>")


def _stages(stages: Sequence[Mapping[str, Any]]) -> str:
    if not stages:
        return ""
    rows = [(f"{s['stage_id']}.{s['stage_attempt_id']}", s["job_id"], duration(s["duration_ms"]), s["task_count"],
             pct(s["task_time_share"]), pct(s["gc_share"]), pct(s["cpu_share_of_run"]),
             "-" if s["task_duration_skew_ratio"] is None else f"{s['task_duration_skew_ratio']:.1f}",
             "yes" if s["on_critical_path"] else "", s["bottleneck"]) for s in stages]
    headers = ("stage", "job", "duration", "tasks", "share of task time", "GC", "CPU / run", "max/median", "critical path", "bottleneck")
    return f'<section id="stages"><h2>Heaviest stages</h2>{table(headers, rows, numeric=(1, 2, 3, 4, 5, 6, 7))}</section>'


# ---- one application name over time ------------------------------------------------------------------

def trend_page(trend: Trend, generated_at: datetime) -> str:
    """The runs of one application name over time."""
    runs = trend.runs
    svg = _plot(lambda: plots.trend(trend), bool(runs))
    rows = [(datetime.fromtimestamp(r.start_ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M"),
             r.app_id + (f"/{r.attempt_id}" if r.attempt_id else ""), r.status, duration(r.duration_ms), r.executors,
             size(r.input_bytes), number(r.cost, 3), r.bottleneck or "not analyzed", r.finding_count) for r in runs]
    headers = ("start (UTC)", "application", "status", "duration", "executors", "input", f"cost ({trend.cost_unit})", "bottleneck", "findings")
    body = (f"<header><h1>{esc(trend.app_name)}</h1><p class=\"sub\">{len(runs)} run(s) over time</p></header>"
            '<section id="trend"><h2>Runs over time</h2>'
            + figure(svg, "Each point is one run, coloured by its bottleneck class.", "No run with a start time.")
            + table(headers, rows, numeric=(3, 4, 5, 6, 8)) + "".join(f'<p class="missing">{esc(n)}</p>' for n in trend.notes)
            + "</section>")
    return _page(f"Spark runs over time: {trend.app_name}", body, generated_at, f"{len(runs)} runs named {trend.app_name}")
