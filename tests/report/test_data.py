"""What the report plots, on hand-built rows with known answers; and the SVG the plots produce."""

from __future__ import annotations

import re

import pytest

from spark_optimizer.report_html import data, plots
from spark_optimizer.tables.instants import from_epoch_ms as at

S = 1000  # ms


def task(stage_id, launch_s, duration_s, status="success", attempt=0):
    launch_ms = int(launch_s * S)
    return {"stage_id": stage_id, "stage_attempt_id": attempt, "launch_time": at(launch_ms),
            "finish_time": at(launch_ms + int(duration_s * S)), "duration_ms": int(duration_s * S), "status": status}


def executor(executor_id, add_s, remove_s=None, cores=2, lost=False, driver=False, **extra):
    return {"executor_id": executor_id, "is_driver": driver, "add_time": at(int(add_s * S)),
            "remove_time": None if remove_s is None else at(int(remove_s * S)), "total_cores": cores, "lost": lost,
            "remove_reason": "Container marked as failed" if lost else None, **extra}


APP = {"app_id": "app-1", "attempt_id": "", "start_time": at(0), "end_time": at(100 * S), "executor_memory_mb": 1024,
       "max_concurrent_executors": 2, "executor_cores": 2}


def test_step_series_is_exact_for_few_changes():
    series = data.step_series([(0, 1), (2, -1), (1, 1), (3, -1)], 0, 5)
    assert series.times_s == (0.0, 1.0, 2.0, 3.0) and series.values == (1.0, 2.0, 1.0, 0.0)
    assert series.bin_s is None and series.peak == 2.0


def test_step_series_bins_keep_the_area_under_the_curve():
    # 3000 one-second tasks, three at a time -> binned; mean x width summed is the total task time.
    changes = [(i / 3, 1) for i in range(3000)] + [(i / 3 + 1, -1) for i in range(3000)]
    series = data.step_series(changes, 0, 1001, exact_limit=100, bins=50)
    assert series.bin_s == pytest.approx(1001 / 50) and len(series.values) == 50
    assert sum(v * series.bin_s for v in series.values) == pytest.approx(3000.0)
    assert 2.9 <= max(series.values) <= 3.0 + 1e-9


def test_timeline_counts_executors_slots_and_running_tasks():
    executors = [executor("driver", 0, driver=True, cores=None), executor("1", 5, 40, lost=True), executor("2", 5),
                 executor("3", 50)]
    tasks = [task(0, 10, 20), task(0, 10, 20), task(0, 12, 5), task(1, 60, 10)]
    timeline = data.executor_timeline(APP, executors, tasks)
    assert not timeline.local_mode and [s.executor_id for s in timeline.spans] == ["1", "2", "3"]
    lost = timeline.spans[0]
    assert (lost.start_s, lost.end_s, lost.lost, lost.removed) == (5.0, 40.0, True, True)
    assert timeline.spans[1].end_s == 100.0 and not timeline.spans[1].removed  # alive until the app ended
    assert timeline.alive.peak == 2 and timeline.slots.peak == 4 and timeline.running_tasks.peak == 3
    alive = dict(zip(timeline.alive.times_s, timeline.alive.values))
    assert alive[40.0] == 1 and alive[50.0] == 2


def test_timeline_in_local_mode_is_the_driver():
    timeline = data.executor_timeline(APP, [executor("driver", 0.5, driver=True, cores=4)], [task(0, 1, 2)])
    assert timeline.local_mode and [s.executor_id for s in timeline.spans] == ["driver"]
    assert timeline.slots.peak == 4


def test_critical_path_keeps_the_longest_stages_in_time_order():
    metrics = [{"stage_id": i, "stage_attempt_id": 0, "job_id": i // 2, "duration_ms": (i + 1) * S, "task_count": 4,
                "on_critical_path": i != 3, "critical_path_ms": 10 * S, "bottleneck": "cpu"} for i in range(6)]
    stages = [{"stage_id": i, "stage_attempt_id": 0, "stage_name": f"map at job.py:{i}",
               "submission_time": at(i * 10 * S) if i != 5 else None, "completion_time": at(i * 10 * S + (i + 1) * S)}
              for i in range(6)]
    path = data.critical_path(APP, metrics, stages, limit=3)
    assert [s.stage_id for s in path.stages] == [1, 2, 4]  # 5 has no submission time, 3 is off the path
    assert path.stage_count == 5 and path.untimed_count == 1 and path.total_ms == 3 * 10 * S
    assert path.stages[0].start_s == 10.0 and path.stages[0].name == "map at job.py:1"


