"""The report's plots: matplotlib figures (no pyplot state) rendered to SVG for inlining in HTML.

Text stays text (`svg.fonttype='none'`), so the page needs no font files; `$` in names from logs
is escaped so mathtext draws it as written. Each SVG's element ids are prefixed with its plot id,
so several plots can share one HTML document without id clashes.
"""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from typing import Iterator

import matplotlib
import numpy as np
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from spark_optimizer.report_html.data import CriticalPath, MemoryGc, StageDurations, StepSeries, Timeline, Trend, WhatIfCurve
from spark_optimizer.report_html.fmt import byte_unit, duration

WIDTH_IN = 9.0
BOTTLENECK_COLORS = {
    "cpu": "#4c78a8", "memory_gc": "#e45756", "io": "#72b7b2", "shuffle": "#f58518", "skew": "#b279a2",
    "driver": "#9d755d", "scheduling_overhead": "#eeca3b", "under_parallelized": "#54a24b", "balanced": "#bab0ac",
}
UNKNOWN_COLOR = "#999999"
STYLE = {
    "svg.fonttype": "none",
    "font.size": 9,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "legend.fontsize": 8,
    "legend.frameon": False,
}
_TAG = re.compile(r"<[^>]*>")
_ID_USE = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')


@contextmanager
def _style(plot_id: str) -> Iterator[None]:
    # hashsalt: deterministic clip-path ids (the same data gives the same SVG); svg.id: the root's id.
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": plot_id, "svg.id": plot_id}):
        yield