def test_heavy_stages_use_successful_task_durations():
    metrics = [{"stage_id": 0, "stage_attempt_id": 0, "task_count": 4, "task_time_share": 0.7},
               {"stage_id": 1, "stage_attempt_id": 0, "task_count": 1, "task_time_share": 0.2},
               {"stage_id": 2, "stage_attempt_id": 0, "task_count": 2, "task_time_share": 0.1}]
    tasks = [task(0, 0, 1), task(0, 0, 1), task(0, 0, 8), task(0, 0, 30, status="failed"), task(1, 0, 5),
             task(2, 0, 2), task(2, 0, 2)]
    heavy = data.heavy_stage_durations(metrics, [], tasks)
    assert [(h.stage_id, h.durations_ms) for h in heavy] == [(0, (1000, 1000, 8000)), (2, (2000, 2000))]
    assert heavy[0].skew_ratio == 8.0 and heavy[0].label == "stage 0.0"


def test_memory_prefers_logged_peaks_and_falls_back_to_prometheus():
    executors = [executor("driver", 0, driver=True, peak_jvm_heap_bytes=9 << 30),
                 executor("1", 0, peak_jvm_heap_bytes=600 << 20, peak_onheap_execution_bytes=100 << 20,
                          jvm_gc_time_ms=300, executor_run_time_ms=1000, max_memory_bytes=500 << 20),
                 executor("2", 0, jvm_gc_time_ms=0, executor_run_time_ms=0)]
    scraped = [{"executor_id": "2", "metric": "jvm_heap_used_bytes", "value": 700.0 * (1 << 20)},
               {"executor_id": "2", "metric": "jvm_heap_used_bytes", "value": 800.0 * (1 << 20)}]
    stage_metrics = [{"stage_id": 3, "stage_attempt_id": 0, "gc_share": 0.25, "task_time_share": 0.9}]
    memory = data.memory_gc(APP, executors, stage_metrics, {"gc_share": 0.2}, scraped)
    by_id = {e.executor_id: e for e in memory.executors}
    assert set(by_id) == {"1", "2"}  # the driver is not an executor outside local mode
    assert by_id["1"].peak_heap_bytes == 600 << 20 and by_id["1"].gc_share == pytest.approx(0.3)
    assert by_id["2"].peak_heap_bytes == 800 << 20 and by_id["2"].gc_share is None
    assert memory.peaks_source == "event_log" and memory.executor_memory_bytes == 1 << 30
    assert memory.stage_gc == (("3.0", 0.25),) and memory.app_gc_share == 0.2


def test_whatif_counts_cover_the_observed_size_and_beyond():
    assert data.whatif_counts(1) == [1, 2, 3, 4, 6, 8]
    counts = data.whatif_counts(10)
    assert {1, 5, 10, 16, 32, 40} <= set(counts) and max(counts) == 40 and counts == sorted(counts)


def test_whatif_curve_prices_points_with_the_given_cost_function():
    whatif = {"observed_executors": 2, "ideal_executors": 4, "cores_per_executor": 2, "calibration_error": 0.01,
              "points": [{"executors": 4, "estimated_wall_ms": 30 * 60 * S, "estimated_core_hours": 4.0, "speedup_vs_observed": 2.0},
                         {"executors": 2, "estimated_wall_ms": 60 * 60 * S, "estimated_core_hours": 4.0, "speedup_vs_observed": 1.0}]}
    default = data.whatif_curve(whatif, APP)
    assert [p["executors"] for p in default.points] == [2, 4] and default.cost_unit == "core-hours"
    assert [p["cost"] for p in default.points] == [4.0, 4.0]
    seen = []

    def dollars(*, app, executors, cores_per_executor, wall_ms):
        seen.append((app["app_id"], executors, cores_per_executor, wall_ms))
        return 0.5 * executors * wall_ms / 3.6e6

    priced = data.whatif_curve(whatif, APP, dollars, "USD")
    assert [p["cost"] for p in priced.points] == [1.0, 1.0] and priced.cost_unit == "USD"
    assert seen == [("app-1", 2, 2, 3600 * S), ("app-1", 4, 2, 1800 * S)]
    assert data.whatif_curve({"error": "no tasks"}, APP) is None