def to_inline_svg(fig: Figure, plot_id: str, label: str) -> str:
    """The figure as an `<svg>` element for an HTML page: no XML prolog, DOCTYPE, namespaces or
    metadata; ids prefixed with `plot_id`; scales with the page up to its natural width."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    ids = set(re.findall(r'\bid="([^"]+)"', svg)) - {plot_id}
    rename = lambda m: m.group(1) + (f"{plot_id}-{m.group(2)}" if m.group(2) in ids else m.group(2))  # noqa: E731
    svg = _TAG.sub(lambda tag: _ID_USE.sub(rename, tag.group(0)), svg)  # inside tags only, never in drawn text
    head_end = svg.index(">")
    head = svg[:head_end]
    width_pt = float(re.search(r'width="([\d.]+)pt"', head).group(1))
    head = re.sub(r'\s(xmlns(:xlink)?|width|height|version)="[^"]*"', "", head)
    head += f' width="100%" style="max-width:{width_pt * 4 / 3:.0f}px" role="img" aria-label="{_attr(label)}"'
    return head + svg[head_end:]


def _attr(text: str) -> str:
    from html import escape

    return escape(text, quote=True)


def _extend(series: StepSeries, end_s: float) -> tuple[list[float], list[float]]:
    """Step points with the last value carried to `end_s` (for `step(where='post')`)."""
    times, values = list(series.times_s), list(series.values)
    if times and end_s > times[-1]:
        times.append(end_s)
        values.append(values[-1])
    return times, values


def _short(text: str, limit: int = 48) -> str:
    """A label from a log: one line, at most `limit` characters, `$` escaped (matplotlib reads $...$ as math)."""
    text = " ".join((text or "").split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def _time_axis(max_ms: float) -> tuple[float, str]:
    if max_ms >= 2 * 3_600_000:
        return 3_600_000, "h"
    if max_ms >= 2 * 60_000:
        return 60_000, "min"
    return 1000, "s"


# ---- executor timeline ----------------------------------------------------------------------------

LANE_LIMIT = 40


def executor_timeline(timeline: Timeline, plot_id: str = "plot-executor-timeline") -> str:
    """Top: one lane per executor from added to removed (lost ones end in a red x), or executors
    alive over time when there are too many lanes. Bottom: running tasks against task slots."""
    spans = timeline.spans
    lanes = 0 < len(spans) <= LANE_LIMIT
    top_height = max(1.0, 0.22 * len(spans) + 0.6) if lanes else 1.6
    with _style(plot_id):
        fig = Figure(figsize=(WIDTH_IN, top_height + 2.4), layout="constrained")
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[top_height, 2.4])
        if lanes:
            for y, span in enumerate(spans):
                color = "#e45756" if span.lost else "#4c78a8"
                top.barh(y, max(span.end_s - span.start_s, timeline.wall_s / 500), left=span.start_s, height=0.6, color=color)
                if span.lost:
                    top.plot(span.end_s, y, marker="x", color="#b3000c", markersize=7, mew=2)
                elif span.removed:
                    top.plot(span.end_s, y, marker="|", color="#333333", markersize=9, mew=1.5)
            top.set_yticks(range(len(spans)), [("driver (local mode)" if timeline.local_mode else f"executor {_short(s.executor_id, 24)}")
                                               for s in spans])
            top.invert_yaxis()
            top.grid(axis="y", visible=False)
            top.legend(handles=[Patch(color="#4c78a8", label="alive"), Patch(color="#e45756", label="lost (failure)"),
                                Line2D([], [], marker="|", color="#333333", ls="", label="removed by the driver")],
                       loc="upper left", bbox_to_anchor=(1.0, 1.0))
        else:
            times, values = _extend(timeline.alive, timeline.wall_s)
            top.step(times, values, where="post", color="#4c78a8")
            top.fill_between(times, values, step="post", alpha=0.3, color="#4c78a8")
            top.set_ylabel("executors alive")
        top.set_title(f"executors ({len(spans)} {'driver-run' if timeline.local_mode else 'added'})", loc="left")
        times, values = _extend(timeline.running_tasks, timeline.wall_s)
        label = "running tasks" if timeline.running_tasks.bin_s is None else f"running tasks (mean per {timeline.running_tasks.bin_s:.1f} s)"
        bottom.fill_between(times, values, step="post", alpha=0.45, color="#f58518", label=label)
        bottom.step(times, values, where="post", color="#f58518", lw=0.8)
        slot_times, slot_values = _extend(timeline.slots, timeline.wall_s)
        bottom.step(slot_times, slot_values, where="post", color="#333333", ls="--", lw=1, label="task slots (executor cores)")
        bottom.set_ylabel("tasks")
        bottom.set_xlabel("seconds since application start")
        bottom.set_xlim(0, max(timeline.wall_s, 1e-3))
        bottom.set_ylim(0, max(timeline.slots.peak, timeline.running_tasks.peak, 1) * 1.15)
        bottom.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return to_inline_svg(fig, plot_id, "Executor timeline: executors and running tasks over time")


# ---- critical path -------------------------------------------------------------------------------------

def critical_path(path: CriticalPath, wall_s: float, plot_id: str = "plot-critical-path") -> str:
    """Gantt bars of the critical-path stages over the run, coloured by the stage's bottleneck."""
    stages = path.stages
    with _style(plot_id):
        fig = Figure(figsize=(WIDTH_IN, 0.28 * len(stages) + 1.3), layout="constrained")
        ax = fig.add_subplot()
        for y, s in enumerate(stages):
            ax.barh(y, max(s.end_s - s.start_s, wall_s / 400), left=s.start_s, height=0.65,
                    color=BOTTLENECK_COLORS.get(s.bottleneck or "", UNKNOWN_COLOR))
            ax.annotate(duration(s.duration_ms), (s.end_s, y), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7.5)
        ax.set_yticks(range(len(stages)), [f"job {s.job_id} · stage {s.stage_id}.{s.stage_attempt_id} {_short(s.name, 36)}" for s in stages])
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        ax.set_xlim(0, max(wall_s, 1e-3) * 1.08)
        ax.set_xlabel("seconds since application start")
        present = sorted({s.bottleneck or "unknown" for s in stages})
        ax.legend(handles=[Patch(color=BOTTLENECK_COLORS.get(b, UNKNOWN_COLOR), label=b) for b in present],
                  title="stage bottleneck", loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.set_title("stages on the critical path", loc="left")
        return to_inline_svg(fig, plot_id, "Critical-path stages over time")


# ---- task durations ----------------------------------------------------------------------------------

POINT_LIMIT = 400


def task_durations(stages: list[StageDurations], plot_id: str = "plot-task-durations") -> str:
    """Box plots of successful task durations for the heaviest stages, with the tasks as points
    when there are few; a log axis when durations span more than 50x."""
    with _style(plot_id):
        fig = Figure(figsize=(WIDTH_IN, 0.75 * len(stages) + 1.3), layout="constrained")
        ax = fig.add_subplot()
        all_ms = [d for s in stages for d in s.durations_ms]
        low, high = min(all_ms, default=1), max(all_ms, default=1)
        log = low > 0 and high / low > 50
        scale, unit = (1000, "s") if log else _time_axis(high)
        series = [np.array(s.durations_ms) / scale for s in stages]
        positions = list(range(1, len(stages) + 1))
        ax.boxplot(series, positions=positions, orientation="horizontal", widths=0.55, showfliers=len(all_ms) > POINT_LIMIT * len(stages),
                   medianprops={"color": "#e45756", "lw": 1.5}, patch_artist=True, boxprops={"facecolor": "#dbe7f3"})
        rng = np.random.default_rng(0)  # fixed jitter: the same data draws the same picture
        for y, values in zip(positions, series):
            if len(values) <= POINT_LIMIT:
                ax.scatter(values, y + rng.uniform(-0.18, 0.18, len(values)), s=9, color="#4c78a8", alpha=0.6, zorder=3, lw=0)
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        labels = []
        for s in stages:
            share = "" if s.task_time_share is None else f", {s.task_time_share:.0%} of task time"
            skew = f"\nmax/median {s.skew_ratio:.1f}x" if s.skew_ratio else ""
            labels.append(f"{s.label} ({len(s.durations_ms)} tasks{share}){skew}")
        ax.set_yticks(positions, labels)
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        ax.set_xlabel(f"task duration ({unit})")
        ax.set_title("task durations of the heaviest stages (successful tasks)", loc="left")
        return to_inline_svg(fig, plot_id, "Task-duration distribution per heavy stage")


# ---- memory and GC -----------------------------------------------------------------------------------

def memory_gc(memory: MemoryGc, plot_id: str = "plot-memory-gc") -> str:
    """Top: per-executor peaks (heap, execution, storage) against the executor memory. Bottom:
    GC time as a share of run time, per executor and per heavy stage."""
    execs = memory.executors
    with _style(plot_id):
        fig = Figure(figsize=(WIDTH_IN, 5.6), layout="constrained")
        axes = fig.subplot_mosaic([["memory", "memory"], ["gc_executor", "gc_stage"]], height_ratios=[1.2, 1])
        ax = axes["memory"]
        names = [_short(e.executor_id, 16) for e in execs]
        x = np.arange(len(execs))
        limits = [v for v in (memory.executor_memory_bytes, *(e.unified_memory_bytes for e in execs[:1])) if v]
        peak = max([e.peak_heap_bytes or 0 for e in execs] + [e.peak_execution_bytes or 0 for e in execs] + limits + [1])
        scale, unit = byte_unit(peak)
        if memory.has_peaks:
            series = [(field, color, label) for field, color, label in (
                ("peak_heap_bytes", "#4c78a8", "peak JVM heap"), ("peak_execution_bytes", "#f58518", "peak execution memory"),
                ("peak_storage_bytes", "#54a24b", "peak storage memory")) if any(getattr(e, field) for e in execs)]
            width = 0.8 / len(series)
            for i, (field, color, label) in enumerate(series):
                ax.bar(x + (i - (len(series) - 1) / 2) * width, [(getattr(e, field) or 0) / scale for e in execs], width=width,
                       color=color, label=label)
        else:
            ax.text(0.5, 0.5, "no executor logged memory peaks\n(event logs before Spark 3.0, and no Prometheus metrics)",
                    transform=ax.transAxes, ha="center", va="center", color="#666666")
        if memory.executor_memory_bytes:
            ax.axhline(memory.executor_memory_bytes / scale, color="#b3000c", ls="--", lw=1.2, label="executor memory (heap)")
        if execs and execs[0].unified_memory_bytes:
            ax.axhline(execs[0].unified_memory_bytes / scale, color="#333333", ls=":", lw=1.2, label="unified memory pool")
        ax.set_xticks(x, names, rotation=90 if len(names) > 16 else 0)
        ax.set_ylabel(unit)
        ax.set_xlabel("executor")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        shown = "" if memory.executor_count <= len(execs) else f" ({len(execs)} of {memory.executor_count} executors)"
        source = {"event_log": " from the event log", "prometheus": " from Prometheus"}.get(memory.peaks_source or "", "")
        ax.set_title(f"memory peaks per executor{source}{shown}", loc="left")
        _share_bars(axes["gc_executor"], names, [e.gc_share for e in execs], "#e45756", "GC share of run time per executor")
        axes["gc_executor"].set_xlabel("executor")
        _share_bars(axes["gc_stage"], [s for s, _ in memory.stage_gc], [g for _, g in memory.stage_gc], "#b279a2",
                    "GC share of run time per heavy stage")
        axes["gc_stage"].set_xlabel("stage (id.attempt)")
        if memory.app_gc_share is not None:
            for key in ("gc_executor", "gc_stage"):
                axes[key].axhline(memory.app_gc_share * 100, color="#333333", ls="--", lw=1, label=f"application {memory.app_gc_share:.1%}")
                axes[key].legend(loc="upper right")
        return to_inline_svg(fig, plot_id, "Memory peaks and GC share")


def _share_bars(ax, names: list[str], shares: list[float | None], color: str, title: str) -> None:
    """Shares as % bars on an axis that never passes 100%; an unknown share is marked "unknown", not 0."""
    heights = [min(max(s, 0.0), 1.0) * 100 if s is not None else 0.0 for s in shares]
    ax.bar(range(len(names)), heights, color=color)
    top = min(100.0, max(heights + [1]) * 1.3)
    for i, share in enumerate(shares):
        if share is None:
            ax.text(i, top * 0.02, "unknown", rotation=90, ha="center", va="bottom", fontsize=7, color="#666666")
    ax.set_xticks(range(len(names)), names, rotation=90 if len(names) > 8 else 0)
    ax.set_ylabel("% of run time")
    ax.set_ylim(0, top)
    ax.set_title(title, loc="left")


# ---- what-if -----------------------------------------------------------------------------------------

def whatif(curve: WhatIfCurve, plot_id: str = "plot-whatif") -> str:
    """Estimated wall time (left axis) and cost (right axis) against the executor count."""
    with _style(plot_id):
        fig = Figure(figsize=(WIDTH_IN, 3.6), layout="constrained")
        ax = fig.add_subplot()
        counts = [p["executors"] for p in curve.points]
        scale, unit = _time_axis(max(p["estimated_wall_ms"] for p in curve.points))
        walls = [p["estimated_wall_ms"] / scale for p in curve.points]
        ax.plot(counts, walls, "o-", color="#4c78a8", label="estimated wall time")
        ax.set_ylabel(f"estimated wall time ({unit})", color="#4c78a8")
        ax.set_xlabel(f"executors ({curve.cores_per_executor} {'core' if curve.cores_per_executor == 1 else 'cores'} each)")
        ax.set_ylim(0, max(walls) * 1.15)
        cost_ax = ax.twinx()
        cost_ax.plot(counts, [p["cost"] for p in curve.points], "s--", color="#f58518", label=f"cost ({curve.cost_unit})")
        cost_ax.set_ylabel(f"cost ({curve.cost_unit})", color="#f58518")
        cost_ax.set_ylim(0, max(p["cost"] for p in curve.points) * 1.15 or 1)
        cost_ax.grid(False)
        cost_ax.spines["right"].set_visible(True)
        if len(counts) > 1 and counts[-1] / counts[0] >= 8:
            ax.set_xscale("log", base=2)
        ax.set_xticks(counts, [str(c) for c in counts])
        ax.minorticks_off()
        ax.axvline(curve.observed_executors, color="#333333", ls=":", lw=1)
        ax.annotate("observed", (curve.observed_executors, max(walls) * 1.1), xytext=(3, 0), textcoords="offset points", fontsize=8)
        ideal = next(p for p in curve.points if p["executors"] == curve.ideal_executors)
        ax.plot([ideal["executors"]], [ideal["estimated_wall_ms"] / scale], marker="*", color="#54a24b", markersize=15, ls="",
                label=f"ideal: {curve.ideal_executors} executors", zorder=4)
        handles = ax.get_legend_handles_labels()[0] + cost_ax.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.1, 1.0))
        ax.set_title("what-if: replayed run time and cost by executor count", loc="left")
        return to_inline_svg(fig, plot_id, "What-if: run time and cost against executors")


# ---- trend -------------------------------------------------------------------------------------------

def trend(runs: Trend, plot_id: str = "plot-trend") -> str:
    """Duration, input size and cost of each run over time; markers coloured by bottleneck."""
    with _style(plot_id):
        fig = Figure(figsize=(WIDTH_IN, 6.4), layout="constrained")
        axes = fig.subplots(3, 1, sharex=True)
        when = [r.start_time for r in runs.runs]
        colors = [BOTTLENECK_COLORS.get(r.bottleneck or "", UNKNOWN_COLOR) for r in runs.runs]
        time_scale, time_unit = _time_axis(max((r.duration_ms or 0 for r in runs.runs), default=0))
        byte_scale, bytes_label = byte_unit(max((r.input_bytes or 0 for r in runs.runs), default=0))
        panels = (
            (axes[0], [None if r.duration_ms is None else r.duration_ms / time_scale for r in runs.runs], f"duration ({time_unit})"),
            (axes[1], [None if r.input_bytes is None else r.input_bytes / byte_scale for r in runs.runs], f"input ({bytes_label})"),
            (axes[2], [r.cost for r in runs.runs], f"cost ({runs.cost_unit})"),
        )
        for ax, values, label in panels:
            known = [(w, v, c) for w, v, c in zip(when, values, colors) if v is not None]
            if known:
                ax.plot([w for w, _, _ in known], [v for _, v, _ in known], color="#bbbbbb", lw=1, zorder=1)
                ax.scatter([w for w, _, _ in known], [v for _, v, _ in known], c=[c for _, _, c in known], s=36, zorder=2)
            ax.set_ylabel(label)
            ax.set_ylim(bottom=0)
        locator = AutoDateLocator()
        axes[2].xaxis.set_major_locator(locator)
        axes[2].xaxis.set_major_formatter(ConciseDateFormatter(locator))
        axes[2].set_xlabel("run start (UTC)")
        present = sorted({r.bottleneck or "not analyzed" for r in runs.runs})
        axes[0].legend(handles=[Patch(color=BOTTLENECK_COLORS.get(b, UNKNOWN_COLOR), label=b) for b in present],
                       title="bottleneck", loc="upper left", bbox_to_anchor=(1.0, 1.0))
        axes[0].set_title(f"runs of {_short(runs.app_name, 60)} over time", loc="left")
        return to_inline_svg(fig, plot_id, "Runs over time: duration, input and cost")