def test_trend_orders_runs_and_prices_them():
    apps = [
        {**APP, "app_id": "b", "app_name": "nightly", "start_time": at(2 * S), "duration_ms": 60 * 60 * S, "input_bytes": 5,
         "status": "completed"},
        {**APP, "app_id": "a", "app_name": "nightly", "start_time": at(1 * S), "duration_ms": 30 * 60 * S, "input_bytes": 3,
         "status": "completed"},
        {**APP, "app_id": "c", "app_name": "nightly-2", "start_time": at(3 * S), "duration_ms": S},
    ]
    metrics = [{"app_id": "a", "attempt_id": "", "allocated_core_ms": 7.2e6, "bottleneck": "skew"}]
    findings = [{"app_id": "a", "attempt_id": "", "rule_id": "data_skew"}, {"app_id": "a", "attempt_id": "", "rule_id": "x"}]
    runs = data.trend("nightly", apps, metrics, findings)
    assert [r.app_id for r in runs.runs] == ["a", "b"] and runs.cost_unit == "core-hours"
    assert runs.runs[0].cost == 2.0 and runs.runs[0].bottleneck == "skew" and runs.runs[0].finding_count == 2
    assert runs.runs[1].cost == 4.0 and runs.runs[1].bottleneck is None  # executors x cores x wall: 2 x 2 x 1 h
    assert runs.notes
    priced = data.trend("nightly", apps, metrics, findings, lambda **kw: kw["wall_ms"] / 1e6, "EUR")
    assert [r.cost for r in priced.runs] == [1.8, 3.6] and priced.cost_unit == "EUR"


# ---- SVG -----------------------------------------------------------------------------------------------

def test_plots_are_inline_svg_with_prefixed_ids_and_literal_text():
    path = data.CriticalPath((data.CriticalStage(3, 0, 1, "sum $col$ at <c>:12 & x", 1.0, 4.0, 3000, 8, "skew"),),
                             3000, 1, 0)
    svg = plots.critical_path(path, 10.0, plot_id="plot-x")
    assert svg.startswith('<svg viewBox=') and 'id="plot-x"' in svg and "<?xml" not in svg and "DOCTYPE" not in svg
    assert "http" not in svg  # no namespace or DTD URLs left
    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert len(ids) == len(set(ids)) and all(i == "plot-x" or i.startswith("plot-x-") for i in ids)
    for ref in re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', svg):
        assert (ref[0] or ref[1]) in ids  # every reference points at a renamed id in the same SVG
    # '$' is not read as math, and '<' / '&' from a log are escaped as XML text.
    assert "sum $col$ at &lt;c&gt;:12 &amp; x</text>" in svg


def test_whatif_plot_marks_the_cost_unit():
    curve = data.WhatIfCurve(({"executors": 1, "estimated_wall_ms": 4000, "estimated_core_hours": 0.1, "cost": 0.2},
                              {"executors": 2, "estimated_wall_ms": 2500, "estimated_core_hours": 0.2, "cost": 0.3}),
                             1, 2, 4, "USD", 0.0)
    svg = plots.whatif(curve)
    assert 'id="plot-whatif"' in svg and "cost (USD)" in svg and "ideal: 2 executors" in svg


def test_gc_beyond_the_run_time_is_unknown_and_no_plot_passes_100_percent():
    """NVIDIA's gpu_oom run logs 946x more GC than run time in one stage: that is 'unknown', not 94638%."""
    from spark_optimizer.report_html.fmt import pct

    executors = [executor("1", 0, jvm_gc_time_ms=9_000, executor_run_time_ms=1_000),
                 executor("2", 0, jvm_gc_time_ms=200, executor_run_time_ms=1_000)]
    stage_metrics = [{"stage_id": 29, "stage_attempt_id": 0, "gc_share": None, "task_time_share": 0.03},
                     {"stage_id": 35, "stage_attempt_id": 0, "gc_share": 0.0016, "task_time_share": 0.5}]
    memory = data.memory_gc(APP, executors, stage_metrics, {"gc_share": 0.08})
    assert {e.executor_id: e.gc_share for e in memory.executors} == {"1": None, "2": 0.2}
    assert dict(memory.stage_gc) == {"29.0": None, "35.0": 0.0016}
    svg = plots.memory_gc(memory, plot_id="plot-gc")
    assert "unknown" in svg
    ticks = [float(t) for t in re.findall(r">(\d+(?:\.\d+)?)</text>", svg)]
    assert ticks and max(ticks) <= 100
    assert pct(None) == "unknown"
